/* MPI behind include/vae/comm.h. MPI errors are returned (MPI_ERRORS_RETURN) and turned into
 * vae_status with the MPI message, never aborts with MPI's own noise. */
#include "vae/comm.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RING_PIECE = 65536 };

struct vae_comm {
    MPI_Comm world;
    int rank, size, local_size;
    int *counts, *displs; /* [size]: a gather's layout at its root, allocated once so that a gather
                             cannot fail on one rank for memory and leave the others waiting */
    float *piece;         /* [RING_PIECE]: the reduce-scatter's receive buffer, allocated once too */
};

static int mpi_status(int err, const char *what)
{
    if (err == MPI_SUCCESS)
        return VAE_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, msg, &len);
    return vae_fail(VAE_ERR_COMM, "%s failed: %s", what, msg);
}

int vae_comm_init(vae_comm **out, int *argc, char ***argv)
{
    *out = NULL;
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
        /* Ranks on one node exchange the gradient through Open MPI's shared-memory transport. Its
         * default single-copy path (CMA, one kernel copy of the whole message) measured slower here
         * than the pipelined copy through shared buffers, which stays in cache: a 10.4 MB in-place
         * allreduce at 2 ranks took 0.85 ms against 1.37 ms (vae-bench-comm, median of 40). A
         * user's own setting of the parameter wins (no overwrite). */
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
        int rc = mpi_status(MPI_Init(argc, argv), "MPI_Init");
        if (rc != VAE_OK)
            return rc;
    }
    vae_comm *c = calloc(1, sizeof *c);
    if (!c)
        return vae_fail(VAE_ERR_NOMEM, "out of memory");
    c->world = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->world, &c->rank);
    MPI_Comm_size(c->world, &c->size);
    c->counts = calloc((size_t)c->size, sizeof *c->counts);
    c->displs = calloc((size_t)c->size, sizeof *c->displs);
    c->piece = malloc(RING_PIECE * sizeof *c->piece);
    if (!c->counts || !c->displs || !c->piece) {
        const int size = c->size;
        vae_comm_free(c);
        return vae_fail(VAE_ERR_NOMEM, "out of memory for %d ranks", size);
    }
    MPI_Comm node;
    c->local_size = 1;
    if (MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &c->local_size);
        MPI_Comm_free(&node);
    }
    *out = c;
    return VAE_OK;
}

void vae_comm_free(vae_comm *c)
{
    if (!c)
        return;
    free(c->counts);
    free(c->displs);
    free(c->piece);
    free(c);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Finalize();
}

int vae_comm_rank(const vae_comm *c) { return c->rank; }
int vae_comm_size(const vae_comm *c) { return c->size; }
int vae_comm_local_size(const vae_comm *c) { return c->local_size; }

static int sum_in_place(vae_comm *c, void *buf, size_t n, size_t elem, MPI_Datatype type)
{
    char *p = buf;
    while (n > 0) {
        const int count = n > INT_MAX ? INT_MAX : (int)n;
        int rc = mpi_status(MPI_Allreduce(MPI_IN_PLACE, p, count, type, MPI_SUM, c->world), "MPI_Allreduce");
        if (rc != VAE_OK)
            return rc;
        p += (size_t)count * elem;
        n -= (size_t)count;
    }
    return VAE_OK;
}

int vae_comm_sum_floats(vae_comm *c, float *buf, size_t n) { return sum_in_place(c, buf, n, sizeof *buf, MPI_FLOAT); }

int vae_comm_sum_doubles(vae_comm *c, double *buf, size_t n) { return sum_in_place(c, buf, n, sizeof *buf, MPI_DOUBLE); }

int vae_comm_broadcast(vae_comm *c, void *buf, size_t bytes, int root)
{
    char *p = buf;
    while (bytes > 0) {
        const int count = bytes > INT_MAX ? INT_MAX : (int)bytes;
        int rc = mpi_status(MPI_Bcast(p, count, MPI_BYTE, root, c->world), "MPI_Bcast");
        if (rc != VAE_OK)
            return rc;
        p += count;
        bytes -= (size_t)count;
    }
    return VAE_OK;
}

