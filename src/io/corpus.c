/* The corpus reader (SPEC.md "Corpus file", vae-corpus version 1): opening and validating a file,
 * reading any set of a split's documents with few HDF5 reads, and the format rules that the writer
 * (corpus_write.c) shares through corpus_internal.h. Memory stays bounded by what is asked for:
 * whole datasets are only ever scanned in chunks. */
#include "vae/corpus.h"

#include "corpus_internal.h"
#include "h5util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
} split;

struct vae_corpus {
    char *path;
    hid_t file, dxpl;
    int64_t V;
    column words, doc_freq, term_freq;
    split splits[VAE_NUM_SPLITS];
    void *window; /* WINDOW elements of up to 8 bytes, for gathering rows (allocated on first use) */
    /* the vocabulary, once vae_corpus_vocab loaded it */
    char **vocab_words;
    char *vocab_chars;
    int64_t *vocab_df, *vocab_tf;
};

/* The distinct rows of a request in increasing order, and which of them each position reads. */
typedef struct {
    int64_t n_rows;
    int64_t *rows; /* [n_rows] */
    int64_t *which; /* [n] */
} row_plan;

/* ---- reading ---- */

/* Records "<file>: <what>: <message>" and returns status. */
static int corpus_fail(const vae_corpus *c, int status, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int corpus_fail(const vae_corpus *c, int status, const char *what, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vae_fail(status, "%s: %s: %s", c->path, what, msg);
}

static const char *class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floats";
    case H5T_STRING: return "strings";
    default: return "another type";
    }
}

static void column_init(column *col)
{
    col->dset = col->space = col->str_type = H5I_INVALID_HID;
    col->len = 0;
    col->path[0] = '\0';
}

static void column_close(column *col)
{
    vae_h5_close(&col->str_type);
    vae_h5_close(&col->space);
    vae_h5_close(&col->dset);
}

/* Opens the 1-D dataset at path with elements of class cls (strings: variable-length). A missing
 * one is an error unless optional (then col->dset stays invalid). */
static int open_column(vae_corpus *c, const char *path, H5T_class_t cls, int optional, column *col)
{
    hid_t type = H5I_INVALID_HID;
    hsize_t dim;
    int rc = VAE_OK;
    snprintf(col->path, sizeof col->path, "%s", path);
    /* H5Lexists fails (< 0) when a group on the way is missing: that is missing too. */
    if (H5Lexists(c->file, path, H5P_DEFAULT) <= 0) {
        if (!optional)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "missing");
        goto cleanup;
    }
    col->dset = H5Dopen2(c->file, path, H5P_DEFAULT);
    col->space = col->dset >= 0 ? H5Dget_space(col->dset) : H5I_INVALID_HID;
    type = col->dset >= 0 ? H5Dget_type(col->dset) : H5I_INVALID_HID;
    if (col->space < 0 || type < 0) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "not a readable dataset");
        goto cleanup;
    }
    if (H5Tget_class(type) != cls) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "holds %s, expected %s", class_name(H5Tget_class(type)),
                         class_name(cls));
        goto cleanup;
    }
    if (H5Sget_simple_extent_ndims(col->space) != 1) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "has %d dimensions, expected 1",
                         H5Sget_simple_extent_ndims(col->space));
        goto cleanup;
    }
    H5Sget_simple_extent_dims(col->space, &dim, NULL);
    col->len = (int64_t)dim;
    if (cls == H5T_STRING) {
        if (H5Tis_variable_str(type) <= 0) {
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "holds fixed-length strings, expected variable-length");
            goto cleanup;
        }
        /* HDF5 does not convert between character sets: read in the file's own. */
        col->str_type = H5Tcopy(H5T_C_S1);
        if (col->str_type < 0 || H5Tset_size(col->str_type, H5T_VARIABLE) < 0 ||
            H5Tset_cset(col->str_type, H5Tget_cset(type)) < 0)
            rc = corpus_fail(c, VAE_ERR_IO, path, "cannot make its string type");
    }
cleanup:
    vae_h5_close(&type);
    return rc;
}

/* Reads entries [first, end) of col into buf as memory type mtype: one contiguous selection,
 * which HDF5 reads fast (unions of many blocks cost it time quadratic in their number). */
