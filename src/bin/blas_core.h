/* The programs that run GEMMs start by giving OpenBLAS the kernels of this CPU when it fell back
 * to its generic ones (model/blas.h's vae_blas_better_core): OPENBLAS_CORETYPE set, then the
 * program started again in place (execv keeps the process, so mpirun and Slurm see nothing), before
 * anything else has happened. Should the exec fail, the program goes on with the generic kernels. */
#ifndef VAE_BIN_BLAS_CORE_H
#define VAE_BIN_BLAS_CORE_H

#include <stdlib.h>
#include <unistd.h>

#include "blas.h"

static inline void restart_with_better_blas_core(char **argv)
{
    const char *core = vae_blas_better_core();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}

#endif
