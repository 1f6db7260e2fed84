/* The corpus module's sequences (format version 2): the good sequences of the bad-corpus table
 * read back exactly; a version 1 file opens and says it has none; what the writer writes the
 * reader reads back (splits interleaved, a split with no sequence, the version attribute); the
 * writer refuses what the reader would reject; read_seqs returns exactly the sequences asked for,
 * in the order asked, duplicates included, across buffer, chunk and coalescing boundaries of a
 * large file; a bad token deep in it is reported at its sequence and position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <hdf5.h>

#include "vae/corpus.h"

#include "bad_corpora.h"

static char tmpdir[64];

static void path_in(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", tmpdir, name); }

static void assert_message_has(const char *a, const char *b)
{
    const char *msg = vae_error_message();
    if (!strstr(msg, a) || (b && !strstr(msg, b))) {
        print_error("message \"%s\" lacks \"%s\" or \"%s\"\n", msg, a, b ? b : "");
        fail();
    }
}

/* Sequences in memory, the reference that reads are compared with. */
typedef struct {
    int64_t S;
    const int64_t *indptr, *doc;
    const int32_t *tokens;
} ref_seqs;

/* out holds sequences want[0..n) of ref, in that order. */
static void assert_seqs(const vae_seqs *out, const ref_seqs *ref, const int64_t *want, int64_t n)
{
    assert_int_equal(out->num_seqs, n);
    assert_int_equal(out->indptr[0], 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t s = want[i], len = ref->indptr[s + 1] - ref->indptr[s];
        assert_int_equal(out->seq_index[i], s);
        assert_int_equal(out->doc[i], ref->doc[s]);
        assert_int_equal(out->indptr[i + 1] - out->indptr[i], len);
        assert_memory_equal(out->tokens + out->indptr[i], ref->tokens + ref->indptr[s], (size_t)len * sizeof(int32_t));
    }
    assert_int_equal(out->num_tokens, out->indptr[n]);
}

static void test_good_seqs(void **state)
{
    char path[4096], v1[4096];
    raw_corpus r;
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_seqs sq;
    int64_t version = 0, all[5] = {4, 3, 2, 1, 0}, some[4] = {3, 0, 3, 4};
    ref_seqs ref = {5, good_seq_indptr, good_seq_doc, good_seq_tokens};
    raw_good(&r);
    raw_add_seqs(&r);
    path_in(path, sizeof path, "good_seqs.h5");
    assert_int_equal(raw_write(&r, path), 0);
    vae_seqs_init(&sq);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_get_attr_int(c, "version", &version), VAE_OK);
    assert_int_equal(version, 2);
    assert_int_equal(vae_corpus_split_info(c, "train", &info), VAE_OK);
    assert_true(info.has_seqs);
    assert_int_equal(info.num_seqs, 5);
    assert_int_equal(info.num_seq_tokens, 14);
    assert_int_equal(info.max_length, 4);
    assert_string_equal(info.unit, "sentence");
    assert_int_equal(info.num_docs, 4);
    assert_int_equal(vae_corpus_read_seqs(c, "train", all, 5, &sq), VAE_OK);
    assert_seqs(&sq, &ref, all, 5);
    assert_int_equal(vae_corpus_read_seqs(c, "train", some, 4, &sq), VAE_OK);
    assert_seqs(&sq, &ref, some, 4);
    assert_int_equal(vae_corpus_read_seqs(c, "train", all, 0, &sq), VAE_OK);
    assert_int_equal(sq.num_seqs, 0);
    int64_t outside = 5;
    assert_int_equal(vae_corpus_read_seqs(c, "train", &outside, 1, &sq), VAE_ERR_ARG);
    assert_message_has("sequence 5", "[0, 5)");
    assert_int_equal(vae_corpus_read_seqs(c, "valid", all + 4, 1, &sq), VAE_OK);
    assert_int_equal(sq.num_tokens, 2);
    assert_int_equal(sq.tokens[0], 3);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "valid"), VAE_OK);
    vae_corpus_free(c);

    /* Version 1: opens, has no sequences, and asking for them names the file. */
    path_in(v1, sizeof v1, "good.h5");
    assert_int_equal(good_corpus_write(v1), 0);
    assert_int_equal(vae_corpus_open(&c, v1), VAE_OK);
    assert_int_equal(vae_corpus_split_info(c, "train", &info), VAE_OK);
    assert_false(info.has_seqs);
    assert_int_equal(info.num_seqs, 0);
    assert_string_equal(info.unit, "");
    assert_int_equal(vae_corpus_read_seqs(c, "train", all + 4, 1, &sq), VAE_ERR_FORMAT);
    assert_message_has(v1, "no sequences");
    assert_message_has("prepare it with vae-prep --sequences", NULL);
    assert_int_equal(sq.num_seqs, 0);
    vae_corpus_free(c);
    vae_seqs_free(&sq);
}

