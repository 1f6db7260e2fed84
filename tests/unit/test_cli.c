/* Tests of the command-line tables (cli.h): `--name value` and `--name=value`, the last of a
 * repeated flag winning, usage errors (status 2) for unknown flags, missing values and valued
 * switches, "--" and positional arguments, typed values stored into their fields (ranges,
 * malformed values, choices, integer lists, fields of every size), required flags and aliases,
 * `--config FILE` (key = value lines, comments, the command line winning, status 1 for a file that
 * cannot be read, 2 for an unknown key or a malformed line), --help's text with the defaults read
 * from the options struct (test_train_cli.c: vae-dist's own table). */
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
#include "cli_test_help.h"

typedef struct {
    int64_t batch, seed, big;
    int small;
    float lr;
    double frac, temp;
    int quiet, shuffle, optimizer;
    int hidden[4], num_hidden;
    const char *out, *name, *split;
} opts;

static const char *const optimizers[] = {"adam", "sgd", NULL};
static const char *const splits[] = {"train", "valid", "test", NULL};

static const cli_entry entries[] = {
    {.help = "Section one:", .kind = CLI_HEADING},
    {"batch-size", "B", "global batch", CLI_INT, CLI_AT(opts, batch), .min = 1, .max = 1 << 20},
    {"seed", "S", "any integer", CLI_INT, CLI_AT(opts, seed), .min = INT64_MIN, .max = INT64_MAX},
    {"big", "N", "int64 in [10, 20]", CLI_INT, CLI_AT(opts, big), .min = 10, .max = 20},
    {"small", "N", "an int", CLI_INT, CLI_AT(opts, small), .min = -5, .max = 1000000},
    {"lr", "F", "a float", CLI_REAL, CLI_AT(opts, lr), .lo = 0, .hi = 1},
    {"frac", "F", "a double", CLI_REAL, CLI_AT(opts, frac), .lo = -1e308, .hi = 1e308},
    {"temperature", "T", "above 0", CLI_REAL, CLI_AT(opts, temp), .lo = 0, .hi = 10, .open_lo = 1},
    {"quiet", NULL, "no progress", CLI_SWITCH, CLI_AT(opts, quiet), .on = 1},
    {"no-shuffle", NULL, "file order", CLI_SWITCH, CLI_AT(opts, shuffle), .on = 0},
    {"optimizer", NULL, "the update rule", CLI_CHOICE, CLI_AT(opts, optimizer), .choices = optimizers},
    {"encoder-hidden", "LIST", "layer sizes", CLI_LIST, CLI_AT(opts, hidden), .min = 1,
     .count_offset = offsetof(opts, num_hidden)},
    {"out", "DIR", "the folder", CLI_STRING, CLI_AT(opts, out), .alias = "-o"},
    {"name", "X", "a name", CLI_STRING, CLI_AT(opts, name), .default_text = "default: the host's name"},
    {"split", "S", "a split", CLI_STRING, CLI_AT(opts, split), .choices = splits},
};
enum { NUM_ENTRIES = sizeof entries / sizeof entries[0] };

static const cli_table table = {.prog = "prog", .usage = "usage: prog [options]\n", .epilog = "The end.\n",
                                CLI_ENTRIES(entries), .config = 1, .positional = "INPUT"};

/* table with --out required, its entries in req[NUM_ENTRIES]. */
static cli_table out_required(cli_entry *req)
{
    memcpy(req, entries, sizeof entries);
    for (int i = 0; i < NUM_ENTRIES; i++)
        req[i].required = req[i].name && strcmp(req[i].name, "out") == 0;
    cli_table t = table;
    t.entries = req;
    return t;
}

static opts defaults(void)
{
    return (opts){.batch = 256, .seed = 0, .big = 15, .small = 7, .lr = 1e-3f, .frac = 0.5, .temp = 1.0,
                  .shuffle = 1, .optimizer = 0, .hidden = {128, 64}, .num_hidden = 2, .split = "test"};
}

static int run(cli_args *a, opts *o, const char *const *args)
{
    *o = defaults();
    return run_table(&table, a, o, args);
}

/* ---------------------------------------------------------------- parsing */

