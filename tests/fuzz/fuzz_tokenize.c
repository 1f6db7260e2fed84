/* libFuzzer harness: the tokenizer "letters-v1" (vae_tokenize) and the text -> bag of words map
 * (vae_bow_from_text) over arbitrary bytes.
 *
 * Input: byte 0 chooses the settings (min_len 1..4, keep_digits, stopwords on or off, how many
 * filler words pad the vocabulary: 0..3500, which switches vae_bow's id ordering between its
 * bitmap and its sort), byte 1 max_len (min_len + 0..63, or the limit 1000 when byte 0's top bit is
 * set); the rest is the text. Checked: every token is valid UTF-8 of min_len..max_len letters,
 * folded, no stopword; the bag of words over a vocabulary made of two thirds of the text's own
 * tokens counts exactly what the tokenizer produced (ids increasing, counts > 0, known + unknown =
 * all tokens), leaves its scratch clear, and gives the same result when run again. */
#include "fuzz_common.h"
#include "fuzz_harnesses.h"

#include "corpus_internal.h"
#include "tokenize.h"
#include "vocab.h"

typedef struct {
    const vae_tokenizer *t;
    vae_wordtab *seen; /* every distinct token, in order of first appearance */
    int64_t *seq;      /* the token ids in seen, in text order */
    int64_t n, cap;
    int64_t stop_after; /* > 0: return 7 from this token on */
} tok_ctx;

static int take_token(void *pctx, const char *token, size_t len)
{
    tok_ctx *c = pctx;
    const vae_tokenizer *t = c->t;
    char word[4 * VAE_TOKEN_LEN_LIMIT + 1];
    FUZZ_CHECK(len > 0 && len <= 4 * (size_t)t->max_len, "token of %zu bytes, max_len %d", len, t->max_len);
    memcpy(word, token, len);
    word[len] = '\0';
    FUZZ_CHECK(strlen(word) == len, "token holds a NUL byte");
    FUZZ_CHECK(vae_word_problem(word) == NULL, "token '%s' %s", word, vae_word_problem(word));
    size_t letters = 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned char b = (unsigned char)word[i];
        if (b < 0x80)
            FUZZ_CHECK((b >= 'a' && b <= 'z') || (t->keep_digits && b >= '0' && b <= '9'),
                       "ASCII byte 0x%02x in token '%s'", b, word);
        letters += (b & 0xC0) != 0x80;
    }
    FUZZ_CHECK(letters >= (size_t)t->min_len && letters <= (size_t)t->max_len, "token '%s' has %zu letters", word,
               letters);
    FUZZ_CHECK(!t->stopwords || vae_wordtab_find(t->stopwords, token, len) < 0, "stopword '%s' kept", word);
    if (c->stop_after > 0)
        return ++c->n >= c->stop_after ? 7 : VAE_OK;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->seq = realloc(c->seq, (size_t)c->cap * sizeof *c->seq);
        FUZZ_CHECK(c->seq != NULL, "out of memory");
    }
    int64_t id;
    FUZZ_CHECK(vae_wordtab_add(c->seen, token, len, &id) == VAE_OK, "%s", vae_error_message());
    c->seq[c->n++] = id;
    return VAE_OK;
}

static void check_bow(const vae_bow *b, const int64_t *expected, int64_t total)
{
    int64_t sum = 0;
    for (int64_t k = 0; k < b->nnz; k++) {
        FUZZ_CHECK(b->ids[k] >= 0 && b->ids[k] < b->vocab_size, "id %d", b->ids[k]);
        FUZZ_CHECK(k == 0 || b->ids[k] > b->ids[k - 1], "ids not increasing at %lld", (long long)k);
        FUZZ_CHECK(b->counts[k] > 0 && b->counts[k] == expected[b->ids[k]], "word %d: count %d, expected %lld",
                   b->ids[k], b->counts[k], (long long)expected[b->ids[k]]);
        sum += b->counts[k];
    }
    int64_t distinct = 0;
    for (int64_t w = 0; w < b->vocab_size; w++) {
        distinct += expected[w] > 0;
        FUZZ_CHECK(b->dense[w] == 0, "scratch not cleared at %lld", (long long)w);
    }
    for (int64_t w = 0; w < (b->vocab_size + 63) / 64; w++)
        FUZZ_CHECK(b->seen[w] == 0, "bitmap not cleared at %lld", (long long)w);
    FUZZ_CHECK(distinct == b->nnz, "%lld distinct words, nnz %lld", (long long)distinct, (long long)b->nnz);
    FUZZ_CHECK(sum == b->num_tokens && b->num_tokens + b->num_unknown == total,
               "sum %lld, num_tokens %lld, unknown %lld, tokens %lld", (long long)sum, (long long)b->num_tokens,
               (long long)b->num_unknown, (long long)total);
}

