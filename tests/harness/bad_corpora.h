/* Corpus files that each break one rule of SPEC.md's corpus format, written with the HDF5 API
 * directly (the library's writer refuses to write them), and the good file they are altered from.
 * Part of the test harness library. test_corpus checks the
 * reader's message for each; `test_corpus --write-bad-corpora DIR` writes them all to DIR with
 * DIR/expected.tsv (name, stage, split, dataset, position: one line each) for script tests. */
#ifndef VAE_TESTS_BAD_CORPORA_H
#define VAE_TESTS_BAD_CORPORA_H

#include <stdint.h>

/* Where the reader notices: vae_corpus_open, reading the bad row (vae_corpus_read_docs), reading
 * the bad sequence (vae_corpus_read_seqs; rows fine), or only vae_corpus_validate_split (rows and
 * sequences fine, an attribute wrong). */
typedef enum { BAD_AT_OPEN, BAD_AT_READ, BAD_AT_SEQS, BAD_AT_VALIDATE } bad_stage;

/* A corpus as raw values, before any is written: tests alter one and write it. */
enum raw_type { RAW_DEFAULT, RAW_I32, RAW_I64, RAW_U16, RAW_F32 };

typedef struct {
    int present;
    int n_indptr, n_indices, n_counts;
    int64_t indptr[8], indices[16], counts[16];
    enum raw_type indptr_type, indices_type, counts_type;
    int64_t num_docs, num_tokens;
    int n_doc_ids; /* 0: no doc_ids */
    int64_t huge_nnz; /* > 0: indices and counts declared this long, nothing written */
    /* the seq group (version 2), when has_seq */
    int has_seq;
    int n_seq_indptr, n_seq_tokens, n_seq_doc; /* n_seq_doc < 0: no seq/doc */
    int64_t seq_indptr[8], seq_tokens[16], seq_doc[8];
    enum raw_type seq_tokens_type;
    int seq_tokens_2d; /* tokens written as [n / 2, 2] */
    int64_t num_seqs, seq_num_tokens, max_length;
    const char *unit;
} raw_split;

typedef struct raw_corpus {
    int not_hdf5;
    const char *format;
    int64_t version, vocab_size;
    int num_words;
    const char *words[8];
    int has_doc_freq;
    raw_split split[2]; /* train, valid */
} raw_corpus;

/* Fills r with the good corpus below; raw_write writes r to path (0 on success). */
void raw_good(raw_corpus *r);
/* Makes r version 2 with the good sequences below in both splits. */
void raw_add_seqs(raw_corpus *r);
int raw_write(const raw_corpus *r, const char *path);

typedef struct {
    const char *name;
    bad_stage stage;
    const char *split; /* the split that holds the fault */
    const char *dataset; /* the message names it ... */
    const char *position; /* ... and contains this */
    int64_t bad_row; /* BAD_AT_READ, BAD_AT_SEQS: the first bad row or sequence; those before it read fine */
    void (*alter)(struct raw_corpus *r);
} bad_corpus;

extern const bad_corpus bad_corpora[];
extern const int num_bad_corpora;

/* The good corpus: V = 6 words; train has 4 documents (the third empty) with doc_ids, valid has 1.
 * Returns 0 on success. */
int good_corpus_write(const char *path);
/* Its train split as CSR, for comparisons. */
extern const int64_t good_train_indptr[5];
extern const int32_t good_train_indices[8], good_train_counts[8];
/* Its train sequences (raw_add_seqs): 5 of unit sentence, max_length 4, ids up to V = 6 (unknown). */
extern const int64_t good_seq_indptr[6], good_seq_doc[5];
extern const int32_t good_seq_tokens[14];

int bad_corpus_write(const bad_corpus *b, const char *path);
/* Writes DIR/<name>.h5 for every bad corpus, DIR/good.h5, DIR/good_seqs.h5 (with raw_add_seqs) and
 * DIR/expected.tsv. */
int bad_corpora_write_all(const char *dir);

#endif
