/* --precision bf16 (model/bf16.h, SPEC.md "Precision"): the rounding to bfloat16 on hand-worked
 * bit patterns; every form of the bfloat16 product against a double-precision product of the same
 * rounded inputs, within float32 accumulation's bound; and the sentence model in bf16 against
 * itself in fp32 on one batch, within bounds from bfloat16's 8 significant bits. The last two need
 * the backend and the CPU's bfloat16 instructions: without them the test reports itself skipped
 * (ctest's SKIP_RETURN_CODE 77) after the rounding's cases, and checks that bf16 is refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bf16.h"
#include "vae/common.h"
#include "vae/model.h"
#include "vae/rng.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static vae_bf16 round1(float f)
{
    vae_bf16 b;
    vae_bf16_from_f32(&b, &f, 1);
    return b;
}

static void test_rounding(void **state)
{
    (void)state;
    assert_int_equal(round1(1.0f), 0x3f80);
    assert_int_equal(round1(-2.5f), 0xc020);
    assert_int_equal(round1(0.0f), 0x0000);
    assert_int_equal(round1(-0.0f), 0x8000);
    /* Halfway cases go to the even neighbour: 1 + 2^-8 lies between 0x3f80 and 0x3f81. */
    assert_int_equal(round1(from_bits(0x3f808000u)), 0x3f80);
    assert_int_equal(round1(from_bits(0x3f818000u)), 0x3f82);
    assert_int_equal(round1(from_bits(0x3f808001u)), 0x3f81);
    assert_int_equal(round1(from_bits(0x3f807fffu)), 0x3f80);
    /* Overflow rounds to infinity; infinity and NaN stay what they are. */
    assert_int_equal(round1(from_bits(0x7f7fffffu)), 0x7f80);
    assert_int_equal(round1(INFINITY), 0x7f80);
    assert_int_equal(round1(-INFINITY), 0xff80);
    assert_true(isnan(vae_bf16_to_f32(round1(NAN))));
    assert_true(isnan(vae_bf16_to_f32(round1(from_bits(0x7f800001u))))); /* a payload in the low half only */
    assert_true(vae_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(vae_bf16_to_f32(0xc020) == -2.5f);
    /* Every bfloat16 converts back to itself. */
    for (uint32_t b = 0; b < 0x10000u; b++) {
        const float f = vae_bf16_to_f32((vae_bf16)b);
        if (!isnan(f))
            assert_int_equal(round1(f), b);
    }
}

/* Row-major op(A) [M, K] of A held [M, lda] or, transposed, [K, lda]. */
static double at(const vae_bf16 *A, int t, int ld, int i, int k)
{
    return vae_bf16_to_f32(t ? A[(size_t)k * ld + i] : A[(size_t)i * ld + k]);
}

static void check_form(vae_bf16_gemm *g, int ta, int tb, int acc, int M, int N, int K)
{
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    const size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
    float *fa = malloc(na * sizeof *fa), *fb = malloc(nb * sizeof *fb), *C = malloc(nc * sizeof *C);
    vae_bf16 *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
    double *u = malloc((na + nb + nc) * sizeof *u);
    vae_uniforms(5, (uint64_t)(ta * 4 + tb * 2 + acc), (uint64_t)(M * 1000 + N * 10 + K), u, (int)(na + nb + nc));
    for (size_t i = 0; i < na; i++)
        fa[i] = (float)(2 * u[i] - 1);
    for (size_t i = 0; i < nb; i++)
        fb[i] = (float)(2 * u[na + i] - 1);
    for (size_t i = 0; i < nc; i++)
        C[i] = (float)(2 * u[na + nb + i] - 1);
    vae_bf16_from_f32(A, fa, na);
    vae_bf16_from_f32(B, fb, nb);
    float *before = malloc(nc * sizeof *before);
    memcpy(before, C, nc * sizeof *C);
    assert_int_equal(vae_bf16_gemm_run(g, ta, tb, M, N, K, A, lda, B, ldb, acc, C, ldc), VAE_OK);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = acc ? before[(size_t)i * ldc + j] : 0.0, mass = fabs(want);
            for (int k = 0; k < K; k++) {
                const double p = at(A, ta, lda, i, k) * at(B, !tb, ldb, j, k);
                want += p;
                mass += fabs(p);
            }
            /* Products of bfloat16s are exact in float32; only the sums round. */
            const double got = C[(size_t)i * ldc + j], bound = 1e-6 * mass + 1e-30;
            if (fabs(got - want) > bound)
                fail_msg("ta=%d tb=%d acc=%d [%d, %d] of %dx%dx%d: %.9g, want %.9g (bound %.3g)", ta, tb, acc, i, j, M,
                         N, K, got, want, bound);
        }
    /* Past the rows and columns of C (its leading dimension's slack) nothing is written. */
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++)
            assert_true(C[(size_t)i * ldc + j] == before[(size_t)i * ldc + j]);
    free(fa), free(fb), free(C), free(A), free(B), free(u), free(before);
}

