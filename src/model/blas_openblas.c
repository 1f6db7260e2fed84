/* OpenBLAS behind model/blas.h: its configuration, its core and its thread count. */
#include "blas.h"
#include "bf16.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "threads.h"

const char *vae_blas_version(void) { return openblas_get_config(); }
const char *vae_blas_core(void) { return openblas_get_corename(); }

const char *vae_blas_better_core(void)
{
    if (getenv("OPENBLAS_CORETYPE") || strcmp(openblas_get_corename(), "Prescott") != 0)
        return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

void vae_set_blas_threads(int n)
{
    openblas_set_num_threads(n);
    vae_set_parallel_parts(n);
    vae_bf16_set_threads(n);
}
