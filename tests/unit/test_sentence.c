/* The family sentence against an independent reference: a double-precision implementation of
 * SPEC's sentence VAE written here from the formulas, one sequence at a time (PyTorch's GRU
 * equations, the heads, z, tanh(dec.init z), the decoder over [emb(y); z], log-softmax over V + 2
 * classes), whose central finite differences check every gradient tensor, with word dropout and
 * free bits on and off. Also: a hand-worked one-token sequence, masking (a longer sequence in the
 * batch changes no other's share), decoding step by step against the forward's reconstruction,
 * importance weights against the evaluation, the token capacity, the layout and initialization, and
 * the batch split over two simulated ranks whose sums go through the step's reducer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "checkpoint_fixture.h"
#include "grad_check.h"
#include "rank_pair.h"
#include "sentence.h"
#include "vae/checkpoint.h"
#include "vae/family.h"
#include "vae/rng.h"

/* 4 sequences over V = 7 words (id 7 = <unk>), lengths 3, 1, 5, 2: not sorted. */
static const int64_t seq_indptr[] = {0, 3, 4, 9, 11};
static const int32_t seq_tokens[] = {1, 4, 7, 2, 0, 3, 5, 6, 2, 6, 6};
static const int64_t seq_index[] = {11, 3, 42, 8};
enum { NSEQ = 4, V = 7, C = V + 2, E = 3, H = 4, L = 3, MAXT = 16 };

/* Sequences first .. first + n - 1 of the table as a batch (pointers into static storage). */
static vae_seqs seqs_range(int first, int n)
{
    static int64_t ptr[4][NSEQ + 1];
    static int which;
    int64_t *p = ptr[which = (which + 1) % 4];
    for (int r = 0; r <= n; r++)
        p[r] = seq_indptr[first + r] - seq_indptr[first];
    vae_seqs s = {0};
    s.num_seqs = n;
    s.num_tokens = p[n];
    s.indptr = p;
    s.tokens = (int32_t *)seq_tokens + seq_indptr[first];
    s.seq_index = (int64_t *)seq_index + first;
    return s;
}

static void set(vae_model_config *c, const char *key, const char *text)
{
    if (vae_model_config_set(c, key, text) != VAE_OK)
        fail_msg("%s = '%s': %s", key, text, vae_error_message());
}

static vae_model *small_model(const char *dropout, int capacity)
{
    vae_model_config mc;
    assert_int_equal(vae_model_config_init(&mc, "sentence", V), VAE_OK);
    set(&mc, "embedding", "3");
    set(&mc, "hidden", "4");
    set(&mc, "latent", "3");
    set(&mc, "word_dropout", dropout);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, capacity), VAE_OK);
    vae_model_init_params(m, 7);
    return m;
}

static double *params_double(const vae_model *m)
{
    const size_t P = vae_model_num_params(m);
    double *p = malloc(P * sizeof *p);
    for (size_t i = 0; i < P; i++)
        p[i] = vae_model_params((vae_model *)m)[i];
    return p;
}

/* ---- the reference, in double, straight from the formulas ---- */

static double param(const vae_layout *l, const double *p, const char *name, int64_t r, int64_t c)
{
    const vae_tensor *t = vae_layout_find(l, name);
    assert_non_null(t);
    return p[vae_tensor_index(t, r, c)];
}

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* h = GRU cell (PyTorch) of layer prefix on x [In], in place. */
static void ref_gru(const vae_layout *l, const double *p, const char *prefix, const double *x, int In, double *h)
{
    char wi[32], wh[32], bi[32], bh[32];
    snprintf(wi, sizeof wi, "%s.weight_ih", prefix);
    snprintf(wh, sizeof wh, "%s.weight_hh", prefix);
    snprintf(bi, sizeof bi, "%s.bias_ih", prefix);
    snprintf(bh, sizeof bh, "%s.bias_hh", prefix);
    double gi[3 * H], gh[3 * H], out[H];
    for (int o = 0; o < 3 * H; o++) {
        gi[o] = param(l, p, bi, o, 0);
        gh[o] = param(l, p, bh, o, 0);
        for (int k = 0; k < In; k++)
            gi[o] += param(l, p, wi, o, k) * x[k];
        for (int k = 0; k < H; k++)
            gh[o] += param(l, p, wh, o, k) * h[k];
    }
    for (int i = 0; i < H; i++) {
        const double r = sigm(gi[i] + gh[i]), zg = sigm(gi[H + i] + gh[H + i]);
        const double n = tanh(gi[2 * H + i] + r * gh[2 * H + i]);
        out[i] = (1 - zg) * n + zg * h[i];
    }
    memcpy(h, out, sizeof out);
}