int fuzz_tokenize_one(const uint8_t *data, size_t size)
{
    static const char *const stop[] = {"the", "and", "of", "na\xC3\xAFve", "ab", "\xE6\x97\xA5\xE6\x9C\xAC"};
    if (size < 2)
        return 0;
    vae_tokenizer t;
    vae_tokenizer_init(&t);
    t.min_len = 1 + (data[0] & 3);
    t.max_len = data[0] & 0x80 ? VAE_TOKEN_LEN_LIMIT : t.min_len + (data[1] & 63);
    t.keep_digits = data[0] >> 2 & 1;
    const int64_t pad = (data[0] >> 4 & 7) * 500;
    vae_wordtab *stopwords = NULL, *vocab = NULL;
    if (data[0] >> 3 & 1) {
        FUZZ_CHECK(vae_wordtab_from_words(&stopwords, stop, 6) == VAE_OK, "%s", vae_error_message());
        t.stopwords = stopwords;
    }
    const char *text = (const char *)data + 2;
    const size_t n = size - 2;

    tok_ctx c = {.t = &t};
    FUZZ_CHECK(vae_wordtab_new(&c.seen) == VAE_OK, "%s", vae_error_message());
    FUZZ_CHECK(vae_tokenize(&t, text, n, take_token, &c) == VAE_OK, "%s", vae_error_message());

    /* A non-zero return from the callback stops the walk and is returned. */
    if (c.n > 0) {
        tok_ctx s = {.t = &t, .stop_after = (c.n + 1) / 2};
        FUZZ_CHECK(vae_tokenize(&t, text, n, take_token, &s) == 7 && s.n == s.stop_after,
                   "stopping after %lld tokens", (long long)s.stop_after);
    }

    /* The vocabulary: filler words that no text yields (they hold a control byte), then every
     * distinct token but each third. */
    const int64_t distinct = vae_wordtab_size(c.seen);
    int64_t *to_vocab = malloc((size_t)(distinct + 1) * sizeof *to_vocab);
    FUZZ_CHECK(to_vocab != NULL && vae_wordtab_new(&vocab) == VAE_OK, "out of memory");
    for (int64_t i = 0; i < pad; i++) {
        char filler[32];
        int len = snprintf(filler, sizeof filler, "\x01%lld", (long long)i);
        FUZZ_CHECK(vae_wordtab_add(vocab, filler, (size_t)len, NULL) == VAE_OK, "%s", vae_error_message());
    }
    for (int64_t i = 0; i < distinct; i++) {
        to_vocab[i] = -1;
        if (i % 3 != 2) {
            const char *w = vae_wordtab_word(c.seen, i);
            FUZZ_CHECK(vae_wordtab_add(vocab, w, strlen(w), &to_vocab[i]) == VAE_OK, "%s", vae_error_message());
        }
    }
    const int64_t V = vae_wordtab_size(vocab);
    int64_t *expected = calloc((size_t)V + 1, sizeof *expected);
    FUZZ_CHECK(expected != NULL, "out of memory");
    for (int64_t i = 0; i < c.n; i++)
        if (to_vocab[c.seq[i]] >= 0)
            expected[to_vocab[c.seq[i]]]++;

    if (V > 0) {
        vae_bow *b = NULL;
        FUZZ_CHECK(vae_bow_new(&b, V) == VAE_OK, "%s", vae_error_message());
        for (int round = 0; round < 2; round++) {
            FUZZ_CHECK(vae_bow_from_text(b, &t, vocab, text, n) == VAE_OK, "%s", vae_error_message());
            check_bow(b, expected, c.n);
        }
        vae_bow_free(b);
    }

    free(expected);
    free(to_vocab);
    free(c.seq);
    vae_wordtab_free(vocab);
    vae_wordtab_free(c.seen);
    vae_wordtab_free(stopwords);
    return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tokenize_one(data, size); }
#endif
