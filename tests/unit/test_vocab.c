/* Tests of the word table (ids, growth, counting) and of the vocabulary rules (min-df,
 * max-df-frac, top-N with ties broken by the word, the order of ids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae/common.h"
#include "vocab.h"

static int64_t add(vae_wordtab *t, const char *w)
{
    int64_t id = -2;
    assert_int_equal(vae_wordtab_add(t, w, strlen(w), &id), VAE_OK);
    return id;
}

static int64_t find(const vae_wordtab *t, const char *w) { return vae_wordtab_find(t, w, strlen(w)); }

static void test_add_and_find(void **state)
{
    vae_wordtab *t = NULL;
    assert_int_equal(vae_wordtab_new(&t), VAE_OK);
    assert_int_equal(add(t, "cat"), 0);
    assert_int_equal(add(t, "dog"), 1);
    assert_int_equal(add(t, "cat"), 0);
    assert_int_equal(vae_wordtab_size(t), 2);
    assert_int_equal(find(t, "dog"), 1);
    assert_int_equal(find(t, "do"), -1);
    assert_int_equal(find(t, "dogs"), -1);
    assert_int_equal(vae_wordtab_find(t, "dogs", 3), 1); /* by length, not by NUL */
    assert_string_equal(vae_wordtab_word(t, 1), "dog");
    vae_wordtab_free(t);
    vae_wordtab_free(NULL);
}

static void test_growth_keeps_ids(void **state)
{
    vae_wordtab *t = NULL;
    assert_int_equal(vae_wordtab_new(&t), VAE_OK);
    char w[32];
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        snprintf(w, sizeof w, "w%d", i);
        assert_int_equal(add(t, w), i);
    }
    assert_int_equal(vae_wordtab_size(t), N);
    for (int i = 0; i < N; i += 7) {
        snprintf(w, sizeof w, "w%d", i);
        assert_int_equal(find(t, w), i);
        assert_string_equal(vae_wordtab_word(t, i), w);
    }
    assert_int_equal(find(t, "w200000"), -1);
    const char **list = NULL;
    assert_int_equal(vae_wordtab_word_list(t, &list), VAE_OK);
    assert_string_equal(list[N - 1], "w199999");
    free(list);
    vae_wordtab_free(t);
}

static void test_from_words(void **state)
{
    const char *words[] = {"alpha", "beta", "gamma"};
    vae_wordtab *t = NULL;
    assert_int_equal(vae_wordtab_from_words(&t, words, 3), VAE_OK);
    assert_int_equal(find(t, "gamma"), 2);
    assert_int_equal(vae_wordtab_doc_freq(t)[2], 0);
    vae_wordtab_free(t);

    const char *dup[] = {"alpha", "beta", "alpha"};
    vae_error_clear();
    assert_int_equal(vae_wordtab_from_words(&t, dup, 3), VAE_ERR_FORMAT);
    assert_null(t);
    assert_non_null(strstr(vae_error_message(), "alpha"));
}

static void count_doc(vae_wordtab *t, int64_t doc, const char *text)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
        vae_wordtab_count(t, add(t, w), doc);
}

static void test_count_doc_and_term_freq(void **state)
{
    vae_wordtab *t = NULL;
    assert_int_equal(vae_wordtab_new(&t), VAE_OK);
    count_doc(t, 0, "a a b");
    count_doc(t, 1, "a c");
    count_doc(t, 2, "c c c");
    const int64_t *df = vae_wordtab_doc_freq(t), *tf = vae_wordtab_term_freq(t);
    assert_int_equal(df[find(t, "a")], 2);
    assert_int_equal(tf[find(t, "a")], 3);
    assert_int_equal(df[find(t, "b")], 1);
    assert_int_equal(df[find(t, "c")], 2);
    assert_int_equal(tf[find(t, "c")], 4);
    /* a word added but never counted has no frequency */
    assert_int_equal(vae_wordtab_doc_freq(t)[add(t, "zzz")], 0);
    vae_wordtab_free(t);
}

/* A table where word i is in df[i] documents (and twice in each, so tf = 2 df). */
static vae_wordtab *table_with_df(const char *const *words, const int64_t *df, int n)
{
    vae_wordtab *t = NULL;
    assert_int_equal(vae_wordtab_new(&t), VAE_OK);
    for (int i = 0; i < n; i++)
        for (int64_t d = 0; d < df[i]; d++)
            for (int k = 0; k < 2; k++)
                vae_wordtab_count(t, add(t, words[i]), d);
    return t;
}

static vae_wordtab *select_vocab(const vae_wordtab *counts, int64_t num_docs, int64_t min_df,
                                 double max_df_frac, int64_t max_words)
{
    vae_vocab_rules r = {min_df, max_df_frac, max_words};
    vae_wordtab *v = NULL;
    assert_int_equal(vae_vocab_select(&v, counts, num_docs, &r), VAE_OK);
    return v;
}

/* The selected words joined by '|', in id order. */
static const char *joined(const vae_wordtab *v)
{
    static char out[1024];
    out[0] = '\0';
    for (int64_t i = 0; i < vae_wordtab_size(v); i++) {
        strcat(out, vae_wordtab_word(v, i));
        strcat(out, "|");
    }
    return out;
}

