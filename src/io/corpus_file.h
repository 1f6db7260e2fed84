/* What the corpus reader's files share (corpus.c opens and validates, corpus_rows.c reads rows and
 * sequences, corpus_columns.c reads datasets): the open file's state and the dataset helpers. HDF5
 * here. */
#ifndef VAE_CORPUS_FILE_H
#define VAE_CORPUS_FILE_H

#include "vae/corpus.h"

#include "corpus_internal.h"
#include "h5util.h"

/* Elements per HDF5 read, whether a whole dataset is scanned or requested rows are gathered: a few
 * of the writer's chunks at a time, in at most 512 KiB of scratch. */
#define WINDOW 65536

/* One 1-D dataset kept open, with its file dataspace (reused for every selection). */
typedef struct {
    hid_t dset, space;
    hid_t str_type; /* the memory type of a string dataset (its own character set) */
    int64_t len;
    char path[32]; /* "/train/indices", for messages */
} column;

typedef struct {
    int present;
    char path[16]; /* "/train" */
    hid_t group;
    column indptr, indices, counts, doc_ids;
    int64_t num_docs, num_tokens, nnz;
    /* the seq group (version 2), when has_seqs */
    int has_seqs;
    char seq_path[24]; /* "/train/seq" */
    hid_t seq_group;
    column seq_indptr, seq_tokens, seq_doc;
    int64_t num_seqs, num_seq_tokens, max_length;
    int unit; /* index in vae_seq_units */
} split;

struct vae_corpus {
    char *path;
    hid_t file, dxpl;
    int64_t V, version;
    column words, doc_freq, term_freq;
    split splits[VAE_NUM_SPLITS];
    void *window; /* WINDOW elements of up to 8 bytes, for gathering rows (allocated on first use) */
    /* the vocabulary, once vae_corpus_vocab loaded it */
    char **vocab_words;
    char *vocab_chars;
    int64_t *vocab_df, *vocab_tf;
};

/* Records "<file>: <what>: <message>" and returns status. */
int corpus_fail(const vae_corpus *c, int status, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void corpus_column_init(column *col);
void corpus_column_close(column *col);
/* Opens the 1-D dataset at path, of class cls; optional: a missing one leaves col closed. */
int corpus_open_column(vae_corpus *c, const char *path, H5T_class_t cls, int optional, column *col);
/* Reads elements [first, end) of col as mtype into buf. */
int corpus_read_range(vae_corpus *c, const column *col, hid_t mtype, int64_t first, int64_t end, void *buf);
void corpus_reclaim_strings(const column *col, int64_t n, char **buf);
/* Element i of a string column, malloc'ed. */
int corpus_read_string(vae_corpus *c, const column *col, int64_t i, char **out);
/* The index of the split called name in vae_split_names, -1 when it is none of them. */
int corpus_split_index(const char *name);
/* The split called name, which must be in the file. */
int corpus_present_split(vae_corpus *c, const char *name, split **s);

/* A forward reader of a split's indptr, a chunk at a time, so that a scan holds one chunk. */
typedef struct {
    vae_corpus *c;
    const column *col;
    int64_t *buf;
    int64_t first, n;
} indptr_cursor;

/* Element pos of cur's column, reading a window of it when pos lies outside the one held. */
int corpus_indptr_at(indptr_cursor *cur, int64_t pos, int64_t *value);
/* A cursor over col with its window allocated (the caller frees cur->buf). */
int corpus_cursor_init(indptr_cursor *cur, vae_corpus *c, const column *col);

#endif
