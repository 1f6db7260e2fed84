/* The model interface and its family bow against an independent reference: a dense,
 * double-precision implementation of SPEC's model written here from the formulas, whose central
 * finite differences check every gradient tensor of the C model, for every activation and input
 * transform, with and without decoder hidden layers. Also: the family registry and the settings'
 * text forms, a model on caller buffers that never touches what follows the gradients, log-softmax
 * on extreme logits, figures of a hand-worked case, KL against Monte Carlo, layout names and
 * shapes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blas.h"
#include "grad_check.h"
#include "bow.h"
#include "threads.h"
#include "vae/family.h"
#include "vae/rng.h"

/* A small batch: 3 documents over V = 9 words, one of them long, with varied counts. */
static const int64_t doc_indptr[] = {0, 3, 4, 9};
static const int32_t doc_indices[] = {0, 4, 8, 2, 0, 1, 3, 5, 7};
static const int32_t doc_counts[] = {2, 1, 5, 7, 1, 3, 1, 2, 4};
static const int64_t doc_index[] = {11, 3, 42};

static vae_docs small_batch(void)
{
    vae_docs d = {0};
    d.num_docs = 3;
    d.nnz = 9;
    d.indptr = (int64_t *)doc_indptr;
    d.indices = (int32_t *)doc_indices;
    d.counts = (int32_t *)doc_counts;
    d.doc_index = (int64_t *)doc_index;
    return d;
}

static double act(double x, vae_activation a)
{
    switch (a) {
    case VAE_ACT_RELU: return x > 0 ? x : 0;
    case VAE_ACT_TANH: return tanh(x);
    default: return log1p(exp(x));
    }
}

/* y[O] = W x + b, W [O, In] found through vae_tensor_index (enc.0.weight is held transposed). */
static void ref_linear(const double *p, const vae_layout *l, int layer, const double *x, int In, double *y,
                       int do_act, vae_activation a)
{
    const vae_tensor *w = &l->tensors[2 * layer], *b = &l->tensors[2 * layer + 1];
    for (int o = 0; o < w->rows; o++) {
        double s = p[b->offset + o];
        for (int i = 0; i < In; i++)
            s += p[vae_tensor_index(w, o, i)] * x[i];
        y[o] = do_act ? act(s, a) : s;
    }
}

/* sum_d (recon_d + beta kl_d) in double, straight from SPEC's formulas with a dense input. */
static double ref_loss(const vae_bow_config *c, const vae_layout *l, const double *p, const vae_docs *d,
                       const float *eps, double beta)
{
    const int64_t V = c->vocab_size;
    const int L = c->latent;
    double total = 0;
    double x[64], h[64], h2[64], mu[64], lv[64], z[64], logits[64];
    for (int64_t r = 0; r < d->num_docs; r++) {
        double N = 0;
        for (int64_t v = 0; v < V; v++)
            x[v] = 0;
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
            N += d->counts[k];
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++) {
            double n = d->counts[k];
            x[d->indices[k]] = c->input == VAE_INPUT_LOG1P ? log1p(n) : c->input == VAE_INPUT_COUNTS ? n : n / N;
        }
        const double *in = x;
        int width = (int)V;
        for (int i = 0; i < c->num_enc; i++) {
            double *out = i % 2 ? h2 : h;
            ref_linear(p, l, i, in, width, out, 1, c->activation);
            in = out;
            width = c->enc_hidden[i];
        }
        ref_linear(p, l, c->num_enc, in, width, mu, 0, 0);
        ref_linear(p, l, c->num_enc + 1, in, width, lv, 0, 0);
        double kl = 0;
        for (int u = 0; u < L; u++) {
            z[u] = mu[u] + exp(lv[u] / 2) * eps[r * L + u];
            kl += -0.5 * (1 + lv[u] - mu[u] * mu[u] - exp(lv[u]));
        }
        in = z;
        width = L;
        for (int i = 0; i < c->num_dec; i++) {
            double *out = i % 2 ? h2 : h;
            ref_linear(p, l, c->num_enc + 2 + i, in, width, out, 1, c->activation);
            in = out;
            width = c->dec_hidden[i];
        }
        ref_linear(p, l, c->num_enc + 2 + c->num_dec, in, width, logits, 0, 0);
        double mx = logits[0], se = 0;
        for (int64_t v = 1; v < V; v++)
            mx = fmax(mx, logits[v]);
        for (int64_t v = 0; v < V; v++)
            se += exp(logits[v] - mx);
        double recon = 0;
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
            recon -= d->counts[k] * (logits[d->indices[k]] - mx - log(se));
        total += recon + beta * kl;
    }
    return total;
}

