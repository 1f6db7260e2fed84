/* The model interface: what the trainer, checkpoints, evaluation and vae-infer know of a model,
 * whatever its family (SPEC.md "Model families"). A configuration names its family (family.h) and
 * holds the family's architecture settings; a model is made from one, on parameter and gradient
 * buffers that the caller owns (or its own), and runs forward and backward over a batch, evaluation
 * sums and their figures, and what inference needs. Models see only buffers: no MPI, no HDF5.
 *
 * Shapes: B units (documents or sequences) in a batch, V vocabulary, L latent units. */
#ifndef VAE_MODEL_H
#define VAE_MODEL_H

#include "vae/common.h"
#include "vae/batch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vae_family vae_family;

/* ---- Parameter layout */

#define VAE_MAX_TENSORS 38 /* bow's deepest model: 8 + 8 hidden layers */

/* One named view into the parameter buffer (and, at the same offset, into gradients and the
 * optimizer's moments). Weights are [rows = out, cols = in]; biases have cols = 0. A transposed
 * tensor is held in the buffer as [cols, rows] (the family chooses which, for its kernels' sake).
 * Checkpoints and every reader outside the model see the [rows, cols] form, through the functions
 * below. */
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

const vae_tensor *vae_layout_find(const vae_layout *layout, const char *name);
/* Where element (r, c) of t's [rows, cols] form lives in a buffer of the layout (offset included). */
size_t vae_tensor_index(const vae_tensor *t, int64_t r, int64_t c);
/* Copies t between its [rows, cols] form (rows, t->size floats) and a buffer of the layout (base). */
void vae_tensor_from_rows(const vae_tensor *t, const float *rows, float *base);
void vae_tensor_to_rows(const vae_tensor *t, const float *base, float *rows);

/* ---- Configuration */

#define VAE_MAX_SETTINGS 8
#define VAE_MAX_LIST 8

/* The value of one architecture setting (family.h's vae_setting_spec says which kind). */
typedef struct {
    int64_t num;              /* an integer; a choice's index; a list's length */
    int64_t list[VAE_MAX_LIST];
    double real;              /* a REAL */
} vae_setting_value;

/* A model's configuration: its family, the vocabulary size and the family's settings, values[i]
 * being family->settings[i]. Plain data: copied by assignment, compared by vae_model_config_diff. */
typedef struct {
    const vae_family *family;
    int64_t vocab_size;
    vae_setting_value values[VAE_MAX_SETTINGS];
} vae_model_config;

/* The family named family (vae_family_find) with its default settings and vocab_size V. */
int vae_model_config_init(vae_model_config *c, const char *family, int64_t V);
/* Sets the setting key (family->settings[i].key) from its text form ("32", "128,64", "relu").
 * VAE_ERR_ARG when the family has no such setting or the text is not a value of it: the message
 * says what is wrong with the value alone, for the caller to say where it came from. */
int vae_model_config_set(vae_model_config *c, const char *key, const char *text);
/* The text form of setting i, as vae_model_config_set reads it ("" for an empty list). */
void vae_model_config_text(const vae_model_config *c, int i, char *buf, size_t size);
/* NULL when a and b describe the same model; else the first difference, in buf. */
const char *vae_model_config_diff(const vae_model_config *a, const vae_model_config *b, char *buf, size_t size);

/* Checks c as a whole and computes the layout of its parameters (names in the family's order), or
 * of its running statistics (no tensors for a family without any). */
int vae_layout_compute(const vae_model_config *c, vae_layout *layout);
int vae_state_layout_compute(const vae_model_config *c, vae_layout *layout);

/* ---- A model */

typedef struct vae_model vae_model;

/* A model for batches of at most max_batch units, on caller-owned buffers of num_params floats
 * each (the layout's; zeroed): params, and grads, which the model writes and never reads past
 * num_params, so the caller may keep its own data after the gradients. The model never frees
 * them. Running statistics, if any, are the model's own (vae_model_state). */
int vae_model_new_on(vae_model **out, const vae_model_config *c, int max_batch, float *params, float *grads);
/* The same on buffers of its own. Parameters start at zero: init or copy them in. */
int vae_model_new(vae_model **out, const vae_model_config *c, int max_batch);
void vae_model_free(vae_model *m);