static void test_name_value_forms(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--batch-size", "64", "--lr=0.5", "--out=", "--seed", "-7")), 0);
    assert_int_equal(o.batch, 64);
    assert_true(o.lr == 0.5f);
    assert_string_equal(o.out, ""); /* --name= gives the empty value */
    assert_int_equal(o.seed, -7);   /* a value may start with '-' */
    assert_true(cli_given(&a, "batch-size"));
    assert_false(cli_given(&a, "optimizer"));
    assert_false(cli_given(&a, "nope"));
    assert_int_equal(o.optimizer, 0); /* not given: the default stays */
    assert_int_equal(o.small, 7);
    assert_int_equal(a.num_positional, 0);
    cli_free(&a);
}

static void test_value_containing_equals(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--out=a=b", "--name", "x=y")), 0);
    assert_string_equal(o.out, "a=b");
    assert_string_equal(o.name, "x=y");
    cli_free(&a);
}

static void test_last_repeated_wins(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--lr", "1", "--lr=0.25", "--batch-size=8", "--lr", "0.75")), 0);
    assert_true(o.lr == 0.75f);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--lr", "1", "--lr=0.5")), 0);
    assert_true(o.lr == 0.5f);
    cli_free(&a);
}

static void test_switches_and_alias(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--quiet", "file.txt", "--no-shuffle", "-o", "dir")), 0);
    assert_int_equal(o.quiet, 1);
    assert_int_equal(o.shuffle, 0); /* a switch stores its own value, here 0 */
    assert_string_equal(o.out, "dir");
    /* A switch does not swallow the next argument. */
    assert_int_equal(a.num_positional, 1);
    assert_string_equal(a.positional[0], "file.txt");
    cli_free(&a);
    assert_int_equal(run(&a, &o, NOARGS), 0);
    assert_int_equal(o.quiet, 0);
    assert_int_equal(o.shuffle, 1);
    cli_free(&a);
}

static void test_usage_errors(void **state)
{
    cli_args a;
    opts o;
    const char *const *bad[] = {
        /* Unknown flags, long and short, and prefixes or extensions of a known name. */
        ARGS("--frobnicate"), ARGS("--frobnicate=3"), ARGS("-x"), ARGS("--batch", "3"),
        ARGS("--batch-sizes", "3"), ARGS("--lr", "1", "--bogus"), ARGS("-out", "x"),
        /* A value flag with nothing after it. */
        ARGS("--batch-size"), ARGS("--quiet", "--lr"), ARGS("-o"), ARGS("--config"),
        /* A switch given a value. */
        ARGS("--quiet=1"), ARGS("--no-shuffle=true"), ARGS("--quiet="), ARGS("--help=1"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = defaults();
        assert_int_equal(run_table(&table, &a, &o, bad[i]), CLI_USAGE);
        cli_free(&a);
    }
}

static void test_double_dash_and_positionals(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("in1", "--lr", "0.1", "in2", "--quiet", "in3", "--", "--batch-size",
                                      "--unknown", "-x", "in4")),
                     0);
    assert_int_equal(a.num_positional, 7);
    const char *want[] = {"in1", "in2", "in3", "--batch-size", "--unknown", "-x", "in4"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(a.positional[i], want[i]);
    assert_false(cli_given(&a, "batch-size"));
    assert_true(o.lr == 0.1f);
    assert_int_equal(o.quiet, 1);
    cli_free(&a);
    /* A second "--" after the first is a positional argument; "-" is one too. */
    assert_int_equal(run(&a, &o, ARGS("--", "--")), 0);
    assert_int_equal(a.num_positional, 1);
    assert_string_equal(a.positional[0], "--");
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("-")), 0);
    assert_int_equal(a.num_positional, 1);
    cli_free(&a);
    /* A table without positional arguments refuses them. */
    cli_table none = table;
    none.positional = NULL;
    o = defaults();
    assert_int_equal(run_table(&none, &a, &o, ARGS("--quiet", "stray")), CLI_USAGE);
    cli_free(&a);
}

static void test_help_and_version_exit(void **state)
{
    cli_args a;
    opts o;
    cli_set_silent(1);
    assert_int_equal(run(&a, &o, ARGS("--batch-size", "9", "--help")), CLI_EXIT);
    assert_int_equal(o.batch, 256); /* nothing stored */
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("-h")), CLI_EXIT);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--version", "stray")), CLI_EXIT);
    cli_free(&a);
    /* A bad flag beats --help. */
    assert_int_equal(run(&a, &o, ARGS("--help", "--bogus")), CLI_USAGE);
    cli_free(&a);
}