static void set(vae_model_config *c, const char *key, const char *text)
{
    if (vae_model_config_set(c, key, text) != VAE_OK)
        fail_msg("%s = '%s': %s", key, text, vae_error_message());
}

static void config_small(vae_model_config *c, vae_activation a, vae_input_transform t, int num_dec)
{
    static const char *const dec[] = {"", "4", "4,7"};
    assert_int_equal(vae_model_config_init(c, "bow", 9), VAE_OK);
    set(c, "latent", "3");
    set(c, "encoder_hidden", "6,5");
    set(c, "decoder_hidden", dec[num_dec]);
    set(c, "activation", vae_activation_names[a]);
    set(c, "input_transform", vae_input_transform_names[t]);
}

/* The reference's loss of one case, for grad_check. */
typedef struct {
    const vae_bow_config *c;
    const vae_layout *l;
    const vae_docs *d;
    const float *eps;
    double beta;
} ref_case;

static double ref_case_loss(const double *p, void *ctx)
{
    const ref_case *r = ctx;
    return ref_loss(r->c, r->l, p, r->d, r->eps, r->beta);
}

/* Compares the model's loss and every gradient tensor with the reference's central differences. */
static void check_gradients(vae_activation a, vae_input_transform t, int num_dec, int sample)
{
    vae_model_config mc;
    vae_bow_config c;
    config_small(&mc, a, t, num_dec);
    vae_bow_config_of(&mc, &c);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, 4), VAE_OK);
    vae_model_init_params(m, 7);
    const vae_layout *l = vae_model_layout(m);
    const size_t P = l->num_params;
    float *pf = vae_model_params(m);
    /* Biases start away from zero so ReLU units are neither all dead nor all linear. */
    for (int i = 0; i < l->num_tensors; i++)
        if (!l->tensors[i].cols)
            for (size_t k = 0; k < l->tensors[i].size; k++)
                pf[l->tensors[i].offset + k] += 0.3f * (float)((int)(k % 3) - 1);
    double *p = malloc(P * sizeof *p);
    for (size_t i = 0; i < P; i++)
        p[i] = pf[i];

    vae_docs d = small_batch();
    const vae_batch b = {.docs = &d};
    const float scale = 0.25f, beta = 0.7f;
    vae_step_opts o = {.beta = beta, .sample = sample, .noise_seed = 5, .noise_step = 9, .scale = scale};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(m, &b, &o, &s), VAE_OK);
    float *stale = vae_model_grads(m);
    for (size_t i = 0; i < P; i++)
        stale[i] = 7.0f; /* backward replaces what the buffer held: none of this may survive */
    vae_model_backward(m, &b, &o);

    float eps[3 * 3] = {0};
    if (sample)
        for (int r = 0; r < 3; r++)
            vae_normals(5, 9, (uint64_t)doc_index[r], eps + r * 3, 3);
    const double ref = ref_loss(&c, l, p, &d, eps, beta);
    if (!(fabs(s.loss - ref) <= 1e-4 * fabs(ref)))
        fail_msg("loss %.8g, reference %.8g", s.loss, ref);

    ref_case rc = {&c, l, &d, eps, beta};
    char what[64];
    snprintf(what, sizeof what, "act %d, input %d, dec %d", a, t, num_dec);
    grad_check(l, p, vae_model_grads(m), scale, ref_case_loss, &rc, what);
    free(p);
    vae_model_free(m);
}

static void test_gradients_all_activations_and_transforms(void **state)
{
    (void)state;
    for (int a = 0; a < 3; a++)
        for (int t = 0; t < 3; t++)
            check_gradients((vae_activation)a, (vae_input_transform)t, 2, 1);
}

