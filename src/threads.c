/* Thread-count policy for OpenBLAS; see threads.h. */
#define _GNU_SOURCE
#include "threads.h"

#include <cblas.h>
#include <sched.h>
#include <unistd.h>

int vae_default_threads(int local_ranks)
{
    cpu_set_t set;
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    int usable = (int)(online > 0 ? online : 1);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        usable = CPU_COUNT(&set);
    /* Bound to a subset (mpirun --bind-to core, srun): that subset is ours alone. Unbound: the
     * node's ranks share the machine. */
    if (usable >= online && local_ranks > 1)
        usable = (int)(online / local_ranks);
    return usable > 0 ? usable : 1;
}

void vae_set_blas_threads(int n) { openblas_set_num_threads(n); }
