/* The family topic against an independent reference: a dense, double-precision implementation of
 * SPEC's ProdLDA written here from the formulas (softplus encoder, batch norms over the batch,
 * softmax, dropout, the topic-word decoder, KL against the Laplace prior), whose central finite
 * differences check every gradient tensor. Also: the prior and the KL of a hand-worked case, the
 * running statistics (their values after a step, through a checkpoint and back, used by encode),
 * the batch split over two simulated ranks whose sums go through the step's reducer, and the
 * words of each topic that topics rank by (the decoder's distribution for that topic alone); under
 * word_counts presence, the same against the reference given each distinct word once. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "checkpoint_fixture.h"
#include "grad_check.h"
#include "rank_pair.h"
#include "topic.h"
#include "vae/checkpoint.h"
#include "vae/family.h"
#include "vae/rng.h"

/* 4 documents over V = 9 words, one long, varied counts. */
static const int64_t doc_indptr[] = {0, 3, 4, 9, 11};
static const int32_t doc_indices[] = {0, 4, 8, 2, 0, 1, 3, 5, 7, 2, 6};
static const int32_t doc_counts[] = {2, 1, 5, 7, 1, 3, 1, 2, 4, 1, 2};
static const int64_t doc_index[] = {11, 3, 42, 8};
enum { NDOC = 4, V = 9, K = 3, H0 = 5, H1 = 4 };

static vae_docs docs_range(int first, int n)
{
    static int64_t ptr[2][NDOC + 1];
    static int which;
    int64_t *p = ptr[which ^= 1];
    for (int r = 0; r <= n; r++)
        p[r] = doc_indptr[first + r] - doc_indptr[first];
    vae_docs d = {0};
    d.num_docs = n;
    d.nnz = p[n];
    d.indptr = p;
    d.indices = (int32_t *)doc_indices + doc_indptr[first];
    d.counts = (int32_t *)doc_counts + doc_indptr[first];
    d.doc_index = (int64_t *)doc_index + first;
    return d;
}

static void set(vae_model_config *c, const char *key, const char *text)
{
    if (vae_model_config_set(c, key, text) != VAE_OK)
        fail_msg("%s = '%s': %s", key, text, vae_error_message());
}

static void config_small(vae_model_config *c, const char *dropout, const char *alpha, const char *word_counts)
{
    assert_int_equal(vae_model_config_init(c, "topic", V), VAE_OK);
    set(c, "latent", "3");
    set(c, "encoder_hidden", "5,4");
    set(c, "dropout", dropout);
    set(c, "dirichlet_alpha", alpha);
    set(c, "word_counts", word_counts);
}

/* ---- the reference, in double, straight from the formulas ---- */

static double softplus(double x) { return x > 30 ? x : log1p(exp(x)); }

static double param(const vae_layout *l, const double *p, const char *name, int64_t r, int64_t c)
{
    const vae_tensor *t = vae_layout_find(l, name);
    assert_non_null(t);
    return p[vae_tensor_index(t, r, c)];
}

/* Normalizes column c of x [n, C] over its n rows (biased variance, eps 1e-5), plus the shift. */
static void ref_batch_norm(double *x, int n, int C, const vae_layout *l, const double *p, const char *bias)
{
    for (int c = 0; c < C; c++) {
        double mean = 0, var = 0;
        for (int r = 0; r < n; r++)
            mean += x[r * C + c] / n;
        for (int r = 0; r < n; r++)
            var += (x[r * C + c] - mean) * (x[r * C + c] - mean) / n;
        for (int r = 0; r < n; r++)
            x[r * C + c] = (x[r * C + c] - mean) / sqrt(var + 1e-5) + param(l, p, bias, c, 0);
    }
}