/* One sequence: its recon (decoder inputs after <s>: in[0..T)) and its per-unit KL. */
static double ref_sequence(const vae_layout *l, const double *p, const int32_t *tok, int T, const int32_t *in,
                           const float *eps, double *kl_unit)
{
    double h[H] = {0}, x[E + L], mu[L], lv[L], z[L];
    for (int t = 0; t < T; t++) {
        for (int e = 0; e < E; e++)
            x[e] = param(l, p, "emb.weight", tok[t], e);
        ref_gru(l, p, "enc.gru", x, E, h);
    }
    for (int u = 0; u < L; u++) {
        mu[u] = param(l, p, "enc.mu.bias", u, 0);
        lv[u] = param(l, p, "enc.logvar.bias", u, 0);
        for (int k = 0; k < H; k++) {
            mu[u] += param(l, p, "enc.mu.weight", u, k) * h[k];
            lv[u] += param(l, p, "enc.logvar.weight", u, k) * h[k];
        }
        z[u] = mu[u] + exp(lv[u] / 2) * eps[u];
        kl_unit[u] = -0.5 * (1 + lv[u] - mu[u] * mu[u] - exp(lv[u]));
    }
    for (int i = 0; i < H; i++) {
        h[i] = param(l, p, "dec.init.bias", i, 0);
        for (int u = 0; u < L; u++)
            h[i] += param(l, p, "dec.init.weight", i, u) * z[u];
        h[i] = tanh(h[i]);
    }
    double recon = 0;
    for (int t = 0; t <= T; t++) {
        const int32_t y = t == 0 ? V + 1 : in[t - 1], target = t < T ? tok[t] : V + 1;
        for (int e = 0; e < E; e++)
            x[e] = param(l, p, "emb.weight", y, e);
        for (int u = 0; u < L; u++)
            x[E + u] = z[u];
        ref_gru(l, p, "dec.gru", x, E + L, h);
        double logit[C], mx = -INFINITY, total = 0;
        for (int c = 0; c < C; c++) {
            logit[c] = param(l, p, "dec.out.bias", c, 0);
            for (int k = 0; k < H; k++)
                logit[c] += param(l, p, "dec.out.weight", c, k) * h[k];
            mx = logit[c] > mx ? logit[c] : mx;
        }
        for (int c = 0; c < C; c++)
            total += exp(logit[c] - mx);
        recon -= logit[target] - mx - log(total);
    }
    return recon;
}

/* The noise of a step (seed 5, step 9) drawn here from the streams SPEC names: eps [n, L] and the
 * decoder inputs after <s> (word dropout P) of each sequence, packed like the tokens. Returns the
 * inputs dropped. */
static int ref_noise(const vae_seqs *s, double P, float *eps, int32_t *in)
{
    int dropped = 0;
    for (int j = 0; j < s->num_seqs; j++) {
        const int64_t a = s->indptr[j], T = s->indptr[j + 1] - a;
        double u[MAXT];
        vae_normals(5, 9, (uint64_t)s->seq_index[j], eps + j * L, L);
        vae_uniforms(5 ^ SENTENCE_DROPOUT_KEY, 9, (uint64_t)s->seq_index[j], u, T);
        for (int t = 0; t < T; t++) {
            in[a + t] = P > 0 && u[t] < P ? V : s->tokens[a + t];
            dropped += in[a + t] != s->tokens[a + t];
        }
    }
    return dropped;
}

typedef struct {
    const vae_layout *l;
    const vae_seqs *s;
    const float *eps;
    const int32_t *in;
    double beta, free_bits;
    double recon, kl; /* of the last call: the sums, and the true KL */
    double unit_mean[L];
} ref_case;

/* sum_s recon_s + beta (sum_s kl_s, or with free bits n sum_u max(free_bits, mean_s kl_su)). */
static double ref_loss(const double *p, void *ctx)
{
    ref_case *r = ctx;
    const int n = (int)r->s->num_seqs;
    double unit_sum[L] = {0};
    r->recon = r->kl = 0;
    for (int j = 0; j < n; j++) {
        double ku[L];
        const int64_t a = r->s->indptr[j];
        r->recon += ref_sequence(r->l, p, r->s->tokens + a, (int)(r->s->indptr[j + 1] - a), r->in + a,
                                 r->eps + j * L, ku);
        for (int u = 0; u < L; u++) {
            r->kl += ku[u];
            unit_sum[u] += ku[u];
        }
    }
    double kl_term = 0;
    for (int u = 0; u < L; u++) {
        r->unit_mean[u] = unit_sum[u] / n;
        kl_term += r->free_bits > 0 ? n * fmax(r->free_bits, r->unit_mean[u]) : unit_sum[u];
    }
    return r->recon + r->beta * kl_term;
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Free bits between two units' mean KL (the widest gap), so that some units are held and some not. */
static double free_bits_between(ref_case *r, const double *p)
{
    const double saved = r->free_bits;
    r->free_bits = 0;
    (void)ref_loss(p, r);
    r->free_bits = saved;
    double m[L];
    memcpy(m, r->unit_mean, sizeof m);
    qsort(m, L, sizeof m[0], compare_doubles);
    int best = 0;
    for (int u = 1; u + 1 < L; u++)
        if (m[u + 1] - m[u] > m[best + 1] - m[best])
            best = u;
    assert_true(m[best + 1] - m[best] > 1e-3);
    return (m[best] + m[best + 1]) / 2;
}

static void check_gradients(const char *dropout, double P, int free_bits)
{
    vae_model *m = small_model(dropout, NSEQ);
    const vae_layout *l = vae_model_layout(m);
    double *p = params_double(m);
    vae_seqs s = seqs_range(0, NSEQ);
    float eps[NSEQ * L];
    int32_t in[sizeof seq_tokens / sizeof seq_tokens[0]];
    const int dropped = ref_noise(&s, P, eps, in);
    assert_true(P > 0 ? dropped > 0 : dropped == 0); /* the case tests what it says */
    ref_case rc = {.l = l, .s = &s, .eps = eps, .in = in, .beta = 0.7};
    if (free_bits)
        rc.free_bits = free_bits_between(&rc, p);
    const float scale = 0.25f;
    vae_step_opts o = {.beta = 0.7f, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = scale,
                       .free_bits = (float)rc.free_bits};
    vae_loss_sums sums;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.seqs = &s}, &o, &sums), VAE_OK);
    float *stale = vae_model_grads(m);
    for (size_t i = 0; i < l->num_params; i++)
        stale[i] = 7.0f; /* backward replaces what the buffer held */
    vae_model_backward(m, &(vae_batch){.seqs = &s}, &o);
    rc.free_bits = o.free_bits; /* the float the model saw */
    const double ref = ref_loss(p, &rc);
    if (!(fabs(sums.loss - ref) <= 1e-4 * fabs(ref)) || !(fabs(sums.recon - rc.recon) <= 1e-4 * rc.recon) ||
        !(fabs(sums.kl - rc.kl) <= 1e-4 * fabs(rc.kl) + 1e-6))
        fail_msg("loss %.8g recon %.8g kl %.8g, reference %.8g %.8g %.8g", sums.loss, sums.recon, sums.kl, ref,
                 rc.recon, rc.kl);
    assert_true(sums.units == NSEQ && sums.tokens == s.num_tokens + NSEQ);
    char what[64];
    snprintf(what, sizeof what, "word dropout %s, free bits %g", dropout, rc.free_bits);
    grad_check(l, p, vae_model_grads(m), scale, ref_loss, &rc, what);
    free(p);
    vae_model_free(m);
}