/* ---- through the writer and back ---- */

static const char *const words[4] = {"the", "cat", "sat", "mat"};
static const int64_t freq[4] = {1, 1, 1, 1};

static void add_doc(vae_corpus_writer *w, const char *split, const int32_t *ids, const int32_t *cnt, int64_t n)
{
    assert_int_equal(vae_corpus_writer_add_doc(w, split, ids, cnt, n, NULL), VAE_OK);
}

static void test_writer_roundtrip(void **state)
{
    char path[4096], plain[4096];
    vae_corpus_writer *w = NULL;
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_seqs sq;
    int64_t version = 0, all[3] = {0, 1, 2};
    const int32_t ids[4] = {0, 1, 2, 3}, ones[4] = {1, 1, 1, 1};
    /* train: doc 0 "the cat sat <unk>" cut in two, doc 1 none, doc 2 "mat"; test: doc 0 "sat the" */
    static const int64_t tr_indptr[4] = {0, 3, 4, 5}, tr_doc[3] = {0, 0, 2};
    static const int32_t tr_tokens[5] = {0, 1, 2, 4, 3};
    ref_seqs tr = {3, tr_indptr, tr_doc, tr_tokens};
    path_in(path, sizeof path, "written.h5");
    vae_seqs_init(&sq);
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "line", 3), VAE_OK);
    add_doc(w, "train", ids, ones, 3);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, tr_tokens, 3), VAE_OK);
    add_doc(w, "test", ids, ones, 1);
    add_doc(w, "test", ids + 2, ones, 1);
    static const int32_t test_tokens[2] = {2, 0};
    assert_int_equal(vae_corpus_writer_add_seq(w, "test", 1, test_tokens, 2), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, tr_tokens + 3, 1), VAE_OK);
    add_doc(w, "train", ids + 1, ones, 1);
    add_doc(w, "train", ids + 3, ones, 1);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 2, tr_tokens + 4, 1), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_split(w, "valid"), VAE_OK);
    /* Sequences may come before the vocabulary, which then checks their ids (4 = V: unknown). */
    assert_int_equal(vae_corpus_writer_set_vocab(w, words, freq, freq, 4), VAE_OK);
    assert_int_equal(vae_corpus_writer_commit(w), VAE_OK);
    vae_corpus_writer_free(w);

    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_get_attr_int(c, "version", &version), VAE_OK);
    assert_int_equal(version, 2);
    assert_int_equal(vae_corpus_split_info(c, "train", &info), VAE_OK);
    assert_true(info.has_seqs);
    assert_int_equal(info.num_seqs, 3);
    assert_int_equal(info.num_seq_tokens, 5);
    assert_int_equal(info.max_length, 3);
    assert_string_equal(info.unit, "line");
    assert_int_equal(vae_corpus_read_seqs(c, "train", all, 3, &sq), VAE_OK);
    assert_seqs(&sq, &tr, all, 3);
    assert_int_equal(vae_corpus_split_info(c, "valid", &info), VAE_OK);
    assert_true(info.present && info.has_seqs);
    assert_int_equal(info.num_seqs, 0);
    assert_int_equal(vae_corpus_split_info(c, "test", &info), VAE_OK);
    assert_int_equal(info.num_seqs, 1);
    assert_int_equal(vae_corpus_read_seqs(c, "test", all, 1, &sq), VAE_OK);
    assert_int_equal(sq.doc[0], 1);
    assert_memory_equal(sq.tokens, test_tokens, sizeof test_tokens);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vae_corpus_validate_split(c, i == 0 ? "train" : i == 1 ? "valid" : "test"), VAE_OK);
    vae_corpus_free(c);

    /* As h5py sees it: int64 pointers and documents shuffled and deflated, int32 tokens chunked
     * and unfiltered (see corpus_write.c), all extendible. */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    static const char *const names[3] = {"/train/seq/indptr", "/train/seq/doc", "/train/seq/tokens"};
    for (int i = 0; i < 3; i++) {
        hid_t d = H5Dopen2(file, names[i], H5P_DEFAULT), dcpl = H5Dget_create_plist(d), type = H5Dget_type(d);
        assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
        assert_int_equal(H5Pget_nfilters(dcpl), i < 2 ? 2 : 0);
        assert_true(H5Tequal(type, i < 2 ? H5T_STD_I64LE : H5T_STD_I32LE) > 0);
        H5Tclose(type);
        H5Pclose(dcpl);
        H5Dclose(d);
    }
    assert_int_equal(H5Fclose(file), 0);

    /* Without sequences the writer still writes version 1. */
    path_in(plain, sizeof plain, "plain.h5");
    assert_int_equal(vae_corpus_writer_new(&w, plain), VAE_OK);
    add_doc(w, "train", ids, ones, 2);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, tr_tokens, 1), VAE_ERR_ARG);
    assert_message_has("add_seq before set_sequences", NULL);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "sentence", 8), VAE_ERR_ARG);
    assert_message_has("after split train was begun", NULL);
    assert_int_equal(vae_corpus_writer_set_vocab(w, words, freq, freq, 4), VAE_OK);
    assert_int_equal(vae_corpus_writer_commit(w), VAE_OK);
    vae_corpus_writer_free(w);
    assert_int_equal(vae_corpus_open(&c, plain), VAE_OK);
    assert_int_equal(vae_corpus_get_attr_int(c, "version", &version), VAE_OK);
    assert_int_equal(version, 1);
    vae_corpus_free(c);
    vae_seqs_free(&sq);
}

