/* Corpus files that each break one rule of SPEC.md's corpus format, written with the HDF5 API
 * directly (the library's writer refuses to write them), and the good file they are altered from.
 * A test #includes "bad_corpora.c" (CMake builds only tests/test_*.c). test_corpus checks the
 * reader's message for each; `test_corpus --write-bad-corpora DIR` writes them all to DIR with
 * DIR/expected.tsv (name, stage, split, dataset, position: one line each) for script tests. */
#ifndef VAE_TESTS_BAD_CORPORA_H
#define VAE_TESTS_BAD_CORPORA_H

#include <stdint.h>

/* Where the reader notices: vae_corpus_open, reading the bad row (vae_corpus_read_docs), or only
 * vae_corpus_validate_split (rows fine, an attribute wrong). */
typedef enum { BAD_AT_OPEN, BAD_AT_READ, BAD_AT_VALIDATE } bad_stage;

struct raw_corpus;

typedef struct {
    const char *name;
    bad_stage stage;
    const char *split; /* the split that holds the fault */
    const char *dataset; /* the message names it ... */
    const char *position; /* ... and contains this */
    int64_t bad_row; /* BAD_AT_READ: the first bad row; the rows before it read fine */
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

int bad_corpus_write(const bad_corpus *b, const char *path);
/* Writes DIR/<name>.h5 for every bad corpus, DIR/good.h5 and DIR/expected.tsv. */
int bad_corpora_write_all(const char *dir);

#endif
