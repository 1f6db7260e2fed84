/* Tests of the tokenizer "letters-v1", the stopword sets and the text -> bag of words map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenize.h"
#include "vae/common.h"

/* The tokens of a text joined by '|' (each followed by one), so one string compare checks them all. */
typedef struct {
    char out[8192];
    size_t n;
} joined;

static int join_token(void *ctx, const char *token, size_t len)
{
    joined *j = ctx;
    assert_true(j->n + len + 1 < sizeof j->out);
    memcpy(j->out + j->n, token, len);
    j->n += len;
    j->out[j->n++] = '|';
    j->out[j->n] = '\0';
    return VAE_OK;
}

static const char *tokens_n(const vae_tokenizer *t, const char *text, size_t n)
{
    static joined j;
    j.n = 0;
    j.out[0] = '\0';
    assert_int_equal(vae_tokenize(t, text, n, join_token, &j), VAE_OK);
    return j.out;
}

static const char *tokens(const vae_tokenizer *t, const char *text)
{
    return tokens_n(t, text, strlen(text));
}

static vae_tokenizer plain(void)
{
    vae_tokenizer t;
    vae_tokenizer_init(&t);
    return t;
}

static void test_ascii_case_folding(void **state)
{
    vae_tokenizer t = plain();
    assert_string_equal(tokens(&t, "Hello, WORLD! mIxEd-case"), "hello|world|mixed|case|");
    assert_string_equal(tokens(&t, "tab\tnew\nline"), "tab|new|line|");
}

static void test_multibyte_letters_kept_as_is(void **state)
{
    vae_tokenizer t = plain();
    /* only ASCII is folded: the accented capital stays, the rest of the word is lowered */
    assert_string_equal(tokens(&t, "café naïve ÉCOLE Москва 東京"), "café|naïve|École|Москва|東京|");
    /* 4-byte sequences (outside the BMP) are letters too */
    assert_string_equal(tokens(&t, "x\xF0\x9F\x98\x80y"), "x\xF0\x9F\x98\x80y|");
}

static void test_invalid_utf8_bytes_separate(void **state)
{
    vae_tokenizer t = plain();
    assert_string_equal(tokens(&t, "ab\x80" "cd"), "ab|cd|");             /* lone continuation */
    assert_string_equal(tokens(&t, "ab\xC0\xAF" "cd"), "ab|cd|");         /* overlong '/' */
    assert_string_equal(tokens(&t, "ab\xE0\x80\xAF" "cd"), "ab|cd|");     /* overlong, 3 bytes */
    assert_string_equal(tokens(&t, "ab\xED\xA0\x80" "cd"), "ab|cd|");     /* a surrogate */
    assert_string_equal(tokens(&t, "ab\xF4\x90\x80\x80" "cd"), "ab|cd|"); /* above U+10FFFF */
    assert_string_equal(tokens(&t, "ab\xF5\x80\x80\x80" "cd"), "ab|cd|"); /* never a lead byte */
    assert_string_equal(tokens(&t, "ab\xE2\x82" "cd"), "ab|cd|");         /* cut short */
    assert_string_equal(tokens(&t, "ab\xFF\xFE" "cd"), "ab|cd|");
    /* a sequence cut by the end of the text must not be read past it */
    assert_string_equal(tokens_n(&t, "abc\xE2\x82\xAC", 5), "abc|");
    assert_string_equal(tokens_n(&t, "ab\xF0", 3), "ab|");
    /* NUL is a separator, not an end */
    assert_string_equal(tokens_n(&t, "ab\0cd", 5), "ab|cd|");
}

static void test_unicode_punctuation_separates(void **state)
{
    vae_tokenizer t = plain();
    /* curly quotes, em dash, no-break space, byte order mark, replacement character, ideographic full stop */
    assert_string_equal(tokens(&t, "\xE2\x80\x9Cquoted\xE2\x80\x9D\xE2\x80\x94" "dash\xC2\xA0nbsp"),
                        "quoted|dash|nbsp|");
    assert_string_equal(tokens(&t, "\xEF\xBB\xBF" "bom\xEF\xBF\xBD" "fffd"), "bom|fffd|");
    assert_string_equal(tokens(&t, "東京\xE3\x80\x82大阪"), "東京|大阪|");
    /* the zero-width joiners stay inside words */
    assert_string_equal(tokens(&t, "ab\xE2\x80\x8C" "cd"), "ab\xE2\x80\x8C" "cd|");
}

static void test_huge_token_dropped(void **state)
{
    vae_tokenizer t = plain();
    size_t n = 1 << 20;
    char *text = malloc(n + 16);
    assert_non_null(text);
    memset(text, 'A', n);
    strcpy(text + n, " ok");
    assert_string_equal(tokens(&t, text), "ok|");
    free(text);
}

