/* The corpus writer (SPEC.md "Corpus file"): documents are appended to any split in any
 * interleaving, buffered per split and appended in blocks to chunked, compressed, extendible
 * datasets; the file is written under a temporary name and appears under its final name only once
 * whole (vae_corpus_writer_commit). It refuses what the reader would reject (corpus_internal.h). */
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
/* Buffered per split before an append: index and count entries (1 MiB together), and documents
 * (their indptr entries and names). Appending in blocks keeps H5Dset_extent calls rare. */
#define BUF_ENTRIES 131072
#define BUF_DOCS 16384

enum { COL_INDPTR, COL_INDICES, COL_COUNTS, COL_DOC_IDS, NUM_COLS };

static const char *const col_names[NUM_COLS] = {"indptr", "indices", "counts", "doc_ids"};

typedef struct {
    const char *name;
    hid_t group; /* invalid until the split's first document (or add_split) */
    hid_t dset[NUM_COLS]; /* doc_ids only once a document comes with a name */
    hsize_t written[NUM_COLS];
    int64_t num_docs, nnz, num_tokens;
    int named; /* 0: no document yet, 1: every document has a doc_id, -1: none has */
    int64_t *ptr_buf;
    int32_t *ids_buf, *cnt_buf;
    char **name_buf;
    int64_t ptr_n, ent_n, name_n;
} split_writer;

