/* The run's files config.json and summary.jsonl (SPEC.md "A training run's folder") and the progress
 * on stderr: train lines from the summed step sums, eval lines from the split evaluation's figures,
 * a resumed run's summary cut back to its starting point. Rank 0 writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "trainer.h"
#include "vae/family.h"

static int rank0(const trainer *t) { return t->rank == 0; }

/* The first failed write stops the lines (what it left, a half line perhaps, is cut on resume)
 * and is kept in t->run_file_error, which stops the run after a checkpoint (trainer.c). */
static void summary_line(trainer *t, json_buf *j)
{
    json_end(j);
    if (!t->summary || j->failed || t->run_file_error[0])
        return;
    errno = 0;
    if (fprintf(t->summary, "%s\n", j->buf) < 0 || fflush(t->summary) != 0)
        snprintf(t->run_file_error, sizeof t->run_file_error, "%s/summary.jsonl: cannot write: %s", t->cfg->out_dir,
                 strerror(errno ? errno : EIO));
}

/* Where summary.jsonl's text should end for a run starting after step: after the last whole line
 * of the prefix whose lines all carry a step at most that (the lines are in step order: each
 * start cuts what lies past it). */
static size_t summary_keep(const char *text, size_t size, int64_t step)
{
    size_t keep = 0;
    for (const char *line = text, *nl; (nl = memchr(line, '\n', size - (size_t)(line - text))); line = nl + 1) {
        const char *at = strstr(line, "\"step\": ");
        if (!at || at > nl || strtoll(at + 8, NULL, 10) > step)
            break;
        keep = (size_t)(nl + 1 - text);
    }
    return keep;
}

int trainer_open_run_files(trainer *t)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", t->cfg->out_dir);
    char *config = malloc(strlen(t->config_json) + 2);
    if (!config)
        return vae_fail(VAE_ERR_NOMEM, "out of memory");
    sprintf(config, "%s\n", t->config_json);
    int rc = vae_write_file_atomic(path, config);
    free(config);
    if (rc != VAE_OK)
        return rc;
    snprintf(path, sizeof path, "%s/summary.jsonl", t->cfg->out_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        char *text = NULL;
        size_t size = 0;
        int ok = fseek(f, 0, SEEK_END) == 0;
        const long end = ok ? ftell(f) : -1;
        ok = end >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)end + 1)) != NULL &&
             (size = fread(text, 1, (size_t)end, f)) == (size_t)end;
        fclose(f);
        if (ok) {
            text[size] = '\0';
            const size_t keep = summary_keep(text, size, t->step);
            ok = keep == size || truncate(path, (off_t)keep) == 0;
        }
        const int saved = errno;
        free(text);
        if (!ok)
            return vae_fail(VAE_ERR_IO, "%s: cannot cut back to the lines up to step %lld: %s", path,
                            (long long)t->step, strerror(saved ? saved : EIO));
    }
    if (!(t->summary = fopen(path, "a")))
        return vae_fail(VAE_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    return VAE_OK;
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
    json_figures(j, f);
    json_num(j, "wall_s", vae_wtime() - t->run_start);
    summary_line(t, j);
    if (t->cfg->quiet)
        return;
    fprintf(stderr, "vae-dist: step %lld eval %s:", (long long)t->step, split);
    for (int i = 0; i < f->count; i++)
        if (f->of[i].headline && f->of[i].integer)
            fprintf(stderr, " %s %lld", f->of[i].name, (long long)f->of[i].value);
        else if (f->of[i].headline)
            fprintf(stderr, " %s %.3f", f->of[i].name, f->of[i].value);
    fputc('\n', stderr);
}

int trainer_eval_and_log(trainer *t, int *improved, int *who)
{
    vae_split_info info;
    *improved = 0;
    if (vae_corpus_split_info(t->corpus, "valid", &info) != VAE_OK || !info.present)
        return VAE_OK;
    vae_figures f;
    int rc = vae_evaluate_split(t->evaluator, t->model, t->corpus, "valid", 1, t->comm, &f, who);
    if (rc == VAE_OK) {
        log_eval(t, "valid", &f);
        /* Every rank holds the figures, so every rank reaches the same verdict. */
        const int watched = t->cfg->keep_best || t->cfg->early_stop > 0;
        if ((rc = train_best_update(&t->best, t->step, &f, watched, improved)) != VAE_OK)
            *who = 0;
    }
    return rc;
}

void trainer_log_end(trainer *t, const char *reason, int sig)
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
        fprintf(stderr, "vae-dist: end at step %lld (epoch %lld): %s%s\n", (long long)t->step, (long long)t->epoch,
                why, best);
}

void trainer_log_train(trainer *t, float beta)
{
    const double now = vae_wtime(), wall = now - t->t_interval_start;
    const double *x = t->sums;
    if (rank0(t)) {
        const double units = x[X_UNITS] > 0 ? x[X_UNITS] : 1;
        const char *unit = vae_unit_names[vae_model_family(t->model)->unit];
        char per_s[32];
        snprintf(per_s, sizeof per_s, "%s_per_s", unit);
        json_buf *j = &t->json;
        json_begin(j);
        json_str(j, "kind", "train");
        json_int(j, "step", t->step);
        json_int(j, "epoch", t->epoch);
        json_num(j, "loss", x[X_LOSS] / units);
        json_num(j, "recon", x[X_RECON] / units);
        json_num(j, "kl", x[X_KL] / units);
        json_num(j, "beta", beta);
        json_num(j, per_s, t->units_interval / wall);
        json_num(j, "tokens_per_s", t->tokens_interval / wall);
        json_num(j, "wall_s", now - t->run_start);
        json_num(j, "compute_s", t->t_compute + t->exchange_times.update_s);
        json_num(j, "allreduce_s", t->exchange_times.comm_s);
        json_num(j, "data_s", t->t_data);
        summary_line(t, j);
        if (!t->cfg->quiet) {
            const double rate = (double)(t->step) / (now - t->run_start + 1e-9);
            const double left = rate > 0 ? (double)(t->total_steps - t->step) / rate : 0;
            fprintf(stderr, "vae-dist: step %lld/%lld epoch %lld loss %.3f %s/s %.0f eta %.0fs\n",
                    (long long)t->step, (long long)t->total_steps, (long long)t->epoch, x[X_LOSS] / units, unit,
                    t->units_interval / wall, left);
        }
    }
    t->t_data = t->t_compute = 0;
    t->exchange_times = (vae_exchange_times){0};
    t->units_interval = t->tokens_interval = 0;
    t->t_interval_start = now;
}
