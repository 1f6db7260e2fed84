/* Checkpoints of a run (SPEC.md "Checkpoint file", "Training semantics"): rank 0 writes the current
 * position with the model's parameters, running statistics and the optimizer's moments, and a run
 * starts fresh, resumes exactly from one (--resume) or takes its parameters (--init-from). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rundir.h"
#include "trainer.h"
#include "vae/checkpoint.h"

/* The corpus's tokenizer settings travel into checkpoints so vae-infer tokenizes new text alike. */
static const char *const tokenizer_attrs[] = {"tokenizer", "tokenizer_min_len", "tokenizer_max_len",
                                              "tokenizer_keep_digits", NULL};

/* What the position (step in epoch) of a checkpoint counts in: batches of one size over the epoch
 * order of one number of training documents, shuffled or not. A resume that changed any of them
 * would index another order (SPEC.md "Training semantics": refused). */
enum { POSITION_BATCH, POSITION_DOCS, POSITION_SHUFFLE, POSITION_ATTRS };
static const char *const position_attrs[POSITION_ATTRS] = {"position_batch_size", "position_train_docs",
                                                           "position_shuffle"};

static void position_values(const train_plan *p, int64_t v[POSITION_ATTRS])
{
    v[POSITION_BATCH] = p->batch_size;
    v[POSITION_DOCS] = p->num_docs;
    v[POSITION_SHUFFLE] = p->shuffle;
}

/* Rank 0's checkpoint of the current position at its path in the run folder (named by
 * checkpoints/best when is_best), rotated in. */
static int write_checkpoint(trainer *t, int is_best)
{
    char path[4096], values[4][64], best[TRAIN_BEST_ATTRS][32], position[POSITION_ATTRS][32];
    const char *attrs[2 * 4 + 2 * TRAIN_BEST_ATTRS + 2 * POSITION_ATTRS + 1];
    int64_t pv[POSITION_ATTRS];
    int na = 0;
    position_values(&t->plan, pv);
    for (int i = 0; i < POSITION_ATTRS; i++) {
        snprintf(position[i], sizeof position[i], "%lld", (long long)pv[i]);
        attrs[na++] = position_attrs[i];
        attrs[na++] = position[i];
    }
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
    float *m, *v;
    vae_optim_moments(t->optim, &m, &v);
    int rc = vae_corpus_vocab(t->corpus, &words, &df, &tf);
    rundir_checkpoint_path(t->cfg->out_dir, t->step, path, sizeof path);
    vae_checkpoint_data data = {.model = vae_model_config_of(t->model), .layout = vae_model_layout(t->model),
                                .params = vae_model_params(t->model), .m = m, .v = v,
                                .state = vae_model_state(t->model), .words = words, .attrs = attrs};
    vae_checkpoint_state state = {.step = t->step, .epoch = t->epoch, .step_in_epoch = t->step_in_epoch,
                                  .optim_t = vae_optim_updates(t->optim), .seed = t->cfg->seed,
                                  .config_json = t->config_json};
    if (rc == VAE_OK)
        rc = vae_checkpoint_write(path, &data, &state);
    if (rc == VAE_OK && is_best)
        rc = rundir_point(t->cfg->out_dir, "best", path);
    if (rc == VAE_OK)
        rc = rundir_commit_checkpoint(t->cfg->out_dir, path, t->cfg->keep_checkpoints, t->resumed_from);
    if (rc == VAE_OK)
        snprintf(t->last_checkpoint, sizeof t->last_checkpoint, "%s", path);
    return rc;
}

/* The checkpoint's position must count in this run's batches and epoch order (position_attrs);
 * one written before those attributes existed must at least lie inside this run's epoch. */