static void test_gradients(void **state)
{
    (void)state;
    check_gradients("0", 0.0, 0);
    check_gradients("0.5", 0.5, 0);
    check_gradients("0", 0.0, 1);
    check_gradients("0.5", 0.5, 1);
}

/* ---- a one-token sequence by hand ---- */

/* E = H = L = 1, V = 1 (classes: word 0, <unk> 1, </s> 2), the sequence [0], z = mu. With every GRU
 * weight 0 but the encoder's input weight of n (1) and the decoder's z column of n (1), every gate
 * r and z is sigmoid(0) = 1/2: the encoder's state is h = tanh(a)/2 (a = emb[0]); mu = 1.5 h + 0.1,
 * logvar = -h + 0.2; the decoder starts at h0 = tanh(0.7 mu - 0.2), then h1 = (tanh(mu) + h0)/2,
 * h2 = (tanh(mu) + h1)/2, predicting word 0 from h1 and </s> from h2 with logits w h + b. */
static void test_hand_worked(void **state)
{
    (void)state;
    vae_model_config mc;
    assert_int_equal(vae_model_config_init(&mc, "sentence", 1), VAE_OK);
    set(&mc, "embedding", "1");
    set(&mc, "hidden", "1");
    set(&mc, "latent", "1");
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, 1), VAE_OK);
    const vae_layout *l = vae_model_layout(m);
    float *p = vae_model_params(m);
    memset(p, 0, l->num_params * sizeof *p);
    const double a = 0.8, w_out[3] = {1, 0.5, -1}, b_out[3] = {0, 0.1, 0.2};
    p[vae_layout_find(l, "emb.weight")->offset] = (float)a;
    p[vae_tensor_index(vae_layout_find(l, "enc.gru.weight_ih"), 2, 0)] = 1;
    p[vae_layout_find(l, "enc.mu.weight")->offset] = 1.5f;
    p[vae_layout_find(l, "enc.mu.bias")->offset] = 0.1f;
    p[vae_layout_find(l, "enc.logvar.weight")->offset] = -1;
    p[vae_layout_find(l, "enc.logvar.bias")->offset] = 0.2f;
    p[vae_layout_find(l, "dec.init.weight")->offset] = 0.7f;
    p[vae_layout_find(l, "dec.init.bias")->offset] = -0.2f;
    p[vae_tensor_index(vae_layout_find(l, "dec.gru.weight_ih"), 2, 1)] = 1;
    for (int c = 0; c < 3; c++) {
        p[vae_layout_find(l, "dec.out.weight")->offset + c] = (float)w_out[c];
        p[vae_layout_find(l, "dec.out.bias")->offset + c] = (float)b_out[c];
    }
    const double h = tanh(a) / 2, mu = 1.5 * h + 0.1, lv = -h + 0.2;
    const double h0 = tanh(0.7 * mu - 0.2), h1 = (tanh(mu) + h0) / 2, h2 = (tanh(mu) + h1) / 2;
    double recon = 0;
    const double hs[2] = {h1, h2};
    const int target[2] = {0, 2};
    for (int t = 0; t < 2; t++) {
        double total = 0;
        for (int c = 0; c < 3; c++)
            total += exp(w_out[c] * hs[t] + b_out[c]);
        recon -= w_out[target[t]] * hs[t] + b_out[target[t]] - log(total);
    }
    const double kl = -0.5 * (1 + lv - mu * mu - exp(lv));
    const int64_t ptr[2] = {0, 1}, index = 0;
    const int32_t tok = 0;
    vae_seqs s = {.num_seqs = 1, .num_tokens = 1, .indptr = (int64_t *)ptr, .tokens = (int32_t *)&tok,
                  .seq_index = (int64_t *)&index};
    vae_step_opts o = {.beta = 1, .sample = 0, .scale = 1};
    vae_loss_sums sums;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.seqs = &s}, &o, &sums), VAE_OK);
    if (!(fabs(sums.recon - recon) < 1e-5 && fabs(sums.kl - kl) < 1e-6 && fabs(sums.loss - recon - kl) < 1e-5))
        fail_msg("recon %.8g kl %.8g, by hand %.8g %.8g", sums.recon, sums.kl, recon, kl);
    assert_true(sums.tokens == 2 && sums.units == 1);
    vae_model_free(m);
}

