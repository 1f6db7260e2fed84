/* The header that every family's model begins with (its own struct embeds it first, so that a
 * vae_model * is also a pointer to the family's struct): the generic code of model.c fills it, and
 * the family's functions find their configuration and buffers here. */
#ifndef VAE_MODEL_BASE_H
#define VAE_MODEL_BASE_H

#include "vae/family.h"

struct vae_model {
    const vae_family *family;
    vae_model_config cfg;
    vae_layout layout, state_layout;
    int max_batch;
    int64_t max_tokens; /* families of sequences: the tokens a batch may hold (reserve_tokens) */
    int latent;
    float *params, *grads, *state;
    float *owned; /* params, grads and state when the model holds its own, else state alone */
    int forward_failed; /* the last forward failed: the next backward is an empty batch's */
};

/* Appends tensor name ([rows, cols]; cols 0 for a vector) to the layout, each view 64-byte aligned. */
void layout_add(vae_layout *l, const char *name, int64_t rows, int64_t cols, int transposed);
/* nn.Linear prefix: <prefix>.weight [out, in] (held [in, out] when transposed), <prefix>.bias [out]. */
void layout_add_linear(vae_layout *l, const char *prefix, int64_t out, int64_t in, int transposed);
/* Tensor t's elements uniform in [-bound, bound], from the stream (seed, stream) keyed by each
 * element's [rows, cols] position, wherever the layout keeps it. */
void init_uniform(float *base, const vae_tensor *t, uint64_t seed, uint64_t stream, double bound);

#endif