static int read_range(vae_corpus *c, const column *col, hid_t mtype, int64_t first, int64_t end, void *buf)
{
    hsize_t start = (hsize_t)first, count = (hsize_t)(end - first);
    hid_t mspace = H5I_INVALID_HID;
    int rc = VAE_OK;
    if (end <= first)
        return VAE_OK;
    mspace = H5Screate_simple(1, &count, NULL);
    if (mspace < 0 || H5Sselect_hyperslab(col->space, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        H5Dread(col->dset, mtype, mspace, col->space, c->dxpl, buf) < 0)
        rc = corpus_fail(c, VAE_ERR_IO, col->path, "cannot read entries %lld..%lld", (long long)first,
                         (long long)end - 1);
    vae_h5_close(&mspace);
    return rc;
}

/* Frees the n strings HDF5 allocated into buf for a string column. */
static void reclaim_strings(const column *col, int64_t n, char **buf)
{
    hsize_t dim = (hsize_t)n;
    hid_t space = n > 0 ? H5Screate_simple(1, &dim, NULL) : H5I_INVALID_HID;
    if (space >= 0)
        H5Dvlen_reclaim(col->str_type, space, H5P_DEFAULT, buf);
    vae_h5_close(&space);
}

/* Reads entry i of a string column into a malloc'ed copy. */
static int read_string(vae_corpus *c, const column *col, int64_t i, char **out)
{
    char *s = NULL;
    int rc = read_range(c, col, col->str_type, i, i + 1, &s);
    if (rc == VAE_OK && !(*out = strdup(s ? s : "")))
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
    if (s)
        reclaim_strings(col, 1, &s);
    return rc;
}

/* A forward reader of a split's indptr, a chunk at a time, so that a scan holds one chunk. */
typedef struct {
    vae_corpus *c;
    const column *col;
    int64_t *buf;
    int64_t first, n;
} indptr_cursor;

static int indptr_at(indptr_cursor *cur, int64_t pos, int64_t *value)
{
    if (pos < cur->first || pos >= cur->first + cur->n) {
        int64_t end = pos + WINDOW < cur->col->len ? pos + WINDOW : cur->col->len;
        int rc = read_range(cur->c, cur->col, H5T_NATIVE_INT64, pos, end, cur->buf);
        if (rc != VAE_OK)
            return rc;
        cur->first = pos;
        cur->n = end - pos;
    }
    *value = cur->buf[pos - cur->first];
    return VAE_OK;
}

static int cursor_init(indptr_cursor *cur, vae_corpus *c, const column *col)
{
    cur->c = c;
    cur->col = col;
    cur->first = cur->n = 0;
    cur->buf = vae_malloc_array(WINDOW, sizeof *cur->buf);
    return cur->buf ? VAE_OK : VAE_ERR_NOMEM;
}

/* The whole indptr: starts at 0, never decreases, no row longer than the vocabulary (its ids
 * increase strictly in [0, V)), ends at nnz. Checked before any row is read, so a hostile indptr
 * can neither send a read past the data nor ask for a huge buffer. */
static int check_indptr(vae_corpus *c, split *s)
{
    indptr_cursor cur;
    int64_t prev = 0, v = 0;
    const char *path = s->indptr.path;
    int rc = cursor_init(&cur, c, &s->indptr);
    for (int64_t pos = 0; rc == VAE_OK && pos < s->indptr.len; pos++, prev = v) {
        if ((rc = indptr_at(&cur, pos, &v)) != VAE_OK)
            break;
        if (pos == 0 && v != 0)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "indptr[0] is %lld, expected 0", (long long)v);
        else if (v < prev)
            rc = corpus_fail(
                c, VAE_ERR_FORMAT, path, "indptr[%lld] = %lld is less than indptr[%lld] = %lld (row %lld)",
                (long long)pos, (long long)v, (long long)pos - 1, (long long)prev, (long long)pos - 1);
        else if (v > s->nnz)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path,
                             "indptr[%lld] = %lld is past nnz = %lld, the length of %s", (long long)pos,
                             (long long)v, (long long)s->nnz, s->indices.path);
        else if (v - prev > c->V)
            rc =
                corpus_fail(c, VAE_ERR_FORMAT, path, "row %lld has %lld entries, more than vocab_size = %lld",
                            (long long)pos - 1, (long long)(v - prev), (long long)c->V);
    }
    if (rc == VAE_OK && prev != s->nnz)
        rc =
            corpus_fail(c, VAE_ERR_FORMAT, path, "indptr[%lld] = %lld, expected nnz = %lld, the length of %s",
                        (long long)s->num_docs, (long long)prev, (long long)s->nnz, s->indices.path);
    free(cur.buf);
    return rc;
}