/* ---- masking: a longer sequence changes no other sequence's share ---- */

static void step(vae_model *m, const vae_seqs *s, vae_loss_sums *sums, float *grads)
{
    const vae_step_opts o = {.beta = 0.9f, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = 0.25f};
    assert_int_equal(vae_model_forward(m, &(vae_batch){.seqs = s}, &o, sums), VAE_OK);
    vae_model_backward(m, &(vae_batch){.seqs = s}, &o);
    memcpy(grads, vae_model_grads(m), vae_model_num_params(m) * sizeof *grads);
}

/* Sequences 0, 1 (lengths 3, 1) with and without sequence 2 (length 5, the longest, sorted first):
 * the batch with it is the batch without it plus it alone, loss and gradient. */
static void test_masking(void **state)
{
    (void)state;
    vae_model *m = small_model("0.3", NSEQ);
    const size_t P = vae_model_num_params(m);
    float *g_two = malloc(P * sizeof(float)), *g_three = malloc(P * sizeof(float)), *g_one = malloc(P * sizeof(float));
    vae_seqs two = seqs_range(0, 2), three = seqs_range(0, 3), one = seqs_range(2, 1);
    vae_loss_sums s2, s3, s1;
    step(m, &two, &s2, g_two);
    step(m, &three, &s3, g_three);
    step(m, &one, &s1, g_one);
    if (!(fabs(s3.loss - s2.loss - s1.loss) <= 1e-5 * s3.loss))
        fail_msg("loss %.8g with the longer sequence, %.8g + %.8g apart", s3.loss, s2.loss, s1.loss);
    const vae_layout *l = vae_model_layout(m);
    for (int t = 0; t < l->num_tensors; t++)
        for (size_t k = 0; k < l->tensors[t].size; k++) {
            const size_t i = l->tensors[t].offset + k;
            if (!(fabsf(g_three[i] - g_two[i] - g_one[i]) <= 1e-5f * fabsf(g_three[i]) + 1e-6f))
                fail_msg("%s[%zu]: %.8g together, %.8g + %.8g apart", l->tensors[t].name, k, g_three[i], g_two[i],
                         g_one[i]);
        }
    free(g_two), free(g_three), free(g_one);
    vae_model_free(m);
}

/* The output layer's rows split over 3 threads (and the GEMMs on 3): the same step. Sequences
 * of 143 tokens, so that the decoder's rows span blocks of the output layer. */
static void test_threads(void **state)
{
    (void)state;
    enum { T = 150, N = 4 };
    int32_t tok[N * T];
    int64_t ptr[N + 1], index[N];
    for (int j = 0; j <= N; j++)
        ptr[j] = (int64_t)j * T - (j ? 7 * j : 0); /* lengths 143, 143, ... */
    for (int j = 0; j < N; j++)
        index[j] = 100 + j;
    for (int i = 0; i < N * T; i++)
        tok[i] = (i * 5 + i / 7) % (V + 1);
    vae_seqs s = {.num_seqs = N, .num_tokens = ptr[N], .indptr = ptr, .tokens = tok, .seq_index = index};
    vae_model *m = small_model("0.2", N);
    assert_int_equal(vae_model_reserve_tokens(m, s.num_tokens), VAE_OK);
    const size_t P = vae_model_num_params(m);
    float *g1 = malloc(P * sizeof(float)), *g3 = malloc(P * sizeof(float));
    vae_loss_sums s1, s3;
    step(m, &s, &s1, g1);
    vae_set_blas_threads(3);
    step(m, &s, &s3, g3);
    vae_set_blas_threads(1);
    assert_true(fabs(s1.loss - s3.loss) <= 1e-6 * s1.loss && s1.tokens == s3.tokens);
    for (size_t i = 0; i < P; i++)
        if (!(fabsf(g1[i] - g3[i]) <= 1e-5f * fabsf(g1[i]) + 1e-7f))
            fail_msg("gradient %zu: %.8g on one thread, %.8g on three", i, g1[i], g3[i]);
    free(g1), free(g3);
    vae_model_free(m);
}

/* ---- decoding step by step, encoding, importance weights ---- */

