/* The corpus module: what the writer writes the reader reads back, field by field (a split missing,
 * a split empty, doc_ids, attributes, float datasets, the chunked and compressed layout);
 * read_docs returns exactly the rows asked for, in the order asked, duplicates included, across the
 * coalescing boundaries and the writer's buffer and chunk boundaries; every rule of the format is
 * enforced with a message naming the file, the dataset and the position (tests/bad_corpora.c; the
 * sequences' rules too), and a failed read returns no rows. Sequences are test_corpus_seqs.c's.
 * `test_corpus --write-bad-corpora DIR` writes the bad files for script tests. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <hdf5.h>

#include "corpus_internal.h"
#include "vae/corpus.h"

#include "bad_corpora.h"

static char tmpdir[64];

static void path_in(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", tmpdir, name); }

static int remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            path_in(path, sizeof path, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

/* The last failure's message contains each of the non-empty strings given (NULL ends the list). */
static void assert_message_has(const char *first, ...)
{
    const char *msg = vae_error_message();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        if (*s && !strstr(msg, s)) {
            print_error("message \"%s\" lacks \"%s\"\n", msg, s);
            va_end(ap);
            fail();
        }
    va_end(ap);
}

/* A split in memory, the reference that reads are compared with. */
typedef struct {
    int64_t D, nnz;
    int64_t *indptr;
    int32_t *ids, *cnt;
} ref_split;

/* out holds rows[0..n) of ref, in that order. */
static void assert_rows(const vae_docs *out, const ref_split *ref, const int64_t *rows, int64_t n)
{
    assert_int_equal(out->num_docs, n);
    assert_int_equal(out->indptr[0], 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = rows[i], len = ref->indptr[r + 1] - ref->indptr[r];
        assert_int_equal(out->doc_index[i], r);
        assert_int_equal(out->indptr[i + 1] - out->indptr[i], len);
        assert_memory_equal(out->indices + out->indptr[i], ref->ids + ref->indptr[r],
                            (size_t)len * sizeof(int32_t));
        assert_memory_equal(out->counts + out->indptr[i], ref->cnt + ref->indptr[r],
                            (size_t)len * sizeof(int32_t));
    }
    assert_int_equal(out->nnz, out->indptr[n]);
}

/* ---- a small corpus through the writer and back ---- */

static const char *const small_words[5] = {"apple", "na\xC3\xAFve", "cat", "dog", "egg"};
static const int64_t small_df[5] = {2, 1, 1, 1, 1}, small_tf[5] = {2, 1, 2, 1, 5};
static const int64_t small_indptr[4] = {0, 2, 2, 5};
static const int32_t small_ids[5] = {0, 3, 1, 2, 4}, small_cnt[5] = {1, 2, 1, 1, 5};
static const char *const small_names[3] = {"a.txt:1", "a.txt:2", "b.txt:1"};
static const int64_t test_indptr[3] = {0, 1, 3};
static const int32_t test_ids[3] = {4, 0, 1}, test_cnt[3] = {7, 1, 1};
static const float topics[2][5] = {{.5f, .5f, 0, 0, 0}, {0, 0, .25f, .25f, .5f}};
static const float vec[3] = {1.5f, -2, 3};

static void write_small(const char *path)
{
    vae_corpus_writer *w = NULL;
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_vocab(w, small_words, small_df, small_tf, 5), VAE_OK);
    for (int d = 0; d < 3; d++)
        assert_int_equal(vae_corpus_writer_add_doc(w, "train", small_ids + small_indptr[d],
                                                   small_cnt + small_indptr[d],
                                                   small_indptr[d + 1] - small_indptr[d], small_names[d]),
                         VAE_OK);
    /* interleaved with train: the first test document before the last train one would also do */
    for (int d = 0; d < 2; d++)
        assert_int_equal(vae_corpus_writer_add_doc(w, "test", test_ids + test_indptr[d],
                                                   test_cnt + test_indptr[d],
                                                   test_indptr[d + 1] - test_indptr[d], NULL),
                         VAE_OK);
    assert_int_equal(vae_corpus_writer_set_attr_int(w, "min_df", 2), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_attr_str(w, "tokenizer", "lower,split"), VAE_OK);
    assert_int_equal(vae_corpus_writer_put_floats(w, "/synthetic/topics", &topics[0][0], 2, 5), VAE_OK);
    assert_int_equal(vae_corpus_writer_put_floats(w, "/extra/deep/vec", vec, 3, 0), VAE_OK);
    assert_int_equal(vae_corpus_writer_commit(w), VAE_OK);
    vae_corpus_writer_free(w);
}