static int open_split(vae_corpus *c, int which)
{
    split *s = &c->splits[which];
    const char *name = vae_split_names[which];
    const char *path = s->path;
    char what[48];
    int64_t num_docs = 0;
    int rc = VAE_OK;
    if (H5Lexists(c->file, name, H5P_DEFAULT) <= 0)
        return VAE_OK;
    s->present = 1;
    snprintf(s->path, sizeof s->path, "/%s", name);
    s->group = H5Gopen2(c->file, name, H5P_DEFAULT);
    if (s->group < 0)
        return corpus_fail(c, VAE_ERR_FORMAT, path, "not a group");
    const struct {
        column *col;
        const char *name;
        H5T_class_t cls;
        int optional;
    } cols[4] = {{&s->indptr, "indptr", H5T_INTEGER, 0},
                 {&s->indices, "indices", H5T_INTEGER, 0},
                 {&s->counts, "counts", H5T_INTEGER, 0},
                 {&s->doc_ids, "doc_ids", H5T_STRING, 1}};
    for (int i = 0; i < 4; i++) {
        snprintf(what, sizeof what, "%s/%s", path, cols[i].name);
        if ((rc = open_column(c, what, cols[i].cls, cols[i].optional, cols[i].col)) != VAE_OK)
            return rc;
    }
    if (s->indptr.len < 1)
        return corpus_fail(c, VAE_ERR_FORMAT, s->indptr.path, "is empty; it needs num_docs + 1 entries");
    s->num_docs = s->indptr.len - 1;
    s->nnz = s->indices.len;
    if (s->counts.len != s->nnz)
        return corpus_fail(c, VAE_ERR_FORMAT, s->counts.path, "holds %lld entries, but %s holds %lld",
                           (long long)s->counts.len, s->indices.path, (long long)s->nnz);
    if (s->doc_ids.dset >= 0 && s->doc_ids.len != s->num_docs)
        return corpus_fail(c, VAE_ERR_FORMAT, s->doc_ids.path,
                           "holds %lld names, but %s describes %lld documents", (long long)s->doc_ids.len,
                           s->indptr.path, (long long)s->num_docs);
    if ((rc = vae_h5_attr_get_int(s->group, "num_docs", &num_docs, c->path)) != VAE_OK ||
        (rc = vae_h5_attr_get_int(s->group, "num_tokens", &s->num_tokens, c->path)) != VAE_OK)
        return rc;
    if (num_docs != s->num_docs)
        return corpus_fail(c, VAE_ERR_FORMAT, path,
                           "attribute num_docs is %lld, but %s describes %lld documents", (long long)num_docs,
                           s->indptr.path, (long long)s->num_docs);
    if (s->num_tokens < 0)
        return corpus_fail(c, VAE_ERR_FORMAT, path, "attribute num_tokens is negative (%lld)",
                           (long long)s->num_tokens);
    return check_indptr(c, s);
}

static int check_root(vae_corpus *c)
{
    char *format = NULL;
    int64_t version = 0;
    int rc = vae_h5_attr_get_str(c->file, "format", &format, c->path);
    if (rc != VAE_OK)
        goto cleanup;
    if (strcmp(format, VAE_CORPUS_FORMAT) != 0) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, "root attribute 'format'", "is '%.64s', expected '%s'", format,
                         VAE_CORPUS_FORMAT);
        goto cleanup;
    }
    if ((rc = vae_h5_attr_get_int(c->file, "version", &version, c->path)) != VAE_OK)
        goto cleanup;
    if (version != VAE_CORPUS_VERSION) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, "root attribute 'version'",
                         "is %lld; this reader reads version %d", (long long)version, VAE_CORPUS_VERSION);
        goto cleanup;
    }
    if ((rc = vae_h5_attr_get_int(c->file, "vocab_size", &c->V, c->path)) != VAE_OK)
        goto cleanup;
    if (c->V < 1 || c->V > INT32_MAX)
        rc = corpus_fail(c, VAE_ERR_FORMAT, "root attribute 'vocab_size'", "is %lld, expected 1..%d",
                         (long long)c->V, INT32_MAX);
cleanup:
    free(format);
    return rc;
}

/* The wordset's tie-breaker: the two words are read back from the file (hashes are rarely equal). */
static int same_word_in_file(void *ctx, int64_t earlier, int64_t later, int *equal)
{
    vae_corpus *c = ctx;
    char *a = NULL, *b = NULL;
    int rc = read_string(c, &c->words, earlier, &a);
    if (rc == VAE_OK)
        rc = read_string(c, &c->words, later, &b);
    if (rc == VAE_OK)
        *equal = strcmp(a, b) == 0;
    free(a);
    free(b);
    return rc;
}

/* Checks words[first .. first + n) (in buf) against the rules and the words seen before them. */
static int check_word_chunk(vae_corpus *c, vae_wordset *set, char **buf, int64_t first, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const char *w = buf[i] ? buf[i] : "";
        const char *problem = vae_word_problem(w);
        int64_t dup;
        if (problem)
            return corpus_fail(c, VAE_ERR_FORMAT, c->words.path, "word %lld %s", (long long)(first + i),
                               problem);
        int rc = vae_wordset_add(set, vae_word_hash(w), first + i, same_word_in_file, c, &dup);
        if (rc != VAE_OK)
            return rc;
        if (dup >= 0)
            return corpus_fail(c, VAE_ERR_FORMAT, c->words.path, "word %lld ('%.64s') repeats word %lld",
                               (long long)(first + i), w, (long long)dup);
    }
    return VAE_OK;
}

