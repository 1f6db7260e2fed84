/* Tests of the option parser (cli.h): `--name value` and `--name=value`, the last of a repeated
 * option winning, usage errors (status 2) for unknown options, missing values and valued switches,
 * "--", positional arguments, the typed getters (ranges, malformed values, choices, integer lists)
 * and `--config FILE` (key = value lines, comments, the command line winning, status 1 for a file
 * that cannot be read, 2 for an unknown key or a malformed line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* A fresh copy of the option table for each parse (the parser writes into it). */
enum { NOPTS = 9 };
static void make_opts(cli_opt *o)
{
    const cli_opt tmpl[NOPTS] = {
        {"batch-size", 1, NULL, 0}, {"lr", 1, NULL, 0},        {"quiet", 0, NULL, 0},
        {"no-shuffle", 0, NULL, 0}, {"optimizer", 1, NULL, 0}, {"encoder-hidden", 1, NULL, 0},
        {"out", 1, NULL, 0},        {"config", 1, NULL, 0},    {"seed", 1, NULL, 0},
    };
    memcpy(o, tmpl, sizeof tmpl);
}

/* Parses argv = {"prog", args..., NULL-terminated list} from index 1. */
static int parse(cli_args *a, cli_opt *opts, const char *const *args)
{
    static char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"prog";
    for (int i = 0; args[i]; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    make_opts(opts);
    return cli_parse(a, "prog", opts, NOPTS, argc, argv, 1);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){NULL})

/* ---------------------------------------------------------------- cli_parse */

static void test_name_value_forms(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("--batch-size", "64", "--lr=0.5", "--out=", "--seed", "-7")), 0);
    assert_string_equal(cli_get_str(&a, "batch-size", NULL), "64");
    assert_string_equal(cli_get_str(&a, "lr", NULL), "0.5");
    assert_string_equal(cli_get_str(&a, "out", NULL), ""); /* --name= gives the empty value */
    assert_string_equal(cli_get_str(&a, "seed", NULL), "-7"); /* a value may start with '-' */
    assert_true(cli_given(&a, "batch-size"));
    assert_false(cli_given(&a, "optimizer"));
    assert_null(cli_get_str(&a, "optimizer", NULL));
    assert_string_equal(cli_get_str(&a, "optimizer", "adam"), "adam");
    assert_int_equal(cli_find(&a, "lr")->from_cli, 1);
    assert_int_equal(cli_find(&a, "optimizer")->from_cli, 0);
    assert_null(cli_find(&a, "nope"));
    assert_int_equal(a.num_positional, 0);
    cli_free(&a);
}

static void test_value_containing_equals(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("--out=a=b", "--optimizer", "x=y")), 0);
    assert_string_equal(cli_get_str(&a, "out", NULL), "a=b");
    assert_string_equal(cli_get_str(&a, "optimizer", NULL), "x=y");
    cli_free(&a);
}

static void test_last_repeated_wins(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("--lr", "1", "--lr=2", "--batch-size=8", "--lr", "3")), 0);
    assert_string_equal(cli_get_str(&a, "lr", NULL), "3");
    cli_free(&a);
    assert_int_equal(parse(&a, o, ARGS("--lr", "1", "--lr=2")), 0);
    assert_string_equal(cli_get_str(&a, "lr", NULL), "2");
    cli_free(&a);
}

static void test_switches(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("--quiet", "file.txt")), 0);
    assert_true(cli_given(&a, "quiet"));
    assert_string_equal(cli_get_str(&a, "quiet", NULL), "1");
    assert_false(cli_given(&a, "no-shuffle"));
    /* A switch does not swallow the next argument. */
    assert_int_equal(a.num_positional, 1);
    assert_string_equal(a.positional[0], "file.txt");
    cli_free(&a);
}

