/* The training loop of vae-dist: schedule (plan.c), shard reading (window.c), forward/backward
 * (the model interface), one allreduce of gradients and step sums (comm), update (optim), and on
 * rank 0 the lines of log.c, the evaluation of evaluate.c and the checkpoints of resume.c. Every
 * rank executes the same sequence of collectives whatever happens locally: a rank that fails
 * raises a flag carried by the next allreduce, so no rank ever waits on a collective another never
 * joins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rundir.h"
#include "trainer.h"
#include "vae/corpus.h"

#define EVAL_BATCH_MIN 64
/* Documents of this rank's shard read from the corpus at once (up to a whole epoch's shard):
 * a read costs about the decompression of every chunk it touches, so reading an epoch's scattered
 * rows in one call decompresses each chunk once, where per-step reads would do it every step. */
#define WINDOW_DOCS 65536

void vae_train_config_default(vae_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 10;
    c->max_steps = -1;
    c->batch_size = 256;
    c->eval_every = 500;
    c->log_every = 10;
    c->checkpoint_every = 1000;
    c->keep_checkpoints = 3;
    c->latent_samples = 1;
    c->threads = 1;
    c->shuffle = 1;
    c->beta = 1.0;
    /* The default family exists: the registry names it. */
    (void)vae_model_config_init(&c->model, "bow", 0);
    vae_optim_config_default(&c->optim);
}

static int rank0(const trainer *t) { return t->rank == 0; }

static float beta_at(const vae_train_config *c, int64_t step)
{
    if (c->kl_warmup_steps <= 0 || step >= c->kl_warmup_steps)
        return (float)c->beta;
    return (float)(c->beta * (double)step / (double)c->kl_warmup_steps);
}

/* The same answer on every rank: whether the sharded exchange goes through node-shared memory
 * (within nodes; across nodes too when there are several, hierarchically). */
static int wants_shared_memory(const trainer *t)
{
    const char *off = getenv("VAE_NO_SHARED_MEMORY");
    return t->sharded && !(off && strcmp(off, "1") == 0) && vae_comm_nodes_even(t->comm);
}

static const char *gradient_exchange(const trainer *t)
{
    if (!t->sharded)
        return "allreduce";
    if (!wants_shared_memory(t))
        return "reduce-scatter + allgather";
    return vae_comm_nodes(t->comm) == 1 ? "node-shared memory"
                                        : "node-shared memory, reduce-scatter + allgather across nodes";
}

/* Collective, after setup succeeded everywhere: with the sharded optimizer and every node holding
 * the same number of ranks, the model moves onto node-shared parameters and gradients (before any
 * parameter is set). VAE_NO_SHARED_MEMORY=1 keeps the flat MPI exchange (its tests use it). */
static int use_shared_memory(trainer *t, int *who)
{
    if (!wants_shared_memory(t))
        return VAE_OK;
    const size_t n = vae_model_num_params(t->model);
    vae_model *m = NULL;
    int rc = vae_comm_shared_new(t->comm, n, n + X_COUNT, &t->shared);
    if (rc == VAE_OK && !(t->block_terms = vae_calloc_array((size_t)vae_comm_shared_size(t->shared),
                                                            sizeof *t->block_terms)))
        rc = VAE_ERR_NOMEM;
    for (int r = 0; rc == VAE_OK && r < vae_comm_shared_size(t->shared); r++)
        t->block_terms[r] = vae_comm_shared_all_grads(t->shared)[r] + t->shard_lo;
    if (rc == VAE_OK)
        rc = vae_model_new_on(&m, vae_model_config_of(t->model), vae_model_max_batch(t->model),
                              vae_comm_shared_params(t->shared), vae_comm_shared_grads(t->shared));
    if (rc == VAE_OK) {
        vae_model_free(t->model);
        t->model = m;
        vae_free_ptr(&t->own_params);
        vae_free_ptr(&t->own_grads);
    }
    return vae_comm_agree(t->comm, rc, who);
}

/* Opens the corpus and sizes everything once: no allocation inside a step beyond the first
 * window's growth. */
