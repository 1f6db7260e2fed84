/* A one-layer GRU (PyTorch's equations and layout, gates in the order r, z, n) over a batch of
 * sequences sorted longest first and packed time-major: step t holds the rows[t] sequences still
 * running, which are a prefix of the batch, at packed rows offset[t] .. offset[t] + rows[t] - 1. So
 * the recurrent GEMM of a step runs over the running sequences only, and the input projections
 * and the weight gradients are one GEMM each over every step at once. Private to src/model. */
#ifndef VAE_GRU_H
#define VAE_GRU_H

#include <stdint.h>

#include "bf16.h"

/* The time steps of a sorted batch: rows[t] is non-increasing; offset[steps] is the packed rows. */
typedef struct {
    int steps;
    int *rows;       /* [steps] */
    int64_t *offset; /* [steps + 1] */
} gru_plan;

/* --precision bf16 for one layer's products over a plan (gru_step stays float32): the backend and
 * the rounded copies, sized by the caller for the plan's N rows: the weights [3H, ld_ih] and [3H, H]
 * (made by each gru_forward), the inputs x [N, In] and the states before each step hprev [N, H]
 * (made by the forward, read by the backward's weight gradients), and the backward's gate
 * gradients dgi, dgh [N, 3H]. A product the backend fails is made in float32 from the same
 * operands, so a pass never stops half-way. */
typedef struct {
    vae_bf16_gemm *g;
    vae_bf16 *w_ih, *w_hh, *x, *hprev, *dgi, *dgh;
} gru_bf16;

/* The weights (or, in gru_backward, their gradients) of one layer: w_ih [3H, ld_ih], of which the
 * first In columns multiply the packed inputs (the decoder's other columns multiply its z, which
 * the caller handles through gi_extra), w_hh [3H, H], b_ih and b_hh [3H]; b16 NULL for float32
 * products. */
typedef struct {
    int H, In, ld_ih;
    float *w_ih, *w_hh, *b_ih, *b_hh;
    const gru_bf16 *b16;
} gru_weights;

/* What the forward keeps for the backward, each packed [N rows, width]: gates [N, 3H] (r, z, n
 * after the nonlinearities), ghn [N, H] (W_hn h + b_hn, which r multiplies), hprev and hout [N, H]
 * (the state before and after each step); gh [max rows of a step, 3H] is scratch. */
typedef struct {
    float *gates, *ghn, *hprev, *hout, *gh;
} gru_acts;

/* The forward over x [N, In] (packed inputs) from h0 [rows[0], H] (NULL: zeros). gi_extra, when
 * not NULL, is [rows[0], 3H] added to the input projection of sequence j at every step. */
void gru_forward(const gru_weights *w, const gru_plan *p, const float *x, const float *h0, const float *gi_extra,
                 gru_acts *a);

/* The backward. dh [N, H] holds the gradient of the loss with respect to hout (consumed: the
 * recurrence adds into it); dgi, dgh [N, 3H] are scratch. Writes (replacing) g's four tensors, of
 * w_ih the first In columns of each row; dh0 [rows[0], H] the gradient of h0 (NULL when h0 was
 * zeros); dx [N, In] of the inputs (NULL: not wanted); dgi_sum [rows[0], 3H], the gradient of
 * gi_extra (NULL: not wanted). */
void gru_backward(const gru_weights *w, const gru_weights *g, const gru_plan *p, const float *x, const gru_acts *a,
                  float *dh, float *dgi, float *dgh, float *dh0, float *dx, float *dgi_sum);

/* One step for n rows outside any plan (decoding): h_next [n, H] (may be h) from x [n, In], h
 * [n, H] and gi_extra [n, 3H] (or NULL); gates [n, 3H] and gh [n, 3H] are scratch. */
void gru_step(const gru_weights *w, int n, const float *x, const float *h, const float *gi_extra, float *h_next,
              float *gates, float *gh);

#endif
