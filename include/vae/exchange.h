/* The gradient exchange of data-parallel training: one object that owns the parameter and gradient
 * buffers (node-shared memory or plain), sums each step's gradient and step sums over the ranks
 * and applies the optimizer, in one call per step, whichever way the ranks talk:
 * - allreduce: one in-place allreduce of the gradient (the step's sums riding after it), then the
 *   whole update on every rank;
 * - sharded: each rank updates only its block of the parameters from the block's sum over ranks
 *   (vae_optim_step_sum). On nodes that hold the same number of ranks, through node-shared memory:
 *   on one node a rank sums its block straight from every rank's gradient inside the update's pass,
 *   across nodes the node sums are reduce-scattered among the ranks at the same place on each node
 *   and the updated blocks allgathered among them; otherwise (or with shared memory off) a flat
 *   ring reduce-scatter and an allgather over all ranks.
 * Every way gives the same model up to the order of floating-point sums (bit for bit at 2 ranks). */
#ifndef VAE_EXCHANGE_H
#define VAE_EXCHANGE_H

#include "vae/comm.h"
#include "vae/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { VAE_EXCHANGE_SHARDED, VAE_EXCHANGE_ALLREDUCE } vae_exchange_kind;
extern const char *const vae_exchange_kind_names[]; /* "sharded", "allreduce", NULL */

typedef struct {
    vae_exchange_kind kind;
    int shared_memory;  /* sharded: through node-shared memory where the nodes allow (default 1) */
    int ranks_per_node; /* > 0: runs of this many ranks count as nodes (vae_comm_set_ranks_per_node) */
} vae_exchange_config;

void vae_exchange_config_default(vae_exchange_config *cfg);

typedef struct vae_exchange vae_exchange;

/* Collective: an exchange of num_params parameters and num_sums step sums among comm's ranks (one
 * rank: the whole update, nothing sent). Both buffers start zeroed. The same status on every rank,
 * with the message of the rank that failed first. */
int vae_exchange_new(vae_exchange **out, vae_comm *comm, const vae_exchange_config *cfg, size_t num_params,
                     int num_sums);
/* Collective when the buffers are node-shared. */
void vae_exchange_free(vae_exchange *ex);

/* The buffers the model computes in: [num_params] each, the parameters shared by the ranks of a
 * node (written by the node's first rank alone, before vae_exchange_spread_start) or this rank's. */
float *vae_exchange_params(vae_exchange *ex);
float *vae_exchange_grads(vae_exchange *ex);

/* The way taken, for config.json: "allreduce", "reduce-scatter + allgather", "node-shared memory"
 * or "node-shared memory, reduce-scatter + allgather across nodes". */
const char *vae_exchange_name(const vae_exchange *ex);

/* Seconds of a step spent talking and updating, added to by vae_exchange_step. */
typedef struct {
    double comm_s, update_s;
} vae_exchange_times;

/* Collective, once every rank's gradient is written: sums[0..num_sums) become their sums over the
 * ranks, and the parameters are updated by optim from the gradient summed over the ranks. Returns
 * VAE_ERR_NUMERIC on every rank alike when that gradient holds a non-finite value (the parameters
 * and moments are then not to be kept), or the status of a failed communication. */
int vae_exchange_step(vae_exchange *ex, vae_optim *optim, double *sums, vae_exchange_times *times);

/* Collective: rank 0's parameters and optimizer state (moments, update count) to every rank. */
int vae_exchange_spread_start(vae_exchange *ex, vae_optim *optim);
/* Collective: the whole moments on every rank (sharded, each rank's are current on its block
 * only), for a checkpoint. */
int vae_exchange_gather_moments(vae_exchange *ex, vae_optim *optim);

#ifdef __cplusplus
}
#endif
#endif
