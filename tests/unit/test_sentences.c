/* The units of text (src/text/sentences.h): exact sentence splits worked out by hand (end
 * punctuation, closing quotes and brackets, abbreviations and initials, blank lines, CJK marks,
 * no white space after a dot), exact byte spans, lines and documents; and, on random texts built
 * from the tricky pieces, that the spans are ordered, trimmed, and never cut a token: the tokens
 * of the spans are the tokens of the whole text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sentences.h"
#include "tokenize.h"
#include "vae/common.h"

/* The units of text joined by '|'. */
static const char *units_of(vae_unit unit, const char *text)
{
    static char out[4096];
    size_t n = 0;
    vae_units u;
    vae_span sp;
    out[0] = '\0';
    vae_units_begin(&u, unit, text, strlen(text));
    while (vae_units_next(&u, &sp)) {
        assert_true(sp.end > sp.start && n + (sp.end - sp.start) + 2 < sizeof out);
        if (n > 0)
            out[n++] = '|';
        memcpy(out + n, text + sp.start, sp.end - sp.start);
        n += sp.end - sp.start;
        out[n] = '\0';
    }
    assert_int_equal(vae_units_next(&u, &sp), 0); /* stays at the end */
    return out;
}

static const char *sentences(const char *text) { return units_of(VAE_UNIT_SENTENCE, text); }

static void test_end_punctuation(void **state)
{
    assert_string_equal(sentences("Hello world. This is it! Is it? Yes."), "Hello world.|This is it!|Is it?|Yes.");
    assert_string_equal(sentences("Wait... what?! Really?"), "Wait...|what?!|Really?");
    assert_string_equal(sentences("Hmm\xE2\x80\xA6 ok"), "Hmm\xE2\x80\xA6|ok");
    /* no white space after the dot: no end */
    assert_string_equal(sentences("Pi is 3.14 and e.g.x is odd.Next one"), "Pi is 3.14 and e.g.x is odd.Next one");
    assert_string_equal(sentences("No period at the end"), "No period at the end");
    /* white space of every kind after it; CR LF */
    assert_string_equal(sentences("One.\tTwo.\r\nThree.\vFour."), "One.|Two.|Three.|Four.");
}

static void test_quotes_and_brackets(void **state)
{
    assert_string_equal(sentences("He said \"Stop.\" Then he left."), "He said \"Stop.\"|Then he left.");
    assert_string_equal(sentences("It rained (a lot). We stayed."), "It rained (a lot).|We stayed.");
    assert_string_equal(sentences("Is it (really?) fine? Yes"), "Is it (really?)|fine?|Yes");
    assert_string_equal(sentences("'Why?' she asked.'"), "'Why?'|she asked.'");
    assert_string_equal(sentences("\xE2\x80\x9CGo.\xE2\x80\x9D She went. \xC2\xABNon!\xC2\xBB Bon."),
                        "\xE2\x80\x9CGo.\xE2\x80\x9D|She went.|\xC2\xABNon!\xC2\xBB|Bon.");
    /* a closer not followed by white space */
    assert_string_equal(sentences("A \"b.\"c d."), "A \"b.\"c d.");
}

static void test_abbreviations(void **state)
{
    assert_string_equal(sentences("This is Mr. Smith's dog. It barks."), "This is Mr. Smith's dog.|It barks.");
    assert_string_equal(sentences("MR. Brown and mrs. Green met Dr. Who. Ok"),
                        "MR. Brown and mrs. Green met Dr. Who.|Ok");
    assert_string_equal(sentences("Use tools, e.g. hammers, i.e. heavy ones. Done."),
                        "Use tools, e.g. hammers, i.e. heavy ones.|Done.");
    assert_string_equal(sentences("Fruit (e.g. apples) is good. So."), "Fruit (e.g. apples) is good.|So.");
    assert_string_equal(sentences("J. R. R. Tolkien wrote it in the U.S. too. The end."),
                        "J. R. R. Tolkien wrote it in the U.S. too.|The end.");
    assert_string_equal(sentences("See Fig. 3 and Smith et al. for more. Vs. them."),
                        "See Fig. 3 and Smith et al. for more.|Vs. them.");
    /* not abbreviations: a word that ends with one, two dots, an exclamation */
    assert_string_equal(sentences("Ask the doctor. Mr.. Then Mr! Now"), "Ask the doctor.|Mr..|Then Mr!|Now");
    assert_string_equal(sentences("He was born in Jan. Then in Dec. He left."),
                        "He was born in Jan. Then in Dec. He left.");
}

static void test_blank_lines(void **state)
{
    assert_string_equal(sentences("First line\nsecond line\n\nThird part without period\n \t\r\nFourth."),
                        "First line\nsecond line|Third part without period|Fourth.");
    /* a blank line ends a sentence even after an abbreviation */
    assert_string_equal(sentences("See Dr.\n\nNext"), "See Dr.|Next");
    assert_string_equal(sentences("a\r\n\r\nb\n\n\n\nc"), "a|b|c");
    assert_string_equal(sentences("   \n\n  \t"), "");
    assert_string_equal(sentences(""), "");
}