static void test_writer_rejects(void **state)
{
    char path[4096];
    vae_corpus_writer *w = NULL;
    const int32_t ids[2] = {0, 1}, ones[2] = {1, 1}, good[2] = {4, 0}, negative[2] = {1, -1}, big[1] = {5};
    path_in(path, sizeof path, "rejected.h5");
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "word", 8), VAE_ERR_ARG);
    assert_message_has(path, "unit 'word'");
    assert_int_equal(vae_corpus_writer_set_sequences(w, "sentence", 0), VAE_ERR_ARG);
    assert_message_has("max_length 0", NULL);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "sentence", 2), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "sentence", 2), VAE_ERR_ARG);
    assert_message_has("called twice", NULL);
    /* A sequence needs its document first. */
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, good, 2), VAE_ERR_ARG);
    assert_message_has("split train, sequence 0", "document 0 not in [0, 0)");
    add_doc(w, "train", ids, ones, 2);
    add_doc(w, "train", ids, ones, 1);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, good, 0), VAE_ERR_ARG);
    assert_message_has("sequence 0: 0 tokens", "1..2");
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, good, 3), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, negative, 2), VAE_ERR_ARG);
    assert_message_has("sequence 0, token 1", "token id -1");
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 1, good, 2), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 0, good, 2), VAE_ERR_ARG);
    assert_message_has("sequence 1", "document 0 after document 1");
    assert_int_equal(vae_corpus_writer_add_seq(w, "dev", 0, good, 2), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_writer_add_seq(w, "train", 1, big, 1), VAE_OK);
    /* token id 5 is more than V = 4 allows (0..4) */
    assert_int_equal(vae_corpus_writer_set_vocab(w, words, freq, freq, 4), VAE_ERR_ARG);
    assert_message_has("token id 5", "token ids 0..4");
    vae_corpus_writer_free(w);
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "document", 4), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_vocab(w, words, freq, freq, 4), VAE_OK);
    add_doc(w, "valid", ids, ones, 1);
    assert_int_equal(vae_corpus_writer_add_seq(w, "valid", 0, big, 1), VAE_ERR_ARG);
    assert_message_has("split valid, sequence 0, token 0", "token id 5 not in [0, 4]");
    vae_corpus_writer_free(w);
    assert_int_equal(access(path, F_OK), -1);
}

