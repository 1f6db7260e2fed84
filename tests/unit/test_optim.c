/* Tests of the optimizers (optim.h): Adam against hand-worked steps and against an independent
 * double-precision transcription of torch.optim.Adam's documented update, SGD, clipping by global
 * norm as torch.nn.utils.clip_grad_norm_ (scale max_norm / (norm + 1e-6) when the norm exceeds
 * max_norm), vae_grad_norm, and the update counter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vae/common.h"
#include "vae/optim.h"

static vae_optim *new_optim(vae_optim_kind kind, float lr, float clip, size_t n)
{
    vae_optim_config c;
    vae_optim_config_default(&c);
    c.kind = kind;
    c.lr = lr;
    c.clip_norm = clip;
    vae_optim *o = NULL;
    assert_int_equal(vae_optim_new(&o, &c, n), VAE_OK);
    assert_non_null(o);
    return o;
}

/* torch.optim.Adam (no weight decay, no amsgrad), one parameter, in double:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * The hyperparameters are the float values the optimizer stores, widened to double. */
typedef struct {
    double p, m, v;
    int t;
} ref_adam;

static void ref_adam_step(ref_adam *r, double g, double lr, double b1, double b2, double eps)
{
    r->t++;
    r->m = b1 * r->m + (1.0 - b1) * g;
    r->v = b2 * r->v + (1.0 - b2) * g * g;
    const double mhat = r->m / (1.0 - pow(b1, r->t));
    const double vhat = r->v / (1.0 - pow(b2, r->t));
    r->p -= lr * mhat / (sqrt(vhat) + eps);
}

static void test_defaults(void **state)
{
    vae_optim_config c;
    memset(&c, 0xff, sizeof c);
    vae_optim_config_default(&c);
    assert_int_equal(c.kind, VAE_OPTIM_ADAM);
    assert_true(c.lr == 1e-3f);
    assert_true(c.beta1 == 0.9f);
    assert_true(c.beta2 == 0.999f);
    assert_true(c.eps == 1e-8f);
    assert_true(c.clip_norm <= 0.0f); /* no clipping by default */
    assert_string_equal(vae_optim_names[VAE_OPTIM_ADAM], "adam");
    assert_string_equal(vae_optim_names[VAE_OPTIM_SGD], "sgd");
    assert_null(vae_optim_names[2]);
}

static void test_new_zeroes_state(void **state)
{
    vae_optim *o = new_optim(VAE_OPTIM_ADAM, 0.1f, 0.0f, 5);
    assert_int_equal(o->n, 5);
    assert_int_equal(o->t, 0);
    for (int i = 0; i < 5; i++) {
        assert_true(o->m[i] == 0.0f);
        assert_true(o->v[i] == 0.0f);
    }
    vae_optim_free(o);
    vae_optim_free(NULL);
}

/* p = 1, g = 0.5 then g = -1, lr = 0.1, betas 0.9 / 0.999, eps 1e-8, worked by hand:
 * step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25, p = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
 *         = 0.900000002;
 * step 2: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
 *         mhat = -0.055 / 0.19 = -0.2894736842, vhat = 0.00124975 / 0.001999 = 0.6251875938,
 *         p = 0.900000002 + 0.1 * 0.2894736842 / 0.7906880129 = 0.9366103542. */
static void test_adam_hand_worked(void **state)
{
    vae_optim *o = new_optim(VAE_OPTIM_ADAM, 0.1f, 0.0f, 1);
    float p = 1.0f, g = 0.5f;
    assert_int_equal(vae_optim_step(o, &p, &g), VAE_OK);
    assert_true(fabs(p - 0.900000002) <= 1e-6);
    /* The moments carry the float betas: 1 - 0.9f and 1 - 0.999f are 2.4e-7 and 1.3e-5 off in
     * relative terms, hence the relative tolerances on m and v. */
    assert_true(fabs(o->m[0] - 0.05) <= 1e-6 * 0.05);
    assert_true(fabs(o->v[0] - 0.00025) <= 2e-5 * 0.00025);
    assert_int_equal(o->t, 1);
    g = -1.0f;
    assert_int_equal(vae_optim_step(o, &p, &g), VAE_OK);
    assert_true(fabs(p - 0.9366103542) <= 2e-6);
    assert_true(fabs(o->m[0] - (-0.055)) <= 1e-6 * 0.055);
    assert_true(fabs(o->v[0] - 0.00124975) <= 2e-5 * 0.00124975);
    assert_int_equal(o->t, 2);
    vae_optim_free(o);
}

