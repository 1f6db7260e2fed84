/* Status codes and the error message shared by every vae-dist library function. A function that
 * fails returns a non-zero vae_status and leaves one message (naming the file, dataset or option and
 * what is wrong) that vae_error_message() returns until the next failure on the same thread. */
#ifndef VAE_COMMON_H
#define VAE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VAE_OK = 0,
    VAE_ERR_IO,      /* a file could not be opened, read or written */
    VAE_ERR_FORMAT,  /* a file breaks the format of SPEC.md */
    VAE_ERR_NOMEM,   /* an allocation failed or a size would overflow */
    VAE_ERR_ARG,     /* a bad argument or option value */
    VAE_ERR_NUMERIC, /* a non-finite loss or gradient */
    VAE_ERR_COMM,    /* another rank failed or MPI reported an error */
    VAE_ERR_LIMIT    /* settings that ask more than the machine has (memory, cores): a usage error */
} vae_status;

/* Records a printf-style message for the calling thread and returns status, so that a failing
 * function can end with `return vae_fail(VAE_ERR_FORMAT, "%s: dataset %s: ...", ...)`. */
int vae_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the calling thread's last failure ("" when none). */
const char *vae_error_message(void);

/* Clears the message (tests use it to check that a call set one). */
void vae_error_clear(void);

/* malloc/calloc of n * size bytes with overflow checks; on failure they record a message and
 * return NULL. vae_free_ptr frees *p and sets it to NULL. */
void *vae_malloc_array(size_t n, size_t size);
void *vae_calloc_array(size_t n, size_t size);
void vae_free_ptr(void *pp);

/* sum_i x[i]^2 accumulated in double (eight partial sums: vectorizable without reassociating):
 * the gradient's norm for the optimizer, and the sharded exchange's per-block norm. */
double vae_sum_squares(const float *x, size_t n);
/* out[k] = terms[0][off + k] + terms[1][off + k] + ..., added in that order, for k < n: a gradient
 * summed from several ranks' buffers (the sharded optimizer's update, the node sums of comm.c). */
void vae_sum_terms(float *out, const float *const *terms, int num_terms, size_t off, size_t n);

const char *vae_version(void);

#ifdef __cplusplus
}
#endif
#endif
