/* A batch: what the readers fill and the model families take. Documents are CSR rows of word
 * counts (every family reads them); sequences, for families that read words in order, come with
 * the corpus format's version 2. No HDF5 and no MPI here. */
#ifndef VAE_BATCH_H
#define VAE_BATCH_H

#include "vae/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Documents as CSR rows, in memory the caller owns (grown by the reader as needed; never shrunk).
 * Row r holds indices[indptr[r] .. indptr[r+1]) with their counts; indptr[0] = 0.
 * doc_index[r] is the row's index in its split (it keys the model's noise). */
typedef struct {
    int64_t num_docs;
    int64_t nnz;
    int64_t *indptr;    /* [num_docs + 1] */
    int32_t *indices;   /* [nnz] word ids, strictly increasing within a row */
    int32_t *counts;    /* [nnz] > 0 */
    int64_t *doc_index; /* [num_docs] */
    int64_t cap_docs, cap_nnz;
} vae_docs;

void vae_docs_init(vae_docs *d);
/* Makes room for num_docs rows and nnz entries (keeps the contents). */
int vae_docs_reserve(vae_docs *d, int64_t num_docs, int64_t nnz);
void vae_docs_free(vae_docs *d);

#ifdef __cplusplus
}
#endif
#endif
