/* OpenBLAS behind model/blas.h: its configuration, its core and its thread count. */
#include "blas.h"

#include <cblas.h>

#include "threads.h"

const char *vae_blas_version(void) { return openblas_get_config(); }
const char *vae_blas_core(void) { return openblas_get_corename(); }

void vae_set_blas_threads(int n)
{
    openblas_set_num_threads(n);
    vae_set_parallel_parts(n);
}