static void test_cjk(void **state)
{
    /* 日本語。中文！好？ : no white space needed after the CJK marks */
    assert_string_equal(sentences("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x80\x82\xE4\xB8\xAD\xE6\x96\x87"
                                  "\xEF\xBC\x81\xE5\xA5\xBD\xEF\xBC\x9F"),
                        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x80\x82|\xE4\xB8\xAD\xE6\x96\x87\xEF\xBC\x81|"
                        "\xE5\xA5\xBD\xEF\xBC\x9F");
    /* 「はい。」と : a closing bracket after the mark stays with it */
    assert_string_equal(sentences("\xE3\x80\x8C\xE3\x81\xAF\xE3\x81\x84\xE3\x80\x82\xE3\x80\x8D\xE3\x81\xA8"),
                        "\xE3\x80\x8C\xE3\x81\xAF\xE3\x81\x84\xE3\x80\x82\xE3\x80\x8D|\xE3\x81\xA8");
}

static void test_spans(void **state)
{
    const char *text = "  Go. Be  \n\n  A. B  ";
    vae_units u;
    vae_span sp;
    const size_t want[3][2] = {{2, 5}, {6, 8}, {14, 18}};
    vae_units_begin(&u, VAE_UNIT_SENTENCE, text, strlen(text));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vae_units_next(&u, &sp), 1);
        assert_int_equal(sp.start, want[i][0]);
        assert_int_equal(sp.end, want[i][1]);
    }
    assert_int_equal(vae_units_next(&u, &sp), 0);
}

static void test_lines_and_documents(void **state)
{
    assert_string_equal(units_of(VAE_UNIT_LINE, "a b. c\r\n\r\nc d\n  \ne"), "a b. c|c d|e");
    assert_string_equal(units_of(VAE_UNIT_LINE, "\n\n"), "");
    assert_string_equal(units_of(VAE_UNIT_DOCUMENT, "  whole.\n\ndoc.  "), "whole.\n\ndoc.");
    assert_string_equal(units_of(VAE_UNIT_DOCUMENT, " \n "), "");
    vae_unit unit;
    assert_int_equal(vae_unit_parse("line", &unit), 0);
    assert_int_equal(unit, VAE_UNIT_LINE);
    assert_int_equal(vae_unit_parse("sentence", &unit), 0);
    assert_int_equal(unit, VAE_UNIT_SENTENCE);
    assert_int_equal(vae_unit_parse("paragraph", &unit), -1);
    assert_string_equal(vae_unit_name(VAE_UNIT_DOCUMENT), "document");
}

/* ---- random texts: spans ordered and trimmed, tokens never cut ---- */

typedef struct {
    char buf[16384];
    size_t n;
} joined;

static int join(void *ctx, const char *token, size_t len)
{
    joined *j = ctx;
    assert_true(j->n + len + 1 < sizeof j->buf);
    memcpy(j->buf + j->n, token, len);
    j->n += len;
    j->buf[j->n++] = '|';
    return VAE_OK;
}

static void test_tokens_never_cut(void **state)
{
    static const char *const pieces[] = {
        "word", "Mr", "e", "g", "U", ".", "!", "?", "...", " ", "  ", "\n", "\n\n", "\r\n", "\t", "\"", "'",
        ")", "(", "\xE2\x80\x9D", "\xE2\x80\xA6", "\xE3\x80\x82", "\xEF\xBC\x81", "caf\xC3\xA9", "\xE6\x97\xA5",
        "x1y", "\xC2\xBB", "\xE2\x80\x94", "\xFF", "\xE2\x80"};
    const int np = (int)(sizeof pieces / sizeof *pieces);
    vae_tokenizer t;
    vae_tokenizer_init(&t);
    t.min_len = 1;
    uint64_t seed = 3;
    static joined whole, parts;
    for (int round = 0; round < 2000; round++) {
        char text[2048];
        size_t n = 0;
        int count = (int)(seed % 60);
        for (int i = 0; i < count; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *p = pieces[(seed >> 33) % (uint64_t)np];
            memcpy(text + n, p, strlen(p));
            n += strlen(p);
        }
        whole.n = parts.n = 0;
        assert_int_equal(vae_tokenize(&t, text, n, join, &whole), VAE_OK);
        for (int unit = 0; unit < 3; unit++) {
            vae_units u;
            vae_span sp;
            size_t last = 0;
            parts.n = 0;
            vae_units_begin(&u, (vae_unit)unit, text, n);
            while (vae_units_next(&u, &sp)) {
                assert_true(sp.start >= last && sp.end > sp.start && sp.end <= n);
                assert_false(strchr(" \t\n\r\v\f", text[sp.start]) || strchr(" \t\n\r\v\f", text[sp.end - 1]));
                assert_int_equal(vae_tokenize(&t, text + sp.start, sp.end - sp.start, join, &parts), VAE_OK);
                last = sp.end;
            }
            assert_int_equal(parts.n, whole.n);
            assert_memory_equal(parts.buf, whole.buf, whole.n);
        }
        seed += (uint64_t)round;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_punctuation),   cmocka_unit_test(test_quotes_and_brackets),
        cmocka_unit_test(test_abbreviations),     cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_cjk),               cmocka_unit_test(test_spans),
        cmocka_unit_test(test_lines_and_documents), cmocka_unit_test(test_tokens_never_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
