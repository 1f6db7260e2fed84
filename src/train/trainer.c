/* The training loop of vae-dist: schedule (plan.c), shard reading (window.c), forward/backward
 * (the model interface), the gradient and step sums summed over the ranks and the update (the
 * exchange, optim), and on rank 0 the lines of log.c, the evaluation of evaluate.c and the
 * checkpoints of resume.c. Every rank executes the same sequence of collectives whatever happens
 * locally: a rank that fails raises a flag carried by the next exchange, so no rank ever waits on a
 * collective another never joins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resources.h"
#include "rundir.h"
#include "trainer.h"
#include "vae/corpus.h"
#include "vae/family.h"

#define EVAL_BATCH_MIN 64
/* Documents of this rank's shard read from the corpus at once (up to a whole epoch's shard):
 * a read costs about the decompression of every chunk it touches, so reading an epoch's scattered
 * rows in one call decompresses each chunk once, where per-step reads would do it every step. */
#define WINDOW_DOCS 65536

void vae_train_config_default(vae_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->max_steps = -1; /* and epochs 0: VAE_DEFAULT_EPOCHS until --max-steps is given */
    c->batch_size = 256;
    c->eval_every = 500;
    c->log_every = 10;
    c->checkpoint_every = 1000;
    c->keep_checkpoints = 3;
    c->latent_samples = 1;
    c->threads = 1;
    c->shuffle = 1;
    c->beta = 1.0;
    vae_exchange_config_default(&c->exchange);
    /* The default family exists: the registry names it. */
    (void)vae_model_config_init(&c->model, "bow", 0);
    vae_optim_config_default(&c->optim);
}

static int rank0(const trainer *t) { return t->rank == 0; }

int64_t trainer_epoch_limit(const vae_train_config *c)
{
    return c->epochs > 0 ? c->epochs : c->max_steps >= 0 ? -1 : VAE_DEFAULT_EPOCHS;
}

/* The KL weight of a step: --beta, reached by a linear warm-up or by cyclical annealing (the run's
 * steps in kl_cycles equal cycles, beta rising from 0 over the first half of each and holding). */
static float beta_at(const trainer *t, int64_t step)
{
    const vae_train_config *c = t->cfg;
    if (c->kl_cycles > 0) {
        const double cycle = (double)t->total_steps / (double)c->kl_cycles;
        const double phase = fmod((double)step, cycle) / cycle;
        return (float)(c->beta * (phase < 0.5 ? 2.0 * phase : 1.0));
    }
    if (c->kl_warmup_steps <= 0 || step >= c->kl_warmup_steps)
        return (float)c->beta;
    return (float)(c->beta * (double)step / (double)c->kl_warmup_steps);
}

/* The model's batch capacity in units (a rank's largest part of a step, or an evaluation batch). */
static int64_t trainer_capacity(const trainer *t)
{
    const int64_t max_rank = plan_max_rank_batch(&t->plan);
    return max_rank > EVAL_BATCH_MIN ? max_rank : EVAL_BATCH_MIN;
}

/* The decoder's output rows a unit may need: one for a document, a token each for a sequence. */
static int64_t trainer_unit_rows(const trainer *t) { return t->lengths ? t->max_length + 1 : 1; }

/* A family of sequences trains on the train split's sequences, which the plan balances by their
 * tokens; its evaluation reads the valid split's, so both need a seq group. */
static int open_sequences(trainer *t, int64_t *units)
{
    const char *path = t->cfg->corpus;
    vae_split_info train = {0}, valid = {0};
    int rc = vae_corpus_split_info(t->corpus, "train", &train);
    if (rc == VAE_OK && (rc = vae_corpus_split_info(t->corpus, "valid", &valid)) == VAE_OK &&
        (!train.has_seqs || (valid.present && !valid.has_seqs)))
        rc = vae_fail(VAE_ERR_FORMAT, "%s: the %s model trains on sequences, and the %s split has none (no seq "
                      "group): prepare the corpus with vae-prep --sequences", path,
                      t->model_cfg.family->name, train.has_seqs ? "valid" : "train");
    if (rc == VAE_OK && train.num_seqs == 0)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: the train split has no sequences: nothing to train on", path);
    if (rc == VAE_OK && !(t->lengths = vae_malloc_array((size_t)train.num_seqs, sizeof *t->lengths)))
        rc = VAE_ERR_NOMEM;
    if (rc == VAE_OK)
        rc = vae_corpus_read_seq_lengths(t->corpus, "train", t->lengths);
    *units = train.num_seqs;
    t->max_length = train.max_length > valid.max_length ? train.max_length : valid.max_length;
    return rc;
}

