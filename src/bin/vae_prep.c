/* vae-prep: raw text in, a corpus file out (SPEC.md "Programs"). The command line is its option
 * table below, whose defaults are vae_prep_options_init's; the work is done by vae_prep_run
 * (src/text/prep.c). */
#include "cli.h"
#include "prep.h"

#include "vae/comm.h"
#include "vae/common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef vae_prep_options P;
static const char *const formats[] = {"lines", "files", "jsonl", NULL}; /* vae_input_format's order */
static const char *const units[] = {"sentence", "line", "document", NULL}; /* vae_unit's order */

static const cli_entry entries[] = {
    {.help = "Input:", .kind = CLI_HEADING},
    {"format", NULL, "a document per line (blank lines skipped), per file, or per JSON object line", CLI_CHOICE,
     CLI_AT(P, format), .choices = formats},
    {"text-field", "F", "jsonl member holding the text", CLI_STRING, CLI_AT(P, text_field)},
    {.help = "Tokens (tokenizer letters-v1: maximal runs of letters, ASCII folded to lower case, valid non-ASCII "
             "UTF-8 letters kept as is; see src/text/tokenize.h):",
     .kind = CLI_HEADING},
    {"min-token-len", "N", "drop tokens of fewer letters, counted in code points", CLI_INT,
     CLI_AT(P, tok.min_len), .min = 1, .max = VAE_TOKEN_LEN_LIMIT},
    {"max-token-len", "N", "drop tokens of more letters, counted in code points", CLI_INT,
     CLI_AT(P, tok.max_len), .min = 1, .max = VAE_TOKEN_LEN_LIMIT},
    {"keep-digits", NULL, "digits are letters (otherwise they separate tokens)", CLI_SWITCH,
     CLI_AT(P, tok.keep_digits), .on = 1},
    {"stopwords", "en|none|FILE", "words to drop: the built-in English list, none, or a file of words one a line",
     CLI_STRING, CLI_AT(P, stopwords)},
    {.help = "Vocabulary, chosen by document frequency (df) on the training split:", .kind = CLI_HEADING},
    {"min-df", "N", "keep words in at least N training documents", CLI_INT, CLI_AT(P, rules.min_df), .min = 1,
     .max = INT64_MAX},
    {"max-df-frac", "F", "... and in at most that fraction of them", CLI_REAL, CLI_AT(P, rules.max_df_frac),
     .lo = 0.0, .hi = 1.0, .open_lo = 1},
    {"vocab-size", "N", "then the N of highest df, ties by word; ids in that order: descending df, then word "
     "(bytewise)", CLI_INT, CLI_AT(P, rules.max_words), .min = 1, .max = INT32_MAX},
    {"vocab-from", "CORPUS.h5", "reuse that corpus's vocabulary instead (not with the three flags above; "
     "doc_freq and term_freq are counted anew)", CLI_STRING, CLI_AT(P, vocab_from)},
    {.help = "Splits, by a hash of (seed, the document's text):", .kind = CLI_HEADING},
    {"valid-frac", "F", "fraction of documents in valid", CLI_REAL, CLI_AT(P, valid_frac), .lo = 0.0, .hi = 1.0},
    {"test-frac", "F", "fraction in test", CLI_REAL, CLI_AT(P, test_frac), .lo = 0.0, .hi = 1.0},
    {"seed", "S", "split seed", CLI_INT, CLI_AT(P, seed), .min = 0, .max = INT64_MAX},
    {.help = "Documents with no vocabulary word are dropped and counted (root attribute docs_dropped_empty).",
     .kind = CLI_HEADING},
    {.help = "", .kind = CLI_HEADING},
    {.help = "Sequences (for models that read words in order):", .kind = CLI_HEADING},
    {"sequences", NULL, "also write each document's units as token ids in text order (/<split>/seq, format "
     "vae-corpus 2; a word outside the vocabulary is id V); units without a token are left out. Changes the "
     "defaults to those of a language model: --stopwords none --min-token-len 1 --max-df-frac 1 (flags given "
     "still win)", CLI_CHOICE, CLI_AT(P, seq_unit), .choices = units, .default_text = "default none"},
    {"max-length", "N", "cut a longer unit into pieces of N tokens, the last one shorter (root attribute "
     "units_cut counts the units cut)", CLI_INT, CLI_AT(P, max_length), .min = 1, .max = INT32_MAX},
    {.help = "A line ends at each LF. A sentence (rule sentences-v1) ends after a run of . ! ? or U+2026 and any "
             "closing quotes and brackets (\" ' ) ] } U+2019 U+201D U+00BB U+203A U+300D U+300F U+FF09) when "
             "white space or the end of the text follows, or at once after the CJK marks U+3002 U+FF01 U+FF1F; "
             "but not after one '.' ending an abbreviation: a word (opening quotes and brackets left out; any "
             "case) among mr mrs ms mx dr prof rev fr sr jr st mt gen col lt sgt capt gov sen rep hon vs cf viz al "
             "approx fig figs vol pp ed eds dept est jan feb mar apr jun jul aug sep sept oct nov dec, or single "
             "letters joined by dots (J. U.S. e.g. i.e. a.m.). A blank line (only spaces, tabs or CRs between two "
             "LFs) always ends a sentence.",
     .kind = CLI_HEADING},
    {.help = "", .kind = CLI_HEADING},
    {.help = "Other:", .kind = CLI_HEADING},
    {"output", "OUT.h5", "the corpus file to write", CLI_STRING, CLI_AT(P, out_path), .alias = "-o", .required = 1},
    {"word-table-mb", "MB", "the memory cap of the first pass's table of distinct tokens (every token of the "
     "inputs, before the vocabulary is chosen; 100 to 200 bytes a token): past it vae-prep stops with exit 1",
     CLI_INT, CLI_AT(P, word_table_mb), .min = 1, .max = 1 << 24},
    {"quiet", NULL, "no progress or summary on stderr", CLI_SWITCH, CLI_AT(P, quiet), .on = 1},
    {"ranks-per-node", "K", "under mpirun: count runs of K consecutive ranks as nodes, whose ranks share "
     "out the first pass's pieces as they go (so that one machine runs the multi-node case: tests)", CLI_INT,
     CLI_AT(P, ranks_per_node), .min = 1, .max = 1 << 20, .default_text = "default: the machines"},
};

