/* The corpus reader (SPEC.md "Corpus file", vae-corpus version 1): opening and validating a file
 * (root attributes, vocabulary, each split's datasets and its whole indptr), the vocabulary, the
 * splits' figures and the file's attributes. Reading rows is corpus_rows.c's. Memory stays bounded
 * by what is asked for: whole datasets are only ever scanned in chunks. */
#include "corpus_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole indptr: starts at 0, never decreases, no row longer than the vocabulary (its ids
 * increase strictly in [0, V)), ends at nnz. Checked before any row is read, so a hostile indptr
 * can neither send a read past the data nor ask for a huge buffer. */
static int check_indptr(vae_corpus *c, split *s)
{
    indptr_cursor cur;
    int64_t prev = 0, v = 0;
    const char *path = s->indptr.path;
    int rc = corpus_cursor_init(&cur, c, &s->indptr);
    for (int64_t pos = 0; rc == VAE_OK && pos < s->indptr.len; pos++, prev = v) {
        if ((rc = corpus_indptr_at(&cur, pos, &v)) != VAE_OK)
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
        if ((rc = corpus_open_column(c, what, cols[i].cls, cols[i].optional, cols[i].col)) != VAE_OK)
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
    int rc = corpus_read_string(c, &c->words, earlier, &a);
    if (rc == VAE_OK)
        rc = corpus_read_string(c, &c->words, later, &b);
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
    if ((rc = corpus_open_column(c, "/vocab/words", H5T_STRING, 0, &c->words)) != VAE_OK ||
        (rc = corpus_open_column(c, "/vocab/doc_freq", H5T_INTEGER, 0, &c->doc_freq)) != VAE_OK ||
        (rc = corpus_open_column(c, "/vocab/term_freq", H5T_INTEGER, 0, &c->term_freq)) != VAE_OK)
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
        if ((rc = corpus_read_range(c, &c->words, c->words.str_type, first, first + n, buf)) != VAE_OK)
            break;
        rc = check_word_chunk(c, &set, buf, first, n);
        corpus_reclaim_strings(&c->words, n, buf);
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
    corpus_column_init(&c->words);
    corpus_column_init(&c->doc_freq);
    corpus_column_init(&c->term_freq);
    for (int i = 0; i < VAE_NUM_SPLITS; i++) {
        split *s = &c->splits[i];
        s->group = H5I_INVALID_HID;
        corpus_column_init(&s->indptr);
        corpus_column_init(&s->indices);
        corpus_column_init(&s->counts);
        corpus_column_init(&s->doc_ids);
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
        corpus_column_close(&s->indptr);
        corpus_column_close(&s->indices);
        corpus_column_close(&s->counts);
        corpus_column_close(&s->doc_ids);
        vae_h5_close(&s->group);
    }
    corpus_column_close(&c->words);
    corpus_column_close(&c->doc_freq);
    corpus_column_close(&c->term_freq);
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
    if ((rc = corpus_read_range(c, col, H5T_NATIVE_INT64, 0, c->V, *out)) != VAE_OK)
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
    if ((rc = corpus_read_range(c, &c->words, c->words.str_type, 0, c->V, raw)) != VAE_OK)
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
    corpus_reclaim_strings(&c->words, c->V, raw);
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

int vae_corpus_split_info(const vae_corpus *c, const char *name, vae_split_info *info)
{
    int i = corpus_split_index(name);
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
