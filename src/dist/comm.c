/* MPI behind include/vae/comm.h, on a communicator of its own (a duplicate of MPI_COMM_WORLD, so
 * that no message of ours meets one of a caller that shares MPI with us). MPI errors are returned
 * (MPI_ERRORS_RETURN) and turned into vae_status with the MPI message, never aborts with MPI's own
 * noise. */
#include "comm_internal.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int comm_mpi_status(int err, const char *what)
{
    if (err == MPI_SUCCESS)
        return VAE_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, msg, &len);
    return vae_fail(VAE_ERR_COMM, "%s failed: %s", what, msg);
}

void comm_free_node_comms(vae_comm *c)
{
    if (c->cross != MPI_COMM_NULL)
        MPI_Comm_free(&c->cross);
    if (c->node != MPI_COMM_NULL)
        MPI_Comm_free(&c->node);
}

/* Nodes, counterparts and the order of the blocks. A sharded buffer is laid out node-major within
 * each place: the blocks of the ranks at place p on nodes 0..N-1 are adjacent, so that place p's
 * ranks together own one contiguous stretch (its "node block"), summed within each node through
 * shared memory and then across nodes among counterparts. On one node that is rank order. */
int comm_node_layout(vae_comm *c, int ranks_per_node)
{
    comm_free_node_comms(c);
    c->ranks_per_node = ranks_per_node;
    MPI_Comm shared;
    int rc = comm_mpi_status(MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &shared),
                        "MPI_Comm_split_type");
    if (rc != VAE_OK)
        return rc;
    MPI_Comm_size(shared, &c->local_size);
    if (ranks_per_node > 0) {
        MPI_Comm_free(&shared);
        rc = comm_mpi_status(MPI_Comm_split(c->world, c->rank / ranks_per_node, c->rank, &c->node), "MPI_Comm_split");
    } else {
        c->node = shared;
    }
    if (rc != VAE_OK)
        return rc;
    MPI_Comm_rank(c->node, &c->node_rank);
    MPI_Comm_size(c->node, &c->node_size);
    int sizes[2] = {c->node_size, -c->node_size}, leader = c->rank, leaders = c->node_rank == 0;
    if ((rc = comm_mpi_status(MPI_Allreduce(MPI_IN_PLACE, sizes, 2, MPI_INT, MPI_MAX, c->world), "MPI_Allreduce")) ||
        (rc = comm_mpi_status(MPI_Allreduce(MPI_IN_PLACE, &leader, 1, MPI_INT, MPI_MIN, c->node), "MPI_Allreduce")) ||
        (rc = comm_mpi_status(MPI_Allreduce(MPI_IN_PLACE, &leaders, 1, MPI_INT, MPI_SUM, c->world), "MPI_Allreduce")))
        return rc;
    c->num_nodes = leaders;
    c->node_index = 0;
    int place = c->rank;
    if (sizes[0] == -sizes[1]) {
        if ((rc = comm_mpi_status(MPI_Comm_split(c->world, c->node_rank, leader, &c->cross), "MPI_Comm_split")) != VAE_OK)
            return rc;
        MPI_Comm_rank(c->cross, &c->node_index);
        place = c->node_rank * c->num_nodes + c->node_index;
    }
    return comm_mpi_status(MPI_Allgather(&place, 1, MPI_INT, c->block_of, 1, MPI_INT, c->world), "MPI_Allgather");
}

int vae_comm_set_ranks_per_node(vae_comm *c, int ranks_per_node)
{
    if (ranks_per_node < 0)
        return vae_fail(VAE_ERR_ARG, "ranks per node must be positive (0: the machine's nodes), not %d", ranks_per_node);
    if (c->shared_alive > 0)
        return vae_fail(VAE_ERR_ARG, "the nodes cannot change while node-shared buffers exist");
    return ranks_per_node == c->ranks_per_node ? VAE_OK : comm_node_layout(c, ranks_per_node);
}

int vae_comm_rank(const vae_comm *c) { return c->rank; }
int vae_comm_size(const vae_comm *c) { return c->size; }
int vae_comm_local_size(const vae_comm *c) { return c->local_size; }
int vae_comm_nodes(const vae_comm *c) { return c->num_nodes; }
int vae_comm_nodes_even(const vae_comm *c) { return c->cross != MPI_COMM_NULL; }

