/* Any BLAS but OpenBLAS behind model/blas.h (VAE_BLAS_VENDOR names it): the C interface has no
 * standard call for a thread count or a kernel name, so the library keeps its own threads (its
 * environment variable, e.g. MKL_NUM_THREADS) and only vae-dist's own parts follow --threads. */
#include "blas.h"
#include "bf16.h"

#include "threads.h"

const char *vae_blas_version(void)
{
    return VAE_BLAS_VENDOR " (through FindBLAS; vae-dist sets no thread count in it: use the vendor's environment variable)";
}

const char *vae_blas_core(void) { return "unknown"; }

const char *vae_blas_better_core(void) { return NULL; }

void vae_set_blas_threads(int n)
{
    vae_set_parallel_parts(n);
    vae_bf16_set_threads(n);
}
