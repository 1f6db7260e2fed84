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
    int latent;
    float *params, *grads, *state;
    float *owned; /* params, grads and state when the model holds its own, else state alone */
};

#endif
