/* Writes the good test corpus and its broken variants with the raw HDF5 API (see bad_corpora.h). */
#include "bad_corpora.h"

#include <hdf5.h>
#include <stdio.h>
#include <string.h>

const int64_t good_train_indptr[5] = {0, 3, 4, 4, 8};
const int32_t good_train_indices[8] = {0, 2, 5, 1, 0, 1, 3, 4};
const int32_t good_train_counts[8] = {1, 2, 1, 3, 1, 1, 1, 2};
const int64_t good_seq_indptr[6] = {0, 3, 5, 8, 12, 14}, good_seq_doc[5] = {0, 0, 1, 3, 3};
const int32_t good_seq_tokens[14] = {2, 0, 6, 5, 2, 1, 1, 1, 4, 6, 0, 1, 3, 4};

void raw_good(raw_corpus *r)
{
    static const char *const words[6] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
    memset(r, 0, sizeof *r);
    r->format = "vae-corpus";
    r->version = 1;
    r->vocab_size = r->num_words = 6;
    memcpy(r->words, words, sizeof words);
    r->has_doc_freq = 1;
    raw_split *t = &r->split[0];
    t->present = 1;
    t->n_indptr = 5;
    t->n_indices = t->n_counts = 8;
    for (int i = 0; i < 5; i++)
        t->indptr[i] = good_train_indptr[i];
    for (int i = 0; i < 8; i++) {
        t->indices[i] = good_train_indices[i];
        t->counts[i] = good_train_counts[i];
    }
    t->num_docs = 4;
    t->num_tokens = 12;
    t->n_doc_ids = 4;
    raw_split *v = &r->split[1];
    v->present = 1;
    v->n_indptr = 2;
    v->n_indices = v->n_counts = 2;
    v->indptr[1] = 2;
    v->indices[0] = 2;
    v->indices[1] = 3;
    v->counts[0] = v->counts[1] = 1;
    v->num_docs = 1;
    v->num_tokens = 2;
}

void raw_add_seqs(raw_corpus *r)
{
    raw_split *t = &r->split[0], *v = &r->split[1];
    r->version = 2;
    t->has_seq = v->has_seq = 1;
    t->n_seq_indptr = 6;
    t->n_seq_tokens = 14;
    t->n_seq_doc = 5;
    for (int i = 0; i < 6; i++)
        t->seq_indptr[i] = good_seq_indptr[i];
    for (int i = 0; i < 14; i++)
        t->seq_tokens[i] = good_seq_tokens[i];
    for (int i = 0; i < 5; i++)
        t->seq_doc[i] = good_seq_doc[i];
    t->num_seqs = 5;
    t->seq_num_tokens = 14;
    t->max_length = v->max_length = 4;
    t->unit = v->unit = "sentence";
    /* valid: one sequence "delta gamma" of its one document */
    v->n_seq_indptr = 2;
    v->n_seq_tokens = 2;
    v->n_seq_doc = 1;
    v->seq_indptr[1] = 2;
    v->seq_tokens[0] = 3;
    v->seq_tokens[1] = 2;
    v->num_seqs = 1;
    v->seq_num_tokens = 2;
}

static hid_t file_type(enum raw_type t, hid_t def)
{
    switch (t) {
    case RAW_I32: return H5T_STD_I32LE;
    case RAW_I64: return H5T_STD_I64LE;
    case RAW_U16: return H5T_STD_U16LE;
    case RAW_F32: return H5T_IEEE_F32LE;
    default: return def;
    }
}

/* Writes data[0..n) (int64 in memory) as the 1-D dataset name of type ftype (2-D, [n / 2, 2], with
 * two_d); with declared > 0, a chunked dataset that long with nothing written. */
static int raw_put_shaped(hid_t loc, const char *name, hid_t ftype, const int64_t *data, int n, int64_t declared,
                          int two_d)
{
    hsize_t dim[2] = {declared > 0 ? (hsize_t)declared : (hsize_t)n, 2}, chunk = 1024;
    if (two_d)
        dim[0] /= 2;
    hid_t space = H5Screate_simple(two_d ? 2 : 1, dim, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), dset = -1;
    int rc = -1;
    if (declared > 0)
        H5Pset_chunk(dcpl, 1, &chunk);
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset >= 0 && (declared > 0 || n == 0 ||
                      H5Dwrite(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0))
        rc = 0;
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc;
}

