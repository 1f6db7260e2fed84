/* Hostile sizes: corpora (and the tokenizer, the model and checkpoints over them) whose sizes are
 * legal but extreme, or declared far beyond what the file holds. Each is either processed
 * correctly or refused with a message naming the file and the dataset; never an overflow, never an
 * allocation the file's content does not justify. Each case runs in a forked child under
 * RLIMIT_AS = 2 GiB (address space: a larger allocation fails instead of succeeding lazily), and
 * its peak resident memory is checked against a bound of its own. Under AddressSanitizer, which
 * reserves terabytes of address space for its shadow, RLIMIT_AS cannot be used: there only the
 * peak resident memory is checked (with room for ASan's own).
 *
 *   empty_docs_1e8   a train split of 10^8 empty documents (indptr of 10^8 + 1 zeros, chunked and
 *                    compressed, ~1 MB): opens, validates, reads rows anywhere, the model runs on them.
 *   long_document    documents of 10^7 tokens (one word 10^7 times; 1000 words 10^4 times each) and
 *                    one count of INT32_MAX: exact counts, num_tokens past 2^31, finite loss; the
 *                    tokenizer counts a 30 MB text of 10^7 tokens exactly.
 *   vocab_1e6        a vocabulary of 10^6 words and a document holding all of them: the corpus,
 *                    the bag of words, the model, a checkpoint written and read back.
 *   vocab_declared   vocab_size 2^31 - 1 declared with /vocab datasets of that length left unwritten
 *                    (a 40 KB file): refused at word 0 naming /vocab/words, in bounded memory.
 *   vocab_declared_1e8  the same with 10^8: the check of unique words must not size its table by the
 *                    declared count before it has seen the words. */
#define _DEFAULT_SOURCE /* wait4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tokenize.h"
#include "vae/checkpoint.h"
#include "vae/corpus.h"
#include "vae/model.h"
#include "vocab.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define LIMIT_BYTES (2ULL << 30)

static char tmpdir[64];

static void path_in(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", tmpdir, name); }

/* In the child: a failed check prints and exits 1 (cmocka's asserts would unwind into the
 * parent's copy of the test runner). */
#define CHILD_CHECK(cond, ...)                                                                   \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);             \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fprintf(stderr, " (last message: %s)\n", vae_error_message());                       \
            _exit(1);                                                                            \
        }                                                                                        \
    } while (0)

#define CHILD_OK(call) CHILD_CHECK((call) == VAE_OK, "%s", #call)

static double now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* Runs fn in a child under RLIMIT_AS (outside ASan); it must exit 0, with a peak resident memory
 * under max_rss_mb (plus ASan's own under ASan). */
static void bounded(const char *name, void (*fn)(void), long max_rss_mb)
{
    const double t0 = now();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!UNDER_ASAN) {
            struct rlimit r = {LIMIT_BYTES, LIMIT_BYTES};
            if (setrlimit(RLIMIT_AS, &r) != 0)
                _exit(3);
        }
        fn();
        fflush(NULL);
        _exit(0);
    }
    int status = 0;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    const long rss_mb = ru.ru_maxrss / 1024;
    print_message("%s: %.1f s, peak resident memory %ld MB (bound %ld MB%s)\n", name, now() - t0, rss_mb,
                  max_rss_mb, UNDER_ASAN ? " + ASan's" : ", address space 2 GiB");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        print_error("%s: the child %s %d\n", name, WIFEXITED(status) ? "exited with" : "died of signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        fail();
    }
    assert_true(rss_mb < max_rss_mb + (UNDER_ASAN ? 1024 : 0));
}

/* ---- raw HDF5 (the writer would refuse, or take minutes for, what these declare) ---- */

static void raw_attr_int(hid_t obj, const char *name, int64_t v)
{
    hid_t space = H5Screate(H5S_SCALAR), attr = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    CHILD_CHECK(attr >= 0 && H5Awrite(attr, H5T_NATIVE_INT64, &v) >= 0, "attribute %s", name);
    H5Aclose(attr);
    H5Sclose(space);
}

