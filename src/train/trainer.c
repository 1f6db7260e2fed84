/* The training loop of vae-dist: schedule (plan.c), shard reading (corpus), forward/backward
 * (model), one allreduce of gradients and step sums (comm), update (optim), logging, evaluation and
 * checkpoints on rank 0 (rundir, checkpoint). Every rank executes the same sequence of collectives
 * whatever happens locally: a rank that fails raises a flag carried by the next allreduce, so no
 * rank ever waits on a collective another never joins. */
#include "vae/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "best.h"
#include "json.h"
#include "plan.h"
#include "rundir.h"
#include "blas.h"
#include "threads.h"
#include "vae/checkpoint.h"
#include "vae/corpus.h"

/* Per-step sums that travel after the gradients in the same allreduce (sharded: in a small one of
 * their own, with the gradient's squared norm at X_NORM2 when clipping). X_BAD counts the ranks
 * whose update met a non-finite gradient, set after the update. */
enum { X_LOSS, X_RECON, X_KL, X_DOCS, X_TOKENS, X_FAILED, X_SIGTERM, X_SIGUSR1, X_NORM2, X_BAD, X_COUNT };

/* Documents of this rank's shard read from the corpus at once (up to a whole epoch's shard):
 * a read costs about the decompression of every chunk it touches, so reading an epoch's scattered
 * rows in one call decompresses each chunk once, where per-step reads would do it every step. */
#define WINDOW_DOCS 65536
#define EVAL_BATCH_MIN 64

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
    vae_model_config_default(&c->model, 0);
    vae_optim_config_default(&c->optim);
}

typedef struct {
    const vae_train_config *cfg;
    vae_comm *comm;
    int rank, ranks;
    vae_corpus *corpus;
    vae_model *model;
    vae_optim *optim;
    train_plan plan;
    int64_t total_steps;
    train_best best; /* the watched validation figure (best.h) */
    /* Training position: `step` updates done; the next is step_in_epoch of epoch. */
    int64_t step, epoch, step_in_epoch;
    /* The window of this rank's shard: steps [win_first, win_first + win_steps) of win_epoch. */
    vae_docs window, batch, eval_docs;
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
    double docs_interval, tokens_interval;
    double run_start;
} trainer;

static int rank0(const trainer *t) { return t->rank == 0; }

/* The epochs the run may take: --epochs, or VAE_DEFAULT_EPOCHS when no limit is set; -1: none. */
static int64_t epoch_limit(const vae_train_config *c)
{
    return c->epochs > 0 ? c->epochs : c->max_steps >= 0 ? -1 : VAE_DEFAULT_EPOCHS;
}

static float beta_at(const vae_train_config *c, int64_t step)
{
    if (c->kl_warmup_steps <= 0 || step >= c->kl_warmup_steps)
        return (float)c->beta;
    return (float)(c->beta * (double)step / (double)c->kl_warmup_steps);
}

static void hidden_list(char *buf, size_t size, const int *h, int n)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%d", i ? "," : "", h[i]);
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