/* seq_start at z = mu, then seq_step fed each sequence's own tokens: the sum of -log p of its
 * targets is the forward's recon at z = mu; encode gives the forward's mu. */
static void test_teacher_forced_decoding(void **state)
{
    (void)state;
    vae_model *m = small_model("0", NSEQ);
    vae_seqs s = seqs_range(0, NSEQ);
    float mu[NSEQ * L], lv[NSEQ * L];
    assert_int_equal(vae_model_encode(m, &(vae_batch){.seqs = &s}, mu, lv), VAE_OK);
    vae_step_opts o = {.beta = 1, .sample = 0, .scale = 1};
    vae_loss_sums sums;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.seqs = &s}, &o, &sums), VAE_OK);
    const sentence_model *sm = (const sentence_model *)m;
    for (int j = 0; j < NSEQ; j++)
        assert_memory_equal(sm->mu + j * L, mu + sm->order[j] * L, L * sizeof(float));
    assert_int_equal(vae_model_seq_classes(m), C);
    assert_int_equal(vae_model_seq_state_size(m), H);
    float h[NSEQ * H], logp[NSEQ * C];
    int32_t prev[NSEQ];
    assert_int_equal(vae_model_seq_start(m, mu, NSEQ, h), VAE_OK);
    double recon = 0;
    for (int t = 0; t < MAXT; t++) {
        int running = 0;
        for (int j = 0; j < NSEQ; j++)
            running += t <= s.indptr[j + 1] - s.indptr[j];
        if (!running)
            break;
        for (int j = 0; j < NSEQ; j++) {
            const int64_t T = s.indptr[j + 1] - s.indptr[j];
            prev[j] = t == 0 ? V + 1 : t <= T ? s.tokens[s.indptr[j] + t - 1] : V + 1;
        }
        assert_int_equal(vae_model_seq_step(m, mu, prev, h, NSEQ, h, logp), VAE_OK);
        for (int j = 0; j < NSEQ; j++) {
            const int64_t T = s.indptr[j + 1] - s.indptr[j];
            double total = 0;
            for (int c = 0; c < C; c++)
                total += exp(logp[j * C + c]);
            assert_true(fabs(total - 1) < 1e-5);
            if (t <= T)
                recon -= logp[j * C + (t < T ? s.tokens[s.indptr[j] + t] : V + 1)];
        }
    }
    if (!(fabs(recon - sums.recon) <= 1e-5 * sums.recon))
        fail_msg("step by step %.8g, forward at z = mu %.8g", recon, sums.recon);
    prev[0] = C;
    assert_int_equal(vae_model_seq_step(m, mu, prev, h, 1, h, logp), VAE_ERR_ARG);
    vae_model_free(m);
}

/* K = 1: -logw is the evaluation's one-draw recon (the same stream) plus log q(z) - log p(z) at the
 * draw, recomputed here from encode's mu and logvar; K = 8 keeps the first draw's weights and its
 * bound -log mean_k w_k lies below the mean of -log w_k (Jensen), and both above 0. */
static void test_log_weights(void **state)
{
    (void)state;
    vae_model *m = small_model("0", NSEQ);
    vae_seqs s = seqs_range(0, NSEQ);
    const vae_batch b = {.seqs = &s};
    enum { K = 8 };
    double w1[NSEQ], w8[NSEQ * K];
    const uint64_t seed = VAE_EVAL_SEED;
    assert_int_equal(vae_model_log_weights(m, &b, 1, seed, w1), VAE_OK);
    assert_int_equal(vae_model_log_weights(m, &b, K, seed, w8), VAE_OK);
    double sums[64] = {0};
    assert_true(vae_model_eval_sums_len(m) <= 64);
    assert_int_equal(vae_model_eval(m, &b, 1, seed, sums), VAE_OK);
    vae_figures f;
    vae_model_figures(m, sums, &f);
    const char *names[] = {"nll", "ppl", "recon", "recon_mean", "kl", "active_units", "sequences", "tokens"};
    assert_int_equal(f.count, 8);
    for (int i = 0; i < 8; i++)
        assert_string_equal(f.of[i].name, names[i]);
    assert_true(vae_figures_find(&f, "sequences")->value == NSEQ);
    assert_true(vae_figures_find(&f, "tokens")->value == s.num_tokens + NSEQ);
    float mu[NSEQ * L], lv[NSEQ * L], eps[L];
    assert_int_equal(vae_model_encode(m, &b, mu, lv), VAE_OK);
    double recon = 0, kl = 0;
    for (int j = 0; j < NSEQ; j++) {
        vae_normals(seed, 0, (uint64_t)s.seq_index[j], eps, L);
        double log_q_over_p = 0;
        for (int u = 0; u < L; u++) {
            const double z = mu[j * L + u] + exp(lv[j * L + u] / 2) * eps[u];
            log_q_over_p += -0.5 * (eps[u] * eps[u] + lv[j * L + u]) + 0.5 * z * z;
            kl += -0.5 * (1 + lv[j * L + u] - mu[j * L + u] * mu[j * L + u] - exp(lv[j * L + u]));
        }
        recon += -w1[j] - log_q_over_p;
        assert_true(w8[j * K] == w1[j]);
        double mx = -INFINITY, mean_neg = 0, total = 0;
        for (int k = 0; k < K; k++) {
            mx = fmax(mx, w8[j * K + k]);
            mean_neg -= w8[j * K + k] / K;
        }
        for (int k = 0; k < K; k++)
            total += exp(w8[j * K + k] - mx);
        const double nll_iw = -(mx + log(total / K));
        assert_true(nll_iw <= mean_neg + 1e-12 && nll_iw > 0);
    }
    if (!(fabs(recon / NSEQ - vae_figures_find(&f, "recon")->value) <= 1e-5 * recon / NSEQ))
        fail_msg("recon from the weights %.8g, evaluation %.8g", recon / NSEQ, vae_figures_find(&f, "recon")->value);
    assert_true(fabs(kl / NSEQ - vae_figures_find(&f, "kl")->value) <= 1e-5 * kl / NSEQ);
    const double nll = vae_figures_find(&f, "nll")->value;
    assert_true(fabs(nll - (recon + kl) / NSEQ) <= 1e-5 * nll);
    assert_true(fabs(vae_figures_find(&f, "ppl")->value - exp(nll * NSEQ / (s.num_tokens + NSEQ))) <= 1e-6 * nll);
    vae_model_free(m);
}

