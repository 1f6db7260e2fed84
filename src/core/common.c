/* The error message of each thread's last failure, checked allocation, and the sums over buffers
 * that both the optimizer and the communication module need. */
#include "vae/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[1024];

int vae_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

const char *vae_error_message(void) { return last_error; }

void vae_error_clear(void) { last_error[0] = '\0'; }

void *vae_malloc_array(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        vae_fail(VAE_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    size_t bytes = n * size;
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        vae_fail(VAE_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *vae_calloc_array(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        vae_fail(VAE_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void vae_free_ptr(void *pp)
{
    void **p = (void **)pp;
    free(*p);
    *p = NULL;
}

const char *vae_version(void) { return VAE_VERSION; }

double vae_sum_squares(const float *x, size_t n)
{
    enum { LANES = 8 };
    double part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            part[k] += (double)x[i + k] * x[i + k];
    double s = 0.0;
    for (; i < n; i++)
        s += (double)x[i] * x[i];
    for (int k = 0; k < LANES; k++)
        s += part[k];
    return s;
}

void vae_sum_terms(float *out, const float *const *terms, int num_terms, size_t off, size_t n)
{
    const float *restrict g0 = terms[0] + off;
    if (num_terms == 1) {
        memcpy(out, g0, n * sizeof *out);
        return;
    }
    const float *restrict g1 = terms[1] + off;
    for (size_t k = 0; k < n; k++)
        out[k] = g0[k] + g1[k];
    for (int t = 2; t < num_terms; t++) {
        const float *restrict g = terms[t] + off;
        for (size_t k = 0; k < n; k++)
            out[k] += g[k];
    }
}