static int build_config_json(trainer *t)
{
    const vae_train_config *c = t->cfg;
    const vae_model_config *mc = vae_model_config_of(t->model);
    char enc[128], dec[128], arr[300];
    hidden_list(enc, sizeof enc, mc->enc_hidden, mc->num_enc);
    hidden_list(dec, sizeof dec, mc->dec_hidden, mc->num_dec);
    json_buf *j = &t->json;
    json_begin(j);
    json_str(j, "corpus", c->corpus);
    json_str(j, "out", c->out_dir);
    json_int(j, "epochs", epoch_limit(c));
    json_int(j, "max_steps", c->max_steps);
    json_int(j, "batch_size", c->batch_size);
    json_float(j, "lr", c->optim.lr);
    json_int(j, "vocab_size", mc->vocab_size);
    json_int(j, "latent", mc->latent);
    snprintf(arr, sizeof arr, "[%s]", enc);
    json_raw(j, "encoder_hidden", arr);
    snprintf(arr, sizeof arr, "[%s]", dec);
    json_raw(j, "decoder_hidden", arr);
    json_str(j, "activation", vae_activation_names[mc->activation]);
    json_str(j, "input_transform", vae_input_transform_names[mc->input]);
    json_num(j, "beta", c->beta);
    json_int(j, "kl_warmup_steps", c->kl_warmup_steps);
    json_str(j, "optimizer", vae_optim_names[c->optim.kind]);
    json_float(j, "adam_beta1", c->optim.beta1);
    json_float(j, "adam_beta2", c->optim.beta2);
    json_float(j, "adam_eps", c->optim.eps);
    json_float(j, "clip_norm", c->optim.clip_norm);
    json_int(j, "latent_samples", c->latent_samples);
    json_int(j, "seed", (int64_t)c->seed);
    json_int(j, "threads", c->threads);
    json_int(j, "eval_every", c->eval_every);
    json_int(j, "log_every", c->log_every);
    json_int(j, "checkpoint_every", c->checkpoint_every);
    json_int(j, "keep_checkpoints", c->keep_checkpoints);
    json_int(j, "keep_best", c->keep_best);
    json_int(j, "early_stop", c->early_stop);
    json_int(j, "shuffle", c->shuffle);
    json_int(j, "shard_optimizer", c->shard_optimizer);
    json_str(j, "gradient_exchange", gradient_exchange(t));
    json_int(j, "ranks", t->ranks);
    json_str(j, "version", vae_version());
    json_str(j, "mpi", vae_comm_library_version());
    json_str(j, "hdf5", vae_corpus_hdf5_version());
    json_str(j, "blas", vae_blas_version());
    json_str(j, "blas_core", vae_blas_core());
    json_end(j);
    if (j->failed)
        return vae_fail(VAE_ERR_NOMEM, "out of memory writing the configuration");
    t->config_json = strdup(j->buf);
    return t->config_json ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory");
}

/* Copies rows [a, b) of src into dst with dst's own indptr starting at 0. */
static int copy_rows(vae_docs *dst, const vae_docs *src, int64_t a, int64_t b)
{
    const int64_t base = src->indptr[a], nnz = src->indptr[b] - base;
    int rc = vae_docs_reserve(dst, b - a, nnz);
    if (rc != VAE_OK)
        return rc;
    for (int64_t r = a; r <= b; r++)
        dst->indptr[r - a] = src->indptr[r] - base;
    memcpy(dst->indices, src->indices + base, sizeof(int32_t) * (size_t)nnz);
    memcpy(dst->counts, src->counts + base, sizeof(int32_t) * (size_t)nnz);
    memcpy(dst->doc_index, src->doc_index + a, sizeof(int64_t) * (size_t)(b - a));
    dst->num_docs = b - a;
    dst->nnz = nnz;
    return VAE_OK;
}

/* Reads this rank's documents for the steps from step_in_epoch on (up to window_steps, never past
 * the epoch) in one call, so that neighbouring rows coalesce into few HDF5 reads. */
static int read_window(trainer *t)
{
    const int64_t per_epoch = plan_steps_per_epoch(&t->plan);
    const int64_t first = t->step_in_epoch;
    const int64_t steps = per_epoch - first < t->window_steps ? per_epoch - first : t->window_steps;
    int64_t n = 0;
    for (int64_t s = 0; s < steps; s++) {
        int64_t lo, hi;
        plan_rank_batch(&t->plan, first + s, t->rank, &lo, &hi);
        t->win_row[s] = n;
        for (int64_t pos = lo; pos < hi; pos++)
            t->doc_list[n++] = plan_doc(&t->plan, t->epoch, pos);
    }
    t->win_row[steps] = n;
    t->win_epoch = t->epoch;
    t->win_first = first;
    t->win_steps = steps;
    return vae_corpus_read_docs(t->corpus, "train", t->doc_list, n, &t->window);
}

static int load_step_batch(trainer *t)
{
    const int in_window = t->win_steps > 0 && t->win_epoch == t->epoch && t->step_in_epoch >= t->win_first &&
                          t->step_in_epoch < t->win_first + t->win_steps;
    if (!in_window) {
        int rc = read_window(t);
        if (rc != VAE_OK) {
            t->win_steps = 0;
            return rc;
        }
    }
    const int64_t s = t->step_in_epoch - t->win_first;
    return copy_rows(&t->batch, &t->window, t->win_row[s], t->win_row[s + 1]);
}

/* Evaluation of a split sharded across ranks: each rank its contiguous range, in batches; sums
 * combined once. A local failure is agreed on after the single collective. */