/* ---- the token capacity ---- */

static void test_token_capacity(void **state)
{
    (void)state;
    vae_model *m = small_model("0", 2);
    assert_int_equal(vae_model_max_tokens(m), 2 * VAE_SEQ_TOKENS_PER_UNIT);
    enum { T = 100 };
    int32_t tok[2 * T];
    for (int i = 0; i < 2 * T; i++)
        tok[i] = i % (V + 1);
    int64_t ptr[3] = {0, T, 2 * T}, index[2] = {0, 1};
    vae_seqs s = {.num_seqs = 2, .num_tokens = 2 * T, .indptr = ptr, .tokens = tok, .seq_index = index};
    const vae_batch b = {.seqs = &s};
    vae_step_opts o = {.beta = 1, .sample = 1, .scale = 0.5f};
    vae_loss_sums sums;
    float mu[2 * L], lv[2 * L];
    double eval[64] = {0};
    vae_error_clear();
    assert_int_equal(vae_model_forward(m, &b, &o, &sums), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "tokens"));
    vae_model_backward(m, &b, &o); /* an empty batch's: zero */
    for (size_t i = 0; i < vae_model_num_params(m); i++)
        assert_true(vae_model_grads(m)[i] == 0.0f);
    assert_int_equal(vae_model_encode(m, &b, mu, lv), VAE_ERR_ARG);
    assert_int_equal(vae_model_eval(m, &b, 1, 1, eval), VAE_ERR_ARG);
    assert_int_equal(vae_model_reserve_tokens(m, 2 * T), VAE_OK);
    assert_int_equal(vae_model_max_tokens(m), 2 * T);
    assert_int_equal(vae_model_forward(m, &b, &o, &sums), VAE_OK);
    assert_true(sums.tokens == 2 * T + 2 && isfinite(sums.loss));
    assert_int_equal(vae_model_encode(m, &b, mu, lv), VAE_OK);
    assert_int_equal(vae_model_eval(m, &b, 1, 1, eval), VAE_OK);
    tok[5] = V + 1; /* <s> / </s> is no token of a sequence */
    assert_int_equal(vae_model_forward(m, &b, &o, &sums), VAE_ERR_ARG);
    vae_model_free(m);
}

/* ---- the gates' nonlinearities ---- */

/* vsigmoid and vtanh against libm in double, over lanes and a tail (19 values), from tiny to
 * saturated. */
static void test_gate_nonlinearities(void **state)
{
    (void)state;
    enum { N = 19 };
    for (int round = 0; round < 40; round++) {
        float x[N], s[N], t[N];
        for (int i = 0; i < N; i++)
            x[i] = (float)((i - 9) * pow(10.0, round / 10.0 - 3.0)); /* |x| up to 9e1 */
        memcpy(s, x, sizeof x);
        memcpy(t, x, sizeof x);
        vsigmoid(s, N);
        vtanh(t, N);
        for (int i = 0; i < N; i++) {
            const double want_s = 1 / (1 + exp(-(double)x[i])), want_t = tanh((double)x[i]);
            if (!(fabs(s[i] - want_s) <= 4e-7 * want_s) || !(fabs(t[i] - want_t) <= 2e-7))
                fail_msg("x = %g: sigmoid %.9g (%.9g), tanh %.9g (%.9g)", x[i], s[i], want_s, t[i], want_t);
        }
    }
}

/* ---- layout and initialization ---- */