static void test_gradients_without_decoder_hidden(void **state)
{
    (void)state;
    check_gradients(VAE_ACT_TANH, VAE_INPUT_LOG1P, 0, 1);
    check_gradients(VAE_ACT_RELU, VAE_INPUT_COUNTS, 1, 1);
}

static void test_gradients_deterministic_z(void **state)
{
    (void)state;
    check_gradients(VAE_ACT_SOFTPLUS, VAE_INPUT_L1, 2, 0);
}

/* The small ReLU / log1p model with two decoder layers, initialized from seed 3. */
static vae_model *small_model(void)
{
    vae_model_config c;
    config_small(&c, VAE_ACT_RELU, VAE_INPUT_LOG1P, 2);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &c, 4), VAE_OK);
    vae_model_init_params(m, 3);
    return m;
}

/* A rank with no document in a step: its gradient is zero, whatever the buffer held before. */
static void test_empty_batch_zero_gradient(void **state)
{
    (void)state;
    vae_model *m = small_model();
    vae_docs d = small_batch();
    const vae_batch b = {.docs = &d};
    vae_step_opts o = {.beta = 1.0f, .sample = 1, .noise_seed = 1, .noise_step = 1, .scale = 1.0f};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(m, &b, &o, &s), VAE_OK);
    vae_model_backward(m, &b, &o);
    d.num_docs = 0;
    d.nnz = 0;
    assert_int_equal(vae_model_forward(m, &b, &o, &s), VAE_OK);
    assert_true(s.units == 0.0 && s.loss == 0.0);
    vae_model_backward(m, &b, &o);
    const float *g = vae_model_grads(m);
    for (size_t i = 0; i < vae_model_num_params(m); i++)
        assert_true(g[i] == 0.0f);
    vae_model_free(m);
}

/* The sparse layer split over threads (forward by documents, backward by output units) gives the
 * same bits as one thread, and the whole gradient still matches the reference. The weight is
 * word-major: w[word * O + unit]. */
static void test_sparse_layer_threads(void **state)
{
    (void)state;
    const int O = 13;
    const int64_t V = 9;
    vae_docs d = small_batch();
    float w[13 * 9], b[13], xval[9], out1[3 * 13], out2[3 * 13], dout[3 * 13];
    float dw1[13 * 9] = {0}, dw2[13 * 9] = {0}, db1[13] = {0}, db2[13] = {0};
    for (int i = 0; i < O * (int)V; i++)
        w[i] = 0.01f * (float)((i * 37) % 23) - 0.1f;
    for (int i = 0; i < O; i++)
        b[i] = 0.02f * (float)i;
    for (int i = 0; i < 3 * O; i++)
        dout[i] = 0.03f * (float)((i * 11) % 7) - 0.09f;
    input_transform_forward(xval, &d, VAE_INPUT_LOG1P);
    vae_set_blas_threads(1);
    sparse_linear_forward(out1, &d, xval, w, b, O);
    sparse_linear_backward(dw1, db1, dout, &d, xval, O);
    vae_set_blas_threads(2);
    sparse_linear_forward(out2, &d, xval, w, b, O);
    sparse_linear_backward(dw2, db2, dout, &d, xval, O);
    check_gradients(VAE_ACT_RELU, VAE_INPUT_LOG1P, 2, 1);
    vae_set_blas_threads(1);
    assert_memory_equal(out1, out2, sizeof out1);
    assert_memory_equal(dw1, dw2, sizeof dw1);
    assert_memory_equal(db1, db2, sizeof db1);
    /* And one entry by hand: row 0 of the batch is words {0, 4, 8} with counts {2, 1, 5}. */
    const float expect = b[5] + log1pf(2) * w[0 * O + 5] + log1pf(1) * w[4 * O + 5] + log1pf(5) * w[8 * O + 5];
    assert_true(fabsf(out1[5] - expect) <= 1e-6f);
    /* The backward pass by hand: word 4 appears only in row 0 (count 1), so its row of dw is
     * log1p(1) * dout[0, :]; word 6 appears nowhere and its row stays zero. */
    for (int o = 0; o < O; o++) {
        assert_true(fabsf(dw1[4 * O + o] - log1pf(1) * dout[o]) <= 1e-6f);
        assert_true(dw1[6 * O + o] == 0.0f);
    }
}