static void raw_attr_str(hid_t obj, const char *name, const char *value)
{
    hid_t space = H5Screate(H5S_SCALAR), type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    CHILD_CHECK(attr >= 0 && H5Awrite(attr, type, &value) >= 0, "attribute %s", name);
    H5Aclose(attr);
    H5Tclose(type);
    H5Sclose(space);
}

/* A 1-D dataset of type ftype declared n long, chunked (65536) and deflated; data (n_data
 * elements of mtype, repeated) written over [0, n) in blocks when given, else left unwritten. */
static void raw_dataset(hid_t loc, const char *name, hid_t ftype, hsize_t n, hid_t mtype, const void *data,
                        hsize_t n_data)
{
    hsize_t chunk = n < 65536 ? n : 65536;
    hid_t space = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (n > 0) {
        H5Pset_chunk(dcpl, 1, &chunk);
        H5Pset_deflate(dcpl, 1);
    }
    hid_t dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHILD_CHECK(dset >= 0, "dataset %s", name);
    for (hsize_t at = 0; data && at < n; at += n_data) {
        hsize_t count = n - at < n_data ? n - at : n_data;
        hid_t mspace = H5Screate_simple(1, &count, NULL);
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, NULL, &count, NULL);
        CHILD_CHECK(H5Dwrite(dset, mtype, mspace, space, H5P_DEFAULT, data) >= 0, "writing %s", name);
        H5Sclose(mspace);
    }
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
}

/* A corpus whose /vocab declares V words (written when words is given, else left unwritten) and
 * whose train split has D documents with the indptr values given by indptr_fill (all equal) and
 * no entries. */