static void test_length_limits_count_letters(void **state)
{
    vae_tokenizer t = plain();
    t.max_len = 5;
    assert_string_equal(tokens(&t, "a bb ccccc dddddd"), "bb|ccccc|");
    /* é is two bytes but one letter */
    t.min_len = 2;
    t.max_len = 3;
    assert_string_equal(tokens(&t, "é éé ééé éééé"), "éé|ééé|");
    t.min_len = 1;
    assert_string_equal(tokens(&t, "a é"), "a|é|");
}

static void test_empty_and_blank_text(void **state)
{
    vae_tokenizer t = plain();
    assert_string_equal(tokens(&t, ""), "");
    assert_string_equal(tokens_n(&t, NULL, 0), "");
    assert_string_equal(tokens(&t, " \r\n\t .,;"), "");
}

static void test_crlf(void **state)
{
    vae_tokenizer t = plain();
    assert_string_equal(tokens(&t, "one\r\ntwo\r\n\r\nthree"), "one|two|three|");
}

static void test_digits(void **state)
{
    vae_tokenizer t = plain();
    assert_string_equal(tokens(&t, "abc123def 2024 x1y mp3"), "abc|def|mp|");
    t.keep_digits = 1;
    assert_string_equal(tokens(&t, "abc123def 2024 x1y mp3 7"), "abc123def|2024|x1y|mp3|");
}

static void test_builtin_english_stopwords(void **state)
{
    vae_wordtab *en = NULL;
    assert_int_equal(vae_stopwords_load(&en, "en"), VAE_OK);
    assert_non_null(en);
    vae_tokenizer t = plain();
    t.stopwords = en;
    /* folding comes first, so THE is a stopword too; "don't" leaves "don" and "t" */
    assert_string_equal(tokens(&t, "The cat and THE dog don't sit"), "cat|dog|sit|");
    vae_wordtab_free(en);
}

static void test_no_stopwords(void **state)
{
    vae_wordtab *none = (vae_wordtab *)1;
    assert_int_equal(vae_stopwords_load(&none, "none"), VAE_OK);
    assert_null(none);
    vae_tokenizer t = plain();
    assert_string_equal(tokens(&t, "The cat and the dog"), "the|cat|and|the|dog|");
}

static void test_stopword_file(void **state)
{
    char path[] = "/tmp/test_tokenize_stopXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *content = "Cat\r\n# a comment\n\n  dog  \nfish";
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    vae_wordtab *sw = NULL;
    assert_int_equal(vae_stopwords_load(&sw, path), VAE_OK);
    unlink(path);
    assert_int_equal(vae_wordtab_size(sw), 3);
    vae_tokenizer t = plain();
    t.stopwords = sw;
    assert_string_equal(tokens(&t, "the CAT chased a dog and a fish"), "the|chased|and|");
    vae_wordtab_free(sw);
}

static void test_stopword_file_missing(void **state)
{
    vae_wordtab *sw = NULL;
    vae_error_clear();
    assert_int_equal(vae_stopwords_load(&sw, "/nonexistent/stop.txt"), VAE_ERR_IO);
    assert_null(sw);
    assert_non_null(strstr(vae_error_message(), "/nonexistent/stop.txt"));
}

static int stop_at_second(void *ctx, const char *token, size_t len)
{
    int *seen = ctx;
    return ++*seen == 2 ? VAE_ERR_ARG : VAE_OK;
}

static void test_callback_stops(void **state)
{
    vae_tokenizer t = plain();
    int seen = 0;
    assert_int_equal(vae_tokenize(&t, "one two three", 13, stop_at_second, &seen), VAE_ERR_ARG);
    assert_int_equal(seen, 2);
}

static void test_bad_settings(void **state)
{
    vae_tokenizer t = plain();
    t.min_len = 0;
    vae_error_clear();
    assert_int_equal(vae_tokenizer_check(&t), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "min token length"));
    t = plain();
    t.max_len = 1;
    assert_int_equal(vae_tokenize(&t, "ab", 2, join_token, NULL), VAE_ERR_ARG);
    t = plain();
    t.max_len = VAE_TOKEN_LEN_LIMIT + 1;
    assert_int_equal(vae_tokenizer_check(&t), VAE_ERR_ARG);
}