static void test_layout_names_and_shapes(void **state)
{
    (void)state;
    vae_model_config c;
    assert_int_equal(vae_model_config_init(&c, "bow", 10000), VAE_OK);
    vae_layout l;
    assert_int_equal(vae_layout_compute(&c, &l), VAE_OK);
    const char *names[] = {"enc.0.weight", "enc.0.bias", "enc.1.weight", "enc.1.bias", "enc.mu.weight",
                           "enc.mu.bias", "enc.logvar.weight", "enc.logvar.bias", "dec.0.weight",
                           "dec.0.bias", "dec.1.weight", "dec.1.bias", "dec.out.weight", "dec.out.bias"};
    const int64_t shapes[][2] = {{128, 10000}, {128, 0}, {64, 128}, {64, 0}, {32, 64}, {32, 0}, {32, 64},
                                 {32, 0}, {64, 32}, {64, 0}, {128, 64}, {128, 0}, {10000, 128}, {10000, 0}};
    assert_int_equal(l.num_tensors, 14);
    size_t end = 0;
    for (int i = 0; i < 14; i++) {
        assert_string_equal(l.tensors[i].name, names[i]);
        assert_int_equal(l.tensors[i].rows, shapes[i][0]);
        assert_int_equal(l.tensors[i].cols, shapes[i][1]);
        assert_true(l.tensors[i].offset >= end);
        assert_int_equal(l.tensors[i].offset % 16, 0);
        end = l.tensors[i].offset + l.tensors[i].size;
    }
    assert_true(l.num_params >= end);
    assert_ptr_equal(vae_layout_find(&l, "dec.out.bias"), &l.tensors[13]);
    for (int i = 0; i < 14; i++) /* enc.0.weight is word-major, dec.out.weight [last, V] */
        assert_int_equal(l.tensors[i].transposed, i == 0 || i == 12);
    vae_layout stats;
    assert_int_equal(vae_state_layout_compute(&c, &stats), VAE_OK);
    assert_int_equal(stats.num_tensors, 0); /* bow keeps no running statistics */
    assert_int_equal(stats.num_params, 0);
    c.vocab_size = 0;
    assert_int_equal(vae_layout_compute(&c, &l), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "vocabulary size 0"));
}

/* A transposed tensor's element (r, c) lives at offset + c * rows + r; the [rows, cols] form
 * goes in and comes back unchanged, and a plain tensor is a straight copy. */
static void test_tensor_transposed_views(void **state)
{
    (void)state;
    vae_model_config c;
    assert_int_equal(vae_model_config_init(&c, "bow", 5), VAE_OK);
    set(&c, "encoder_hidden", "3,64");
    vae_layout l;
    assert_int_equal(vae_layout_compute(&c, &l), VAE_OK);
    const vae_tensor *w = vae_layout_find(&l, "enc.0.weight"), *b = vae_layout_find(&l, "enc.0.bias");
    assert_int_equal(w->rows, 3);
    assert_int_equal(w->cols, 5);
    assert_int_equal(vae_tensor_index(w, 2, 4), w->offset + 4 * 3 + 2);
    assert_int_equal(vae_tensor_index(w, 1, 0), w->offset + 1);
    assert_int_equal(vae_tensor_index(b, 2, 0), b->offset + 2);
    const vae_tensor *mu = vae_layout_find(&l, "enc.mu.weight");
    assert_int_equal(vae_tensor_index(mu, 1, 2), mu->offset + (size_t)mu->cols + 2);
    float *buf = calloc(l.num_params, sizeof *buf);
    float rows[15], back[15];
    assert_non_null(buf);
    for (int i = 0; i < 15; i++)
        rows[i] = (float)(i + 1);
    vae_tensor_from_rows(w, rows, buf);
    assert_true(buf[w->offset + 1] == rows[1 * 5 + 0]);   /* (1, 0) */
    assert_true(buf[w->offset + 3] == rows[0 * 5 + 1]);   /* (0, 1) */
    vae_tensor_to_rows(w, buf, back);
    assert_memory_equal(rows, back, sizeof rows);
    vae_tensor_from_rows(b, rows, buf);
    assert_memory_equal(buf + b->offset, rows, 3 * sizeof *rows);
    free(buf);
}