static int reduce_in_place(vae_comm *c, void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op)
{
    char *p = buf;
    while (n > 0) {
        const int count = n > INT_MAX ? INT_MAX : (int)n;
        int rc = comm_mpi_status(MPI_Allreduce(MPI_IN_PLACE, p, count, type, op, c->world), "MPI_Allreduce");
        if (rc != VAE_OK)
            return rc;
        p += (size_t)count * elem;
        n -= (size_t)count;
    }
    return VAE_OK;
}

int vae_comm_sum_floats(vae_comm *c, float *buf, size_t n)
{
    return reduce_in_place(c, buf, n, sizeof *buf, MPI_FLOAT, MPI_SUM);
}

int vae_comm_sum_doubles(vae_comm *c, double *buf, size_t n)
{
    return reduce_in_place(c, buf, n, sizeof *buf, MPI_DOUBLE, MPI_SUM);
}

int vae_comm_sum_int64(vae_comm *c, int64_t *buf, size_t n)
{
    return reduce_in_place(c, buf, n, sizeof *buf, MPI_INT64_T, MPI_SUM);
}

int vae_comm_max_int64(vae_comm *c, int64_t *buf, size_t n)
{
    return reduce_in_place(c, buf, n, sizeof *buf, MPI_INT64_T, MPI_MAX);
}

int vae_comm_node_index(const vae_comm *c) { return c->node_index; }