/* No "<path>.tmp.*" is left in the folder. */
static void assert_no_temp_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
}

static void test_roundtrip(void **state)
{
    char path[4096], buf[64];
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_docs docs;
    const char *const *words;
    const int64_t *df, *tf;
    int64_t value, rows, cols, all3[3] = {0, 1, 2}, all2[2] = {0, 1};
    float *data = NULL;
    char *names[3];
    path_in(path, sizeof path, "small.h5");
    write_small(path);
    assert_no_temp_files();
    vae_docs_init(&docs);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_string_equal(vae_corpus_path(c), path);
    assert_int_equal(vae_corpus_vocab_size(c), 5);
    assert_int_equal(vae_corpus_vocab(c, &words, &df, &tf), VAE_OK);
    for (int i = 0; i < 5; i++)
        assert_string_equal(words[i], small_words[i]);
    assert_memory_equal(df, small_df, sizeof small_df);
    assert_memory_equal(tf, small_tf, sizeof small_tf);

    assert_int_equal(vae_corpus_split_info(c, "train", &info), VAE_OK);
    assert_true(info.present && info.has_doc_ids);
    assert_int_equal(info.num_docs, 3);
    assert_int_equal(info.nnz, 5);
    assert_int_equal(info.num_tokens, 10);
    assert_int_equal(vae_corpus_split_info(c, "valid", &info), VAE_OK);
    assert_false(info.present);
    assert_int_equal(vae_corpus_split_info(c, "test", &info), VAE_OK);
    assert_true(info.present && !info.has_doc_ids);
    assert_int_equal(info.num_docs, 2);
    assert_int_equal(info.num_tokens, 9);
    assert_int_equal(vae_corpus_split_info(c, "dev", &info), VAE_ERR_ARG);

    ref_split train = {3, 5, (int64_t *)small_indptr, (int32_t *)small_ids, (int32_t *)small_cnt};
    ref_split test = {2, 3, (int64_t *)test_indptr, (int32_t *)test_ids, (int32_t *)test_cnt};
    assert_int_equal(vae_corpus_read_docs(c, "train", all3, 3, &docs), VAE_OK);
    assert_rows(&docs, &train, all3, 3);
    assert_int_equal(vae_corpus_read_docs(c, "test", all2, 2, &docs), VAE_OK);
    assert_rows(&docs, &test, all2, 2);
    assert_int_equal(vae_corpus_read_docs(c, "valid", all2, 1, &docs), VAE_ERR_ARG);
    assert_message_has(path, "valid", NULL);
    int64_t outside = 3;
    assert_int_equal(vae_corpus_read_docs(c, "train", &outside, 1, &docs), VAE_ERR_ARG);
    assert_message_has("document 3", "[0, 3)", NULL);

    int64_t some[3] = {2, 0, 2};
    assert_int_equal(vae_corpus_read_doc_ids(c, "train", some, 3, names), VAE_OK);
    assert_string_equal(names[0], "b.txt:1");
    assert_string_equal(names[1], "a.txt:1");
    assert_string_equal(names[2], "b.txt:1");
    for (int i = 0; i < 3; i++)
        free(names[i]);
    assert_int_equal(vae_corpus_read_doc_ids(c, "test", all2, 2, names), VAE_ERR_FORMAT);
    assert_message_has("/test/doc_ids", NULL);

    assert_int_equal(vae_corpus_get_attr_int(c, "min_df", &value), VAE_OK);
    assert_int_equal(value, 2);
    assert_int_equal(vae_corpus_get_attr_int(c, "vocab_size", &value), VAE_OK);
    assert_int_equal(value, 5);
    assert_int_equal(vae_corpus_get_attr_str(c, "tokenizer", buf, sizeof buf), VAE_OK);
    assert_string_equal(buf, "lower,split");
    assert_int_equal(vae_corpus_get_attr_str(c, "format", buf, sizeof buf), VAE_OK);
    assert_string_equal(buf, "vae-corpus");
    assert_int_equal(vae_corpus_get_attr_str(c, "tokenizer", buf, 4), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_get_attr_int(c, "max_df", &value), VAE_ERR_FORMAT);
    assert_message_has(path, "'max_df'", "missing", NULL);
    assert_int_equal(vae_corpus_get_attr_int(c, "tokenizer", &value), VAE_ERR_FORMAT);
    assert_message_has("'tokenizer'", "not an integer", NULL);

    assert_int_equal(vae_corpus_read_floats(c, "/synthetic/topics", &data, &rows, &cols), VAE_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(cols, 5);
    assert_memory_equal(data, topics, sizeof topics);
    free(data);
    assert_int_equal(vae_corpus_read_floats(c, "/extra/deep/vec", &data, &rows, &cols), VAE_OK);
    assert_int_equal(rows, 3);
    assert_int_equal(cols, 0);
    assert_memory_equal(data, vec, sizeof vec);
    free(data);
    assert_int_equal(vae_corpus_read_floats(c, "/synthetic/nothing", &data, &rows, &cols), VAE_ERR_FORMAT);
    assert_message_has("/synthetic/nothing", NULL);
    assert_int_equal(vae_corpus_read_floats(c, "/train/indptr", &data, &rows, &cols), VAE_ERR_FORMAT);

    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "test"), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "valid"), VAE_ERR_ARG);
    vae_docs_free(&docs);
    vae_docs_free(&docs); /* twice: a freed vae_docs is an empty one */
    vae_corpus_free(c);
    vae_corpus_free(NULL);
}

