/* The corpus reader (SPEC.md "Corpus file", vae-corpus versions 1 and 2): opening and validating a
 * file (root attributes, vocabulary, each split's datasets and its whole indptr, and the same of
 * its sequences), the vocabulary, the splits' figures and the file's attributes. Reading rows and
 * sequences is corpus_rows.c's. Memory stays bounded
 * by what is asked for: whole datasets are only ever scanned in chunks. */
#include "corpus_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rules of a pointer dataset: a split's indptr into its entries, or its seq/indptr into its
 * tokens, and the words its messages use. */
typedef struct {
    const column *col;
    int64_t end;              /* the last pointer: the length of the target dataset */
    const char *end_name;     /* "nnz" */
    const char *target;       /* the target's path */
    const char *noun, *items; /* "row", "entries" */
    int64_t min_len, max_len; /* of every row */
    const char *max_name;     /* "vocab_size" */
} pointer_rules;

/* The whole pointer dataset: starts at 0, never decreases, no row shorter than min_len or longer
 * than max_len, ends at end. Checked before any row is read, so a hostile indptr can neither send a
 * read past the data nor ask for a huge buffer. */
static int check_pointers(vae_corpus *c, const pointer_rules *r)
{
    indptr_cursor cur;
    int64_t prev = 0, v = 0;
    const char *path = r->col->path;
    int rc = corpus_cursor_init(&cur, c, r->col);
    for (int64_t pos = 0; rc == VAE_OK && pos < r->col->len; pos++, prev = v) {
        if ((rc = corpus_indptr_at(&cur, pos, &v)) != VAE_OK)
            break;
        if (pos == 0 && v != 0)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "indptr[0] is %lld, expected 0", (long long)v);
        else if (v < prev)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "indptr[%lld] = %lld is less than indptr[%lld] = %lld (%s %lld)",
                             (long long)pos, (long long)v, (long long)pos - 1, (long long)prev, r->noun,
                             (long long)pos - 1);
        else if (v > r->end)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "indptr[%lld] = %lld is past %s = %lld, the length of %s",
                             (long long)pos, (long long)v, r->end_name, (long long)r->end, r->target);
        else if (v - prev > r->max_len)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "%s %lld has %lld %s, more than %s = %lld", r->noun,
                             (long long)pos - 1, (long long)(v - prev), r->items, r->max_name,
                             (long long)r->max_len);
        else if (pos > 0 && v - prev < r->min_len)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "%s %lld is empty (indptr[%lld] = indptr[%lld] = %lld)",
                             r->noun, (long long)pos - 1, (long long)pos - 1, (long long)pos, (long long)v);
    }
    if (rc == VAE_OK && prev != r->end)
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "indptr[%lld] = %lld, expected %s = %lld, the length of %s",
                         (long long)r->col->len - 1, (long long)prev, r->end_name, (long long)r->end, r->target);
    free(cur.buf);
    return rc;
}

/* A dataset of a group to open: where its state goes, its name in the group, its class. */
typedef struct {
    column *col;
    const char *name;
    H5T_class_t cls;
    int optional;
} column_spec;

/* Opens the n datasets of the group at prefix ("/train") that specs names. */
static int open_columns(vae_corpus *c, const char *prefix, const column_spec *specs, int n)
{
    char what[48];
    int rc = VAE_OK;
    for (int i = 0; i < n && rc == VAE_OK; i++) {
        snprintf(what, sizeof what, "%s/%s", prefix, specs[i].name);
        rc = corpus_open_column(c, what, specs[i].cls, specs[i].optional, specs[i].col);
    }
    return rc;
}

