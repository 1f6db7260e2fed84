/* The family bow, the bag-of-words VAE of SPEC.md "The model", as its own code sees it: the
 * configuration as typed fields and the evaluation sums behind its figures. Private to src/model
 * (and to the tests and tools that check its math); everyone else reaches it through model.h. */
#ifndef VAE_BOW_H
#define VAE_BOW_H

#include "layers.h"
#include "vae/model.h"

#define VAE_MAX_HIDDEN 8

typedef struct {
    int64_t vocab_size;
    int latent;
    int num_enc;                     /* >= 1: the first encoder layer reads the sparse document */
    int enc_hidden[VAE_MAX_HIDDEN];
    int num_dec;                     /* >= 0: 0 means z goes straight to dec.out */
    int dec_hidden[VAE_MAX_HIDDEN];
    vae_activation activation;
    vae_input_transform input;
} vae_bow_config;

/* The typed form of a configuration of the family bow, whose values are checked. */
void vae_bow_config_of(const vae_model_config *c, vae_bow_config *out);

/* The evaluation sums (vae_model_eval): the fixed entries below, then sum mu[L] and sum mu^2[L]. */
enum {
    VAE_SUM_DOCS,
    VAE_SUM_EMPTY_DOCS,
    VAE_SUM_TOKENS,
    VAE_SUM_RECON,
    VAE_SUM_KL,
    VAE_SUM_RECON_MEAN,
    VAE_SUM_NEG_ELBO,
    VAE_SUM_NEG_ELBO_PER_TOKEN,
    VAE_SUM_FIXED
};

/* One document's part of the evaluation sums (mu its [L] row; an empty one counted as such): the
 * sums of every family of documents (bow, topic), so their figures are computed alike. */
void bow_eval_add(double *sums, int L, const float *mu, double tokens, double recon, double kl,
                  double recon_mean);

/* The figures' shared parts (bow_figures.c; also the family sentence's, whose units are sequences
 * in the same sums): one figure appended to f; the latent units whose variance of mu over the
 * units exceeds 0.01. */
void figures_put(vae_figures *f, const char *name, double value, int integer, int headline);
int figures_active_units(const double *sums, int latent);

/* SPEC's figures of a set of documents from their summed evaluation sums (bow_figures.c). */
void bow_figures(const vae_model *m, const double *sums, vae_figures *f);

#endif
