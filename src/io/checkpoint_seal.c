/* The checkpoint's seal (checkpoint.h): a 512-byte user block holding the file's size and the
 * CRC-32 of everything after it, written over the image the writer built and checked by the reader
 * before HDF5 parses a byte, because HDF5 checksums neither raw data nor its global heap, and
 * crashes on some damaged heaps. */
#include "checkpoint_seal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae/common.h"

#define SEAL_FORMAT "vae-checkpoint seal\nsize %llu\ncrc32 %lu\n"

/* CRC-32 with its table in the accumulator (1 KiB, built in microseconds), so that nothing shared
 * needs initialising across threads. */
typedef struct {
    uint32_t table[256];
    uint32_t crc;
} crc32_acc;

static void crc_init(crc32_acc *a)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t t = i;
        for (int k = 0; k < 8; k++)
            t = t & 1 ? 0xEDB88320u ^ (t >> 1) : t >> 1;
        a->table[i] = t;
    }
    a->crc = 0xFFFFFFFFu;
}

static void crc_bytes(crc32_acc *a, const unsigned char *p, size_t n)
{
    uint32_t c = a->crc;
    for (size_t i = 0; i < n; i++)
        c = a->table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    a->crc = c;
}

static unsigned long crc_value(const crc32_acc *a) { return a->crc ^ 0xFFFFFFFFu; }

static void seal_text(unsigned long long size, unsigned long crc, char text[CHECKPOINT_SEAL_SIZE])
{
    memset(text, 0, CHECKPOINT_SEAL_SIZE);
    snprintf(text, CHECKPOINT_SEAL_SIZE, SEAL_FORMAT, size, crc);
}

/* The CRC-32 of fp's bytes after the seal and the size of the whole file, or an errno value. */
static int crc_after_seal(FILE *fp, unsigned long long *size, unsigned long *crc)
{
    const size_t chunk = (size_t)1 << 16;
    crc32_acc a;
    unsigned char *buf = NULL;
    size_t n;
    int err = 0;
    *size = CHECKPOINT_SEAL_SIZE;
    *crc = 0;
    crc_init(&a);
    if (!(buf = malloc(chunk)) || fseek(fp, CHECKPOINT_SEAL_SIZE, SEEK_SET) != 0) {
        err = buf ? errno : ENOMEM;
        goto cleanup;
    }
    while ((n = fread(buf, 1, chunk, fp)) > 0) {
        crc_bytes(&a, buf, n);
        *size += n;
    }
    if (ferror(fp))
        err = errno ? errno : EIO;
    *crc = crc_value(&a);
cleanup:
    free(buf);
    return err;
}

void checkpoint_seal_image(unsigned char *image, size_t size)
{
    crc32_acc a;
    crc_init(&a);
    crc_bytes(&a, image + CHECKPOINT_SEAL_SIZE, size - CHECKPOINT_SEAL_SIZE);
    seal_text(size, crc_value(&a), (char *)image);
}

/* Whether path is a whole, unaltered checkpoint file, before HDF5 parses it; *file_size is its size. */
int checkpoint_check_seal(const char *path, unsigned long long *file_size)
{
    static const char hdf5_signature[8] = "\211HDF\r\n\032\n";
    char head[CHECKPOINT_SEAL_SIZE], want[CHECKPOINT_SEAL_SIZE];
    unsigned long long size = 0, actual;
    unsigned long crc = 0, actual_crc;
    int rc = VAE_OK, err;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rc = vae_fail(VAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    const size_t got = fread(head, 1, CHECKPOINT_SEAL_SIZE, fp);
    if (got >= sizeof hdf5_signature && memcmp(head, hdf5_signature, sizeof hdf5_signature) == 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: an HDF5 file without the checkpoint seal: not a vae-checkpoint file", path);
        goto cleanup;
    }
    if (got < CHECKPOINT_SEAL_SIZE || strncmp(head, SEAL_FORMAT, 20) != 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: not a vae-checkpoint file (it does not begin with the checkpoint "
                      "seal), or cut short", path);
        goto cleanup;
    }
    /* Parsed, then written again: any byte of the block that differs from its one form is damage. */
    if (!memchr(head, 0, CHECKPOINT_SEAL_SIZE) || sscanf(head, SEAL_FORMAT, &size, &crc) != 2 ||
        (seal_text(size, crc, want), memcmp(head, want, CHECKPOINT_SEAL_SIZE) != 0)) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: the checkpoint seal (the first %d bytes) is damaged", path,
                      CHECKPOINT_SEAL_SIZE);
        goto cleanup;
    }
    if ((err = crc_after_seal(fp, &actual, &actual_crc)) != 0)
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read: %s", path, strerror(err));
    else if (actual != size)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %llu bytes where the seal says %llu: the file was cut short or "
                      "damaged", path, actual, size);
    else if (actual_crc != crc)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: the bytes do not match the seal's crc32 (%lu, the seal says %lu): "
                      "the file is damaged or was altered", path, actual_crc, crc);
    else
        *file_size = actual;
cleanup:
    if (fp)
        fclose(fp);
    return rc;
}
