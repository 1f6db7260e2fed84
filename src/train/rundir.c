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

int rundir_lock(const char *dir, int *fd_out)
{
    char path[4200], host[256] = "?", text[512];
    snprintf(path, sizeof path, "%s/lock", dir);
    *fd_out = -1;
    const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot open the run folder's lock: %s", path, strerror(errno));
    struct flock whole = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &whole) != 0) {
        const int e = errno;
        int rc;
        if (e == EACCES || e == EAGAIN) {
            const ssize_t n = pread(fd, text, sizeof text - 1, 0);
            text[n > 0 ? n : 0] = '\0';
            text[strcspn(text, "\r\n")] = '\0';
            rc = vae_fail(VAE_ERR_IO, "%s is in use: another trainer holds its lock %s (%s); wait for that run to "
                          "end, or choose another --out", dir, path, text[0] ? text : "its holder wrote no host and pid");
        } else {
            rc = vae_fail(VAE_ERR_IO, "%s: cannot lock the run folder: %s (it needs a file system with POSIX record "
                          "locks: on NFS, lockd)", path, strerror(e));
        }
        close(fd);
        return rc;
    }
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    const int n = snprintf(text, sizeof text, "host %s pid %ld\n", host, (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        const int rc = vae_fail(VAE_ERR_IO, "%s: cannot write the lock's holder: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return VAE_OK;
}

void rundir_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
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

/* The step of a checkpoint's file name (list_checkpoints' form). */
static int64_t name_step(const char *name) { return strtoll(name + strlen("ckpt-"), NULL, 10); }

/* 1 when path lies in DIR/checkpoints (the same folder, whatever the spelling). */
static int in_folder(const char *dir, const char *path)
{
    char sub[4096], parent[4096];
    struct stat a, b;
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    return stat(sub, &a) == 0 && stat(slash ? (parent[0] ? parent : "/") : ".", &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int rundir_commit_checkpoint(const char *dir, const char *ckpt_path, int keep, const char *resumed_from)
{
    const char *base = base_name(ckpt_path);
    const char *resumed = resumed_from && in_folder(dir, resumed_from) ? base_name(resumed_from) : NULL;
    char best[512];
    int rc = rundir_point(dir, "latest", ckpt_path);
    if (!read_pointer(dir, "best", best, sizeof best))
        best[0] = '\0';
    char **names = NULL;
    int count = 0;
    if (rc == VAE_OK && (rc = list_checkpoints(dir, &names, &count)) == VAE_OK) {
        for (int i = 0; i < count - (keep > 1 ? keep : 1); i++) {
            if (strcmp(names[i], base) == 0 || strcmp(names[i], best) == 0 ||
                (resumed && strcmp(names[i], resumed) == 0))
                continue;
            char path[4400];
            snprintf(path, sizeof path, "%s/checkpoints/%s", dir, names[i]);
            unlink(path);
        }
    }
    free_names(names, count);
    return rc;
}

/* Moves the checkpoints of DIR/checkpoints past step into a new folder aside[] (none: aside = ""). */
static int set_aside(const char *dir, int64_t step, char *aside, size_t size, int *moved)
{
    char **names = NULL;
    int count = 0, rc = list_checkpoints(dir, &names, &count);
    aside[0] = '\0';
    *moved = 0;
    for (int i = 0; rc == VAE_OK && i < count; i++) {
        if (name_step(names[i]) <= step)
            continue;
        for (int k = 1; !aside[0]; k++) {
            const int n = snprintf(aside, size, "%s/checkpoints/abandoned-after-%08lld", dir, (long long)step);
            if (k > 1 && n > 0 && (size_t)n < size)
                snprintf(aside + n, size - (size_t)n, "-%d", k);
            if (mkdir(aside, 0777) == 0)
                break;
            if (errno != EEXIST) {
                rc = vae_fail(VAE_ERR_IO, "%s: cannot create folder: %s", aside, strerror(errno));
                break;
            }
            aside[0] = '\0';
        }
        char from[4400], to[8600];
        snprintf(from, sizeof from, "%s/checkpoints/%s", dir, names[i]);
        snprintf(to, sizeof to, "%s/%s", aside, names[i]);
        if (rc == VAE_OK && rename(from, to) != 0)
            rc = vae_fail(VAE_ERR_IO, "%s: cannot move it to %s: %s", from, aside, strerror(errno));
        else if (rc == VAE_OK)
            (*moved)++;
    }
    free_names(names, count);
    return rc;
}

int rundir_follow_branch(const char *dir, const char *resumed, int64_t step, int64_t best_step, char *aside,
                         size_t size, int *moved)
{
    char name[512], path[4400];
    int rc = set_aside(dir, step, aside, size, moved);
    const int here = in_folder(dir, resumed);
    if (rc == VAE_OK && here && (!read_pointer(dir, "latest", name, sizeof name) || strcmp(name, base_name(resumed))))
        rc = rundir_point(dir, "latest", resumed);
    else if (rc == VAE_OK && !here && *moved) {
        snprintf(path, sizeof path, "%s/checkpoints/latest", dir);
        unlink(path);
    }
    if (rc == VAE_OK && read_pointer(dir, "best", name, sizeof name) && strncmp(name, "ckpt-", 5) == 0 &&
        name_step(name) > step) {
        rundir_checkpoint_path(dir, best_step, path, sizeof path);
        if (best_step >= 0 && best_step <= step && access(path, F_OK) == 0)
            rc = rundir_point(dir, "best", path);
        else {
            snprintf(path, sizeof path, "%s/checkpoints/best", dir);
            unlink(path);
        }
    }
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
    if (rc == VAE_OK && !*found && (has_latest || count > 0)) {
        /* A fresh start here would rotate the unreadable run away: stop, naming what is there. */
        char list[1200] = "";
        size_t used = 0;
        for (int i = 0; i < count && i < 8 && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        if (count > 8 && used < sizeof list)
            snprintf(list + used, sizeof list - used, " and %d more", count - 8);
        rc = vae_fail(VAE_ERR_FORMAT, "%s/checkpoints holds %s%s, and none of them opens as a checkpoint (the reasons "
                      "above): --resume auto will not start afresh over them and removed nothing; repair or move "
                      "them away, resume one with --resume PATH, or choose another --out", dir,
                      count ? list : "no checkpoint, only latest naming ", count ? "" : name);
    }
    free_names(names, count);
    return rc;
}