static void test_adam_matches_reference(void **state)
{
    /* Several elements with gradients of different scales and signs (one always zero), over many
     * steps; the parameters must follow the double reference to float accuracy. */
    enum { N = 6, STEPS = 40 };
    const float lr = 0.01f;
    vae_optim *o = new_optim(VAE_OPTIM_ADAM, lr, 0.0f, N);
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    float p[N] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f, -0.25f};
    ref_adam r[N];
    for (int i = 0; i < N; i++)
        r[i] = (ref_adam){.p = p[i]};
    const double scale[N] = {1.0, 1e-3, 1e3, 0.0, 0.1, 7.0};
    for (int t = 1; t <= STEPS; t++) {
        float g[N];
        for (int i = 0; i < N; i++)
            g[i] = (float)(scale[i] * (sin(0.7 * t + i) + 0.3 * ((t + i) % 3 - 1)));
        for (int i = 0; i < N; i++)
            ref_adam_step(&r[i], g[i], lr, b1, b2, eps);
        assert_int_equal(vae_optim_step(o, p, g), VAE_OK);
        assert_int_equal(o->t, t);
        for (int i = 0; i < N; i++) {
            assert_true(fabs((double)p[i] - r[i].p) <= 2e-6 * (1.0 + fabs(r[i].p)));
            assert_true(fabs((double)o->m[i] - r[i].m) <= 1e-5 * (scale[i] + 1e-30));
        }
    }
    /* The element whose gradient is always zero has not moved. */
    assert_true(p[3] == 0.0f);
    vae_optim_free(o);
}

static void test_adam_first_step_is_lr_sized(void **state)
{
    /* At t = 1, mhat / sqrt(vhat) = sign(g): every element moves by lr against its gradient's sign,
     * whatever the gradient's size (down to where eps matters). */
    enum { N = 4 };
    vae_optim *o = new_optim(VAE_OPTIM_ADAM, 0.05f, 0.0f, N);
    float p[N] = {0, 0, 0, 0}, g[N] = {1e-2f, -3.0f, 250.0f, -1e-3f};
    assert_int_equal(vae_optim_step(o, p, g), VAE_OK);
    for (int i = 0; i < N; i++)
        assert_true(fabs(p[i] - (g[i] > 0 ? -0.05 : 0.05)) <= 1e-6);
    vae_optim_free(o);
}

static void test_sgd(void **state)
{
    enum { N = 3 };
    vae_optim *o = new_optim(VAE_OPTIM_SGD, 0.5f, 0.0f, N);
    float p[N] = {1.0f, -1.0f, 2.0f};
    float g1[N] = {0.5f, 2.0f, -4.0f};
    assert_int_equal(vae_optim_step(o, p, g1), VAE_OK);
    assert_true(fabs(p[0] - 0.75) <= 1e-7);
    assert_true(fabs(p[1] - (-2.0)) <= 1e-7);
    assert_true(fabs(p[2] - 4.0) <= 1e-7);
    assert_int_equal(o->t, 1);
    float g2[N] = {1.0f, -1.0f, 0.0f};
    assert_int_equal(vae_optim_step(o, p, g2), VAE_OK);
    assert_true(fabs(p[0] - 0.25) <= 1e-7);
    assert_true(fabs(p[1] - (-1.5)) <= 1e-7);
    assert_true(fabs(p[2] - 4.0) <= 1e-7);
    assert_int_equal(o->t, 2);
    vae_optim_free(o);
}

