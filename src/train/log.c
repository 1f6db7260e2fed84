/* The lines of summary.jsonl (SPEC.md "A training run's folder") and the progress on stderr: train
 * lines from the summed step sums, eval lines from the split evaluation's figures. Rank 0 writes. */
#include <string.h>

#include "vae/family.h"
#include "trainer.h"

static int rank0(const trainer *t) { return t->rank == 0; }

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
