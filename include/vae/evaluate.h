/* The figures of a corpus split under a model (SPEC.md "Figures"): the one evaluation path behind
 * the trainer's eval lines and vae-infer eval. Every rank of comm evaluates its contiguous share of
 * the split's units (its rows, or its sequences for a family of them), in batches of the model's
 * capacity, and the sums are combined by one collective, so the figures are the same on any number
 * of ranks. */
#ifndef VAE_EVALUATE_H
#define VAE_EVALUATE_H

#include "vae/comm.h"
#include "vae/corpus.h"
#include "vae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vae_evaluator vae_evaluator;

/* What evaluating a model like m (its configuration, its batch capacity) needs besides the model:
 * its sums, a batch, the rows to read, allocated once. */
int vae_evaluator_new(vae_evaluator **out, const vae_model *m);
void vae_evaluator_free(vae_evaluator *e);

/* The figures of m, a model like the evaluator's, on the split. Collective: every rank of comm
 * calls it, and every rank gets the figures. z is averaged over
 * `samples` draws per unit from VAE_EVAL_SEED. A failure on any rank is agreed on: every rank
 * returns it, and *who is the lowest failing rank, whose message it is. */
int vae_evaluate_split(vae_evaluator *e, vae_model *m, vae_corpus *corpus, const char *split, int samples,
                       vae_comm *comm, vae_figures *f, int *who);

#ifdef __cplusplus
}
#endif
#endif