/* /vocab: shapes and types, and every word non-empty, UTF-8 and unique (scanned in chunks). */
static int open_vocab(vae_corpus *c)
{
    vae_wordset set = {0};
    char **buf = NULL;
    int rc;
    if ((rc = open_column(c, "/vocab/words", H5T_STRING, 0, &c->words)) != VAE_OK ||
        (rc = open_column(c, "/vocab/doc_freq", H5T_INTEGER, 0, &c->doc_freq)) != VAE_OK ||
        (rc = open_column(c, "/vocab/term_freq", H5T_INTEGER, 0, &c->term_freq)) != VAE_OK)
        goto cleanup;
    const column *cols[3] = {&c->words, &c->doc_freq, &c->term_freq};
    for (int i = 0; i < 3; i++)
        if (cols[i]->len != c->V) {
            rc = corpus_fail(c, VAE_ERR_FORMAT, cols[i]->path,
                             "holds %lld entries, but root attribute vocab_size is %lld",
                             (long long)cols[i]->len, (long long)c->V);
            goto cleanup;
        }
    if ((rc = vae_wordset_init(&set, c->V)) != VAE_OK)
        goto cleanup;
    if (!(buf = vae_calloc_array(WINDOW, sizeof *buf))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int64_t first = 0; first < c->V && rc == VAE_OK; first += WINDOW) {
        int64_t n = c->V - first < WINDOW ? c->V - first : WINDOW;
        if ((rc = read_range(c, &c->words, c->words.str_type, first, first + n, buf)) != VAE_OK)
            break;
        rc = check_word_chunk(c, &set, buf, first, n);
        reclaim_strings(&c->words, n, buf);
    }
cleanup:
    free(buf);
    vae_wordset_free(&set);
    return rc;
}

int vae_corpus_open(vae_corpus **out, const char *path)
{
    vae_corpus *c = vae_calloc_array(1, sizeof *c);
    int rc = VAE_OK;
    *out = NULL;
    if (!c)
        return VAE_ERR_NOMEM;
    c->file = c->dxpl = H5I_INVALID_HID;
    column_init(&c->words);
    column_init(&c->doc_freq);
    column_init(&c->term_freq);
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split *s = &c->splits[i];
        s->group = H5I_INVALID_HID;
        column_init(&s->indptr);
        column_init(&s->indices);
        column_init(&s->counts);
        column_init(&s->doc_ids);
    }
    if (!(c->path = strdup(path))) {
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = vae_h5_open_read(path, &c->file)) != VAE_OK)
        goto cleanup;
    if ((c->dxpl = vae_h5_int_dxpl()) < 0) {
        rc = corpus_fail(c, VAE_ERR_IO, "HDF5", "cannot make a transfer property list");
        goto cleanup;
    }
    if ((rc = check_root(c)) != VAE_OK || (rc = open_vocab(c)) != VAE_OK)
        goto cleanup;
    for (int i = 0; i < VAE_NUM_SPLITS && rc == VAE_OK; i++)
        rc = open_split(c, i);
    if (rc == VAE_OK && !c->splits[0].present)
        rc = corpus_fail(c, VAE_ERR_FORMAT, "/train", "missing (every corpus has a training split)");
    if (rc == VAE_OK) {
        *out = c;
        c = NULL;
    }
cleanup:
    vae_corpus_free(c);
    return rc;
}

void vae_corpus_free(vae_corpus *c)
{
    if (!c)
        return;
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split *s = &c->splits[i];
        column_close(&s->indptr);
        column_close(&s->indices);
        column_close(&s->counts);
        column_close(&s->doc_ids);
        vae_h5_close(&s->group);
    }
    column_close(&c->words);
    column_close(&c->doc_freq);
    column_close(&c->term_freq);
    vae_h5_close(&c->dxpl);
    vae_h5_close(&c->file);
    free(c->window);
    free(c->vocab_words);
    free(c->vocab_chars);
    free(c->vocab_df);
    free(c->vocab_tf);
    free(c->path);
    free(c);
}

const char *vae_corpus_path(const vae_corpus *c) { return c->path; }

int64_t vae_corpus_vocab_size(const vae_corpus *c) { return c->V; }

/* Reads a whole int64 column of the vocabulary, whose entries must not be negative. */
static int read_vocab_counts(vae_corpus *c, const column *col, int64_t **out)
{
    int rc;
    if (!(*out = vae_malloc_array((size_t)c->V, sizeof **out)))
        return VAE_ERR_NOMEM;
    if ((rc = read_range(c, col, H5T_NATIVE_INT64, 0, c->V, *out)) != VAE_OK)
        return rc;
    for (int64_t i = 0; i < c->V; i++)
        if ((*out)[i] < 0)
            return corpus_fail(c, VAE_ERR_FORMAT, col->path, "entry %lld is negative (%lld)", (long long)i,
                               (long long)(*out)[i]);
    return VAE_OK;
}