static void test_usage_errors(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    /* Unknown options, long and short, and prefixes or extensions of a known name. */
    const char *const *bad[] = {
        ARGS("--frobnicate"), ARGS("--frobnicate=3"), ARGS("-x"), ARGS("--batch", "3"),
        ARGS("--batch-sizes", "3"), ARGS("--lr", "1", "--bogus"),
        /* A value option with nothing after it. */
        ARGS("--batch-size"), ARGS("--quiet", "--lr"),
        /* A switch given a value. */
        ARGS("--quiet=1"), ARGS("--no-shuffle=true"), ARGS("--quiet="),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&a, o, bad[i]), 2);
        cli_free(&a);
    }
}

static void test_double_dash_and_positionals(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("in1", "--lr", "0.1", "in2", "--quiet", "in3", "--",
                                       "--batch-size", "--unknown", "-x", "in4")),
                     0);
    assert_int_equal(a.num_positional, 7);
    const char *want[] = {"in1", "in2", "in3", "--batch-size", "--unknown", "-x", "in4"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(a.positional[i], want[i]);
    assert_false(cli_given(&a, "batch-size"));
    assert_string_equal(cli_get_str(&a, "lr", NULL), "0.1");
    assert_true(cli_given(&a, "quiet"));
    cli_free(&a);
    /* A second "--" after the first is a positional argument. */
    assert_int_equal(parse(&a, o, ARGS("--", "--")), 0);
    assert_int_equal(a.num_positional, 1);
    assert_string_equal(a.positional[0], "--");
    cli_free(&a);
    /* No arguments at all. */
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_equal(a.num_positional, 0);
    cli_free(&a);
}

/* ---------------------------------------------------------------- typed getters */

