/* The GRU layer of gru.h: one GEMM for the input projections of every step, one recurrent GEMM a
 * step over the running sequences, the gate arithmetic fused in one pass over a step's rows, and in
 * the backward one GEMM for each weight gradient over every step at once; each GEMM in float32 or,
 * with gru_bf16, in bfloat16. */
#include "gru.h"

#include <cblas.h>
#include <string.h>

#include "layers.h"
#include "vae/common.h"

/* Copies the bias b [O] into each of n rows of out [n, O], which a GEMM with beta 1 then adds to. */
static void bias_rows(float *out, const float *b, int64_t n, int O)
{
    for (int64_t r = 0; r < n; r++)
        memcpy(out + r * O, b, sizeof(float) * (size_t)O);
}

/* One step's gates for n rows, in place: g holds W_i x + b_i (gi_extra added here) and becomes
 * (r, z, n); gh is W_h h + b_h; hout = (1 - z) n + z hprev (hout may be hprev). ghn (NULL: not
 * kept) gets W_hn h + b_hn. A row at a time, its 3H values staying in cache through the passes. */
static void cell_forward(int n, int H, float *g, const float *gh, const float *extra, const float *hprev,
                         float *hout, float *ghn)
{
    for (int r = 0; r < n; r++) {
        float *restrict gr = g + (size_t)r * 3 * H;
        const float *restrict hr = gh + (size_t)r * 3 * H;
        const float *restrict ex = extra ? extra + (size_t)r * 3 * H : NULL;
        for (int i = 0; i < 2 * H; i++)
            gr[i] += hr[i];
        if (ex)
            for (int i = 0; i < 3 * H; i++)
                gr[i] += ex[i];
        vsigmoid(gr, 2 * H);
        for (int i = 0; i < H; i++)
            gr[2 * H + i] += gr[i] * hr[2 * H + i];
        vtanh(gr + 2 * H, H);
        const float *hp = hprev + (size_t)r * H;
        float *ho = hout + (size_t)r * H;
        for (int i = 0; i < H; i++)
            ho[i] = (1.0f - gr[H + i]) * gr[2 * H + i] + gr[H + i] * hp[i];
        if (ghn)
            memcpy(ghn + (size_t)r * H, hr + 2 * H, sizeof(float) * (size_t)H);
    }
}

/* C (+ C when acc) = op(A) op(B), row-major as cblas_sgemm's arguments: in bfloat16 on the
 * rounded copies A16, B16 when b is not NULL, else (or when the backend fails) in float32. */
static void product(const gru_bf16 *b, int ta, int tb, int M, int N, int K, const float *A, const vae_bf16 *A16,
                    int lda, const float *B, const vae_bf16 *B16, int ldb, int acc, float *C, int ldc)
{
    if (b && vae_bf16_gemm_run(b->g, ta, tb, M, N, K, A16, lda, B16, ldb, acc, C, ldc) == VAE_OK)
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda,
                B, ldb, acc ? 1.0f : 0.0f, C, ldc);
}

void gru_forward(const gru_weights *w, const gru_plan *p, const float *x, const float *h0, const float *gi_extra,
                 gru_acts *a)
{
    const int H = w->H, G = 3 * w->H;
    const int64_t N = p->offset[p->steps];
    const gru_bf16 *b = w->b16;
    if (N == 0)
        return;
    if (b) {
        vae_bf16_from_f32(b->w_ih, w->w_ih, (size_t)G * (size_t)w->ld_ih);
        vae_bf16_from_f32(b->w_hh, w->w_hh, (size_t)G * (size_t)H);
        vae_bf16_from_f32(b->x, x, (size_t)N * (size_t)w->In);
    }
    bias_rows(a->gates, w->b_ih, N, G);
    product(b, 0, 1, (int)N, G, w->In, x, b ? b->x : NULL, w->In, w->w_ih, b ? b->w_ih : NULL, w->ld_ih, 1, a->gates,
            G);
    for (int t = 0; t < p->steps; t++) {
        const int n = p->rows[t];
        const int64_t off = p->offset[t];
        float *hp = a->hprev + off * H;
        /* The state before the step, kept contiguous so that the recurrent GEMM and the weight
         * gradient's GEMM read one block. */
        if (t > 0)
            memcpy(hp, a->hout + p->offset[t - 1] * H, sizeof(float) * (size_t)n * (size_t)H);
        else if (h0)
            memcpy(hp, h0, sizeof(float) * (size_t)n * (size_t)H);
        else
            memset(hp, 0, sizeof(float) * (size_t)n * (size_t)H);
        vae_bf16 *hp16 = b ? b->hprev + off * H : NULL;
        if (b)
            vae_bf16_from_f32(hp16, hp, (size_t)n * (size_t)H);
        bias_rows(a->gh, w->b_hh, n, G);
        if (t > 0 || h0)
            product(b, 0, 1, n, G, H, hp, hp16, H, w->w_hh, b ? b->w_hh : NULL, H, 1, a->gh, G);
        cell_forward(n, H, a->gates + off * G, a->gh, gi_extra, hp, a->hout + off * H, a->ghn + off * H);
    }
}

