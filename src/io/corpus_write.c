/* The corpus writer (SPEC.md "Corpus file", versions 1 and 2): documents and their sequences are
 * appended to any split in any interleaving, buffered per dataset and appended in blocks to
 * chunked, compressed, extendible datasets; the file is written under a temporary name and
 * appears under its final name only once whole (vae_corpus_writer_commit). It refuses what the
 * reader would reject (corpus_internal.h). */
#include "vae/corpus.h"

#include "corpus_internal.h"
#include "h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Elements per chunk of every split dataset (64 KiB of int32). A read decompresses every chunk it
 * touches whole, and a trainer's batch of scattered rows touches one chunk per row: measured on
 * 160k documents (11.7M entries), 128 scattered rows cost 24 ms of CPU with 16Ki-element chunks
 * against 72 ms with 64Ki, while whole-split scans and the file size stay within 1%. */
#define CHUNK 16384
/* Buffered per dataset before an append: entries (index, count, token: 512 KiB each), and
 * documents or sequences (their pointers, names, documents). Appending in blocks keeps
 * H5Dset_extent calls rare. */
#define BUF_ENTRIES 131072
#define BUF_DOCS 16384

enum { COL_INDPTR, COL_INDICES, COL_COUNTS, COL_DOC_IDS, COL_SEQ_INDPTR, COL_SEQ_TOKENS, COL_SEQ_DOC, NUM_COLS };

/* Each dataset of a split: its name in the split's group, element size and buffer. The file
 * types are little-endian int64 or int32 and variable-length UTF-8 (doc_ids). */
static const struct {
    const char *name;
    size_t size;
    int64_t cap;
} col_specs[NUM_COLS] = {
    {"indptr", sizeof(int64_t), BUF_DOCS},      {"indices", sizeof(int32_t), BUF_ENTRIES},
    {"counts", sizeof(int32_t), BUF_ENTRIES},   {"doc_ids", sizeof(char *), BUF_DOCS},
    {"seq/indptr", sizeof(int64_t), BUF_DOCS},  {"seq/tokens", sizeof(int32_t), BUF_ENTRIES},
    {"seq/doc", sizeof(int64_t), BUF_DOCS},
};

typedef struct {
    hid_t dset; /* invalid until created */
    hsize_t written;
    char *buf; /* cap elements, allocated on first use; doc_ids: strings the column owns */
    int64_t n; /* buffered */
} out_col;

typedef struct {
    const char *name;
    hid_t group, seq_group; /* invalid until the split's first document (or add_split) */
    out_col cols[NUM_COLS]; /* doc_ids only once a document comes with a name */
    int64_t num_docs, nnz, num_tokens;
    int named; /* 0: no document yet, 1: every document has a doc_id, -1: none has */
    int64_t num_seqs, seq_tokens, last_doc; /* last_doc: of the last sequence, -1 before any */
} split_writer;

struct vae_corpus_writer {
    char *path, *tmp;
    hid_t file;
    int64_t V; /* 0 until set_vocab */
    int32_t max_id; /* the largest word id of the documents so far (-1: none) */
    int32_t max_token; /* the largest token id of the sequences so far (-1: none) */
    int unit; /* of the sequences, index in vae_seq_units; -1: the file holds none */
    int64_t max_length;
    int committed;
    int broken; /* a write failed half-way: the file cannot be committed */
    split_writer splits[VAE_NUM_SPLITS];
};