static int evaluate(trainer *t, const char *split, vae_figures *f, int *who)
{
    vae_split_info info;
    int rc = vae_corpus_split_info(t->corpus, split, &info);
    const int L = vae_model_config_of(t->model)->latent;
    const size_t len = vae_eval_sums_len(L);
    double *sums = vae_calloc_array(len, sizeof *sums);
    if (rc == VAE_OK && !sums)
        rc = VAE_ERR_NOMEM;
    const int64_t D = rc == VAE_OK ? info.num_docs : 0;
    const int64_t lo = D * t->rank / t->ranks, hi = D * (t->rank + 1) / t->ranks;
    const int64_t cap = vae_model_max_batch(t->model);
    for (int64_t a = lo; rc == VAE_OK && a < hi; a += cap) {
        const int64_t n = hi - a < cap ? hi - a : cap;
        for (int64_t i = 0; i < n; i++)
            t->doc_list[i] = a + i;
        rc = vae_corpus_read_docs(t->corpus, split, t->doc_list, n, &t->eval_docs);
        if (rc == VAE_OK)
            rc = vae_model_eval(t->model, &t->eval_docs, 1, VAE_EVAL_SEED, sums);
    }
    if (sums) {
        int crc = vae_comm_sum_doubles(t->comm, sums, len);
        rc = rc != VAE_OK ? rc : crc;
    }
    rc = vae_comm_agree(t->comm, rc, who);
    if (rc == VAE_OK)
        vae_figures_from_sums(sums, L, f);
    free(sums);
    return rc;
}

static void summary_line(trainer *t, json_buf *j)
{
    json_end(j);
    if (t->summary && !j->failed) {
        fprintf(t->summary, "%s\n", j->buf);
        fflush(t->summary);
    }
}

static void log_eval(trainer *t, const char *split, const vae_figures *f)
{
    if (!rank0(t))
        return;
    json_buf *j = &t->json;
    json_begin(j);
    json_str(j, "kind", "eval");
    json_int(j, "step", t->step);
    json_int(j, "epoch", t->epoch);
    json_str(j, "split", split);
    json_num(j, "ppl_doc", f->ppl_doc);
    json_num(j, "ppl_corpus", f->ppl_corpus);
    json_num(j, "recon", f->recon);
    json_num(j, "kl", f->kl);
    json_num(j, "elbo", f->elbo);
    json_num(j, "recon_mean", f->recon_mean);
    json_int(j, "active_units", f->active_units);
    json_int(j, "empty_docs", (int64_t)f->empty_docs);
    json_int(j, "docs", (int64_t)f->docs);
    json_num(j, "wall_s", vae_wtime() - t->run_start);
    summary_line(t, j);
    if (!t->cfg->quiet)
        fprintf(stderr, "vae-dist: step %lld eval %s: ppl_doc %.2f ppl_corpus %.2f kl %.3f active units %d\n",
                (long long)t->step, split, f->ppl_doc, f->ppl_corpus, f->kl, f->active_units);
}

/* Evaluates on the valid split, when there is one, and counts it in t->best; *improved = 1 when
 * it is the new best (the same answer on every rank: every rank holds the figures). */
static int eval_and_log(trainer *t, int *improved, int *who)
{
    vae_split_info info;
    *improved = 0;
    if (vae_corpus_split_info(t->corpus, "valid", &info) != VAE_OK || !info.present)
        return VAE_OK;
    vae_figures f;
    int rc = evaluate(t, "valid", &f, who);
    if (rc == VAE_OK) {
        log_eval(t, "valid", &f);
        *improved = train_best_update(&t->best, t->step, &f);
    }
    return rc;
}

static void log_train(trainer *t, const float *x, float beta)
{
    const double now = vae_wtime(), wall = now - t->t_interval_start;
    if (rank0(t)) {
        const double docs = x[X_DOCS] > 0 ? x[X_DOCS] : 1;
        json_buf *j = &t->json;
        json_begin(j);
        json_str(j, "kind", "train");
        json_int(j, "step", t->step);
        json_int(j, "epoch", t->epoch);
        json_num(j, "loss", x[X_LOSS] / docs);
        json_num(j, "recon", x[X_RECON] / docs);
        json_num(j, "kl", x[X_KL] / docs);
        json_num(j, "beta", beta);
        json_num(j, "docs_per_s", t->docs_interval / wall);
        json_num(j, "tokens_per_s", t->tokens_interval / wall);
        json_num(j, "wall_s", now - t->run_start);
        json_num(j, "compute_s", t->t_compute);
        json_num(j, "allreduce_s", t->t_comm);
        json_num(j, "data_s", t->t_data);
        summary_line(t, j);
        if (!t->cfg->quiet) {
            const double rate = (double)(t->step) / (now - t->run_start + 1e-9);
            const double left = rate > 0 ? (double)(t->total_steps - t->step) / rate : 0;
            fprintf(stderr, "vae-dist: step %lld/%lld epoch %lld loss %.3f docs/s %.0f eta %.0fs\n",
                    (long long)t->step, (long long)t->total_steps, (long long)t->epoch,
                    x[X_LOSS] / docs, t->docs_interval / wall, left);
        }
    }
    t->t_data = t->t_compute = t->t_comm = 0;
    t->docs_interval = t->tokens_interval = 0;
    t->t_interval_start = now;
}