static void test_products(void **state)
{
    (void)state;
    vae_bf16_gemm *g = NULL;
    assert_int_equal(vae_bf16_gemm_new(&g), VAE_OK);
    const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 300}, {64, 130, 16}};
    for (int form = 0; form < 8; form++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_form(g, form >> 2, (form >> 1) & 1, form & 1, shapes[s][0], shapes[s][1], shapes[s][2]);
    vae_bf16_gemm_free(g);
}

/* ---- the sentence model in bf16 against fp32 ---- */

enum { V = 300, B = 12, MAXLEN = 14 };

static vae_model *sentence_model_new(void)
{
    vae_model_config mc;
    assert_int_equal(vae_model_config_init(&mc, "sentence", V), VAE_OK);
    assert_int_equal(vae_model_config_set(&mc, "embedding", "16"), VAE_OK);
    assert_int_equal(vae_model_config_set(&mc, "hidden", "24"), VAE_OK);
    assert_int_equal(vae_model_config_set(&mc, "latent", "4"), VAE_OK);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, B), VAE_OK);
    vae_model_init_params(m, 3);
    return m;
}

typedef struct {
    vae_loss_sums s;
    float *grads;
} step_result;

static step_result one_step(vae_model *m, const vae_batch *b)
{
    const vae_step_opts o = {.beta = 1.0f, .sample = 1, .noise_seed = 9, .noise_step = 2, .scale = 1.0f / B};
    step_result r;
    assert_int_equal(vae_model_forward(m, b, &o, &r.s), VAE_OK);
    vae_model_backward(m, b, &o);
    const size_t P = vae_model_num_params(m);
    r.grads = malloc(P * sizeof *r.grads);
    memcpy(r.grads, vae_model_grads(m), P * sizeof *r.grads);
    return r;
}