static void test_layout_and_init(void **state)
{
    (void)state;
    vae_model_config mc;
    assert_int_equal(vae_model_config_init(&mc, "sentence", 50), VAE_OK);
    /* SPEC's defaults (latent 16, not bow's 32: SPEC "Defaults" says why). */
    static const char *const keys[] = {"embedding", "hidden", "latent", "word_dropout"};
    static const char *const defaults[] = {"256", "256", "16", "0"};
    assert_int_equal(mc.family->num_settings, 4);
    for (int i = 0; i < 4; i++) {
        char text[64];
        assert_string_equal(mc.family->settings[i].key, keys[i]);
        vae_model_config_text(&mc, i, text, sizeof text);
        assert_string_equal(text, defaults[i]);
    }
    set(&mc, "embedding", "16");
    set(&mc, "hidden", "8");
    set(&mc, "latent", "4");
    vae_model *m = NULL, *again = NULL;
    assert_int_equal(vae_model_new(&m, &mc, 2), VAE_OK);
    assert_int_equal(vae_model_new(&again, &mc, 2), VAE_OK);
    const vae_layout *l = vae_model_layout(m);
    const struct {
        const char *name;
        int64_t rows, cols;
        double bound; /* 0: N(0, 1) */
    } want[] = {{"emb.weight", 52, 16, 0},
                {"enc.gru.weight_ih", 24, 16, 1 / sqrt(8)},
                {"enc.gru.weight_hh", 24, 8, 1 / sqrt(8)},
                {"enc.gru.bias_ih", 24, 0, 1 / sqrt(8)},
                {"enc.gru.bias_hh", 24, 0, 1 / sqrt(8)},
                {"enc.mu.weight", 4, 8, 1 / sqrt(8)},
                {"enc.mu.bias", 4, 0, 1 / sqrt(8)},
                {"enc.logvar.weight", 4, 8, 1 / sqrt(8)},
                {"enc.logvar.bias", 4, 0, 1 / sqrt(8)},
                {"dec.init.weight", 8, 4, 1 / sqrt(4)},
                {"dec.init.bias", 8, 0, 1 / sqrt(4)},
                {"dec.gru.weight_ih", 24, 20, 1 / sqrt(8)},
                {"dec.gru.weight_hh", 24, 8, 1 / sqrt(8)},
                {"dec.gru.bias_ih", 24, 0, 1 / sqrt(8)},
                {"dec.gru.bias_hh", 24, 0, 1 / sqrt(8)},
                {"dec.out.weight", 52, 8, 1 / sqrt(8)},
                {"dec.out.bias", 52, 0, 1 / sqrt(8)}};
    const int n = (int)(sizeof want / sizeof want[0]);
    assert_int_equal(l->num_tensors, n);
    vae_model_init_params(m, 3);
    vae_model_init_params(again, 3);
    assert_memory_equal(vae_model_params(m), vae_model_params(again), l->num_params * sizeof(float));
    for (int t = 0; t < n; t++) {
        const vae_tensor *x = &l->tensors[t];
        assert_string_equal(x->name, want[t].name);
        assert_true(x->rows == want[t].rows && x->cols == want[t].cols);
        double sum = 0, sq = 0, mx = 0;
        for (size_t k = 0; k < x->size; k++) {
            const double v = vae_model_params(m)[x->offset + k];
            sum += v, sq += v * v, mx = fmax(mx, fabs(v));
        }
        const double mean = sum / x->size, var = sq / x->size - mean * mean;
        if (want[t].bound == 0) {
            if (!(fabs(mean) < 0.1 && fabs(var - 1) < 0.1))
                fail_msg("%s: mean %g variance %g of N(0, 1)", x->name, mean, var);
        } else if (!(mx <= want[t].bound && mx > 0.5 * want[t].bound))
            fail_msg("%s: largest %g against the bound %g", x->name, mx, want[t].bound);
    }
    vae_model_init_params(again, 4);
    assert_true(memcmp(vae_model_params(m), vae_model_params(again), l->num_params * sizeof(float)) != 0);
    assert_int_equal(vae_model_decode(m, vae_model_params(m), 1, vae_model_grads(m)), VAE_ERR_ARG);
    assert_int_equal(vae_model_topic_words(m, vae_model_grads(m)), VAE_ERR_ARG);
    assert_false(vae_model_has_theta(m));
    vae_model_free(m);
    vae_model_free(again);
    /* A family of documents decodes no sequences, and takes no tokens to reserve. */
    assert_int_equal(vae_model_config_init(&mc, "bow", 9), VAE_OK);
    assert_int_equal(vae_model_new(&m, &mc, 2), VAE_OK);
    assert_int_equal(vae_model_seq_classes(m), 0);
    assert_int_equal(vae_model_reserve_tokens(m, 1000), VAE_OK);
    assert_int_equal(vae_model_seq_start(m, vae_model_params(m), 1, vae_model_grads(m)), VAE_ERR_ARG);
    vae_model_free(m);
}

/* ---- through a checkpoint ---- */

/* A checkpoint of the family holds its settings (word_dropout a REAL) and its parameters under
 * SPEC's names; read back, it is the same model and encodes alike. */
