/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) and the
 * streams built on it. The counter layout is (block, a_lo, a_hi ^ b_hi, b_lo) with the high words
 * of a and b folded together: a is a step or sample number (< 2^32 in practice) and b a document
 * index, so distinct (a, b) with a < 2^32 never share a counter. */
#include "vae/rng.h"

#include <math.h>

#define TWO_PI 6.283185307179586476925
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void vae_philox4x32(uint64_t seed, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                    uint32_t out[4])
{
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

static void stream_block(uint64_t seed, uint64_t a, uint64_t b, uint64_t block, uint32_t out[4])
{
    vae_philox4x32(seed, (uint32_t)block, (uint32_t)a, (uint32_t)(a >> 32) ^ (uint32_t)(b >> 32),
                   (uint32_t)b, out);
}

void vae_normals(uint64_t seed, uint64_t a, uint64_t b, float *out, int n)
{
    /* Box-Muller: each block of four words gives four normals. */
    for (int i = 0; i < n; i += 4) {
        uint32_t w[4];
        stream_block(seed, a, b, (uint64_t)i / 4, w);
        double r0 = sqrt(-2.0 * log(vae_u32_to_unit(w[0])));
        double r1 = sqrt(-2.0 * log(vae_u32_to_unit(w[2])));
        double t0 = TWO_PI * vae_u32_to_unit(w[1]);
        double t1 = TWO_PI * vae_u32_to_unit(w[3]);
        float z[4] = {(float)(r0 * cos(t0)), (float)(r0 * sin(t0)), (float)(r1 * cos(t1)),
                      (float)(r1 * sin(t1))};
        for (int j = 0; j < 4 && i + j < n; j++)
            out[i + j] = z[j];
    }
}

void vae_uniforms(uint64_t seed, uint64_t a, uint64_t b, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i += 4) {
        uint32_t w[4];
        stream_block(seed, a, b, (uint64_t)i / 4, w);
        for (int j = 0; j < 4 && i + j < n; j++)
            out[i + j] = vae_u32_to_unit(w[j]);
    }
}

/* A balanced Feistel network on 2h bits (ten rounds: six left small domains measurably
 * non-uniform) is a bijection of [0, 4^h); walking the cycle until the
 * value falls below n restricts it to a bijection of [0, n). 4^h < 4n, so fewer than four walks are
 * expected. */
int64_t vae_permute(uint64_t seed, uint64_t epoch, int64_t n, int64_t i)
{
    if (n <= 1)
        return 0;
    int h = 1;
    while (((uint64_t)1 << (2 * h)) < (uint64_t)n)
        h++;
    const uint64_t mask = ((uint64_t)1 << h) - 1;
    uint64_t x = (uint64_t)i;
    do {
        uint64_t left = x >> h, right = x & mask;
        for (uint32_t round = 0; round < 10; round++) {
            uint32_t w[4];
            vae_philox4x32(seed ^ 0x7065726D75746174ull, round, (uint32_t)epoch, (uint32_t)(epoch >> 32),
                           (uint32_t)right, w);
            const uint64_t f = ((uint64_t)w[0] << 32 | w[1]) & mask;
            const uint64_t t = right;
            right = left ^ f;
            left = t;
        }
        x = left << h | right;
    } while (x >= (uint64_t)n);
    return (int64_t)x;
}
