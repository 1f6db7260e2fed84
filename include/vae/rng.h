/* Counter-based random numbers (Philox4x32-10): a value is a pure function of a key and a counter,
 * so a document's noise depends only on (seed, step, document index, unit), never on the rank that
 * holds the document or its position in a batch. */
#ifndef VAE_RNG_H
#define VAE_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Four independent 32-bit words for counter (c0, c1, c2, c3) under key seed. */
void vae_philox4x32(uint64_t seed, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                    uint32_t out[4]);

/* A uniform in (0, 1) (never 0 or 1, so logs are finite) from one 32-bit word. */
static inline double vae_u32_to_unit(uint32_t x) { return ((double)x + 0.5) * (1.0 / 4294967296.0); }

/* n standard normals for the stream (seed, a, b): out[i] is the i-th normal of that stream, the
 * same whether drawn one at a time or all at once. a and b are the caller's indices (e.g. step and
 * document index). */
void vae_normals(uint64_t seed, uint64_t a, uint64_t b, float *out, int n);

/* n uniforms in (0, 1) for the stream (seed, a, b), with the same guarantee. */
void vae_uniforms(uint64_t seed, uint64_t a, uint64_t b, double *out, int64_t n);

/* Position i of the permutation of 0..n-1 drawn from (seed, epoch), computed alone in O(1) memory
 * (a keyed Feistel bijection with cycle-walking), so a rank finds its documents of an epoch
 * without holding the whole order. */
int64_t vae_permute(uint64_t seed, uint64_t epoch, int64_t n, int64_t i);

#ifdef __cplusplus
}
#endif
#endif