int vae_comm_gather(vae_comm *c, const void *send, size_t bytes, void *recv, const size_t *recv_bytes,
                    int root)
{
    /* Sizes are the caller's to keep small; a breach is a bug that no rank can recover from, so it
     * is checked but not agreed on. */
    if (bytes > INT_MAX)
        return vae_fail(VAE_ERR_ARG, "gather of %zu bytes from one rank exceeds 2 GiB", bytes);
    if (c->rank == root) {
        size_t total = 0;
        for (int r = 0; r < c->size; r++) {
            if (recv_bytes[r] > (size_t)INT_MAX - total)
                return vae_fail(VAE_ERR_ARG, "gather of more than 2 GiB at rank %d", root);
            c->counts[r] = (int)recv_bytes[r];
            c->displs[r] = (int)total;
            total += recv_bytes[r];
        }
    }
    return mpi_status(MPI_Gatherv(send, (int)bytes, MPI_BYTE, recv, c->counts, c->displs, MPI_BYTE, root,
                                  c->world), "MPI_Gatherv");
}

void vae_comm_shard(const vae_comm *c, size_t n, int rank, size_t *lo, size_t *hi)
{
    /* Near-equal blocks, each starting on a 16-float (64-byte) boundary for the update's vector loop. */
    const size_t R = (size_t)c->size, r = (size_t)rank;
    *lo = r == 0 ? 0 : (n * r / R) & ~(size_t)15;
    *hi = r + 1 == R ? n : (n * (r + 1) / R) & ~(size_t)15;
}

/* The blocks of n floats as MPI counts and displacements (n was checked to fit an int). */
static int block_layout(vae_comm *c, size_t n, const char *what)
{
    if (n > INT_MAX)
        return vae_fail(VAE_ERR_ARG, "%s of %zu floats: more than 2^31 - 1 is not supported", what, n);
    for (int r = 0; r < c->size; r++) {
        size_t lo, hi;
        vae_comm_shard(c, n, r, &lo, &hi);
        c->counts[r] = (int)(hi - lo);
        c->displs[r] = (int)lo;
    }
    return VAE_OK;
}

/* A ring: in step k each rank passes one block's partial sum to its right neighbour and adds the
 * partial arriving from its left into its own copy, so after size - 1 steps rank r holds block r's
 * whole sum, having sent and received (size - 1) / size of the buffer: the bytes of the first half
 * of a ring allreduce. Open MPI 4.1's MPI_Reduce_scatter was slower than the whole allreduce here
 * (a one-off test); the pieces of RING_PIECE floats keep each received piece in cache for the
 * addition. */
int vae_comm_reduce_scatter_floats(vae_comm *c, float *buf, size_t n)
{
    int rc = block_layout(c, n, "reduce-scatter");
    const int R = c->size, right = (c->rank + 1) % R, left = (c->rank + R - 1) % R;
    for (int k = 0; k < R - 1 && rc == VAE_OK; k++) {
        const int send_block = (c->rank - k - 1 + 2 * R) % R, recv_block = (c->rank - k - 2 + 2 * R) % R;
        const int ns = c->counts[send_block], nr = c->counts[recv_block];
        for (int off = 0; (off < ns || off < nr) && rc == VAE_OK; off += RING_PIECE) {
            const int cs = ns - off < RING_PIECE ? (ns > off ? ns - off : 0) : RING_PIECE;
            const int cr = nr - off < RING_PIECE ? (nr > off ? nr - off : 0) : RING_PIECE;
            rc = mpi_status(MPI_Sendrecv(buf + c->displs[send_block] + off, cs, MPI_FLOAT, right, 0, c->piece, cr,
                                         MPI_FLOAT, left, 0, c->world, MPI_STATUS_IGNORE), "MPI_Sendrecv");
            float *restrict dst = buf + c->displs[recv_block] + off;
            const float *restrict src = c->piece;
            for (int i = 0; i < cr; i++)
                dst[i] += src[i];
        }
    }
    return rc;
}

int vae_comm_allgather_floats(vae_comm *c, float *buf, size_t n)
{
    int rc = block_layout(c, n, "allgather");
    if (rc != VAE_OK)
        return rc;
    return mpi_status(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, c->counts, c->displs, MPI_FLOAT,
                                     c->world), "MPI_Allgatherv");
}

struct vae_comm_shared {
    MPI_Comm node;
    MPI_Win params_win, grads_win;
    float *params;
    float **grads; /* [size]: every rank's gradient buffer, mapped here */
    int rank, size;
};

void vae_comm_shared_free(vae_comm_shared *s)
{
    if (!s)
        return;
    if (s->grads_win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(s->grads_win);
        MPI_Win_free(&s->grads_win);
    }
    if (s->params_win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(s->params_win);
        MPI_Win_free(&s->params_win);
    }
    if (s->node != MPI_COMM_NULL)
        MPI_Comm_free(&s->node);
    free(s->grads);
    free(s);
}

