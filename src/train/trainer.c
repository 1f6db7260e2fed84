/* The training loop of vae-dist: schedule (plan.c), shard reading (corpus), forward/backward
 * (model), the gradient and step sums summed over the ranks and the update (exchange, optim),
 * logging, evaluation and checkpoints on rank 0 (rundir, checkpoint). Every rank executes the same
 * sequence of collectives whatever happens locally: a rank that fails raises a flag carried by the
 * next exchange, so no rank ever waits on a collective another never joins. */
#include "vae/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "plan.h"
#include "rundir.h"
#include "blas.h"
#include "threads.h"
#include "vae/checkpoint.h"
#include "vae/corpus.h"

/* Per-step sums, summed over the ranks by the exchange's step with the gradient. */
enum { X_LOSS, X_RECON, X_KL, X_DOCS, X_TOKENS, X_FAILED, X_SIGTERM, X_SIGUSR1, X_COUNT };

/* Documents of this rank's shard read from the corpus at once (up to a whole epoch's shard):
 * a read costs about the decompression of every chunk it touches, so reading an epoch's scattered
 * rows in one call decompresses each chunk once, where per-step reads would do it every step. */
#define WINDOW_DOCS 65536
#define EVAL_BATCH_MIN 64

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
    vae_exchange_config_default(&c->exchange);
    vae_model_config_default(&c->model, 0);
    vae_optim_config_default(&c->optim);
}

typedef struct {
    const vae_train_config *cfg;
    vae_comm *comm;
    int rank, ranks;
    vae_corpus *corpus;
    vae_model_config model_cfg; /* the flags' model on the corpus's vocabulary */
    vae_exchange *exchange;     /* owns the buffers that the model computes in */
    vae_model *model;
    vae_optim *optim;
    train_plan plan;
    int64_t total_steps;
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
    double sums[X_COUNT]; /* this step's, then their sums over the ranks */
    /* Time split of the steps since the last train line (the exchange's in exchange_times). */
    vae_exchange_times exchange_times;
    double t_data, t_compute, t_interval_start;
    double docs_interval, tokens_interval;
    double run_start;
} trainer;

static int rank0(const trainer *t) { return t->rank == 0; }

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
    json_int(j, "epochs", c->epochs);
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
    json_int(j, "shuffle", c->shuffle);
    json_str(j, "gradient_exchange_kind", vae_exchange_kind_names[c->exchange.kind]);
    json_str(j, "gradient_exchange", vae_exchange_name(t->exchange));
    json_str(j, "shared_memory", c->exchange.shared_memory ? "on" : "off");
    json_int(j, "ranks_per_node", c->exchange.ranks_per_node);
    json_str(j, "shm_single_copy", c->shm_single_copy ? "on" : "off");
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

static int eval_and_log(trainer *t, int *who)
{
    vae_split_info info;
    if (vae_corpus_split_info(t->corpus, "valid", &info) != VAE_OK || !info.present)
        return VAE_OK;
    vae_figures f;
    int rc = evaluate(t, "valid", &f, who);
    if (rc == VAE_OK)
        log_eval(t, "valid", &f);
    return rc;
}

static void log_train(trainer *t, float beta)
{
    const double now = vae_wtime(), wall = now - t->t_interval_start;
    const double *x = t->sums;
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
        json_num(j, "compute_s", t->t_compute + t->exchange_times.update_s);
        json_num(j, "allreduce_s", t->exchange_times.comm_s);
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
    t->t_data = t->t_compute = 0;
    t->exchange_times = (vae_exchange_times){0};
    t->docs_interval = t->tokens_interval = 0;
    t->t_interval_start = now;
}

/* The corpus's tokenizer settings travel into checkpoints so vae-infer tokenizes new text alike. */
static const char *const tokenizer_attrs[] = {"tokenizer", "tokenizer_min_len", "tokenizer_max_len",
                                              "tokenizer_keep_digits", NULL};