int vae_comm_broadcast(vae_comm *c, void *buf, size_t bytes, int root)
{
    char *p = buf;
    while (bytes > 0) {
        const int count = bytes > INT_MAX ? INT_MAX : (int)bytes;
        int rc = comm_mpi_status(MPI_Bcast(p, count, MPI_BYTE, root, c->world), "MPI_Bcast");
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
    return comm_mpi_status(MPI_Gatherv(send, (int)bytes, MPI_BYTE, recv, c->counts, c->displs, MPI_BYTE, root,
                                  c->world), "MPI_Gatherv");
}

/* MPI's int counts and displacements of blocks of bytes laid one after the other; VAE_ERR_ARG past
 * 2 GiB in all. */
static int byte_layout(const size_t *bytes, int n, int *counts, int *displs, const char *what)
{
    size_t total = 0;
    for (int r = 0; r < n; r++) {
        if (bytes[r] > (size_t)INT_MAX - total)
            return vae_fail(VAE_ERR_ARG, "%s of more than 2 GiB on one rank", what);
        counts[r] = (int)bytes[r];
        displs[r] = (int)total;
        total += bytes[r];
    }
    return VAE_OK;
}

int vae_comm_alltoall(vae_comm *c, const void *send, const size_t *send_bytes, void **recv, size_t *recv_bytes)
{
    *recv = NULL;
    int *sc = calloc((size_t)c->size * 2, sizeof *sc), *sd = sc ? sc + c->size : NULL;
    int *rc_counts = calloc((size_t)c->size * 2, sizeof *rc_counts), *rd = rc_counts ? rc_counts + c->size : NULL;
    uint64_t *sizes = calloc((size_t)c->size * 2, sizeof *sizes);
    int rc = sc && rc_counts && sizes ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory for an exchange");
    for (int r = 0; sizes && r < c->size; r++)
        sizes[r] = send_bytes[r];
    /* sizes first, so that every rank knows what comes and can agree before the exchange */
    if (!rc)
        rc = comm_mpi_status(MPI_Alltoall(sizes, 1, MPI_UINT64_T, sizes + c->size, 1, MPI_UINT64_T, c->world),
                        "MPI_Alltoall");
    size_t total = 0;
    for (int r = 0; !rc && r < c->size; r++) {
        recv_bytes[r] = (size_t)sizes[c->size + r];
        total += recv_bytes[r];
    }
    if (!rc)
        rc = byte_layout(send_bytes, c->size, sc, sd, "an exchange");
    if (!rc)
        rc = byte_layout(recv_bytes, c->size, rc_counts, rd, "an exchange");
    if (!rc && total > 0 && !(*recv = malloc(total)))
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory receiving %zu bytes", total);
    rc = vae_comm_agree(c, rc, NULL);
    if (!rc)
        rc = comm_mpi_status(MPI_Alltoallv(send, sc, sd, MPI_BYTE, *recv, rc_counts, rd, MPI_BYTE, c->world),
                        "MPI_Alltoallv");
    if (rc) {
        free(*recv);
        *recv = NULL;
    }
    free(sc);
    free(rc_counts);
    free(sizes);
    return rc;
}

/* A stream's ends wait on each other for long stretches (a sender on a writer that is busy):
 * waited for with naps rather than MPI's busy polling, which would take a core from the ranks that
 * work when the machine has fewer cores than ranks. */
static void nap(long *ns)
{
    const struct timespec t = {0, *ns};
    nanosleep(&t, NULL);
    *ns = *ns * 2 < STREAM_NAP_MAX_NS ? *ns * 2 : STREAM_NAP_MAX_NS;
}

struct vae_comm_sending {
    MPI_Request req;
};

/* MPI guarantees tags up to 32767 at least; Open MPI's transports differ (2^20 - 1 with some
 * Libfabric providers, 2^31 - 1 with its own). */
int vae_comm_tag_max(const vae_comm *c)
{
    int *ub = NULL, found = 0;
    MPI_Comm_get_attr(c->world, MPI_TAG_UB, &ub, &found);
    return found && ub ? *ub : 32767;
}

int vae_comm_send_start(vae_comm *c, int dest, int tag, const void *buf, size_t bytes, vae_comm_sending **s)
{
    *s = NULL;
    if (bytes > INT_MAX)
        return vae_fail(VAE_ERR_ARG, "a message of %zu bytes exceeds 2 GiB", bytes);
    vae_comm_sending *n = malloc(sizeof *n);
    if (!n)
        return vae_fail(VAE_ERR_NOMEM, "out of memory sending a message");
    int rc = comm_mpi_status(MPI_Isend(buf, (int)bytes, MPI_BYTE, dest, tag, c->world, &n->req), "MPI_Isend");
    if (rc)
        free(n);
    else
        *s = n;
    return rc;
}

int vae_comm_send_wait(vae_comm_sending *s)
{
    if (!s)
        return VAE_OK;
    int done = 0, rc;
    long ns = STREAM_NAP_NS;
    while (!(rc = comm_mpi_status(MPI_Test(&s->req, &done, MPI_STATUS_IGNORE), "MPI_Test")) && !done)
        nap(&ns);
    free(s);
    return rc;
}

int vae_comm_send(vae_comm *c, int dest, int tag, const void *buf, size_t bytes)
{
    vae_comm_sending *s;
    int rc = vae_comm_send_start(c, dest, tag, buf, bytes, &s);
    return rc ? rc : vae_comm_send_wait(s);
}

static int mpi_source(int src) { return src == VAE_COMM_ANY_SOURCE ? MPI_ANY_SOURCE : src; }

int vae_comm_arrived(vae_comm *c, int src, int tag, int *arrived)
{
    *arrived = 0;
    return comm_mpi_status(MPI_Iprobe(mpi_source(src), tag, c->world, arrived, MPI_STATUS_IGNORE), "MPI_Iprobe");
}

int vae_comm_recv(vae_comm *c, int src, int tag, void **buf, size_t *cap, size_t *bytes)
{
    MPI_Message msg;
    MPI_Status st;
    int count = 0;
    *bytes = 0;
    int found = 0, rc;
    long ns = STREAM_NAP_NS;
    while (!(rc = comm_mpi_status(MPI_Improbe(mpi_source(src), tag, c->world, &found, &msg, &st), "MPI_Improbe")) && !found)
        nap(&ns);
    if (rc)
        return rc;
    rc = comm_mpi_status(MPI_Get_count(&st, MPI_BYTE, &count), "MPI_Get_count");
    if (!rc && (size_t)count > *cap) {
        void *p = realloc(*buf, (size_t)count);
        if (p) {
            *buf = p;
            *cap = (size_t)count;
        }
        /* the message is received even so, into nothing, so that the stream stays in step */
        rc = p ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory receiving %d bytes", count);
    }
    int rc_recv = comm_mpi_status(MPI_Mrecv(rc ? NULL : *buf, rc ? 0 : count, MPI_BYTE, &msg, MPI_STATUS_IGNORE),
                             "MPI_Mrecv");
    *bytes = rc ? 0 : (size_t)count;
    return rc ? rc : rc_recv;
}

/* Block b of R near-equal blocks of n floats, each starting on a 16-float (64-byte) boundary for
 * the update's vector loop. */
static void block_range(size_t n, int R, int b, size_t *lo, size_t *hi)
{
    const size_t Rs = (size_t)R, bs = (size_t)b;
    *lo = bs == 0 ? 0 : (n * bs / Rs) & ~(size_t)15;
    *hi = bs + 1 == Rs ? n : (n * (bs + 1) / Rs) & ~(size_t)15;
}

void vae_comm_shard(const vae_comm *c, size_t n, int rank, size_t *lo, size_t *hi)
{
    block_range(n, c->size, c->block_of[rank], lo, hi);
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

/* A ring over comm (R ranks, this one `rank`), block r of buf at displs[r] with counts[r] floats:
 * in step k each rank passes one block's partial sum to its right neighbour and adds the partial
 * arriving from its left into its own copy, so after R - 1 steps rank r holds block r's whole sum,
 * having sent and received (R - 1) / R of the buffer: the bytes of the first half of a ring
 * allreduce. Open MPI 4.1's MPI_Reduce_scatter was slower than the whole allreduce here (a one-off
 * test); the pieces of RING_PIECE floats keep each received piece in cache for the addition. */
static int ring_reduce_scatter(MPI_Comm comm, int R, int rank, float *buf, const int *counts, const int *displs,
                               float *piece)
{
    int rc = VAE_OK;
    const int right = (rank + 1) % R, left = (rank + R - 1) % R;
    for (int k = 0; k < R - 1 && rc == VAE_OK; k++) {
        const int send_block = (rank - k - 1 + 2 * R) % R, recv_block = (rank - k - 2 + 2 * R) % R;
        const int ns = counts[send_block], nr = counts[recv_block];
        for (int off = 0; (off < ns || off < nr) && rc == VAE_OK; off += RING_PIECE) {
            const int cs = ns - off < RING_PIECE ? (ns > off ? ns - off : 0) : RING_PIECE;
            const int cr = nr - off < RING_PIECE ? (nr > off ? nr - off : 0) : RING_PIECE;
            rc = comm_mpi_status(MPI_Sendrecv(buf + displs[send_block] + off, cs, MPI_FLOAT, right, 0, piece, cr,
                                         MPI_FLOAT, left, 0, comm, MPI_STATUS_IGNORE), "MPI_Sendrecv");
            float *restrict dst = buf + displs[recv_block] + off;
            const float *restrict src = piece;
            for (int i = 0; i < cr; i++)
                dst[i] += src[i];
        }
    }
    return rc;
}

int vae_comm_reduce_scatter_floats(vae_comm *c, float *buf, size_t n)
{
    int rc = block_layout(c, n, "reduce-scatter");
    if (rc != VAE_OK)
        return rc;
    return ring_reduce_scatter(c->world, c->size, c->rank, buf, c->counts, c->displs, c->piece);
}

int vae_comm_allgather_floats(vae_comm *c, float *buf, size_t n)
{
    int rc = block_layout(c, n, "allgather");
    if (rc != VAE_OK)
        return rc;
    return comm_mpi_status(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, c->counts, c->displs, MPI_FLOAT,
                                     c->world), "MPI_Allgatherv");
}

struct vae_comm_shared {
    vae_comm *c;
    MPI_Win params_win, grads_win;
    float *params;
    float **grads;             /* [node_size]: every gradient buffer of this node, mapped here */
    int *cross_counts, *cross_displs; /* [num_nodes]: the blocks of this rank's node block */
    size_t node_lo, node_hi;   /* this rank's node block */
};

void vae_comm_shared_free(vae_comm_shared *s)
{
    if (!s)
        return;
    s->c->shared_alive--;
    if (s->grads_win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(s->grads_win);
        MPI_Win_free(&s->grads_win);
    }
    if (s->params_win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(s->params_win);
        MPI_Win_free(&s->params_win);
    }
    free(s->grads);
    free(s->cross_counts);
    free(s->cross_displs);
    free(s);
}

/* One window of bytes on this rank (the node's first rank alone holds the parameters), with a
 * passive-target epoch open for its whole life: ranks read each other's memory directly, ordered
 * by MPI_Win_sync and a collective (the MPI-3 shared-memory model). */
static int shared_window(vae_comm_shared *s, size_t bytes, MPI_Win *win, void *base)
{
    int rc = comm_mpi_status(MPI_Win_allocate_shared((MPI_Aint)bytes, sizeof(float), MPI_INFO_NULL, s->c->node, base,
                                                win), "MPI_Win_allocate_shared");
    if (rc == VAE_OK)
        rc = comm_mpi_status(MPI_Win_lock_all(MPI_MODE_NOCHECK, *win), "MPI_Win_lock_all");
    return rc;
}

/* Where this rank's place owns the buffer: its node block, and the block of each counterpart in it
 * (the layout of node_layout). */
static int node_block_layout(vae_comm_shared *s, size_t n)
{
    const vae_comm *c = s->c;
    if (n > INT_MAX)
        return vae_fail(VAE_ERR_ARG, "a sharded buffer of %zu floats: more than 2^31 - 1 is not supported", n);
    for (int k = 0; k < c->num_nodes; k++) {
        size_t lo, hi;
        block_range(n, c->size, c->node_rank * c->num_nodes + k, &lo, &hi);
        s->cross_counts[k] = (int)(hi - lo);
        s->cross_displs[k] = (int)lo;
        if (k == 0)
            s->node_lo = lo;
        s->node_hi = hi;
    }
    return VAE_OK;
}

int vae_comm_shared_new(vae_comm *c, size_t num_params, size_t num_grads, vae_comm_shared **out)
{
    *out = NULL;
    if (c->cross == MPI_COMM_NULL) /* the same verdict on every rank */
        return vae_fail(VAE_ERR_ARG, "the nodes hold different numbers of ranks: no node-shared exchange");
    vae_comm_shared *s = calloc(1, sizeof *s);
    int rc = s ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory");
    if (s) {
        s->c = c;
        c->shared_alive++;
        s->params_win = s->grads_win = MPI_WIN_NULL;
        if (!(s->grads = calloc((size_t)c->node_size, sizeof *s->grads)) ||
            !(s->cross_counts = calloc((size_t)c->num_nodes, sizeof *s->cross_counts)) ||
            !(s->cross_displs = calloc((size_t)c->num_nodes, sizeof *s->cross_displs)))
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
    }
    if (rc == VAE_OK)
        rc = node_block_layout(s, num_params);
    /* A local failure is agreed on before the windows, whose allocation every rank of a node joins;
     * the windows' own failures before the barrier that ends this. */
    rc = vae_comm_agree(c, rc, NULL);
    float *mine = NULL;
    if (rc == VAE_OK)
        rc = shared_window(s, c->node_rank == 0 ? num_params * sizeof(float) : 0, &s->params_win, &s->params);
    if (rc == VAE_OK)
        rc = shared_window(s, num_grads * sizeof(float), &s->grads_win, &mine);
    for (int r = 0; r < c->node_size && rc == VAE_OK; r++) {
        MPI_Aint bytes;
        int unit;
        rc = comm_mpi_status(MPI_Win_shared_query(s->grads_win, r, &bytes, &unit, &s->grads[r]), "MPI_Win_shared_query");
    }
    if (rc == VAE_OK) {
        MPI_Aint bytes;
        int unit;
        rc = comm_mpi_status(MPI_Win_shared_query(s->params_win, 0, &bytes, &unit, &s->params), "MPI_Win_shared_query");
    }
    if (rc == VAE_OK) {
        memset(mine, 0, num_grads * sizeof(float));
        if (c->node_rank == 0)
            memset(s->params, 0, num_params * sizeof(float));
    }
    if ((rc = vae_comm_agree(c, rc, NULL)) == VAE_OK)
        rc = vae_comm_shared_sync(s, NULL, 0);
    if (rc != VAE_OK) {
        vae_comm_shared_free(s);
        return rc;
    }
    *out = s;
    return VAE_OK;
}

float *vae_comm_shared_params(vae_comm_shared *s) { return s->params; }
float *vae_comm_shared_grads(vae_comm_shared *s) { return s->grads[s->c->node_rank]; }
const float *const *vae_comm_shared_all_grads(vae_comm_shared *s) { return (const float *const *)s->grads; }
int vae_comm_shared_size(vae_comm_shared *s) { return s->c->node_size; }

int vae_comm_shared_sync(vae_comm_shared *s, double *x, int n)
{
    MPI_Win_sync(s->params_win);
    MPI_Win_sync(s->grads_win);
    int rc = n > 0 ? comm_mpi_status(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, s->c->world), "MPI_Allreduce")
                   : comm_mpi_status(MPI_Barrier(s->c->node), "MPI_Barrier");
    MPI_Win_sync(s->params_win);
    MPI_Win_sync(s->grads_win);
    return rc;
}

