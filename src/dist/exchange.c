/* The gradient exchange behind include/vae/exchange.h: which way the ranks take, the buffers that
 * way needs, and its step, over comm.h's sums, blocks and node-shared buffers. */
#include "vae/exchange.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const vae_exchange_kind_names[] = {"sharded", "allreduce", NULL};

typedef enum { WAY_ALLREDUCE, WAY_FLAT, WAY_SHARED } exchange_way;

struct vae_exchange {
    vae_comm *comm;
    exchange_way way;
    int nodes;
    size_t n;
    int num_sums;
    /* The node's shared buffers, or plain ones owned here (allreduce: the gradient buffer carries
     * num_sums more floats, so that the step's sums travel in the gradient's allreduce). */
    vae_comm_shared *shared;
    float *params, *grads;
    /* Sharded: this rank's block [lo, hi) of the buffers, its gradient as a sum of terms for
     * vae_optim_step_sum (on one node, every rank's gradient there; else this rank's, once its block
     * holds the sum), and the step's sums followed by the block's squared norm and the count of
     * ranks whose block met a non-finite gradient. */
    size_t lo, hi;
    const float **terms;
    int num_terms;
    double *sums;
};

void vae_exchange_config_default(vae_exchange_config *cfg)
{
    cfg->kind = VAE_EXCHANGE_SHARDED;
    cfg->shared_memory = 1;
    cfg->ranks_per_node = 0;
}

/* The local part of vae_exchange_new: the way and the buffers it owns. */
static int allocate(vae_exchange *ex, const vae_exchange_config *cfg)
{
    vae_comm *c = ex->comm;
    const int ranks = vae_comm_size(c);
    ex->way = cfg->kind == VAE_EXCHANGE_ALLREDUCE || ranks == 1 ? WAY_ALLREDUCE
              : cfg->shared_memory && vae_comm_nodes_even(c) ? WAY_SHARED
                                                             : WAY_FLAT;
    if (ex->way == WAY_ALLREDUCE)
        return (ex->params = vae_calloc_array(ex->n, sizeof(float))) &&
                       (ex->grads = vae_calloc_array(ex->n + (size_t)ex->num_sums, sizeof(float)))
                   ? VAE_OK
                   : VAE_ERR_NOMEM;
    if (ex->n > INT_MAX)
        return vae_fail(VAE_ERR_ARG, "the sharded exchange: the model has %zu parameters, more than 2^31 - 1", ex->n);
    vae_comm_shard(c, ex->n, vae_comm_rank(c), &ex->lo, &ex->hi);
    if (!(ex->terms = vae_calloc_array((size_t)ranks, sizeof *ex->terms)) ||
        !(ex->sums = vae_calloc_array((size_t)ex->num_sums + 2, sizeof *ex->sums)))
        return VAE_ERR_NOMEM;
    if (ex->way == WAY_SHARED)
        return VAE_OK;
    return (ex->params = vae_calloc_array(ex->n, sizeof(float))) &&
                   (ex->grads = vae_calloc_array(ex->n, sizeof(float)))
               ? VAE_OK
               : VAE_ERR_NOMEM;
}

int vae_exchange_new(vae_exchange **out, vae_comm *comm, const vae_exchange_config *cfg, size_t num_params,
                     int num_sums)
{
    *out = NULL;
    vae_exchange *ex = calloc(1, sizeof *ex);
    int rc = vae_comm_set_ranks_per_node(comm, cfg->ranks_per_node);
    if (rc == VAE_OK && !ex)
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
    if (rc == VAE_OK) {
        *ex = (vae_exchange){.comm = comm, .nodes = vae_comm_nodes(comm), .n = num_params, .num_sums = num_sums};
        rc = allocate(ex, cfg);
    }
    if ((rc = vae_comm_agree(comm, rc, NULL)) == VAE_OK && ex->way == WAY_SHARED &&
        (rc = vae_comm_shared_new(comm, num_params, num_params, &ex->shared)) == VAE_OK) {
        ex->params = vae_comm_shared_params(ex->shared);
        ex->grads = vae_comm_shared_grads(ex->shared);
    }
    if (rc != VAE_OK) {
        vae_exchange_free(ex);
        return rc;
    }
    /* On one node the block is summed from every rank's gradient in place; across nodes, and in
     * the flat exchange, this rank's own buffer holds the block's sum: the one term. */
    if (ex->way == WAY_SHARED && ex->nodes == 1) {
        ex->num_terms = vae_comm_shared_size(ex->shared);
        for (int r = 0; r < ex->num_terms; r++)
            ex->terms[r] = vae_comm_shared_all_grads(ex->shared)[r] + ex->lo;
    } else if (ex->way != WAY_ALLREDUCE) {
        ex->num_terms = 1;
        ex->terms[0] = ex->grads + ex->lo;
    }
    *out = ex;
    return VAE_OK;
}

void vae_exchange_free(vae_exchange *ex)
{
    if (!ex)
        return;
    if (ex->shared) {
        vae_comm_shared_free(ex->shared);
    } else {
        free(ex->params);
        free(ex->grads);
    }
    free(ex->terms);
    free(ex->sums);
    free(ex);
}

float *vae_exchange_params(vae_exchange *ex) { return ex->params; }
float *vae_exchange_grads(vae_exchange *ex) { return ex->grads; }

const char *vae_exchange_name(const vae_exchange *ex)
{
    switch (ex->way) {
    case WAY_ALLREDUCE:
        return "allreduce";
    case WAY_FLAT:
        return "reduce-scatter + allgather";
    default:
        return ex->nodes == 1 ? "node-shared memory" : "node-shared memory, reduce-scatter + allgather across nodes";
    }
}