static int raw_put(hid_t loc, const char *name, hid_t ftype, const int64_t *data, int n, int64_t declared)
{
    return raw_put_shaped(loc, name, ftype, data, n, declared, 0);
}

static int raw_put_strings(hid_t loc, const char *name, const char *const *s, int n)
{
    hsize_t dim = (hsize_t)n;
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate_simple(1, &dim, NULL), dset = -1;
    int rc = -1;
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset >= 0 && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0)
        rc = 0;
    H5Dclose(dset);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

static int raw_attr_int(hid_t obj, const char *name, int64_t v)
{
    hid_t space = H5Screate(H5S_SCALAR),
          attr = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT64, &v) >= 0 ? 0 : -1;
    H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

static int raw_attr_str(hid_t obj, const char *name, const char *value)
{
    hid_t space = H5Screate(H5S_SCALAR), type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = attr >= 0 && H5Awrite(attr, type, &value) >= 0 ? 0 : -1;
    H5Aclose(attr);
    H5Tclose(type);
    H5Sclose(space);
    return rc;
}

static int raw_write_seqs(hid_t split, const raw_split *s)
{
    hid_t g = H5Gcreate2(split, "seq", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = g < 0 ? -1 : 0;
    rc |= raw_put(g, "indptr", H5T_STD_I64LE, s->seq_indptr, s->n_seq_indptr, 0);
    rc |= raw_put_shaped(g, "tokens", file_type(s->seq_tokens_type, H5T_STD_I32LE), s->seq_tokens, s->n_seq_tokens,
                         0, s->seq_tokens_2d);
    if (s->n_seq_doc >= 0)
        rc |= raw_put(g, "doc", H5T_STD_I64LE, s->seq_doc, s->n_seq_doc, 0);
    rc |= raw_attr_int(g, "num_seqs", s->num_seqs);
    rc |= raw_attr_int(g, "num_tokens", s->seq_num_tokens);
    rc |= raw_attr_int(g, "max_length", s->max_length);
    rc |= raw_attr_str(g, "unit", s->unit);
    H5Gclose(g);
    return rc;
}

static int raw_write_split(hid_t file, const char *name, const raw_split *s)
{
    static const char *const doc_ids[8] = {"a.txt:1", "a.txt:2", "a.txt:3", "b.txt:1",
                                           "b.txt:2", "c",       "d",       "e"};
    hid_t g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = g < 0 ? -1 : 0;
    rc |= raw_put(g, "indptr", file_type(s->indptr_type, H5T_STD_I64LE), s->indptr, s->n_indptr, 0);
    rc |= raw_put(g, "indices", file_type(s->indices_type, H5T_STD_I32LE), s->indices, s->n_indices,
                  s->huge_nnz);
    rc |= raw_put(g, "counts", file_type(s->counts_type, H5T_STD_I32LE), s->counts, s->n_counts, s->huge_nnz);
    if (s->n_doc_ids > 0)
        rc |= raw_put_strings(g, "doc_ids", doc_ids, s->n_doc_ids);
    rc |= raw_attr_int(g, "num_docs", s->num_docs);
    rc |= raw_attr_int(g, "num_tokens", s->num_tokens);
    if (s->has_seq)
        rc |= raw_write_seqs(g, s);
    H5Gclose(g);
    return rc;
}

int raw_write(const raw_corpus *r, const char *path)
{
    static const int64_t freq[8] = {3, 2, 1, 1, 1, 1, 0, 0};
    if (r->not_hdf5) {
        FILE *f = fopen(path, "w");
        int rc = f && fputs("this is not HDF5\n", f) >= 0 ? 0 : -1;
        if (f)
            fclose(f);
        return rc;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        return -1;
    int rc = raw_attr_str(file, "format", r->format);
    rc |= raw_attr_int(file, "version", r->version);
    rc |= raw_attr_int(file, "vocab_size", r->vocab_size);
    hid_t vocab = H5Gcreate2(file, "vocab", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc |= raw_put_strings(vocab, "words", r->words, r->num_words);
    if (r->has_doc_freq)
        rc |= raw_put(vocab, "doc_freq", H5T_STD_I64LE, freq, r->num_words, 0);
    rc |= raw_put(vocab, "term_freq", H5T_STD_I64LE, freq, r->num_words, 0);
    H5Gclose(vocab);
    for (int i = 0; i < 2; i++)
        if (r->split[i].present)
            rc |= raw_write_split(file, i == 0 ? "train" : "valid", &r->split[i]);
    if (H5Fclose(file) < 0)
        rc = -1;
    return rc;
}

int good_corpus_write(const char *path)
{
    raw_corpus r;
    raw_good(&r);
    return raw_write(&r, path);
}

/* ---- the alterations, one rule each ---- */

static void alter_not_hdf5(raw_corpus *r) { r->not_hdf5 = 1; }
static void alter_format(raw_corpus *r) { r->format = "not-a-corpus"; }
static void alter_version(raw_corpus *r) { r->version = 3; }
static void alter_vocab_size(raw_corpus *r) { r->vocab_size = 7; }
static void alter_duplicate_word(raw_corpus *r) { r->words[4] = "beta"; }
static void alter_empty_word(raw_corpus *r) { r->words[2] = ""; }
static void alter_bad_utf8(raw_corpus *r) { r->words[5] = "z\xC3("; }
static void alter_word_space(raw_corpus *r) { r->words[3] = "new york"; }
static void alter_word_tab(raw_corpus *r) { r->words[1] = "a\tb"; }
static void alter_word_nbsp(raw_corpus *r) { r->words[2] = "a\xC2\xA0" "b"; }
static void alter_word_control(raw_corpus *r) { r->words[4] = "x\x1B[31m"; }
static void alter_no_doc_freq(raw_corpus *r) { r->has_doc_freq = 0; }
static void alter_no_train(raw_corpus *r) { r->split[0].present = 0; }
static void alter_indptr_start(raw_corpus *r) { r->split[0].indptr[0] = 1; }
static void alter_indptr_decreasing(raw_corpus *r) { r->split[0].indptr[2] = 2; }
static void alter_indptr_past_nnz(raw_corpus *r) { r->split[0].indptr[3] = 9; }
static void alter_indptr_end(raw_corpus *r) { r->split[0].indptr[4] = 7; }
static void alter_counts_length(raw_corpus *r) { r->split[0].n_counts = 7; }
static void alter_doc_ids_length(raw_corpus *r) { r->split[0].n_doc_ids = 3; }
static void alter_num_docs(raw_corpus *r) { r->split[0].num_docs = 5; }
static void alter_num_tokens(raw_corpus *r) { r->split[0].num_tokens = 13; }
static void alter_indices_float(raw_corpus *r) { r->split[0].indices_type = RAW_F32; }
static void alter_id_range(raw_corpus *r) { r->split[0].indices[7] = 6; }
static void alter_id_order(raw_corpus *r)
{
    r->split[0].indices[5] = 3;
    r->split[0].indices[6] = 1;
}
static void alter_count_zero(raw_corpus *r) { r->split[0].counts[6] = 0; }
static void alter_valid_id_range(raw_corpus *r) { r->split[1].indices[1] = 1000; }

static void alter_id_beyond_int32(raw_corpus *r)
{
    r->split[0].indices_type = RAW_I64;
    r->split[0].indices[7] = (int64_t)1 << 33;
}

/* A hostile indptr: one row of 2^40 entries in datasets declared that long (and empty on disk). */
static void alter_huge_row(raw_corpus *r)
{
    raw_split *t = &r->split[0];
    t->n_indptr = 2;
    t->indptr[1] = t->huge_nnz = (int64_t)1 << 40;
    t->num_docs = 1;
    t->n_doc_ids = 0;
}

/* Sequences (version 2): the good ones of raw_add_seqs with one rule broken. */
static void alter_seq_version_1(raw_corpus *r)
{
    raw_add_seqs(r);
    r->version = 1;
}
static void alter_seq_tokens_float(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_tokens_type = RAW_F32;
}
static void alter_seq_tokens_2d(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_tokens_2d = 1;
}
static void alter_seq_no_doc(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].n_seq_doc = -1;
}
static void alter_seq_doc_length(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].n_seq_doc = 4;
}
static void alter_seq_num_seqs(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].num_seqs = 6;
}
static void alter_seq_num_tokens(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_num_tokens = 15;
}
static void alter_seq_unit(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].unit = "word";
}
static void alter_seq_indptr_decreasing(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_indptr[2] = 2;
}
static void alter_seq_empty(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_indptr[2] = 3;
}
static void alter_seq_too_long(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].max_length = 3;
}
static void alter_seq_indptr_past_end(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].n_seq_tokens = r->split[0].seq_num_tokens = 13;
}
static void alter_seq_id_range(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_tokens[9] = 7;
}
static void alter_seq_id_negative(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_tokens[0] = -1;
}
static void alter_seq_doc_range(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_doc[4] = 4;
}
static void alter_seq_doc_decreasing(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[0].seq_doc[3] = 0;
}
static void alter_valid_seq_id_range(raw_corpus *r)
{
    raw_add_seqs(r);
    r->split[1].seq_tokens[1] = 1000;
}

