/* The bag-of-words VAE of SPEC.md "The model": parameters in one contiguous float32 buffer with
 * named views (PyTorch nn.Linear layout, SPEC's order), gradients in a second buffer of the same
 * layout, activations sized once for the largest batch. Forward and backward see only buffers:
 * no MPI, no HDF5, so the math is testable alone.
 *
 * Shapes: B documents in a batch, V vocabulary, L latent units, H_i hidden sizes. */
#ifndef VAE_MODEL_H
#define VAE_MODEL_H

#include "vae/common.h"
#include "vae/batch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VAE_MAX_HIDDEN 8
#define VAE_MAX_TENSORS (2 * (VAE_MAX_HIDDEN + 2 + VAE_MAX_HIDDEN + 1))

typedef enum { VAE_ACT_RELU, VAE_ACT_TANH, VAE_ACT_SOFTPLUS } vae_activation;
typedef enum { VAE_INPUT_LOG1P, VAE_INPUT_COUNTS, VAE_INPUT_L1 } vae_input_transform;

extern const char *const vae_activation_names[];      /* "relu", "tanh", "softplus", NULL */
extern const char *const vae_input_transform_names[]; /* "log1p", "counts", "l1", NULL */

typedef struct {
    int64_t vocab_size;
    int latent;
    int num_enc;                     /* >= 1: the first encoder layer reads the sparse document */
    int enc_hidden[VAE_MAX_HIDDEN];
    int num_dec;                     /* >= 0: 0 means z goes straight to dec.out */
    int dec_hidden[VAE_MAX_HIDDEN];
    vae_activation activation;
    vae_input_transform input;
} vae_model_config;

/* SPEC's defaults for a vocabulary of V words. */
void vae_model_config_default(vae_model_config *cfg, int64_t V);

/* One named view into the parameter buffer (and, at the same offset, into gradients and the
 * optimizer's moments). Weights are [rows = out, cols = in]; biases have cols = 0. A transposed
 * tensor is held in the buffer as [cols, rows]: enc.0.weight, so that the sparse first layer reads
 * and updates one contiguous row per word of a document, and dec.out.weight, whose GEMMs run faster
 * that way at a rank's batch. Checkpoints and every reader outside the model see the [rows, cols]
 * form, through the functions below. */
typedef struct {
    char name[32];
    int64_t rows, cols;
    size_t offset, size;
    int transposed;
} vae_tensor;

typedef struct {
    int num_tensors;
    vae_tensor tensors[VAE_MAX_TENSORS];
    size_t num_params;
} vae_layout;

/* Checks cfg and computes its layout (names in SPEC's order). */
int vae_layout_compute(const vae_model_config *cfg, vae_layout *layout);
const vae_tensor *vae_layout_find(const vae_layout *layout, const char *name);
/* Where element (r, c) of t's [rows, cols] form lives in a buffer of the layout (offset included). */
size_t vae_tensor_index(const vae_tensor *t, int64_t r, int64_t c);
/* Copies t between its [rows, cols] form (rows, t->size floats) and a buffer of the layout (base). */
void vae_tensor_from_rows(const vae_tensor *t, const float *rows, float *base);
void vae_tensor_to_rows(const vae_tensor *t, const float *base, float *rows);

typedef struct vae_model vae_model;

/* A model for batches of at most max_batch documents with at most max_nnz non-zeros in all
 * (grown on demand by vae_model_reserve, never inside a step). The gradient buffer carries
 * grad_extra more floats after the gradients (the trainer's per-step sums travel in the same
 * allreduce). Parameters start at zero: call vae_model_init_params or copy them in. */
int vae_model_new(vae_model **out, const vae_model_config *cfg, int max_batch, int grad_extra);
/* The same on caller-owned buffers (num_params and num_params + grad_extra floats, zeroed; the
 * model never frees them): the trainer's parameters shared by the ranks of a node. */
int vae_model_new_on(vae_model **out, const vae_model_config *cfg, int max_batch, int grad_extra, float *params,
                     float *grads);
void vae_model_free(vae_model *m);
int vae_model_reserve(vae_model *m, int64_t max_nnz);

const vae_model_config *vae_model_config_of(const vae_model *m);
const vae_layout *vae_model_layout(const vae_model *m);
float *vae_model_params(vae_model *m);  /* [num_params] */
float *vae_model_grads(vae_model *m);   /* [num_params + grad_extra] */
size_t vae_model_num_params(const vae_model *m);
int vae_model_max_batch(const vae_model *m);

/* PyTorch nn.Linear's default: weights and biases uniform in +-1/sqrt(fan_in), drawn from
 * counter-based streams keyed by (seed, tensor), so the result does not depend on the machine. */
void vae_model_init_params(vae_model *m, uint64_t seed);

/* How a step draws z and weighs the loss. */
typedef struct {
    float beta;          /* KL weight of this step */
    int sample;          /* 1: z = mu + exp(logvar/2) * eps; 0: z = mu */
    uint64_t noise_seed; /* eps of document d keyed by (noise_seed, noise_step, d) */
    uint64_t noise_step;
    float scale;         /* the loss is scale * sum_d loss_d (1 / global batch for a mean) */
} vae_step_opts;

/* Sums over the batch's documents, to be combined across ranks. */
typedef struct {
    double loss, recon, kl, docs, tokens;
} vae_loss_sums;

/* Forward pass over docs (docs->num_docs <= max_batch): activations kept for vae_model_backward.
 * Documents with no tokens contribute zero recon (and their KL). */
int vae_model_forward(vae_model *m, const vae_docs *docs, const vae_step_opts *o, vae_loss_sums *s);
/* Writes into the gradient buffer (replacing what it held; the grad_extra floats after the
 * parameters are the caller's) the gradient of scale * sum_d loss_d for the batch of the last
 * forward: no zeroing pass over the buffer first, and the dense layers' GEMMs do not read it. */
void vae_model_backward(vae_model *m, const vae_docs *docs, const vae_step_opts *o);

/* Evaluation (SPEC.md "Figures"), as sums that add across batches and ranks: a flat array of
 * vae_eval_sums_len(L) doubles, the fixed entries below followed by sum mu[L] and sum mu^2[L]. */
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
size_t vae_eval_sums_len(int latent);

#define VAE_EVAL_SEED 0x65766131ull /* the fixed evaluation seed of SPEC.md "Figures" */

/* Adds the batch's sums into sums (which the caller zeroes once). recon and the ELBO average
 * `samples` draws of z per document from (eval_seed, sample, document index). */
int vae_model_eval(vae_model *m, const vae_docs *docs, int samples, uint64_t eval_seed,
                   double *sums);

typedef struct {
    double docs, empty_docs, tokens;
    double recon, kl, elbo, recon_mean;
    double ppl_doc, ppl_corpus;
    int active_units;
} vae_figures;

void vae_figures_from_sums(const double *sums, int latent, vae_figures *f);

/* Inference helpers for vae-infer, on the last forward's batch or an explicit z. */
const float *vae_model_mu(const vae_model *m);      /* [B, L] of the last forward/eval */
const float *vae_model_logvar(const vae_model *m);  /* [B, L] */
/* log p(w | z) for n latent vectors z[n, L] (n <= max_batch) into logp[n, V]. */
int vae_model_decode(vae_model *m, const float *z, int n, float *logp);

#ifdef __cplusplus
}
#endif
#endif