/* The corpus's tokenizer settings travel into checkpoints so vae-infer tokenizes new text alike. */
static const char *const tokenizer_attrs[] = {"tokenizer", "tokenizer_min_len", "tokenizer_max_len",
                                              "tokenizer_keep_digits", NULL};

/* Rank 0 writes the checkpoint of the current position (and, when is_best, points
 * checkpoints/best at it); all ranks agree on the outcome. */
static int save_checkpoint(trainer *t, int is_best, int *who)
{
    int rc = VAE_OK;
    /* Each rank's moments are current on its own block only: gather them (all ranks take part). */
    const size_t n = vae_model_num_params(t->model);
    if (t->sharded && ((rc = vae_comm_allgather_floats(t->comm, t->optim->m, n)) != VAE_OK ||
                       (rc = vae_comm_allgather_floats(t->comm, t->optim->v, n)) != VAE_OK))
        return vae_comm_agree(t->comm, rc, who);
    if (rank0(t)) {
        char path[4096], values[4][64], best[TRAIN_BEST_ATTRS][32];
        const char *attrs[2 * 4 + 2 * TRAIN_BEST_ATTRS + 1];
        int na = 0;
        for (int i = 0; tokenizer_attrs[i]; i++) {
            int64_t iv;
            if (vae_corpus_get_attr_str(t->corpus, tokenizer_attrs[i], values[i], sizeof values[i]) != VAE_OK) {
                if (vae_corpus_get_attr_int(t->corpus, tokenizer_attrs[i], &iv) != VAE_OK)
                    continue;
                snprintf(values[i], sizeof values[i], "%lld", (long long)iv);
            }
            attrs[na++] = tokenizer_attrs[i];
            attrs[na++] = values[i];
        }
        na = train_best_attrs(&t->best, best, attrs, na);
        attrs[na] = NULL;
        const char *const *words = NULL;
        const int64_t *df, *tf;
        rc = vae_corpus_vocab(t->corpus, &words, &df, &tf);
        rundir_checkpoint_path(t->cfg->out_dir, t->step, path, sizeof path);
        vae_checkpoint_data data = {.model = vae_model_config_of(t->model), .layout = vae_model_layout(t->model),
                                    .params = vae_model_params(t->model), .m = t->optim->m, .v = t->optim->v,
                                    .words = words, .attrs = attrs};
        vae_checkpoint_state state = {.step = t->step, .epoch = t->epoch, .step_in_epoch = t->step_in_epoch,
                                      .optim_t = t->optim->t, .seed = t->cfg->seed, .config_json = t->config_json};
        if (rc == VAE_OK)
            rc = vae_checkpoint_write(path, &data, &state);
        if (rc == VAE_OK && is_best)
            rc = rundir_point(t->cfg->out_dir, "best", path);
        if (rc == VAE_OK)
            rc = rundir_commit_checkpoint(t->cfg->out_dir, path, t->cfg->keep_checkpoints);
        if (rc == VAE_OK)
            snprintf(t->last_checkpoint, sizeof t->last_checkpoint, "%s", path);
    }
    return vae_comm_agree(t->comm, rc, who);
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
        rc = vae_model_new_on(&m, vae_model_config_of(t->model), vae_model_max_batch(t->model), X_COUNT,
                              vae_comm_shared_params(t->shared), vae_comm_shared_grads(t->shared));
    if (rc == VAE_OK) {
        vae_model_free(t->model);
        t->model = m;
    }
    return vae_comm_agree(t->comm, rc, who);
}