int vae_comm_shared_spread_params(vae_comm_shared *s, size_t n)
{
    /* Rank 0 is the first rank of the first node: root 0 among the nodes' first ranks. */
    const vae_comm *c = s->c;
    int rc = VAE_OK;
    if (c->node_rank == 0 && c->num_nodes > 1)
        rc = comm_mpi_status(MPI_Bcast(s->params, (int)n, MPI_FLOAT, 0, c->cross), "MPI_Bcast");
    const int sync_rc = vae_comm_shared_sync(s, NULL, 0);
    return rc != VAE_OK ? rc : sync_rc;
}

int vae_comm_shared_reduce_scatter(vae_comm_shared *s)
{
    vae_comm *c = s->c;
    float *mine = s->grads[c->node_rank];
    /* The node's sum of the node block, into this rank's own buffer: no other rank reads that
     * stretch of it, and each piece is written only after it is summed (this buffer is a term). */
    for (size_t i = s->node_lo; i < s->node_hi; i += RING_PIECE) {
        const size_t len = s->node_hi - i < RING_PIECE ? s->node_hi - i : RING_PIECE;
        vae_sum_terms(c->piece, (const float *const *)s->grads, c->node_size, i, len);
        memcpy(mine + i, c->piece, len * sizeof *c->piece);
    }
    return ring_reduce_scatter(c->cross, c->num_nodes, c->node_index, mine, s->cross_counts, s->cross_displs,
                               c->piece);
}

