/* Threads per rank: the default is the cores this rank may run on, shared among the ranks of its
 * node when they all see the whole machine (no binding). The BLAS library runs the GEMMs on them; the
 * model's own loops that dominate outside the GEMMs split their work over them with
 * vae_parallel_parts. */
#ifndef VAE_THREADS_H
#define VAE_THREADS_H

int vae_default_threads(int local_ranks);
/* The count of parts vae_parallel_parts runs (clamped to [1, 64]). vae_set_blas_threads
 * (model/blas.h) sets it together with the BLAS library's own threads. */
void vae_set_parallel_parts(int n);

/* Runs fn(arg, part, parts) for part = 0..parts-1, one part a thread (the caller runs part 0),
 * with parts the thread count set above (1: a plain call). fn's parts must not share output. */
void vae_parallel_parts(void (*fn)(void *arg, int part, int parts), void *arg);

#endif
