/* Thread-count policy and the parallel loop of the model's non-GEMM kernels; see threads.h. */
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
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

enum { MAX_PARTS = 64 };
static int parallel_parts = 1;

void vae_set_parallel_parts(int n) { parallel_parts = n < 1 ? 1 : n > MAX_PARTS ? MAX_PARTS : n; }

typedef struct {
    void (*fn)(void *arg, int part, int parts);
    void *arg;
    int part, parts;
} part_task;

static void *run_part(void *p)
{
    part_task *t = p;
    t->fn(t->arg, t->part, t->parts);
    return NULL;
}

void vae_parallel_parts(void (*fn)(void *arg, int part, int parts), void *arg)
{
    const int parts = parallel_parts;
    pthread_t tid[MAX_PARTS];
    part_task task[MAX_PARTS];
    int started = 1;
    for (int p = 1; p < parts; p++) {
        task[p] = (part_task){fn, arg, p, parts};
        /* A thread that cannot start leaves its part to the caller: slower, never wrong. */
        if (pthread_create(&tid[p], NULL, run_part, &task[p]) != 0)
            break;
        started++;
    }
    fn(arg, 0, parts);
    for (int p = started; p < parts; p++)
        fn(arg, p, parts);
    for (int p = 1; p < started; p++)
        pthread_join(tid[p], NULL);
}
