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
/* Replaces dst's contents by rows [a, b) of src (dst's indptr from 0). */
int vae_docs_copy(vae_docs *dst, const vae_docs *src, int64_t a, int64_t b);

/* Token sequences (SPEC.md "Corpus file, format vae-corpus, version 2"), in memory the caller owns:
 * sequence s holds tokens[indptr[s] .. indptr[s+1]), ids in [0, V] (V: a word outside the
 * vocabulary); seq_index[s] is its index in its split (it keys the model's noise and word dropout),
 * doc[s] the row of the split's CSR matrix it comes from. */
typedef struct {
    int64_t num_seqs;
    int64_t num_tokens;
    int64_t *indptr;    /* [num_seqs + 1] */
    int32_t *tokens;    /* [num_tokens] */
    int64_t *seq_index; /* [num_seqs] */
    int64_t *doc;       /* [num_seqs] */
    int64_t cap_seqs, cap_tokens;
} vae_seqs;

void vae_seqs_init(vae_seqs *s);
/* Makes room for num_seqs sequences and num_tokens tokens (keeps the contents). */
int vae_seqs_reserve(vae_seqs *s, int64_t num_seqs, int64_t num_tokens);
void vae_seqs_free(vae_seqs *s);
/* Replaces dst's contents by sequences [a, b) of src (dst's indptr from 0). */
int vae_seqs_copy(vae_seqs *dst, const vae_seqs *src, int64_t a, int64_t b);

/* What a model family takes for a step, an evaluation or inference: the units of the batch are
 * documents (docs) for families that read bags of words, sequences (seqs) for families that read
 * words in order; a family says which it needs (vae_family.unit), and the other may be NULL. */
typedef struct {
    const vae_docs *docs;
    const vae_seqs *seqs;
} vae_batch;

#ifdef __cplusplus
}
#endif
#endif