const vae_model_config *vae_model_config_of(const vae_model *m);
const vae_family *vae_model_family(const vae_model *m);
const vae_layout *vae_model_layout(const vae_model *m);
const vae_layout *vae_model_state_layout(const vae_model *m);
float *vae_model_params(vae_model *m);  /* [num_params] */
float *vae_model_grads(vae_model *m);   /* [num_params] */
float *vae_model_state(vae_model *m);   /* [state layout's num_params]; NULL when it has none */
size_t vae_model_num_params(const vae_model *m);
int vae_model_max_batch(const vae_model *m);
int vae_model_latent(const vae_model *m);

/* The family's initialization (bow: PyTorch nn.Linear's default) from counter-based streams keyed
 * by (seed, tensor), so the result does not depend on the machine. */
void vae_model_init_params(vae_model *m, uint64_t seed);

/* Sums buf[0..n) in place over every process that holds a part of the global batch (the trainer's:
 * the comm layer's sum over the ranks), so that statistics over a batch are the global batch's. */
typedef int (*vae_reduce_fn)(double *buf, size_t n, void *ctx);

/* How a step draws z and weighs the loss. */
typedef struct {
    float beta;          /* KL weight of this step */
    int sample;          /* 1: z = mu + exp(logvar/2) * eps; 0: z = mu */
    uint64_t noise_seed; /* eps of unit d keyed by (noise_seed, noise_step, d's index in its split) */
    uint64_t noise_step;
    float scale;         /* the loss is scale * sum_d loss_d (1 / global batch for a mean) */
    /* NULL: this batch is the global one. A family with batch statistics (topic) calls it the same
     * number of times in every forward and every backward, whatever the batch: so each process runs
     * one forward and one backward a step, even with no documents and after a failure. */
    vae_reduce_fn reduce;
    void *reduce_ctx;
    /* Free bits (SPEC.md "sentence", Kingma et al. 2016), 0 for none: the loss's KL is then
     * sum_u max(free_bits, mean over the global batch of kl_u); the mean comes through reduce (one
     * sum of L + 1 doubles in the forward whenever free_bits > 0: the units' KL summed over the
     * sequences, and their count). The sums report the true KL. */
    float free_bits;
} vae_step_opts;

/* Sums over the batch's units, to be combined across ranks. */
typedef struct {
    double loss, recon, kl, units, tokens;
} vae_loss_sums;

/* Forward pass over the batch's units of the family's kind (at most max_batch): activations kept
 * for vae_model_backward. b NULL: this process has no batch this step (its read failed), and
 * computes an empty one's. When it fails (a batch over the capacity, no memory), the model still
 * joins o->reduce's sums as for an empty batch, and the next backward is that of an empty batch. */
int vae_model_forward(vae_model *m, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s);
/* Writes the gradient of scale * sum_d loss_d for the batch of the last forward into the gradient
 * buffer's num_params floats, replacing what they held. */
void vae_model_backward(vae_model *m, const vae_batch *b, const vae_step_opts *o);

/* ---- Evaluation (SPEC.md "Figures"): sums that add across batches and ranks, then figures */

#define VAE_EVAL_SEED 0x65766131ull /* the fixed evaluation seed of SPEC.md "Figures" */

/* Doubles of the family's evaluation sums. */
size_t vae_model_eval_sums_len(const vae_model *m);
/* Adds the batch's sums into sums (which the caller zeroes once); z averaged over `samples` draws
 * per unit from (eval_seed, sample, unit index). */
int vae_model_eval(vae_model *m, const vae_batch *b, int samples, uint64_t eval_seed, double *sums);

#define VAE_MAX_FIGURES 16

typedef struct {
    const char *name; /* SPEC's name: the key of eval lines and of vae-infer eval */
    double value;
    int integer;      /* a count, written as an integer */
    int headline;     /* shown in the trainer's progress line */
} vae_figure;

typedef struct {
    int count;
    vae_figure of[VAE_MAX_FIGURES];
} vae_figures;

