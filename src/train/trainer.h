/* The trainer's state and the parts of the training loop kept in their own files: the run's
 * configuration JSON (config_json.c), this rank's data windows (window.c), the train and eval lines
 * (log.c), and checkpoint save and resume (resume.c). trainer.c holds the loop and the exchange. */
#ifndef VAE_TRAINER_H
#define VAE_TRAINER_H

#include <stdio.h>

#include "json.h"
#include "plan.h"
#include "vae/evaluate.h"
#include "vae/train.h"

/* Per-step sums that travel after the gradients in the same allreduce (sharded: in a small one of
 * their own, with the gradient's squared norm at X_NORM2 when clipping). X_BAD counts the ranks
 * whose update met a non-finite gradient, set after the update. The gradient buffer that the
 * trainer gives the model has room for them after the model's num_params floats. */
enum { X_LOSS, X_RECON, X_KL, X_UNITS, X_TOKENS, X_FAILED, X_SIGTERM, X_SIGUSR1, X_NORM2, X_BAD, X_COUNT };

typedef struct {
    const vae_train_config *cfg;
    vae_comm *comm;
    int rank, ranks;
    vae_corpus *corpus;
    vae_model *model;
    /* The buffers the model is on, when they are the trainer's own (NULL once on node-shared ones):
     * parameters, and gradients followed by the X_COUNT step sums. */
    float *own_params, *own_grads;
    vae_optim *optim;
    vae_evaluator *evaluator;
    train_plan plan;
    int64_t total_steps;
    /* Training position: `step` updates done; the next is step_in_epoch of epoch. */
    int64_t step, epoch, step_in_epoch;
    /* The window of this rank's shard: steps [win_first, win_first + win_steps) of win_epoch. */
    vae_docs window, batch;
    int64_t win_epoch, win_first, win_steps;
    int64_t window_steps; /* steps per window */
    int64_t *win_row;     /* [window_steps + 1] first row of each step in the window */
    int64_t *doc_list;
    json_buf json;
    char *config_json;
    FILE *summary;
    char last_checkpoint[4096];
    /* Sharded optimizer (more than one rank and --shard-optimizer): this rank updates [shard_lo,
     * shard_hi) of the buffer (vae_comm_shard's block) from that block's sum over the ranks. */
    int sharded;
    size_t shard_lo, shard_hi;
    /* Sharded with every node holding the same number of ranks: each node's parameters and its
     * ranks' gradients in node-shared memory (NULL: reduce-scatter and allgather over all ranks). */
    vae_comm_shared *shared;
    const float **block_terms; /* [ranks on the node]: each rank's gradient at shard_lo (one node) */
    /* Time split of the steps since the last train line. */
    double t_data, t_compute, t_comm, t_interval_start;
    double units_interval, tokens_interval;
    double run_start;
} trainer;

/* The resolved configuration as one JSON object into t->config_json (config.json and every
 * checkpoint's config_json); exchange names the gradient exchange in use. */
int trainer_config_json(trainer *t, const char *exchange);

/* This rank's part of the current step's global batch into t->batch, read by windows of steps. */
int trainer_load_step_batch(trainer *t);

/* A train line from the summed step sums x (rank 0), and the timings restarted (every rank). */
void trainer_log_train(trainer *t, const float *x, float beta);
/* Evaluation of the valid split, when there is one, and its eval line (collective). */
int trainer_eval_and_log(trainer *t, int *who);

/* Rank 0 writes the checkpoint of the current position; all ranks agree on the outcome. */
int trainer_save_checkpoint(trainer *t, int *who);
/* Chooses the starting point on rank 0 (fresh, --resume or --init-from) and gives every rank the
 * same parameters, statistics, moments and position (collective). */
int trainer_starting_point(trainer *t, int *who);

#endif