static int same_architecture(const vae_model_config *a, const vae_model_config *b)
{
    int same = a->vocab_size == b->vocab_size && a->latent == b->latent && a->num_enc == b->num_enc &&
               a->num_dec == b->num_dec && a->activation == b->activation && a->input == b->input;
    for (int i = 0; same && i < a->num_enc; i++)
        same = a->enc_hidden[i] == b->enc_hidden[i];
    for (int i = 0; same && i < a->num_dec; i++)
        same = a->dec_hidden[i] == b->dec_hidden[i];
    return same;
}

/* Rank 0 loads a checkpoint's parameters (and, to resume, its optimizer and position) after
 * checking that it fits this run: same architecture, same vocabulary as the corpus. */
static int load_checkpoint(trainer *t, const char *path, int resume)
{
    vae_checkpoint *ck = NULL;
    const char *const *ck_words = NULL, *const *words = NULL;
    const int64_t *df, *tf;
    int64_t V = 0;
    int rc = vae_checkpoint_open(&ck, path);
    if (rc != VAE_OK)
        goto cleanup;
    if (!same_architecture(vae_checkpoint_model(ck), vae_model_config_of(t->model))) {
        rc = vae_fail(VAE_ERR_ARG, "%s: the checkpoint's model (latent, layers, activation, input transform or "
                                   "vocabulary size) differs from this run's flags", path);
        goto cleanup;
    }
    if ((rc = vae_checkpoint_vocab(ck, &ck_words, &V)) != VAE_OK ||
        (rc = vae_corpus_vocab(t->corpus, &words, &df, &tf)) != VAE_OK)
        goto cleanup;
    for (int64_t w = 0; w < V; w++)
        if (strcmp(words[w], ck_words[w]) != 0) {
            rc = vae_fail(VAE_ERR_ARG, "%s: vocabulary differs from corpus %s at word %lld ('%s' vs '%s')", path,
                          t->cfg->corpus, (long long)w, ck_words[w], words[w]);
            goto cleanup;
        }
    if ((rc = vae_checkpoint_read_params(ck, vae_model_layout(t->model), vae_model_params(t->model))) != VAE_OK)
        goto cleanup;
    if (resume) {
        const vae_checkpoint_state *s = vae_checkpoint_state_of(ck);
        if (!vae_checkpoint_has_optimizer(ck)) {
            rc = vae_fail(VAE_ERR_FORMAT, "%s: holds no optimizer state, so it cannot be resumed (use --init-from)", path);
            goto cleanup;
        }
        if ((rc = vae_checkpoint_read_optimizer(ck, vae_model_layout(t->model), t->optim->m, t->optim->v)) != VAE_OK)
            goto cleanup;
        if (s->seed != t->cfg->seed) {
            rc = vae_fail(VAE_ERR_ARG, "%s: was trained with --seed %llu, not %llu", path,
                          (unsigned long long)s->seed, (unsigned long long)t->cfg->seed);
            goto cleanup;
        }
        if ((rc = train_best_restore(&t->best, ck, path)) != VAE_OK)
            goto cleanup;
        t->step = s->step;
        t->epoch = s->epoch;
        t->step_in_epoch = s->step_in_epoch;
        t->optim->t = s->optim_t;
    }
cleanup:
    vae_checkpoint_free(ck);
    return rc;
}

/* Chooses the starting point on rank 0 (fresh, --resume or --init-from) and gives every rank the
 * same parameters, moments and position. */
