/* vae-prep: raw text in, a corpus file out (SPEC.md "Programs"). The command line is read here;
 * the work is done by vae_prep_run (src/prep.c). */
#include "cli.h"
#include "prep.h"

#include "vae/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: vae-prep [options] -o OUT.h5 INPUT...\n"
    "Turns raw text into a corpus file (format vae-corpus 1, or 2 with --sequences) in two passes\n"
    "over the inputs.\n"
    "INPUT: files, or folders taken recursively (entries in name order, names starting with '.'\n"
    "skipped). The output is written under a temporary name and renamed once whole.\n"
    "\n"
    "Input:\n"
    "  --format lines|files|jsonl  a document per line (default; blank lines skipped), per file,\n"
    "                              or per JSON object line\n"
    "  --text-field F              jsonl member holding the text (default text)\n"
    "Tokens (tokenizer letters-v1: maximal runs of letters, ASCII folded to lower case, valid\n"
    "non-ASCII UTF-8 letters kept as is; see src/tokenize.h):\n"
    "  --min-token-len N           drop tokens of fewer letters (code points; default 2)\n"
    "  --max-token-len N           drop tokens of more letters (code points; default 50, at most 1000)\n"
    "  --keep-digits               digits are letters (default: they separate tokens)\n"
    "  --stopwords en|none|FILE    words to drop: built-in English list (default), none, or a file\n"
    "                              of words one a line\n"
    "Vocabulary, chosen by document frequency (df) on the training split:\n"
    "  --min-df N                  keep words in at least N training documents (default 2)\n"
    "  --max-df-frac F             ... and in at most F of them (default 0.5)\n"
    "  --vocab-size N              then the N of highest df, ties by word (default 10000);\n"
    "                              ids in that order: descending df, then word (bytewise)\n"
    "  --vocab-from CORPUS.h5      reuse that corpus's vocabulary instead (not with the three\n"
    "                              options above; doc_freq and term_freq are counted anew)\n"
    "Splits, by a hash of (seed, the document's text):\n"
    "  --valid-frac F              fraction of documents in valid (default 0.05)\n"
    "  --test-frac F               fraction in test (default 0.05)\n"
    "  --seed S                    split seed, 0 or more (default 0)\n"
    "Documents with no vocabulary word are dropped and counted (root attribute docs_dropped_empty).\n"
    "\n"
    "Sequences (for models that read words in order):\n"
    "  --sequences sentence|line|document\n"
    "                              also write each document's units as token ids in text order\n"
    "                              (/<split>/seq; a word outside the vocabulary is id V); units\n"
    "                              without a token are left out. Changes the defaults to those of a\n"
    "                              language model: --stopwords none --min-token-len 1\n"
    "                              --max-df-frac 1 (flags given still win)\n"
    "  --max-length N              cut a longer unit into pieces of N tokens, the last one shorter\n"
    "                              (default 64; root attribute units_cut counts the units cut)\n"
    "  A line ends at each LF. A sentence (rule sentences-v1) ends after a run of . ! ? or U+2026\n"
    "  and any closing quotes and brackets (\" ' ) ] } U+2019 U+201D U+00BB U+203A U+300D U+300F\n"
    "  U+FF09) when white space or the end of the text follows, or at once after the CJK marks\n"
    "  U+3002 U+FF01 U+FF1F; but not after one '.' ending an abbreviation: a word (opening quotes\n"
    "  and brackets left out; any case) among mr mrs ms mx dr prof rev fr sr jr st mt gen col lt\n"
    "  sgt capt gov sen rep hon vs cf viz al approx fig figs vol pp ed eds dept est jan feb mar\n"
    "  apr jun jul aug sep sept oct nov dec, or single letters joined by dots (J. U.S. e.g. i.e.\n"
    "  a.m.). A blank line (only spaces, tabs or CRs between two LFs) always ends a sentence.\n"
    "\n"
    "Other:\n"
    "  -o, --output OUT.h5         the corpus file to write (required)\n"
    "  --config FILE               key = value lines for options not on the command line\n"
    "  --quiet                     no progress or summary on stderr\n"
    "  --help                      this text\n"
    "  --version                   the version\n"
    "Exit status: 0 done, 1 failed (nothing written under OUT.h5), 2 bad command line.\n";

enum { MAX_INT32 = 2147483647 };

