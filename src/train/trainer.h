/* The trainer's state and the parts of the training loop kept in their own files: the run's
 * configuration JSON (config_json.c), this rank's data windows (window.c), the train and eval lines
 * (log.c), and checkpoint save and resume (resume.c). trainer.c holds the loop; the gradient exchange
 * (exchange.h) owns the buffers the model computes in. */
#ifndef VAE_TRAINER_H
#define VAE_TRAINER_H

#include <stdio.h>

#include "best.h"
#include "json.h"
#include "plan.h"
#include "vae/evaluate.h"
#include "vae/train.h"

/* Per-step sums, summed over the ranks by the exchange's step with the gradient. */
enum { X_LOSS, X_RECON, X_KL, X_UNITS, X_TOKENS, X_FAILED, X_SIGTERM, X_SIGUSR1, X_RUN_FILE, X_COUNT };

typedef struct {
    const vae_train_config *cfg;
    vae_comm *comm;
    int rank, ranks;
    vae_corpus *corpus;
    vae_model_config model_cfg; /* the flags' model on the corpus's vocabulary */
    vae_exchange *exchange;     /* owns the buffers that the model computes in */
    vae_model *model;
    vae_optim *optim;
    vae_evaluator *evaluator;
    train_plan plan;
    int64_t total_steps;
    train_best best; /* the watched validation figure (best.h) */
    /* Training position: `step` updates done; the next is step_in_epoch of epoch. */
    int64_t step, epoch, step_in_epoch;
    /* The window of this rank's shard: steps [win_first, win_first + win_steps) of win_epoch. */
    vae_docs window, batch;
    vae_seqs seq_window, seq_batch; /* the same for a family of sequences */
    int32_t *lengths;   /* a family of sequences: the tokens of each training sequence (the plan's) */
    int64_t max_length; /* and the longest sequence of the train and valid splits */
    int64_t win_epoch, win_first, win_steps;
    int64_t window_steps; /* steps per window */
    int64_t *win_row;     /* [window_steps + 1] first row of each step in the window */
    int64_t *doc_list;
    json_buf json;
    char *config_json;
    FILE *summary;
    char run_file_error[1200]; /* rank 0: why a line of summary.jsonl could not be written ("" if none) */
    int lock_fd; /* rank 0: the run folder's lock (rundir_lock), -1 elsewhere */
    char last_checkpoint[4096];
    char resumed_from[4096]; /* rank 0: the checkpoint resumed from ("" when none), never rotated out */
    double sums[X_COUNT]; /* this step's, then their sums over the ranks */
    /* Time split of the steps since the last train line (the exchange's in exchange_times). */
    vae_exchange_times exchange_times;
    double t_data, t_compute, t_interval_start;
    double units_interval, tokens_interval;
    double run_start;
} trainer;

/* The epochs the run may take: --epochs, or VAE_DEFAULT_EPOCHS when no limit is set; -1: none. */
int64_t trainer_epoch_limit(const vae_train_config *c);

/* The resolved configuration as one JSON object into t->config_json (config.json and every
 * checkpoint's config_json), the gradient exchange in use among it. */
int trainer_config_json(trainer *t);

/* This rank's part of the current step's global batch into t->batch, read by windows of steps. */
int trainer_load_step_batch(trainer *t);

/* Rank 0: the run folder created (when new) and locked for the run's life (t->lock_fd), then the
 * temporary files of a dead run removed; a folder another trainer holds is an error naming it. */
int trainer_lock_run_folder(trainer *t);

/* Once the starting point is chosen, rank 0 writes config.json and opens summary.jsonl to append,
 * first cut back to its last whole line and to the lines of steps up to t->step (the starting
 * point), so that a resumed run logs no step twice. */
int trainer_open_run_files(trainer *t);
/* A train line from the summed step sums t->sums (rank 0), and the timings restarted (every rank). */
void trainer_log_train(trainer *t, float beta);
/* Evaluation of the valid split, when there is one, and its eval line (collective), counted in
 * t->best: *improved = 1 when it is the new best (the same answer on every rank). */
int trainer_eval_and_log(trainer *t, int *improved, int *who);
/* The run's last line, on stderr and in summary.jsonl: why it ended (reason: "epochs",
 * "max_steps", "early_stop" or "signal", sig the signal) and the best figure seen. */
void trainer_log_end(trainer *t, const char *reason, int sig);

/* Rank 0 writes the checkpoint of the current position (with t->best in its attributes; when
 * is_best, checkpoints/best names it); all ranks agree on the outcome. */
int trainer_save_checkpoint(trainer *t, int is_best, int *who);
/* Chooses the starting point on rank 0 (fresh, --resume or --init-from) and gives every rank the
 * same parameters, statistics, moments and position (collective). */
int trainer_starting_point(trainer *t, int *who);

#endif