/* ---- a large file: many chunks and buffer flushes ---- */

#define BIG_DOCS 12000
#define BIG_SEQS 60000
#define BIG_V 500
#define BIG_MAX 40

static int64_t big_indptr[BIG_SEQS + 1], big_doc[BIG_SEQS];
static int32_t *big_tokens;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Sequences of 1..BIG_MAX tokens over documents that hold 0 to 12 of them; one document per
 * row of the CSR matrix (each holds word 0 once). */
static void write_big(const char *path, int64_t bad_at)
{
    uint64_t seed = 5;
    vae_corpus_writer *w = NULL;
    char **names = malloc(BIG_V * sizeof *names);
    int64_t *f = calloc(BIG_V, sizeof *f), doc = 0;
    const int32_t zero = 0, one = 1;
    for (int64_t i = 0; i < BIG_V; i++) {
        names[i] = malloc(16);
        snprintf(names[i], 16, "w%04lld", (long long)i);
    }
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_sequences(w, "sentence", BIG_MAX), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_vocab(w, (const char *const *)names, f, f, BIG_V), VAE_OK);
    add_doc(w, "train", &zero, &one, 1);
    for (int64_t s = 0; s < BIG_SEQS; s++) {
        while (doc + 1 < BIG_DOCS && lcg(&seed) % 5 == 0) {
            add_doc(w, "train", &zero, &one, 1);
            doc++;
        }
        big_doc[s] = doc;
        assert_int_equal(vae_corpus_writer_add_seq(w, "train", doc, big_tokens + big_indptr[s],
                                                   big_indptr[s + 1] - big_indptr[s]),
                         VAE_OK);
    }
    while (++doc < BIG_DOCS)
        add_doc(w, "train", &zero, &one, 1);
    assert_int_equal(vae_corpus_writer_commit(w), VAE_OK);
    vae_corpus_writer_free(w);
    for (int64_t i = 0; i < BIG_V; i++)
        free(names[i]);
    free(names);
    free(f);
    if (bad_at >= 0) { /* one token made V + 1, behind the writer's back */
        hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(file, "/train/seq/tokens", H5P_DEFAULT);
        hid_t space = H5Dget_space(d), mem;
        hsize_t at = (hsize_t)bad_at, n1 = 1;
        int32_t v = BIG_V + 1;
        mem = H5Screate_simple(1, &n1, NULL);
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, NULL, &n1, NULL);
        assert_true(H5Dwrite(d, H5T_NATIVE_INT32, mem, space, H5P_DEFAULT, &v) >= 0);
        H5Sclose(mem);
        H5Sclose(space);
        H5Dclose(d);
        H5Fclose(file);
    }
}