/* The family's figures from summed evaluation sums, in the order they are reported. */
void vae_model_figures(const vae_model *m, const double *sums, vae_figures *f);
/* The figure of that name; NULL when the family has none. */
const vae_figure *vae_figures_find(const vae_figures *f, const char *name);

/* ---- Inference */

/* mu and logvar [n, L] of the batch's n units (n <= max_batch). */
int vae_model_encode(vae_model *m, const vae_batch *b, float *mu, float *logvar);
/* log p(w | z) [n, V] for n latent vectors z [n, L] (n <= max_batch), for families whose decoder
 * gives one distribution over the words per z (VAE_ERR_ARG naming the family otherwise). */
int vae_model_decode(vae_model *m, const float *z, int n, float *logp);
/* For a family whose topics are a matrix (topic): weight [L, V] of each word in each topic, by which
 * topics rank words; VAE_ERR_ARG naming the family otherwise. */
int vae_model_topic_words(vae_model *m, float *weight);
/* 1 when a latent vector maps to a document's topic proportions (topic: theta = softmax(z)), which
 * encode writes as /theta; vae_model_theta gives theta [n, L] of n latent vectors z [n, L]
 * (VAE_ERR_ARG naming the family for one without). */
int vae_model_has_theta(const vae_model *m);
int vae_model_theta(vae_model *m, const float *z, int n, float *theta);

/* ---- Sequences: families whose unit is a sequence of tokens (sentence) */

/* Sizes the activations for batches of at most max_tokens tokens in all (the sequences' own, the
 * end tokens not counted), besides the max_batch sequences; a model starts sized for 64 a
 * sequence (VAE_SEQ_TOKENS_PER_UNIT). Outside any step (it allocates); a no-op for a family of documents. A batch of more
 * tokens is refused by forward, eval and encode as one over capacity. */
#define VAE_SEQ_TOKENS_PER_UNIT 64
int vae_model_reserve_tokens(vae_model *m, int64_t max_tokens);
int64_t vae_model_max_tokens(const vae_model *m);

/* Classes of the decoder's output for a family that decodes sequences (sentence: V + 2, token ids
 * as SPEC.md's: words, <unk> = V, <s> / </s> = V + 1) and the size of its decoder state; both 0
 * for a family that decodes none. */
int64_t vae_model_seq_classes(const vae_model *m);
int vae_model_seq_state_size(const vae_model *m);
/* The decoder's initial states h [n, state size] for n latent vectors z [n, L] (n <= max_batch). */
int vae_model_seq_start(vae_model *m, const float *z, int n, float *h);
/* One decoding step for n sequences: from their states h [n, state size], their previous tokens
 * prev [n] (<s> first) and their z [n, L], the next states h_next [n, state size] (may be h) and
 * log p(next token) logp [n, classes]. VAE_ERR_ARG naming the family for one that decodes no
 * sequences. */
int vae_model_seq_step(vae_model *m, const float *z, const int32_t *prev, const float *h, int n, float *h_next,
                       float *logp);

/* ---- Precision (SPEC.md "Precision") */

typedef enum { VAE_PRECISION_FP32, VAE_PRECISION_BF16 } vae_precision;
extern const char *const vae_precision_names[]; /* "fp32", "bf16", NULL */

/* The precision of the model's matrix products from now on, in every pass (parameters, gradients
 * and sums stay float32, so it is no part of the model: a checkpoint does not record it). Outside
 * any step (it allocates). VAE_ERR_ARG naming the family for one with float32 products only;
 * VAE_ERR_LIMIT when this build or CPU cannot multiply in bfloat16 (the message says which). */
int vae_model_set_precision(vae_model *m, vae_precision p);

/* Importance weights (Burda et al. 2015) of the batch's n units: logw [n, K], logw[i, k] =
 * log p(x_i | z_ik) + log p(z_ik) - log q(z_ik | x_i) for K draws z_ik ~ q(z | x_i) from the
 * counter-based streams of (eval_seed, k, unit index). VAE_ERR_ARG naming the family for one
 * without. */
int vae_model_log_weights(vae_model *m, const vae_batch *b, int K, uint64_t eval_seed, double *logw);

#ifdef __cplusplus
}
#endif
#endif