static int non_finite(void) { return vae_fail(VAE_ERR_NUMERIC, "non-finite gradient"); }

/* The gradient and the step's sums (after it in the buffer) summed by one in-place allreduce, then
 * the whole update on every rank. */
static int allreduce_step(vae_exchange *ex, vae_optim *o, double *sums, vae_exchange_times *times)
{
    float *tail = ex->grads + ex->n;
    for (int i = 0; i < ex->num_sums; i++)
        tail[i] = (float)sums[i];
    const double tc = vae_wtime();
    int rc = vae_comm_sum_floats(ex->comm, ex->grads, ex->n + (size_t)ex->num_sums);
    const double tu = vae_wtime();
    times->comm_s += tu - tc;
    if (rc != VAE_OK)
        return rc;
    for (int i = 0; i < ex->num_sums; i++)
        sums[i] = tail[i];
    /* Every rank holds the same summed gradient, so every rank reaches the same verdict. */
    const int bad = vae_optim_step(o, ex->params, ex->grads) != VAE_OK;
    times->update_s += vae_wtime() - tu;
    return bad ? non_finite() : VAE_OK;
}

/* Each rank updates its block from the block's sum, then every rank sees every block. On one node
 * the block is summed straight from the ranks' gradients in shared memory, inside the update's own
 * pass, and no allgather is needed. Across nodes the block is summed within the node and then among
 * counterparts before the update, and the updated blocks are allgathered among counterparts into
 * each node's shared parameters. Flat: a reduce-scatter and an allgather over all ranks. Clipping
 * needs the global norm before the update, so the step's sums (with the norm) go before it;
 * otherwise they go after it, with the blocks' verdicts, on the collective that ends the step. */
static int sharded_step(vae_exchange *ex, vae_optim *o, double *sums, vae_exchange_times *times)
{
    const int clip = o->cfg.clip_norm > 0, num_sums = ex->num_sums, norm2 = num_sums, bad_ranks = num_sums + 1;
    double *x = ex->sums;
    memcpy(x, sums, (size_t)num_sums * sizeof *x);
    x[norm2] = x[bad_ranks] = 0.0;
    double tc = vae_wtime();
    int rc;
    if (ex->way == WAY_FLAT)
        rc = vae_comm_reduce_scatter_floats(ex->comm, ex->grads, ex->n);
    else if ((rc = vae_comm_shared_sync(ex->shared, NULL, 0)) == VAE_OK && ex->nodes > 1)
        rc = vae_comm_shared_reduce_scatter(ex->shared);
    if (rc == VAE_OK && clip) {
        x[norm2] = vae_grad_sum_squares(ex->terms, ex->num_terms, ex->hi - ex->lo);
        rc = vae_comm_sum_doubles(ex->comm, x, (size_t)num_sums + 2);
    }
    const double tu = vae_wtime();
    times->comm_s += tu - tc;
    if (rc != VAE_OK)
        return rc;
    const int bad = vae_optim_step_sum(o, ex->params, ex->terms, ex->num_terms, ex->lo, ex->hi, sqrt(x[norm2])) !=
                    VAE_OK;
    tc = vae_wtime();
    times->update_s += tc - tu;
    /* With clipping every rank saw the same norm, finite or not: the same verdict already. */
    x[bad_ranks] = bad;
    if (ex->way == WAY_FLAT) {
        if ((rc = clip ? VAE_OK : vae_comm_sum_doubles(ex->comm, x, (size_t)num_sums + 2)) == VAE_OK)
            rc = vae_comm_allgather_floats(ex->comm, ex->params, ex->n);
    } else if ((rc = ex->nodes > 1 ? vae_comm_shared_allgather(ex->shared) : VAE_OK) == VAE_OK) {
        rc = vae_comm_shared_sync(ex->shared, x, clip ? 0 : num_sums + 2);
    }
    times->comm_s += vae_wtime() - tc;
    if (rc != VAE_OK)
        return rc;
    memcpy(sums, x, (size_t)num_sums * sizeof *sums);
    return x[bad_ranks] > 0 ? non_finite() : VAE_OK;
}

int vae_exchange_step(vae_exchange *ex, vae_optim *optim, double *sums, vae_exchange_times *times)
{
    return ex->way == WAY_ALLREDUCE ? allreduce_step(ex, optim, sums, times) : sharded_step(ex, optim, sums, times);
}

int vae_exchange_spread_start(vae_exchange *ex, vae_optim *optim)
{
    vae_comm *c = ex->comm;
    const size_t bytes = ex->n * sizeof(float);
    float *m, *v;
    vae_optim_moments(optim, &m, &v);
    int64_t updates = vae_optim_updates(optim);
    int rc = ex->shared ? vae_comm_shared_spread_params(ex->shared, ex->n) : vae_comm_broadcast(c, ex->params, bytes, 0);
    if (rc == VAE_OK && (rc = vae_comm_broadcast(c, m, bytes, 0)) == VAE_OK &&
        (rc = vae_comm_broadcast(c, v, bytes, 0)) == VAE_OK &&
        (rc = vae_comm_broadcast(c, &updates, sizeof updates, 0)) == VAE_OK)
        vae_optim_set_updates(optim, updates);
    return rc;
}

int vae_exchange_gather_moments(vae_exchange *ex, vae_optim *optim)
{
    if (ex->way == WAY_ALLREDUCE)
        return VAE_OK;
    float *m, *v;
    vae_optim_moments(optim, &m, &v);
    int rc = vae_comm_allgather_floats(ex->comm, m, ex->n);
    return rc == VAE_OK ? vae_comm_allgather_floats(ex->comm, v, ex->n) : rc;
}
