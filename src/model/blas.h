/* The BLAS library behind the model's GEMMs, seen through three calls so that a vendor is one small
 * file (blas_openblas.c, blas_generic.c) chosen by the build (VAE_BLAS_VENDOR). */
#ifndef VAE_BLAS_H
#define VAE_BLAS_H

/* The library's build configuration line, and the core its kernels were chosen for (OpenBLAS's own
 * detection, or OPENBLAS_CORETYPE read when it loads): worth recording in config.json, because the
 * kernels differ twofold in speed (docs/PERFORMANCE.md). */
const char *vae_blas_version(void);
const char *vae_blas_core(void);
/* The OpenBLAS core this CPU should run when OpenBLAS fell back to its generic kernels: OpenBLAS
 * 0.3.21's DYNAMIC_ARCH does not know CPUs newer than itself, and ran an AVX-512 Xeon (family 6,
 * model 207) on its SSE3 "Prescott" kernels: `OPENBLAS_CORETYPE=Prescott|Cooperlake vae-bench-step
 * --model sentence --batch 64` gave sgemm at 19-29 against 112-130 GFLOP/s on the output layer's
 * shapes, 43-57 against 190-239 seqs/s. "Cooperlake" (AVX-512 with BF16), "SkylakeX" (AVX-512) or
 * "Haswell" (AVX2 and FMA); NULL when OpenBLAS chose a core of its own, when OPENBLAS_CORETYPE is set
 * (the user's choice wins), or for another BLAS. OpenBLAS reads the variable when it loads, so a
 * program sets it and starts itself again (src/bin/blas_core.h). */
const char *vae_blas_better_core(void);
/* Sets the library's threads, the bfloat16 backend's (model/bf16.h) and the count vae_parallel_parts
 * (core/threads.h) uses. */
void vae_set_blas_threads(int n);

#endif
