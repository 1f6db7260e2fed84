/* --keep-best and --early-stop: the best validation figure so far and the evaluations since it,
 * counted evaluation by evaluation and kept in every checkpoint (as extra attributes), so that a
 * resumed run goes on with the same best and the same count. */
#ifndef VAE_TRAIN_BEST_H
#define VAE_TRAIN_BEST_H

#include <stdint.h>

#include "vae/checkpoint.h"
#include "vae/model.h"

/* The figure watched (lower is better), named in one place: --help, the end line and the
 * checkpoint attributes take it from here. A family that names its own (a sequence family's ppl)
 * would say so in its vae_family, read here. */
#define TRAIN_BEST_FIGURE "ppl_doc"

typedef struct {
    double value;  /* the best so far; +inf before the first evaluation */
    int64_t step;  /* where it was reached; -1 before the first evaluation */
    int64_t stale; /* evaluations since then, none of them better */
} train_best;

void train_best_init(train_best *b);
/* Counts an evaluation at step: *improved = 1 when it improves on the best (a non-finite figure
 * never does). Figures without TRAIN_BEST_FIGURE count nothing, and are VAE_ERR_ARG when
 * required (the run watches the figure: --keep-best, --early-stop). */
int train_best_update(train_best *b, int64_t step, const vae_figures *f, int required, int *improved);

enum { TRAIN_BEST_ATTRS = 4 };
/* Appends b's checkpoint attributes as key/value pairs at attrs[n..n + 2 * TRAIN_BEST_ATTRS),
 * their values written into text; returns the new n. */
int train_best_attrs(const train_best *b, char text[TRAIN_BEST_ATTRS][32], const char **attrs, int n);
/* b from a checkpoint's attributes, or fresh when the checkpoint has none or watched another
 * figure. VAE_ERR_FORMAT naming path and the attribute when one is malformed. */
int train_best_restore(train_best *b, vae_checkpoint *ck, const char *path);

#endif
