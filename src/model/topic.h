/* The family topic, a ProdLDA-style neural topic model (SPEC.md "Model families"), as its own code
 * and its tests see it: the configuration as typed fields and the Laplace approximation of its
 * Dirichlet prior. Private to src/model (and to the tests that check its math). */
#ifndef VAE_TOPIC_H
#define VAE_TOPIC_H

#include "layers.h"
#include "vae/model.h"

#define TOPIC_MAX_HIDDEN 8

typedef struct {
    int64_t vocab_size;
    int topics; /* the latent units */
    int num_enc;
    int enc_hidden[TOPIC_MAX_HIDDEN];
    vae_input_transform input;
    double alpha;   /* the symmetric Dirichlet's concentration */
    double dropout; /* on theta, in training */
    int presence;   /* word_counts presence: the model reads a document as its distinct words, each once */
} vae_topic_config;

extern const char *const topic_word_counts_names[]; /* "presence", "counts", NULL */

void vae_topic_config_of(const vae_model_config *c, vae_topic_config *out);

/* The Laplace approximation (in the softmax basis) of Dirichlet(alpha_1..K): a diagonal Gaussian
 * with mean mu0_k = log a_k - mean_j log a_j and variance
 * var0_k = (1/a_k)(1 - 2/K) + (1/K^2) sum_j 1/a_j (Srivastava and Sutton 2017, eq. 3). */
void topic_prior(const double *alpha, int K, double *mu0, double *var0);

/* Running statistics and stream keys of the family, shared with its tests. */
enum { TOPIC_MU_MEAN, TOPIC_MU_VAR, TOPIC_LV_MEAN, TOPIC_LV_VAR, TOPIC_DEC_MEAN, TOPIC_DEC_VAR, TOPIC_NUM_STATS };
/* Dropout's uniforms of document d at step s are the stream (noise_seed ^ TOPIC_DROPOUT_KEY, s, d). */
#define TOPIC_DROPOUT_KEY 0x64726f706f7574ull

#endif