static int writer_fail(const vae_corpus_writer *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int writer_fail(const vae_corpus_writer *w, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vae_fail(status, "%s: %s", w->path, msg);
}

/* VAE_OK while the file can still be written to; what (the call) names the refusal otherwise. */
static int writable(const vae_corpus_writer *w, const char *what)
{
    if (w->committed)
        return writer_fail(w, VAE_ERR_ARG, "%s after commit", what);
    if (w->broken)
        return writer_fail(w, VAE_ERR_ARG, "%s after a failed write: the file cannot be finished", what);
    return VAE_OK;
}

/* The writer's state for split name, or an error naming it. */
static int find_split(vae_corpus_writer *w, const char *name, split_writer **out)
{
    int rc = writable(w, "adding to a split");
    if (rc != VAE_OK)
        return rc;
    for (int i = 0; i < VAE_NUM_SPLITS; i++)
        if (name && strcmp(name, w->splits[i].name) == 0) {
            *out = &w->splits[i];
            return VAE_OK;
        }
    return writer_fail(w, VAE_ERR_ARG, "unknown split '%s' (train, valid or test)", name ? name : "(null)");
}

/* The memory type of a column's elements (doc_ids: *str_type, made on first use). */
static hid_t mem_type(int col, hid_t *str_type)
{
    if (col == COL_DOC_IDS)
        return *str_type >= 0 ? *str_type : (*str_type = vae_h5_str_type());
    return col_specs[col].size == sizeof(int64_t) ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32;
}

/* Creates the empty, extendible dataset of column col in split s. */
static int create_column(vae_corpus_writer *w, split_writer *s, int col)
{
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = CHUNK;
    hid_t space = H5Screate_simple(1, &zero, &unlimited), str_type = H5I_INVALID_HID;
    hid_t type = col == COL_DOC_IDS ? mem_type(col, &str_type)
                 : col_specs[col].size == sizeof(int64_t) ? H5T_STD_I64LE : H5T_STD_I32LE;
    /* Shuffle groups the bytes of sorted ids and small counts, which deflate then squeezes;
     * for strings (heap references) it buys nothing. Tokens in text order are near random bytes
     * to any filter: on tools/bench_prep.sh's sentence-dense input, deflate made --sequences take
     * 1.5 times as long as a plain run, HDF5's scale-offset 1.18 times (files 1.7 times smaller
     * than unfiltered), no filter 1.10 times. They are chunked but stored as they are. */
    hid_t dcpl = vae_h5_dcpl(1, col == COL_SEQ_TOKENS ? NULL : &chunk, col != COL_DOC_IDS);
    if (col == COL_SEQ_TOKENS && dcpl >= 0 && H5Pset_chunk(dcpl, 1, &chunk) < 0)
        vae_h5_close(&dcpl);
    int rc = VAE_OK;
    if (space >= 0 && dcpl >= 0 && type >= 0)
        s->cols[col].dset = H5Dcreate2(s->group, col_specs[col].name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (s->cols[col].dset < 0) {
        w->broken = 1;
        rc = writer_fail(w, VAE_ERR_IO, "/%s/%s: cannot create: %s", s->name, col_specs[col].name, vae_h5_why());
    }
    vae_h5_close(&str_type);
    vae_h5_close(&dcpl);
    vae_h5_close(&space);
    return rc;
}

/* Appends data[0..n) to the end of column col of s. */
static int append(vae_corpus_writer *w, split_writer *s, int col, const void *data, int64_t n)
{
    out_col *o = &s->cols[col];
    hsize_t start = o->written, count = (hsize_t)n, size = start + count;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID, str_type = H5I_INVALID_HID;
    hid_t mtype = mem_type(col, &str_type);
    int rc = VAE_OK;
    if (n == 0)
        return VAE_OK;
    if (mtype >= 0 && H5Dset_extent(o->dset, &size) >= 0)
        fspace = H5Dget_space(o->dset);
    mspace = H5Screate_simple(1, &count, NULL);
    if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        H5Dwrite(o->dset, mtype, mspace, fspace, H5P_DEFAULT, data) < 0) {
        w->broken = 1;
        rc = writer_fail(w, VAE_ERR_IO, "/%s/%s: cannot append %lld entries: %s", s->name, col_specs[col].name,
                         (long long)n, vae_h5_why());
    } else {
        o->written = size;
    }
    vae_h5_close(&str_type);
    vae_h5_close(&mspace);
    vae_h5_close(&fspace);
    return rc;
}

/* Frees the names a doc_ids buffer holds. */
static void free_names(out_col *o)
{
    for (int64_t i = 0; i < o->n; i++)
        free(((char **)o->buf)[i]);
    o->n = 0;
}

/* Appends what column col of s has buffered. */
static int flush_column(vae_corpus_writer *w, split_writer *s, int col)
{
    out_col *o = &s->cols[col];
    int rc = append(w, s, col, o->buf, o->n);
    if (col == COL_DOC_IDS)
        free_names(o);
    o->n = 0;
    return rc;
}

/* Adds data[0..n) to column col of s: to its buffer, flushed first when it would overflow, or
 * straight to the file when larger than the buffer. A name pushed to doc_ids is the column's. */
static int push(vae_corpus_writer *w, split_writer *s, int col, const void *data, int64_t n)
{
    out_col *o = &s->cols[col];
    const size_t size = col_specs[col].size;
    const int64_t cap = col_specs[col].cap;
    int rc = VAE_OK;
    if (o->n + n > cap && (rc = flush_column(w, s, col)) != VAE_OK)
        return rc;
    if (n > cap)
        return append(w, s, col, data, n);
    if (!o->buf && !(o->buf = vae_malloc_array((size_t)cap, size))) {
        w->broken = 1;
        return VAE_ERR_NOMEM;
    }
    memcpy(o->buf + (size_t)o->n * size, data, (size_t)n * size);
    o->n += n;
    return VAE_OK;
}

/* Creates /<split> and its datasets (and /<split>/seq's when the file holds sequences), and
 * buffers their indptr[0] = 0. */
static int create_split(vae_corpus_writer *w, split_writer *s)
{
    static const int64_t zero = 0;
    hid_t gcpl = vae_h5_gcpl();
    int rc = VAE_OK;
    if (s->group >= 0)
        goto cleanup;
    if (gcpl >= 0)
        s->group = H5Gcreate2(w->file, s->name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (s->group >= 0 && w->unit >= 0 && gcpl >= 0)
        s->seq_group = H5Gcreate2(s->group, "seq", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (s->group < 0 || (w->unit >= 0 && s->seq_group < 0)) {
        rc = writer_fail(w, VAE_ERR_IO, "/%s: cannot create the group: %s", s->name, vae_h5_why());
        goto cleanup;
    }
    for (int col = COL_INDPTR; col < NUM_COLS && rc == VAE_OK; col++)
        if (col != COL_DOC_IDS && (col < COL_SEQ_INDPTR || w->unit >= 0))
            rc = create_column(w, s, col);
    if (rc == VAE_OK)
        rc = push(w, s, COL_INDPTR, &zero, 1);
    if (rc == VAE_OK && w->unit >= 0)
        rc = push(w, s, COL_SEQ_INDPTR, &zero, 1);
cleanup:
    if (rc != VAE_OK)
        w->broken = 1;
    vae_h5_close(&gcpl);
    return rc;
}

int vae_corpus_writer_new(vae_corpus_writer **out, const char *path)
{
    vae_corpus_writer *w = vae_calloc_array(1, sizeof *w);
    size_t tmp_size = strlen(path) + 32;
    int rc = VAE_OK;
    *out = NULL;
    if (!w)
        return VAE_ERR_NOMEM;
    w->file = H5I_INVALID_HID;
    w->max_id = w->max_token = -1;
    w->unit = -1;
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split_writer *s = &w->splits[i];
        s->name = vae_split_names[i];
        s->group = s->seq_group = H5I_INVALID_HID;
        s->last_doc = -1;
        for (int c = 0; c < NUM_COLS; c++)
            s->cols[c].dset = H5I_INVALID_HID;
    }
    if (!(w->path = strdup(path)) || !(w->tmp = malloc(tmp_size))) {
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    /* Next to the final name, so that the rename stays within one file system. */
    vae_temp_path(path, w->tmp, tmp_size);
    if ((rc = vae_h5_create(w->tmp, &w->file)) != VAE_OK) {
        vae_free_ptr(&w->tmp);
        goto cleanup;
    }
    *out = w;
    w = NULL;
cleanup:
    vae_corpus_writer_free(w);
    return rc;
}

/* The wordset's tie-breaker for words in memory. */
static int same_word_in_memory(void *ctx, int64_t earlier, int64_t later, int *equal)
{
    const char *const *words = ctx;
    *equal = strcmp(words[earlier], words[later]) == 0;
    return VAE_OK;
}

/* The vocabulary the reader would accept: V in [1, 2^31), words non-empty UTF-8 and unique,
 * frequencies not negative, every word id already used below V, every token id at most V. */
static int check_vocab(vae_corpus_writer *w, const char *const *words, const int64_t *doc_freq,
                       const int64_t *term_freq, int64_t V)
{
    vae_wordset set = {0};
    int rc = VAE_OK;
    if (V < 1 || V > INT32_MAX)
        return writer_fail(w, VAE_ERR_ARG, "vocabulary of %lld words, expected 1..%d", (long long)V,
                           INT32_MAX);
    if (!words || !doc_freq || !term_freq)
        return writer_fail(w, VAE_ERR_ARG, "set_vocab needs words, doc_freq and term_freq");
    if (w->max_id >= V)
        return writer_fail(w, VAE_ERR_ARG, "a document uses word id %d, but the vocabulary has %lld words",
                           w->max_id, (long long)V);
    if (w->max_token > V)
        return writer_fail(w, VAE_ERR_ARG, "a sequence uses token id %d, but the vocabulary has %lld words "
                           "(token ids 0..%lld)", w->max_token, (long long)V, (long long)V);
    if ((rc = vae_wordset_init(&set, V)) != VAE_OK)
        return rc;
    for (int64_t i = 0; i < V && rc == VAE_OK; i++) {
        const char *problem = words[i] ? vae_word_problem(words[i]) : "is missing (NULL)";
        int64_t dup = -1;
        if (problem)
            rc = writer_fail(w, VAE_ERR_ARG, "/vocab/words: word %lld %s", (long long)i, problem);
        else if ((rc = vae_wordset_add(&set, vae_word_hash(words[i]), i, same_word_in_memory, (void *)words,
                                       &dup)) == VAE_OK &&
                 dup >= 0)
            rc = writer_fail(w, VAE_ERR_ARG, "/vocab/words: word %lld ('%.64s') repeats word %lld",
                             (long long)i, words[i], (long long)dup);
        else if (rc == VAE_OK && (doc_freq[i] < 0 || term_freq[i] < 0))
            rc = writer_fail(w, VAE_ERR_ARG, "/vocab: word %lld has a negative frequency", (long long)i);
    }
    vae_wordset_free(&set);
    return rc;
}

int vae_corpus_writer_set_vocab(vae_corpus_writer *w, const char *const *words, const int64_t *doc_freq,
                                const int64_t *term_freq, int64_t V)
{
    int rc = writable(w, "set_vocab");
    if (rc != VAE_OK)
        return rc;
    if (w->V > 0)
        return writer_fail(w, VAE_ERR_ARG, "set_vocab called twice");
    if ((rc = check_vocab(w, words, doc_freq, term_freq, V)) != VAE_OK)
        return rc;
    if ((rc = vae_h5_put_strings(w->file, "/vocab/words", words, (hsize_t)V, w->path)) != VAE_OK ||
        (rc = vae_h5_put_int64s(w->file, "/vocab/doc_freq", doc_freq, (hsize_t)V, w->path)) != VAE_OK ||
        (rc = vae_h5_put_int64s(w->file, "/vocab/term_freq", term_freq, (hsize_t)V, w->path)) != VAE_OK) {
        w->broken = 1;
        return rc;
    }
    w->V = V;
    return VAE_OK;
}

int vae_corpus_writer_add_split(vae_corpus_writer *w, const char *split)
{
    split_writer *s = NULL;
    int rc = find_split(w, split, &s);
    return rc == VAE_OK ? create_split(w, s) : rc;
}

/* Checks one document against the format and the split's doc_id rule; adds its tokens to *tokens. */
static int check_doc(vae_corpus_writer *w, const split_writer *s, const int32_t *indices,
                     const int32_t *counts, int64_t nnz, const char *doc_id, int64_t *tokens)
{
    /* Before set_vocab any id that fits is accepted; set_vocab then checks the largest. */
    int64_t V = w->V > 0 ? w->V : (int64_t)INT32_MAX + 1;
    int32_t prev = -1;
    vae_row_fault fault;
    if (nnz < 0 || nnz > V || (nnz > 0 && (!indices || !counts)))
        return writer_fail(w, VAE_ERR_ARG,
                           "split %s, document %lld: %lld entries (expected 0..%lld, with arrays)", s->name,
                           (long long)s->num_docs, (long long)nnz, (long long)V);
    int64_t bad = vae_row_check(indices, counts, nnz, V, &prev, tokens, &fault);
    if (bad >= 0)
        return writer_fail(w, VAE_ERR_ARG, "split %s, document %lld, entry %lld: %s", s->name,
                           (long long)s->num_docs, (long long)bad, fault.why);
    if (__builtin_add_overflow(s->num_tokens, *tokens, tokens))
        return writer_fail(w, VAE_ERR_ARG, "split %s: the number of tokens overflows int64", s->name);
    if (s->named != 0 && (doc_id != NULL) != (s->named > 0))
        return writer_fail(w, VAE_ERR_ARG,
                           "split %s, document %lld: %s doc_id, unlike the split's first document", s->name,
                           (long long)s->num_docs, doc_id ? "has a" : "has no");
    return VAE_OK;
}

int vae_corpus_writer_add_doc(vae_corpus_writer *w, const char *split, const int32_t *indices,
                              const int32_t *counts, int64_t nnz, const char *doc_id)
{
    split_writer *s = NULL;
    int64_t tokens = 0, end;
    char *name = NULL;
    int rc;
    if ((rc = find_split(w, split, &s)) != VAE_OK ||
        (rc = check_doc(w, s, indices, counts, nnz, doc_id, &tokens)) != VAE_OK ||
        (rc = create_split(w, s)) != VAE_OK)
        return rc;
    if (doc_id && s->cols[COL_DOC_IDS].dset < 0 && (rc = create_column(w, s, COL_DOC_IDS)) != VAE_OK)
        return rc;
    if (doc_id && !(name = strdup(doc_id))) {
        w->broken = 1;
        return vae_fail(VAE_ERR_NOMEM, "out of memory");
    }
    /* Once pushed the name is the column's; a push that fails leaves it this call's. */
    if (name && (rc = push(w, s, COL_DOC_IDS, &name, 1)) != VAE_OK) {
        free(name);
        w->broken = 1;
        return rc;
    }
    end = s->nnz + nnz;
    if ((rc = push(w, s, COL_INDICES, indices, nnz)) != VAE_OK ||
        (rc = push(w, s, COL_COUNTS, counts, nnz)) != VAE_OK || (rc = push(w, s, COL_INDPTR, &end, 1)) != VAE_OK) {
        w->broken = 1;
        return rc;
    }
    s->nnz = end;
    s->num_docs++;
    s->num_tokens = tokens;
    s->named = doc_id ? 1 : -1;
    if (nnz > 0 && indices[nnz - 1] > w->max_id)
        w->max_id = indices[nnz - 1];
    return VAE_OK;
}

int vae_corpus_writer_set_sequences(vae_corpus_writer *w, const char *unit, int64_t max_length)
{
    int rc = writable(w, "set_sequences");
    if (rc != VAE_OK)
        return rc;
    if (w->unit >= 0)
        return writer_fail(w, VAE_ERR_ARG, "set_sequences called twice");
    for (int i = 0; i < VAE_NUM_SPLITS; i++)
        if (w->splits[i].group >= 0)
            return writer_fail(w, VAE_ERR_ARG, "set_sequences after split %s was begun", w->splits[i].name);
    if (vae_seq_unit_index(unit) < 0)
        return writer_fail(w, VAE_ERR_ARG, "sequences of unit '%s', expected sentence, line or document",
                           unit ? unit : "(null)");
    if (max_length < 1)
        return writer_fail(w, VAE_ERR_ARG, "max_length %lld of the sequences is below 1", (long long)max_length);
    w->unit = vae_seq_unit_index(unit);
    w->max_length = max_length;
    return VAE_OK;
}

int vae_corpus_writer_add_seq(vae_corpus_writer *w, const char *split, int64_t doc, const int32_t *tokens,
                              int64_t n)
{
    split_writer *s = NULL;
    /* Before set_vocab any id that fits is accepted; set_vocab then checks the largest. */
    int64_t V = w->V > 0 ? w->V : INT32_MAX, end, bad;
    vae_row_fault fault;
    int rc = find_split(w, split, &s);
    if (rc != VAE_OK)
        return rc;
    if (w->unit < 0)
        return writer_fail(w, VAE_ERR_ARG, "add_seq before set_sequences");
    if (n < 1 || n > w->max_length || !tokens)
        return writer_fail(w, VAE_ERR_ARG, "split %s, sequence %lld: %lld tokens (expected 1..%lld, with an array)",
                           s->name, (long long)s->num_seqs, (long long)n, (long long)w->max_length);
    if ((bad = vae_seq_check(tokens, n, V, &fault)) >= 0)
        return writer_fail(w, VAE_ERR_ARG, "split %s, sequence %lld, token %lld: %s", s->name,
                           (long long)s->num_seqs, (long long)bad, fault.why);
    if (vae_seq_doc_check(doc, s->last_doc, s->num_docs, &fault) != 0)
        return writer_fail(w, VAE_ERR_ARG, "split %s, sequence %lld: %s", s->name, (long long)s->num_seqs,
                           fault.why);
    end = s->seq_tokens + n;
    if ((rc = push(w, s, COL_SEQ_TOKENS, tokens, n)) != VAE_OK || (rc = push(w, s, COL_SEQ_DOC, &doc, 1)) != VAE_OK ||
        (rc = push(w, s, COL_SEQ_INDPTR, &end, 1)) != VAE_OK) {
        w->broken = 1;
        return rc;
    }
    s->seq_tokens = end;
    s->num_seqs++;
    s->last_doc = doc;
    /* Only set_vocab needs the largest id, to check the ids accepted before it. */
    for (int64_t i = 0; w->V == 0 && i < n; i++)
        w->max_token = tokens[i] > w->max_token ? tokens[i] : w->max_token;
    return VAE_OK;
}

/* Root attributes that commit writes itself. */
static int reserved_attr(const char *name)
{
    return strcmp(name, "format") == 0 || strcmp(name, "version") == 0 || strcmp(name, "vocab_size") == 0;
}

static int check_attr(vae_corpus_writer *w, const char *name)
{
    int rc = writable(w, "setting an attribute");
    if (rc != VAE_OK)
        return rc;
    if (reserved_attr(name))
        return writer_fail(w, VAE_ERR_ARG, "root attribute '%s' belongs to the format; commit writes it",
                           name);
    return VAE_OK;
}

int vae_corpus_writer_set_attr_int(vae_corpus_writer *w, const char *name, int64_t value)
{
    int rc = check_attr(w, name);
    return rc == VAE_OK ? vae_h5_attr_put_int(w->file, name, value, w->path) : rc;
}

int vae_corpus_writer_set_attr_str(vae_corpus_writer *w, const char *name, const char *value)
{
    int rc = check_attr(w, name);
    return rc == VAE_OK ? vae_h5_attr_put_str(w->file, name, value, w->path) : rc;
}

int vae_corpus_writer_put_floats(vae_corpus_writer *w, const char *dataset, const float *data, int64_t rows,
                                 int64_t cols)
{
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    int rc = writable(w, "put_floats");
    if (rc != VAE_OK)
        return rc;
    if (rows < 0 || cols < 0 || (rows > 0 && cols != 0 && (uint64_t)rows > UINT64_MAX / (uint64_t)cols) ||
        (!data && rows > 0))
        return writer_fail(w, VAE_ERR_ARG, "%s: bad shape [%lld, %lld]", dataset, (long long)rows,
                           (long long)cols);
    return vae_h5_put_floats(w->file, dataset, data, cols ? 2 : 1, dims, w->path);
}

/* Closes the split's datasets and groups. */
static void close_split(split_writer *s)
{
    for (int c = 0; c < NUM_COLS; c++)
        vae_h5_close(&s->cols[c].dset);
    vae_h5_close(&s->seq_group);
    vae_h5_close(&s->group);
}

/* Writes what split s has buffered and its attributes (and those of its seq group). */
static int finish_split(vae_corpus_writer *w, split_writer *s)
{
    int rc = VAE_OK;
    for (int col = 0; col < NUM_COLS && rc == VAE_OK; col++)
        if (s->cols[col].dset >= 0)
            rc = flush_column(w, s, col);
    if (rc == VAE_OK && (rc = vae_h5_attr_put_int(s->group, "num_docs", s->num_docs, w->path)) == VAE_OK)
        rc = vae_h5_attr_put_int(s->group, "num_tokens", s->num_tokens, w->path);
    if (rc != VAE_OK || w->unit < 0)
        return rc;
    if ((rc = vae_h5_attr_put_int(s->seq_group, "num_seqs", s->num_seqs, w->path)) == VAE_OK &&
        (rc = vae_h5_attr_put_int(s->seq_group, "num_tokens", s->seq_tokens, w->path)) == VAE_OK &&
        (rc = vae_h5_attr_put_str(s->seq_group, "unit", vae_seq_units[w->unit], w->path)) == VAE_OK)
        rc = vae_h5_attr_put_int(s->seq_group, "max_length", w->max_length, w->path);
    return rc;
}

int vae_corpus_writer_commit(vae_corpus_writer *w)
{
    int rc = writable(w, "commit");
    if (rc != VAE_OK)
        return rc;
    if (w->V == 0)
        return writer_fail(w, VAE_ERR_ARG, "no vocabulary: set_vocab must come before commit");
    /* Every corpus has a training split, even an empty one. */
    if ((rc = create_split(w, &w->splits[0])) != VAE_OK)
        goto cleanup;
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split_writer *s = &w->splits[i];
        if (s->group < 0)
            continue;
        if ((rc = finish_split(w, s)) != VAE_OK)
            goto cleanup;
    }
    /* Version 1 unless there are sequences, so that version 1 readers still read the file. */
    if ((rc = vae_h5_attr_put_str(w->file, "format", VAE_CORPUS_FORMAT, w->path)) != VAE_OK ||
        (rc = vae_h5_attr_put_int(w->file, "version", w->unit >= 0 ? 2 : 1, w->path)) != VAE_OK ||
        (rc = vae_h5_attr_put_int(w->file, "vocab_size", w->V, w->path)) != VAE_OK)
        goto cleanup;
    if ((rc = vae_h5_flush(w->file, w->path, w->tmp)) != VAE_OK)
        goto cleanup;
    for (int i = 0; i < VAE_NUM_SPLITS; i++)
        close_split(&w->splits[i]);
    const herr_t closed = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (closed < 0) {
        rc = writer_fail(w, VAE_ERR_IO, "cannot finish writing %s: %s", w->tmp, vae_h5_why());
        goto cleanup;
    }
    if ((rc = vae_publish_file(w->tmp, w->path)) == VAE_OK)
        w->committed = 1;
cleanup:
    if (rc != VAE_OK)
        w->broken = 1;
    return rc;
}

void vae_corpus_writer_free(vae_corpus_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split_writer *s = &w->splits[i];
        close_split(s);
        free_names(&s->cols[COL_DOC_IDS]);
        for (int c = 0; c < NUM_COLS; c++)
            free(s->cols[c].buf);
    }
    vae_h5_close(&w->file);
    if (w->tmp && !w->committed)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}