/* sum_d (recon_d + beta kl_d) over the batch, the model in training (eps, keep: per document). */
static double ref_loss(const vae_layout *l, const double *p, const vae_docs *d, const float *eps, const float *keep,
                       double beta, double alpha, double *kl_out)
{
    const int n = (int)d->num_docs;
    double mu[NDOC * K], lv[NDOC * K], logit[NDOC * V];
    for (int r = 0; r < n; r++) {
        double x[V] = {0}, h0[H0], h1[H1];
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
            x[d->indices[k]] = d->counts[k];
        for (int o = 0; o < H0; o++) {
            double s = param(l, p, "enc.0.bias", o, 0);
            for (int v = 0; v < V; v++)
                s += param(l, p, "enc.0.weight", o, v) * x[v];
            h0[o] = softplus(s);
        }
        for (int o = 0; o < H1; o++) {
            double s = param(l, p, "enc.1.bias", o, 0);
            for (int i = 0; i < H0; i++)
                s += param(l, p, "enc.1.weight", o, i) * h0[i];
            h1[o] = softplus(s);
        }
        for (int k = 0; k < K; k++) {
            mu[r * K + k] = lv[r * K + k] = 0;
            for (int i = 0; i < H1; i++) {
                mu[r * K + k] += param(l, p, "enc.mu.weight", k, i) * h1[i];
                lv[r * K + k] += param(l, p, "enc.logvar.weight", k, i) * h1[i];
            }
        }
    }
    ref_batch_norm(mu, n, K, l, p, "enc.mu_bn.bias");
    ref_batch_norm(lv, n, K, l, p, "enc.logvar_bn.bias");
    /* Symmetric Dirichlet(alpha): mu0 = 0, var0 = (1/alpha)(1 - 2/K) + K / (K^2 alpha). */
    const double var0 = (1.0 / alpha) * (1.0 - 2.0 / K) + 1.0 / (K * alpha);
    double kl = 0;
    for (int r = 0; r < n; r++) {
        double z[K], theta[K], total = 0;
        for (int k = 0; k < K; k++) {
            z[k] = mu[r * K + k] + exp(lv[r * K + k] / 2) * eps[r * K + k];
            total += exp(z[k]);
            kl += 0.5 * (exp(lv[r * K + k]) / var0 + mu[r * K + k] * mu[r * K + k] / var0 - 1 + log(var0) -
                         lv[r * K + k]);
        }
        for (int k = 0; k < K; k++)
            theta[k] = exp(z[k]) / total * keep[r * K + k];
        for (int v = 0; v < V; v++) {
            logit[r * V + v] = 0;
            for (int k = 0; k < K; k++)
                logit[r * V + v] += param(l, p, "dec.topics.weight", v, k) * theta[k];
        }
    }
    ref_batch_norm(logit, n, V, l, p, "dec.bn.bias");
    double recon = 0;
    for (int r = 0; r < n; r++) {
        double lse = 0;
        for (int v = 0; v < V; v++)
            lse += exp(logit[r * V + v]);
        lse = log(lse);
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
            recon -= d->counts[k] * (logit[r * V + d->indices[k]] - lse);
    }
    if (kl_out)
        *kl_out = kl;
    return recon + beta * kl;
}

/* The noise of the step (seed 5, step 9): eps and the dropout multipliers, drawn here from the
 * streams SPEC names. */
static void ref_noise(const vae_docs *d, double dropout, float *eps, float *keep)
{
    for (int r = 0; r < d->num_docs; r++) {
        double u[K];
        vae_normals(5, 9, (uint64_t)d->doc_index[r], eps + r * K, K);
        vae_uniforms(5 ^ TOPIC_DROPOUT_KEY, 9, (uint64_t)d->doc_index[r], u, K);
        for (int k = 0; k < K; k++)
            keep[r * K + k] = dropout > 0 ? (u[k] >= dropout ? (float)(1.0 / (1.0 - dropout)) : 0.0f) : 1.0f;
    }
}