/* Loads /vocab into memory: the words into one block of characters. */
static int load_vocab(vae_corpus *c)
{
    char **raw = NULL;
    size_t chars = 0;
    int rc = VAE_OK;
    if (!(raw = vae_calloc_array((size_t)c->V, sizeof *raw)) ||
        !(c->vocab_words = vae_malloc_array((size_t)c->V, sizeof *c->vocab_words))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = read_range(c, &c->words, c->words.str_type, 0, c->V, raw)) != VAE_OK)
        goto cleanup;
    for (int64_t i = 0; i < c->V; i++)
        chars += strlen(raw[i] ? raw[i] : "") + 1;
    if ((c->vocab_chars = vae_malloc_array(chars, 1))) {
        char *p = c->vocab_chars;
        for (int64_t i = 0; i < c->V; i++) {
            size_t len = strlen(raw[i] ? raw[i] : "") + 1;
            memcpy(p, raw[i] ? raw[i] : "", len);
            c->vocab_words[i] = p;
            p += len;
        }
    } else {
        rc = VAE_ERR_NOMEM;
    }
    reclaim_strings(&c->words, c->V, raw);
    if (rc == VAE_OK && (rc = read_vocab_counts(c, &c->doc_freq, &c->vocab_df)) == VAE_OK)
        rc = read_vocab_counts(c, &c->term_freq, &c->vocab_tf);
cleanup:
    free(raw);
    if (rc != VAE_OK) {
        vae_free_ptr(&c->vocab_words);
        vae_free_ptr(&c->vocab_chars);
        vae_free_ptr(&c->vocab_df);
        vae_free_ptr(&c->vocab_tf);
    }
    return rc;
}

int vae_corpus_vocab(vae_corpus *c, const char *const **words, const int64_t **doc_freq,
                     const int64_t **term_freq)
{
    int rc = c->vocab_tf ? VAE_OK : load_vocab(c);
    if (rc != VAE_OK)
        return rc;
    if (words)
        *words = (const char *const *)c->vocab_words;
    if (doc_freq)
        *doc_freq = c->vocab_df;
    if (term_freq)
        *term_freq = c->vocab_tf;
    return VAE_OK;
}

static int split_index(const char *name)
{
    for (int i = 0; i < VAE_NUM_SPLITS; i++)
        if (strcmp(name, vae_split_names[i]) == 0)
            return i;
    return -1;
}

int vae_corpus_split_info(const vae_corpus *c, const char *name, vae_split_info *info)
{
    int i = split_index(name);
    memset(info, 0, sizeof *info);
    if (i < 0)
        return vae_fail(VAE_ERR_ARG, "%s: unknown split '%s' (train, valid or test)", c->path, name);
    const split *s = &c->splits[i];
    info->present = s->present;
    info->num_docs = s->num_docs;
    info->num_tokens = s->num_tokens;
    info->nnz = s->nnz;
    info->has_doc_ids = s->doc_ids.dset >= 0;
    return VAE_OK;
}

/* The split called name, which must be in the file. */
static int present_split(vae_corpus *c, const char *name, split **s)
{
    int i = split_index(name);
    if (i < 0)
        return vae_fail(VAE_ERR_ARG, "%s: unknown split '%s' (train, valid or test)", c->path, name);
    if (!c->splits[i].present)
        return vae_fail(VAE_ERR_ARG, "%s: the file has no split '%s'", c->path, name);
    *s = &c->splits[i];
    return VAE_OK;
}

typedef struct {
    int64_t row, pos;
} request;

