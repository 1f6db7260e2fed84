/* The corpus format's rules shared by the reader (corpus.c, corpus_rows.c), the writer
 * (corpus_write.c) and their tests, so that the writer refuses exactly what the reader would
 * reject. No HDF5 here. */
#ifndef VAE_CORPUS_INTERNAL_H
#define VAE_CORPUS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "words.h"

/* The splits a corpus may have, train first (it must be present). */
#define VAE_NUM_SPLITS 3
extern const char *const vae_split_names[VAE_NUM_SPLITS];

/* Requested rows whose entries (or indptr entries) lie at most this many entries apart are read
 * in one HDF5 read: skipping fewer costs more in per-read overhead than reading them does. Below
 * the writer's chunk (16Ki elements), so that a gap read for nothing never makes HDF5 decompress a
 * chunk that no requested row needs. */
#define VAE_CORPUS_GAP 8192

/* What is wrong with an entry of a row: in its count (else in its word id), in words. */
typedef struct {
    int in_counts;
    char why[160];
} vae_row_fault;

/* Checks n entries of one row that continue after the word id *prev (-1 at the row's start):
 * ids strictly increasing in [0, V), counts > 0, and adds the counts to *tokens. Returns -1 when
 * all are good, else the index of the first bad entry with *fault filled in; *prev and *tokens
 * then cover the entries before it. */
int64_t vae_row_check(const int32_t *ids, const int32_t *counts, int64_t n, int64_t V, int32_t *prev,
                      int64_t *tokens, vae_row_fault *fault);

/* The units a sequence may be (SPEC.md "Corpus file, format vae-corpus, version 2"): "sentence",
 * "line", "document"; vae_seq_unit_index gives a name's index, -1 for none of them. */
#define VAE_NUM_SEQ_UNITS 3
extern const char *const vae_seq_units[VAE_NUM_SEQ_UNITS];
int vae_seq_unit_index(const char *unit);

/* Checks the n tokens of one sequence (or a part of it): ids in [0, V], V being a word outside the
 * vocabulary. Returns -1 when all are good, else the index of the first bad one with fault->why
 * filled in. */
int64_t vae_seq_check(const int32_t *tokens, int64_t n, int64_t V, vae_row_fault *fault);

/* Checks doc, the document of a sequence: in [0, num_docs) and not below prev, the document of
 * the sequence before it in the split (-1 for the first). 0 when good, else -1 with fault->why
 * filled in. */
int vae_seq_doc_check(int64_t doc, int64_t prev, int64_t num_docs, vae_row_fault *fault);

/* Groups the intervals [start[i], end[i]) (start and end non-decreasing in i) into windows, each
 * read with one contiguous read: an interval joins the open window when it begins at most max_gap
 * after the window's end and the window then spans at most max_len entries; otherwise it opens a
 * window of its own (so only an interval longer than max_len makes a longer window). Window w
 * covers [wstart[w], wend[w]) and holds intervals wfirst[w] .. wfirst[w + 1] - 1 (n - 1 for the
 * last); empty intervals take no part. Returns the number of windows (each array has n entries). */
int64_t vae_coalesce(const int64_t *start, const int64_t *end, int64_t n, int64_t max_gap, int64_t max_len,
                     int64_t *wstart, int64_t *wend, int64_t *wfirst);

#endif