/* The file as h5py users see it: types, chunked and compressed extendible datasets, UTF-8 words. */
static void test_layout(void **state)
{
    char path[4096];
    path_in(path, sizeof path, "small.h5");
    write_small(path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    static const char *const names[] = {"/train/indptr", "/train/indices", "/train/counts", "/test/indices"};
    for (int i = 0; i < 4; i++) {
        hid_t d = H5Dopen2(file, names[i], H5P_DEFAULT), dcpl = H5Dget_create_plist(d), type = H5Dget_type(d);
        hid_t space = H5Dget_space(d);
        hsize_t dim, maxdim;
        unsigned flags;
        size_t nelmts = 0;
        H5Sget_simple_extent_dims(space, &dim, &maxdim);
        assert_true(maxdim == H5S_UNLIMITED);
        assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
        assert_int_equal(H5Pget_nfilters(dcpl), 2);
        assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, &nelmts, NULL, 0, NULL, NULL), H5Z_FILTER_SHUFFLE);
        nelmts = 0;
        assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &nelmts, NULL, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
        assert_true(H5Tequal(type, i == 0 ? H5T_STD_I64LE : H5T_STD_I32LE) > 0);
        H5Sclose(space);
        H5Tclose(type);
        H5Pclose(dcpl);
        H5Dclose(d);
    }
    hid_t words = H5Dopen2(file, "/vocab/words", H5P_DEFAULT), type = H5Dget_type(words);
    assert_true(H5Tis_variable_str(type) > 0);
    assert_int_equal(H5Tget_cset(type), H5T_CSET_UTF8);
    H5Tclose(type);
    H5Dclose(words);
    assert_int_equal(H5Fclose(file), 0);
}

static void test_empty_splits(void **state)
{
    char path[4096];
    vae_corpus_writer *w = NULL;
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_docs docs;
    int64_t none = 0;
    path_in(path, sizeof path, "empty.h5");
    vae_docs_init(&docs);
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_vocab(w, small_words, small_df, small_tf, 5), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_split(w, "valid"), VAE_OK);
    assert_int_equal(vae_corpus_writer_commit(w), VAE_OK);
    vae_corpus_writer_free(w);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_split_info(c, "train", &info), VAE_OK);
    assert_true(info.present);
    assert_int_equal(info.num_docs, 0);
    assert_int_equal(info.nnz, 0);
    assert_int_equal(vae_corpus_split_info(c, "valid", &info), VAE_OK);
    assert_true(info.present);
    assert_int_equal(info.num_docs, 0);
    assert_int_equal(vae_corpus_split_info(c, "test", &info), VAE_OK);
    assert_false(info.present);
    assert_int_equal(vae_corpus_read_docs(c, "train", &none, 0, &docs), VAE_OK);
    assert_int_equal(docs.num_docs, 0);
    assert_int_equal(docs.indptr[0], 0);
    assert_int_equal(vae_corpus_read_docs(c, "train", &none, 1, &docs), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "valid"), VAE_OK);
    vae_corpus_free(c);
    vae_docs_free(&docs);
}