static void raw_corpus(const char *path, int64_t V, const char *const *words, int64_t D, const int64_t *zeros,
                       hsize_t n_zeros)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHILD_CHECK(file >= 0, "creating %s", path);
    raw_attr_str(file, "format", "vae-corpus");
    raw_attr_int(file, "version", 1);
    raw_attr_int(file, "vocab_size", V);
    hid_t vocab = H5Gcreate2(file, "vocab", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    raw_dataset(vocab, "words", str, (hsize_t)V, str, words, words ? (hsize_t)V : 0);
    raw_dataset(vocab, "doc_freq", H5T_STD_I64LE, (hsize_t)V, H5T_NATIVE_INT64, words ? zeros : NULL, n_zeros);
    raw_dataset(vocab, "term_freq", H5T_STD_I64LE, (hsize_t)V, H5T_NATIVE_INT64, words ? zeros : NULL, n_zeros);
    H5Tclose(str);
    H5Gclose(vocab);
    hid_t train = H5Gcreate2(file, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    raw_dataset(train, "indptr", H5T_STD_I64LE, (hsize_t)D + 1, H5T_NATIVE_INT64, zeros, n_zeros);
    raw_dataset(train, "indices", H5T_STD_I32LE, 0, H5T_NATIVE_INT32, NULL, 0);
    raw_dataset(train, "counts", H5T_STD_I32LE, 0, H5T_NATIVE_INT32, NULL, 0);
    raw_attr_int(train, "num_docs", D);
    raw_attr_int(train, "num_tokens", 0);
    H5Gclose(train);
    CHILD_CHECK(H5Fclose(file) >= 0, "closing %s", path);
}

/* ---- 10^8 empty documents ---- */

static void empty_docs_case(void)
{
    static const char *const words[2] = {"alpha", "beta"};
    const int64_t D = 100000000;
    const hsize_t block = 1 << 20;
    char path[4096];
    path_in(path, sizeof path, "empty.h5");
    int64_t *zeros = calloc(block, sizeof *zeros);
    CHILD_CHECK(zeros != NULL, "memory");
    raw_corpus(path, 2, words, D, zeros, block);
    free(zeros);
    FILE *f = fopen(path, "rb");
    CHILD_CHECK(f && fseek(f, 0, SEEK_END) == 0 && ftell(f) < 8 << 20, "the file is small (%ld bytes)",
                f ? ftell(f) : -1L);
    fclose(f);

    vae_corpus *c = NULL;
    vae_split_info info;
    CHILD_OK(vae_corpus_open(&c, path));
    CHILD_OK(vae_corpus_split_info(c, "train", &info));
    CHILD_CHECK(info.num_docs == D && info.nnz == 0 && info.num_tokens == 0, "%lld documents", (long long)info.num_docs);
    CHILD_OK(vae_corpus_validate_split(c, "train"));
    vae_docs d;
    vae_docs_init(&d);
    const int64_t rows[5] = {0, D / 2, D - 1, 0, 12345678};
    CHILD_OK(vae_corpus_read_docs(c, "train", rows, 5, &d));
    CHILD_CHECK(d.num_docs == 5 && d.nnz == 0 && d.indptr[5] == 0 && d.doc_index[2] == D - 1, "rows read");
    /* A whole window of the trainer's (65536 rows), the last of the split. */
    int64_t *many = malloc(65536 * sizeof *many);
    CHILD_CHECK(many != NULL, "memory");
    for (int64_t i = 0; i < 65536; i++)
        many[i] = D - 65536 + i;
    CHILD_OK(vae_corpus_read_docs(c, "train", many, 65536, &d));
    CHILD_CHECK(d.num_docs == 65536 && d.nnz == 0, "window read");
    const int64_t past = D;
    CHILD_CHECK(vae_corpus_read_docs(c, "train", &past, 1, &d) == VAE_ERR_ARG, "row D refused");
    CHILD_CHECK(strstr(vae_error_message(), "100000000") != NULL, "message names the row");

    /* The model over a batch of them: empty documents have no reconstruction term. */
    vae_model_config cfg;
    CHILD_OK(vae_model_config_init(&cfg, "bow", 2));
    vae_model *m = NULL;
    vae_loss_sums s;
    CHILD_OK(vae_model_new(&m, &cfg, 5));
    vae_model_init_params(m, 1);
    CHILD_OK(vae_corpus_read_docs(c, "train", rows, 5, &d));
    vae_step_opts o = {.beta = 1, .sample = 1, .noise_seed = 1, .noise_step = 0, .scale = 0.2f};
    CHILD_OK(vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &s));
    CHILD_CHECK(s.units == 5 && s.tokens == 0 && s.recon == 0 && isfinite(s.loss), "loss %g", s.loss);
    vae_model_free(m);
    free(many);
    vae_docs_free(&d);
    vae_corpus_free(c);
}

static void test_empty_docs_1e8(void **state) { bounded("empty_docs_1e8", empty_docs_case, 400); }

/* ---- documents of 10^7 tokens ---- */

