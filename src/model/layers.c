/* Dense and sparse linear layers, activations, input transforms and the log-softmax kernels. GEMMs
 * go to OpenBLAS; the rest are loops written so that the compiler vectorizes them. */
#include "layers.h"
#include "threads.h"
#include "vae/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void linear_forward(float *out, const float *in, const float *w, int w_in_out, const float *b, int B, int In,
                    int O)
{
    for (int r = 0; b && r < B; r++)
        memcpy(out + (size_t)r * O, b, sizeof(float) * (size_t)O);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, w_in_out ? CblasNoTrans : CblasTrans, B, O, In, 1.0f, in, In, w,
                w_in_out ? O : In, b ? 1.0f : 0.0f, out, O);
}

void linear_forward_rowwise(float *out, const float *in, const float *w, const float *b, int B, int In, int O)
{
    for (int r = 0; r < B; r++) {
        float *y = out + (size_t)r * O;
        if (b)
            memcpy(y, b, sizeof(float) * (size_t)O);
        /* One matrix-vector product a row: each output one dot product, whatever the batch. */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, O, In, 1.0f, w, In, in + (size_t)r * In, 1, b ? 1.0f : 0.0f, y, 1);
    }
}

void row_sums(float *db, const float *dout, int B, int O)
{
    memset(db, 0, sizeof(float) * (size_t)O);
    for (int r = 0; r < B; r++) {
        const float *row = dout + (size_t)r * O;
        for (int o = 0; o < O; o++)
            db[o] += row[o];
    }
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int w_in_out, int B, int In, int O)
{
    if (db)
        row_sums(db, dout, B, O);
    if (B == 0) {
        memset(dw, 0, sizeof(float) * (size_t)O * (size_t)In);
        return;
    }
    /* beta = 0: dw is written, so nobody zeroes it first and the GEMM does not read it. */
    if (w_in_out)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, In, O, B, 1.0f, in, In, dout, O, 0.0f, dw, O);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, In, B, 1.0f, dout, O, in, In, 0.0f, dw, In);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, w_in_out ? CblasTrans : CblasNoTrans, B, In, O, 1.0f, dout, O, w,
                    w_in_out ? O : In, 1.0f, din, In);
}

/* The weight is word-major (wt[V, O], see vae_tensor.transposed): each non-zero of a document
 * reads, or in the backward pass updates, one contiguous O-float row, which the compiler turns into
 * a few vector multiply-adds; an [O, V] weight would need O scattered loads per non-zero. */
typedef struct {
    float *out;
    const vae_docs *x;
    const float *xval, *wt, *b;
    int O;
} sparse_job;

/* [lo, hi) of n items for a part. */
static void part_range(int64_t n, int part, int parts, int64_t *lo, int64_t *hi)
{
    *lo = n * part / parts;
    *hi = n * (part + 1) / parts;
}

/* A part is a range of documents: each writes only its own rows of out. */
static void sparse_forward_part(void *arg, int part, int parts)
{
    const sparse_job *j = arg;
    const vae_docs *x = j->x;
    const int O = j->O;
    int64_t r, hi;
    part_range(x->num_docs, part, parts, &r, &hi);
    for (; r < hi; r++) {
        float *restrict dst = j->out + r * O;
        memcpy(dst, j->b, sizeof(float) * (size_t)O);
        for (int64_t k = x->indptr[r]; k < x->indptr[r + 1]; k++) {
            const float v = j->xval[k];
            const float *restrict w = j->wt + (size_t)x->indices[k] * (size_t)O;
            for (int o = 0; o < O; o++)
                dst[o] += v * w[o];
        }
    }
}

void sparse_linear_forward(float *out, const vae_docs *x, const float *xval, const float *wt,
                           const float *b, int O)
{
    sparse_job j = {out, x, xval, wt, b, O};
    vae_parallel_parts(sparse_forward_part, &j);
}

/* A part is a range of output units (columns of dwt): two documents sharing a word update the same
 * row, so splitting by document would race. Here out is dwt and b is dout. */
static void sparse_backward_part(void *arg, int part, int parts)
{
    const sparse_job *j = arg;
    const vae_docs *x = j->x;
    const int O = j->O;
    const float *dout = j->b;
    int64_t lo, hi;
    part_range(O, part, parts, &lo, &hi);
    for (int64_t r = 0; r < x->num_docs; r++) {
        const float *restrict g = dout + r * O;
        for (int64_t k = x->indptr[r]; k < x->indptr[r + 1]; k++) {
            const float v = j->xval[k];
            float *restrict dw = j->out + (size_t)x->indices[k] * (size_t)O;
            for (int64_t o = lo; o < hi; o++)
                dw[o] += v * g[o];
        }
    }
}

