/* BLAS threads per rank: the default is the cores this rank may run on, shared among the ranks of
 * its node when they all see the whole machine (no binding). */
#ifndef VAE_THREADS_H
#define VAE_THREADS_H

int vae_default_threads(int local_ranks);
void vae_set_blas_threads(int n);

#endif