/* Rank 0 writes the checkpoint of the current position; all ranks agree on the outcome. */
static int save_checkpoint(trainer *t, int *who)
{
    int rc = vae_exchange_gather_moments(t->exchange, t->optim);
    if (rc != VAE_OK)
        return vae_comm_agree(t->comm, rc, who);
    if (rank0(t)) {
        char path[4096], values[4][64];
        const char *attrs[2 * 4 + 1];
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
        if (rc == VAE_OK)
            rc = rundir_commit_checkpoint(t->cfg->out_dir, path, t->cfg->keep_checkpoints);
        if (rc == VAE_OK)
            snprintf(t->last_checkpoint, sizeof t->last_checkpoint, "%s", path);
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
    int64_t pos[3] = {t->step, t->epoch, t->step_in_epoch};
    if ((rc = vae_comm_broadcast(t->comm, pos, sizeof pos, 0)) != VAE_OK ||
        (rc = vae_exchange_spread_start(t->exchange, t->optim)) != VAE_OK)
        return rc;
    t->step = pos[0], t->epoch = pos[1], t->step_in_epoch = pos[2];
    return VAE_OK;
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
    t->plan = (train_plan){.num_docs = info.num_docs, .batch_size = c->batch_size, .num_ranks = t->ranks,
                           .seed = c->seed, .shuffle = c->shuffle};
    const int64_t per_epoch = plan_steps_per_epoch(&t->plan);
    t->total_steps = c->epochs * per_epoch;
    if (c->max_steps >= 0 && c->max_steps < t->total_steps)
        t->total_steps = c->max_steps;
    vae_layout layout;
    rc = vae_layout_compute(&t->model_cfg, &layout);
    *num_params = layout.num_params;
    return rc;
}

/* On the exchange's buffers, the model, and everything else sized once: no allocation inside a
 * step beyond the first window's growth. Then config.json and the run folder. */
static int setup(trainer *t)
{
    const vae_train_config *c = t->cfg;
    const int64_t max_rank = plan_max_rank_batch(&t->plan);
    const int64_t cap = max_rank > EVAL_BATCH_MIN ? max_rank : EVAL_BATCH_MIN;
    int rc = vae_model_new_on(&t->model, &t->model_cfg, (int)cap, 0, vae_exchange_params(t->exchange),
                              vae_exchange_grads(t->exchange));
    if (rc != VAE_OK ||
        (rc = vae_optim_new(&t->optim, &c->optim, vae_model_num_params(t->model))) != VAE_OK)
        return rc;
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
    vae_exchange_free(t->exchange);
    vae_corpus_free(t->corpus);
}

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
    x[X_LOSS] = s.loss;
    x[X_RECON] = s.recon;
    x[X_KL] = s.kl;
    x[X_DOCS] = s.docs;
    x[X_TOKENS] = s.tokens;
    x[X_FAILED] = rc != VAE_OK;
    const int sig = c->stop_signal ? *c->stop_signal : 0;
    x[X_SIGTERM] = sig == SIGTERM;
    x[X_SIGUSR1] = sig == SIGUSR1;
    t->t_data += t1 - t0;
    t->t_compute += vae_wtime() - t1;
    rc = vae_exchange_step(t->exchange, t->optim, x, &t->exchange_times);
    t->docs_interval += x[X_DOCS];
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
    size_t num_params = 0;
    int rc = vae_comm_agree(comm, open_corpus(t, &num_params), failed_rank);
    if (rc == VAE_OK)
        rc = vae_comm_agree(comm, vae_exchange_new(&t->exchange, comm, &c->exchange, num_params, X_COUNT),
                            failed_rank);
    if (rc == VAE_OK)
        rc = vae_comm_agree(comm, setup(t), failed_rank);
    if (rc == VAE_OK)
        rc = starting_point(t, failed_rank);
    const int64_t per_epoch = rc == VAE_OK ? plan_steps_per_epoch(&t->plan) : 1;
    int checkpointed = 0;
    while (rc == VAE_OK && t->step < t->total_steps) {
        const double *x = t->sums;
        const float beta = beta_at(c, t->step);
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
        checkpointed = 0;
        if (c->log_every > 0 && (t->step % c->log_every == 0 || t->step == t->total_steps))
            log_train(t, beta);
        if (x[X_SIGTERM] > 0 || x[X_SIGUSR1] > 0) {
            *stopped_by = x[X_SIGTERM] > 0 ? SIGTERM : SIGUSR1;
            break;
        }
        if (c->eval_every > 0 && t->step % c->eval_every == 0 && t->step < t->total_steps)
            rc = eval_and_log(t, failed_rank);
        if (rc == VAE_OK && c->checkpoint_every > 0 && t->step % c->checkpoint_every == 0) {
            rc = save_checkpoint(t, failed_rank);
            checkpointed = 1;
        }
    }
    if (rc == VAE_OK && !*stopped_by)
        rc = eval_and_log(t, failed_rank);
    if (rc == VAE_OK && !checkpointed)
        rc = save_checkpoint(t, failed_rank);
    teardown(t);
    return rc;
}