static int cmp_request(const void *a, const void *b)
{
    const request *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void plan_free(row_plan *p)
{
    vae_free_ptr(&p->rows);
    vae_free_ptr(&p->which);
}

/* Sorts the requested rows of s (each checked to be in the split) into a row_plan. */
static int plan_rows(vae_corpus *c, const char *name, const split *s, const int64_t *doc_index, int64_t n,
                     row_plan *p)
{
    request *req = NULL;
    int rc = VAE_OK;
    memset(p, 0, sizeof *p);
    if (n < 0)
        return vae_fail(VAE_ERR_ARG, "%s: split %s: cannot read %lld documents", c->path, name, (long long)n);
    if (!(req = vae_malloc_array((size_t)n, sizeof *req)) ||
        !(p->rows = vae_malloc_array((size_t)n, sizeof *p->rows)) ||
        !(p->which = vae_malloc_array((size_t)n, sizeof *p->which))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int64_t i = 0; i < n; i++) {
        if (doc_index[i] < 0 || doc_index[i] >= s->num_docs) {
            rc = vae_fail(VAE_ERR_ARG,
                          "%s: split %s: document %lld (position %lld of the request) is not in [0, %lld)",
                          c->path, name, (long long)doc_index[i], (long long)i, (long long)s->num_docs);
            goto cleanup;
        }
        req[i].row = doc_index[i];
        req[i].pos = i;
    }
    qsort(req, (size_t)n, sizeof *req, cmp_request);
    for (int64_t i = 0; i < n; i++) {
        if (p->n_rows == 0 || p->rows[p->n_rows - 1] != req[i].row)
            p->rows[p->n_rows++] = req[i].row;
        p->which[req[i].pos] = p->n_rows - 1;
    }
cleanup:
    free(req);
    if (rc != VAE_OK)
        plan_free(p);
    return rc;
}

/* The intervals of a gather, one per distinct requested row (sorted), and the windows that read
 * them: one allocation. */
typedef struct {
    int64_t *block;
    int64_t n; /* intervals */
    int64_t *start, *end; /* [n] */
    int64_t *at; /* [n] where interval k lands in the packed buffer */
    int64_t *wstart, *wend, *wfirst; /* [n] windows (see vae_coalesce) */
    int64_t nw;
    int64_t len; /* the intervals' total length: the packed buffer's */
} gather_plan;

static int gather_init(gather_plan *q, int64_t n)
{
    memset(q, 0, sizeof *q);
    if ((uint64_t)n > SIZE_MAX / 6 / sizeof(int64_t))
        return vae_fail(VAE_ERR_NOMEM, "request of %lld documents too large", (long long)n);
    if (!(q->block = vae_malloc_array((size_t)n * 6, sizeof *q->block)))
        return VAE_ERR_NOMEM;
    q->n = n;
    q->start = q->block;
    q->end = q->start + n;
    q->at = q->end + n;
    q->wstart = q->at + n;
    q->wend = q->wstart + n;
    q->wfirst = q->wend + n;
    return VAE_OK;
}

/* Packs the intervals (start/end filled in) one after another and groups them into windows. */
static void gather_windows(gather_plan *q)
{
    q->len = 0;
    for (int64_t k = 0; k < q->n; k++) {
        q->at[k] = q->len;
        q->len += q->end[k] - q->start[k];
    }
    q->nw = vae_coalesce(q->start, q->end, q->n, VAE_CORPUS_GAP, WINDOW, q->wstart, q->wend, q->wfirst);
}

/* Receives elements [from, from + len) of interval k, which lie at data. */
typedef int (*piece_fn)(void *ctx, int64_t k, int64_t from, const void *data, int64_t len);

/* Reads q's windows of col into c->window as mtype (elements of size bytes), a window longer than
 * the buffer (one long interval) in pieces, and hands each interval's elements to take. String
 * windows are reclaimed once take has seen them. */
static int gather(vae_corpus *c, const column *col, hid_t mtype, size_t size, const gather_plan *q,
                  piece_fn take, void *ctx)
{
    int rc = VAE_OK;
    if (!c->window && !(c->window = vae_malloc_array(WINDOW, sizeof(int64_t))))
        return VAE_ERR_NOMEM;
    for (int64_t w = 0; w < q->nw && rc == VAE_OK; w++) {
        int64_t last = w + 1 < q->nw ? q->wfirst[w + 1] : q->n;
        for (int64_t pos = q->wstart[w]; pos < q->wend[w] && rc == VAE_OK; pos += WINDOW) {
            int64_t stop = q->wend[w] - pos < WINDOW ? q->wend[w] : pos + WINDOW;
            if ((rc = read_range(c, col, mtype, pos, stop, c->window)) != VAE_OK)
                break;
            for (int64_t k = q->wfirst[w]; k < last && rc == VAE_OK; k++) {
                int64_t lo = q->start[k] > pos ? q->start[k] : pos, hi = q->end[k] < stop ? q->end[k] : stop;
                if (lo < hi)
                    rc = take(ctx, k, lo - q->start[k], (const char *)c->window + (size_t)(lo - pos) * size,
                              hi - lo);
            }
            if (col->str_type >= 0)
                reclaim_strings(col, stop - pos, c->window);
        }
    }
    return rc;
}

/* gather's consumer for numbers: into the packed buffer dst. */
typedef struct {
    char *dst;
    const int64_t *at;
    size_t size;
} pack_ctx;

static int pack_piece(void *ctx, int64_t k, int64_t from, const void *data, int64_t len)
{
    const pack_ctx *p = ctx;
    memcpy(p->dst + (size_t)(p->at[k] + from) * p->size, data, (size_t)len * p->size);
    return VAE_OK;
}

/* Gathers q's intervals of col (numbers, elements of size bytes) packed into dst. */
static int gather_packed(vae_corpus *c, const column *col, hid_t mtype, size_t size, const gather_plan *q,
                         void *dst)
{
    pack_ctx p = {dst, q->at, size};
    return gather(c, col, mtype, size, q, pack_piece, &p);
}

static int row_fail(vae_corpus *c, const split *s, const vae_row_fault *fault, int64_t row, int64_t entry)
{
    return corpus_fail(c, VAE_ERR_FORMAT, fault->in_counts ? s->counts.path : s->indices.path,
                       "row %lld, entry %lld: %s", (long long)row, (long long)entry, fault->why);
}

/* Copies the planned rows (validated, packed in ids/cnt) into out in the requested order. */
static int place_rows(const row_plan *p, const gather_plan *q, const int32_t *ids, const int32_t *cnt,
                      const int64_t *doc_index, int64_t n, vae_docs *out)
{
    int64_t total = 0, at = 0;
    for (int64_t i = 0; i < n; i++)
        if (__builtin_add_overflow(total, q->end[p->which[i]] - q->start[p->which[i]], &total))
            return vae_fail(VAE_ERR_NOMEM, "the requested documents have more than 2^63 entries");
    int rc = vae_docs_reserve(out, n, total);
    if (rc != VAE_OK)
        return rc;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = p->which[i], len = q->end[k] - q->start[k];
        if (len > 0) {
            memcpy(out->indices + at, ids + q->at[k], (size_t)len * sizeof *ids);
            memcpy(out->counts + at, cnt + q->at[k], (size_t)len * sizeof *cnt);
        }
        at += len;
        out->indptr[i + 1] = at;
        out->doc_index[i] = doc_index[i];
    }
    out->num_docs = n;
    out->nnz = total;
    return VAE_OK;
}