static int starting_point(trainer *t, int *who)
{
    const vae_train_config *c = t->cfg;
    int rc = VAE_OK;
    if (rank0(t)) {
        char path[4096];
        int found = 0;
        if (c->resume && strcmp(c->resume, "auto") == 0)
            rc = rundir_find_resume(c->out_dir, path, sizeof path, &found);
        else if (c->resume) {
            snprintf(path, sizeof path, "%s", c->resume);
            found = 1;
        } else if (rundir_has_checkpoints(c->out_dir))
            rc = vae_fail(VAE_ERR_ARG, "%s already holds checkpoints: pass --resume auto to continue that run, "
                                       "or choose another --out", c->out_dir);
        vae_model_init_params(t->model, c->seed);
        if (rc == VAE_OK && found) {
            rc = load_checkpoint(t, path, 1);
            if (rc == VAE_OK && !c->quiet)
                fprintf(stderr, "vae-dist: resuming from %s at step %lld\n", path, (long long)t->step);
        } else if (rc == VAE_OK && c->init_from)
            rc = load_checkpoint(t, c->init_from, 0);
    }
    if ((rc = vae_comm_agree(t->comm, rc, who)) != VAE_OK)
        return rc;
    int64_t pos[4] = {t->step, t->epoch, t->step_in_epoch, t->optim->t};
    const size_t n = vae_model_num_params(t->model);
    if ((rc = vae_comm_broadcast(t->comm, pos, sizeof pos, 0)) != VAE_OK ||
        (rc = vae_comm_broadcast(t->comm, &t->best, sizeof t->best, 0)) != VAE_OK ||
        (rc = t->shared ? vae_comm_shared_spread_params(t->shared, n)
                        : vae_comm_broadcast(t->comm, vae_model_params(t->model), n * sizeof(float), 0)) != VAE_OK ||
        (rc = vae_comm_broadcast(t->comm, t->optim->m, n * sizeof(float), 0)) != VAE_OK ||
        (rc = vae_comm_broadcast(t->comm, t->optim->v, n * sizeof(float), 0)) != VAE_OK)
        return rc;
    t->step = pos[0], t->epoch = pos[1], t->step_in_epoch = pos[2], t->optim->t = pos[3];
    return VAE_OK;
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
    const int64_t epochs = epoch_limit(c);
    t->total_steps = epochs > 0 && epochs <= INT64_MAX / per_epoch ? epochs * per_epoch : INT64_MAX;
    if (c->max_steps >= 0 && c->max_steps < t->total_steps)
        t->total_steps = c->max_steps;
    vae_split_info valid;
    if ((c->keep_best || c->early_stop > 0) &&
        ((rc = vae_corpus_split_info(t->corpus, "valid", &valid)) != VAE_OK || !valid.present))
        return rc != VAE_OK ? rc : vae_fail(VAE_ERR_ARG, "%s: --keep-best and --early-stop watch the valid split, "
                                                         "which this corpus does not have", c->corpus);
    const int64_t max_rank = plan_max_rank_batch(&t->plan);
    const int64_t cap = max_rank > EVAL_BATCH_MIN ? max_rank : EVAL_BATCH_MIN;
    if ((rc = vae_model_new(&t->model, &mc, (int)cap, X_COUNT)) != VAE_OK)
        return rc;
    t->sharded = c->shard_optimizer && t->ranks > 1;
    if ((rc = vae_optim_new(&t->optim, &c->optim, vae_model_num_params(t->model))) != VAE_OK)
        return rc;
    if (t->sharded) {
        const size_t n = vae_model_num_params(t->model);
        if (n > INT32_MAX)
            return vae_fail(VAE_ERR_ARG, "--shard-optimizer: the model has %zu parameters, more than 2^31 - 1", n);
        vae_comm_shard(t->comm, n, t->rank, &t->shard_lo, &t->shard_hi);
    }
    t->window_steps = WINDOW_DOCS / max_rank > 1 ? WINDOW_DOCS / max_rank : 1;
    const int64_t list = t->window_steps * max_rank > cap ? t->window_steps * max_rank : cap;
    if (!(t->doc_list = vae_malloc_array((size_t)list, sizeof *t->doc_list)) ||
        !(t->win_row = vae_malloc_array((size_t)t->window_steps + 1, sizeof *t->win_row)))
        return VAE_ERR_NOMEM;
    if ((rc = build_config_json(t)) != VAE_OK)
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
    vae_docs_free(&t->eval_docs);
    free(t->doc_list);
    free(t->win_row);
    free(t->config_json);
    json_free(&t->json);
    vae_optim_free(t->optim);
    vae_model_free(t->model);
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
    int rc = load_step_batch(t);
    double t1 = vae_wtime();
    int64_t glo, ghi;
    plan_global_batch(&t->plan, t->step_in_epoch, &glo, &ghi);
    vae_step_opts o = {.beta = beta_at(c, t->step), .sample = c->latent_samples, .noise_seed = c->seed,
                       .noise_step = (uint64_t)t->step, .scale = 1.0f / (float)(ghi - glo)};
    vae_loss_sums s = {0};
    if (rc == VAE_OK && (rc = vae_model_forward(t->model, &t->batch, &o, &s)) == VAE_OK)
        vae_model_backward(t->model, &t->batch, &o);
    *local = rc;
    x[X_LOSS] = (float)s.loss;
    x[X_RECON] = (float)s.recon;
    x[X_KL] = (float)s.kl;
    x[X_DOCS] = (float)s.docs;
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
    t->docs_interval += x[X_DOCS];
    t->tokens_interval += x[X_TOKENS];
    return rc;
}