static void test_get_int(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    int64_t v = -1;
    assert_int_equal(parse(&a, o, ARGS("--batch-size", "256", "--seed=-3")), 0);
    assert_int_equal(cli_get_int(&a, "batch-size", 1, 1, 1 << 20, &v), 0);
    assert_int_equal(v, 256);
    assert_int_equal(cli_get_int(&a, "seed", 0, -10, 10, &v), 0);
    assert_int_equal(v, -3);
    /* Range bounds are inclusive. */
    assert_int_equal(cli_get_int(&a, "batch-size", 1, 256, 256, &v), 0);
    assert_int_equal(v, 256);
    assert_int_equal(cli_get_int(&a, "batch-size", 1, 257, 1000, &v), 2);
    assert_int_equal(cli_get_int(&a, "batch-size", 1, 1, 255, &v), 2);
    assert_int_equal(cli_get_int(&a, "seed", 0, 0, 10, &v), 2);
    /* Not given: the default (not range-checked against the value the user never gave). */
    assert_int_equal(cli_get_int(&a, "lr", 42, 0, 100, &v), 0);
    assert_int_equal(v, 42);
    cli_free(&a);

    const char *malformed[] = {"", "abc", "12abc", "1.5", "1e3", "0x10", "12 ", "--",
                               "99999999999999999999", "-99999999999999999999"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--batch-size=%s", malformed[i]);
        assert_int_equal(parse(&a, o, ARGS(arg)), 0);
        assert_int_equal(cli_get_int(&a, "batch-size", 1, INT64_MIN, INT64_MAX, &v), 2);
        cli_free(&a);
    }
    /* The full int64 range. */
    assert_int_equal(parse(&a, o, ARGS("--seed", "9223372036854775807")), 0);
    assert_int_equal(cli_get_int(&a, "seed", 0, 0, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    cli_free(&a);
}

static void test_get_double(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    double v = -1;
    assert_int_equal(parse(&a, o, ARGS("--lr", "1e-3", "--seed=2.5")), 0);
    assert_int_equal(cli_get_double(&a, "lr", 0.1, 0.0, 1.0, &v), 0);
    assert_true(v == 1e-3);
    assert_int_equal(cli_get_double(&a, "seed", 0.0, 2.5, 2.5, &v), 0);
    assert_true(v == 2.5);
    assert_int_equal(cli_get_double(&a, "seed", 0.0, 0.0, 2.4, &v), 2);
    assert_int_equal(cli_get_double(&a, "seed", 0.0, 2.6, 3.0, &v), 2);
    assert_int_equal(cli_get_double(&a, "batch-size", 0.75, 0.0, 1.0, &v), 0);
    assert_true(v == 0.75);
    cli_free(&a);

    const char *bad[] = {"inf", "-inf", "INF", "infinity", "nan", "NaN", "-nan", "abc", "",
                         "1.0x", "1e999", "--1", "0.5 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--lr=%s", bad[i]);
        assert_int_equal(parse(&a, o, ARGS(arg)), 0);
        assert_int_equal(cli_get_double(&a, "lr", 0.0, -1e308, 1e308, &v), 2);
        cli_free(&a);
    }
}

static void test_get_choice(void **state)
{
    const char *const choices[] = {"adam", "sgd", NULL};
    cli_opt o[NOPTS];
    cli_args a;
    int v = -1;
    assert_int_equal(parse(&a, o, ARGS("--optimizer", "sgd")), 0);
    assert_int_equal(cli_get_choice(&a, "optimizer", choices, 0, &v), 0);
    assert_int_equal(v, 1);
    cli_free(&a);
    assert_int_equal(parse(&a, o, ARGS("--optimizer=adam")), 0);
    assert_int_equal(cli_get_choice(&a, "optimizer", choices, 1, &v), 0);
    assert_int_equal(v, 0);
    cli_free(&a);
    assert_int_equal(parse(&a, o, NOARGS), 0);
    v = -1;
    assert_int_equal(cli_get_choice(&a, "optimizer", choices, 1, &v), 0);
    assert_int_equal(v, 1);
    cli_free(&a);
    const char *bad[] = {"SGD", "", "ada", "adamw", "sgd "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--optimizer=%s", bad[i]);
        assert_int_equal(parse(&a, o, ARGS(arg)), 0);
        assert_int_equal(cli_get_choice(&a, "optimizer", choices, 0, &v), 2);
        cli_free(&a);
    }
}

static void test_get_int_list(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    int out[4] = {-1, -1, -1, -1}, n = -1;
    assert_int_equal(parse(&a, o, ARGS("--encoder-hidden", "128,64")), 0);
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "1", out, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 128);
    assert_int_equal(out[1], 64);
    cli_free(&a);

    /* "" is the empty list. */
    assert_int_equal(parse(&a, o, ARGS("--encoder-hidden=")), 0);
    n = -1;
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "5,6", out, 4, &n), 0);
    assert_int_equal(n, 0);
    cli_free(&a);

    /* Not given: the default list. */
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "64,128,7", out, 4, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 64);
    assert_int_equal(out[1], 128);
    assert_int_equal(out[2], 7);
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "", out, 4, &n), 0);
    assert_int_equal(n, 0);
    cli_free(&a);

    /* Exactly max entries is fine; one more is an error. */
    assert_int_equal(parse(&a, o, ARGS("--encoder-hidden=1,2,3,4")), 0);
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "", out, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(out[3], 4);
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "", out, 3, &n), 2);
    cli_free(&a);

    const char *bad[] = {"0", "1,x", "x", "-1", "1,0", "1,-2", ",1", "1,,2", "1.5", "64;32",
                         "128 64", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--encoder-hidden=%s", bad[i]);
        assert_int_equal(parse(&a, o, ARGS(arg)), 0);
        assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "", out, 4, &n), 2);
        cli_free(&a);
    }
}

/* ---------------------------------------------------------------- cli_load_config */

static char tmpdir[64];
static char paths[16][128];
static int npaths;