int vae_corpus_read_docs(vae_corpus *c, const char *name, const int64_t *doc_index, int64_t n, vae_docs *out)
{
    split *s = NULL;
    row_plan p = {0};
    gather_plan q = {0};
    int64_t *ptr = NULL;
    int32_t *ids = NULL, *cnt = NULL;
    int rc;
    /* Until the end, out holds no rows: a failure returns none, never a part. */
    out->num_docs = out->nnz = 0;
    if ((rc = vae_docs_reserve(out, 0, 0)) != VAE_OK || (rc = present_split(c, name, &s)) != VAE_OK ||
        (rc = plan_rows(c, name, s, doc_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK)
        goto cleanup;
    /* First each row's indptr pair (row, row + 1), then the rows' entries. */
    for (int64_t k = 0; k < p.n_rows; k++) {
        q.start[k] = p.rows[k];
        q.end[k] = p.rows[k] + 2;
    }
    gather_windows(&q);
    if (!(ptr = vae_malloc_array((size_t)q.len, sizeof *ptr))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = gather_packed(c, &s->indptr, H5T_NATIVE_INT64, sizeof *ptr, &q, ptr)) != VAE_OK)
        goto cleanup;
    for (int64_t k = 0; k < p.n_rows; k++) {
        q.start[k] = ptr[2 * k];
        q.end[k] = ptr[2 * k + 1];
    }
    gather_windows(&q);
    if (!(ids = vae_malloc_array((size_t)q.len, sizeof *ids)) ||
        !(cnt = vae_malloc_array((size_t)q.len, sizeof *cnt))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = gather_packed(c, &s->indices, H5T_NATIVE_INT32, sizeof *ids, &q, ids)) != VAE_OK ||
        (rc = gather_packed(c, &s->counts, H5T_NATIVE_INT32, sizeof *cnt, &q, cnt)) != VAE_OK)
        goto cleanup;
    for (int64_t k = 0; k < p.n_rows; k++) {
        int32_t prev = -1;
        int64_t tokens = 0;
        vae_row_fault fault;
        int64_t bad =
            vae_row_check(ids + q.at[k], cnt + q.at[k], q.end[k] - q.start[k], c->V, &prev, &tokens, &fault);
        if (bad >= 0) {
            rc = row_fail(c, s, &fault, p.rows[k], bad);
            goto cleanup;
        }
    }
    rc = place_rows(&p, &q, ids, cnt, doc_index, n, out);
cleanup:
    free(ptr);
    free(ids);
    free(cnt);
    free(q.block);
    plan_free(&p);
    return rc;
}