static void test_required(void **state)
{
    cli_entry req[NUM_ENTRIES];
    cli_table t = out_required(req);
    cli_args a;
    opts o = defaults();
    assert_int_equal(run_table(&t, &a, &o, ARGS("--quiet")), CLI_USAGE);
    cli_free(&a);
    o = defaults();
    assert_int_equal(run_table(&t, &a, &o, ARGS("-o", "x")), 0);
    assert_string_equal(o.out, "x");
    cli_free(&a);
}

/* ---------------------------------------------------------------- typed values */

static void test_ints(void **state)
{
    cli_args a;
    opts o;
    /* Range bounds are inclusive; fields of 8 and 4 bytes. */
    assert_int_equal(run(&a, &o, ARGS("--big", "10", "--small", "-5", "--batch-size", "1048576")), 0);
    assert_int_equal(o.big, 10);
    assert_int_equal(o.small, -5);
    assert_int_equal(o.batch, 1 << 20);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--big=20", "--small=1000000")), 0);
    assert_int_equal(o.big, 20);
    assert_int_equal(o.small, 1000000);
    cli_free(&a);
    const char *const *out_of_range[] = {ARGS("--big", "9"), ARGS("--big", "21"), ARGS("--small", "-6"),
                                         ARGS("--small", "1000001"), ARGS("--batch-size", "0")};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        assert_int_equal(run(&a, &o, out_of_range[i]), CLI_USAGE);
        cli_free(&a);
    }
    const char *malformed[] = {"", "abc", "12abc", "1.5", "1e3", "0x10", "12 ", "--",
                               "99999999999999999999", "-99999999999999999999"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--seed=%s", malformed[i]);
        assert_int_equal(run(&a, &o, ARGS(arg)), CLI_USAGE);
        cli_free(&a);
    }
    /* The full int64 range. */
    assert_int_equal(run(&a, &o, ARGS("--seed", "9223372036854775807")), 0);
    assert_true(o.seed == INT64_MAX);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--seed", "-9223372036854775808")), 0);
    assert_true(o.seed == INT64_MIN);
    cli_free(&a);
}

static void test_reals(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--lr", "1e-3", "--frac=2.5", "--temperature", "10")), 0);
    assert_true(o.lr == 1e-3f); /* a float field */
    assert_true(o.frac == 2.5); /* a double field */
    assert_true(o.temp == 10.0);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--lr", "0", "--temperature", "1e-9")), 0);
    assert_true(o.lr == 0.0f);
    cli_free(&a);
    const char *const *out_of_range[] = {ARGS("--lr", "1.0001"), ARGS("--lr", "-1e-9"), ARGS("--temperature", "0"),
                                         ARGS("--temperature", "-1"), ARGS("--temperature", "10.5")};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        assert_int_equal(run(&a, &o, out_of_range[i]), CLI_USAGE);
        cli_free(&a);
    }
    const char *bad[] = {"inf", "-inf", "INF", "infinity", "nan", "NaN", "-nan", "abc", "",
                         "1.0x", "1e999", "--1", "0.5 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--frac=%s", bad[i]);
        assert_int_equal(run(&a, &o, ARGS(arg)), CLI_USAGE);
        cli_free(&a);
    }
}

static void test_choices(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--optimizer", "sgd", "--split", "valid")), 0);
    assert_int_equal(o.optimizer, 1);
    assert_ptr_equal(o.split, splits[1]); /* a string choice points to the table's own name */
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--optimizer=adam")), 0);
    assert_int_equal(o.optimizer, 0);
    cli_free(&a);
    const char *bad[] = {"SGD", "", "ada", "adamw", "sgd "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--optimizer=%s", bad[i]);
        assert_int_equal(run(&a, &o, ARGS(arg)), CLI_USAGE);
        cli_free(&a);
    }
    assert_int_equal(run(&a, &o, ARGS("--split", "dev")), CLI_USAGE);
    cli_free(&a);
}

