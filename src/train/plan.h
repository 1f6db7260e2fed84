/* Which documents each rank trains on at each step (SPEC.md "Training semantics"): epoch e visits
 * the training documents in the permutation drawn from (seed, e); step k takes the next global
 * batch of that order and splits it among the ranks as evenly as possible. Pure arithmetic, the
 * same on every rank, so ranks agree on the schedule without talking. */
#ifndef VAE_PLAN_H
#define VAE_PLAN_H

#include <stdint.h>

typedef struct {
    int64_t num_docs;   /* D: documents of the training split */
    int64_t batch_size; /* the global batch */
    int num_ranks;
    uint64_t seed;
    int shuffle;        /* 0: the identity order */
} train_plan;

int64_t plan_steps_per_epoch(const train_plan *p);
/* The global batch of step k of an epoch: positions [*lo, *hi) of the epoch's order. */
void plan_global_batch(const train_plan *p, int64_t k, int64_t *lo, int64_t *hi);
/* Rank r's part of that batch: positions [*lo, *hi) (possibly empty). */
void plan_rank_batch(const train_plan *p, int64_t k, int rank, int64_t *lo, int64_t *hi);
/* The largest part any rank gets in any step: the model's batch capacity. */
int64_t plan_max_rank_batch(const train_plan *p);
/* The document at position pos of epoch e's order. */
int64_t plan_doc(const train_plan *p, int64_t epoch, int64_t pos);

#endif
