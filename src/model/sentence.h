/* The family sentence, the sentence VAE of SPEC.md "Model families" (Bowman et al. 2015), as its
 * own files see it: the configuration as typed fields, the model's buffers, and the passes that
 * the training step (sentence.c) and evaluation and decoding (sentence_eval.c) share. Private to
 * src/model (and to the tests that check its math). */
#ifndef VAE_SENTENCE_H
#define VAE_SENTENCE_H

#include "bf16.h"
#include "gru.h"
#include "layers.h"
#include "model_base.h"

typedef struct {
    int64_t vocab_size; /* V words; the classes are V + 2 (<unk> = V, <s> / </s> = V + 1) */
    int embedding, hidden, latent;
    double word_dropout;
} vae_sentence_config;

void vae_sentence_config_of(const vae_model_config *c, vae_sentence_config *out);

/* Word dropout's uniforms of the sequence of split index i at step s are the stream
 * (noise_seed ^ SENTENCE_DROPOUT_KEY, s, i), the p-th of them for the decoder input that carries
 * the sequence's token p (SPEC.md "sentence"). */
#define SENTENCE_DROPOUT_KEY 0x776f726464726f70ull

/* Tensors in SPEC's order. */
enum {
    T_EMB,
    T_ENC_W_IH, T_ENC_W_HH, T_ENC_B_IH, T_ENC_B_HH,
    T_MU_W, T_MU_B, T_LV_W, T_LV_B,
    T_INIT_W, T_INIT_B,
    T_DEC_W_IH, T_DEC_W_HH, T_DEC_B_IH, T_DEC_B_HH,
    T_OUT_W, T_OUT_B,
    SENTENCE_NUM_TENSORS
};

/* Rows of the output layer's logits computed at once: its GEMMs run over every step's states in
 * blocks of this many, which bounds the scratch to a block of [rows, V + 2]. */
#define SENTENCE_OUT_BLOCK 512

typedef struct {
    vae_model base;
    vae_sentence_config cfg;
    int64_t classes;   /* V + 2 */
    int64_t cap_rows;  /* packed decoder rows the per-token buffers hold: tokens + sequences */
    /* The last batch, sorted longest first: order[j] its position in the batch, len[j], start[j]
     * (its first token), index[j] (its split index); the plans of both GRUs. */
    int B;
    int *order, *len;
    int64_t *start, *index;
    gru_plan enc_plan, dec_plan;
    /* Per token (packed rows): the encoder's inputs and activations, the decoder's input ids,
     * targets, inputs and activations, the gradient of its states, the backward's scratch. */
    int32_t *enc_in, *dec_in, *dec_target, *dec_seq; /* dec_seq: the sorted sequence of each decoder row */
    double *uniforms;                        /* word dropout's, one a token */
    float *enc_x, *dec_x;
    gru_acts enc, dec;
    float *d_dec_h, *d_enc_h, *dgi, *dgh, *dx;
    /* Per sequence [B, width]. */
    float *h_last, *mu, *logvar, *eps, *z, *z_gates, *h0, *dz, *dmu, *dlogvar, *dh0, *dh_last, *dz_gates;
    double *recon;     /* [B] */
    double *recon_avg; /* [B] evaluation's mean over the draws */
    double *kl_sums;   /* [L + 1]: free bits' sums over the global batch (units' KL, then the count) */
    float *kl_weight;  /* [L]: d loss / d kl_u per sequence (beta scale, or 0 for a unit held at L) */
    float *logits;     /* [SENTENCE_OUT_BLOCK, classes] */
    double *row_loss;  /* [SENTENCE_OUT_BLOCK] -log p(target) of each row of a block */
    float *ones;       /* [SENTENCE_OUT_BLOCK] 1s: the output bias's gradient as a matrix-vector product */
    float *d_out_w, *d_out_b; /* the output layer's gradient, summed in the training forward */
    /* --precision bf16 (NULL: fp32): the output layer's three products (three quarters of a step's
     * FLOPs at the defaults) take bfloat16 copies of its weight (made once a pass: it changes only
     * between steps), of a block's states and of the block's d logits; both GRUs' through enc16 and
     * dec16 (gru.h; their dgi and dgh shared, as the backwards run one after the other). */
    vae_bf16_gemm *bf16;
    vae_bf16 *out_w16, *h16, *dlog16; /* [classes, H], [SENTENCE_OUT_BLOCK, H], [SENTENCE_OUT_BLOCK, classes] */
    gru_bf16 enc16, dec16;
} sentence_model;

static inline sentence_model *sentence(vae_model *m) { return (sentence_model *)m; }
static inline float *sentence_param(const sentence_model *m, int t)
{
    return m->base.params + m->base.layout.tensors[t].offset;
}
static inline float *sentence_grad(const sentence_model *m, int t)
{
    return m->base.grads + m->base.layout.tensors[t].offset;
}

/* Sorts the batch's sequences longest first (ties in batch order) and plans both GRUs; refuses a
 * token outside [0, V]. */
int sentence_plan(sentence_model *m, const vae_seqs *s);
/* The encoder over the planned batch: mu, logvar [B, L] in sorted order. */
void sentence_encode_sorted(sentence_model *m, const vae_seqs *s);
/* The decoder at z [B, L] (sorted order) over the planned batch: recon[j] of each sequence. In
 * training (o not NULL) with word dropout, and the output layer's backward done block by block on
 * the way: the gradient of scale * sum recon with respect to the decoder's states (d_dec_h) and
 * the output layer's weights (d_out_w, d_out_b). Fails only where a bfloat16 product does. */
int sentence_decode_sorted(sentence_model *m, const vae_seqs *s, const float *z, const vae_step_opts *o);
/* z's part of the decoder's input projection, z_gates [n, 3H] = z W_ih[:, E:]^T, once a sequence
 * for every step; the decoder's initial states h [n, H] = tanh(dec.init(z)). */
void sentence_z_gates(sentence_model *m, const float *z, int n);
void sentence_h0(const sentence_model *m, const float *z, int n, float *h);
/* KL of sorted sequence j against N(0, I), in double; unit u alone with kl_unit. */
double sentence_kl(const sentence_model *m, int j);
double sentence_kl_unit(const sentence_model *m, int j, int u);
/* The GRUs' weights (or gradients) in the form gru.h takes. */
gru_weights sentence_gru(const sentence_model *m, float *base, int decoder);

/* The training step (sentence_step.c). */
int sentence_forward(vae_model *m, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s);
void sentence_backward(vae_model *m, const vae_batch *b, const vae_step_opts *o);

/* sentence_eval.c: evaluation, figures, encoding, importance weights and step-by-step decoding. */
size_t sentence_eval_sums_len(const vae_model *m);
int sentence_eval(vae_model *m, const vae_batch *b, int samples, uint64_t eval_seed, double *sums);
void sentence_figures(const vae_model *m, const double *sums, vae_figures *f);
int sentence_encode(vae_model *m, const vae_batch *b, float *mu, float *logvar);
int sentence_log_weights(vae_model *m, const vae_batch *b, int K, uint64_t eval_seed, double *logw);
int sentence_seq_start(vae_model *m, const float *z, int n, float *h);
int sentence_seq_step(vae_model *m, const float *z, const int32_t *prev, const float *h, int n, float *h_next,
                      float *logp);

#endif