/* The reference's loss of one case (alpha 0.7), for grad_check. */
typedef struct {
    const vae_layout *l;
    const vae_docs *d;
    const float *eps, *keep;
    double beta;
} ref_case;

static double ref_case_loss(const double *p, void *ctx)
{
    const ref_case *r = ctx;
    return ref_loss(r->l, p, r->d, r->eps, r->keep, r->beta, 0.7, NULL);
}

static vae_model *small_model(const char *dropout, const char *alpha, const char *word_counts, int capacity)
{
    vae_model_config mc;
    config_small(&mc, dropout, alpha, word_counts);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, capacity), VAE_OK);
    vae_model_init_params(m, 7);
    /* Shifts away from zero, so the normalizations' biases matter. */
    const vae_layout *l = vae_model_layout(m);
    float *pf = vae_model_params(m);
    for (int i = 0; i < l->num_tensors; i++)
        if (!l->tensors[i].cols)
            for (size_t k = 0; k < l->tensors[i].size; k++)
                pf[l->tensors[i].offset + k] += 0.3f * (float)((int)(k % 3) - 1);
    return m;
}

/* Under word_counts presence the model reads each document as its distinct words once each: the
 * reference is given the same rows with every count 1. */
static void check_gradients(const char *dropout, double dropout_value, const char *word_counts)
{
    vae_model *m = small_model(dropout, "0.7", word_counts, NDOC);
    const vae_layout *l = vae_model_layout(m);
    const size_t P = l->num_params;
    const float *pf = vae_model_params(m);
    double *p = malloc(P * sizeof *p);
    for (size_t i = 0; i < P; i++)
        p[i] = pf[i];
    vae_docs d = docs_range(0, NDOC);
    const vae_batch b = {.docs = &d};
    const float scale = 0.25f, beta = 0.7f;
    vae_step_opts o = {.beta = beta, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = scale};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(m, &b, &o, &s), VAE_OK);
    float *stale = vae_model_grads(m);
    for (size_t i = 0; i < P; i++)
        stale[i] = 7.0f; /* backward replaces what the buffer held */
    vae_model_backward(m, &b, &o);

    float eps[NDOC * K], keep[NDOC * K];
    ref_noise(&d, dropout_value, eps, keep);
    int32_t ones[sizeof doc_counts / sizeof doc_counts[0]];
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        ones[i] = 1;
    if (strcmp(word_counts, "presence") == 0)
        d.counts = ones;
    double kl;
    const double ref = ref_loss(l, p, &d, eps, keep, beta, 0.7, &kl);
    if (!(fabs(s.loss - ref) <= 1e-4 * fabs(ref)) || !(fabs(s.kl - kl) <= 1e-4 * fabs(kl)))
        fail_msg("loss %.8g kl %.8g, reference %.8g %.8g", s.loss, s.kl, ref, kl);

    ref_case rc = {l, &d, eps, keep, beta};
    char what[64];
    snprintf(what, sizeof what, "dropout %s, word_counts %s", dropout, word_counts);
    grad_check(l, p, vae_model_grads(m), scale, ref_case_loss, &rc, what);
    free(p);
    vae_model_free(m);
}

static void test_gradients(void **state)
{
    (void)state;
    check_gradients("0", 0.0, "counts");
    check_gradients("0.4", 0.4, "counts");
    check_gradients("0", 0.0, "presence");
}

/* ---- the prior and the KL by hand ---- */

static void test_prior_hand_worked(void **state)
{
    (void)state;
    /* alpha = (1, 2, 4): mean log a = log 2, so mu0 = (-log 2, 0, log 2); sum 1/a = 1.75, so
     * var0_k = (1/a_k)(1/3) + 1.75/9. */
    const double alpha[3] = {1, 2, 4};
    double mu0[3], var0[3];
    topic_prior(alpha, 3, mu0, var0);
    assert_true(fabs(mu0[0] + log(2.0)) < 1e-12 && fabs(mu0[1]) < 1e-12 && fabs(mu0[2] - log(2.0)) < 1e-12);
    assert_true(fabs(var0[0] - (1.0 / 3 + 1.75 / 9)) < 1e-12);
    assert_true(fabs(var0[1] - (1.0 / 6 + 1.75 / 9)) < 1e-12);
    assert_true(fabs(var0[2] - (1.0 / 12 + 1.75 / 9)) < 1e-12);
}

