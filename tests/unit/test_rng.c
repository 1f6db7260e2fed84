/* Tests of the counter-based generator (rng.h): Philox4x32-10 against Random123's known-answer
 * vectors, the documented stream layout, the prefix property of the normal and uniform streams,
 * their moments (tolerances a few standard errors wide), and the epoch permutation (a bijection,
 * deterministic, keyed by seed and epoch, and uniform position by position). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vae/rng.h"

/* ---------------------------------------------------------------- Philox known answers */

/* Random123 kat_vectors, "philox4x32 10": counter c0..c3, key k0 k1, expected out[0..3]. The key
 * is (k0, k1) = ((uint32)seed, (uint32)(seed >> 32)). */
static void check_kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                      uint32_t e0, uint32_t e1, uint32_t e2, uint32_t e3)
{
    uint32_t out[4] = {0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
    vae_philox4x32((uint64_t)k1 << 32 | k0, c0, c1, c2, c3, out);
    assert_int_equal(out[0], e0);
    assert_int_equal(out[1], e1);
    assert_int_equal(out[2], e2);
    assert_int_equal(out[3], e3);
}

static void test_philox_kat_zero(void **state)
{
    check_kat(0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
}

static void test_philox_kat_ones(void **state)
{
    check_kat(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
              0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
}

static void test_philox_kat_pi(void **state)
{
    check_kat(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
              0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

static void test_philox_is_pure_and_sensitive(void **state)
{
    uint32_t a[4], b[4];
    vae_philox4x32(12345, 1, 2, 3, 4, a);
    vae_philox4x32(12345, 1, 2, 3, 4, b);
    assert_memory_equal(a, b, sizeof a);
    /* Changing any one counter word or either key half changes the output. */
    const uint32_t base[4] = {1, 2, 3, 4};
    for (int w = 0; w < 4; w++) {
        uint32_t c[4];
        memcpy(c, base, sizeof c);
        c[w] ^= 1u;
        vae_philox4x32(12345, c[0], c[1], c[2], c[3], b);
        assert_memory_not_equal(a, b, sizeof a);
    }
    vae_philox4x32(12345 ^ 1, 1, 2, 3, 4, b);
    assert_memory_not_equal(a, b, sizeof a);
    vae_philox4x32(12345 ^ ((uint64_t)1 << 32), 1, 2, 3, 4, b);
    assert_memory_not_equal(a, b, sizeof a);
}

/* ---------------------------------------------------------------- unit conversion */

static void test_u32_to_unit(void **state)
{
    const double two32 = 4294967296.0;
    assert_true(vae_u32_to_unit(0) > 0.0);
    assert_true(vae_u32_to_unit(0) == 0.5 / two32);
    assert_true(vae_u32_to_unit(0xffffffffu) < 1.0);
    assert_true(vae_u32_to_unit(0xffffffffu) == (4294967295.0 + 0.5) / two32);
    assert_true(vae_u32_to_unit(0x80000000u) == (2147483648.0 + 0.5) / two32);
    assert_true(isfinite(log(vae_u32_to_unit(0))));
    assert_true(isfinite(log(1.0 - vae_u32_to_unit(0xffffffffu))));
}

/* ---------------------------------------------------------------- stream layout */

/* rng.c documents the counter of block j of stream (seed, a, b) as (j, a_lo, a_hi ^ b_hi, b_lo);
 * uniforms[4j + w] is word w of that block mapped by vae_u32_to_unit, and the normals are
 * Box-Muller on words (0 radius, 1 angle) and (2 radius, 3 angle): cos then sin. Recomputed here
 * from the raw Philox output so that a change of stream format (which would break the exact
 * resume of old checkpoints) is caught. */
static void block_words(uint64_t seed, uint64_t a, uint64_t b, uint32_t j, uint32_t w[4])
{
    vae_philox4x32(seed, j, (uint32_t)a, (uint32_t)(a >> 32) ^ (uint32_t)(b >> 32), (uint32_t)b, w);
}

static void test_uniform_stream_layout(void **state)
{
    const uint64_t seeds[] = {0, 42, 0xdeadbeefcafef00dull};
    const uint64_t as[] = {0, 1, 123456, 0xffffffffull};
    const uint64_t bs[] = {0, 7, 1000003, ((uint64_t)5 << 32) | 9};
    enum { N = 22 };
    for (size_t s = 0; s < 3; s++)
        for (size_t ia = 0; ia < 4; ia++)
            for (size_t ib = 0; ib < 4; ib++) {
                double u[N];
                vae_uniforms(seeds[s], as[ia], bs[ib], u, N);
                for (int i = 0; i < N; i++) {
                    uint32_t w[4];
                    block_words(seeds[s], as[ia], bs[ib], (uint32_t)(i / 4), w);
                    const double want = ((double)w[i % 4] + 0.5) / 4294967296.0;
                    assert_true(u[i] == want);
                }
            }
}

static void test_normal_stream_layout(void **state)
{
    const double two_pi = 6.283185307179586476925;
    enum { N = 23 };
    float z[N];
    vae_normals(2024, 17, 99, z, N);
    for (int i = 0; i < N; i++) {
        uint32_t w[4];
        block_words(2024, 17, 99, (uint32_t)(i / 4), w);
        const int pair = (i % 4) / 2, use_sin = i % 2;
        const double u_r = ((double)w[2 * pair] + 0.5) / 4294967296.0;
        const double u_t = ((double)w[2 * pair + 1] + 0.5) / 4294967296.0;
        const double r = sqrt(-2.0 * log(u_r));
        const double want = use_sin ? r * sin(two_pi * u_t) : r * cos(two_pi * u_t);
        assert_true(fabs((double)z[i] - want) <= 1e-6 * (1.0 + fabs(want)));
    }
}

/* ---------------------------------------------------------------- prefix property */

enum { LMAX = 41, GUARD = 3 };

static void test_normals_prefix(void **state)
{
    const uint64_t seeds[] = {1, 987654321};
    const uint64_t streams[][2] = {{0, 0}, {5, 3}, {1000, 123456789}};
    for (size_t s = 0; s < 2; s++)
        for (size_t k = 0; k < 3; k++) {
            float full[LMAX];
            vae_normals(seeds[s], streams[k][0], streams[k][1], full, LMAX);
            for (int n = 1; n <= LMAX; n++) {
                float part[LMAX + GUARD];
                for (int i = 0; i < LMAX + GUARD; i++)
                    part[i] = 12345.0f;
                vae_normals(seeds[s], streams[k][0], streams[k][1], part, n);
                assert_memory_equal(part, full, (size_t)n * sizeof(float));
                for (int i = n; i < n + GUARD && i < LMAX + GUARD; i++)
                    assert_true(part[i] == 12345.0f); /* nothing written past n */
            }
        }
    /* Drawing 7 and then 3 of the same stream: the 3 are the first 3 of the 7. */
    float seven[7], three[3];
    vae_normals(77, 8, 9, seven, 7);
    vae_normals(77, 8, 9, three, 3);
    assert_memory_equal(three, seven, sizeof three);
}

static void test_uniforms_prefix(void **state)
{
    double full[LMAX];
    vae_uniforms(31337, 12, 34, full, LMAX);
    for (int n = 1; n <= LMAX; n++) {
        double part[LMAX + GUARD];
        for (int i = 0; i < LMAX + GUARD; i++)
            part[i] = -1.0;
        vae_uniforms(31337, 12, 34, part, n);
        assert_memory_equal(part, full, (size_t)n * sizeof(double));
        for (int i = n; i < n + GUARD && i < LMAX + GUARD; i++)
            assert_true(part[i] == -1.0);
    }
}

static void test_zero_count_writes_nothing(void **state)
{
    float z[2] = {3.0f, 4.0f};
    vae_normals(1, 2, 3, z, 0);
    assert_true(z[0] == 3.0f && z[1] == 4.0f);
    double u[2] = {3.0, 4.0};
    vae_uniforms(1, 2, 3, u, 0);
    assert_true(u[0] == 3.0 && u[1] == 4.0);
}

/* ---------------------------------------------------------------- distinct streams */

static int count_equal_f(const float *x, const float *y, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += x[i] == y[i];
    return c;
}

static void test_streams_differ(void **state)
{
    enum { N = 64 };
    const uint64_t ab[][3] = {
        /* seed, a, b */
        {7, 0, 0}, {7, 0, 1}, {7, 1, 0}, {7, 1, 1}, {7, 2, 5}, {7, 5, 2},
        {7, 0, (uint64_t)1 << 32}, {7, 0, ((uint64_t)1 << 32) | 1}, {7, 0xffffffffull, 0},
        {7, 3, 1000000}, {8, 0, 0}, {8, 3, 1000000}, {(uint64_t)7 << 32, 0, 0},
    };
    const size_t ns = sizeof ab / sizeof ab[0];
    float z[sizeof ab / sizeof ab[0]][N];
    for (size_t s = 0; s < ns; s++)
        vae_normals(ab[s][0], ab[s][1], ab[s][2], z[s], N);
    for (size_t s = 0; s < ns; s++)
        for (size_t t = s + 1; t < ns; t++)
            assert_true(count_equal_f(z[s], z[t], N) <= 1); /* independent streams: no overlap */
}

/* ---------------------------------------------------------------- moments */

static void test_normals_moments(void **state)
{
    /* One long stream and many short ones (doc-by-doc, as the trainer draws them). With n = 1e6
     * standard normals: SE(mean) = 1e-3, SE(var) = sqrt(2/n) = 1.41e-3, SE(E x^4) = sqrt(96/n) =
     * 9.8e-3, SE(P(|x| < 1)) = sqrt(p(1-p)/n) = 4.7e-4. Bounds are 5 SE wide. */
    enum { N = 1000000, DOCS = 10000, PER = 100 };
    float *z = malloc(N * sizeof *z);
    assert_non_null(z);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            vae_normals(20240601, 3, 17, z, N);
        else
            for (int d = 0; d < DOCS; d++)
                vae_normals(99, 12, (uint64_t)d, z + (size_t)d * PER, PER);
        double s1 = 0, s2 = 0, s4 = 0;
        long inside = 0;
        for (int i = 0; i < N; i++) {
            const double x = z[i];
            assert_true(isfinite(x));
            s1 += x;
            s2 += x * x;
            s4 += x * x * x * x;
            inside += fabs(x) < 1.0;
        }
        const double mean = s1 / N, var = s2 / N - mean * mean, m4 = s4 / N;
        const double p1 = (double)inside / N;
        assert_true(fabs(mean) <= 5e-3);
        assert_true(fabs(var - 1.0) <= 7.1e-3);
        assert_true(fabs(m4 - 3.0) <= 4.9e-2);
        assert_true(fabs(p1 - 0.682689492137) <= 2.4e-3);
    }
    free(z);
}

static void test_uniforms_range_and_moments(void **state)
{
    /* SE(mean) = sqrt(1/12 / n) = 2.9e-4; SE(fraction below 0.1) = sqrt(0.09 / n) = 3e-4. */
    enum { N = 1000000 };
    double *u = malloc(N * sizeof *u);
    assert_non_null(u);
    vae_uniforms(5, 6, 7, u, N);
    double s = 0, s2 = 0;
    long low = 0;
    for (int i = 0; i < N; i++) {
        assert_true(u[i] > 0.0);
        assert_true(u[i] < 1.0);
        s += u[i];
        s2 += u[i] * u[i];
        low += u[i] < 0.1;
    }
    const double mean = s / N, var = s2 / N - mean * mean;
    assert_true(fabs(mean - 0.5) <= 1.5e-3);
    assert_true(fabs(var - 1.0 / 12.0) <= 5e-4); /* SE(var) = sqrt(1/180 / n) = 7.5e-5 */
    assert_true(fabs((double)low / N - 0.1) <= 1.5e-3);
    free(u);
}

/* ---------------------------------------------------------------- permutation */

static void check_bijection(uint64_t seed, uint64_t epoch, int64_t n, int64_t *perm)
{
    char *seen = calloc((size_t)n, 1);
    assert_non_null(seen);
    for (int64_t i = 0; i < n; i++) {
        const int64_t v = vae_permute(seed, epoch, n, i);
        assert_in_range(v, 0, n - 1);
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
        perm[i] = v;
    }
    for (int64_t v = 0; v < n; v++)
        assert_int_equal(seen[v], 1);
    free(seen);
}

static const int64_t perm_sizes[] = {1, 2, 3, 7, 64, 1000, 4097};

static void test_permute_is_bijection_and_deterministic(void **state)
{
    const uint64_t seeds[] = {0, 1, 42, 0xfedcba9876543210ull};
    const uint64_t epochs[] = {0, 1, 2, 1000, (uint64_t)1 << 40};
    for (size_t k = 0; k < sizeof perm_sizes / sizeof perm_sizes[0]; k++) {
        const int64_t n = perm_sizes[k];
        int64_t *p = malloc((size_t)n * sizeof *p), *q = malloc((size_t)n * sizeof *q);
        assert_non_null(p);
        assert_non_null(q);
        for (size_t s = 0; s < 4; s++)
            for (size_t e = 0; e < 5; e++) {
                check_bijection(seeds[s], epochs[e], n, p);
                check_bijection(seeds[s], epochs[e], n, q);
                assert_memory_equal(p, q, (size_t)n * sizeof *p);
            }
        free(p);
        free(q);
    }
}

static void test_permute_varies_with_epoch_and_seed(void **state)
{
    for (size_t k = 0; k < sizeof perm_sizes / sizeof perm_sizes[0]; k++) {
        const int64_t n = perm_sizes[k];
        if (n < 7)
            continue;
        enum { E = 6 };
        int64_t *p[E + 2];
        for (int e = 0; e < E; e++) {
            p[e] = malloc((size_t)n * sizeof(int64_t));
            assert_non_null(p[e]);
            check_bijection(2024, (uint64_t)e, n, p[e]);
        }
        for (int s = 0; s < 2; s++) {
            p[E + s] = malloc((size_t)n * sizeof(int64_t));
            assert_non_null(p[E + s]);
            check_bijection(2025 + (uint64_t)s * ((uint64_t)1 << 32), 0, n, p[E + s]);
        }
        /* All 8 (seed, epoch) pairs give distinct orders, none the identity. */
        for (int a = 0; a < E + 2; a++) {
            int identity = 1;
            for (int64_t i = 0; i < n; i++)
                identity &= p[a][i] == i;
            assert_false(identity);
            for (int b = a + 1; b < E + 2; b++)
                assert_memory_not_equal(p[a], p[b], (size_t)n * sizeof(int64_t));
        }
        for (int a = 0; a < E + 2; a++)
            free(p[a]);
    }
}

/* Counts how often position i of the permutation of [0, n) holds value v over epochs 0..E-1. */
static void position_counts(uint64_t seed, int64_t n, int E, long *count)
{
    memset(count, 0, (size_t)(n * n) * sizeof *count);
    for (int e = 0; e < E; e++)
        for (int64_t i = 0; i < n; i++) {
            const int64_t v = vae_permute(seed, (uint64_t)e, n, i);
            assert_in_range(v, 0, n - 1);
            count[i * n + v]++;
        }
}

static void test_permute_positions_roughly_uniform_small(void **state)
{
    /* For small n over E = 20000 epochs, position i holds value v about E/n times. The sampling sd
     * of a cell is at most sqrt(E/n) / (E/n) = 2.1% of E/n (n = 9); a cell more than 20% away
     * from E/n is a real bias (a broken Feistel or cycle walk: identity, rotation, a value that
     * never moves), not noise. Note: the 6-round Feistel on 4^h = 16 or 64 values has a measured
     * bias of about 8-10% in some cells for 5 <= n <= 12, which a strict chi-square test over
     * 2e5 epochs detects; this test only asks for rough uniformity. */
    enum { E = 20000 };
    const int64_t ns[] = {2, 3, 4, 5, 7, 9};
    long count[81];
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
        for (int s = 0; s < 2; s++) {
            const int64_t n = ns[k];
            position_counts(s ? 0x0123456789abcdefull : 7, n, E, count);
            const double expect = (double)E / (double)n;
            for (int64_t c = 0; c < n * n; c++)
                assert_true(fabs((double)count[c] - expect) <= 0.2 * expect);
        }
}

static void test_permute_positions_uniform_chi2(void **state)
{
    /* For n = 17 and 33 over E = 20000 epochs the Pearson statistic of the n x n table ((n-1)^2
     * degrees of freedom: mean (n-1)^2, sd sqrt(2)(n-1)) stays within 6 sd of its mean. */
    enum { E = 20000 };
    const int64_t ns[] = {17, 33};
    long *count = malloc(33 * 33 * sizeof *count);
    assert_non_null(count);
    for (size_t k = 0; k < 2; k++) {
        const int64_t n = ns[k];
        position_counts(2718281828ull, n, E, count);
        const double expect = (double)E / (double)n, dof = (double)((n - 1) * (n - 1));
        double chi2 = 0;
        for (int64_t c = 0; c < n * n; c++) {
            const double d = (double)count[c] - expect;
            chi2 += d * d / expect;
        }
        assert_true(fabs(chi2 - dof) <= 6.0 * sqrt(2.0 * dof));
    }
    free(count);
}

static void test_permute_orders_uniform_small(void **state)
{
    /* n = 3: every one of the 6 orders, each with probability 1/6 over epochs (5 dof: mean 5, sd
     * 3.2; bound 30). n = 2: both orders about half the time. */
    enum { E = 12000 };
    long count[6] = {0};
    for (int e = 0; e < E; e++) {
        const int64_t a = vae_permute(11, (uint64_t)e, 3, 0), b = vae_permute(11, (uint64_t)e, 3, 1);
        count[a * 2 + (b > a ? b - 1 : b)]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 6; k++) {
        const double d = count[k] - E / 6.0;
        chi2 += d * d / (E / 6.0);
    }
    assert_true(chi2 <= 30.0);
    long swapped = 0;
    for (int e = 0; e < E; e++)
        swapped += vae_permute(11, (uint64_t)e, 2, 0) == 1;
    /* sd = sqrt(E / 4) = 55; 6 sd. */
    assert_true(fabs((double)swapped - E / 2.0) <= 330.0);
}

static void test_permute_large_looks_random(void **state)
{
    /* n = 1000: fixed points are about Poisson(1) per epoch, so over 200 epochs the total is ~200
     * (sd 14); the rank correlation between position and value is ~0 (sd 1/sqrt(n) = 0.032). */
    enum { N = 1000, E = 200 };
    long fixed = 0;
    int64_t *p = malloc(N * sizeof *p);
    assert_non_null(p);
    for (int e = 0; e < E; e++) {
        check_bijection(3, (uint64_t)e, N, p);
        double sxy = 0;
        for (int i = 0; i < N; i++) {
            fixed += p[i] == i;
            sxy += (i - (N - 1) / 2.0) * (p[i] - (N - 1) / 2.0);
        }
        const double sxx = (double)N * ((double)N * N - 1) / 12.0;
        assert_true(fabs(sxy / sxx) <= 0.2);
    }
    assert_true(fabs((double)fixed - E) <= 100.0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_kat_zero),
        cmocka_unit_test(test_philox_kat_ones),
        cmocka_unit_test(test_philox_kat_pi),
        cmocka_unit_test(test_philox_is_pure_and_sensitive),
        cmocka_unit_test(test_u32_to_unit),
        cmocka_unit_test(test_uniform_stream_layout),
        cmocka_unit_test(test_normal_stream_layout),
        cmocka_unit_test(test_normals_prefix),
        cmocka_unit_test(test_uniforms_prefix),
        cmocka_unit_test(test_zero_count_writes_nothing),
        cmocka_unit_test(test_streams_differ),
        cmocka_unit_test(test_normals_moments),
        cmocka_unit_test(test_uniforms_range_and_moments),
        cmocka_unit_test(test_permute_is_bijection_and_deterministic),
        cmocka_unit_test(test_permute_varies_with_epoch_and_seed),
        cmocka_unit_test(test_permute_positions_roughly_uniform_small),
        cmocka_unit_test(test_permute_positions_uniform_chi2),
        cmocka_unit_test(test_permute_orders_uniform_small),
        cmocka_unit_test(test_permute_large_looks_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