const bad_corpus bad_corpora[] = {
    {"not_hdf5", BAD_AT_OPEN, "train", "", "not an HDF5 file", 0, alter_not_hdf5},
    {"format_attr", BAD_AT_OPEN, "train", "root attribute 'format'", "'not-a-corpus'", 0, alter_format},
    {"version_attr", BAD_AT_OPEN, "train", "root attribute 'version'", "is 3", 0, alter_version},
    {"vocab_size_mismatch", BAD_AT_OPEN, "train", "/vocab/words", "vocab_size is 7", 0, alter_vocab_size},
    {"duplicate_word", BAD_AT_OPEN, "train", "/vocab/words", "word 4 ('beta') repeats word 1", 0,
     alter_duplicate_word},
    {"empty_word", BAD_AT_OPEN, "train", "/vocab/words", "word 2 is empty", 0, alter_empty_word},
    {"word_not_utf8", BAD_AT_OPEN, "train", "/vocab/words", "word 5 is not valid UTF-8", 0, alter_bad_utf8},
    {"word_space", BAD_AT_OPEN, "train", "/vocab/words", "word 3 holds white space", 0, alter_word_space},
    {"word_tab", BAD_AT_OPEN, "train", "/vocab/words", "word 1 holds white space", 0, alter_word_tab},
    {"word_nbsp", BAD_AT_OPEN, "train", "/vocab/words", "word 2 holds white space", 0, alter_word_nbsp},
    {"word_control", BAD_AT_OPEN, "train", "/vocab/words", "word 4 holds a control character", 0,
     alter_word_control},
    {"missing_doc_freq", BAD_AT_OPEN, "train", "/vocab/doc_freq", "missing", 0, alter_no_doc_freq},
    {"missing_train", BAD_AT_OPEN, "train", "/train", "missing", 0, alter_no_train},
    {"indptr_start", BAD_AT_OPEN, "train", "/train/indptr", "indptr[0] is 1", 0, alter_indptr_start},
    {"indptr_decreasing", BAD_AT_OPEN, "train", "/train/indptr", "indptr[2] = 2 is less than indptr[1] = 3",
     0, alter_indptr_decreasing},
    {"indptr_past_nnz", BAD_AT_OPEN, "train", "/train/indptr", "indptr[3] = 9 is past nnz = 8", 0,
     alter_indptr_past_nnz},
    {"indptr_end", BAD_AT_OPEN, "train", "/train/indptr", "indptr[4] = 7, expected nnz = 8", 0,
     alter_indptr_end},
    {"counts_length", BAD_AT_OPEN, "train", "/train/counts", "holds 7 entries", 0, alter_counts_length},
    {"doc_ids_length", BAD_AT_OPEN, "train", "/train/doc_ids", "holds 3 names", 0, alter_doc_ids_length},
    {"num_docs_attr", BAD_AT_OPEN, "train", "/train", "attribute num_docs is 5", 0, alter_num_docs},
    {"indices_float", BAD_AT_OPEN, "train", "/train/indices", "holds floats, expected integers", 0,
     alter_indices_float},
    {"huge_row", BAD_AT_OPEN, "train", "/train/indptr", "row 0 has 1099511627776 entries", 0, alter_huge_row},
    {"id_out_of_range", BAD_AT_READ, "train", "/train/indices", "row 3, entry 3: word id 6 not in [0, 6)", 3,
     alter_id_range},
    {"ids_not_increasing", BAD_AT_READ, "train", "/train/indices", "row 3, entry 2: word id 1 after 3", 3,
     alter_id_order},
    {"count_zero", BAD_AT_READ, "train", "/train/counts", "row 3, entry 2: count 0", 3, alter_count_zero},
    {"id_beyond_int32", BAD_AT_READ, "train", "/train/indices", "row 3, entry 3: word id -2147483648", 3,
     alter_id_beyond_int32},
    {"valid_id_out_of_range", BAD_AT_READ, "valid", "/valid/indices", "row 0, entry 1: word id 1000", 0,
     alter_valid_id_range},
    {"num_tokens_attr", BAD_AT_VALIDATE, "train", "/train",
     "attribute num_tokens is 13, but /train/counts sums to 12", 0, alter_num_tokens},
    {"seq_in_version_1", BAD_AT_OPEN, "train", "/train/seq", "present in a version 1 file", 0, alter_seq_version_1},
    {"seq_tokens_float", BAD_AT_OPEN, "train", "/train/seq/tokens", "holds floats, expected integers", 0,
     alter_seq_tokens_float},
    {"seq_tokens_2d", BAD_AT_OPEN, "train", "/train/seq/tokens", "has 2 dimensions, expected 1", 0,
     alter_seq_tokens_2d},
    {"seq_doc_missing", BAD_AT_OPEN, "train", "/train/seq/doc", "missing", 0, alter_seq_no_doc},
    {"seq_doc_length", BAD_AT_OPEN, "train", "/train/seq/doc",
     "holds 4 entries, but /train/seq/indptr describes 5 sequences", 0, alter_seq_doc_length},
    {"seq_num_seqs_attr", BAD_AT_OPEN, "train", "/train/seq", "attribute num_seqs is 6", 0, alter_seq_num_seqs},
    {"seq_num_tokens_attr", BAD_AT_OPEN, "train", "/train/seq",
     "attribute num_tokens is 15, but /train/seq/tokens holds 14 tokens", 0, alter_seq_num_tokens},
    {"seq_unit_attr", BAD_AT_OPEN, "train", "/train/seq", "attribute unit is 'word'", 0, alter_seq_unit},
    {"seq_indptr_decreasing", BAD_AT_OPEN, "train", "/train/seq/indptr",
     "indptr[2] = 2 is less than indptr[1] = 3 (sequence 1)", 0, alter_seq_indptr_decreasing},
    {"seq_empty", BAD_AT_OPEN, "train", "/train/seq/indptr", "sequence 1 is empty", 0, alter_seq_empty},
    {"seq_too_long", BAD_AT_OPEN, "train", "/train/seq/indptr", "sequence 3 has 4 tokens, more than max_length = 3",
     0, alter_seq_too_long},
    {"seq_indptr_past_end", BAD_AT_OPEN, "train", "/train/seq/indptr", "indptr[5] = 14 is past num_tokens = 13", 0,
     alter_seq_indptr_past_end},
    {"seq_id_out_of_range", BAD_AT_SEQS, "train", "/train/seq/tokens",
     "sequence 3, token 1: token id 7 not in [0, 6]", 3, alter_seq_id_range},
    {"seq_id_negative", BAD_AT_SEQS, "train", "/train/seq/tokens", "sequence 0, token 0: token id -1", 0,
     alter_seq_id_negative},
    {"seq_doc_out_of_range", BAD_AT_SEQS, "train", "/train/seq/doc", "sequence 4: document 4 not in [0, 4)", 4,
     alter_seq_doc_range},
    {"seq_doc_decreasing", BAD_AT_SEQS, "train", "/train/seq/doc", "sequence 3: document 0 after document 1", 3,
     alter_seq_doc_decreasing},
    {"valid_seq_id_out_of_range", BAD_AT_SEQS, "valid", "/valid/seq/tokens", "sequence 0, token 1: token id 1000",
     0, alter_valid_seq_id_range},
};
const int num_bad_corpora = (int)(sizeof bad_corpora / sizeof bad_corpora[0]);

int bad_corpus_write(const bad_corpus *b, const char *path)
{
    raw_corpus r;
    raw_good(&r);
    b->alter(&r);
    return raw_write(&r, path);
}

int bad_corpora_write_all(const char *dir)
{
    static const char *const stages[] = {"open", "read", "seqs", "validate"};
    char path[4096];
    raw_corpus r;
    raw_good(&r);
    raw_add_seqs(&r);
    snprintf(path, sizeof path, "%s/good.h5", dir);
    if (good_corpus_write(path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/good_seqs.h5", dir);
    if (raw_write(&r, path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/expected.tsv", dir);
    FILE *tsv = fopen(path, "w");
    if (!tsv)
        return -1;
    int rc = 0;
    for (int i = 0; i < num_bad_corpora && rc == 0; i++) {
        const bad_corpus *b = &bad_corpora[i];
        snprintf(path, sizeof path, "%s/%s.h5", dir, b->name);
        rc = bad_corpus_write(b, path);
        fprintf(tsv, "%s\t%s\t%s\t%s\t%s\n", b->name, stages[b->stage], b->split, b->dataset, b->position);
    }
    if (fclose(tsv) != 0)
        rc = -1;
    return rc;
}