static void test_big(void **state)
{
    char path[4096], where[80];
    uint64_t seed = 11;
    vae_corpus *c = NULL;
    vae_seqs sq;
    vae_split_info info;
    int64_t *want = malloc(BIG_SEQS * sizeof *want);
    big_tokens = malloc((size_t)BIG_SEQS * BIG_MAX * sizeof *big_tokens);
    for (int64_t s = 0; s < BIG_SEQS; s++) {
        int64_t len = 1 + (int64_t)(lcg(&seed) % BIG_MAX);
        big_indptr[s + 1] = big_indptr[s] + len;
        for (int64_t t = big_indptr[s]; t < big_indptr[s + 1]; t++)
            big_tokens[t] = (int32_t)(lcg(&seed) % (BIG_V + 1));
    }
    ref_seqs ref = {BIG_SEQS, big_indptr, big_doc, big_tokens};
    path_in(path, sizeof path, "big.h5");
    write_big(path, -1);
    vae_seqs_init(&sq);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_split_info(c, "train", &info), VAE_OK);
    assert_int_equal(info.num_seqs, BIG_SEQS);
    assert_int_equal(info.num_seq_tokens, big_indptr[BIG_SEQS]);
    assert_int_equal(info.num_docs, BIG_DOCS);
    /* Shards of a shuffled epoch, duplicates included; then neighbours; then all, backwards. */
    for (int round = 0; round < 5; round++) {
        int64_t n = 1 + (int64_t)(lcg(&seed) % 4000);
        for (int64_t i = 0; i < n; i++)
            want[i] = (int64_t)(lcg(&seed) % BIG_SEQS);
        want[n - 1] = want[0];
        assert_int_equal(vae_corpus_read_seqs(c, "train", want, n, &sq), VAE_OK);
        assert_seqs(&sq, &ref, want, n);
    }
    for (int64_t i = 0; i < 300; i++)
        want[i] = 20000 + i;
    assert_int_equal(vae_corpus_read_seqs(c, "train", want, 300, &sq), VAE_OK);
    assert_seqs(&sq, &ref, want, 300);
    for (int64_t i = 0; i < BIG_SEQS; i++)
        want[i] = BIG_SEQS - 1 - i;
    assert_int_equal(vae_corpus_read_seqs(c, "train", want, BIG_SEQS, &sq), VAE_OK);
    assert_seqs(&sq, &ref, want, BIG_SEQS);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    vae_corpus_free(c);

    /* A bad token far in: validate and a read of its sequence name it; its neighbours still read. */
    int64_t bad_seq = 47001, bad_tok = (big_indptr[bad_seq + 1] - big_indptr[bad_seq]) / 2;
    path_in(path, sizeof path, "big_bad.h5");
    write_big(path, big_indptr[bad_seq] + bad_tok);
    snprintf(where, sizeof where, "sequence %lld, token %lld: token id %d", (long long)bad_seq, (long long)bad_tok,
             BIG_V + 1);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_ERR_FORMAT);
    assert_message_has("/train/seq/tokens", where);
    int64_t around[3] = {bad_seq - 1, bad_seq + 1, bad_seq};
    assert_int_equal(vae_corpus_read_seqs(c, "train", around, 2, &sq), VAE_OK);
    assert_seqs(&sq, &ref, around, 2);
    assert_int_equal(vae_corpus_read_seqs(c, "train", around, 3, &sq), VAE_ERR_FORMAT);
    assert_message_has(path, where);
    assert_int_equal(sq.num_seqs, 0);
    vae_corpus_free(c);
    vae_seqs_free(&sq);
    free(want);
    free(big_tokens);
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/test_corpus_seqs.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes the files the tests write (rmdir then fails if any other was left behind). */
static int teardown(void **state)
{
    static const char *const written[] = {"good_seqs.h5", "good.h5", "written.h5", "plain.h5", "big.h5",
                                          "big_bad.h5"};
    char path[4096];
    for (size_t i = 0; i < sizeof written / sizeof *written; i++) {
        path_in(path, sizeof path, written[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_seqs),
        cmocka_unit_test(test_writer_roundtrip),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_big),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