void sparse_linear_backward(float *dwt, float *db, const float *dout, const vae_docs *x,
                            const float *xval, int O)
{
    sparse_job j = {dwt, x, xval, NULL, dout, O};
    vae_parallel_parts(sparse_backward_part, &j);
    row_sums(db, dout, (int)x->num_docs, O);
}

void input_transform_forward(float *xval, const vae_docs *x, vae_input_transform t)
{
    for (int64_t r = 0; r < x->num_docs; r++) {
        const int64_t lo = x->indptr[r], hi = x->indptr[r + 1];
        double total = 0.0;
        if (t == VAE_INPUT_L1)
            for (int64_t k = lo; k < hi; k++)
                total += x->counts[k];
        for (int64_t k = lo; k < hi; k++) {
            const float n = (float)x->counts[k];
            switch (t) {
            case VAE_INPUT_LOG1P: xval[k] = log1pf(n); break;
            case VAE_INPUT_COUNTS: xval[k] = n; break;
            case VAE_INPUT_L1: xval[k] = (float)(n / total); break;
            }
        }
    }
}

void activation_forward(float *y, size_t n, vae_activation a)
{
    switch (a) {
    case VAE_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case VAE_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case VAE_ACT_SOFTPLUS:
        /* PyTorch's threshold: beyond 20 softplus(x) equals x in float. */
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 20.0f ? y[i] : log1pf(expf(y[i]));
        break;
    }
}

void activation_backward(float *dy, const float *y, size_t n, vae_activation a)
{
    switch (a) {
    case VAE_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case VAE_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dy[i] *= 1.0f - y[i] * y[i];
        break;
    case VAE_ACT_SOFTPLUS:
        /* sigmoid(x) = 1 - exp(-softplus(x)); expm1 keeps it accurate where it is tiny. */
        for (size_t i = 0; i < n; i++)
            dy[i] *= -expm1f(-y[i]);
        break;
    }
}

/* The exp loops below are written on GCC/Clang vectors of eight lanes: GCC 12 vectorizes their
 * scalar form only with AVX-512's masked lanes, and leaves a max kept in an array of lanes scalar
 * (the row's max pass, with the bias added in place, was the costliest part of the log-softmax). A
 * portable build (VAE_NATIVE off) carries x86-64-v4 and -v3 (AVX2) clones of them, chosen when the
 * program loads; the default clone runs the vectors as SSE2 pairs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__)
#define EXP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EXP_CLONES
#endif

typedef float lanes8 __attribute__((vector_size(32)));
/* The helpers over lanes8 are inlined into each clone even without optimization: a call would pass
 * the 32-byte vectors by another convention in the default clone (no AVX) than in the others, and
 * the unoptimized build crashed on it. */
#define LANES_INLINE __attribute__((always_inline))
typedef int32_t mask8 __attribute__((vector_size(32)));

static inline LANES_INLINE lanes8 load8(const float *p)
{
    lanes8 x;
    memcpy(&x, p, sizeof x);
    return x;
}

static inline LANES_INLINE lanes8 max8(lanes8 a, lanes8 m)
{
    const mask8 greater = a > m;
    return (lanes8)((greater & (mask8)a) | (~greater & (mask8)m));
}

/* Rounds to the nearest integer (ties to even) by adding and removing 1.5 * 2^23: exact for the
 * |v| < 2^22 it is used on, and branch-free, unlike a call of nearbyintf. */
#define ROUND_MAGIC 12582912.0f

/* exp(x) by range reduction x = k ln2 + f, |f| <= ln2/2, and a degree-6 polynomial for exp(f)
 * (relative error below 2e-7); inputs below -87 give exp(-87), a NaN stays NaN. The scalar and the
 * vector form are one formula, so a row's tail is computed as its lanes are. */
static inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    const float k = (x * 1.44269504088896341f + ROUND_MAGIC) - ROUND_MAGIC;
    const float f = (x - k * 0.693145751953125f) - k * 1.428606765330187045e-06f;
    float p = 1.0f / 720.0f;
    p = p * f + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    union { float f; int32_t i; } scale = {.i = ((int32_t)k + 127) << 23};
    return p * scale.f;
}

static inline LANES_INLINE lanes8 exp8_nonpositive(lanes8 x)
{
    const lanes8 floor87 = {-87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f};
    const mask8 below = x < floor87;
    x = (lanes8)((below & (mask8)floor87) | (~below & (mask8)x));
    const lanes8 k = (x * 1.44269504088896341f + ROUND_MAGIC) - ROUND_MAGIC;
    const lanes8 f = (x - k * 0.693145751953125f) - k * 1.428606765330187045e-06f;
    lanes8 p = f * (1.0f / 720.0f) + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    const mask8 scale = (__builtin_convertvector(k, mask8) + 127) << 23;
    return p * (lanes8)scale;
}