/* One window of bytes on this rank (rank 0 alone holds the parameters), with a passive-target
 * epoch open for its whole life: ranks read each other's memory directly, ordered by
 * MPI_Win_sync and barriers (the MPI-3 shared-memory model). */
static int shared_window(vae_comm_shared *s, size_t bytes, MPI_Win *win, void *base)
{
    int rc = mpi_status(MPI_Win_allocate_shared((MPI_Aint)bytes, sizeof(float), MPI_INFO_NULL, s->node, base, win),
                        "MPI_Win_allocate_shared");
    if (rc == VAE_OK)
        rc = mpi_status(MPI_Win_lock_all(MPI_MODE_NOCHECK, *win), "MPI_Win_lock_all");
    return rc;
}

int vae_comm_shared_new(vae_comm *c, size_t num_params, size_t num_grads, vae_comm_shared **out)
{
    *out = NULL;
    if (c->local_size != c->size)
        return vae_fail(VAE_ERR_ARG, "the ranks span more than one node: no node-shared buffers");
    vae_comm_shared *s = calloc(1, sizeof *s);
    if (!s)
        return vae_fail(VAE_ERR_NOMEM, "out of memory");
    s->node = MPI_COMM_NULL;
    s->params_win = s->grads_win = MPI_WIN_NULL;
    int rc = mpi_status(MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &s->node),
                        "MPI_Comm_split_type");
    if (rc == VAE_OK) {
        MPI_Comm_rank(s->node, &s->rank);
        MPI_Comm_size(s->node, &s->size);
        if (!(s->grads = calloc((size_t)s->size, sizeof *s->grads)))
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
    }
    float *mine = NULL;
    if (rc == VAE_OK)
        rc = shared_window(s, s->rank == 0 ? num_params * sizeof(float) : 0, &s->params_win, &s->params);
    if (rc == VAE_OK)
        rc = shared_window(s, num_grads * sizeof(float), &s->grads_win, &mine);
    for (int r = 0; r < s->size && rc == VAE_OK; r++) {
        MPI_Aint bytes;
        int unit;
        rc = mpi_status(MPI_Win_shared_query(s->grads_win, r, &bytes, &unit, &s->grads[r]), "MPI_Win_shared_query");
    }
    if (rc == VAE_OK) {
        MPI_Aint bytes;
        int unit;
        rc = mpi_status(MPI_Win_shared_query(s->params_win, 0, &bytes, &unit, &s->params), "MPI_Win_shared_query");
    }
    if (rc == VAE_OK) {
        memset(mine, 0, num_grads * sizeof(float));
        if (s->rank == 0)
            memset(s->params, 0, num_params * sizeof(float));
        rc = vae_comm_shared_sync(s, NULL, 0);
    }
    if (rc != VAE_OK) {
        vae_comm_shared_free(s);
        return rc;
    }
    *out = s;
    return VAE_OK;
}

float *vae_comm_shared_params(vae_comm_shared *s) { return s->params; }
float *vae_comm_shared_grads(vae_comm_shared *s) { return s->grads[s->rank]; }
const float *const *vae_comm_shared_all_grads(vae_comm_shared *s) { return (const float *const *)s->grads; }
int vae_comm_shared_size(vae_comm_shared *s) { return s->size; }

int vae_comm_shared_sync(vae_comm_shared *s, double *x, int n)
{
    MPI_Win_sync(s->params_win);
    MPI_Win_sync(s->grads_win);
    int rc = n > 0 ? mpi_status(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, s->node), "MPI_Allreduce")
                   : mpi_status(MPI_Barrier(s->node), "MPI_Barrier");
    MPI_Win_sync(s->params_win);
    MPI_Win_sync(s->grads_win);
    return rc;
}

int vae_comm_agree(vae_comm *c, int status, int *who)
{
    /* The lowest failing rank wins: (rank, status) pairs reduced by MINLOC on the rank. */
    int in[2] = {status != VAE_OK ? c->rank : c->size, c->rank};
    int outv[2];
    int rc = mpi_status(MPI_Allreduce(in, outv, 1, MPI_2INT, MPI_MINLOC, c->world), "MPI_Allreduce");
    if (rc != VAE_OK)
        return rc;
    if (outv[0] == c->size)
        return VAE_OK;
    int agreed = status;
    rc = mpi_status(MPI_Bcast(&agreed, 1, MPI_INT, outv[0], c->world), "MPI_Bcast");
    if (who)
        *who = outv[0];
    return rc != VAE_OK ? rc : agreed;
}

double vae_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *vae_comm_library_version(void)
{
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    version[strcspn(version, ",\n")] = '\0';
    return version;
}
