/* The best validation figure of a run; see best.h. */
#include "best.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[TRAIN_BEST_ATTRS] = {"best_figure", "best_value", "best_step",
                                                   "evals_without_improvement"};

void train_best_init(train_best *b) { *b = (train_best){.value = INFINITY, .step = -1, .stale = 0}; }

int train_best_update(train_best *b, int64_t step, const vae_figures *f, int required, int *improved)
{
    const vae_figure *x = vae_figures_find(f, TRAIN_BEST_FIGURE);
    *improved = 0;
    if (!x)
        return required ? vae_fail(VAE_ERR_ARG, "the model's evaluation has no figure %s to watch", TRAIN_BEST_FIGURE)
                        : VAE_OK;
    if (isfinite(x->value) && x->value < b->value) {
        *b = (train_best){.value = x->value, .step = step, .stale = 0};
        *improved = 1;
    } else {
        b->stale++;
    }
    return VAE_OK;
}

int train_best_attrs(const train_best *b, char text[TRAIN_BEST_ATTRS][32], const char **attrs, int n)
{
    snprintf(text[0], sizeof text[0], "%s", TRAIN_BEST_FIGURE);
    snprintf(text[1], sizeof text[1], "%.17g", b->value);
    snprintf(text[2], sizeof text[2], "%lld", (long long)b->step);
    snprintf(text[3], sizeof text[3], "%lld", (long long)b->stale);
    for (int i = 0; i < TRAIN_BEST_ATTRS; i++) {
        attrs[n++] = keys[i];
        attrs[n++] = text[i];
    }
    return n;
}

int train_best_restore(train_best *b, vae_checkpoint *ck, const char *path)
{
    train_best_init(b);
    const char *figure = vae_checkpoint_attr(ck, keys[0]);
    if (!figure || strcmp(figure, TRAIN_BEST_FIGURE) != 0)
        return VAE_OK;
    const char *text[TRAIN_BEST_ATTRS - 1];
    char *end;
    for (int i = 1; i < TRAIN_BEST_ATTRS; i++)
        if (!(text[i - 1] = vae_checkpoint_attr(ck, keys[i])))
            return vae_fail(VAE_ERR_FORMAT, "%s: has attribute %s but not %s", path, keys[0], keys[i]);
    errno = 0;
    b->value = strtod(text[0], &end);
    if (errno || end == text[0] || *end || isnan(b->value))
        return vae_fail(VAE_ERR_FORMAT, "%s: attribute %s: '%s' is not a number", path, keys[1], text[0]);
    for (int i = 1; i < 3; i++) {
        errno = 0;
        const long long v = strtoll(text[i], &end, 10);
        if (errno || end == text[i] || *end || v < (i == 1 ? -1 : 0))
            return vae_fail(VAE_ERR_FORMAT, "%s: attribute %s: '%s' is not a count", path, keys[i + 1], text[i]);
        *(i == 1 ? &b->step : &b->stale) = v;
    }
    return VAE_OK;
}
