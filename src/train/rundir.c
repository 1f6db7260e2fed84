/* The run folder's files; see rundir.h. */
#include "rundir.h"

#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vae/checkpoint.h"
#include "vae/common.h"

static int mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return vae_fail(VAE_ERR_ARG, "%s: path too long", path);
    for (char *p = buf + 1; ; p++) {
        const int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return vae_fail(VAE_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
            if (end)
                break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return vae_fail(VAE_ERR_IO, "%s: not a folder", path);
    return VAE_OK;
}

int rundir_prepare(const char *dir)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    int rc = mkdir_p(dir);
    return rc != VAE_OK ? rc : mkdir_p(sub);
}

/* "<anything>.tmp.<digits>": the temporary name of vae_temp_path (files.h). */
static int is_temp_name(const char *name)
{
    const char *tmp = strstr(name, ".tmp."), *p;
    if (!tmp || tmp == name)
        return 0;
    for (const char *next; (next = strstr(tmp + 1, ".tmp.")); )
        tmp = next;
    for (p = tmp + 5; *p >= '0' && *p <= '9'; p++)
        ;
    return p > tmp + 5 && *p == '\0';
}

int rundir_remove_stale_temps(const char *dir, int *removed)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    *removed = 0;
    DIR *d = opendir(sub);
    if (!d)
        return errno == ENOENT ? VAE_OK : vae_fail(VAE_ERR_IO, "%s: cannot list: %s", sub, strerror(errno));
    int rc = VAE_OK;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[4400];
        if (!is_temp_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
        if (unlink(path) == 0)
            (*removed)++;
        else if (errno != ENOENT) {
            rc = vae_fail(VAE_ERR_IO, "%s: cannot remove this stale temporary file: %s", path, strerror(errno));
            break;
        }
    }
    closedir(d);
    return rc;
}

void rundir_checkpoint_path(const char *dir, int64_t step, char *buf, size_t size)
{
    snprintf(buf, size, "%s/checkpoints/ckpt-%08lld.h5", dir, (long long)step);
}

/* Whether name is a checkpoint's: "ckpt-" and the step, 8 digits or more (past 99 999 999), ".h5". */
static int is_checkpoint_name(const char *name)
{
    const size_t len = strlen(name);
    if (len < strlen("ckpt-00000000.h5") || strncmp(name, "ckpt-", 5) != 0 || strcmp(name + len - 3, ".h5") != 0)
        return 0;
    for (size_t i = 5; i < len - 3; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

/* Step order of two checkpoint names: steps are padded to 8 digits, so a longer name is a later
 * step, and names of one length sort as their digits. */
static int step_order(const char *a, const char *b)
{
    const size_t la = strlen(a), lb = strlen(b);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* Checkpoint file names of DIR/checkpoints, sorted ascending in step order. */
static int list_checkpoints(const char *dir, char ***names, int *count)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    *names = NULL;
    *count = 0;
    DIR *d = opendir(sub);
    if (!d)
        return errno == ENOENT ? VAE_OK : vae_fail(VAE_ERR_IO, "%s: cannot list: %s", sub, strerror(errno));
    int cap = 0, rc = VAE_OK;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_checkpoint_name(e->d_name))
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = vae_fail(VAE_ERR_NOMEM, "out of memory listing %s", sub);
                break;
            }
            *names = grown;
        }
        if (!((*names)[*count] = strdup(e->d_name))) {
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory listing %s", sub);
            break;
        }
        (*count)++;
    }
    closedir(d);
    for (int i = 1; i < *count; i++)
        for (int j = i; j > 0 && step_order((*names)[j - 1], (*names)[j]) > 0; j--) {
            char *t = (*names)[j];
            (*names)[j] = (*names)[j - 1];
            (*names)[j - 1] = t;
        }
    return rc;
}

static void free_names(char **names, int count)
{
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int rundir_point(const char *dir, const char *pointer, const char *ckpt_path)
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/checkpoints/%s", dir, pointer);
    snprintf(line, sizeof line, "%s\n", base_name(ckpt_path));
    return vae_write_file_atomic(path, line);
}

/* What DIR/checkpoints/<pointer> holds into name ("" when there is no such file); 1 when that is
 * a file name of the folder (not empty, no '/'). */
static int read_pointer(const char *dir, const char *pointer, char *name, size_t size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoints/%s", dir, pointer);
    name[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(name, (int)size, f))
        name[0] = '\0';
    fclose(f);
    name[strcspn(name, "\r\n")] = '\0';
    return name[0] && !strchr(name, '/');
}

int rundir_commit_checkpoint(const char *dir, const char *ckpt_path, int keep)
{
    const char *base = base_name(ckpt_path);
    char best[512];
    int rc = rundir_point(dir, "latest", ckpt_path);
    if (!read_pointer(dir, "best", best, sizeof best))
        best[0] = '\0';
    char **names = NULL;
    int count = 0;
    if (rc == VAE_OK && (rc = list_checkpoints(dir, &names, &count)) == VAE_OK) {
        for (int i = 0; i < count - (keep > 1 ? keep : 1); i++) {
            if (strcmp(names[i], base) == 0 || strcmp(names[i], best) == 0)
                continue;
            char path[4400];
            snprintf(path, sizeof path, "%s/checkpoints/%s", dir, names[i]);
            unlink(path);
        }
    }
    free_names(names, count);
    return rc;
}

int rundir_has_checkpoints(const char *dir)
{
    char **names = NULL, latest[4096];
    int count = 0;
    list_checkpoints(dir, &names, &count);
    free_names(names, count);
    snprintf(latest, sizeof latest, "%s/checkpoints/latest", dir);
    return count > 0 || access(latest, F_OK) == 0;
}

static int checkpoint_valid(const char *path)
{
    vae_checkpoint *c = NULL;
    int rc = vae_checkpoint_open(&c, path);
    vae_checkpoint_free(c);
    return rc == VAE_OK;
}

int rundir_find_resume(const char *dir, char *path, size_t size, int *found)
{
    char latest[4096], name[512];
    *found = 0;
    snprintf(latest, sizeof latest, "%s/checkpoints/latest", dir);
    const int has_latest = access(latest, F_OK) == 0;
    if (has_latest) {
        const int usable = read_pointer(dir, "latest", name, sizeof name);
        snprintf(path, size, "%s/checkpoints/%s", dir, name);
        if (usable && checkpoint_valid(path)) {
            *found = 1;
            return VAE_OK;
        }
        fprintf(stderr, "vae-dist: %s names '%s', which is missing or invalid (%s); looking for the newest valid checkpoint\n",
                latest, name, vae_error_message());
    }
    char **names = NULL;
    int count = 0;
    int rc = list_checkpoints(dir, &names, &count);
    for (int i = count - 1; rc == VAE_OK && i >= 0 && !*found; i--) {
        snprintf(path, size, "%s/checkpoints/%s", dir, names[i]);
        if (checkpoint_valid(path))
            *found = 1;
        else
            fprintf(stderr, "vae-dist: skipping invalid checkpoint %s: %s\n", path, vae_error_message());
    }
    if (*found && has_latest)
        fprintf(stderr, "vae-dist: resuming from %s instead\n", path);
    free_names(names, count);
    return rc;
}
