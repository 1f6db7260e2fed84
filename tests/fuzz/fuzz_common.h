/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c) and by tests/test_fuzz_regressions.c,
 * which links the harnesses (built with FUZZ_NO_ENTRY) and replays the saved inputs through the
 * same fuzz_<name>_one functions. A broken invariant prints what broke and aborts, which is a crash
 * for libFuzzer and a failure for ctest. */
#ifndef VAE_FUZZ_COMMON_H
#define VAE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vae/common.h"

#define FUZZ_CHECK(cond, ...)                                                                    \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fprintf(stderr, "\n");                                                               \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* A failure's message names the file (SPEC: "a message on stderr that names the file"); running
 * out of memory is the one failure allowed to say only that. */
#define FUZZ_CHECK_NAMES_FILE(rc, path)                                                          \
    FUZZ_CHECK((rc) == VAE_ERR_NOMEM || strstr(vae_error_message(), (path)) != NULL,             \
               "status %d, message \"%s\" does not name %s", (rc), vae_error_message(), (path))

/* The scratch files, removed at exit (libFuzzer exits normally at the end of a timed run). */
static char fuzz_temp_paths[4][256];

static void fuzz_remove_temps(void)
{
    for (int i = 0; i < 4; i++)
        if (fuzz_temp_paths[i][0])
            unlink(fuzz_temp_paths[i]);
}

/* Writes data[0..size) to this process's scratch file number slot (0..3; made once, then reused)
 * and returns its path. */
static inline const char *fuzz_write_temp(int slot, const uint8_t *data, size_t size)
{
    char *path = fuzz_temp_paths[slot];
    if (!path[0]) {
        static int registered;
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof fuzz_temp_paths[slot], "%s/vae-fuzz-%d.XXXXXX", dir && *dir ? dir : "/tmp", slot);
        int fd = mkstemp(path);
        FUZZ_CHECK(fd >= 0, "cannot create %s", path);
        close(fd);
        if (!registered++)
            atexit(fuzz_remove_temps);
    }
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot open %s", path);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s", path);
    return path;
}

#endif