EXP_CLONES void vexp_shifted(float *out, const float *x, float shift, float mul, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const lanes8 y = mul * exp8_nonpositive(load8(x + i) - shift);
        memcpy(out + i, &y, sizeof y);
    }
    for (; i < n; i++)
        out[i] = mul * exp_nonpositive(x[i] - shift);
}

static inline LANES_INLINE lanes8 abs8(lanes8 x) { return (lanes8)((mask8)x & 0x7fffffff); }

/* sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) below, with e = exp(-|x|) <= 1. */
EXP_CLONES void vsigmoid(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const lanes8 v = load8(x + i), e = exp8_nonpositive(-abs8(v)), s = 1.0f / (1.0f + e);
        const mask8 negative = v < 0.0f;
        const lanes8 y = (lanes8)((negative & (mask8)(e * s)) | (~negative & (mask8)s));
        memcpy(x + i, &y, sizeof y);
    }
    for (; i < n; i++) {
        const float e = exp_nonpositive(-fabsf(x[i])), s = 1.0f / (1.0f + e);
        x[i] = x[i] < 0.0f ? e * s : s;
    }
}

/* tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) <= 1: within 1e-7 of it absolutely. */
EXP_CLONES void vtanh(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const lanes8 v = load8(x + i), e = exp8_nonpositive(-2.0f * abs8(v)), t = (1.0f - e) / (1.0f + e);
        const lanes8 y = (lanes8)((mask8)t | ((mask8)v & (int32_t)0x80000000));
        memcpy(x + i, &y, sizeof y);
    }
    for (; i < n; i++) {
        const float e = exp_nonpositive(-2.0f * fabsf(x[i]));
        x[i] = copysignf((1.0f - e) / (1.0f + e), x[i]);
    }
}

EXP_CLONES float logsumexp_row(float *restrict logits, const float *restrict bias, int64_t V)
{
    int64_t v = 0;
    float mx = logits[0] + (bias ? bias[0] : 0.0f);
    lanes8 lane_max = {mx, mx, mx, mx, mx, mx, mx, mx};
    for (; v + 8 <= V; v += 8) {
        lanes8 x = load8(logits + v);
        if (bias) {
            x += load8(bias + v);
            memcpy(logits + v, &x, sizeof x);
        }
        lane_max = max8(x, lane_max);
    }
    for (; v < V; v++) {
        if (bias)
            logits[v] += bias[v];
        mx = logits[v] > mx ? logits[v] : mx;
    }
    for (int k = 0; k < 8; k++)
        mx = lane_max[k] > mx ? lane_max[k] : mx;
    /* Eight partial sums, one a lane, so the loop is vector without reassociating floats by flag. */
    lanes8 part = {0};
    for (v = 0; v + 8 <= V; v += 8)
        part += exp8_nonpositive(load8(logits + v) - mx);
    for (; v < V; v++)
        part[0] += exp_nonpositive(logits[v] - mx);
    float s = 0.0f;
    for (int k = 0; k < 8; k++)
        s += part[k];
    return mx + logf(s);
}

void reparameterize(float *z, float *eps, const float *mu, const float *logvar, const int64_t *index, int64_t n,
                    int L, int sample, uint64_t seed, uint64_t step)
{
    for (int64_t r = 0; r < n; r++) {
        float *e = eps + r * L, *zr = z + r * L;
        const float *m = mu + r * L, *lv = logvar + r * L;
        if (sample)
            vae_normals(seed, step, (uint64_t)index[r], e, L);
        else
            memset(e, 0, sizeof(float) * (size_t)L);
        for (int u = 0; u < L; u++)
            zr[u] = m[u] + expf(0.5f * lv[u]) * e[u];
    }
}

double doc_tokens(const vae_docs *d, int64_t r)
{
    double n = 0.0;
    for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
        n += d->counts[k];
    return n;
}

double sparse_recon(const float *logit, float lse, const vae_docs *d, int64_t r)
{
    double tokens = 0.0, dot = 0.0;
    for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++) {
        tokens += d->counts[k];
        dot += (double)d->counts[k] * logit[d->indices[k]];
    }
    return tokens * lse - dot;
}

int reserve_floats(float **buf, int64_t *cap, int64_t need)
{
    if (need <= *cap)
        return VAE_OK;
    float *x = realloc(*buf, sizeof(float) * (size_t)need);
    if (!x)
        return vae_fail(VAE_ERR_NOMEM, "out of memory for a batch of %lld non-zeros", (long long)need);
    *buf = x;
    *cap = need;
    return VAE_OK;
}