static int setup(trainer *t)
{
    const vae_train_config *c = t->cfg;
    vae_model_config mc = c->model;
    vae_split_info info;
    int rc = vae_corpus_open(&t->corpus, c->corpus);
    if (rc != VAE_OK)
        return rc;
    if ((rc = vae_corpus_split_info(t->corpus, "train", &info)) != VAE_OK)
        return rc;
    if (info.num_docs == 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: the train split has no documents", c->corpus);
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
    mc.vocab_size = vae_corpus_vocab_size(t->corpus);
    t->plan = (train_plan){.num_docs = info.num_docs, .batch_size = c->batch_size, .num_ranks = t->ranks,
                           .seed = c->seed, .shuffle = c->shuffle};
    const int64_t per_epoch = plan_steps_per_epoch(&t->plan);
    t->total_steps = c->epochs * per_epoch;
    if (c->max_steps >= 0 && c->max_steps < t->total_steps)
        t->total_steps = c->max_steps;
    const int64_t max_rank = plan_max_rank_batch(&t->plan);
    const int64_t cap = max_rank > EVAL_BATCH_MIN ? max_rank : EVAL_BATCH_MIN;
    /* The model on the trainer's buffers: the gradients with room for the step's sums after them. */
    vae_layout layout;
    if ((rc = vae_layout_compute(&mc, &layout)) != VAE_OK)
        return rc;
    const size_t n = layout.num_params;
    if (!(t->own_params = vae_calloc_array(n, sizeof(float))) ||
        !(t->own_grads = vae_calloc_array(n + X_COUNT, sizeof(float))))
        return VAE_ERR_NOMEM;
    if ((rc = vae_model_new_on(&t->model, &mc, (int)cap, t->own_params, t->own_grads)) != VAE_OK ||
        (rc = vae_evaluator_new(&t->evaluator, t->model)) != VAE_OK)
        return rc;
    t->sharded = c->shard_optimizer && t->ranks > 1;
    if ((rc = vae_optim_new(&t->optim, &c->optim, n)) != VAE_OK)
        return rc;
    if (t->sharded) {
        if (n > INT32_MAX)
            return vae_fail(VAE_ERR_ARG, "--shard-optimizer: the model has %zu parameters, more than 2^31 - 1", n);
        vae_comm_shard(t->comm, n, t->rank, &t->shard_lo, &t->shard_hi);
    }
    t->window_steps = WINDOW_DOCS / max_rank > 1 ? WINDOW_DOCS / max_rank : 1;
    if (!(t->doc_list = vae_malloc_array((size_t)(t->window_steps * max_rank), sizeof *t->doc_list)) ||
        !(t->win_row = vae_malloc_array((size_t)t->window_steps + 1, sizeof *t->win_row)))
        return VAE_ERR_NOMEM;
    if ((rc = trainer_config_json(t, gradient_exchange(t))) != VAE_OK)
        return rc;
    if (rank0(t)) {
        char path[4200];
        int stale = 0;
        if ((rc = rundir_prepare(c->out_dir)) != VAE_OK ||
            (rc = rundir_remove_stale_temps(c->out_dir, &stale)) != VAE_OK)
            return rc;
        if (stale > 0 && !c->quiet)
            fprintf(stderr, "vae-dist: removed %d stale temporary file%s from %s/checkpoints (left by an "
                    "interrupted run)\n", stale, stale > 1 ? "s" : "", c->out_dir);
        snprintf(path, sizeof path, "%s/config.json", c->out_dir);
        char *text = malloc(strlen(t->config_json) + 2);
        if (!text)
            return vae_fail(VAE_ERR_NOMEM, "out of memory");
        sprintf(text, "%s\n", t->config_json);
        rc = rundir_write_atomic(path, text);
        free(text);
        if (rc != VAE_OK)
            return rc;
        snprintf(path, sizeof path, "%s/summary.jsonl", c->out_dir);
        if (!(t->summary = fopen(path, "a")))
            return vae_fail(VAE_ERR_IO, "%s: cannot open for appending", path);
    }
    return VAE_OK;
}

static void teardown(trainer *t)
{
    if (t->summary)
        fclose(t->summary);
    vae_docs_free(&t->window);
    vae_docs_free(&t->batch);
    free(t->doc_list);
    free(t->win_row);
    free(t->config_json);
    json_free(&t->json);
    vae_optim_free(t->optim);
    vae_evaluator_free(t->evaluator);
    vae_model_free(t->model);
    free(t->own_params);
    free(t->own_grads);
    free(t->block_terms);
    vae_comm_shared_free(t->shared);
    vae_corpus_free(t->corpus);
}

/* The gradient and the step's sums (after it in the buffer) summed over the ranks by one in-place
 * allreduce, then the whole update on every rank. */
static int exchange_update(trainer *t)
{
    float *grads = vae_model_grads(t->model);
    float *x = grads + vae_model_num_params(t->model);
    const double tc = vae_wtime();
    int rc = vae_comm_sum_floats(t->comm, grads, vae_model_num_params(t->model) + X_COUNT);
    const double tu = vae_wtime();
    t->t_comm += tu - tc;
    if (rc != VAE_OK)
        return rc;
    /* Every rank holds the same summed gradient, so every rank finds the same X_BAD. */
    x[X_BAD] = vae_optim_step(t->optim, vae_model_params(t->model), grads) != VAE_OK;
    t->t_compute += vae_wtime() - tu;
    return VAE_OK;
}

/* The gradient summed over the ranks and the parameters updated, for the sharded optimizer: each
 * rank updates its block [shard_lo, shard_hi) from the block's sum, then every rank sees every
 * block. On one node the block is summed straight from the ranks' gradients in shared memory,
 * inside the update's own pass, and no allgather is needed. Across nodes (vae_comm_shared) the
 * block is summed within the node and then among counterparts before the update, and the updated
 * blocks are allgathered among counterparts into each node's shared parameters. Without shared
 * memory, a reduce-scatter and an allgather over all ranks. Clipping needs the global norm before
 * the update, so the step's sums (with the norm) go before it; otherwise they go after it, with the
 * update's finite check, on the collective that ends the step. */
static int sharded_exchange_update(trainer *t, float *x)
{
    const size_t lo = t->shard_lo, hi = t->shard_hi, n = vae_model_num_params(t->model);
    float *grads = vae_model_grads(t->model), *params = vae_model_params(t->model);
    const int clip = t->cfg->optim.clip_norm > 0, nodes = vae_comm_nodes(t->comm);
    const float *mine = grads + lo;
    const float *const *terms = &mine;
    int num_terms = 1;
    double sums[X_COUNT];
    for (int i = 0; i < X_COUNT; i++)
        sums[i] = x[i];
    double tc = vae_wtime();
    int rc;
    if (!t->shared) {
        rc = vae_comm_reduce_scatter_floats(t->comm, grads, n);
    } else if ((rc = vae_comm_shared_sync(t->shared, NULL, 0)) == VAE_OK && nodes > 1) {
        rc = vae_comm_shared_reduce_scatter(t->shared);
    } else if (rc == VAE_OK) {
        num_terms = vae_comm_shared_size(t->shared);
        terms = t->block_terms;
    }
    if (rc == VAE_OK && clip) {
        sums[X_NORM2] = vae_grad_sum_squares(terms, num_terms, hi - lo);
        rc = vae_comm_sum_doubles(t->comm, sums, X_COUNT);
    }
    double tu = vae_wtime();
    t->t_comm += tu - tc;
    if (rc != VAE_OK)
        return rc;
    const int bad = vae_optim_step_sum(t->optim, params, terms, num_terms, lo, hi, sqrt(sums[X_NORM2])) != VAE_OK;
    tc = vae_wtime();
    t->t_compute += tc - tu;
    /* With clipping every rank saw the same finite or non-finite norm: the same answer already. */
    if (!clip)
        sums[X_BAD] = bad;
    if (!t->shared) {
        if ((rc = clip ? VAE_OK : vae_comm_sum_doubles(t->comm, sums, X_COUNT)) == VAE_OK)
            rc = vae_comm_allgather_floats(t->comm, params, n);
    } else if ((rc = nodes > 1 ? vae_comm_shared_allgather(t->shared) : VAE_OK) == VAE_OK) {
        rc = vae_comm_shared_sync(t->shared, sums, clip ? 0 : X_COUNT);
    }
    if (clip)
        sums[X_BAD] = bad;
    for (int i = 0; i < X_COUNT; i++)
        x[i] = (float)sums[i];
    t->t_comm += vae_wtime() - tc;
    return rc;
}

/* One step: forward and backward on this rank's part of the global batch, the gradient and the
 * step's sums summed over the ranks, and the update. *extras gets the summed sums: X_FAILED > 0
 * when a rank failed to read or compute (its status in *local), X_BAD > 0 when the update met a
 * non-finite gradient; the parameters are then not to be kept. Every rank joins every collective
 * whatever happened, so none waits on another. Returns the status of the communication. */
static int train_step(trainer *t, float **extras, int *local)
{
    const vae_train_config *c = t->cfg;
    float *grads = vae_model_grads(t->model);
    float *x = grads + vae_model_num_params(t->model);
    double t0 = vae_wtime();
    int rc = trainer_load_step_batch(t);
    double t1 = vae_wtime();
    int64_t glo, ghi;
    plan_global_batch(&t->plan, t->step_in_epoch, &glo, &ghi);
    vae_step_opts o = {.beta = beta_at(c, t->step), .sample = c->latent_samples, .noise_seed = c->seed,
                       .noise_step = (uint64_t)t->step, .scale = 1.0f / (float)(ghi - glo)};
    const vae_batch batch = {.docs = &t->batch};
    vae_loss_sums s = {0};
    if (rc == VAE_OK && (rc = vae_model_forward(t->model, &batch, &o, &s)) == VAE_OK)
        vae_model_backward(t->model, &batch, &o);
    *local = rc;
    x[X_LOSS] = (float)s.loss;
    x[X_RECON] = (float)s.recon;
    x[X_KL] = (float)s.kl;
    x[X_UNITS] = (float)s.units;
    x[X_TOKENS] = (float)s.tokens;
    x[X_FAILED] = rc != VAE_OK;
    const int sig = c->stop_signal ? *c->stop_signal : 0;
    x[X_SIGTERM] = sig == SIGTERM;
    x[X_SIGUSR1] = sig == SIGUSR1;
    x[X_NORM2] = 0.0f;
    x[X_BAD] = 0.0f;
    t->t_data += t1 - t0;
    t->t_compute += vae_wtime() - t1;
    *extras = x;
    rc = t->sharded ? sharded_exchange_update(t, x) : exchange_update(t);
    t->units_interval += x[X_UNITS];
    t->tokens_interval += x[X_TOKENS];
    return rc;
}

int vae_train_run(const vae_train_config *c, vae_comm *comm, int *stopped_by, int *failed_rank)
{
    trainer tr = {.cfg = c, .comm = comm, .rank = vae_comm_rank(comm), .ranks = vae_comm_size(comm)};
    trainer *t = &tr;
    *stopped_by = 0;
    *failed_rank = 0;
    t->run_start = t->t_interval_start = vae_wtime();
    int rc = vae_comm_agree(comm, setup(t), failed_rank);
    if (rc == VAE_OK)
        rc = use_shared_memory(t, failed_rank);
    if (rc == VAE_OK)
        rc = trainer_starting_point(t, failed_rank);
    const int64_t per_epoch = rc == VAE_OK ? plan_steps_per_epoch(&t->plan) : 1;
    int checkpointed = 0;
    while (rc == VAE_OK && t->step < t->total_steps) {
        float *x;
        const float beta = beta_at(c, t->step);
        int local;
        if ((rc = train_step(t, &x, &local)) != VAE_OK)
            break;
        if (x[X_FAILED] > 0) {
            /* Someone failed: agree on whose message to print. */
            rc = vae_comm_agree(comm, local, failed_rank);
            if (rc == VAE_OK)
                rc = vae_fail(VAE_ERR_COMM, "a rank failed at step %lld", (long long)t->step);
            break;
        }
        if (!isfinite(x[X_LOSS]) || x[X_BAD] > 0) {
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
        checkpointed = 0;
        if (c->log_every > 0 && (t->step % c->log_every == 0 || t->step == t->total_steps))
            trainer_log_train(t, x, beta);
        if (x[X_SIGTERM] > 0 || x[X_SIGUSR1] > 0) {
            *stopped_by = x[X_SIGTERM] > 0 ? SIGTERM : SIGUSR1;
            break;
        }
        if (c->eval_every > 0 && t->step % c->eval_every == 0 && t->step < t->total_steps)
            rc = trainer_eval_and_log(t, failed_rank);
        if (rc == VAE_OK && c->checkpoint_every > 0 && t->step % c->checkpoint_every == 0) {
            rc = trainer_save_checkpoint(t, failed_rank);
            checkpointed = 1;
        }
    }
    if (rc == VAE_OK && !*stopped_by)
        rc = trainer_eval_and_log(t, failed_rank);
    if (rc == VAE_OK && !checkpointed)
        rc = trainer_save_checkpoint(t, failed_rank);
    teardown(t);
    return rc;
}
