/* The data-parallel training loop of vae-dist (SPEC.md "Training semantics", "A training run's
 * folder"): every rank trains on its shard of each global batch, gradients and the step's sums are
 * combined by the gradient exchange (exchange.h), rank 0 logs, evaluates and checkpoints. */
#ifndef VAE_TRAIN_H
#define VAE_TRAIN_H

#include <signal.h>

#include "vae/comm.h"
#include "vae/exchange.h"
#include "vae/model.h"
#include "vae/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *corpus;
    const char *out_dir;
    const char *resume;    /* NULL, "auto" or a checkpoint path */
    const char *init_from; /* NULL or a checkpoint whose parameters start the run */
    /* The run ends at whichever limit it reaches first. Neither set: VAE_DEFAULT_EPOCHS epochs. */
    int64_t epochs;        /* <= 0: no limit of epochs */
    int64_t max_steps;     /* < 0: no limit of steps; 0: evaluate and checkpoint the start */
    int64_t batch_size;
    int64_t kl_warmup_steps;
    int64_t kl_cycles;     /* > 0: cyclical annealing over the run's steps (SPEC.md "sentence") */
    double free_bits;      /* > 0: the loss's KL per latent unit is at least this (vae_step_opts) */
    int64_t eval_every, log_every, checkpoint_every; /* <= 0: never (evaluation and checkpoint still at the end) */
    int keep_checkpoints;
    /* The validation figure watched (ppl_doc; lower is better), counted evaluation by evaluation. */
    int keep_best;         /* its best checkpoint is kept, named by checkpoints/best */
    int64_t early_stop;    /* > 0: the run ends after this many evaluations without improving it */
    int latent_samples;
    int threads;           /* BLAS threads per rank */
    int precision;         /* vae_precision of the matrix products (SPEC.md "Precision") */
    int shuffle;
    vae_exchange_config exchange;
    /* Recorded in config.json: Open MPI's single-copy transport between the ranks of a node, which
     * the program sets before MPI starts (off: copies through shared buffers). */
    int shm_single_copy;
    int quiet;
    uint64_t seed;
    double beta;
    vae_model_config model; /* its vocab_size is ignored: the corpus's is used */
    vae_optim_config optim;
    /* Set (to the signal number) by the caller's SIGTERM/SIGUSR1 handler: all ranks stop at the
     * end of the step, rank 0 checkpoints. */
    volatile sig_atomic_t *stop_signal;
    /* When not NULL, set to 1 by the trainer while it heeds stop_signal (from before its first
     * step to its last checkpoint) and to 0 outside: there, a handler should end the process at
     * once, as no step will read the signal. */
    volatile sig_atomic_t *stop_heeded;
} vae_train_config;

#define VAE_DEFAULT_EPOCHS 10

/* The library's defaults: vae-dist's flags start from them (src/train/train_cli.c). */
void vae_train_config_default(vae_train_config *c);

/* Runs training. Returns VAE_OK (also after a stop on signal: *stopped_by gets the signal, else
 * 0) or the agreed status of the lowest failing rank; that rank has printed nothing yet: the
 * message is vae_error_message() on *failed_rank, which the caller prints there alone. */
int vae_train_run(const vae_train_config *c, vae_comm *comm, int *stopped_by, int *failed_rank);

#ifdef __cplusplus
}
#endif
#endif
