/* One 64-bit hash of byte strings (splitmix64's finalizer over 8-byte little-endian words), for
 * the vocabulary's table and vae-prep's split assignment: the same value on every machine, so a
 * document's split never depends on the machine that prepared it. */
#ifndef VAE_HASH_H
#define VAE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t vae_mix64(uint64_t h)
{
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 32;
    return h;
}

/* Up to 8 bytes of p as a little-endian word. */
static inline uint64_t vae_load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    if (n >= 8) {
        memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        return v;
    }
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t vae_hash_bytes(uint64_t seed, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = vae_mix64(seed ^ 0x9e3779b97f4a7c15ull) ^ (uint64_t)n;
    for (; n >= 8; p += 8, n -= 8)
        h = vae_mix64(h ^ vae_load_le(p, 8));
    return vae_mix64(h ^ vae_load_le(p, n) ^ 0x51ed270b27c3f4a1ull);
}

#endif
