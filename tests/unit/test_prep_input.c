/* Tests of vae-prep's reader in ranges (prep_input.h, vae_doc_reader_range), against the whole
 * reader as the independent reference: ranges that tile the inputs, cut anywhere (inside lines,
 * at LFs, at file boundaries, at every byte of a small input, around a line longer than a read),
 * read every document once, in order, with its text, file and line number, in the lines, jsonl
 * and files formats; a range's first line in a file it enters is numbered from the base given,
 * here counted from the bytes; and vae_doc_reader_line is then the number of lines before the
 * range's end in the file holding its last byte (what the parallel pipeline's numbering needs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prep_input.h"
#include "vae/common.h"

typedef struct {
    char *text[4096];
    const char *path[4096];
    int64_t line[4096];
    int n;
} docs;

static void docs_free(docs *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->text[i]);
    d->n = 0;
}

static void read_rest(vae_doc_reader *r, docs *out)
{
    vae_input_doc d;
    while (vae_doc_reader_next(r, &d) == VAE_OK && d.text) {
        assert_true(out->n < 4096);
        out->text[out->n] = strndup(d.text, d.len);
        out->path[out->n] = d.path;
        out->line[out->n++] = d.line;
    }
}

/* Lines of file f (its bytes) that start before offset x in it: the base of a range starting there. */
static int64_t lines_before(const char *path, int64_t x)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    int64_t lines = 0;
    int c, prev = '\n';
    for (int64_t i = 0; i < x && (c = fgetc(f)) != EOF; i++) {
        lines += prev == '\n';
        prev = c;
    }
    fclose(f);
    return lines;
}

/* Reads the ranges [cuts[i], cuts[i + 1]) (the last to INT64_MAX) and compares with the whole. */
static void check_cuts(const vae_input_list *l, vae_input_format format, const int64_t *cuts, int n)
{
    vae_doc_reader *r = NULL;
    docs whole = {0}, parts = {0};
    assert_int_equal(vae_doc_reader_new(&r, l, format, "text"), VAE_OK);
    read_rest(r, &whole);
    vae_doc_reader_free(r);
    assert_int_equal(vae_doc_reader_new(&r, l, format, "text"), VAE_OK);
    for (int i = 0; i < n; i++) {
        const int64_t lo = cuts[i], hi = i + 1 < n ? cuts[i + 1] : INT64_MAX;
        int64_t f = 0;
        while (f + 1 < l->n && l->starts[f + 1] <= lo)
            f++;
        const int64_t base = format != VAE_INPUT_FILES && l->n && lo > l->starts[f] && lo < l->starts[f + 1]
                                 ? lines_before(l->paths[f], lo - l->starts[f]) : 0;
        vae_doc_reader_range(r, lo, hi, base);
        read_rest(r, &parts);
        const int64_t end = hi < l->total_bytes ? hi : l->total_bytes;
        if (format != VAE_INPUT_FILES && lo < end) {
            /* the lines before the range's end in the file that holds its last byte */
            int64_t g = 0;
            while (l->starts[g + 1] < end)
                g++;
            assert_int_equal(vae_doc_reader_line(r), lines_before(l->paths[g], end - l->starts[g]));
        }
    }
    vae_doc_reader_free(r);
    assert_int_equal(parts.n, whole.n);
    for (int i = 0; i < whole.n; i++) {
        assert_string_equal(parts.text[i], whole.text[i]);
        assert_string_equal(parts.path[i], whole.path[i]);
        assert_int_equal(parts.line[i], whole.line[i]);
    }
    docs_free(&whole);
    docs_free(&parts);
}

static char dir[64];

static void put(const char *name, const char *bytes, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void list(vae_input_list **l)
{
    const char *in[] = {dir};
    assert_int_equal(vae_input_list_new(l, in, 1, NULL), VAE_OK);
}

static void check_many_cuts(const vae_input_list *l, vae_input_format format)
{
    const int64_t total = l->total_bytes;
    int64_t cuts[600];
    for (int n = 1; n <= 8; n++) { /* near-equal cuts, as the pipeline makes */
        for (int i = 0; i < n; i++)
            cuts[i] = total * i / n;
        check_cuts(l, format, cuts, n);
    }
    for (int64_t i = 0; i < l->n; i++) /* at every file's start */
        cuts[i] = l->starts[i];
    check_cuts(l, format, cuts, (int)l->n);
    srand(7);
    for (int round = 0; round < 20; round++) { /* random cuts, some of them repeated: empty ranges */
        int n = 1 + rand() % 40;
        cuts[0] = 0;
        for (int i = 1; i < n; i++)
            cuts[i] = cuts[i - 1] + rand() % (2 * total / n + 2);
        check_cuts(l, format, cuts, n);
    }
}

static void test_lines_cut_anywhere(void **state)
{
    (void)state;
    put("a.txt", "one two\nthree\n\n  \nfour five six\r\nseven", 39);
    put("b.txt", "", 0);
    put("c.txt", "\n\neight\nnine ten\n", 17);
    static char long_line[300000 + 16];
    memset(long_line, 'x', 300000); /* longer than a read, and than a range's tail */
    memcpy(long_line + 300000, "\nlast one\n", 10);
    put("d.txt", long_line, 300010);
    put("e.txt", "", 0);
    vae_input_list *l = NULL;
    list(&l);
    check_many_cuts(l, VAE_INPUT_LINES);
    vae_input_list_free(l);
    /* every cut of a small input: a range starting at each byte */
    put("d.txt", "x\ny", 3);
    list(&l);
    int64_t cuts[128];
    for (int64_t at = 0; at <= l->total_bytes; at++) {
        cuts[0] = 0;
        cuts[1] = at;
        cuts[2] = at + 1;
        check_cuts(l, VAE_INPUT_LINES, cuts, 3);
    }
    check_many_cuts(l, VAE_INPUT_FILES);
    vae_input_list_free(l);
}

static void test_jsonl_cut_anywhere(void **state)
{
    (void)state;
    put("a.txt", "{\"text\": \"one\"}\n\n{\"id\": 2, \"text\": \"two \\u00e9\"}\r\n", 50);
    put("b.txt", "{\"text\": \"three\"}", 17);
    put("c.txt", "", 0);
    put("d.txt", "{\"text\": \"four\", \"x\": [1, {\"y\": null}]}\n", 41);
    put("e.txt", "", 0);
    vae_input_list *l = NULL;
    list(&l);
    check_many_cuts(l, VAE_INPUT_JSONL);
    vae_input_list_free(l);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vae-prep-input-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_cut_anywhere),
        cmocka_unit_test(test_jsonl_cut_anywhere),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return failed + (system(cmd) != 0);
}