static void test_writer_rejects(void **state)
{
    char path[4096];
    vae_corpus_writer *w = NULL;
    const int32_t bad_order[2] = {3, 3}, ok_ids[2] = {1, 4}, out_of_range[2] = {1, 5}, ones[2] = {1, 1};
    const int32_t zero_count[2] = {1, 0};
    const char *dup_words[5] = {"a", "b", "c", "b", "e"}, *empty_words[5] = {"a", "", "c", "d", "e"};
    path_in(path, sizeof path, "rejected.h5");
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_doc(w, "train", bad_order, ones, 2, NULL), VAE_ERR_ARG);
    assert_message_has(path, "split train, document 0, entry 1", "word id 3 after 3", NULL);
    assert_int_equal(vae_corpus_writer_add_doc(w, "train", ok_ids, zero_count, 2, NULL), VAE_ERR_ARG);
    assert_message_has("entry 1", "count 0", NULL);
    assert_int_equal(vae_corpus_writer_add_doc(w, "dev", ok_ids, ones, 2, NULL), VAE_ERR_ARG);
    assert_message_has("'dev'", NULL);
    /* Documents may come before the vocabulary; set_vocab then checks their ids. */
    assert_int_equal(vae_corpus_writer_add_doc(w, "train", ok_ids, ones, 2, "first"), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_doc(w, "train", ok_ids, ones, 2, NULL), VAE_ERR_ARG);
    assert_message_has("document 1", "has no doc_id", NULL);
    assert_int_equal(vae_corpus_writer_add_doc(w, "test", ok_ids, ones, 2, NULL), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_doc(w, "test", ok_ids, ones, 2, "late"), VAE_ERR_ARG);
    assert_message_has("split test, document 1", "has a doc_id", NULL);
    assert_int_equal(vae_corpus_writer_set_attr_int(w, "version", 3), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_writer_set_attr_str(w, "format", "x"), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_writer_put_floats(w, "/x", vec, -1, 0), VAE_ERR_ARG);
    assert_int_equal(vae_corpus_writer_commit(w), VAE_ERR_ARG);
    assert_message_has("set_vocab", NULL);
    assert_int_equal(vae_corpus_writer_set_vocab(w, small_words, small_df, small_tf, 4), VAE_ERR_ARG);
    assert_message_has("word id 4", NULL);
    assert_int_equal(vae_corpus_writer_set_vocab(w, dup_words, small_df, small_tf, 5), VAE_ERR_ARG);
    assert_message_has("/vocab/words", "word 3 ('b') repeats word 1", NULL);
    assert_int_equal(vae_corpus_writer_set_vocab(w, empty_words, small_df, small_tf, 5), VAE_ERR_ARG);
    assert_message_has("/vocab/words", "word 1 is empty", NULL);
    assert_int_equal(vae_corpus_writer_set_vocab(w, small_words, small_df, small_tf, 5), VAE_OK);
    assert_int_equal(vae_corpus_writer_add_doc(w, "train", out_of_range, ones, 2, "x"), VAE_ERR_ARG);
    assert_message_has("entry 1", "word id 5 not in [0, 5)", NULL);
    /* Dropped without a commit: nothing under the final name, no temporary file either. */
    vae_corpus_writer_free(w);
    vae_corpus_writer_free(NULL);
    assert_int_equal(access(path, F_OK), -1);
    assert_no_temp_files();
    assert_int_equal(vae_corpus_writer_new(&w, "/nonexistent-folder/x.h5"), VAE_ERR_IO);
    assert_message_has("/nonexistent-folder/x.h5", NULL);
    assert_null(w);
}

/* ---- a large corpus: many chunks, buffer flushes, one document longer than the buffer ---- */

#define BIG_DOCS 20000
#define BIG_V 140000
#define BIG_ROW 5000 /* holds 135000 entries */