static void test_clip_scales_gradient(void **state)
{
    /* g = (3, 4): norm 5 > clip 1, so the effective gradient is g / (5 + 1e-6) as in
     * torch.nn.utils.clip_grad_norm_ (coefficient max_norm / (total_norm + 1e-6)). */
    vae_optim *o = new_optim(VAE_OPTIM_SGD, 1.0f, 1.0f, 2);
    float p[2] = {0.0f, 0.0f}, g[2] = {3.0f, 4.0f};
    assert_true(fabs(vae_grad_norm(g, 2) - 5.0) <= 1e-12);
    assert_int_equal(vae_optim_step(o, p, g), VAE_OK);
    const double coef = 1.0 / (5.0 + 1e-6);
    assert_true(fabs(p[0] - (-3.0 * coef)) <= 1e-7);
    assert_true(fabs(p[1] - (-4.0 * coef)) <= 1e-7);
    /* The step's norm is the clip limit (to within the 1e-6 of the formula). */
    assert_true(fabs(sqrt((double)p[0] * p[0] + (double)p[1] * p[1]) - 1.0) <= 1e-6);
    vae_optim_free(o);

    /* Adam sees the clipped gradient: its first moment is (1 - b1) * g * coef. */
    o = new_optim(VAE_OPTIM_ADAM, 0.1f, 1.0f, 2);
    float q[2] = {0.0f, 0.0f}, h[2] = {3.0f, 4.0f};
    assert_int_equal(vae_optim_step(o, q, h), VAE_OK);
    const double one_minus_b1 = 1.0 - (double)o->cfg.beta1, one_minus_b2 = 1.0 - (double)o->cfg.beta2;
    assert_true(fabs(o->m[0] - one_minus_b1 * 3.0 * coef) <= 1e-7);
    assert_true(fabs(o->m[1] - one_minus_b1 * 4.0 * coef) <= 1e-7);
    assert_true(fabs(o->v[0] - one_minus_b2 * 9.0 * coef * coef) <= 1e-8);
    assert_true(fabs(o->v[1] - one_minus_b2 * 16.0 * coef * coef) <= 1e-8);
    vae_optim_free(o);
}

static void test_clip_with_adam_over_steps(void **state)
{
    /* Clipped Adam over several steps against the reference fed the clipped gradients. */
    enum { N = 3, STEPS = 12 };
    const float lr = 0.02f, clip = 0.5f;
    vae_optim *o = new_optim(VAE_OPTIM_ADAM, lr, clip, N);
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    float p[N] = {0.3f, -0.7f, 1.1f};
    ref_adam r[N];
    for (int i = 0; i < N; i++)
        r[i] = (ref_adam){.p = p[i]};
    int clipped = 0, unclipped = 0;
    for (int t = 1; t <= STEPS; t++) {
        /* Norms alternate between above and below the limit. */
        const double amp = (t % 2) ? 2.0 : 0.1;
        float g[N] = {(float)(amp * cos(t)), (float)(-amp * 0.5), (float)(amp * sin(2.0 * t))};
        const double norm = vae_grad_norm(g, N);
        const double coef = norm > clip ? clip / (norm + 1e-6) : 1.0;
        clipped += norm > clip;
        unclipped += norm <= clip;
        for (int i = 0; i < N; i++)
            ref_adam_step(&r[i], g[i] * coef, lr, b1, b2, eps);
        assert_int_equal(vae_optim_step(o, p, g), VAE_OK);
        for (int i = 0; i < N; i++)
            assert_true(fabs((double)p[i] - r[i].p) <= 2e-6 * (1.0 + fabs(r[i].p)));
    }
    assert_true(clipped > 0 && unclipped > 0);
    vae_optim_free(o);
}

static void test_no_clip_below_limit(void **state)
{
    /* g = (0.3, 0.4): norm 0.5 < clip 1: the full gradient is used. */
    vae_optim *o = new_optim(VAE_OPTIM_SGD, 1.0f, 1.0f, 2);
    float p[2] = {0.0f, 0.0f}, g[2] = {0.3f, 0.4f};
    assert_int_equal(vae_optim_step(o, p, g), VAE_OK);
    assert_true(fabs(p[0] - (-0.3)) <= 1e-7);
    assert_true(fabs(p[1] - (-0.4)) <= 1e-7);
    vae_optim_free(o);
    /* clip_norm <= 0: never clipped, however large the gradient. */
    o = new_optim(VAE_OPTIM_SGD, 1.0f, 0.0f, 2);
    float q[2] = {0.0f, 0.0f}, h[2] = {300.0f, 400.0f};
    assert_int_equal(vae_optim_step(o, q, h), VAE_OK);
    assert_true(fabs(q[0] - (-300.0)) <= 1e-4);
    assert_true(fabs(q[1] - (-400.0)) <= 1e-4);
    vae_optim_free(o);
    o = new_optim(VAE_OPTIM_SGD, 1.0f, -1.0f, 2);
    float s[2] = {0.0f, 0.0f}, k[2] = {300.0f, 400.0f};
    assert_int_equal(vae_optim_step(o, s, k), VAE_OK);
    assert_true(fabs(s[0] - (-300.0)) <= 1e-4);
    vae_optim_free(o);
}