static void long_document_case(void)
{
    enum { V = 1000 };
    char path[4096], word_buf[V][8];
    const char *words[V];
    int64_t df[V], tf[V];
    int32_t ids[V], counts[V];
    for (int i = 0; i < V; i++) {
        snprintf(word_buf[i], sizeof word_buf[i], "w%c%c%c", 'a' + i / 100, 'a' + i / 10 % 10, 'a' + i % 10);
        words[i] = word_buf[i];
        df[i] = tf[i] = 1;
        ids[i] = i;
        counts[i] = 10000;
    }
    path_in(path, sizeof path, "long.h5");
    vae_corpus_writer *w = NULL;
    const int32_t one_id = 7, one_count = 10000000, max_id = 3, max_count = INT32_MAX;
    CHILD_OK(vae_corpus_writer_new(&w, path));
    CHILD_OK(vae_corpus_writer_set_vocab(w, words, df, tf, V));
    CHILD_OK(vae_corpus_writer_add_doc(w, "train", &one_id, &one_count, 1, NULL));
    CHILD_OK(vae_corpus_writer_add_doc(w, "train", ids, counts, V, NULL));
    CHILD_OK(vae_corpus_writer_add_doc(w, "train", &max_id, &max_count, 1, NULL));
    CHILD_OK(vae_corpus_writer_commit(w));
    vae_corpus_writer_free(w);

    vae_corpus *c = NULL;
    vae_split_info info;
    CHILD_OK(vae_corpus_open(&c, path));
    CHILD_OK(vae_corpus_validate_split(c, "train"));
    CHILD_OK(vae_corpus_split_info(c, "train", &info));
    const int64_t total = 20000000LL + INT32_MAX;
    CHILD_CHECK(info.num_tokens == total, "num_tokens %lld, expected %lld", (long long)info.num_tokens,
                (long long)total);
    vae_docs d;
    vae_docs_init(&d);
    const int64_t rows[3] = {0, 1, 2};
    CHILD_OK(vae_corpus_read_docs(c, "train", rows, 3, &d));
    CHILD_CHECK(d.indptr[1] == 1 && d.counts[0] == one_count && d.indices[0] == one_id, "document 0");
    int64_t sum = 0;
    for (int64_t k = d.indptr[1]; k < d.indptr[2]; k++)
        sum += d.counts[k];
    CHILD_CHECK(d.indptr[2] - d.indptr[1] == V && sum == 10000000, "document 1: %lld tokens", (long long)sum);
    CHILD_CHECK(d.counts[d.nnz - 1] == INT32_MAX, "document 2");

    /* The model: finite loss for each input transform; tokens summed without overflow. */
    static const char *const inputs[] = {"log1p", "counts", "l1"};
    for (int input = 0; input < 3; input++) {
        vae_model_config cfg;
        CHILD_OK(vae_model_config_init(&cfg, "bow", V));
        CHILD_OK(vae_model_config_set(&cfg, "input_transform", inputs[input]));
        vae_model *m = NULL;
        vae_loss_sums s;
        CHILD_OK(vae_model_new(&m, &cfg, 3));
        vae_model_init_params(m, 1);
        vae_step_opts o = {.beta = 1, .sample = 0, .noise_seed = 1, .noise_step = 0, .scale = 1.0f / 3};
        const int rc = vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &s);
        /* counts as raw input (10^9 and more) may overflow float activations: then refused, not NaN. */
        CHILD_CHECK(rc == VAE_OK || rc == VAE_ERR_NUMERIC, "forward with input %d: %d", input, rc);
        if (rc == VAE_OK && strcmp(inputs[input], "counts") != 0)
            CHILD_CHECK(isfinite(s.loss) && s.loss > 0 && s.tokens == (double)total, "input %d: loss %g tokens %g",
                        input, s.loss, s.tokens);
        vae_model_free(m);
    }
    vae_docs_free(&d);
    vae_corpus_free(c);

    /* The tokenizer: a 30 MB text of 10^7 tokens of one word, counted exactly. */
    const size_t n_tokens = 10000000;
    char *text = malloc(3 * n_tokens);
    CHILD_CHECK(text != NULL, "memory");
    for (size_t i = 0; i < n_tokens; i++)
        memcpy(text + 3 * i, i % 2 ? "ab\n" : "Ab ", 3);
    vae_wordtab *vocab = NULL;
    vae_bow *b = NULL;
    vae_tokenizer t;
    vae_tokenizer_init(&t);
    static const char *const bow_words[2] = {"zz", "ab"};
    CHILD_OK(vae_wordtab_from_words(&vocab, bow_words, 2));
    CHILD_OK(vae_bow_new(&b, 2));
    CHILD_OK(vae_bow_from_text(b, &t, vocab, text, 3 * n_tokens));
    CHILD_CHECK(b->nnz == 1 && b->ids[0] == 1 && b->counts[0] == (int32_t)n_tokens &&
                    b->num_tokens == (int64_t)n_tokens && b->num_unknown == 0,
                "bag of words of 10^7 tokens: nnz %lld count %d", (long long)b->nnz, b->counts[0]);
    vae_bow_free(b);
    vae_wordtab_free(vocab);
    free(text);
}

