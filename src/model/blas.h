/* The BLAS library behind the model's GEMMs, seen through three calls so that a vendor is one small
 * file (blas_openblas.c, blas_generic.c) chosen by the build (VAE_BLAS_VENDOR). */
#ifndef VAE_BLAS_H
#define VAE_BLAS_H

/* The library's build configuration line, and the core its kernels were chosen for (OpenBLAS's own
 * detection, or OPENBLAS_CORETYPE read when it loads): worth recording in config.json, because the
 * kernels differ twofold in speed (docs/PERFORMANCE.md). */
const char *vae_blas_version(void);
const char *vae_blas_core(void);
/* Sets the library's threads and the count vae_parallel_parts (core/threads.h) uses. */
void vae_set_blas_threads(int n);

#endif
