/* libFuzzer harness: the corpus reader over arbitrary files. The input is written to a scratch
 * file and opened with vae_corpus_open; then, for each split present, vae_corpus_validate_split
 * and vae_corpus_read_docs of a few rows (first, second, middle, last, one twice), the same of its
 * sequences with vae_corpus_read_seqs, the document names, the vocabulary, a float dataset and the
 * root attributes.
 *
 * Checked: every failure names the file; a split that validates reads its rows and sequences; rows
 * read are CSR that the format allows (ids increasing in [0, V), counts > 0), in the order asked;
 * sequences read have 1..max_length ids in [0, V] and documents in the split, not decreasing along
 * the sequences; the vocabulary has V valid words. The seeds (tests/fuzz/seeds/corpus/) are small
 * valid corpora written by the library's writer (seqs.h5 with sequences), so that most mutations
 * get through HDF5 to our checks. */
#include "fuzz_common.h"
#include "fuzz_harnesses.h"

#include "corpus_internal.h"
#include "vae/corpus.h"

static void check_docs(const vae_docs *d, const int64_t *rows, int64_t n, int64_t V)
{
    FUZZ_CHECK(d->num_docs == n && d->indptr[0] == 0 && d->indptr[n] == d->nnz, "shape of the rows read");
    for (int64_t i = 0; i < n; i++) {
        FUZZ_CHECK(d->doc_index[i] == rows[i], "row %lld holds document %lld, asked %lld", (long long)i,
                   (long long)d->doc_index[i], (long long)rows[i]);
        FUZZ_CHECK(d->indptr[i + 1] >= d->indptr[i] && d->indptr[i + 1] - d->indptr[i] <= V, "row %lld length",
                   (long long)i);
        for (int64_t k = d->indptr[i]; k < d->indptr[i + 1]; k++) {
            FUZZ_CHECK(d->indices[k] >= 0 && d->indices[k] < V, "row %lld: id %d", (long long)i, d->indices[k]);
            FUZZ_CHECK(k == d->indptr[i] || d->indices[k] > d->indices[k - 1], "row %lld: ids not increasing",
                       (long long)i);
            FUZZ_CHECK(d->counts[k] > 0, "row %lld: count %d", (long long)i, d->counts[k]);
        }
    }
    /* A document asked twice reads the same both times. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++)
            if (rows[i] == rows[j]) {
                const int64_t len = d->indptr[i + 1] - d->indptr[i];
                FUZZ_CHECK(len == d->indptr[j + 1] - d->indptr[j] &&
                               memcmp(d->indices + d->indptr[i], d->indices + d->indptr[j],
                                      (size_t)len * sizeof(int32_t)) == 0 &&
                               memcmp(d->counts + d->indptr[i], d->counts + d->indptr[j],
                                      (size_t)len * sizeof(int32_t)) == 0,
                           "document %lld read twice differs", (long long)rows[i]);
            }
}

/* Rows read as seqs hold sequences want[0..n) (sorted here: they are asked in increasing order). */
static void check_seqs(const vae_seqs *q, const int64_t *want, int64_t n, const vae_split_info *info, int64_t V)
{
    FUZZ_CHECK(q->num_seqs == n && q->indptr[0] == 0 && q->indptr[n] == q->num_tokens, "shape of the sequences read");
    for (int64_t i = 0; i < n; i++) {
        const int64_t len = q->indptr[i + 1] - q->indptr[i];
        FUZZ_CHECK(q->seq_index[i] == want[i], "sequence %lld is %lld, asked %lld", (long long)i,
                   (long long)q->seq_index[i], (long long)want[i]);
        FUZZ_CHECK(len >= 1 && len <= info->max_length, "sequence %lld: length %lld", (long long)i, (long long)len);
        FUZZ_CHECK(q->doc[i] >= 0 && q->doc[i] < info->num_docs && (i == 0 || q->doc[i] >= q->doc[i - 1]),
                   "sequence %lld: document %lld", (long long)i, (long long)q->doc[i]);
        for (int64_t k = q->indptr[i]; k < q->indptr[i + 1]; k++)
            FUZZ_CHECK(q->tokens[k] >= 0 && q->tokens[k] <= V, "sequence %lld: id %d", (long long)i, q->tokens[k]);
    }
}

static void fuzz_seqs(vae_corpus *c, const char *path, const char *split, const vae_split_info *info, int validated)
{
    vae_seqs q;
    vae_seqs_init(&q);
    int64_t want[4], n = 0;
    const int64_t S = info->num_seqs, from[4] = {0, 1, S / 2, S - 1};
    for (int i = 0; i < 4; i++)
        if (from[i] >= 0 && from[i] < S && (n == 0 || from[i] > want[n - 1]))
            want[n++] = from[i];
    const int rc = vae_corpus_read_seqs(c, split, want, n, &q);
    if (!info->has_seqs) {
        FUZZ_CHECK(rc == VAE_ERR_FORMAT, "split %s has no sequences, yet read_seqs returned %d", split, rc);
        FUZZ_CHECK_NAMES_FILE(rc, path);
    } else if (rc == VAE_OK) {
        check_seqs(&q, want, n, info, vae_corpus_vocab_size(c));
    } else {
        FUZZ_CHECK_NAMES_FILE(rc, path);
        FUZZ_CHECK(validated != VAE_OK, "split %s validates, yet reading sequences fails: %s", split,
                   vae_error_message());
        FUZZ_CHECK(q.num_seqs == 0 && q.num_tokens == 0, "a failed read returned sequences");
    }
    const int64_t bad[2] = {-1, S};
    FUZZ_CHECK(!info->has_seqs || (vae_corpus_read_seqs(c, split, &bad[0], 1, &q) == VAE_ERR_ARG &&
                                   vae_corpus_read_seqs(c, split, &bad[1], 1, &q) == VAE_ERR_ARG),
               "split %s: sequences -1 and %lld not refused", split, (long long)S);
    vae_seqs_free(&q);
}

static void fuzz_split(vae_corpus *c, const char *path, const char *split)
{
    vae_split_info info;
    FUZZ_CHECK(vae_corpus_split_info(c, split, &info) == VAE_OK, "%s", vae_error_message());
    if (!info.present)
        return;
    const int64_t D = info.num_docs, V = vae_corpus_vocab_size(c);
    FUZZ_CHECK(D >= 0 && info.nnz >= 0 && info.num_tokens >= 0, "split %s: counts", split);
    const int validated = vae_corpus_validate_split(c, split);
    if (validated != VAE_OK)
        FUZZ_CHECK_NAMES_FILE(validated, path);
    int64_t rows[6];
    int64_t n = 0;
    const int64_t want[6] = {0, 1, D / 2, D - 1, 0, D / 3};
    for (int i = 0; i < 6; i++)
        if (want[i] >= 0 && want[i] < D)
            rows[n++] = want[i];
    vae_docs d;
    vae_docs_init(&d);
    const int rc = vae_corpus_read_docs(c, split, rows, n, &d);
    if (rc == VAE_OK)
        check_docs(&d, rows, n, V);
    else {
        FUZZ_CHECK_NAMES_FILE(rc, path);
        FUZZ_CHECK(validated != VAE_OK, "split %s validates, yet reading rows fails: %s", split,
                   vae_error_message());
        FUZZ_CHECK(d.num_docs == 0 && d.nnz == 0, "a failed read returned rows");
    }
    /* One row at a time reads the same. */
    if (rc == VAE_OK && n > 0) {
        vae_docs one;
        vae_docs_init(&one);
        FUZZ_CHECK(vae_corpus_read_docs(c, split, &rows[n - 1], 1, &one) == VAE_OK, "%s", vae_error_message());
        const int64_t len = one.indptr[1];
        FUZZ_CHECK(len == d.indptr[n] - d.indptr[n - 1] &&
                       memcmp(one.indices, d.indices + d.indptr[n - 1], (size_t)len * sizeof(int32_t)) == 0,
                   "row %lld read alone differs", (long long)rows[n - 1]);
        vae_docs_free(&one);
    }
    /* Out of range is refused, never read. */
    const int64_t bad[2] = {-1, D};
    FUZZ_CHECK(vae_corpus_read_docs(c, split, &bad[0], 1, &d) == VAE_ERR_ARG &&
                   vae_corpus_read_docs(c, split, &bad[1], 1, &d) == VAE_ERR_ARG,
               "split %s: rows -1 and %lld not refused", split, (long long)D);
    vae_docs_free(&d);
    fuzz_seqs(c, path, split, &info, validated);
    if (info.has_doc_ids && n > 0) {
        char *names[6];
        const int got = vae_corpus_read_doc_ids(c, split, rows, n, names);
        if (got == VAE_OK)
            for (int64_t i = 0; i < n; i++)
                free(names[i]);
        else
            FUZZ_CHECK_NAMES_FILE(got, path);
    }
}

int fuzz_corpus_one(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(0, data, size);
    vae_corpus *c = NULL;
    int rc = vae_corpus_open(&c, path);
    if (rc != VAE_OK) {
        FUZZ_CHECK(c == NULL, "a failed open returned a corpus");
        FUZZ_CHECK_NAMES_FILE(rc, path);
        return 0;
    }
    const int64_t V = vae_corpus_vocab_size(c);
    FUZZ_CHECK(V >= 1 && V <= INT32_MAX, "vocab_size %lld", (long long)V);
    static const char *const splits[3] = {"train", "valid", "test"};
    for (int i = 0; i < 3; i++)
        fuzz_split(c, path, splits[i]);
    const char *const *words;
    const int64_t *df, *tf;
    rc = vae_corpus_vocab(c, &words, &df, &tf);
    if (rc == VAE_OK) {
        for (int64_t w = 0; w < V; w++) {
            FUZZ_CHECK(words[w] && vae_word_problem(words[w]) == NULL, "word %lld", (long long)w);
            FUZZ_CHECK(df[w] >= 0 && tf[w] >= 0, "word %lld: frequencies", (long long)w);
        }
    } else {
        FUZZ_CHECK_NAMES_FILE(rc, path);
    }
    float *floats = NULL;
    int64_t r = 0, cols = 0;
    if (vae_corpus_read_floats(c, "/synthetic/topics", &floats, &r, &cols) == VAE_OK)
        free(floats);
    char buf[64];
    int64_t value;
    (void)vae_corpus_get_attr_str(c, "tokenizer", buf, sizeof buf);
    (void)vae_corpus_get_attr_int(c, "tokenizer_min_len", &value);
    vae_corpus_free(c);
    return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_corpus_one(data, size); }
#endif