static ref_split big;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void make_big_ref(void)
{
    uint64_t seed = 7;
    int64_t cap = 0;
    big.D = BIG_DOCS;
    big.indptr = calloc(BIG_DOCS + 1, sizeof *big.indptr);
    for (int64_t r = 0; r < BIG_DOCS; r++) {
        int64_t len = r == BIG_ROW ? 135000 : r % 7 == 3 ? 0 : (int64_t)(lcg(&seed) % 41);
        big.indptr[r + 1] = big.indptr[r] + len;
    }
    big.nnz = big.indptr[BIG_DOCS];
    cap = big.nnz;
    big.ids = malloc((size_t)cap * sizeof *big.ids);
    big.cnt = malloc((size_t)cap * sizeof *big.cnt);
    for (int64_t r = 0; r < BIG_DOCS; r++) {
        int64_t len = big.indptr[r + 1] - big.indptr[r];
        for (int64_t j = 0; j < len; j++) {
            int64_t step = BIG_V / len;
            big.ids[big.indptr[r] + j] = (int32_t)(j * step + (int64_t)(lcg(&seed) % (uint64_t)step));
            big.cnt[big.indptr[r] + j] = 1 + (int32_t)(lcg(&seed) % 5);
        }
    }
}

static void write_big(const char *path)
{
    vae_corpus_writer *w = NULL;
    char **words = malloc(BIG_V * sizeof *words), name[32];
    int64_t *freq = calloc(BIG_V, sizeof *freq);
    for (int64_t i = 0; i < BIG_V; i++) {
        snprintf(name, sizeof name, "w%06lld", (long long)i);
        words[i] = strdup(name);
    }
    assert_int_equal(vae_corpus_writer_new(&w, path), VAE_OK);
    assert_int_equal(vae_corpus_writer_set_vocab(w, (const char *const *)words, freq, freq, BIG_V), VAE_OK);
    for (int64_t r = 0; r < BIG_DOCS; r++) {
        snprintf(name, sizeof name, "doc-%lld", (long long)r);
        assert_int_equal(vae_corpus_writer_add_doc(w, "train", big.ids + big.indptr[r],
                                                   big.cnt + big.indptr[r], big.indptr[r + 1] - big.indptr[r],
                                                   name),
                         VAE_OK);
    }
    assert_int_equal(vae_corpus_writer_commit(w), VAE_OK);
    vae_corpus_writer_free(w);
    for (int64_t i = 0; i < BIG_V; i++)
        free(words[i]);
    free(words);
    free(freq);
}