static void test_int_lists(void **state)
{
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--encoder-hidden", "32,16,8")), 0);
    assert_int_equal(o.num_hidden, 3);
    assert_memory_equal(o.hidden, ((int[]){32, 16, 8}), 3 * sizeof(int));
    cli_free(&a);
    /* Exactly as many entries as the array holds is fine; one more is an error. */
    assert_int_equal(run(&a, &o, ARGS("--encoder-hidden=1,2,3,4")), 0);
    assert_int_equal(o.num_hidden, 4);
    assert_int_equal(o.hidden[3], 4);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--encoder-hidden=1,2,3,4,5")), CLI_USAGE);
    cli_free(&a);
    /* This list needs at least one entry: "" (the empty list) is refused. */
    assert_int_equal(run(&a, &o, ARGS("--encoder-hidden=")), CLI_USAGE);
    assert_int_equal(o.num_hidden, 2); /* a refused list leaves the field alone */
    cli_free(&a);
    const char *bad[] = {"0", "1,x", "x", "-1", "1,0", "1,-2", ",1", "1,,2", "1.5", "64;32",
                         "128 64", "99999999999999999999", "1,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--encoder-hidden=%s", bad[i]);
        assert_int_equal(run(&a, &o, ARGS(arg)), CLI_USAGE);
        cli_free(&a);
    }
    /* A list that may be empty. */
    cli_entry lists[NUM_ENTRIES];
    memcpy(lists, entries, sizeof lists);
    for (int i = 0; i < NUM_ENTRIES; i++)
        if (lists[i].kind == CLI_LIST)
            lists[i].min = 0;
    cli_table t = table;
    t.entries = lists;
    o = defaults();
    assert_int_equal(run_table(&t, &a, &o, ARGS("--encoder-hidden=")), 0);
    assert_int_equal(o.num_hidden, 0);
    cli_free(&a);
}

/* ---------------------------------------------------------------- --config */

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
                                    "--out = run dir");
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--config", path)), 0);
    assert_int_equal(o.batch, 64);
    assert_true(o.lr == 0.25f);
    assert_int_equal(o.optimizer, 1);
    assert_int_equal(o.num_hidden, 2);
    assert_memory_equal(o.hidden, ((int[]){32, 16}), 2 * sizeof(int));
    assert_string_equal(o.out, "run dir"); /* inner space kept, last line unterminated */
    assert_false(cli_given(&a, "seed"));
    assert_true(cli_given(&a, "lr"));
    cli_free(&a);
}

static void test_config_cli_wins(void **state)
{
    const char *path = write_config("lr = 0.5\nbatch-size = 64\nquiet = false\nseed = 9\n");
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--lr", "0.1", "--quiet", "--config", path, "--seed=3")), 0);
    assert_true(o.lr == 0.1f);
    assert_int_equal(o.seed, 3);
    assert_int_equal(o.batch, 64); /* not on the command line */
    assert_int_equal(o.quiet, 1);  /* the command line's switch beats "false" */
    cli_free(&a);
}

static void test_config_values_checked(void **state)
{
    const char *path = write_config("batch-size = 0\n");
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--config", path)), CLI_USAGE);
    cli_free(&a);
}

static void test_config_switches(void **state)
{
    const char *path = write_config("quiet = true\nno-shuffle = false\n");
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--config", path)), 0);
    assert_int_equal(o.quiet, 1);
    assert_int_equal(o.shuffle, 1);
    assert_false(cli_given(&a, "no-shuffle"));
    cli_free(&a);
    const char *yes = write_config("no-shuffle = 1\n");
    assert_int_equal(run(&a, &o, ARGS("--config", yes)), 0);
    assert_int_equal(o.shuffle, 0);
    cli_free(&a);
    const char *bad = write_config("quiet = maybe\n");
    assert_int_equal(run(&a, &o, ARGS("--config", bad)), CLI_USAGE);
    cli_free(&a);
}

static void test_config_errors(void **state)
{
    cli_args a;
    opts o;
    /* An unknown key, a line without '=', a line with no key, the built-in flags as keys, a quote
     * not closed, text after a closing quote. */
    const char *texts[] = {"lr = 0.1\nfrobnicate = 3\n", "lr = 0.1\njust some words\n", "= 5\n", "config = x\n",
                           "help = true\n", "out = \"run\n", "out = 'run' dir\n"};
    for (int i = 0; i < 7; i++) {
        const char *path = write_config(texts[i]);
        assert_int_equal(run(&a, &o, ARGS("--config", path)), CLI_USAGE);
        cli_free(&a);
    }
    /* A file that does not exist (in the test's own folder, so it surely does not). */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such-file.conf", tmpdir);
    assert_int_equal(run(&a, &o, ARGS("--config", missing)), 1);
    cli_free(&a);
    /* A folder is not a readable config file. */
    assert_int_not_equal(run(&a, &o, ARGS("--config", tmpdir)), 0);
    cli_free(&a);
    /* A table without --config does not know the flag. */
    cli_table t = table;
    t.config = 0;
    o = defaults();
    assert_int_equal(run_table(&t, &a, &o, ARGS("--config", missing)), CLI_USAGE);
    cli_free(&a);
}