static void test_bow_sorted_ids_and_counts(void **state)
{
    /* ids in the vocabulary's order, which is not alphabetical */
    const char *words[] = {"zebra", "dog", "cat"};
    vae_wordtab *vocab = NULL;
    vae_bow *b = NULL;
    assert_int_equal(vae_wordtab_from_words(&vocab, words, 3), VAE_OK);
    assert_int_equal(vae_bow_new(&b, 3), VAE_OK);
    vae_tokenizer t = plain();
    const char *text = "Cat dog bird cat ZEBRA cat";
    assert_int_equal(vae_bow_from_text(b, &t, vocab, text, strlen(text)), VAE_OK);
    assert_int_equal(b->nnz, 3);
    int32_t ids[] = {0, 1, 2}, counts[] = {1, 1, 3};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(b->ids[k], ids[k]);
        assert_int_equal(b->counts[k], counts[k]);
    }
    assert_int_equal(b->num_tokens, 5);
    assert_int_equal(b->num_unknown, 1);
    /* a second text starts from nothing */
    text = "dog dog";
    assert_int_equal(vae_bow_from_text(b, &t, vocab, text, strlen(text)), VAE_OK);
    assert_int_equal(b->nnz, 1);
    assert_int_equal(b->ids[0], 1);
    assert_int_equal(b->counts[0], 2);
    assert_int_equal(b->num_unknown, 0);
    assert_int_equal(vae_bow_from_text(b, &t, vocab, "", 0), VAE_OK);
    assert_int_equal(b->nnz, 0);
    assert_int_equal(b->num_tokens, 0);
    vae_bow_free(b);
    vae_wordtab_free(vocab);
}

static void test_bow_vocab_size_mismatch(void **state)
{
    const char *words[] = {"cat", "dog"};
    vae_wordtab *vocab = NULL;
    vae_bow *b = NULL;
    assert_int_equal(vae_wordtab_from_words(&vocab, words, 2), VAE_OK);
    assert_int_equal(vae_bow_new(&b, 5), VAE_OK);
    vae_tokenizer t = plain();
    assert_int_equal(vae_bow_from_text(b, &t, vocab, "cat", 3), VAE_ERR_ARG);
    vae_bow_free(b);
    vae_wordtab_free(vocab);
}

/* A letters-only name for word i (digits would separate tokens). */
static void word_name(char *out, int i)
{
    out[0] = 'q';
    for (int k = 1; k <= 4; k++, i /= 26)
        out[k] = (char)('a' + i % 26);
    out[5] = '\0';
}

/* Documents of 1 to 600 tokens over 20000 words reach every way of ordering the ids (insertion
 * sort, quicksort, the bitmap); each must match counts taken the obvious way. */
static void test_bow_matches_reference_counts(void **state)
{
    enum { V = 20000, MAX_TOKENS = 600 };
    char(*names)[6] = malloc(V * sizeof *names);
    const char **words = malloc(V * sizeof *words);
    int32_t *ref = calloc(V, sizeof *ref);
    char *text = malloc(MAX_TOKENS * 6 + 1);
    assert_true(names && words && ref && text);
    for (int i = 0; i < V; i++) {
        word_name(names[i], i);
        words[i] = names[i];
    }
    vae_wordtab *vocab = NULL;
    vae_bow *b = NULL;
    assert_int_equal(vae_wordtab_from_words(&vocab, words, V), VAE_OK);
    assert_int_equal(vae_bow_new(&b, V), VAE_OK);
    vae_tokenizer t = plain();
    uint64_t rng = 42;
    for (int doc = 0; doc < 300; doc++) {
        int ntok = 1 + doc * 2, len = 0;
        for (int k = 0; k < ntok; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            /* a small range for some documents, so that words repeat */
            int id = (int)((rng >> 33) % (doc % 3 == 0 ? 50 : V));
            ref[id]++;
            len += sprintf(text + len, "%s ", names[id]);
        }
        assert_int_equal(vae_bow_from_text(b, &t, vocab, text, (size_t)len), VAE_OK);
        int64_t nnz = 0;
        for (int i = 0; i < V; i++)
            if (ref[i]) {
                assert_true(nnz < b->nnz);
                assert_int_equal(b->ids[nnz], i);
                assert_int_equal(b->counts[nnz], ref[i]);
                nnz++;
                ref[i] = 0;
            }
        assert_int_equal(b->nnz, nnz);
        assert_int_equal(b->num_tokens, ntok);
    }
    vae_bow_free(b);
    vae_wordtab_free(vocab);
    free(names);
    free(words);
    free(ref);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_case_folding),
        cmocka_unit_test(test_multibyte_letters_kept_as_is),
        cmocka_unit_test(test_invalid_utf8_bytes_separate),
        cmocka_unit_test(test_unicode_punctuation_separates),
        cmocka_unit_test(test_huge_token_dropped),
        cmocka_unit_test(test_length_limits_count_letters),
        cmocka_unit_test(test_empty_and_blank_text),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_builtin_english_stopwords),
        cmocka_unit_test(test_no_stopwords),
        cmocka_unit_test(test_stopword_file),
        cmocka_unit_test(test_stopword_file_missing),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_bow_sorted_ids_and_counts),
        cmocka_unit_test(test_bow_vocab_size_mismatch),
        cmocka_unit_test(test_bow_matches_reference_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