static void test_grad_norm(void **state)
{
    const float g[2] = {3.0f, 4.0f};
    assert_true(vae_grad_norm(g, 2) == 5.0);
    assert_true(vae_grad_norm(g, 0) == 0.0);
    const float h[5] = {1.0f, -2.0f, 2.0f, 0.0f, -4.0f}; /* 1 + 4 + 4 + 16 = 25 */
    assert_true(vae_grad_norm(h, 5) == 5.0);
    /* Accumulated in double: squares beyond FLT_MAX do not overflow. */
    const float big[2] = {1e20f, -1e20f};
    const double want = sqrt(2.0) * (double)1e20f;
    assert_true(fabs(vae_grad_norm(big, 2) - want) <= 1e-12 * want);
    /* Many small values: 1e6 copies of x sum to 1e6 x^2 exactly enough in double. */
    enum { N = 1000000 };
    float *s = malloc(N * sizeof *s);
    assert_non_null(s);
    for (int i = 0; i < N; i++)
        s[i] = 1e-3f;
    const double x = 1e-3f;
    assert_true(fabs(vae_grad_norm(s, N) - sqrt(N * x * x)) <= 1e-9);
    free(s);
    /* Every position counts, the lanes' and the tail's: 13 = 8 + 5 elements, each alone. */
    for (int i = 0; i < 13; i++) {
        float one[13] = {0};
        one[i] = -2.0f;
        assert_true(vae_grad_norm(one, 13) == 2.0);
    }
}

/* A non-finite gradient anywhere is reported, by both optimizers, with and without clipping; with
 * clipping nothing has changed yet. */
static void test_non_finite_gradient_reported(void **state)
{
    const float bad_values[] = {NAN, INFINITY, -INFINITY};
    for (int kind = 0; kind < 2; kind++)
        for (int clip = 0; clip < 2; clip++)
            for (int b = 0; b < 3; b++)
                for (int at = 0; at < 11; at += 5) {
                    enum { N = 11 };
                    vae_optim *o = new_optim(kind ? VAE_OPTIM_SGD : VAE_OPTIM_ADAM, 0.1f, clip ? 1.0f : 0.0f, N);
                    float p[N], g[N];
                    for (int i = 0; i < N; i++)
                        p[i] = (float)i, g[i] = 0.5f;
                    g[at] = bad_values[b];
                    assert_int_equal(vae_optim_step(o, p, g), VAE_ERR_NUMERIC);
                    if (clip) {
                        for (int i = 0; i < N; i++)
                            assert_true(p[i] == (float)i);
                        assert_int_equal(o->t, 0);
                    }
                    vae_optim_free(o);
                }
}

/* Two optimizers, one updating the whole buffer from a gradient, one in three blocks from that
 * gradient given as terms whose float sum, in order, is it (the sharded trainer's way: one term, or
 * every rank's gradient on a node). The same bits in parameters and moments, clipped or not, with
 * blocks that cross the pieces the sum is taken in. */