/* K = 2, alpha = 1: mu0 = 0, var0 = 0.5. With the heads' weights at zero, every document's mu and
 * logvar are the normalizations' shifts, here mu = (0.5, -0.5), logvar = (0, 0):
 * KL = 0.5 sum_k (1/0.5 + 0.25/0.5 - 1 + log 0.5) = 1.5 + log 0.5 per document. */
static void test_kl_hand_worked(void **state)
{
    (void)state;
    vae_model_config mc;
    assert_int_equal(vae_model_config_init(&mc, "topic", V), VAE_OK);
    set(&mc, "latent", "2");
    set(&mc, "encoder_hidden", "3");
    set(&mc, "dirichlet_alpha", "1");
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, NDOC), VAE_OK);
    vae_model_init_params(m, 1);
    const vae_layout *l = vae_model_layout(m);
    float *p = vae_model_params(m);
    const vae_tensor *wmu = vae_layout_find(l, "enc.mu.weight"), *wlv = vae_layout_find(l, "enc.logvar.weight");
    memset(p + wmu->offset, 0, wmu->size * sizeof *p);
    memset(p + wlv->offset, 0, wlv->size * sizeof *p);
    const vae_tensor *bmu = vae_layout_find(l, "enc.mu_bn.bias");
    p[bmu->offset] = 0.5f;
    p[bmu->offset + 1] = -0.5f;
    vae_docs d = docs_range(0, NDOC);
    vae_step_opts o = {.beta = 1, .sample = 0, .scale = 1};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &s), VAE_OK);
    const double want = NDOC * (1.5 + log(0.5));
    if (!(fabs(s.kl - want) < 1e-5))
        fail_msg("kl %.8g, hand-worked %.8g", s.kl, want);
    vae_model_free(m);
}

/* ---- running statistics ---- */

/* After one training forward, each running mean is 0.1 x the batch mean of what it normalizes,
 * each running variance 0.9 + 0.1 x the unbiased variance; through a checkpoint they come back
 * bit for bit and give the same encoding. */
