/* float32 <-> bfloat16 conversion (model/bf16.h), shared by every backend: integer arithmetic on
 * the bits, which the compiler vectorizes, so that it does not depend on the CPU's instructions. */
#include "bf16.h"

#include <string.h>

static inline vae_bf16 round_one(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it one (a quiet one), whatever its payload */
        return (vae_bf16)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);     /* to nearest, ties to even; overflow rounds to infinity */
    return (vae_bf16)(u >> 16);
}

void vae_bf16_from_f32(vae_bf16 *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = round_one(src[i]);
}

float vae_bf16_to_f32(vae_bf16 x)
{
    const uint32_t u = (uint32_t)x << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
