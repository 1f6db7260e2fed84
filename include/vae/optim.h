/* Adam and SGD over the flat parameter buffer, with optional clipping by global norm. The moments
 * m and v share the parameters' layout, so an update is one loop and a checkpoint one write. */
#ifndef VAE_OPTIM_H
#define VAE_OPTIM_H

#include "vae/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { VAE_OPTIM_ADAM, VAE_OPTIM_SGD } vae_optim_kind;
extern const char *const vae_optim_names[]; /* "adam", "sgd", NULL */

typedef struct {
    vae_optim_kind kind;
    float lr, beta1, beta2, eps;
    float clip_norm; /* <= 0: no clipping */
} vae_optim_config;

void vae_optim_config_default(vae_optim_config *cfg);

typedef struct {
    vae_optim_config cfg;
    size_t n;
    int64_t t; /* updates done (Adam's bias correction) */
    float *m;  /* [n] first moments (Adam) */
    float *v;  /* [n] second moments (Adam) */
} vae_optim;

int vae_optim_new(vae_optim **out, const vae_optim_config *cfg, size_t n);
void vae_optim_free(vae_optim *o);

/* What a checkpoint keeps of the optimizer and a resume restores: the moments, n floats each in
 * the parameters' layout (filled, gathered or broadcast in place), and the count of updates done. */
void vae_optim_moments(vae_optim *o, float **m, float **v);
int64_t vae_optim_updates(const vae_optim *o);
void vae_optim_set_updates(vae_optim *o, int64_t t);

/* The global L2 norm of g[0..n), accumulated in double. */
double vae_grad_norm(const float *g, size_t n);

/* One update of params from grads, clipped to cfg.clip_norm when that is > 0. Returns
 * VAE_ERR_NUMERIC when a gradient is not finite: with clipping, found before anything changes;
 * without, found by the update pass itself, so params and moments then hold non-finite values
 * and the caller must stop (the trainer keeps its last checkpoint). */
int vae_optim_step(vae_optim *o, float *params, const float *grads);

/* The same update restricted to params[lo, hi) (and the moments there), from a gradient given as
 * a sum: g[i] = terms[0][i - lo] + terms[1][i - lo] + ..., added in that order (the sharded
 * optimizer: one term, this rank's summed block after a reduce-scatter; or, on one node, every
 * rank's own gradient read in place from shared memory, so the sum and the update are one pass).
 * With clipping, grad_norm is the whole gradient's global norm (not finite: VAE_ERR_NUMERIC before
 * anything changes); without, it is not read and the pass finds non-finite values as
 * vae_optim_step does. The result equals vae_optim_step's on that block, bit for bit. */
int vae_optim_step_sum(vae_optim *o, float *params, const float *const *terms, int num_terms, size_t lo,
                       size_t hi, double grad_norm);

/* The squared L2 norm of terms[0][i] + terms[1][i] + ... over [0, n), summed as
 * vae_optim_step_sum sums them, accumulated in double: a block's share of the global norm. */
double vae_grad_sum_squares(const float *const *terms, int num_terms, size_t n);

#ifdef __cplusplus
}
#endif
#endif