typedef struct {
    cli_args a;
    cli_opt opts[24];
    char **argv; /* argv with "-o" spelled "--output" */
} command_line;

static int parse(command_line *c, int argc, char **argv)
{
    static const struct {
        const char *name;
        int takes_value;
    } spec[] = {{"format", 1},        {"text-field", 1},    {"vocab-size", 1},    {"min-df", 1},
                {"max-df-frac", 1},   {"stopwords", 1},     {"vocab-from", 1},    {"valid-frac", 1},
                {"test-frac", 1},     {"seed", 1},          {"quiet", 0},         {"output", 1},
                {"min-token-len", 1}, {"max-token-len", 1}, {"keep-digits", 0},   {"config", 1},
                {"help", 0},          {"version", 0},       {"sequences", 1},     {"max-length", 1}};
    int n = (int)(sizeof spec / sizeof spec[0]);
    for (int i = 0; i < n; i++)
        c->opts[i] = (cli_opt){spec[i].name, spec[i].takes_value, NULL, 0};
    /* cli.h knows long options only; -o is the one short option of the SPEC's command line */
    c->argv = calloc((size_t)argc + 1, sizeof *c->argv);
    if (!c->argv) {
        fprintf(stderr, "vae-prep: out of memory\n");
        return 1;
    }
    int options_end = 0;
    for (int i = 0; i < argc; i++) {
        options_end |= strcmp(argv[i], "--") == 0;
        c->argv[i] = !options_end && strcmp(argv[i], "-o") == 0 ? "--output" : argv[i];
    }
    int rc = cli_parse(&c->a, "vae-prep", c->opts, n, argc, c->argv, 1);
    if (!rc && cli_given(&c->a, "config") && !cli_given(&c->a, "help"))
        rc = cli_load_config(&c->a, cli_get_str(&c->a, "config", NULL));
    return rc;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "vae-prep: %s (see --help)\n", msg);
    return 2;
}

static int get_tokenizer(cli_args *a, vae_tokenizer *t)
{
    int64_t min_len, max_len;
    int rc = cli_get_int(a, "min-token-len", t->min_len, 1, 1000, &min_len);
    if (!rc)
        rc = cli_get_int(a, "max-token-len", t->max_len, 1, 1000, &max_len);
    if (rc)
        return rc;
    if (min_len > max_len)
        return usage_error("--min-token-len is above --max-token-len");
    t->min_len = (int)min_len;
    t->max_len = (int)max_len;
    t->keep_digits = cli_given(a, "keep-digits");
    return 0;
}

static int get_vocab_rules(cli_args *a, vae_prep_options *o)
{
    o->vocab_from = cli_get_str(a, "vocab-from", NULL);
    if (o->vocab_from &&
        (cli_given(a, "vocab-size") || cli_given(a, "min-df") || cli_given(a, "max-df-frac")))
        return usage_error("--vocab-from takes the vocabulary as it is: drop --vocab-size, "
                           "--min-df and --max-df-frac");
    vae_vocab_rules *r = &o->rules;
    int rc = cli_get_int(a, "vocab-size", r->max_words, 1, MAX_INT32, &r->max_words);
    if (!rc)
        rc = cli_get_int(a, "min-df", r->min_df, 1, INT64_MAX, &r->min_df);
    if (!rc)
        rc = cli_get_double(a, "max-df-frac", r->max_df_frac, 0.0, 1.0, &r->max_df_frac);
    if (!rc && r->max_df_frac <= 0.0)
        rc = usage_error("--max-df-frac must be above 0");
    return rc;
}

static int get_splits(cli_args *a, vae_prep_options *o)
{
    int64_t seed = 0;
    int rc = cli_get_double(a, "valid-frac", o->valid_frac, 0.0, 1.0, &o->valid_frac);
    if (!rc)
        rc = cli_get_double(a, "test-frac", o->test_frac, 0.0, 1.0, &o->test_frac);
    if (!rc && o->valid_frac + o->test_frac >= 1.0)
        rc = usage_error("--valid-frac plus --test-frac must be below 1, to leave training documents");
    if (!rc)
        rc = cli_get_int(a, "seed", 0, 0, INT64_MAX, &seed);
    o->seed = (uint64_t)seed;
    return rc;
}

