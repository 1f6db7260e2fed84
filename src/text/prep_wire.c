/* The byte buffers of vae-prep's messages between ranks (prep_run.h): word records of the
 * vocabulary's merge, documents of the parallel second pass. Host byte order: every rank of a run
 * runs the same build on the same kind of machine. */
#include "prep_run.h"

#include "vae/common.h"

#include <stdlib.h>
#include <string.h>

int prep_buf_put(prep_buf *b, const void *x, size_t n)
{
    if (n == 0) /* nothing to copy, into a buffer that may have no memory yet */
        return VAE_OK;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return vae_fail(VAE_ERR_NOMEM, "out of memory for a message of %zu bytes", cap);
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, x, n);
    b->len += n;
    return VAE_OK;
}

void prep_buf_free(prep_buf *b)
{
    free(b->data);
    *b = (prep_buf){0};
}

int prep_cursor_get(prep_cursor *c, void *x, size_t n)
{
    if ((size_t)(c->end - c->at) < n)
        return vae_fail(VAE_ERR_COMM, "a message between ranks ends early");
    if (n > 0) /* x may have no memory yet when nothing is read */
        memcpy(x, c->at, n);
    c->at += n;
    return VAE_OK;
}

int prep_put_word(prep_buf *b, const char *word, size_t len, int64_t df, int64_t tf)
{
    uint32_t n = (uint32_t)len;
    int rc = prep_buf_put(b, &n, sizeof n);
    if (!rc)
        rc = prep_buf_put(b, word, len);
    if (!rc)
        rc = prep_buf_put(b, &df, sizeof df);
    if (!rc)
        rc = prep_buf_put(b, &tf, sizeof tf);
    return rc;
}

int prep_get_word(prep_cursor *c, const char **word, uint32_t *len, int64_t *df, int64_t *tf)
{
    int rc = prep_cursor_get(c, len, sizeof *len);
    if (!rc && (size_t)(c->end - c->at) < *len)
        rc = vae_fail(VAE_ERR_COMM, "a message between ranks ends early");
    if (!rc) {
        *word = c->at;
        c->at += *len;
        rc = prep_cursor_get(c, df, sizeof *df);
    }
    if (!rc)
        rc = prep_cursor_get(c, tf, sizeof *tf);
    return rc;
}