static void test_blocks_of_sums_equal_whole(void **state)
{
    enum { N = 2600, STEPS = 4, TERMS = 3 };
    const size_t cut[] = {0, 1000, 2100, N};
    static float p[N], q[N], g[N], term[TERMS][N];
    for (int kind = 0; kind < 2; kind++)
        for (int clip = 0; clip < 2; clip++)
            for (int num_terms = 1; num_terms <= TERMS; num_terms += TERMS - 1) {
                vae_optim *whole = new_optim(kind ? VAE_OPTIM_SGD : VAE_OPTIM_ADAM, 0.01f, clip ? 0.5f : 0.0f, N);
                vae_optim *parts = new_optim(kind ? VAE_OPTIM_SGD : VAE_OPTIM_ADAM, 0.01f, clip ? 0.5f : 0.0f, N);
                for (int i = 0; i < N; i++)
                    p[i] = q[i] = 0.1f * (float)(i % 9) - 0.4f;
                for (int t = 1; t <= STEPS; t++) {
                    for (int i = 0; i < N; i++) {
                        g[i] = 0.0f;
                        for (int k = 0; k < num_terms; k++) {
                            term[k][i] = (float)(sin(0.3 * t * (i + 1) + k) * (1 + i % 4));
                            g[i] += term[k][i];
                        }
                    }
                    assert_int_equal(vae_optim_step(whole, p, g), VAE_OK);
                    double sum_squares = 0.0;
                    for (int b = 0; b < 3; b++) {
                        const float *terms[TERMS];
                        for (int k = 0; k < num_terms; k++)
                            terms[k] = term[k] + cut[b];
                        sum_squares += vae_grad_sum_squares(terms, num_terms, cut[b + 1] - cut[b]);
                    }
                    const double norm = vae_grad_norm(g, N);
                    assert_true(fabs(sqrt(sum_squares) - norm) <= 1e-12 * norm);
                    for (int b = 0; b < 3; b++) {
                        const float *terms[TERMS];
                        for (int k = 0; k < num_terms; k++)
                            terms[k] = term[k] + cut[b];
                        parts->t = t - 1; /* each block's update counts the step once */
                        assert_int_equal(vae_optim_step_sum(parts, q, terms, num_terms, cut[b], cut[b + 1], norm),
                                         VAE_OK);
                    }
                    assert_memory_equal(p, q, sizeof p);
                    assert_memory_equal(whole->m, parts->m, N * sizeof *p);
                    assert_memory_equal(whole->v, parts->v, N * sizeof *p);
                }
                /* A non-finite norm stops a clipped update before it starts; unclipped, the norm is
                 * not read and the pass itself finds the NaN. */
                float bad_term[1] = {NAN}, fine_term[1] = {1.0f};
                const float *bad[2] = {fine_term, bad_term};
                const int64_t before = parts->t;
                assert_int_equal(vae_optim_step_sum(parts, q, bad, 2, 0, 1, clip ? NAN : 0.0), VAE_ERR_NUMERIC);
                assert_int_equal(parts->t, clip ? before : before + 1);
                vae_optim_free(whole);
                vae_optim_free(parts);
            }
}

static void test_t_counts_updates(void **state)
{
    for (int kind = 0; kind < 2; kind++) {
        vae_optim *o = new_optim(kind ? VAE_OPTIM_SGD : VAE_OPTIM_ADAM, 0.01f, 1.0f, 2);
        float p[2] = {0, 0};
        for (int t = 1; t <= 7; t++) {
            float g[2] = {(float)t, -(float)t}; /* clipped from t = 1 on: still counted */
            assert_int_equal(vae_optim_step(o, p, g), VAE_OK);
            assert_int_equal(o->t, t);
        }
        vae_optim_free(o);
    }
}

static void test_adam_bias_correction_uses_t(void **state)
{
    /* A fresh optimizer and one that has done k updates with zero gradient differ at the next
     * update: with m = v = 0 after k zero steps, step k+1 sees mhat = (1-b1) g / (1 - b1^(k+1)),
     * vhat = (1-b2) g^2 / (1 - b2^(k+1)): the move is lr * ratio, not lr. */
    vae_optim *o = new_optim(VAE_OPTIM_ADAM, 0.1f, 0.0f, 1);
    float p = 0.0f, zero = 0.0f;
    for (int k = 0; k < 9; k++)
        assert_int_equal(vae_optim_step(o, &p, &zero), VAE_OK);
    assert_true(p == 0.0f);
    float g = 1.0f;
    assert_int_equal(vae_optim_step(o, &p, &g), VAE_OK);
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2;
    const double mhat = (1 - b1) / (1 - pow(b1, 10)), vhat = (1 - b2) / (1 - pow(b2, 10));
    const double want = -0.1 * mhat / (sqrt(vhat) + (double)o->cfg.eps);
    assert_true(fabs(p - want) <= 1e-6);
    assert_true(fabs(want - (-0.1)) > 0.05); /* a real check of t (want ~ -0.0484) */
    vae_optim_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_new_zeroes_state),
        cmocka_unit_test(test_blocks_of_sums_equal_whole),
        cmocka_unit_test(test_non_finite_gradient_reported),
        cmocka_unit_test(test_adam_hand_worked),
        cmocka_unit_test(test_adam_matches_reference),
        cmocka_unit_test(test_adam_first_step_is_lr_sized),
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_clip_scales_gradient),
        cmocka_unit_test(test_clip_with_adam_over_steps),
        cmocka_unit_test(test_no_clip_below_limit),
        cmocka_unit_test(test_grad_norm),
        cmocka_unit_test(test_t_counts_updates),
        cmocka_unit_test(test_adam_bias_correction_uses_t),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