struct vae_corpus_writer {
    char *path, *tmp;
    hid_t file;
    int64_t V; /* 0 until set_vocab */
    int32_t max_id; /* the largest word id of the documents so far (-1: none) */
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

/* Creates the empty, extendible dataset /<split>/<column>. */
static int create_column(vae_corpus_writer *w, split_writer *s, int col, hid_t type)
{
    hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = CHUNK;
    hid_t space = H5Screate_simple(1, &zero, &unlimited);
    /* Shuffle groups the bytes of sorted ids and small counts, which deflate then squeezes;
     * for strings (heap references) it buys nothing. */
    hid_t dcpl = vae_h5_dcpl(1, &chunk, col != COL_DOC_IDS);
    int rc = VAE_OK;
    if (space >= 0 && dcpl >= 0)
        s->dset[col] = H5Dcreate2(s->group, col_names[col], type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (s->dset[col] < 0) {
        w->broken = 1;
        rc = writer_fail(w, VAE_ERR_IO, "/%s/%s: cannot create", s->name, col_names[col]);
    }
    vae_h5_close(&dcpl);
    vae_h5_close(&space);
    return rc;
}

/* Creates /<split> and its datasets, and buffers indptr[0] = 0. */
static int create_split(vae_corpus_writer *w, split_writer *s)
{
    hid_t gcpl = vae_h5_gcpl();
    int rc = VAE_OK;
    if (s->group >= 0)
        goto cleanup;
    s->ptr_buf = vae_malloc_array(BUF_DOCS, sizeof *s->ptr_buf);
    s->ids_buf = vae_malloc_array(BUF_ENTRIES, sizeof *s->ids_buf);
    s->cnt_buf = vae_malloc_array(BUF_ENTRIES, sizeof *s->cnt_buf);
    s->name_buf = vae_calloc_array(BUF_DOCS, sizeof *s->name_buf);
    if (!s->ptr_buf || !s->ids_buf || !s->cnt_buf || !s->name_buf) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if (gcpl >= 0)
        s->group = H5Gcreate2(w->file, s->name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (s->group < 0) {
        rc = writer_fail(w, VAE_ERR_IO, "/%s: cannot create the group", s->name);
        goto cleanup;
    }
    if ((rc = create_column(w, s, COL_INDPTR, H5T_STD_I64LE)) != VAE_OK ||
        (rc = create_column(w, s, COL_INDICES, H5T_STD_I32LE)) != VAE_OK ||
        (rc = create_column(w, s, COL_COUNTS, H5T_STD_I32LE)) != VAE_OK)
        goto cleanup;
    s->ptr_buf[s->ptr_n++] = 0;
cleanup:
    if (rc != VAE_OK)
        w->broken = 1;
    vae_h5_close(&gcpl);
    return rc;
}

/* Appends data[0..n) (memory type mtype) to the end of /<split>/<column>. */
static int append(vae_corpus_writer *w, split_writer *s, int col, hid_t mtype, const void *data, int64_t n)
{
    hsize_t start = s->written[col], count = (hsize_t)n, size = start + count;
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    int rc = VAE_OK;
    if (n == 0)
        return VAE_OK;
    if (H5Dset_extent(s->dset[col], &size) >= 0)
        fspace = H5Dget_space(s->dset[col]);
    mspace = H5Screate_simple(1, &count, NULL);
    if (fspace < 0 || mspace < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        H5Dwrite(s->dset[col], mtype, mspace, fspace, H5P_DEFAULT, data) < 0) {
        w->broken = 1;
        rc = writer_fail(w, VAE_ERR_IO, "/%s/%s: cannot append %lld entries", s->name, col_names[col],
                         (long long)n);
    } else {
        s->written[col] = size;
    }
    vae_h5_close(&mspace);
    vae_h5_close(&fspace);
    return rc;
}

/* Appends everything the split has buffered. */
static int flush_split(vae_corpus_writer *w, split_writer *s)
{
    hid_t str_type = H5I_INVALID_HID;
    int rc;
    if ((rc = append(w, s, COL_INDPTR, H5T_NATIVE_INT64, s->ptr_buf, s->ptr_n)) != VAE_OK ||
        (rc = append(w, s, COL_INDICES, H5T_NATIVE_INT32, s->ids_buf, s->ent_n)) != VAE_OK ||
        (rc = append(w, s, COL_COUNTS, H5T_NATIVE_INT32, s->cnt_buf, s->ent_n)) != VAE_OK)
        goto cleanup;
    s->ptr_n = s->ent_n = 0;
    if (s->name_n > 0) {
        str_type = vae_h5_str_type();
        rc = str_type < 0 ? writer_fail(w, VAE_ERR_IO, "cannot make a string type")
                          : append(w, s, COL_DOC_IDS, str_type, s->name_buf, s->name_n);
        for (int64_t i = 0; i < s->name_n; i++)
            vae_free_ptr(&s->name_buf[i]);
        s->name_n = 0;
    }
cleanup:
    vae_h5_close(&str_type);
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
    w->max_id = -1;
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split_writer *s = &w->splits[i];
        s->name = vae_split_names[i];
        s->group = H5I_INVALID_HID;
        for (int c = 0; c < NUM_COLS; c++)
            s->dset[c] = H5I_INVALID_HID;
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
 * frequencies not negative, and every word id already used below V. */
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
    int64_t tokens = 0;
    hid_t str_type = H5I_INVALID_HID;
    int rc;
    if ((rc = find_split(w, split, &s)) != VAE_OK ||
        (rc = check_doc(w, s, indices, counts, nnz, doc_id, &tokens)) != VAE_OK ||
        (rc = create_split(w, s)) != VAE_OK)
        goto cleanup;
    if (doc_id && s->dset[COL_DOC_IDS] < 0) {
        str_type = vae_h5_str_type();
        if ((rc = create_column(w, s, COL_DOC_IDS, str_type)) != VAE_OK)
            goto cleanup;
    }
    if (s->ent_n + nnz > BUF_ENTRIES || s->ptr_n == BUF_DOCS || s->name_n == BUF_DOCS)
        if ((rc = flush_split(w, s)) != VAE_OK)
            goto cleanup;
    if (nnz > BUF_ENTRIES) {
        /* Larger than the buffer (just flushed): straight to the file. */
        if ((rc = append(w, s, COL_INDICES, H5T_NATIVE_INT32, indices, nnz)) != VAE_OK ||
            (rc = append(w, s, COL_COUNTS, H5T_NATIVE_INT32, counts, nnz)) != VAE_OK)
            goto cleanup;
    } else if (nnz > 0) {
        memcpy(s->ids_buf + s->ent_n, indices, (size_t)nnz * sizeof *indices);
        memcpy(s->cnt_buf + s->ent_n, counts, (size_t)nnz * sizeof *counts);
        s->ent_n += nnz;
    }
    if (doc_id && !(s->name_buf[s->name_n++] = strdup(doc_id))) {
        w->broken = 1;
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    s->nnz += nnz;
    s->ptr_buf[s->ptr_n++] = s->nnz;
    s->num_docs++;
    s->num_tokens = tokens;
    s->named = doc_id ? 1 : -1;
    if (nnz > 0 && indices[nnz - 1] > w->max_id)
        w->max_id = indices[nnz - 1];
cleanup:
    vae_h5_close(&str_type);
    return rc;
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

/* Closes the split's datasets and group. */
static void close_split(split_writer *s)
{
    for (int c = 0; c < NUM_COLS; c++)
        vae_h5_close(&s->dset[c]);
    vae_h5_close(&s->group);
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
        if ((rc = flush_split(w, s)) != VAE_OK ||
            (rc = vae_h5_attr_put_int(s->group, "num_docs", s->num_docs, w->path)) != VAE_OK ||
            (rc = vae_h5_attr_put_int(s->group, "num_tokens", s->num_tokens, w->path)) != VAE_OK)
            goto cleanup;
        close_split(s);
    }
    if ((rc = vae_h5_attr_put_str(w->file, "format", VAE_CORPUS_FORMAT, w->path)) != VAE_OK ||
        (rc = vae_h5_attr_put_int(w->file, "version", VAE_CORPUS_VERSION, w->path)) != VAE_OK ||
        (rc = vae_h5_attr_put_int(w->file, "vocab_size", w->V, w->path)) != VAE_OK)
        goto cleanup;
    if (H5Fclose(w->file) < 0) {
        w->file = H5I_INVALID_HID;
        rc = writer_fail(w, VAE_ERR_IO, "cannot finish writing %s", w->tmp);
        goto cleanup;
    }
    w->file = H5I_INVALID_HID;
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
        for (int64_t k = 0; s->name_buf && k < s->name_n; k++)
            free(s->name_buf[k]);
        free(s->name_buf);
        free(s->ptr_buf);
        free(s->ids_buf);
        free(s->cnt_buf);
    }
    vae_h5_close(&w->file);
    if (w->tmp && !w->committed)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}