static void test_logsumexp_extreme_logits(void **state)
{
    (void)state;
    float row[5] = {1e4f, -1e4f, 0.0f, 1e4f - 1.0f, -87.5f};
    const float lse = logsumexp_row(row, NULL, 5);
    const double expect = 1e4 + log(1.0 + exp(-1.0));
    assert_true(isfinite(lse));
    assert_true(fabs(lse - expect) < 1e-2);
    float all_low[3] = {-3e4f, -3e4f, -3e4f};
    assert_true(fabs(logsumexp_row(all_low, NULL, 3) - (-3e4 + log(3.0))) < 1e-1);
    /* With a bias: added in place (lanes and tail alike), and the same normalizer as a row that
     * already holds the sum. */
    float a[19], b[19], ab[19];
    for (int i = 0; i < 19; i++) {
        a[i] = 0.37f * (float)(i % 7) - 1.0f;
        b[i] = 0.11f * (float)(i % 5);
        ab[i] = a[i] + b[i];
    }
    const float with_bias = logsumexp_row(a, b, 19);
    assert_memory_equal(a, ab, sizeof a);
    assert_true(with_bias == logsumexp_row(ab, NULL, 19));
    /* The vectorized exp against libm across its range. */
    float x[200], y[200];
    for (int i = 0; i < 200; i++)
        x[i] = -90.0f + 0.45f * (float)i;
    vexp_shifted(y, x, 0.0f, 1.0f, 200);
    for (int i = 0; i < 200; i++) {
        const double e = exp((double)x[i]);
        if (x[i] > -87.0f)
            assert_true(fabs(y[i] - e) <= 1e-6 * e);
    }
}

/* Two documents of one word each, an all-zero model except the output bias: every quantity can be
 * worked by hand. With zero weights, mu = logvar = 0 so kl = 0, and p(w) = softmax(bias). */
static void test_figures_hand_worked(void **state)
{
    (void)state;
    vae_model_config c;
    assert_int_equal(vae_model_config_init(&c, "bow", 2), VAE_OK);
    set(&c, "latent", "2");
    set(&c, "encoder_hidden", "2");
    set(&c, "decoder_hidden", "");
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &c, 4), VAE_OK);
    const vae_layout *l = vae_model_layout(m);
    float *p = vae_model_params(m);
    const vae_tensor *ob = vae_layout_find(l, "dec.out.bias");
    p[ob->offset] = (float)log(3.0); /* p = (3/4, 1/4) */
    p[ob->offset + 1] = 0.0f;
    const int64_t indptr[] = {0, 1, 2, 2};
    int32_t indices[] = {0, 1}, counts[] = {2, 1};
    int64_t idx[] = {0, 1, 2};
    vae_docs d = {.num_docs = 3, .nnz = 2, .indptr = (int64_t *)indptr, .indices = indices,
                  .counts = counts, .doc_index = idx};
    const vae_batch b = {.docs = &d};
    double sums[VAE_SUM_FIXED + 4] = {0};
    assert_int_equal(vae_model_eval_sums_len(m), VAE_SUM_FIXED + 4);
    assert_int_equal(vae_model_eval(m, &b, 3, VAE_EVAL_SEED, sums), VAE_OK);
    vae_figures f;
    vae_model_figures(m, sums, &f);
    const double r0 = -2 * log(0.75), r1 = -log(0.25);
    /* SPEC's figures, in the order vae-infer eval reports them. */
    static const char *const names[] = {"docs", "empty_docs", "tokens", "recon", "kl", "elbo", "recon_mean",
                                        "ppl_doc", "ppl_corpus", "active_units"};
    const double want[] = {2, 1, 3, (r0 + r1) / 2, 0, -(r0 + r1) / 2, (r0 + r1) / 2, exp((r0 / 2 + r1 / 1) / 2),
                           exp((r0 + r1) / 3), 0};
    assert_int_equal(f.count, 10);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(f.of[i].name, names[i]);
        assert_ptr_equal(vae_figures_find(&f, names[i]), &f.of[i]);
        assert_int_equal(f.of[i].integer, i < 3 || i == 9);
        assert_float_equal(f.of[i].value, want[i], 1e-4 * fabs(want[i]) + 1e-9);
    }
    assert_null(vae_figures_find(&f, "nll"));
    vae_model_free(m);
}