/* /<split>/seq (version 2): its datasets, their shapes, its attributes and its whole indptr. */
static int open_seqs(vae_corpus *c, split *s)
{
    char *unit = NULL;
    int64_t num_seqs = 0, num_tokens = 0;
    int rc = VAE_OK;
    snprintf(s->seq_path, sizeof s->seq_path, "%s/seq", s->path);
    s->has_seqs = 1;
    if (c->version < 2)
        return corpus_fail(c, VAE_ERR_FORMAT, s->seq_path,
                           "present in a version 1 file (sequences need root attribute version = 2)");
    if ((s->seq_group = H5Gopen2(s->group, "seq", H5P_DEFAULT)) < 0)
        return corpus_fail(c, VAE_ERR_FORMAT, s->seq_path, "not a group");
    const column_spec cols[3] = {{&s->seq_indptr, "indptr", H5T_INTEGER, 0},
                                 {&s->seq_tokens, "tokens", H5T_INTEGER, 0},
                                 {&s->seq_doc, "doc", H5T_INTEGER, 0}};
    if ((rc = open_columns(c, s->seq_path, cols, 3)) != VAE_OK)
        return rc;
    if (s->seq_indptr.len < 1)
        return corpus_fail(c, VAE_ERR_FORMAT, s->seq_indptr.path, "is empty; it needs num_seqs + 1 entries");
    s->num_seqs = s->seq_indptr.len - 1;
    s->num_seq_tokens = s->seq_tokens.len;
    if (s->seq_doc.len != s->num_seqs)
        return corpus_fail(c, VAE_ERR_FORMAT, s->seq_doc.path, "holds %lld entries, but %s describes %lld sequences",
                           (long long)s->seq_doc.len, s->seq_indptr.path, (long long)s->num_seqs);
    if ((rc = vae_h5_attr_get_int(s->seq_group, "num_seqs", &num_seqs, c->path)) != VAE_OK ||
        (rc = vae_h5_attr_get_int(s->seq_group, "num_tokens", &num_tokens, c->path)) != VAE_OK ||
        (rc = vae_h5_attr_get_int(s->seq_group, "max_length", &s->max_length, c->path)) != VAE_OK ||
        (rc = vae_h5_attr_get_str(s->seq_group, "unit", &unit, c->path)) != VAE_OK)
        goto cleanup;
    if (num_seqs != s->num_seqs)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->seq_path, "attribute num_seqs is %lld, but %s describes %lld sequences",
                         (long long)num_seqs, s->seq_indptr.path, (long long)s->num_seqs);
    else if (num_tokens != s->num_seq_tokens)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->seq_path, "attribute num_tokens is %lld, but %s holds %lld tokens",
                         (long long)num_tokens, s->seq_tokens.path, (long long)s->num_seq_tokens);
    else if ((s->unit = vae_seq_unit_index(unit)) < 0)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->seq_path,
                         "attribute unit is '%.32s', expected sentence, line or document", unit);
    else if (s->max_length < 1)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->seq_path, "attribute max_length is %lld, expected 1 or more",
                         (long long)s->max_length);
    else
        rc = check_pointers(c, &(pointer_rules){&s->seq_indptr, s->num_seq_tokens, "num_tokens", s->seq_tokens.path,
                                                "sequence", "tokens", 1, s->max_length, "max_length"});
cleanup:
    free(unit);
    return rc;
}

static int open_split(vae_corpus *c, int which)
{
    split *s = &c->splits[which];
    const char *name = vae_split_names[which];
    const char *path = s->path;
    int64_t num_docs = 0;
    int rc = VAE_OK;
    if (H5Lexists(c->file, name, H5P_DEFAULT) <= 0)
        return VAE_OK;
    s->present = 1;
    snprintf(s->path, sizeof s->path, "/%s", name);
    s->group = H5Gopen2(c->file, name, H5P_DEFAULT);
    if (s->group < 0)
        return corpus_fail(c, VAE_ERR_FORMAT, path, "not a group");
    const column_spec cols[4] = {{&s->indptr, "indptr", H5T_INTEGER, 0},
                                 {&s->indices, "indices", H5T_INTEGER, 0},
                                 {&s->counts, "counts", H5T_INTEGER, 0},
                                 {&s->doc_ids, "doc_ids", H5T_STRING, 1}};
    if ((rc = open_columns(c, path, cols, 4)) != VAE_OK)
        return rc;
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
    if ((rc = check_pointers(c, &(pointer_rules){&s->indptr, s->nnz, "nnz", s->indices.path, "row", "entries", 0,
                                                 c->V, "vocab_size"})) != VAE_OK)
        return rc;
    return H5Lexists(s->group, "seq", H5P_DEFAULT) > 0 ? open_seqs(c, s) : VAE_OK;
}

static int check_root(vae_corpus *c)
{
    char *format = NULL;
    int rc = vae_h5_attr_get_str(c->file, "format", &format, c->path);
    if (rc != VAE_OK)
        goto cleanup;
    if (strcmp(format, VAE_CORPUS_FORMAT) != 0) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, "root attribute 'format'", "is '%.64s', expected '%s'", format,
                         VAE_CORPUS_FORMAT);
        goto cleanup;
    }
    if ((rc = vae_h5_attr_get_int(c->file, "version", &c->version, c->path)) != VAE_OK)
        goto cleanup;
    if (c->version < 1 || c->version > VAE_CORPUS_VERSION) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, "root attribute 'version'",
                         "is %lld; this reader reads versions 1 to %d", (long long)c->version, VAE_CORPUS_VERSION);
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

/* A split's datasets, for opening and closing them all. */
#define NUM_SPLIT_COLUMNS 7
static void split_columns(split *s, column *cols[NUM_SPLIT_COLUMNS])
{
    column *all[NUM_SPLIT_COLUMNS] = {&s->indptr,     &s->indices,    &s->counts, &s->doc_ids,
                                      &s->seq_indptr, &s->seq_tokens, &s->seq_doc};
    memcpy(cols, all, sizeof all);
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
        s->group = s->seq_group = H5I_INVALID_HID;
        column *cols[NUM_SPLIT_COLUMNS];
        split_columns(s, cols);
        for (int k = 0; k < NUM_SPLIT_COLUMNS; k++)
            corpus_column_init(cols[k]);
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
        column *cols[NUM_SPLIT_COLUMNS];
        split_columns(s, cols);
        for (int k = 0; k < NUM_SPLIT_COLUMNS; k++)
            corpus_column_close(cols[k]);
        vae_h5_close(&s->seq_group);
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
    info->has_seqs = s->has_seqs;
    info->num_seqs = s->num_seqs;
    info->num_seq_tokens = s->num_seq_tokens;
    info->unit = s->has_seqs ? vae_seq_units[s->unit] : "";
    info->max_length = s->max_length;
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