int vae_corpus_validate_split(vae_corpus *c, const char *name)
{
    split *s = NULL;
    indptr_cursor cur = {0};
    int32_t *ids = NULL, *cnt = NULL, prev = -1;
    int64_t row = 0, row_start = 0, row_end = 0, tokens = 0;
    int rc;
    if ((rc = present_split(c, name, &s)) != VAE_OK || (rc = cursor_init(&cur, c, &s->indptr)) != VAE_OK)
        goto cleanup;
    if (!(ids = vae_malloc_array(WINDOW, sizeof *ids)) || !(cnt = vae_malloc_array(WINDOW, sizeof *cnt))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if (s->num_docs > 0 && (rc = indptr_at(&cur, 1, &row_end)) != VAE_OK)
        goto cleanup;
    /* Entries stream by in chunks that cut rows anywhere; a row's check resumes after prev. */
    for (int64_t first = 0; first < s->nnz; first += WINDOW) {
        int64_t end = s->nnz - first < WINDOW ? s->nnz : first + WINDOW;
        if ((rc = read_range(c, &s->indices, H5T_NATIVE_INT32, first, end, ids)) != VAE_OK ||
            (rc = read_range(c, &s->counts, H5T_NATIVE_INT32, first, end, cnt)) != VAE_OK)
            goto cleanup;
        for (int64_t at = first; at < end;) {
            while (row_end == at) {
                row++;
                row_start = row_end;
                prev = -1;
                if ((rc = indptr_at(&cur, row + 1, &row_end)) != VAE_OK)
                    goto cleanup;
            }
            int64_t stop = row_end < end ? row_end : end;
            vae_row_fault fault;
            int64_t bad = vae_row_check(ids + (at - first), cnt + (at - first), stop - at, c->V, &prev,
                                        &tokens, &fault);
            if (bad >= 0) {
                rc = row_fail(c, s, &fault, row, at - row_start + bad);
                goto cleanup;
            }
            at = stop;
        }
    }
    if (tokens != s->num_tokens)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->path, "attribute num_tokens is %lld, but %s sums to %lld",
                         (long long)s->num_tokens, s->counts.path, (long long)tokens);
cleanup:
    free(cur.buf);
    free(ids);
    free(cnt);
    return rc;
}

int vae_corpus_get_attr_int(const vae_corpus *c, const char *name, int64_t *value)
{
    return vae_h5_attr_get_int(c->file, name, value, c->path);
}

int vae_corpus_get_attr_str(const vae_corpus *c, const char *name, char *buf, size_t bufsize)
{
    char *value = NULL;
    int rc = vae_h5_attr_get_str(c->file, name, &value, c->path);
    if (rc == VAE_OK && strlen(value) >= bufsize)
        rc = vae_fail(VAE_ERR_ARG, "%s: root attribute '%s' is longer than %zu bytes", c->path, name,
                      bufsize ? bufsize - 1 : 0);
    else if (rc == VAE_OK)
        memcpy(buf, value, strlen(value) + 1);
    free(value);
    return rc;
}

/* gather's consumer for names: a copy of each distinct row's name. */
static int copy_name(void *ctx, int64_t k, int64_t from, const void *data, int64_t len)
{
    char **names = ctx;
    const char *name = *(char *const *)data;
    return (names[k] = strdup(name ? name : "")) ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory");
}

int vae_corpus_read_doc_ids(vae_corpus *c, const char *name, const int64_t *doc_index, int64_t n,
                            char **names)
{
    split *s = NULL;
    row_plan p = {0};
    gather_plan q = {0};
    char **distinct = NULL;
    int rc;
    for (int64_t i = 0; i < n; i++)
        names[i] = NULL;
    if ((rc = present_split(c, name, &s)) != VAE_OK)
        goto cleanup;
    if (s->doc_ids.dset < 0) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->doc_ids.path, "missing (the split has no document names)");
        goto cleanup;
    }
    if ((rc = plan_rows(c, name, s, doc_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK)
        goto cleanup;
    if (!(distinct = vae_calloc_array((size_t)p.n_rows, sizeof *distinct))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int64_t k = 0; k < p.n_rows; k++) {
        q.start[k] = p.rows[k];
        q.end[k] = p.rows[k] + 1;
    }
    gather_windows(&q);
    if ((rc = gather(c, &s->doc_ids, s->doc_ids.str_type, sizeof(char *), &q, copy_name, distinct)) != VAE_OK)
        goto cleanup;
    for (int64_t i = 0; i < n && rc == VAE_OK; i++)
        if (!(names[i] = strdup(distinct[p.which[i]])))
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
cleanup:
    if (rc != VAE_OK)
        for (int64_t i = 0; i < n; i++)
            vae_free_ptr(&names[i]);
    for (int64_t k = 0; distinct && k < p.n_rows; k++)
        free(distinct[k]);
    free(distinct);
    free(q.block);
    plan_free(&p);
    return rc;
}

int vae_corpus_read_floats(vae_corpus *c, const char *dataset, float **data, int64_t *rows, int64_t *cols)
{
    hsize_t dims[2] = {0, 0};
    int rank = 0;
    int rc = vae_h5_get_floats(c->file, dataset, data, &rank, dims, c->path);
    if (rc == VAE_OK) {
        *rows = (int64_t)dims[0];
        *cols = rank == 2 ? (int64_t)dims[1] : 0;
    }
    return rc;
}

const char *vae_corpus_hdf5_version(void)
{
    static char version[32];
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    snprintf(version, sizeof version, "%u.%u.%u", major, minor, release);
    return version;
}