/* Opens and checks the corpus and plans the run, up to what the exchange needs: the model's size. */
static int open_corpus(trainer *t, size_t *num_params)
{
    const vae_train_config *c = t->cfg;
    vae_split_info info;
    int rc = vae_corpus_open(&t->corpus, c->corpus);
    if (rc != VAE_OK)
        return rc;
    if ((rc = vae_corpus_split_info(t->corpus, "train", &info)) != VAE_OK)
        return rc;
    if (info.num_docs == 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: the train split has no documents", c->corpus);
    if (info.num_tokens == 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: the train split's %lld documents are all empty (no tokens): nothing "
                        "to train on", c->corpus, (long long)info.num_docs);
    /* One full pass over the rows before the first step, so a bad file fails at once with its
     * message instead of at whichever step first reads the bad row. Rank 0 alone: the others
     * wait at the agreement that follows setup. */
    if (rank0(t)) {
        vae_split_info valid;
        if ((rc = vae_corpus_validate_split(t->corpus, "train")) != VAE_OK ||
            (rc = vae_corpus_split_info(t->corpus, "valid", &valid)) != VAE_OK ||
            (valid.present && (rc = vae_corpus_validate_split(t->corpus, "valid")) != VAE_OK))
            return rc;
    }
    t->model_cfg = c->model;
    t->model_cfg.vocab_size = vae_corpus_vocab_size(t->corpus);
    if (c->free_bits > 0 && !t->model_cfg.family->free_bits)
        return vae_fail(VAE_ERR_ARG, "--free-bits: the %s model has no free bits (the sentence model has)",
                        t->model_cfg.family->name);
    int64_t units = info.num_docs;
    if (t->model_cfg.family->unit == VAE_UNIT_SEQS && (rc = open_sequences(t, &units)) != VAE_OK)
        return rc;
    t->plan = (train_plan){.num_docs = units, .batch_size = c->batch_size, .num_ranks = t->ranks,
                           .seed = c->seed, .shuffle = c->shuffle, .lengths = t->lengths};
    const int64_t per_epoch = plan_steps_per_epoch(&t->plan);
    const int64_t epochs = trainer_epoch_limit(c);
    t->total_steps = epochs > 0 && epochs <= INT64_MAX / per_epoch ? epochs * per_epoch : INT64_MAX;
    if (c->max_steps >= 0 && c->max_steps < t->total_steps)
        t->total_steps = c->max_steps;
    vae_split_info valid;
    if ((c->keep_best || c->early_stop > 0) &&
        ((rc = vae_corpus_split_info(t->corpus, "valid", &valid)) != VAE_OK || !valid.present))
        return rc != VAE_OK ? rc : vae_fail(VAE_ERR_ARG, "%s: --keep-best and --early-stop watch the valid split, "
                                                         "which this corpus does not have", c->corpus);
    vae_layout layout;
    rc = vae_layout_compute(&t->model_cfg, &layout);
    *num_params = layout.num_params;
    if (rc == VAE_OK)
        rc = train_check_memory(layout.num_params, t->model_cfg.vocab_size, trainer_capacity(t) * trainer_unit_rows(t));
    return rc;
}

/* On the exchange's buffers, the model, and everything else sized once: no allocation inside a
 * step beyond the first window's growth. */
static int setup(trainer *t)
{
    const vae_train_config *c = t->cfg;
    const int64_t max_rank = plan_max_rank_batch(&t->plan);
    const int64_t cap = trainer_capacity(t);
    int rc = vae_model_new_on(&t->model, &t->model_cfg, (int)cap, vae_exchange_params(t->exchange),
                              vae_exchange_grads(t->exchange));
    if (rc == VAE_OK && t->lengths)
        rc = vae_model_reserve_tokens(t->model, cap * t->max_length);
    if (rc == VAE_OK)
        rc = vae_model_set_precision(t->model, (vae_precision)c->precision);
    if (rc != VAE_OK || (rc = vae_evaluator_new(&t->evaluator, t->model)) != VAE_OK ||
        (rc = vae_optim_new(&t->optim, &c->optim, vae_model_num_params(t->model))) != VAE_OK)
        return rc;
    t->window_steps = WINDOW_DOCS / max_rank > 1 ? WINDOW_DOCS / max_rank : 1;
    if (!(t->doc_list = vae_malloc_array((size_t)(t->window_steps * max_rank), sizeof *t->doc_list)) ||
        !(t->win_row = vae_malloc_array((size_t)t->window_steps + 1, sizeof *t->win_row)))
        return VAE_ERR_NOMEM;
    return trainer_config_json(t);
}

int trainer_lock_run_folder(trainer *t)
{
    const vae_train_config *c = t->cfg;
    int rc, stale = 0;
    /* The lock first: only its holder may take what lies in the folder for stale. */
    if ((rc = rundir_prepare(c->out_dir)) != VAE_OK || (rc = rundir_lock(c->out_dir, &t->lock_fd)) != VAE_OK ||
        (rc = rundir_remove_stale_temps(c->out_dir, &stale)) != VAE_OK)
        return rc;
    if (stale > 0 && !c->quiet)
        fprintf(stderr, "vae-dist: removed %d stale temporary file%s from %s/checkpoints (left by an "
                "interrupted run)\n", stale, stale > 1 ? "s" : "", c->out_dir);
    return VAE_OK;
}

static void teardown(trainer *t)
{
    if (t->summary)
        fclose(t->summary);
    rundir_unlock(t->lock_fd);
    vae_docs_free(&t->window);
    vae_docs_free(&t->batch);
    vae_seqs_free(&t->seq_window);
    vae_seqs_free(&t->seq_batch);
    free(t->lengths);
    free(t->doc_list);
    free(t->win_row);
    free(t->config_json);
    json_free(&t->json);
    vae_optim_free(t->optim);
    vae_evaluator_free(t->evaluator);
    vae_model_free(t->model);
    vae_exchange_free(t->exchange);
    vae_corpus_free(t->corpus);
}

/* The model's sums over the global batch (vae_step_opts.reduce). */
static int sum_over_ranks(double *buf, size_t n, void *comm) { return vae_comm_sum_doubles(comm, buf, n); }

/* One step: forward and backward on this rank's part of the global batch, then the exchange's
 * step (the gradient and t->sums summed over the ranks, and the update). Afterwards t->sums[X_FAILED]
 * > 0 when a rank failed to read or compute (its status in *local). Every rank joins every
 * collective whatever happened, so none waits on another. Returns the exchange's status:
 * VAE_ERR_NUMERIC on every rank when the summed gradient is not finite (the parameters are then
 * not to be kept), else that of the communication. */
static int train_step(trainer *t, int *local)
{
    const vae_train_config *c = t->cfg;
    double *x = t->sums;
    double t0 = vae_wtime();
    int rc = trainer_load_step_batch(t);
    double t1 = vae_wtime();
    int64_t glo, ghi;
    plan_global_batch(&t->plan, t->step_in_epoch, &glo, &ghi);
    vae_step_opts o = {.beta = beta_at(t, t->step), .sample = c->latent_samples, .noise_seed = c->seed,
                       .noise_step = (uint64_t)t->step, .scale = 1.0f / (float)(ghi - glo),
                       .reduce = sum_over_ranks, .reduce_ctx = t->comm, .free_bits = (float)c->free_bits};
    const vae_batch batch = {.docs = &t->batch, .seqs = &t->seq_batch};
    vae_loss_sums s = {0};
    /* Forward and backward run whatever happened, so that a family's sums over the ranks are
     * joined by every rank (a failed read computes no documents). */
    const int step_rc = vae_model_forward(t->model, rc == VAE_OK ? &batch : NULL, &o, &s);
    vae_model_backward(t->model, rc == VAE_OK ? &batch : NULL, &o);
    if (rc == VAE_OK)
        rc = step_rc;
    *local = rc;
    x[X_LOSS] = s.loss;
    x[X_RECON] = s.recon;
    x[X_KL] = s.kl;
    x[X_UNITS] = s.units;
    x[X_TOKENS] = s.tokens;
    x[X_FAILED] = rc != VAE_OK;
    const int sig = c->stop_signal ? *c->stop_signal : 0;
    x[X_SIGTERM] = sig == SIGTERM;
    x[X_SIGUSR1] = sig == SIGUSR1;
    x[X_RUN_FILE] = t->run_file_error[0] != '\0';
    t->t_data += t1 - t0;
    t->t_compute += vae_wtime() - t1;
    rc = vae_exchange_step(t->exchange, t->optim, x, &t->exchange_times);
    t->units_interval += x[X_UNITS];
    t->tokens_interval += x[X_TOKENS];
    return rc;
}

/* Whether a stop signal is read after each step: from before the first to the last checkpoint. */
static void heed_stop_signals(const vae_train_config *c, int on)
{
    if (c->stop_heeded)
        *c->stop_heeded = on;
}

/* Rank 0 could not write a line of summary.jsonl (t->run_file_error): every rank knows it from the
 * step's sums. A checkpoint of the position, then the failure, said by rank 0. */
static int stop_on_run_file(trainer *t, int *who)
{
    const int rc = trainer_save_checkpoint(t, 0, who);
    char why[4200];
    snprintf(why, sizeof why, "%s", rc == VAE_OK ? t->last_checkpoint : vae_error_message());
    *who = 0;
    return vae_fail(VAE_ERR_IO, "%s; stopped at step %lld %s %s", t->run_file_error, (long long)t->step,
                    rc == VAE_OK ? "after a checkpoint:" : "and the checkpoint failed too:", why);
}

int vae_train_run(const vae_train_config *c, vae_comm *comm, int *stopped_by, int *failed_rank)
{
    trainer tr = {.cfg = c, .comm = comm, .rank = vae_comm_rank(comm), .ranks = vae_comm_size(comm),
                  .lock_fd = -1};
    trainer *t = &tr;
    *stopped_by = 0;
    *failed_rank = 0;
    t->run_start = t->t_interval_start = vae_wtime();
    train_best_init(&t->best);
    size_t num_params = 0;
    int rc = vae_comm_agree(comm, open_corpus(t, &num_params), failed_rank);
    if (rc == VAE_OK)
        rc = vae_comm_agree(comm, vae_exchange_new(&t->exchange, comm, &c->exchange, num_params, X_COUNT),
                            failed_rank);
    if (rc == VAE_OK)
        rc = vae_comm_agree(comm, setup(t), failed_rank);
    if (rc == VAE_OK)
        rc = trainer_starting_point(t, failed_rank);
    const int64_t per_epoch = rc == VAE_OK ? plan_steps_per_epoch(&t->plan) : 1;
    heed_stop_signals(c, rc == VAE_OK);
    /* Set when the run ends before its limits: "early_stop" (already, when a resumed run had
     * stopped early), "signal". */
    const char *reason = c->early_stop > 0 && t->best.stale >= c->early_stop ? "early_stop" : NULL;
    int improved = 0;
    while (rc == VAE_OK && !reason && t->step < t->total_steps) {
        const double *x = t->sums;
        const float beta = beta_at(t, t->step);
        int local;
        const int non_finite_gradient = (rc = train_step(t, &local)) == VAE_ERR_NUMERIC;
        if (non_finite_gradient)
            rc = VAE_OK;
        if (rc != VAE_OK)
            break;
        if (x[X_FAILED] > 0) {
            /* Someone failed: agree on whose message to print. */
            rc = vae_comm_agree(comm, local, failed_rank);
            if (rc == VAE_OK)
                rc = vae_fail(VAE_ERR_COMM, "a rank failed at step %lld", (long long)t->step);
            break;
        }
        if (!isfinite(x[X_LOSS]) || non_finite_gradient) {
            rc = vae_fail(VAE_ERR_NUMERIC, "non-finite %s at step %lld (epoch %lld): stopping; the last good "
                          "checkpoint is %s", isfinite(x[X_LOSS]) ? "gradient" : "loss", (long long)t->step + 1,
                          (long long)t->epoch, t->last_checkpoint[0] ? t->last_checkpoint : "none (none was written)");
            *failed_rank = 0;
            break;
        }
        t->step++;
        if (++t->step_in_epoch == per_epoch) {
            t->epoch++;
            t->step_in_epoch = 0;
        }
        if (c->log_every > 0 && (t->step % c->log_every == 0 || t->step == t->total_steps))
            trainer_log_train(t, beta);
        if (x[X_RUN_FILE] > 0) {
            rc = stop_on_run_file(t, failed_rank);
            break;
        }
        if (x[X_SIGTERM] > 0 || x[X_SIGUSR1] > 0) {
            *stopped_by = x[X_SIGTERM] > 0 ? SIGTERM : SIGUSR1;
            reason = "signal";
            break;
        }
        /* The last step's evaluation and checkpoint come after the loop. */
        if (t->step == t->total_steps)
            break;
        improved = 0;
        if (c->eval_every > 0 && t->step % c->eval_every == 0) {
            rc = trainer_eval_and_log(t, &improved, failed_rank);
            if (c->early_stop > 0 && t->best.stale >= c->early_stop)
                reason = "early_stop";
        }
        if (rc == VAE_OK && !reason && ((c->checkpoint_every > 0 && t->step % c->checkpoint_every == 0) ||
                                        (improved && c->keep_best)))
            rc = trainer_save_checkpoint(t, improved && c->keep_best, failed_rank);
    }
    improved = 0;
    if (rc == VAE_OK && !reason) {
        reason = c->max_steps >= 0 && t->step >= c->max_steps ? "max_steps" : "epochs";
        rc = trainer_eval_and_log(t, &improved, failed_rank);
    }
    if (rc == VAE_OK)
        rc = trainer_save_checkpoint(t, improved && c->keep_best, failed_rank);
    if (rc == VAE_OK)
        trainer_log_end(t, reason, *stopped_by);
    /* The last lines too: a run whose log lost a line does not end as a success. */
    if (rc == VAE_OK && (rc = vae_comm_agree(comm, t->run_file_error[0] ? vae_fail(VAE_ERR_IO, "%s (the checkpoint "
                         "at step %lld was written)", t->run_file_error, (long long)t->step) : VAE_OK,
                         failed_rank)) != VAE_OK)
        *stopped_by = 0;
    heed_stop_signals(c, 0);
    teardown(t);
    return rc;
}