static void test_long_document(void **state) { bounded("long_document", long_document_case, 400); }

/* ---- 10^6 words ---- */

/* Word i: 'v' and five letters, base 26 (all tokens of the tokenizer, all distinct). */
static void word_of(int64_t i, char *buf)
{
    buf[0] = 'v';
    for (int k = 5; k >= 1; k--, i /= 26)
        buf[k] = (char)('a' + i % 26);
    buf[6] = '\0';
}

static void vocab_1e6_case(void)
{
    const int64_t V = 1000000;
    char path[4096], ckpt[4096];
    char *chars = malloc((size_t)V * 7);
    const char **words = malloc((size_t)V * sizeof *words);
    int64_t *freq = malloc((size_t)V * sizeof *freq);
    int32_t *ids = malloc((size_t)V * sizeof *ids), *counts = malloc((size_t)V * sizeof *counts);
    CHILD_CHECK(chars && words && freq && ids && counts, "memory");
    for (int64_t i = 0; i < V; i++) {
        word_of(i, chars + 7 * i);
        words[i] = chars + 7 * i;
        freq[i] = 1;
        ids[i] = (int32_t)i;
        counts[i] = 1 + (int32_t)(i % 3);
    }
    path_in(path, sizeof path, "vocab.h5");
    vae_corpus_writer *w = NULL;
    CHILD_OK(vae_corpus_writer_new(&w, path));
    CHILD_OK(vae_corpus_writer_set_vocab(w, words, freq, freq, V));
    CHILD_OK(vae_corpus_writer_add_doc(w, "train", ids, counts, V, NULL));
    CHILD_OK(vae_corpus_writer_add_doc(w, "train", ids + V / 2, counts, 10, NULL));
    CHILD_OK(vae_corpus_writer_commit(w));
    vae_corpus_writer_free(w);

    vae_corpus *c = NULL;
    CHILD_OK(vae_corpus_open(&c, path));
    CHILD_CHECK(vae_corpus_vocab_size(c) == V, "vocab_size");
    CHILD_OK(vae_corpus_validate_split(c, "train"));
    const char *const *read_words;
    const int64_t *df, *tf;
    CHILD_OK(vae_corpus_vocab(c, &read_words, &df, &tf));
    for (int64_t i = 0; i < V; i += 99991)
        CHILD_CHECK(strcmp(read_words[i], words[i]) == 0, "word %lld", (long long)i);
    vae_docs d;
    vae_docs_init(&d);
    const int64_t rows[2] = {1, 0};
    CHILD_OK(vae_corpus_read_docs(c, "train", rows, 2, &d));
    CHILD_CHECK(d.nnz == V + 10 && d.indices[10 + V - 1] == V - 1, "rows read");

    /* The bag of words over the whole vocabulary: a text of 10^4 of its words. */
    vae_wordtab *vocab = NULL;
    vae_bow *b = NULL;
    vae_tokenizer t;
    vae_tokenizer_init(&t);
    CHILD_OK(vae_wordtab_from_words(&vocab, read_words, V));
    CHILD_OK(vae_bow_new(&b, V));
    char *text = malloc(10000 * 7);
    CHILD_CHECK(text != NULL, "memory");
    for (int i = 0; i < 10000; i++) {
        word_of((int64_t)(i % 5000) * 199, text + 7 * i);
        text[7 * i + 6] = ' ';
    }
    CHILD_OK(vae_bow_from_text(b, &t, vocab, text, 10000 * 7));
    CHILD_CHECK(b->nnz == 5000 && b->num_tokens == 10000 && b->counts[4999] == 2, "bag of words: nnz %lld",
                (long long)b->nnz);
    free(text);
    vae_bow_free(b);
    vae_wordtab_free(vocab);

    /* A model over 10^6 words, a forward pass over both rows, a checkpoint written and read back. */
    vae_model_config cfg;
    CHILD_OK(vae_model_config_init(&cfg, "bow", V));
    CHILD_OK(vae_model_config_set(&cfg, "encoder_hidden", "8"));
    CHILD_OK(vae_model_config_set(&cfg, "decoder_hidden", ""));
    CHILD_OK(vae_model_config_set(&cfg, "latent", "2"));
    vae_model *m = NULL;
    vae_loss_sums s;
    CHILD_OK(vae_model_new(&m, &cfg, 2));
    vae_model_init_params(m, 3);
    vae_step_opts o = {.beta = 1, .sample = 1, .noise_seed = 1, .noise_step = 0, .scale = 0.5f};
    CHILD_OK(vae_model_forward(m, &(vae_batch){.docs = &d}, &o, &s));
    CHILD_CHECK(isfinite(s.loss) && s.loss > 0, "loss %g", s.loss);
    path_in(ckpt, sizeof ckpt, "vocab-ckpt.h5");
    vae_checkpoint_data data = {.model = vae_model_config_of(m), .layout = vae_model_layout(m),
                                .params = vae_model_params(m), .words = read_words};
    vae_checkpoint_state state = {.step = 1, .epoch = 0, .step_in_epoch = 1, .optim_t = 1, .seed = 3,
                                  .config_json = "{}"};
    CHILD_OK(vae_checkpoint_write(ckpt, &data, &state));
    vae_model_free(m);
    vae_docs_free(&d);
    vae_corpus_free(c);
    vae_checkpoint *ck = NULL;
    const char *const *ck_words;
    int64_t ck_V = 0;
    CHILD_OK(vae_checkpoint_open(&ck, ckpt));
    CHILD_OK(vae_checkpoint_vocab(ck, &ck_words, &ck_V));
    CHILD_CHECK(ck_V == V && strcmp(ck_words[V - 1], words[V - 1]) == 0, "checkpoint vocabulary");
    vae_checkpoint_free(ck);
    free(chars);
    free(words);
    free(freq);
    free(ids);
    free(counts);
}