int vae_comm_shared_allgather(vae_comm_shared *s)
{
    return comm_mpi_status(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, s->params, s->cross_counts,
                                     s->cross_displs, MPI_FLOAT, s->c->cross), "MPI_Allgatherv");
}

int vae_comm_agree(vae_comm *c, int status, int *who) { return vae_comm_agree_first(c, status, c->rank, who); }

int vae_comm_agree_first(vae_comm *c, int status, int key, int *who)
{
    /* The lowest failing key wins, then the lowest rank: (key, rank) pairs reduced by MINLOC. */
    int in[2] = {status != VAE_OK ? key : INT_MAX, c->rank};
    int outv[2];
    int rc = comm_mpi_status(MPI_Allreduce(in, outv, 1, MPI_2INT, MPI_MINLOC, c->world), "MPI_Allreduce");
    if (rc != VAE_OK)
        return rc;
    if (outv[0] == INT_MAX)
        return VAE_OK;
    /* Its status and message travel to every rank, so that a caller nested in another agreement
     * fails with the message of the rank that failed first, whichever rank ends up printing it. */
    struct {
        int status;
        char message[MESSAGE_BYTES];
    } agreed = {.status = status};
    if (c->rank == outv[1])
        snprintf(agreed.message, sizeof agreed.message, "%s", vae_error_message());
    rc = comm_mpi_status(MPI_Bcast(&agreed, (int)sizeof agreed, MPI_BYTE, outv[1], c->world), "MPI_Bcast");
    if (rc != VAE_OK)
        return rc;
    if (who)
        *who = outv[1];
    return vae_fail(agreed.status, "%s", agreed.message);
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