/* Closed-form KL of N(mu, exp(lv)) from N(0, 1) against a Monte-Carlo estimate of
 * E_q[log q(z) - log p(z)] from the model's own noise stream. */
static void test_kl_matches_monte_carlo(void **state)
{
    (void)state;
    const double mu = 0.8, lv = -0.6, sd = exp(lv / 2);
    const double closed = -0.5 * (1 + lv - mu * mu - exp(lv));
    const int n = 200000;
    float *e = malloc(n * sizeof *e);
    vae_normals(123, 0, 0, e, n);
    double acc = 0;
    for (int i = 0; i < n; i++) {
        const double z = mu + sd * e[i];
        acc += (-0.5 * e[i] * e[i] - log(sd)) - (-0.5 * z * z);
    }
    free(e);
    assert_true(fabs(acc / n - closed) < 0.01);
}

/* A batch's loss does not depend on the order of its documents or on the batch it sits in. */
static void test_noise_independent_of_batch_position(void **state)
{
    (void)state;
    vae_model *m = small_model();
    vae_step_opts o = {.beta = 1, .sample = 1, .noise_seed = 77, .noise_step = 4, .scale = 1};
    vae_docs d = small_batch();
    vae_loss_sums all, one, rest;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &all), VAE_OK);
    /* The last document alone, then the first two alone. */
    const int64_t ip_last[] = {0, 5}, ip_first[] = {0, 3, 4};
    vae_docs last = {.num_docs = 1, .nnz = 5, .indptr = (int64_t *)ip_last, .indices = (int32_t *)doc_indices + 4,
                     .counts = (int32_t *)doc_counts + 4, .doc_index = (int64_t *)doc_index + 2};
    vae_docs first = {.num_docs = 2, .nnz = 4, .indptr = (int64_t *)ip_first, .indices = (int32_t *)doc_indices,
                      .counts = (int32_t *)doc_counts, .doc_index = (int64_t *)doc_index};
    assert_int_equal(vae_model_forward(m, &(vae_batch){.docs = &last}, &o, &one), VAE_OK);
    assert_int_equal(vae_model_forward(m, &(vae_batch){.docs = &first}, &o, &rest), VAE_OK);
    assert_true(fabs(all.loss - (one.loss + rest.loss)) < 1e-4 * fabs(all.loss));
    /* A different step draws different noise. */
    o.noise_step = 5;
    vae_loss_sums other;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &other), VAE_OK);
    assert_true(fabs(other.loss - all.loss) > 1e-6);
    vae_model_free(m);
}

static void test_batch_capacity_enforced(void **state)
{
    (void)state;
    vae_model_config c;
    config_small(&c, VAE_ACT_RELU, VAE_INPUT_LOG1P, 2);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &c, 2), VAE_OK);
    vae_docs d = small_batch();
    vae_step_opts o = {.beta = 1, .sample = 0, .scale = 1};
    vae_loss_sums s;
    assert_int_equal(vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &s), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "capacity"));
    float z[3 * 3] = {0}, logp[3 * 9];
    assert_int_equal(vae_model_decode(m, z, 3, logp), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "capacity"));
    /* A batch without the family's unit: bow reads documents. */
    vae_seqs q;
    vae_seqs_init(&q);
    assert_int_equal(vae_model_forward(m, &(vae_batch){.seqs = &q}, &o, &s), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "the bow model takes a batch of documents"));
    vae_model_free(m);
}

