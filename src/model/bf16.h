/* bfloat16 matrix products for --precision bf16 (SPEC.md "Precision"): bfloat16 inputs, float32
 * accumulation and output. One small file per backend, chosen by the build: bf16_dnnl.c (oneDNN's
 * matmul, when CMake finds Debian's libdnnl-dev) or bf16_none.c (no backend: every call says so).
 * The family converts what it multiplies (weights once a pass, activations once a block) and
 * keeps every sum, the log-softmax and the optimizer in float32. */
#ifndef VAE_BF16_H
#define VAE_BF16_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t vae_bf16; /* the upper half of a float32's bits, rounded to nearest even */

/* VAE_OK when this build and this CPU can multiply in bfloat16; otherwise VAE_ERR_LIMIT with a
 * message that says which is missing (the backend, or the CPU's bfloat16 instructions). */
int vae_bf16_check(void);
/* The library behind the products, for config.json ("oneDNN 2.6.3", or "none"). */
const char *vae_bf16_library(void);

/* dst[i] = src[i] rounded to the nearest bfloat16 (ties to even; NaN stays NaN). */
void vae_bf16_from_f32(vae_bf16 *dst, const float *src, size_t n);
float vae_bf16_to_f32(vae_bf16 x);

/* The products of one model: the backend's engine and one primitive for each (transA, transB,
 * accumulate), made on first use for any shapes (the backend takes the sizes at each call). */
typedef struct vae_bf16_gemm vae_bf16_gemm;
int vae_bf16_gemm_new(vae_bf16_gemm **out);
void vae_bf16_gemm_free(vae_bf16_gemm *g);
/* Row-major C[M, N] = op(A) op(B) (+ C when accumulate), op(A) [M, K] and op(B) [K, N]; A is held
 * [M, lda] ([K, lda] when ta), B [K, ldb] ([N, ldb] when tb), as cblas_sgemm's arguments. */
int vae_bf16_gemm_run(vae_bf16_gemm *g, int ta, int tb, int M, int N, int K, const vae_bf16 *A, int lda,
                      const vae_bf16 *B, int ldb, int accumulate, float *C, int ldc);
/* Threads of the backend's products in this process (vae_set_blas_threads calls it). */
void vae_bf16_set_threads(int n);

#endif
