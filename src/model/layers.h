/* The model's building blocks as plain functions over explicit shapes (row-major):
 * `X_forward(out, ..., in, weights)` and `X_backward(din, dweights, ..., dout, ...)`; backward
 * passes accumulate (+=) into every gradient, input gradients included (so two heads reading one
 * input add their contributions).
 * B: rows of a batch, In: input width, O: output width, V: vocabulary. */
#ifndef VAE_LAYERS_H
#define VAE_LAYERS_H

#include <stddef.h>

#include "vae/batch.h"

typedef enum { VAE_ACT_RELU, VAE_ACT_TANH, VAE_ACT_SOFTPLUS } vae_activation;
typedef enum { VAE_INPUT_LOG1P, VAE_INPUT_COUNTS, VAE_INPUT_L1 } vae_input_transform;

extern const char *const vae_activation_names[];      /* "relu", "tanh", "softplus", NULL */
extern const char *const vae_input_transform_names[]; /* "log1p", "counts", "l1", NULL */

/* out[B, O] = in[B, In] w^T + b[O], with w held [O, In] (nn.Linear's form) or, w_in_out set,
 * [In, O] (see vae_tensor.transposed). b NULL: no bias, and out is only written (the output layer's
 * bias is added in the log-softmax's first pass instead, saving a pass over B x V). */
void linear_forward(float *out, const float *in, const float *w, int w_in_out, const float *b, int B, int In,
                    int O);
/* The same with w [O, In], one matrix-vector product a row: a row's result does not depend on the
 * other rows of the batch, as a GEMM's may (by its blocking), so a layer that feeds a
 * normalization over the batch gives the same on any split of the batch. For narrow layers, where
 * a GEMM gains little. */
void linear_forward_rowwise(float *out, const float *in, const float *w, const float *b, int B, int In, int O);
/* db[O] = the sum of dout's B rows (written, not added to). */
void row_sums(float *db, const float *dout, int B, int O);
/* dw = dout^T in (in w's form); db[O] = sum_rows dout; din[B, In] += dout w (din accumulates: two heads
 * read the same input). db or din NULL: skipped. */
void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int w_in_out, int B, int In, int O);

/* The first encoder layer over the sparse batch: out[B, O] = X wt + b, with the weight word-major
 * (wt[V, O], the transpose of nn.Linear's [O, V]) and row r of X holding xval[k] at column
 * x->indices[k]. Cost proportional to the batch's non-zeros. */
void sparse_linear_forward(float *out, const vae_docs *x, const float *xval, const float *wt,
                           const float *b, int O);
/* dwt[V, O] += X^T dout, touching only the rows of words present in the batch (so the caller
 * zeroes dwt first); db = sum_rows dout. */
void sparse_linear_backward(float *dwt, float *db, const float *dout, const vae_docs *x,
                            const float *xval, int O);

/* xval[k] = transform of the count at non-zero k (log1p, the count, or count / document total). */
void input_transform_forward(float *xval, const vae_docs *x, vae_input_transform t);

/* y = act(y) in place over n values. */
void activation_forward(float *y, size_t n, vae_activation a);
/* dy *= act'(x), expressed through the activation's output y (all three allow it). */
void activation_backward(float *dy, const float *y, size_t n, vae_activation a);

/* log sum_v exp(logits[v]) of one row, stable for any finite logits. With bias non-NULL, first
 * logits[v] += bias[v] in place (in the same pass as the maximum). */
float logsumexp_row(float *logits, const float *bias, int64_t V);

/* exp(x) for x <= 0 (accurate to a few ulp; vectorizable, unlike libm's expf). */
void vexp_shifted(float *out, const float *x, float shift, float mul, int64_t n);

/* In place over n values, vectorized on the exp kernel above: sigmoid (a few ulp) and tanh (within
 * 1e-7 absolutely), the GRU's gate nonlinearities. */
void vsigmoid(float *x, int64_t n);
void vtanh(float *x, int64_t n);

/* z[r] = mu[r] + exp(logvar[r] / 2) * eps[r] for n rows ([n, L]), eps of row r the normals of the
 * stream (seed, step, index[r]), index[r] the unit's index in its split (a document's doc_index, a
 * sequence's seq_index); sample = 0 gives z = mu and eps = 0. */
void reparameterize(float *z, float *eps, const float *mu, const float *logvar, const int64_t *index, int64_t n,
                    int L, int sample, uint64_t seed, uint64_t step);
/* Room for need floats in *buf (capacity *cap), grown by realloc when short; its old contents lost. */
int reserve_floats(float **buf, int64_t *cap, int64_t need);

/* Row r's tokens sum_w n_rw, and its reconstruction -sum_w n_rw log p(w) = N_r lse - sum_w n_rw
 * logit[w] from its logits and their log-normalizer, in double. */
double doc_tokens(const vae_docs *d, int64_t r);
double sparse_recon(const float *logit, float lse, const vae_docs *d, int64_t r);

/* Batch normalization without a scale, over a global batch of n rows split among processes
 * (batchnorm.c): y = (x - mean) inv_std + bias per column, C columns.
 * Forward: bn_sums gives this process's [sum x (C), sum x^2 (C)] of its B rows; once they are
 * summed over the processes, bn_batch_stats gives the batch's mean and inv_std (biased variance)
 * and moves the running statistics (momentum 0.1, unbiased variance); at inference
 * bn_running_stats gives them from the running statistics instead. bn_forward writes hat (the
 * normalized x; NULL: not kept) and y.
 * Backward: bn_backward_sums gives [sum dy, sum dy hat] of the B rows (and writes dbias, this
 * process's part); summed over the processes, bn_backward writes dx (and leaves the sums divided
 * by n, their means). dy in double: it may be
 * mostly the affine part that the normalization cancels (batchnorm.c). */
void bn_sums(double *sums, const float *x, int B, int C);
void bn_batch_stats(const double *sums, double n, int C, float *mean, float *inv_std, float *running_mean,
                    float *running_var);
void bn_running_stats(int C, const float *running_mean, const float *running_var, float *mean, float *inv_std);
void bn_forward(float *hat, float *y, const float *x, const float *mean, const float *inv_std, const float *bias,
                int B, int C);
void bn_backward_sums(double *sums, float *dbias, const double *dy, const float *hat, int B, int C);
void bn_backward(float *dx, const double *dy, const float *hat, double *sums, double n, const float *inv_std, int B,
                 int C);

#endif