/* The registry finds bow, lists it, and refuses an unknown name with a message naming it. */
static void test_family_registry(void **state)
{
    (void)state;
    const vae_family *f = NULL;
    assert_int_equal(vae_family_find("bow", &f), VAE_OK);
    assert_string_equal(f->name, "bow");
    assert_int_equal(f->unit, VAE_UNIT_DOCS);
    assert_non_null(f->decode);
    int listed = 0;
    for (int i = 0; vae_family_at(i); i++)
        listed += vae_family_at(i) == f;
    assert_int_equal(listed, 1);
    assert_null(vae_family_at(-1));
    vae_error_clear();
    assert_int_equal(vae_family_find("nosuch", &f), VAE_ERR_ARG);
    assert_null(f);
    assert_non_null(strstr(vae_error_message(), "'nosuch'"));
    assert_non_null(strstr(vae_error_message(), "bow"));
    vae_model_config c;
    vae_error_clear();
    assert_int_equal(vae_model_config_init(&c, "nosuch", 9), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "'nosuch'"));
}

/* The index of setting key in c's family. */
static int setting(const vae_model_config *c, const char *key)
{
    for (int i = 0; i < c->family->num_settings; i++)
        if (strcmp(c->family->settings[i].key, key) == 0)
            return i;
    fail_msg("no setting %s", key);
    return -1;
}

static void refused(vae_model_config *c, const char *key, const char *text, const char *what)
{
    vae_error_clear();
    if (vae_model_config_set(c, key, text) != VAE_ERR_ARG)
        fail_msg("%s = '%s' was accepted", key, text);
    if (!strstr(vae_error_message(), what))
        fail_msg("%s = '%s': message '%s' lacks '%s'", key, text, vae_error_message(), what);
}

/* Settings read from their text form and written back; what is not a value is refused, keeping the
 * value before; a configuration filled by hand is checked before a layout; differences named. */
static void test_settings_text_forms(void **state)
{
    (void)state;
    vae_model_config c, d;
    char text[64], why[256];
    assert_int_equal(vae_model_config_init(&c, "bow", 9), VAE_OK);
    static const char *const keys[] = {"latent", "encoder_hidden", "decoder_hidden", "activation",
                                       "input_transform"};
    static const char *const defaults[] = {"32", "128,64", "64,128", "relu", "log1p"};
    assert_int_equal(c.family->num_settings, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(c.family->settings[i].key, keys[i]);
        vae_model_config_text(&c, i, text, sizeof text);
        assert_string_equal(text, defaults[i]);
    }
    const int latent = setting(&c, "latent"), enc = setting(&c, "encoder_hidden"), dec = setting(&c, "decoder_hidden");
    for (const char *const *bad = (const char *const[]){"abc", " 5", "+5", "0", "65537", "5x", "", NULL}; *bad; bad++)
        refused(&c, "latent", *bad, "not an integer in [1, 65536]");
    for (const char *const *bad = (const char *const[]){"5,x", "128,,64", "64, 128", ",4", "4,", "", "0",
                                                         "1,2,3,4,5,6,7,8,9", "65537", NULL};
         *bad; bad++)
        refused(&c, "encoder_hidden", *bad, "list of 1 to 8 integers in [1, 65536]");
    refused(&c, "activation", "gelu", "'gelu' is not one of relu|tanh|softplus");
    refused(&c, "embedding", "256", "the bow model has no setting 'embedding'");
    vae_model_config_text(&c, enc, text, sizeof text);
    assert_string_equal(text, "128,64");
    set(&c, "latent", "16");
    set(&c, "decoder_hidden", "");
    set(&c, "encoder_hidden", "1,2,3,4,5,6,7,65536");
    vae_model_config_text(&c, dec, text, sizeof text);
    assert_string_equal(text, "");
    vae_model_config_text(&c, enc, text, sizeof text);
    assert_string_equal(text, "1,2,3,4,5,6,7,65536");
    d = c;
    assert_null(vae_model_config_diff(&c, &d, why, sizeof why));
    set(&d, "latent", "32");
    assert_non_null(vae_model_config_diff(&c, &d, why, sizeof why));
    assert_string_equal(why, "latent 16 against 32");
    d = c;
    set(&d, "encoder_hidden", "1,2,3,4,5,6,7,8");
    assert_string_equal(vae_model_config_diff(&c, &d, why, sizeof why),
                        "encoder_hidden 1,2,3,4,5,6,7,65536 against 1,2,3,4,5,6,7,8");
    d = c;
    d.vocab_size = 10;
    assert_string_equal(vae_model_config_diff(&c, &d, why, sizeof why), "vocab_size 9 against 10");
    /* By hand, past the rules: refused before any layout. */
    vae_layout l;
    d = c;
    d.values[latent].num = 0;
    assert_int_equal(vae_layout_compute(&d, &l), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "the bow model's latent is 0"));
    d = c;
    d.values[enc].num = 0;
    assert_int_equal(vae_model_new(&(vae_model *){NULL}, &d, 2), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "encoder_hidden has 0 entries"));
    d = c;
    d.values[setting(&c, "activation")].num = 3;
    assert_int_equal(vae_layout_compute(&d, &l), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "activation"));
}