static void test_vocab_1e6(void **state) { bounded("vocab_1e6", vocab_1e6_case, 1200); }

/* ---- vocabularies declared, not stored ---- */

static void vocab_declared(int64_t V, const char *name)
{
    char path[4096];
    const int64_t zero[1] = {0};
    path_in(path, sizeof path, name);
    raw_corpus(path, V, NULL, 1, zero, 1);
    vae_corpus *c = NULL;
    vae_error_clear();
    const int rc = vae_corpus_open(&c, path);
    CHILD_CHECK(rc == VAE_ERR_FORMAT && c == NULL, "open returned %d", rc);
    const char *msg = vae_error_message();
    CHILD_CHECK(strstr(msg, path) && strstr(msg, "/vocab/words") && strstr(msg, "word 0"),
                "message \"%s\" names the file, /vocab/words and word 0", msg);
}

static void vocab_declared_max_case(void) { vocab_declared(INT32_MAX, "declared-max.h5"); }
static void vocab_declared_1e8_case(void) { vocab_declared(100000000, "declared-1e8.h5"); }

static void test_vocab_declared(void **state)
{
    bounded("vocab_declared_2^31-1", vocab_declared_max_case, 200);
    bounded("vocab_declared_1e8", vocab_declared_1e8_case, 200);
}

static int group_setup(void **state)
{
    strcpy(tmpdir, "/tmp/test_hostile.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    DIR *d = opendir(tmpdir);
    char path[4096];
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') {
            path_in(path, sizeof path, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_declared),
        cmocka_unit_test(test_empty_docs_1e8),
        cmocka_unit_test(test_long_document),
        cmocka_unit_test(test_vocab_1e6),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
