/* The corpus file (SPEC.md "Corpus file", format vae-corpus versions 1 and 2): opening and
 * validating it, reading any set of documents of a split as a CSR batch and any set of its
 * sequences (version 2), and writing one (vae-prep, vae-synth). This module and checkpoint.c are
 * the only places that call HDF5. */
#ifndef VAE_CORPUS_H
#define VAE_CORPUS_H

#include "vae/batch.h"
#include "vae/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VAE_CORPUS_FORMAT "vae-corpus"
/* The newest version this library reads. It writes version 1 unless the file holds sequences. */
#define VAE_CORPUS_VERSION 2

typedef struct {
    int present;        /* 0 when the split's group is missing */
    int64_t num_docs;
    int64_t num_tokens;
    int64_t nnz;
    int has_doc_ids;
    /* The split's sequences (/<split>/seq, version 2); all zero, unit "", when it has none. */
    int has_seqs;
    int64_t num_seqs;
    int64_t num_seq_tokens;
    const char *unit;   /* "sentence", "line" or "document" (a static string) */
    int64_t max_length; /* no sequence is longer */
} vae_split_info;

typedef struct vae_corpus vae_corpus;

/* Opens path read-only and validates what can be validated without reading whole splits: the root
 * attributes, /vocab (shapes, types, words unique and non-empty), each present split's datasets and
 * attributes (shapes and types) and its whole indptr (indptr[0] = 0, non-decreasing, indptr[D] =
 * nnz); the same of its seq group when it has one (version 2), whose indptr must also leave no
 * sequence empty or longer than max_length. Row contents (ids in range and increasing, counts > 0)
 * and sequence contents (ids in [0, V], documents non-decreasing and in the split) are checked as
 * they are read, and all of them by vae_corpus_validate_split. Errors name the file, the dataset
 * and the first bad position. */
int vae_corpus_open(vae_corpus **out, const char *path);
void vae_corpus_free(vae_corpus *c);

const char *vae_corpus_path(const vae_corpus *c);
int64_t vae_corpus_vocab_size(const vae_corpus *c);
/* The vocabulary, loaded on first use and owned by the corpus: words[V]. */
int vae_corpus_vocab(vae_corpus *c, const char *const **words, const int64_t **doc_freq,
                     const int64_t **term_freq);
/* split is "train", "valid" or "test"; a missing split reports present = 0 (not an error). */
int vae_corpus_split_info(const vae_corpus *c, const char *split, vae_split_info *info);

/* Reads the rows doc_index[0..n) of split into out (in that order, duplicates allowed), replacing
 * its contents. Neighbouring rows are coalesced into few HDF5 reads. Every row read is validated;
 * a bad one fails naming the dataset and the position. */
int vae_corpus_read_docs(vae_corpus *c, const char *split, const int64_t *doc_index, int64_t n,
                         vae_docs *out);

/* Reads the sequences seq_index[0..n) of split into out (in that order, duplicates allowed),
 * replacing its contents, with few HDF5 reads as vae_corpus_read_docs does. Every sequence read is
 * validated; a bad one fails naming the dataset and the position, and out then holds none. A split
 * without sequences (any split of a version 1 file) is VAE_ERR_FORMAT naming the file. */
int vae_corpus_read_seqs(vae_corpus *c, const char *split, const int64_t *seq_index, int64_t n,
                         vae_seqs *out);
/* The token count of every sequence of split into lengths [num_seqs] (the trainer's balance of a
 * batch's tokens over the ranks), read from seq/indptr in blocks and checked as validation checks it
 * (non-decreasing, no sequence empty or over max_length). */
int vae_corpus_read_seq_lengths(vae_corpus *c, const char *split, int32_t *lengths);

/* Reads and validates every row of split in chunks (memory bounded by the chunk, not the split),
 * including the split's num_tokens attribute against the sum of its counts; and every sequence
 * when the split has them. */