/* On caller buffers, the model reads and writes num_params floats of each, never what the caller
 * keeps after the gradients, computes what a model on its own buffers does, and frees neither. */
static void test_model_on_caller_buffers(void **state)
{
    (void)state;
    vae_model_config c;
    config_small(&c, VAE_ACT_TANH, VAE_INPUT_LOG1P, 1);
    vae_layout l;
    assert_int_equal(vae_layout_compute(&c, &l), VAE_OK);
    const size_t n = l.num_params, extra = 5;
    float *params = calloc(n, sizeof *params), *grads = calloc(n + extra, sizeof *grads);
    assert_non_null(params);
    assert_non_null(grads);
    for (size_t i = 0; i < extra; i++)
        grads[n + i] = 1234.5f + (float)i;
    vae_model *mine = NULL, *own = NULL;
    assert_int_equal(vae_model_new_on(&mine, &c, 3, params, grads), VAE_OK);
    assert_int_equal(vae_model_new(&own, &c, 3), VAE_OK);
    assert_ptr_equal(vae_model_params(mine), params);
    assert_ptr_equal(vae_model_grads(mine), grads);
    assert_int_equal(vae_model_num_params(mine), n);
    assert_int_equal(vae_model_latent(mine), 3);
    assert_null(vae_model_state(mine));
    vae_model_init_params(mine, 11);
    vae_model_init_params(own, 11);
    assert_memory_equal(params, vae_model_params(own), n * sizeof *params);
    vae_docs d = small_batch();
    const vae_batch b = {.docs = &d};
    vae_step_opts o = {.beta = 0.5f, .sample = 1, .noise_seed = 3, .noise_step = 2, .scale = 1.0f / 3};
    vae_loss_sums s1, s2;
    assert_int_equal(vae_model_forward(mine, &b, &o, &s1), VAE_OK);
    vae_model_backward(mine, &b, &o);
    assert_int_equal(vae_model_forward(own, &b, &o, &s2), VAE_OK);
    vae_model_backward(own, &b, &o);
    assert_memory_equal(&s1, &s2, sizeof s1);
    assert_memory_equal(grads, vae_model_grads(own), n * sizeof *grads);
    for (size_t i = 0; i < extra; i++)
        assert_true(grads[n + i] == 1234.5f + (float)i);
    /* Only one of the two buffers given is refused. */
    vae_model *half = NULL;
    assert_int_equal(vae_model_new_on(&half, &c, 3, params, NULL), VAE_ERR_ARG);
    assert_null(half);
    vae_model_free(mine);
    vae_model_free(own);
    params[0] = 1.0f; /* still the caller's */
    free(params);
    free(grads);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_all_activations_and_transforms),
        cmocka_unit_test(test_gradients_without_decoder_hidden),
        cmocka_unit_test(test_gradients_deterministic_z),
        cmocka_unit_test(test_sparse_layer_threads),
        cmocka_unit_test(test_layout_names_and_shapes),
        cmocka_unit_test(test_empty_batch_zero_gradient),
        cmocka_unit_test(test_tensor_transposed_views),
        cmocka_unit_test(test_logsumexp_extreme_logits),
        cmocka_unit_test(test_figures_hand_worked),
        cmocka_unit_test(test_kl_matches_monte_carlo),
        cmocka_unit_test(test_noise_independent_of_batch_position),
        cmocka_unit_test(test_batch_capacity_enforced),
        cmocka_unit_test(test_family_registry),
        cmocka_unit_test(test_settings_text_forms),
        cmocka_unit_test(test_model_on_caller_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