/* The tests share a temporary folder and the large corpus in it. */
static int group_setup(void **state)
{
    char path[4096];
    strcpy(tmpdir, "/tmp/test_corpus.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    make_big_ref();
    path_in(path, sizeof path, "big.h5");
    write_big(path);
    return 0;
}

static int group_teardown(void **state)
{
    free(big.indptr);
    free(big.ids);
    free(big.cnt);
    return remove_tmpdir();
}

static vae_corpus *open_big(void)
{
    char path[4096];
    vae_corpus *c = NULL;
    path_in(path, sizeof path, "big.h5");
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    return c;
}

static void read_and_compare(vae_corpus *c, vae_docs *docs, const int64_t *rows, int64_t n)
{
    assert_int_equal(vae_corpus_read_docs(c, "train", rows, n, docs), VAE_OK);
    assert_rows(docs, &big, rows, n);
}

static void test_read_scattered(void **state)
{
    vae_corpus *c = open_big();
    vae_docs docs;
    uint64_t seed = 99;
    int64_t *rows = malloc(BIG_DOCS * sizeof *rows);
    vae_docs_init(&docs);
    /* Shards of a shuffled epoch, with duplicates and the long row among them. */
    for (int round = 0; round < 6; round++) {
        int64_t n = 1 + (int64_t)(lcg(&seed) % 3000);
        for (int64_t i = 0; i < n; i++)
            rows[i] = (int64_t)(lcg(&seed) % BIG_DOCS);
        rows[n / 2] = BIG_ROW;
        if (n > 3)
            rows[n - 1] = rows[0];
        read_and_compare(c, &docs, rows, n);
    }
    /* Every row, backwards: one range. */
    for (int64_t i = 0; i < BIG_DOCS; i++)
        rows[i] = BIG_DOCS - 1 - i;
    read_and_compare(c, &docs, rows, BIG_DOCS);
    char *names[4];
    int64_t some[4] = {19999, 0, BIG_ROW, 16385};
    assert_int_equal(vae_corpus_read_doc_ids(c, "train", some, 4, names), VAE_OK);
    assert_string_equal(names[0], "doc-19999");
    assert_string_equal(names[1], "doc-0");
    assert_string_equal(names[2], "doc-5000");
    assert_string_equal(names[3], "doc-16385");
    for (int i = 0; i < 4; i++)
        free(names[i]);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    free(rows);
    vae_docs_free(&docs);
    vae_corpus_free(c);
}

/* The rows of a request: the first row with entries at or after r. */
static int64_t nonempty_from(int64_t r)
{
    while (big.indptr[r + 1] == big.indptr[r])
        r++;
    return r;
}

/* Two rows whose entries lie exactly gap entries apart (r before s), or -1 when there are none. */
static int64_t rows_apart(int64_t gap, int64_t *s_out)
{
    for (int64_t r = 0; r + 1 < BIG_DOCS; r++) {
        int64_t s = r + 1;
        if (big.indptr[r + 1] == big.indptr[r])
            continue;
        while (s < BIG_DOCS && big.indptr[s] - big.indptr[r + 1] < gap)
            s++;
        if (s < BIG_DOCS && big.indptr[s] - big.indptr[r + 1] == gap && big.indptr[s + 1] > big.indptr[s]) {
            *s_out = s;
            return r;
        }
    }
    return -1;
}

static void test_coalescing_boundaries(void **state)
{
    vae_corpus *c = open_big();
    vae_docs docs;
    const int64_t G = VAE_CORPUS_GAP, a = nonempty_from(1000);
    int64_t rows[8];
    vae_docs_init(&docs);
    /* indptr pairs [r, r + 2) exactly G apart and one more; both ends of the split; neighbours;
     * around the row longer than a read window; empty rows only. */
    int64_t cases[][4] = {
        {0, 0, 0, 0},
        {BIG_DOCS - 1, 0, 0, 0},
        {a, a + 2 + G, 0, 0},
        {a + 3 + G, a, 0, 0},
        {a, a + 1, a + 2, a + 3},
        {0, BIG_DOCS - 1, 1, BIG_DOCS - 2},
        {BIG_ROW + 1, BIG_ROW, BIG_ROW - 1, BIG_ROW},
        {3, 10, 17, 24},
    };
    int sizes[] = {1, 1, 2, 2, 4, 4, 4, 4};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        memcpy(rows, cases[k], sizeof cases[k]);
        read_and_compare(c, &docs, rows, sizes[k]);
    }
    /* entries G - 1, G and G + 1 apart */
    for (int64_t gap = G - 1; gap <= G + 1; gap++) {
        rows[1] = rows_apart(gap, &rows[0]);
        assert_true(rows[1] >= 0);
        read_and_compare(c, &docs, rows, 2);
    }
    vae_docs_free(&docs);
    vae_corpus_free(c);
}

static void test_coalesce_unit(void **state)
{
    /* [0,2) [2,4) touching; [5,5) empty; [7,9) 3 after; [20,22) 11 after; [21,23) overlapping
     * (as indptr pairs of neighbouring rows do); [30,30) empty at the end */
    const int64_t start[] = {0, 2, 5, 7, 20, 21, 30}, end[] = {2, 4, 5, 9, 22, 23, 30};
    int64_t ws[7], we[7], wf[7];
    assert_int_equal(vae_coalesce(start, end, 7, 3, 100, ws, we, wf), 2);
    assert_int_equal(ws[0], 0);
    assert_int_equal(we[0], 9);
    assert_int_equal(wf[0], 0);
    assert_int_equal(ws[1], 20);
    assert_int_equal(we[1], 23);
    assert_int_equal(wf[1], 4);
    /* a gap one past the limit splits */
    assert_int_equal(vae_coalesce(start, end, 7, 2, 100, ws, we, wf), 3);
    assert_int_equal(we[0], 4);
    assert_int_equal(ws[1], 7);
    assert_int_equal(wf[1], 3);
    /* so does a window that would grow past max_len (9 > 8), but not one that reaches it */
    assert_int_equal(vae_coalesce(start, end, 7, 3, 8, ws, we, wf), 3);
    assert_int_equal(wf[1], 3);
    assert_int_equal(vae_coalesce(start, end, 7, 3, 9, ws, we, wf), 2);
    /* empty intervals only: no window */
    assert_int_equal(vae_coalesce(start + 2, end + 2, 1, 3, 100, ws, we, wf), 0);
    /* an interval longer than max_len is a window of its own; the next ones start another */
    const int64_t ls[] = {0, 50, 52}, le[] = {40, 51, 53};
    assert_int_equal(vae_coalesce(ls, le, 3, 20, 20, ws, we, wf), 2);
    assert_int_equal(we[0], 40);
    assert_int_equal(ws[1], 50);
    assert_int_equal(we[1], 53);
    assert_int_equal(wf[1], 1);
}