static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    vae_model *m = small_model("0.25", NSEQ);
    ckpt_fixture f;
    ckpt_tmp_setup(NULL);
    ckpt_fixture_init(&f, vae_model_config_of(m), 1, 0);
    memcpy(f.params, vae_model_params(m), vae_model_num_params(m) * sizeof(float));
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "sentence.h5");
    ckpt_write_ok(&f, path);
    vae_checkpoint *ck = NULL;
    assert_int_equal(vae_checkpoint_open(&ck, path), VAE_OK);
    assert_true(ckpt_matches(ck, &f));
    assert_string_equal(vae_checkpoint_model(ck)->family->name, "sentence");
    assert_null(vae_model_config_diff(vae_checkpoint_model(ck), vae_model_config_of(m), path, sizeof path));
    vae_model *back = NULL;
    assert_int_equal(vae_model_new(&back, vae_checkpoint_model(ck), NSEQ), VAE_OK);
    assert_int_equal(vae_checkpoint_read_params(ck, vae_model_layout(back), vae_model_params(back)), VAE_OK);
    vae_seqs s = seqs_range(0, NSEQ);
    float mu1[NSEQ * L], lv1[NSEQ * L], mu2[NSEQ * L], lv2[NSEQ * L];
    assert_int_equal(vae_model_encode(m, &(vae_batch){.seqs = &s}, mu1, lv1), VAE_OK);
    assert_int_equal(vae_model_encode(back, &(vae_batch){.seqs = &s}, mu2, lv2), VAE_OK);
    assert_memory_equal(mu1, mu2, sizeof mu1);
    assert_memory_equal(lv1, lv2, sizeof lv1);
    vae_checkpoint_free(ck);
    vae_model_free(back);
    ckpt_fixture_free(&f);
    ckpt_tmp_teardown(NULL);
    vae_model_free(m);
}

/* ---- two simulated ranks: the batch split, the sums through the reducer ---- */

/* Ranks holding sequences [0, split) and [split, 4), scale 1/4 each: their loss sums and gradients
 * add up to the one process's; with free bits, one sum through the reducer on each. */
static void check_split(int split, float free_bits)
{
    vae_model *whole = small_model("0.3", NSEQ);
    vae_seqs all = seqs_range(0, NSEQ);
    const vae_step_opts o = {.beta = 0.8f, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = 0.25f,
                             .free_bits = free_bits};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(whole, &(vae_batch){.seqs = &all}, &o, &s), VAE_OK);
    vae_model_backward(whole, &(vae_batch){.seqs = &all}, &o);
    rank_run r[2];
    vae_seqs q[2];
    vae_batch b[2];
    for (int i = 0; i < 2; i++) {
        q[i] = i == 0 ? seqs_range(0, split) : seqs_range(split, NSEQ - split);
        b[i] = (vae_batch){.seqs = &q[i]};
        r[i] = (rank_run){.m = small_model("0.3", NSEQ), .b = q[i].num_seqs ? &b[i] : NULL, .o = o};
    }
    rank_pair_run(r);
    assert_int_equal(r[0].calls, free_bits > 0);
    assert_int_equal(r[1].calls, free_bits > 0);
    if (!(fabs(r[0].sums.loss + r[1].sums.loss - s.loss) <= 1e-5 * fabs(s.loss)) ||
        !(fabs(r[0].sums.kl + r[1].sums.kl - s.kl) <= 1e-5 * fabs(s.kl)) ||
        r[0].sums.tokens + r[1].sums.tokens != s.tokens || r[0].sums.units + r[1].sums.units != s.units)
        fail_msg("split %d: loss %.8g + %.8g, one process %.8g", split, r[0].sums.loss, r[1].sums.loss, s.loss);
    const float *g = vae_model_grads(whole), *g0 = vae_model_grads(r[0].m), *g1 = vae_model_grads(r[1].m);
    const vae_layout *l = vae_model_layout(whole);
    for (int t = 0; t < l->num_tensors; t++)
        for (size_t k = 0; k < l->tensors[t].size; k++) {
            const size_t i = l->tensors[t].offset + k;
            if (!(fabsf(g0[i] + g1[i] - g[i]) <= 1e-5f * fabsf(g[i]) + 1e-6f))
                fail_msg("split %d, free bits %g: %s[%zu] %.8g + %.8g, one process %.8g", split, free_bits,
                         l->tensors[t].name, k, g0[i], g1[i], g[i]);
        }
    vae_model_free(r[0].m);
    vae_model_free(r[1].m);
    vae_model_free(whole);
}

static void test_split_over_ranks(void **state)
{
    (void)state;
    check_split(2, 0);
    check_split(1, 0);
    check_split(0, 0);
    /* Free bits between the units' mean KL of this batch, found from the whole batch's sums. */
    vae_model *m = small_model("0.3", NSEQ);
    vae_seqs all = seqs_range(0, NSEQ);
    vae_step_opts o = {.beta = 1, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = 0.25f};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.seqs = &all}, &o, &s), VAE_OK);
    const sentence_model *sm = (const sentence_model *)m;
    double mean[L];
    for (int u = 0; u < L; u++) {
        mean[u] = 0;
        for (int j = 0; j < NSEQ; j++)
            mean[u] += sentence_kl_unit(sm, j, u) / NSEQ;
    }
    qsort(mean, L, sizeof mean[0], compare_doubles);
    const float fb = (float)((mean[L - 2] + mean[L - 1]) / 2);
    vae_model_free(m);
    check_split(2, fb);
    check_split(3, fb);
    check_split(0, fb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_hand_worked),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_teacher_forced_decoding),
        cmocka_unit_test(test_log_weights),
        cmocka_unit_test(test_token_capacity),
        cmocka_unit_test(test_gate_nonlinearities),
        cmocka_unit_test(test_layout_and_init),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_split_over_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