/* '#' starts a comment at the start of a line or after white space only; quotes are stripped and
 * keep what they hold; a second --config is a usage error. */
static void test_config_comments_and_quotes(void **state)
{
    const char *path = write_config("name = a#b\n"
                                    "out = \"run # one\"   # a comment after the quotes\n"
                                    "split = 'valid'#\n"
                                    "lr = 0.5 #0.7\n");
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--config", path)), 0);
    assert_string_equal(o.name, "a#b");
    assert_string_equal(o.out, "run # one");
    assert_string_equal(o.split, "valid");
    assert_true(o.lr == 0.5f);
    cli_free(&a);
    assert_int_equal(run(&a, &o, ARGS("--config", path, "--config", path)), CLI_USAGE);
    cli_free(&a);
}

static void test_config_empty_file(void **state)
{
    const char *path = write_config("");
    cli_args a;
    opts o;
    assert_int_equal(run(&a, &o, ARGS("--lr=0.3", "--config", path)), 0);
    assert_true(o.lr == 0.3f);
    assert_false(cli_given(&a, "batch-size"));
    cli_free(&a);
}

/* ---------------------------------------------------------------- --help */

static void test_help_shows_the_structs_defaults(void **state)
{
    opts o = defaults();
    o.batch = 77;
    o.lr = 0.25f;
    o.optimizer = 1;
    o.hidden[0] = 3, o.hidden[1] = 2, o.num_hidden = 2;
    o.out = "somewhere";
    char *help = help_text(&table, &o), line[1024];
    assert_non_null(strstr(help, "usage: prog [options]\n"));
    assert_non_null(strstr(help, "\nSection one:\n"));
    assert_non_null(strstr(help, "The end.\n"));
    assert_non_null(strstr(help_line(help, "batch-size", line, sizeof line), "global batch (default 77)"));
    assert_non_null(strstr(help_line(help, "lr", line, sizeof line), "(default 0.25)"));
    assert_non_null(strstr(help_line(help, "optimizer", line, sizeof line), "--optimizer adam|sgd"));
    assert_non_null(strstr(help_line(help, "optimizer", line, sizeof line), "(default sgd)"));
    assert_non_null(strstr(help_line(help, "split", line, sizeof line), "(train|valid|test; default test)"));
    assert_non_null(strstr(help_line(help, "encoder-hidden", line, sizeof line), "(default 3,2)"));
    assert_non_null(strstr(help_line(help, "out", line, sizeof line), "-o, --out DIR"));
    assert_non_null(strstr(help_line(help, "out", line, sizeof line), "(default somewhere)"));
    assert_non_null(strstr(help_line(help, "name", line, sizeof line), "(default: the host's name)"));
    assert_null(strstr(help_line(help, "quiet", line, sizeof line), "default"));
    assert_non_null(strstr(help, "--config FILE"));
    assert_non_null(strstr(help, "--help, --version"));
    free(help);
    /* Another struct, other defaults: they come from the struct, nowhere else. */
    o.batch = 5;
    help = help_text(&table, &o);
    assert_non_null(strstr(help_line(help, "batch-size", line, sizeof line), "(default 5)"));
    free(help);
}

static void test_synopsis(void **state)
{
    cli_entry req[NUM_ENTRIES];
    cli_table t = out_required(req);
    t.num_entries = 13; /* up to --out */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_synopsis(&t, f);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "[--batch-size B] [--seed S] [--big N] [--small N] [--lr F] [--frac F] [--temperature T] "
                             "[--quiet] [--no-shuffle] [--optimizer adam|sgd] [--encoder-hidden LIST] -o DIR");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_value_forms),
        cmocka_unit_test(test_value_containing_equals),
        cmocka_unit_test(test_last_repeated_wins),
        cmocka_unit_test(test_switches_and_alias),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_double_dash_and_positionals),
        cmocka_unit_test(test_help_and_version_exit),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_reals),
        cmocka_unit_test(test_choices),
        cmocka_unit_test(test_int_lists),
        cmocka_unit_test(test_config_basic),
        cmocka_unit_test(test_config_cli_wins),
        cmocka_unit_test(test_config_values_checked),
        cmocka_unit_test(test_config_switches),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_empty_file),
        cmocka_unit_test(test_config_comments_and_quotes),
        cmocka_unit_test(test_help_shows_the_structs_defaults),
        cmocka_unit_test(test_synopsis),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