/* A bad count far into the split (past the first chunks) is reported at its row and entry by
 * validate_split and by a read of its row, while other rows still read. */
static void test_bad_entry_deep(void **state)
{
    char path[4096];
    vae_corpus *c = NULL;
    vae_docs docs;
    int64_t row = 15001, entry, pos;
    char where[64];
    while (big.indptr[row + 1] - big.indptr[row] < 3)
        row++;
    entry = 2;
    pos = big.indptr[row] + entry;
    assert_true(pos > 3 * 65536);
    path_in(path, sizeof path, "big_bad.h5");
    write_big(path);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d = H5Dopen2(file, "/train/counts", H5P_DEFAULT);
    hid_t space = H5Dget_space(d), mem;
    hsize_t at = (hsize_t)pos, one = 1;
    int32_t zero = 0;
    mem = H5Screate_simple(1, &one, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, NULL, &one, NULL);
    assert_true(H5Dwrite(d, H5T_NATIVE_INT32, mem, space, H5P_DEFAULT, &zero) >= 0);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(file);
    snprintf(where, sizeof where, "row %lld, entry %lld: count 0", (long long)row, (long long)entry);
    vae_docs_init(&docs);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_ERR_FORMAT);
    assert_message_has(path, "/train/counts", where, NULL);
    int64_t rows[3] = {row - 1, row, row + 1};
    read_and_compare(c, &docs, rows, 1);
    assert_int_equal(vae_corpus_read_docs(c, "train", rows, 3, &docs), VAE_ERR_FORMAT);
    assert_message_has(path, "/train/counts", where, NULL);
    assert_int_equal(docs.num_docs, 0);
    assert_int_equal(docs.nnz, 0);
    vae_corpus_free(c);
    vae_docs_free(&docs);
    unlink(path);
}

/* ---- the format's rules, one bad file each ---- */

static void test_bad_corpora(void **state)
{
    char path[4096];
    vae_docs docs;
    ref_split good = {4, 8, (int64_t *)good_train_indptr, (int32_t *)good_train_indices,
                      (int32_t *)good_train_counts};
    vae_seqs sq;
    vae_seqs_init(&sq);
    vae_docs_init(&docs);
    path_in(path, sizeof path, "good.h5");
    assert_int_equal(good_corpus_write(path), 0);
    vae_corpus *c = NULL;
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    assert_int_equal(vae_corpus_validate_split(c, "valid"), VAE_OK);
    vae_corpus_free(c);
    for (int i = 0; i < num_bad_corpora; i++) {
        const bad_corpus *b = &bad_corpora[i];
        vae_split_info info;
        int64_t rows[8];
        char name[128];
        snprintf(name, sizeof name, "%s.h5", b->name);
        path_in(path, sizeof path, name);
        assert_int_equal(bad_corpus_write(b, path), 0);
        vae_error_clear();
        c = NULL;
        int rc = vae_corpus_open(&c, path);
        if (b->stage == BAD_AT_OPEN) {
            if (rc != VAE_ERR_FORMAT)
                print_error("%s: open returned %d (%s)\n", b->name, rc, vae_error_message());
            assert_int_equal(rc, VAE_ERR_FORMAT);
            assert_null(c);
            assert_message_has(path, b->dataset, b->position, NULL);
            continue;
        }
        if (rc != VAE_OK)
            print_error("%s: %s\n", b->name, vae_error_message());
        assert_int_equal(rc, VAE_OK);
        assert_int_equal(vae_corpus_split_info(c, b->split, &info), VAE_OK);
        for (int64_t r = 0; r < info.num_docs; r++)
            rows[r] = info.num_docs - 1 - r;
        int64_t before[8];
        for (int64_t r = 0; r < 8; r++)
            before[r] = r;
        if (b->stage == BAD_AT_READ) {
            assert_int_equal(vae_corpus_read_docs(c, b->split, before, b->bad_row, &docs), VAE_OK);
            if (strcmp(b->split, "train") == 0)
                assert_rows(&docs, &good, before, b->bad_row);
            assert_int_equal(vae_corpus_read_docs(c, b->split, rows, info.num_docs, &docs), VAE_ERR_FORMAT);
            assert_message_has(path, b->dataset, b->position, NULL);
            assert_int_equal(docs.num_docs, 0);
            assert_int_equal(docs.nnz, 0);
        } else {
            assert_int_equal(vae_corpus_read_docs(c, b->split, rows, info.num_docs, &docs), VAE_OK);
        }
        /* Sequences: those before the bad one read; all of them, backwards, fail and return none. */
        if (info.has_seqs) {
            int64_t seqs[8];
            for (int64_t k = 0; k < info.num_seqs; k++)
                seqs[k] = info.num_seqs - 1 - k;
            int want = b->stage == BAD_AT_SEQS ? VAE_ERR_FORMAT : VAE_OK;
            assert_int_equal(vae_corpus_read_seqs(c, b->split, before, b->stage == BAD_AT_SEQS ? b->bad_row : 0, &sq),
                             VAE_OK);
            assert_int_equal(vae_corpus_read_seqs(c, b->split, seqs, info.num_seqs, &sq), want);
            if (want != VAE_OK) {
                assert_message_has(path, b->dataset, b->position, NULL);
                assert_int_equal(sq.num_seqs, 0);
            }
        }
        vae_error_clear();
        assert_int_equal(vae_corpus_validate_split(c, b->split), VAE_ERR_FORMAT);
        assert_message_has(path, b->dataset, b->position, NULL);
        vae_corpus_free(c);
    }
    vae_docs_free(&docs);
    vae_seqs_free(&sq);
}

