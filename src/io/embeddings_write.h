/* The output file of `vae-infer encode`: /mu and /logvar, float32 [D, latent], /theta beside them
 * for a model with topic proportions, and /doc_ids
 * (variable-length UTF-8 strings, [D]) when the corpus split has them. Rows arrive in blocks in
 * any order, so that memory is bounded by a block, never by D; the file is written under a
 * temporary name and renamed into place by commit once whole. The only HDF5 outside the corpus and
 * checkpoint modules. */
#ifndef VAE_EMBEDDINGS_WRITE_H
#define VAE_EMBEDDINGS_WRITE_H

#include <stdint.h>

typedef struct vae_embeddings_writer vae_embeddings_writer;

/* Creates the temporary file next to path with datasets of rows x latent (and /theta when
 * with_theta is set, /doc_ids when with_doc_ids is). */
int vae_embeddings_writer_new(vae_embeddings_writer **out, const char *path, int64_t rows, int latent,
                              int with_theta, int with_doc_ids);
/* Writes rows [first, first + n): mu, logvar and theta are [n, latent] (theta read only when the
 * file has /theta); doc_ids[n] is read only when the file has /doc_ids. */
int vae_embeddings_writer_put(vae_embeddings_writer *w, int64_t first, int64_t n, const float *mu,
                              const float *logvar, const float *theta, const char *const *doc_ids);
/* Flushes, closes and renames the file into place. */
int vae_embeddings_writer_commit(vae_embeddings_writer *w);
/* Without a successful commit, removes the temporary file. */
void vae_embeddings_writer_free(vae_embeddings_writer *w);

#endif