static const cli_table table = {
    .prog = "vae-prep",
    .usage = "Usage: vae-prep [options] -o OUT.h5 INPUT...\n"
             "Turns raw text into a corpus file (format vae-corpus 1, or 2 with --sequences) in two passes\n"
             "over the inputs.\n"
             "INPUT: files, or folders taken recursively (entries in name order, names starting with '.'\n"
             "skipped). The output is written under a temporary name and renamed once whole.\n"
             "\n",
    .epilog = "\nExit status: 0 done, 1 failed (nothing written under OUT.h5), 2 bad command line.\n",
    CLI_ENTRIES(entries),
    .config = 1,
    .positional = "INPUT",
};

/* The checks that span several flags, after the table's own; 2 after one message. */
static int check_options(const cli_args *a, vae_prep_options *o)
{
    if (!o->sequences && cli_given(a, "max-length"))
        return cli_say("vae-prep: --max-length needs --sequences (see --help)\n");
    if (o->tok.min_len > o->tok.max_len)
        return cli_say("vae-prep: --min-token-len is above --max-token-len (see --help)\n");
    if (o->vocab_from && (cli_given(a, "vocab-size") || cli_given(a, "min-df") || cli_given(a, "max-df-frac")))
        return cli_say("vae-prep: --vocab-from takes the vocabulary as it is: drop --vocab-size, --min-df and "
                       "--max-df-frac (see --help)\n");
    if (o->valid_frac + o->test_frac >= 1.0)
        return cli_say("vae-prep: --valid-frac plus --test-frac must be below 1, to leave training documents "
                       "(see --help)\n");
    o->inputs = (const char *const *)a->positional;
    o->num_inputs = a->num_positional;
    if (o->num_inputs == 0)
        return cli_say("vae-prep: missing INPUT: name at least one file or folder (see --help)\n");
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

/* The command line into o (twice when --sequences changes the defaults, so that the flags given
 * win); 0 to go on, else the exit status. */
static int read_command_line(cli_args *a, vae_prep_options *o, int argc, char **argv)
{
    vae_prep_options_init(o);
    int rc = cli_run(a, &table, o, argc, argv, 1);
    if (rc == 0 && cli_given(a, "sequences")) {
        vae_unit unit = o->seq_unit;
        cli_free(a);
        vae_prep_options_init(o);
        vae_prep_options_sequences(o, unit);
        rc = cli_run(a, &table, o, argc, argv, 1);
    }
    return rc == 0 ? check_options(a, o) : rc;
}

/* Rank 0 speaks, once MPI says which rank that is; every process does when MPI failed to start. */
static int speaks(vae_comm *comm) { return vae_comm_wait(comm) != VAE_OK || vae_comm_rank(comm) == 0; }

/* Every rank runs it, with the one message the ranks agreed on. */
static int run(const vae_prep_options *o)
{
    vae_prep_stats stats;
    if (vae_prep_run(o, &stats) != VAE_OK) {
        if (speaks(o->comm))
            fprintf(stderr, "vae-prep: %s\n", vae_error_message());
        return 1;
    }
    if (!o->quiet && speaks(o->comm))
        print_summary(o, &stats);
    return 0;
}

int main(int argc, char **argv)
{
    /* Under mpirun or srun (whatever its process manager) every process starts here, and MPI says
     * which one this is; a plain run is one MPI process of its own. Every rank reads the same
     * command line and takes its share of the work (src/text/prep_parallel.c), so that every
     * process exits with the same status. MPI starts on a thread meanwhile (vae_comm_start), and
     * the first pass begins before it is up. */
    vae_comm *comm = NULL;
    /* A write past the file size limit (ulimit -f) then fails with EFBIG, reported with the file,
     * instead of killing the process mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    if (vae_comm_start(&comm) != VAE_OK) {
        fprintf(stderr, "vae-prep: %s\n", vae_error_message());
        return 1;
    }
    /* Read silently while MPI starts; when it ends the run (a usage error, --help, --version), rank
     * 0 reads it again aloud. */
    vae_prep_options o;
    cli_args a;
    cli_set_silent(1);
    int rc = read_command_line(&a, &o, argc, argv);
    if (rc != 0 && speaks(comm)) {
        cli_free(&a);
        cli_set_silent(0);
        rc = read_command_line(&a, &o, argc, argv);
    }
    o.comm = comm;
    if (rc == 0)
        rc = run(&o);
    cli_free(&a);
    vae_comm_free(comm);
    return rc == CLI_EXIT ? 0 : rc;
}