static int check_position(const trainer *t, vae_checkpoint *ck, const char *path)
{
    const vae_checkpoint_state *s = vae_checkpoint_state_of(ck);
    int64_t run[POSITION_ATTRS];
    position_values(&t->plan, run);
    for (int i = 0; i < POSITION_ATTRS; i++) {
        const char *text = vae_checkpoint_attr(ck, position_attrs[i]);
        char *end;
        if (!text)
            continue;
        const long long was = strtoll(text, &end, 10);
        if (end == text || *end)
            return vae_fail(VAE_ERR_FORMAT, "%s: attribute %s: '%s' is not a number", path, position_attrs[i], text);
        if (was == run[i])
            continue;
        if (i == POSITION_BATCH)
            return vae_fail(VAE_ERR_ARG, "%s: was trained with --batch-size %lld, not %lld: its position (step %lld "
                            "of epoch %lld) counts batches of %lld; resume with --batch-size %lld, or start from its "
                            "parameters with --init-from", path, was, (long long)run[i], (long long)s->step_in_epoch,
                            (long long)s->epoch, was, was);
        if (i == POSITION_DOCS)
            return vae_fail(VAE_ERR_ARG, "%s: was trained on %lld training documents, and the train split of %s has "
                            "%lld: the corpus changed, so the checkpoint's place in the epoch order means nothing "
                            "here; resume on the corpus it was trained on, or start from its parameters with "
                            "--init-from", path, was, t->cfg->corpus, (long long)run[i]);
        return vae_fail(VAE_ERR_ARG, "%s: was trained %s, and this run %s: resume in the same order, or start from "
                        "its parameters with --init-from", path, was ? "in shuffled order" : "with --no-shuffle",
                        was ? "has --no-shuffle" : "is shuffled");
    }
    if (s->step_in_epoch >= plan_steps_per_epoch(&t->plan))
        return vae_fail(VAE_ERR_ARG, "%s: its position, step %lld of epoch %lld, lies past the %lld steps of an epoch "
                        "of this run: --batch-size or the corpus changed; resume with those the checkpoint was "
                        "trained with, or start from its parameters with --init-from", path,
                        (long long)s->step_in_epoch, (long long)s->epoch, (long long)plan_steps_per_epoch(&t->plan));
    return VAE_OK;
}

int trainer_save_checkpoint(trainer *t, int is_best, int *who)
{
    int rc = vae_exchange_gather_moments(t->exchange, t->optim);
    if (rc != VAE_OK)
        return vae_comm_agree(t->comm, rc, who);
    return vae_comm_agree(t->comm, t->rank == 0 ? write_checkpoint(t, is_best) : VAE_OK, who);
}

/* Rank 0 loads a checkpoint's parameters and statistics (and, to resume, its optimizer and
 * position) after checking that it fits this run: the same model, the same vocabulary as the
 * corpus. */
static int load_checkpoint(trainer *t, const char *path, int resume)
{
    vae_checkpoint *ck = NULL;
    const char *const *ck_words = NULL, *const *words = NULL;
    const int64_t *df, *tf;
    int64_t V = 0;
    char why[512];
    float *m, *v;
    vae_optim_moments(t->optim, &m, &v);
    int rc = vae_checkpoint_open(&ck, path);
    if (rc != VAE_OK)
        goto cleanup;
    /* The vocabulary first: when it differs, the corpus changed, not the flags (the model's
     * vocab_size follows the corpus). */
    if ((rc = vae_checkpoint_vocab(ck, &ck_words, &V)) != VAE_OK ||
        (rc = vae_corpus_vocab(t->corpus, &words, &df, &tf)) != VAE_OK)
        goto cleanup;
    const int64_t corpus_V = vae_corpus_vocab_size(t->corpus);
    int64_t w = 0;
    while (w < V && w < corpus_V && strcmp(words[w], ck_words[w]) == 0)
        w++;
    if (w < V || w < corpus_V) {
        char at[600];
        if (w < V && w < corpus_V)
            snprintf(at, sizeof at, "word %lld is '%.200s' in the corpus, '%.200s' in the checkpoint", (long long)w,
                     words[w], ck_words[w]);
        else
            snprintf(at, sizeof at, "%lld words in the corpus, %lld in the checkpoint", (long long)corpus_V,
                     (long long)V);
        rc = vae_fail(VAE_ERR_ARG, "corpus %s has another vocabulary than checkpoint %s (%s): the corpus changed; "
                      "give the corpus the checkpoint was trained on (its config.json names it)", t->cfg->corpus,
                      path, at);
        goto cleanup;
    }
    if (vae_model_config_diff(vae_checkpoint_model(ck), vae_model_config_of(t->model), why, sizeof why)) {
        rc = vae_fail(VAE_ERR_ARG, "%s: the checkpoint's model differs from this run's flags (the checkpoint's "
                                   "against the run's): %s", path, why);
        goto cleanup;
    }
    if ((rc = vae_checkpoint_read_params(ck, vae_model_layout(t->model), vae_model_params(t->model))) != VAE_OK ||
        (rc = vae_checkpoint_read_state(ck, vae_model_state_layout(t->model), vae_model_state(t->model))) != VAE_OK)
        goto cleanup;
    if (resume) {
        const vae_checkpoint_state *s = vae_checkpoint_state_of(ck);
        if (!vae_checkpoint_has_optimizer(ck)) {
            rc = vae_fail(VAE_ERR_FORMAT, "%s: holds no optimizer state, so it cannot be resumed (use --init-from)",
                          path);
            goto cleanup;
        }
        if ((rc = vae_checkpoint_read_optimizer(ck, vae_model_layout(t->model), m, v)) != VAE_OK)
            goto cleanup;
        if (s->seed != t->cfg->seed) {
            rc = vae_fail(VAE_ERR_ARG, "%s: was trained with --seed %llu, not %llu", path,
                          (unsigned long long)s->seed, (unsigned long long)t->cfg->seed);
            goto cleanup;
        }
        if ((rc = check_position(t, ck, path)) != VAE_OK || (rc = train_best_restore(&t->best, ck, path)) != VAE_OK)
            goto cleanup;
        t->step = s->step;
        t->epoch = s->epoch;
        t->step_in_epoch = s->step_in_epoch;
        vae_optim_set_updates(t->optim, s->optim_t);
    }
cleanup:
    vae_checkpoint_free(ck);
    return rc;
}