/* Integer datasets of other widths read the same when their values fit. */
static void test_other_integer_types(void **state)
{
    char path[4096];
    raw_corpus r;
    vae_corpus *c = NULL;
    vae_docs docs;
    int64_t rows[4] = {3, 2, 1, 0};
    ref_split good = {4, 8, (int64_t *)good_train_indptr, (int32_t *)good_train_indices,
                      (int32_t *)good_train_counts};
    raw_good(&r);
    r.split[0].indptr_type = RAW_I32;
    r.split[0].indices_type = RAW_I64;
    r.split[0].counts_type = RAW_U16;
    path_in(path, sizeof path, "widths.h5");
    assert_int_equal(raw_write(&r, path), 0);
    vae_docs_init(&docs);
    assert_int_equal(vae_corpus_open(&c, path), VAE_OK);
    assert_int_equal(vae_corpus_read_docs(c, "train", rows, 4, &docs), VAE_OK);
    assert_rows(&docs, &good, rows, 4);
    assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
    vae_corpus_free(c);
    vae_docs_free(&docs);
}

static void test_open_errors(void **state)
{
    vae_corpus *c = NULL;
    assert_int_equal(vae_corpus_open(&c, "/nonexistent/corpus.h5"), VAE_ERR_IO);
    assert_message_has("/nonexistent/corpus.h5", "No such file", NULL);
    assert_null(c);
}

static void test_docs_reserve(void **state)
{
    vae_docs d;
    vae_docs_init(&d);
    assert_int_equal(vae_docs_reserve(&d, 2, 3), VAE_OK);
    assert_true(d.cap_docs >= 2 && d.cap_nnz >= 3);
    d.num_docs = 2;
    d.nnz = 3;
    d.indptr[1] = 1;
    d.indptr[2] = 3;
    d.indices[2] = 42;
    assert_int_equal(vae_docs_reserve(&d, 1000, 100000), VAE_OK);
    assert_true(d.cap_docs >= 1000 && d.cap_nnz >= 100000);
    assert_int_equal(d.indptr[2], 3);
    assert_int_equal(d.indices[2], 42);
    assert_int_equal(vae_docs_reserve(&d, -1, 0), VAE_ERR_ARG);
    vae_docs_free(&d);
    assert_null(d.indptr);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-bad-corpora") == 0) {
        if (bad_corpora_write_all(argv[2]) != 0) {
            fprintf(stderr, "test_corpus: cannot write the bad corpora into %s\n", argv[2]);
            return 1;
        }
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_empty_splits),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_coalesce_unit),
        cmocka_unit_test(test_read_scattered),
        cmocka_unit_test(test_coalescing_boundaries),
        cmocka_unit_test(test_bad_entry_deep),
        cmocka_unit_test(test_bad_corpora),
        cmocka_unit_test(test_other_integer_types),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_docs_reserve),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