static void test_running_stats_and_checkpoint(void **state)
{
    (void)state;
    vae_model *m = small_model("0.2", "1", "presence", NDOC);
    vae_docs d = docs_range(0, NDOC);
    const vae_batch b = {.docs = &d};
    vae_step_opts o = {.beta = 1, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = 0.25f};
    vae_loss_sums s;
    float mu0[NDOC * K], lv0[NDOC * K];
    /* The heads' outputs before normalization: encode under statistics mean 0, variance 1 - 1e-5
     * (so inv_std is 1), minus the shifts, is exactly them. */
    const vae_layout *sl = vae_model_state_layout(m), *l = vae_model_layout(m);
    float *st = vae_model_state(m), initial[256];
    assert_non_null(st);
    assert_int_equal(sl->num_tensors, TOPIC_NUM_STATS);
    assert_true(sl->num_params <= sizeof initial / sizeof initial[0]);
    memcpy(initial, st, sl->num_params * sizeof *st);
    for (int t = 0; t < sl->num_tensors; t++)
        for (size_t i = 0; i < sl->tensors[t].size; i++)
            st[sl->tensors[t].offset + i] = t % 2 ? 1.0f - 1e-5f : 0.0f;
    assert_int_equal(vae_model_encode(m, &b, mu0, lv0), VAE_OK);
    memcpy(st, initial, sl->num_params * sizeof *st);
    const float *p = vae_model_params(m);
    const float *shift = p + vae_layout_find(l, "enc.mu_bn.bias")->offset;
    assert_int_equal(vae_model_forward(m, &b, &o, &s), VAE_OK);
    const vae_tensor *rm = vae_layout_find(sl, "enc.mu_bn.running_mean"), *rv = vae_layout_find(sl, "enc.mu_bn.running_var");
    for (int k = 0; k < K; k++) {
        double mean = 0, var = 0;
        for (int r = 0; r < NDOC; r++)
            mean += (mu0[r * K + k] - shift[k]) / NDOC;
        for (int r = 0; r < NDOC; r++)
            var += pow(mu0[r * K + k] - shift[k] - mean, 2) / (NDOC - 1);
        if (!(fabs(st[rm->offset + k] - 0.1 * mean) < 1e-5 && fabs(st[rv->offset + k] - (0.9 + 0.1 * var)) < 1e-4))
            fail_msg("unit %d: running mean %g var %g, expected %g %g", k, st[rm->offset + k], st[rv->offset + k],
                     0.1 * mean, 0.9 + 0.1 * var);
    }
    float mu1[NDOC * K], lv1[NDOC * K], mu2[NDOC * K], lv2[NDOC * K];
    assert_int_equal(vae_model_encode(m, &b, mu1, lv1), VAE_OK);

    ckpt_fixture f;
    ckpt_tmp_setup(NULL);
    ckpt_fixture_init(&f, vae_model_config_of(m), 0, 0);
    memcpy(f.params, p, l->num_params * sizeof(float));
    f.data.state = st;
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "topic.h5");
    ckpt_write_ok(&f, path);
    vae_checkpoint *ck = NULL;
    assert_int_equal(vae_checkpoint_open(&ck, path), VAE_OK);
    vae_model *back = NULL;
    assert_int_equal(vae_model_new(&back, vae_checkpoint_model(ck), NDOC), VAE_OK);
    assert_null(vae_model_config_diff(vae_checkpoint_model(ck), vae_model_config_of(m), path, sizeof path));
    assert_int_equal(vae_checkpoint_read_params(ck, vae_model_layout(back), vae_model_params(back)), VAE_OK);
    assert_int_equal(vae_checkpoint_read_state(ck, sl, vae_model_state(back)), VAE_OK);
    assert_memory_equal(vae_model_state(back), st, sl->num_params * sizeof(float));
    assert_int_equal(vae_model_encode(back, &b, mu2, lv2), VAE_OK);
    assert_memory_equal(mu1, mu2, sizeof mu1);
    assert_memory_equal(lv1, lv2, sizeof lv1);
    /* Encoding reads the statistics: other ones give another encoding. */
    vae_model_state(back)[rm->offset] += 1.0f;
    assert_int_equal(vae_model_encode(back, &b, mu2, lv2), VAE_OK);
    assert_true(fabsf(mu2[0] - (mu1[0] - 1.0f / sqrtf(st[rv->offset] + 1e-5f))) < 1e-4f);
    vae_checkpoint_free(ck);
    vae_model_free(back);
    ckpt_fixture_free(&f);
    ckpt_tmp_teardown(NULL);
    vae_model_free(m);
}

/* ---- two simulated ranks: the batch split, the sums through the reducer ---- */

/* Ranks holding documents [0, split) and [split, 4): their gradients summed are the one process's,
 * their running statistics are its own; split 0 gives one rank no documents at all. */