static void test_sentence_bf16(void **state)
{
    (void)state;
    int64_t indptr[B + 1] = {0}, index[B];
    int32_t tokens[B * MAXLEN];
    double u[B * (MAXLEN + 1)];
    vae_uniforms(11, 0, 0, u, B * (MAXLEN + 1));
    for (int j = 0; j < B; j++) {
        const int len = 1 + (int)(u[j] * MAXLEN);
        for (int t = 0; t < len; t++)
            tokens[indptr[j] + t] = (int32_t)(u[B + j * MAXLEN + t] * (V + 1)); /* <unk> = V included */
        indptr[j + 1] = indptr[j] + len;
        index[j] = j;
    }
    vae_seqs q = {.num_seqs = B, .num_tokens = indptr[B], .indptr = indptr, .tokens = tokens, .seq_index = index};
    const vae_batch b = {.seqs = &q};
    vae_model *m = sentence_model_new();
    const step_result f32 = one_step(m, &b);
    assert_int_equal(vae_model_set_precision(m, VAE_PRECISION_BF16), VAE_OK);
    const step_result f16 = one_step(m, &b);
    assert_int_equal(vae_model_set_precision(m, VAE_PRECISION_FP32), VAE_OK);
    const step_result back = one_step(m, &b);
    /* Back in fp32 the step is the fp32 step, bit for bit. */
    const size_t P = vae_model_num_params(m);
    assert_memory_equal(back.grads, f32.grads, P * sizeof *back.grads);
    assert_true(back.s.recon == f32.s.recon);
    /* Each product's inputs lose at most 2^-9 relative, so a product moves by at most 2^-8 of
     * sum_k |a_k b_k|: parts in a thousand of recon and of the KL (the encoder's GRU is bf16 too),
     * less where the errors cancel (1e-6 of recon measured). */
    const double rel_recon = fabs(f16.s.recon - f32.s.recon) / f32.s.recon;
    const double rel_kl = fabs(f16.s.kl - f32.s.kl) / f32.s.kl;
    printf("recon fp32 %.9g bf16 %.9g (relative %.3g); kl %.9g, %.9g (%.3g)\n", f32.s.recon, f16.s.recon, rel_recon,
           f32.s.kl, f16.s.kl, rel_kl);
    assert_true(rel_recon < 1e-3);
    assert_true(rel_kl < 1e-2);
    assert_true(f16.s.recon != f32.s.recon && f16.s.kl != f32.s.kl); /* the products did run in bfloat16 */
    /* Each tensor's gradient within 2.5 x 2^-8 of its norm. */
    const vae_layout *l = vae_model_layout(m);
    for (int t = 0; t < l->num_tensors; t++) {
        const vae_tensor *x = &l->tensors[t];
        double diff = 0.0, norm = 0.0;
        for (size_t i = x->offset; i < x->offset + x->size; i++) {
            diff += ((double)f16.grads[i] - f32.grads[i]) * ((double)f16.grads[i] - f32.grads[i]);
            norm += (double)f32.grads[i] * f32.grads[i];
        }
        const double rel = sqrt(diff / (norm + 1e-300));
        printf("%-20s relative difference %.3g\n", x->name, rel);
        if (!(rel < 0.01))
            fail_msg("%s: the bf16 gradient is %.3g of the fp32 one's norm away", x->name, rel);
    }
    free(f32.grads), free(f16.grads), free(back.grads);
    vae_model_free(m);
}

/* A family with float32 products only refuses bf16, naming itself, and takes fp32. */
static void test_family_without_bf16(void **state)
{
    (void)state;
    vae_model_config mc;
    assert_int_equal(vae_model_config_init(&mc, "bow", 50), VAE_OK);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &mc, 4), VAE_OK);
    assert_int_equal(vae_model_set_precision(m, VAE_PRECISION_FP32), VAE_OK);
    assert_int_equal(vae_model_set_precision(m, VAE_PRECISION_BF16), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "bow"));
    vae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest always[] = {
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_family_without_bf16),
    };
    const struct CMUnitTest hardware[] = {
        cmocka_unit_test(test_products),
        cmocka_unit_test(test_sentence_bf16),
    };
    int failed = cmocka_run_group_tests(always, NULL, NULL);
    if (vae_bf16_check() != VAE_OK) {
        const char *why = vae_error_message();
        vae_model *m = NULL;
        vae_model_config mc;
        /* Refused with the message, not emulated. */
        if (vae_model_config_init(&mc, "sentence", 20) != VAE_OK || vae_model_new(&m, &mc, 2) != VAE_OK ||
            vae_model_set_precision(m, VAE_PRECISION_BF16) != VAE_ERR_LIMIT)
            failed++;
        vae_model_free(m);
        printf("test_bf16: the products skipped: %s\n", why);
        return failed ? 1 : 77;
    }
    return failed + cmocka_run_group_tests(hardware, NULL, NULL);
}