/* One step's gate gradients for n rows from dh (of hout): dgi = (dr', dz', dn'), the gradients of
 * the three pre-activations, and dgh = (dr', dz', r dn'); dprev (NULL: not wanted) += z dh. */
static void cell_backward(int n, int H, const float *g, const float *ghn, const float *hprev, const float *dh,
                          float *dgi, float *dgh, float *dprev)
{
    for (int r = 0; r < n; r++) {
        const float *gr = g + (size_t)r * 3 * H, *gn = ghn + (size_t)r * H, *hp = hprev + (size_t)r * H;
        const float *d = dh + (size_t)r * H;
        float *di = dgi + (size_t)r * 3 * H, *dg = dgh + (size_t)r * 3 * H;
        for (int i = 0; i < H; i++) {
            const float rg = gr[i], zg = gr[H + i], ng = gr[2 * H + i];
            const float dn = d[i] * (1.0f - zg) * (1.0f - ng * ng);
            const float dz = d[i] * (hp[i] - ng) * zg * (1.0f - zg);
            const float dr = dn * gn[i] * rg * (1.0f - rg);
            di[i] = dg[i] = dr;
            di[H + i] = dg[H + i] = dz;
            di[2 * H + i] = dn;
            dg[2 * H + i] = dn * rg;
        }
        if (dprev)
            for (int i = 0; i < H; i++)
                dprev[(size_t)r * H + i] += d[i] * gr[H + i];
    }
}

void gru_backward(const gru_weights *w, const gru_weights *g, const gru_plan *p, const float *x, const gru_acts *a,
                  float *dh, float *dgi, float *dgh, float *dh0, float *dx, float *dgi_sum)
{
    const int H = w->H, G = 3 * w->H, In = w->In;
    const int64_t N = p->offset[p->steps];
    const int B = p->steps ? p->rows[0] : 0;
    const gru_bf16 *b = w->b16;
    if (dh0)
        memset(dh0, 0, sizeof(float) * (size_t)B * (size_t)H);
    if (dgi_sum)
        memset(dgi_sum, 0, sizeof(float) * (size_t)B * (size_t)G);
    if (N == 0) {
        for (int r = 0; r < G; r++)
            memset(g->w_ih + (size_t)r * w->ld_ih, 0, sizeof(float) * (size_t)In);
        memset(g->w_hh, 0, sizeof(float) * (size_t)G * (size_t)H);
        memset(g->b_ih, 0, sizeof(float) * (size_t)G);
        memset(g->b_hh, 0, sizeof(float) * (size_t)G);
        return;
    }
    for (int t = p->steps - 1; t >= 0; t--) {
        const int n = p->rows[t];
        const int64_t off = p->offset[t];
        /* The previous step's rows 0..n-1 are these sequences' states before this step. */
        float *dprev = t > 0 ? dh + p->offset[t - 1] * H : dh0;
        cell_backward(n, H, a->gates + off * G, a->ghn + off * H, a->hprev + off * H, dh + off * H, dgi + off * G,
                      dgh + off * G, dprev);
        if (b)
            vae_bf16_from_f32(b->dgh + off * G, dgh + off * G, (size_t)n * (size_t)G);
        if (dprev)
            product(b, 0, 0, n, H, G, dgh + off * G, b ? b->dgh + off * G : NULL, G, w->w_hh, b ? b->w_hh : NULL, H, 1,
                    dprev, H);
        if (dgi_sum)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < G; i++)
                    dgi_sum[(size_t)j * G + i] += dgi[(off + j) * G + i];
    }
    row_sums(g->b_ih, dgi, (int)N, G);
    row_sums(g->b_hh, dgh, (int)N, G);
    if (b)
        vae_bf16_from_f32(b->dgi, dgi, (size_t)N * (size_t)G);
    product(b, 1, 0, G, In, (int)N, dgi, b ? b->dgi : NULL, G, x, b ? b->x : NULL, In, 0, g->w_ih, w->ld_ih);
    product(b, 1, 0, G, H, (int)N, dgh, b ? b->dgh : NULL, G, a->hprev, b ? b->hprev : NULL, H, 0, g->w_hh, H);
    if (dx)
        product(b, 0, 0, (int)N, In, G, dgi, b ? b->dgi : NULL, G, w->w_ih, b ? b->w_ih : NULL, w->ld_ih, 0, dx, In);
}

void gru_step(const gru_weights *w, int n, const float *x, const float *h, const float *gi_extra, float *h_next,
              float *gates, float *gh)
{
    const int H = w->H, G = 3 * w->H;
    bias_rows(gates, w->b_ih, n, G);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, G, w->In, 1.0f, x, w->In, w->w_ih, w->ld_ih, 1.0f, gates,
                G);
    bias_rows(gh, w->b_hh, n, G);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, G, H, 1.0f, h, H, w->w_hh, H, 1.0f, gh, G);
    cell_forward(n, H, gates, gh, gi_extra, h, h_next, NULL);
}