/* The run's last line, on stderr and in summary.jsonl: why it ended (reason: "epochs", "max_steps",
 * "early_stop" or "signal") and the best figure seen. */
static void log_end(trainer *t, const char *reason, int sig)
{
    const train_best *b = &t->best;
    if (!rank0(t))
        return;
    json_buf *j = &t->json;
    json_begin(j);
    json_str(j, "kind", "end");
    json_int(j, "step", t->step);
    json_int(j, "epoch", t->epoch);
    json_str(j, "reason", reason);
    if (sig)
        json_int(j, "signal", sig);
    if (b->step >= 0) {
        json_str(j, "best_figure", TRAIN_BEST_FIGURE);
        json_num(j, "best_value", b->value);
        json_int(j, "best_step", b->step);
        json_int(j, "evals_without_improvement", b->stale);
    }
    json_num(j, "wall_s", vae_wtime() - t->run_start);
    summary_line(t, j);
    char why[160], best[160] = "";
    if (sig)
        snprintf(why, sizeof why, "stopped on signal %d after a checkpoint; rerun with --resume auto to continue", sig);
    else if (strcmp(reason, "early_stop") == 0)
        snprintf(why, sizeof why, "early stop: no better valid %s in %lld evaluations", TRAIN_BEST_FIGURE,
                 (long long)b->stale);
    else
        snprintf(why, sizeof why, "reached --%s", strcmp(reason, "epochs") == 0 ? "epochs" : "max-steps");
    if (b->step >= 0)
        snprintf(best, sizeof best, "; best valid %s %.4g at step %lld", TRAIN_BEST_FIGURE, b->value,
                 (long long)b->step);
    if (!t->cfg->quiet)
        fprintf(stderr, "vae-dist: end at step %lld (epoch %lld): %s%s\n", (long long)t->step, (long long)t->epoch, why,
                best);
}

int vae_train_run(const vae_train_config *c, vae_comm *comm, int *stopped_by, int *failed_rank)
{
    trainer tr = {.cfg = c, .comm = comm, .rank = vae_comm_rank(comm), .ranks = vae_comm_size(comm)};
    trainer *t = &tr;
    *stopped_by = 0;
    *failed_rank = 0;
    t->run_start = t->t_interval_start = vae_wtime();
    train_best_init(&t->best);
    int rc = vae_comm_agree(comm, setup(t), failed_rank);
    if (rc == VAE_OK)
        rc = use_shared_memory(t, failed_rank);
    if (rc == VAE_OK)
        rc = starting_point(t, failed_rank);
    const int64_t per_epoch = rc == VAE_OK ? plan_steps_per_epoch(&t->plan) : 1;
    /* Set when the run ends before its limits: "early_stop" (already, when a resumed run had
     * stopped early), "signal". */
    const char *reason = c->early_stop > 0 && t->best.stale >= c->early_stop ? "early_stop" : NULL;
    int improved = 0;
    while (rc == VAE_OK && !reason && t->step < t->total_steps) {
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
        if (c->log_every > 0 && (t->step % c->log_every == 0 || t->step == t->total_steps))
            log_train(t, x, beta);
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
            rc = eval_and_log(t, &improved, failed_rank);
            if (c->early_stop > 0 && t->best.stale >= c->early_stop)
                reason = "early_stop";
        }
        if (rc == VAE_OK && !reason && ((c->checkpoint_every > 0 && t->step % c->checkpoint_every == 0) ||
                                        (improved && c->keep_best)))
            rc = save_checkpoint(t, improved && c->keep_best, failed_rank);
    }
    improved = 0;
    if (rc == VAE_OK && !reason) {
        reason = c->max_steps >= 0 && t->step >= c->max_steps ? "max_steps" : "epochs";
        rc = eval_and_log(t, &improved, failed_rank);
    }
    if (rc == VAE_OK)
        rc = save_checkpoint(t, improved && c->keep_best, failed_rank);
    if (rc == VAE_OK)
        log_end(t, reason, *stopped_by);
    teardown(t);
    return rc;
}
