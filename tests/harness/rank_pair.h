/* Two simulated ranks for the model tests (tests/unit/test_topic.c, test_sentence.c): two threads,
 * each a model on its part of a global batch, running one forward and one backward whose
 * vae_step_opts.reduce sums go through a barrier, as the comm layer's sums over ranks would. */
#ifndef RANK_PAIR_H
#define RANK_PAIR_H

#include <pthread.h>

#include "vae/model.h"

typedef struct {
    pthread_barrier_t barrier;
    double *slot[2];
} rank_pair;

/* One rank: its model, its batch (NULL: none this step, as after a failed read), its step options
 * (reduce and reduce_ctx are set by rank_pair_run); what the step gave: the loss sums and the
 * calls of the reducer. */
typedef struct {
    rank_pair *p;
    int me;
    vae_model *m;
    const vae_batch *b;
    vae_step_opts o;
    vae_loss_sums sums;
    int calls;
} rank_run;

/* Runs r[0] and r[1] (m, b and o filled) on two threads, one step each, and joins them. */
void rank_pair_run(rank_run r[2]);

#endif
