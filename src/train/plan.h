/* Which documents each rank trains on at each step (SPEC.md "Training semantics"): epoch e visits
 * the training units (documents or sequences) in the permutation drawn from (seed, e); step k takes
 * the next global batch of that order and splits it among the ranks into contiguous parts, as even
 * as possible in units (documents), or in tokens (sequences, SPEC.md "Training semantics for
 * sequences"). Pure arithmetic, the
 * same on every rank, so ranks agree on the schedule without talking. */
#ifndef VAE_PLAN_H
#define VAE_PLAN_H

#include <stdint.h>

typedef struct {
    int64_t num_docs;   /* D: units (documents or sequences) of the training split */
    int64_t batch_size; /* the global batch */
    int num_ranks;
    uint64_t seed;
    int shuffle;        /* 0: the identity order */
    /* NULL: parts even in units; else the tokens of each unit [num_docs] (a sequence's T_s), and
     * parts even in predicted tokens (T_s + 1), which is what a sequence costs. */
    const int32_t *lengths;
} train_plan;

int64_t plan_steps_per_epoch(const train_plan *p);
/* The global batch of step k of an epoch: positions [*lo, *hi) of the epoch's order. */
void plan_global_batch(const train_plan *p, int64_t k, int64_t *lo, int64_t *hi);
/* Rank r's part of that batch in epoch e: positions [*lo, *hi) (possibly empty). */
void plan_rank_batch(const train_plan *p, int64_t epoch, int64_t k, int rank, int64_t *lo, int64_t *hi);
/* The largest part any rank gets in any step (units): the model's batch capacity. */
int64_t plan_max_rank_batch(const train_plan *p);
/* The document at position pos of epoch e's order. */
int64_t plan_doc(const train_plan *p, int64_t epoch, int64_t pos);

#endif
