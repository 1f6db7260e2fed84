/* The write-to-temp-then-rename rule of files.h. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vae/common.h"

void vae_temp_path(const char *path, char *buf, size_t size) { snprintf(buf, size, "%s.tmp.%ld", path, (long)getpid()); }

/* fsyncs the file or folder at path; folders on file systems without fsync for them are let be. */
static int sync_path(const char *path, int flags, int is_dir)
{
    int fd = open(path, flags);
    if (fd < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot open to flush: %s", path, strerror(errno));
    int rc = VAE_OK;
    if (fsync(fd) != 0 && !(is_dir && (errno == EINVAL || errno == ENOTSUP)))
        rc = vae_fail(VAE_ERR_IO, "%s: cannot flush to disk: %s", path, strerror(errno));
    close(fd);
    return rc;
}

int vae_publish_file(const char *tmp, const char *path)
{
    char dir[4096];
    int rc = sync_path(tmp, O_RDONLY, 0);
    if (rc == VAE_OK && rename(tmp, path) != 0)
        rc = vae_fail(VAE_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (rc != VAE_OK) {
        unlink(tmp);
        return rc;
    }
    if (strlen(path) >= sizeof dir)
        return vae_fail(VAE_ERR_IO, "%s: path too long", path);
    strcpy(dir, path);
    return sync_path(dirname(dir), O_RDONLY | O_DIRECTORY, 1);
}

int vae_write_file_atomic(const char *path, const char *text)
{
    char tmp[4200];
    vae_temp_path(path, tmp, sizeof tmp);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return vae_fail(VAE_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    const size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    ok = fflush(f) == 0 && ok;
    const int saved = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return vae_fail(VAE_ERR_IO, "%s: cannot write: %s", path, strerror(saved ? saved : errno));
    }
    return vae_publish_file(tmp, path);
}

int vae_check_not_input(const char *output, const char *input, const char *what)
{
    struct stat out, in;
    if (!input || stat(output, &out) != 0 || stat(input, &in) != 0 || out.st_dev != in.st_dev ||
        out.st_ino != in.st_ino)
        return VAE_OK;
    return vae_fail(VAE_ERR_ARG, "%s: the output is the input %s (%s): writing it would destroy it; choose "
                    "another output", output, input, what);
}

int vae_is_temp_of(const char *name, const char *base)
{
    const size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
        return 0;
    const char *p = name + n + 5;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > name + n + 5 && *p == '\0';
}