static const char *write_config(const char *text)
{
    assert_true(npaths < 16);
    char *path = paths[npaths];
    snprintf(path, sizeof paths[0], "%s/c%d.conf", tmpdir, npaths);
    npaths++;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

static int setup_dir(void **state)
{
    cli_set_silent(1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vae-test-cli-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    for (int i = 0; i < npaths; i++)
        unlink(paths[i]);
    return rmdir(tmpdir);
}

static void test_config_basic(void **state)
{
    const char *path = write_config("# a comment line\n"
                                    "\n"
                                    "batch-size = 64\n"
                                    "   lr=0.25   \n"
                                    "\t\n"
                                    "optimizer = sgd # trailing comment\n"
                                    "  # indented comment\n"
                                    "encoder-hidden = 32,16\r\n"
                                    "out = run dir");
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_equal(cli_load_config(&a, path), 0);
    int64_t b;
    double lr;
    int k, list[4], n;
    const char *const choices[] = {"adam", "sgd", NULL};
    assert_int_equal(cli_get_int(&a, "batch-size", 1, 1, 1000, &b), 0);
    assert_int_equal(b, 64);
    assert_int_equal(cli_get_double(&a, "lr", 0.0, 0.0, 1.0, &lr), 0);
    assert_true(lr == 0.25);
    assert_int_equal(cli_get_choice(&a, "optimizer", choices, 0, &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(cli_get_int_list(&a, "encoder-hidden", "", list, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0], 32);
    assert_int_equal(list[1], 16);
    assert_string_equal(cli_get_str(&a, "out", NULL), "run dir"); /* inner space kept, last line unterminated */
    assert_false(cli_given(&a, "seed"));
    assert_int_equal(cli_find(&a, "lr")->from_cli, 0);
    cli_free(&a);
}

static void test_config_cli_wins(void **state)
{
    const char *path = write_config("lr = 0.5\nbatch-size = 64\nquiet = false\nseed = 9\n");
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("--lr", "0.1", "--quiet", "--seed=3")), 0);
    assert_int_equal(cli_load_config(&a, path), 0);
    assert_string_equal(cli_get_str(&a, "lr", NULL), "0.1");
    assert_string_equal(cli_get_str(&a, "seed", NULL), "3");
    assert_string_equal(cli_get_str(&a, "batch-size", NULL), "64"); /* not on the command line */
    assert_true(cli_given(&a, "quiet")); /* the command line's switch beats "false" */
    cli_free(&a);
}

static void test_config_switches(void **state)
{
    const char *path = write_config("quiet = true\nno-shuffle = false\n");
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_equal(cli_load_config(&a, path), 0);
    assert_true(cli_given(&a, "quiet"));
    assert_false(cli_given(&a, "no-shuffle"));
    cli_free(&a);
    const char *bad = write_config("quiet = maybe\n");
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_equal(cli_load_config(&a, bad), 2);
    cli_free(&a);
}

static void test_config_errors(void **state)
{
    cli_opt o[NOPTS];
    cli_args a;
    /* An unknown key, a line without '=', a line with no key. */
    const char *texts[] = {"lr = 0.1\nfrobnicate = 3\n", "lr = 0.1\njust some words\n", "= 5\n"};
    for (int i = 0; i < 3; i++) {
        const char *path = write_config(texts[i]);
        assert_int_equal(parse(&a, o, NOARGS), 0);
        assert_int_equal(cli_load_config(&a, path), 2);
        cli_free(&a);
    }
    /* A file that does not exist (in the test's own folder, so it surely does not). */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such-file.conf", tmpdir);
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_equal(cli_load_config(&a, missing), 1);
    cli_free(&a);
    /* A folder is not a readable config file. */
    assert_int_equal(parse(&a, o, NOARGS), 0);
    assert_int_not_equal(cli_load_config(&a, tmpdir), 0);
    cli_free(&a);
}

static void test_config_empty_file(void **state)
{
    const char *path = write_config("");
    cli_opt o[NOPTS];
    cli_args a;
    assert_int_equal(parse(&a, o, ARGS("--lr=0.3")), 0);
    assert_int_equal(cli_load_config(&a, path), 0);
    assert_string_equal(cli_get_str(&a, "lr", NULL), "0.3");
    assert_false(cli_given(&a, "batch-size"));
    cli_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_value_forms),
        cmocka_unit_test(test_value_containing_equals),
        cmocka_unit_test(test_last_repeated_wins),
        cmocka_unit_test(test_switches),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_double_dash_and_positionals),
        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_get_double),
        cmocka_unit_test(test_get_choice),
        cmocka_unit_test(test_get_int_list),
        cmocka_unit_test(test_config_basic),
        cmocka_unit_test(test_config_cli_wins),
        cmocka_unit_test(test_config_switches),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_empty_file),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