/* Rank 0's choice: the run folder's latest checkpoint, --resume's, --init-from's, or none. */
static int choose_start(trainer *t)
{
    const vae_train_config *c = t->cfg;
    char path[4096];
    int found = 0, rc = VAE_OK;
    /* A folder that exists is locked before the choice, which reads and may move its checkpoints;
     * a new one only after it, so that a run that cannot start (a --resume that fails) leaves no
     * folder behind. */
    const int existed = access(c->out_dir, F_OK) == 0;
    if (existed && (rc = trainer_lock_run_folder(t)) != VAE_OK)
        return rc;
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
        char aside[4200];
        int moved = 0;
        rc = load_checkpoint(t, path, 1);
        if (rc == VAE_OK)
            rc = rundir_follow_branch(c->out_dir, path, t->step, t->best.step, aside, sizeof aside, &moved);
        if (rc == VAE_OK)
            snprintf(t->resumed_from, sizeof t->resumed_from, "%s", path);
        if (rc == VAE_OK && moved)
            fprintf(stderr, "vae-dist: %s holds %d checkpoint%s past step %lld, which this run does not continue: "
                    "moved to %s, kept as they were\n", c->out_dir, moved, moved > 1 ? "s" : "", (long long)t->step,
                    aside);
        if (rc == VAE_OK && !c->quiet)
            fprintf(stderr, "vae-dist: resuming from %s at step %lld\n", path, (long long)t->step);
    } else if (rc == VAE_OK && c->init_from)
        rc = load_checkpoint(t, c->init_from, 0);
    if (rc == VAE_OK && !existed)
        rc = trainer_lock_run_folder(t);
    return rc == VAE_OK ? trainer_open_run_files(t) : rc;
}

int trainer_starting_point(trainer *t, int *who)
{
    int rc = vae_comm_agree(t->comm, t->rank == 0 ? choose_start(t) : VAE_OK, who);
    if (rc != VAE_OK)
        return rc;
    int64_t pos[3] = {t->step, t->epoch, t->step_in_epoch};
    const size_t ns = vae_model_state_layout(t->model)->num_params;
    if ((rc = vae_comm_broadcast(t->comm, pos, sizeof pos, 0)) != VAE_OK ||
        (rc = vae_comm_broadcast(t->comm, &t->best, sizeof t->best, 0)) != VAE_OK ||
        (rc = vae_exchange_spread_start(t->exchange, t->optim)) != VAE_OK ||
        (ns && (rc = vae_comm_broadcast(t->comm, vae_model_state(t->model), ns * sizeof(float), 0)) != VAE_OK))
        return rc;
    t->step = pos[0], t->epoch = pos[1], t->step_in_epoch = pos[2];
    return VAE_OK;
}