static void check_split(int split)
{
    vae_model *whole = small_model("0.3", "1", "counts", NDOC);
    vae_docs all = docs_range(0, NDOC);
    const vae_step_opts o = {.beta = 1, .sample = 1, .noise_seed = 5, .noise_step = 9, .scale = 0.25f};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(whole, &(vae_batch){.docs = &all}, &o, &s), VAE_OK);
    vae_model_backward(whole, &(vae_batch){.docs = &all}, &o);

    rank_run r[2];
    vae_docs d[2];
    vae_batch b[2];
    for (int i = 0; i < 2; i++) {
        d[i] = i == 0 ? docs_range(0, split) : docs_range(split, NDOC - split);
        b[i] = (vae_batch){.docs = &d[i]};
        r[i] = (rank_run){.m = small_model("0.3", "1", "counts", NDOC), .b = d[i].num_docs ? &b[i] : NULL, .o = o};
    }
    rank_pair_run(r);
    assert_int_equal(r[0].calls, 4); /* two sums forward, two backward, on both ranks alike */
    assert_int_equal(r[1].calls, 4);
    if (!(fabs(r[0].sums.loss + r[1].sums.loss - s.loss) <= 1e-4 * fabs(s.loss)))
        fail_msg("split %d: loss %.8g + %.8g, one process %.8g", split, r[0].sums.loss, r[1].sums.loss, s.loss);
    const size_t P = vae_model_num_params(whole);
    const float *g = vae_model_grads(whole), *g0 = vae_model_grads(r[0].m), *g1 = vae_model_grads(r[1].m);
    const vae_layout *l = vae_model_layout(whole);
    for (int t = 0; t < l->num_tensors; t++)
        for (size_t k = 0; k < l->tensors[t].size; k++) {
            const size_t i = l->tensors[t].offset + k;
            if (!(fabsf(g0[i] + g1[i] - g[i]) <= 1e-4f * fabsf(g[i]) + 1e-6f))
                fail_msg("split %d: %s[%zu] %.8g + %.8g, one process %.8g", split, l->tensors[t].name, k, g0[i], g1[i],
                         g[i]);
        }
    (void)P;
    const size_t S = vae_model_state_layout(whole)->num_params;
    for (size_t i = 0; i < S; i++)
        assert_true(fabsf(vae_model_state(r[0].m)[i] - vae_model_state(whole)[i]) < 1e-5f &&
                    vae_model_state(r[1].m)[i] == vae_model_state(r[0].m)[i]);
    vae_model_free(r[0].m);
    vae_model_free(r[1].m);
    vae_model_free(whole);
}

static void test_split_over_ranks(void **state)
{
    (void)state;
    check_split(1);
    check_split(3);
    check_split(0);
}

/* ---- what inference reads ---- */