/* --sequences first: it changes the defaults of the flags read after it. */
static int get_sequences(cli_args *a, vae_prep_options *o)
{
    static const char *const units[] = {"sentence", "line", "document", NULL};
    static const vae_unit unit_of[] = {VAE_UNIT_SENTENCE, VAE_UNIT_LINE, VAE_UNIT_DOCUMENT};
    int unit = 0;
    if (!cli_given(a, "sequences"))
        return cli_given(a, "max-length") ? usage_error("--max-length needs --sequences") : 0;
    int rc = cli_get_choice(a, "sequences", units, 0, &unit);
    if (!rc)
        vae_prep_options_sequences(o, unit_of[unit]);
    if (!rc)
        rc = cli_get_int(a, "max-length", o->max_length, 1, MAX_INT32, &o->max_length);
    return rc;
}

static int get_options(cli_args *a, vae_prep_options *o)
{
    static const char *const formats[] = {"lines", "files", "jsonl", NULL};
    static const vae_input_format format_of[] = {VAE_INPUT_LINES, VAE_INPUT_FILES, VAE_INPUT_JSONL};
    int format;
    int rc = get_sequences(a, o);
    if (!rc)
        rc = cli_get_choice(a, "format", formats, 0, &format);
    if (!rc)
        rc = get_tokenizer(a, &o->tok);
    if (!rc)
        rc = get_vocab_rules(a, o);
    if (!rc)
        rc = get_splits(a, o);
    if (rc)
        return rc;
    o->format = format_of[format];
    o->text_field = cli_get_str(a, "text-field", o->text_field);
    o->stopwords = cli_get_str(a, "stopwords", o->stopwords);
    o->quiet = cli_given(a, "quiet");
    o->out_path = cli_get_str(a, "output", NULL);
    o->inputs = (const char *const *)a->positional;
    o->num_inputs = a->num_positional;
    if (!o->out_path)
        return usage_error("missing -o OUT.h5");
    if (o->num_inputs == 0)
        return usage_error("missing INPUT: name at least one file or folder");
    return 0;
}

static void print_summary(const vae_prep_options *o, const vae_prep_stats *s)
{
    char seqs[96] = "";
    if (o->sequences)
        snprintf(seqs, sizeof seqs, "; %lld sequences (%ss, %lld cut)", (long long)s->seqs_written,
                 vae_unit_name(o->seq_unit), (long long)s->units_cut);
    fprintf(stderr,
            "vae-prep: wrote %s: %lld words; documents: %lld train, %lld valid, %lld test "
            "(%lld read, %lld dropped empty)%s; %.1f MB read twice in %.2f s (%.1f MB/s)\n",
            o->out_path, (long long)s->vocab_size, (long long)s->split_docs[VAE_SPLIT_TRAIN],
            (long long)s->split_docs[VAE_SPLIT_VALID], (long long)s->split_docs[VAE_SPLIT_TEST],
            (long long)s->docs_read, (long long)s->docs_dropped_empty, seqs, (double)s->input_bytes / 1e6,
            s->seconds, s->seconds > 0 ? (double)s->input_bytes / 1e6 / s->seconds : 0.0);
}

static int run(const vae_prep_options *o)
{
    vae_prep_stats stats;
    if (vae_prep_run(o, &stats) != VAE_OK) {
        fprintf(stderr, "vae-prep: %s\n", vae_error_message());
        return 1;
    }
    if (!o->quiet)
        print_summary(o, &stats);
    return 0;
}

int main(int argc, char **argv)
{
    command_line c = {0};
    vae_prep_options o;
    vae_prep_options_init(&o);
    int rc = parse(&c, argc, argv);
    /* Under mpirun or srun one process does the work (the output is one file); the others stop. */
    const char *rank = getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : getenv("PMI_RANK");
    if (!rc && rank && atoi(rank) > 0 && !cli_given(&c.a, "help") && !cli_given(&c.a, "version")) {
        cli_free(&c.a);
        free(c.argv);
        return 0;
    }
    if (!rc && cli_given(&c.a, "help"))
        fputs(usage, stdout);
    else if (!rc && cli_given(&c.a, "version"))
        printf("vae-prep %s\n", vae_version());
    else if (!rc && (rc = get_options(&c.a, &o)) == 0)
        rc = run(&o);
    cli_free(&c.a);
    free(c.argv);
    return rc;
}