static void test_min_df(void **state)
{
    const char *w[] = {"one", "two", "three", "four"};
    int64_t df[] = {1, 2, 3, 4};
    vae_wordtab *t = table_with_df(w, df, 4);
    vae_wordtab *v = select_vocab(t, 10, 3, 1.0, 100);
    assert_string_equal(joined(v), "four|three|");
    vae_wordtab_free(v);
    v = select_vocab(t, 10, 1, 1.0, 100);
    assert_string_equal(joined(v), "four|three|two|one|");
    vae_wordtab_free(v);
    vae_wordtab_free(t);
}

static void test_max_df_frac_is_inclusive(void **state)
{
    const char *w[] = {"five", "six", "four"};
    int64_t df[] = {5, 6, 4};
    vae_wordtab *t = table_with_df(w, df, 3);
    vae_wordtab *v = select_vocab(t, 10, 1, 0.5, 100);
    assert_string_equal(joined(v), "five|four|");
    vae_wordtab_free(v);
    vae_wordtab_free(t);

    /* 0.29 * 100 is 28.999999999999996 in binary: a df of 29 is still within the rule */
    const char *w2[] = {"edge", "over"};
    int64_t df2[] = {29, 30};
    t = table_with_df(w2, df2, 2);
    v = select_vocab(t, 100, 1, 0.29, 100);
    assert_string_equal(joined(v), "edge|");
    vae_wordtab_free(v);
    vae_wordtab_free(t);
}

static void test_top_n_ties_broken_by_word(void **state)
{
    const char *w[] = {"b", "c", "a", "d"};
    int64_t df[] = {3, 3, 3, 5};
    vae_wordtab *t = table_with_df(w, df, 4);
    /* d has the highest df; of the tied a, b, c the cut keeps a and b */
    vae_wordtab *v = select_vocab(t, 10, 1, 1.0, 3);
    assert_string_equal(joined(v), "d|a|b|");
    vae_wordtab_free(v);
    v = select_vocab(t, 10, 1, 1.0, 1);
    assert_string_equal(joined(v), "d|");
    vae_wordtab_free(v);
    vae_wordtab_free(t);
}

static void test_ties_are_bytewise(void **state)
{
    /* bytewise: "Z" (0x5A) < "a" (0x61) < "zz" < "é" (0xC3 0xA9), whatever the locale */
    const char *w[] = {"\xC3\xA9", "zz", "a", "Z"};
    int64_t df[] = {2, 2, 2, 2};
    vae_wordtab *t = table_with_df(w, df, 4);
    vae_wordtab *v = select_vocab(t, 10, 1, 1.0, 100);
    assert_string_equal(joined(v), "Z|a|zz|\xC3\xA9|");
    vae_wordtab_free(v);
    vae_wordtab_free(t);
}

static void test_selection_is_independent_of_insertion_order(void **state)
{
    const char *w1[] = {"p", "q", "r", "s", "t"}, *w2[] = {"t", "s", "r", "q", "p"};
    int64_t df1[] = {2, 4, 2, 4, 2}, df2[] = {2, 4, 2, 4, 2};
    vae_wordtab *t1 = table_with_df(w1, df1, 5), *t2 = table_with_df(w2, df2, 5);
    vae_wordtab *v1 = select_vocab(t1, 10, 1, 1.0, 3), *v2 = select_vocab(t2, 10, 1, 1.0, 3);
    char first[64];
    snprintf(first, sizeof first, "%s", joined(v1));
    assert_string_equal(first, joined(v2));
    assert_string_equal(first, "q|s|p|");
    vae_wordtab_free(v1);
    vae_wordtab_free(v2);
    vae_wordtab_free(t1);
    vae_wordtab_free(t2);
}

static void test_selected_words_carry_frequencies(void **state)
{
    const char *w[] = {"x", "y"};
    int64_t df[] = {3, 7};
    vae_wordtab *t = table_with_df(w, df, 2);
    vae_wordtab *v = select_vocab(t, 10, 1, 1.0, 100);
    assert_int_equal(find(v, "y"), 0);
    assert_int_equal(vae_wordtab_doc_freq(v)[0], 7);
    assert_int_equal(vae_wordtab_term_freq(v)[0], 14);
    assert_int_equal(vae_wordtab_doc_freq(v)[1], 3);
    assert_int_equal(vae_wordtab_term_freq(v)[1], 6);
    vae_wordtab_free(v);
    vae_wordtab_free(t);
}

static void test_empty_selection(void **state)
{
    const char *w[] = {"x"};
    int64_t df[] = {1};
    vae_wordtab *t = table_with_df(w, df, 1);
    vae_wordtab *v = select_vocab(t, 10, 2, 1.0, 100);
    assert_int_equal(vae_wordtab_size(v), 0);
    vae_wordtab_free(v);
    vae_wordtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_find),
        cmocka_unit_test(test_growth_keeps_ids),
        cmocka_unit_test(test_from_words),
        cmocka_unit_test(test_count_doc_and_term_freq),
        cmocka_unit_test(test_min_df),
        cmocka_unit_test(test_max_df_frac_is_inclusive),
        cmocka_unit_test(test_top_n_ties_broken_by_word),
        cmocka_unit_test(test_ties_are_bytewise),
        cmocka_unit_test(test_selection_is_independent_of_insertion_order),
        cmocka_unit_test(test_selected_words_carry_frequencies),
        cmocka_unit_test(test_empty_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