static void test_topic_words_and_family(void **state)
{
    (void)state;
    vae_model *m = small_model("0.2", "1", "presence", 2);
    const vae_tensor *t = vae_layout_find(vae_model_layout(m), "dec.topics.weight");
    assert_non_null(t);
    assert_int_equal(t->rows, V);
    assert_int_equal(t->cols, K);
    /* Running statistics and a shift away from their initial values, so that each term shows. */
    const vae_layout *sl = vae_model_state_layout(m);
    const vae_tensor *rm = vae_layout_find(sl, "dec.bn.running_mean"), *rv = vae_layout_find(sl, "dec.bn.running_var");
    const vae_tensor *shift = vae_layout_find(vae_model_layout(m), "dec.bn.bias");
    float *st = vae_model_state(m), *p = vae_model_params(m);
    for (int v = 0; v < V; v++) {
        st[rm->offset + v] = 0.05f * (float)(v - 2);
        st[rv->offset + v] = 0.02f + 0.3f * (float)v;
        p[shift->offset + v] = 0.1f * (float)(v % 3);
    }
    /* Hand-worked in double: the relevance 0.6 log p(v | u) + 0.4 log(p(v | u) / p(v)) with
     * log p(v | u) = y_v - log sum_w exp(y_w), y_v = (W[v, u] - mean_v) / sqrt(var_v + 1e-5) + shift_v,
     * and log p(v) = shift_v - log sum_w exp(shift_w). */
    double average = 0;
    for (int v = 0; v < V; v++)
        average += exp(p[shift->offset + v]);
    float w[K * V];
    assert_int_equal(vae_model_topic_words(m, w), VAE_OK);
    for (int u = 0; u < K; u++) {
        double y[V], total = 0;
        for (int v = 0; v < V; v++) {
            y[v] = ((double)p[vae_tensor_index(t, v, u)] - st[rm->offset + v]) / sqrt((double)st[rv->offset + v] + 1e-5) +
                   p[shift->offset + v];
            total += exp(y[v]);
        }
        for (int v = 0; v < V; v++) {
            const double logp = y[v] - log(total), want = logp - 0.4 * (p[shift->offset + v] - log(average));
            if (fabs(w[u * V + v] - want) > 1e-5)
                fail_msg("topic %d word %d: %g, expected %g", u, v, w[u * V + v], want);
        }
    }
    assert_true(vae_model_has_theta(m));
    /* decode is a distribution over the words for any z, and at a z whose softmax is all but
     * e_u it is log p(v | u) of topic u's words. */
    float z[2 * K] = {2, -1, 0, 0, 0, 3}, logp[2 * V];
    assert_int_equal(vae_model_decode(m, z, 2, logp), VAE_OK);
    for (int r = 0; r < 2; r++) {
        double total = 0;
        for (int v = 0; v < V; v++)
            total += exp(logp[r * V + v]);
        assert_true(fabs(total - 1) < 1e-5);
    }
    for (int u = 0; u < K; u++) {
        float one[K] = {0};
        one[u] = 40.0f;
        assert_int_equal(vae_model_decode(m, one, 1, logp), VAE_OK);
        for (int v = 0; v < V; v++)
            assert_true(fabs(logp[v] - 0.4 * (p[shift->offset + v] - log(average)) - w[u * V + v]) < 1e-4);
    }
    vae_model_free(m);
    /* bow has neither. */
    vae_model_config bc;
    assert_int_equal(vae_model_config_init(&bc, "bow", V), VAE_OK);
    assert_int_equal(vae_model_new(&m, &bc, 2), VAE_OK);
    assert_int_equal(vae_model_topic_words(m, w), VAE_ERR_ARG);
    assert_false(vae_model_has_theta(m));
    vae_model_free(m);
}

/* REAL settings: their text forms, ranges and comparison. */
static void test_real_settings(void **state)
{
    (void)state;
    vae_model_config a, b;
    char text[64], why[256];
    assert_int_equal(vae_model_config_init(&a, "topic", V), VAE_OK);
    b = a;
    set(&a, "dropout", "0.2");
    for (int i = 0; i < a.family->num_settings; i++)
        if (strcmp(a.family->settings[i].key, "dropout") == 0) {
            vae_model_config_text(&a, i, text, sizeof text);
            assert_string_equal(text, "0.2");
        }
    assert_null(vae_model_config_diff(&a, &b, why, sizeof why)); /* 0.2 is the default */
    set(&a, "dirichlet_alpha", "0.02");
    assert_non_null(vae_model_config_diff(&a, &b, why, sizeof why));
    assert_string_equal(why, "dirichlet_alpha 0.02 against 0.5");
    assert_int_equal(vae_model_config_set(&a, "dropout", "0.95"), VAE_ERR_ARG);
    assert_int_equal(vae_model_config_set(&a, "dropout", "x"), VAE_ERR_ARG);
    assert_int_equal(vae_model_config_set(&a, "dirichlet_alpha", " 1"), VAE_ERR_ARG);
    assert_int_equal(vae_model_config_set(&a, "latent", "1"), VAE_ERR_ARG); /* a prior needs two topics */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_prior_hand_worked),
        cmocka_unit_test(test_kl_hand_worked),
        cmocka_unit_test(test_running_stats_and_checkpoint),
        cmocka_unit_test(test_split_over_ranks),
        cmocka_unit_test(test_topic_words_and_family),
        cmocka_unit_test(test_real_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
