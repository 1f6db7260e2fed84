/* Bringing MPI up and down: vae_comm_init at once, or vae_comm_start on a thread of its own whose
 * MPI start overlaps the caller's first work (vae-prep's first pass), and vae_comm_free. */
#include "comm_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything of vae_comm_init after MPI_Init: our duplicate of MPI_COMM_WORLD, its buffers, the
 * nodes. */
static int comm_setup(vae_comm *c)
{
    int rc = comm_mpi_status(MPI_Comm_dup(MPI_COMM_WORLD, &c->world), "MPI_Comm_dup");
    if (rc != VAE_OK)
        return rc;
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->world, &c->rank);
    MPI_Comm_size(c->world, &c->size);
    c->counts = calloc((size_t)c->size, sizeof *c->counts);
    c->displs = calloc((size_t)c->size, sizeof *c->displs);
    c->block_of = calloc((size_t)c->size, sizeof *c->block_of);
    c->piece = malloc(RING_PIECE * sizeof *c->piece);
    if (!c->counts || !c->displs || !c->block_of || !c->piece)
        return vae_fail(VAE_ERR_NOMEM, "out of memory for %d ranks", c->size);
    return comm_node_layout(c, 0);
}

static vae_comm *comm_alloc(void)
{
    vae_comm *c = calloc(1, sizeof *c);
    if (c)
        c->world = c->node = c->cross = MPI_COMM_NULL;
    return c;
}

/* MPI_Init's own errors on MPI_COMM_WORLD are returned, not fatal, once it is ours. */
static int init_mpi(vae_comm *c, int *argc, char ***argv, int thread_level)
{
    int initialized = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&initialized);
    c->finalize_mpi = !initialized;
    if (initialized)
        return VAE_OK;
    int rc = thread_level == MPI_THREAD_SINGLE
                 ? comm_mpi_status(MPI_Init(argc, argv), "MPI_Init")
                 : comm_mpi_status(MPI_Init_thread(argc, argv, thread_level, &provided), "MPI_Init_thread");
    c->finalize_mpi = rc == VAE_OK;
    if (rc == VAE_OK)
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc == VAE_OK && provided < thread_level)
        rc = vae_fail(VAE_ERR_COMM, "the MPI library allows threads at level %d, below the %d that starting MPI "
                      "beside the work needs (MPI_THREAD_SERIALIZED)", provided, thread_level);
    return rc;
}

int vae_comm_init(vae_comm **out, int *argc, char ***argv)
{
    *out = NULL;
    vae_comm *c = comm_alloc();
    if (!c)
        return vae_fail(VAE_ERR_NOMEM, "out of memory");
    int rc = init_mpi(c, argc, argv, MPI_THREAD_SINGLE);
    if (rc == VAE_OK)
        rc = comm_setup(c);
    if (rc != VAE_OK) {
        vae_comm_free(c);
        return rc;
    }
    c->state = UP;
    *out = c;
    return VAE_OK;
}

/* A launcher's rank and size in the environment: Open MPI's mpirun, MPICH's and Intel MPI's hydra,
 * Slurm's srun (SLURM_STEP_NUM_TASKS is a step's, not a batch script's). With none of theirs nor a
 * PMIx server's, the process runs alone. */
static int launch_from_env(int *rank, int *size)
{
    static const char *const pairs[][2] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                           {"PMI_RANK", "PMI_SIZE"},
                                           {"SLURM_PROCID", "SLURM_STEP_NUM_TASKS"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const char *r = getenv(pairs[i][0]), *n = getenv(pairs[i][1]);
        if (r && n) {
            char *end_r, *end_n;
            const long lr = strtol(r, &end_r, 10), ln = strtol(n, &end_n, 10);
            if (*r && !*end_r && *n && !*end_n && ln >= 1 && ln <= INT_MAX && lr >= 0 && lr < ln) {
                *rank = (int)lr;
                *size = (int)ln;
                return 1;
            }
            return 0;
        }
    }
    if (getenv("PMIX_RANK") || getenv("PMI_FD"))
        return 0;
    *rank = 0;
    *size = 1;
    return 1;
}

static void set_state(vae_comm *c, int state)
{
    pthread_mutex_lock(&c->lock);
    __atomic_store_n(&c->state, state, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

static void *start_thread(void *arg)
{
    vae_comm *c = arg;
    /* argv stays the caller's: it reads its command line meanwhile (Open MPI needs neither). */
    int rc = init_mpi(c, NULL, NULL, MPI_THREAD_SERIALIZED);
    if (rc == VAE_OK)
        rc = comm_setup(c);
    c->start_rc = rc;
    if (rc != VAE_OK) /* the message is this thread's: vae_comm_wait repeats it on the caller's */
        snprintf(c->start_message, sizeof c->start_message, "%s", vae_error_message());
    set_state(c, rc == VAE_OK ? UP : FAILED);
    pthread_mutex_lock(&c->lock);
    while (!c->closing)
        pthread_cond_wait(&c->changed, &c->lock);
    pthread_mutex_unlock(&c->lock);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (c->finalize_mpi && !finalized)
        MPI_Finalize();
    return NULL;
}

int vae_comm_start(vae_comm **out)
{
    *out = NULL;
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) /* nothing to wait for */
        return vae_comm_init(out, NULL, NULL);
    vae_comm *c = comm_alloc();
    if (!c)
        return vae_fail(VAE_ERR_NOMEM, "out of memory");
    c->launch_known = launch_from_env(&c->launch_rank, &c->launch_size);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    int err = pthread_create(&c->thread, NULL, start_thread, c);
    if (err) {
        pthread_cond_destroy(&c->changed);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return vae_fail(VAE_ERR_NOMEM, "cannot start a thread for MPI: %s", strerror(err));
    }
    c->has_thread = 1;
    *out = c;
    return VAE_OK;
}

int vae_comm_started(const vae_comm *c) { return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != STARTING; }

/* Until the thread has brought MPI up or failed: then it makes no MPI call until it finalizes. */
static void wait_started(vae_comm *c)
{
    if (!c->has_thread)
        return;
    pthread_mutex_lock(&c->lock);
    while (c->state == STARTING)
        pthread_cond_wait(&c->changed, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

int vae_comm_wait(vae_comm *c)
{
    wait_started(c);
    return c->state == UP ? VAE_OK : vae_fail(c->start_rc, "%s", c->start_message);
}

int vae_comm_launch(const vae_comm *c, int *rank, int *size)
{
    if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == UP) {
        *rank = c->rank;
        *size = c->size;
        return 1;
    }
    *rank = c->launch_rank;
    *size = c->launch_size;
    return c->launch_known;
}

void vae_comm_free(vae_comm *c)
{
    if (!c)
        return;
    wait_started(c);
    comm_free_node_comms(c);
    if (c->world != MPI_COMM_NULL)
        MPI_Comm_free(&c->world);
    const int finalize = c->finalize_mpi && !c->has_thread;
    if (c->has_thread) {
        pthread_mutex_lock(&c->lock);
        c->closing = 1;
        pthread_cond_broadcast(&c->changed);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
        pthread_cond_destroy(&c->changed);
        pthread_mutex_destroy(&c->lock);
    }
    free(c->counts);
    free(c->displs);
    free(c->block_of);
    free(c->piece);
    free(c);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalize && !finalized)
        MPI_Finalize();
}