int vae_corpus_validate_split(vae_corpus *c, const char *split);

/* Root attributes beyond the format's own (vae-prep records its tokenizer settings this way).
 * A missing attribute is VAE_ERR_FORMAT with a message naming it. get_str copies into buf. */
int vae_corpus_get_attr_int(const vae_corpus *c, const char *name, int64_t *value);
int vae_corpus_get_attr_str(const vae_corpus *c, const char *name, char *buf, size_t bufsize);

/* Optional per-document names of a split (/<split>/doc_ids) for rows doc_index[0..n): names[i] is
 * a malloc'ed string the caller frees; VAE_ERR_FORMAT when the split has none. */
int vae_corpus_read_doc_ids(vae_corpus *c, const char *split, const int64_t *doc_index, int64_t n,
                            char **names);

/* The HDF5 library's version, e.g. "1.10.8" (for config.json). */
const char *vae_corpus_hdf5_version(void);

/* Reads a whole float32 dataset (e.g. /synthetic/topics) into a malloc'ed buffer the caller frees;
 * cols = 0 for a 1-D dataset. */
int vae_corpus_read_floats(vae_corpus *c, const char *dataset, float **data, int64_t *rows,
                           int64_t *cols);

/* Writing. The file is written under a temporary name next to path and renamed to path by
 * vae_corpus_writer_commit once whole (after a flush to disk); vae_corpus_writer_free without a
 * commit removes the temporary file, so a failed run never leaves a file under the final name.
 * Splits may be appended to in any interleaving; datasets are chunked and compressed. */
typedef struct vae_corpus_writer vae_corpus_writer;

int vae_corpus_writer_new(vae_corpus_writer **out, const char *path);
int vae_corpus_writer_set_vocab(vae_corpus_writer *w, const char *const *words,
                                const int64_t *doc_freq, const int64_t *term_freq, int64_t V);
/* Appends one document to split ("train", "valid", "test"): ids strictly increasing in [0, V),
 * counts > 0 (checked). doc_id may be NULL; once a split has been given a doc_id, it must be given
 * one for every document. */
int vae_corpus_writer_add_doc(vae_corpus_writer *w, const char *split, const int32_t *indices,
                              const int32_t *counts, int64_t nnz, const char *doc_id);
/* Declares that the file holds sequences (version 2) of unit ("sentence", "line" or "document"),
 * none longer than max_length tokens (>= 1): every split in the file gets a seq group, empty where
 * no sequence is added. Once, before any add_seq. */
int vae_corpus_writer_set_sequences(vae_corpus_writer *w, const char *unit, int64_t max_length);
/* Appends a sequence of n tokens (1..max_length, ids in [0, V]; checked) to split, taken from its
 * document doc: a document already added, and not one before the split's previous sequence's. */
int vae_corpus_writer_add_seq(vae_corpus_writer *w, const char *split, int64_t doc, const int32_t *tokens,
                              int64_t n);
/* Puts split ("train", "valid" or "test") in the file even if no document is ever added to it
 * (then with indptr = [0]); commit does this for train. */
int vae_corpus_writer_add_split(vae_corpus_writer *w, const char *split);
int vae_corpus_writer_set_attr_int(vae_corpus_writer *w, const char *name, int64_t value);
int vae_corpus_writer_set_attr_str(vae_corpus_writer *w, const char *name, const char *value);
/* A float32 dataset [rows, cols] (cols = 0 for 1-D) under any path, e.g. /synthetic/topics. */
int vae_corpus_writer_put_floats(vae_corpus_writer *w, const char *dataset, const float *data,
                                 int64_t rows, int64_t cols);
/* Writes the remaining attributes (num_docs, num_tokens, vocab_size...), closes, fsyncs, renames. */
int vae_corpus_writer_commit(vae_corpus_writer *w);
void vae_corpus_writer_free(vae_corpus_writer *w);

#ifdef __cplusplus
}
#endif
#endif
