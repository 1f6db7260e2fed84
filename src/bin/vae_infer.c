/* vae-infer: everything done with a trained checkpoint. Parses the subcommand and its flags (every
 * rank alike, rank 0 speaks), runs it from src/infer/infer.c (eval and encode on every rank, the
 * others on rank 0 alone), and turns the outcome into SPEC's exit status: 0, 1 on failure, 2 on
 * usage. The checkpoint names its model family: no flag chooses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "blas.h"
#include "threads.h"
#include "vae/comm.h"

static const char usage[] =
    "usage: vae-infer COMMAND --checkpoint C [options]\n"
    "Everything done with a trained checkpoint (vae-dist's checkpoints/ckpt-*.h5). eval and encode may run\n"
    "under mpirun (each rank takes a contiguous range of the split's documents); the other commands are\n"
    "plain processes (under mpirun, rank 0 alone runs them).\n"
    "\n"
    "  eval --checkpoint C --corpus F [--split S] [--samples S] [--json]\n"
    "      Every figure of SPEC.md \"Figures\" on a split (default test) as one JSON object: split, docs,\n"
    "      empty_docs, tokens, recon, kl, elbo, recon_mean, ppl_doc, ppl_corpus, active_units, samples.\n"
    "      recon, elbo and the perplexities average S draws of z per document (default 1, as the\n"
    "      trainer's eval lines) from the fixed evaluation seed. The output is JSON with or without --json.\n"
    "  topics --checkpoint C [--top K] [--corpus F] [--json]\n"
    "      For each latent unit u, the K words (default 10) whose probability rises most when z_u goes\n"
    "      from -2 to +2 with the other units at 0, ranked by the rise\n"
    "      p(w | z = +2 e_u) - p(w | z = -2 e_u). One line a topic: \"topic <u>: w1 w2 ...\".\n"
    "      With --corpus: \" npmi=<x>\" after each topic, its NPMI coherence over its top 10 words from\n"
    "      document co-occurrence in F's train split (-1 for a pair never together), and a last line\n"
    "      \"diversity=<x>\": the share of distinct words among all topics' top 25.\n"
    "  generate --checkpoint C [--num N] [--length L] [--seed S] [--temperature T] [--json]\n"
    "      N documents (default 10), one a line, of L words each (default 50) drawn from\n"
    "      softmax(log p(w | z) / T) (default T = 1) with z ~ N(0, I). z and the words come from\n"
    "      counter-based streams keyed by (S, document number): a seed (default 0) always gives the\n"
    "      same documents.\n"
    "  summarize --checkpoint C (--corpus F --split S | --text FILE) [--top K] [--json]\n"
    "      One line a document: its K keywords (default 5), a keyword summary of that document: among\n"
    "      the words present in it, those with the highest log p(w | z = mu) - log p(w | z = 0), the\n"
    "      decoder at the document's mean against its output at z = 0, so that words common\n"
    "      everywhere do not win. --text: one document a line (FILE - reads standard input),\n"
    "      tokenized as vae-prep did (with the tokenizer settings the checkpoint records) onto the\n"
    "      checkpoint's vocabulary; a line with no known word gives an empty line.\n"
    "  encode --checkpoint C --corpus F --split S -o OUT.h5\n"
    "      OUT.h5 gets /mu and /logvar, float32 [D, latent], and /doc_ids when the split has them;\n"
    "      written under a temporary name and renamed when whole. Under mpirun each rank encodes its\n"
    "      range and sends its rows to rank 0, which writes the file.\n"
    "\n"
    "  --checkpoint C      a checkpoint written by vae-dist (required)\n"
    "  --corpus F          a corpus with the checkpoint's vocabulary (the same words in the same order)\n"
    "  --split S           train|valid|test\n"
    "  -o, --output FILE   encode's output file\n"
    "  --json              one JSON object a line: {\"topic\", \"words\", \"npmi\"} and {\"diversity\"},\n"
    "                      {\"doc\", \"words\"}, {\"doc\", \"keywords\"} (doc: the row in the split or the\n"
    "                      0-based line of --text)\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 done; 1 failure (the message names the file, dataset or flag); 2 bad usage.\n";

/* Every flag of every command; a command takes --help, --version and those its entry names. */
static const struct {
    const char *name;
    int takes_value;
} flags[] = {{"checkpoint", 1}, {"corpus", 1}, {"split", 1}, {"samples", 1}, {"json", 0},
             {"top", 1},        {"num", 1},    {"length", 1}, {"seed", 1},   {"temperature", 1},
             {"text", 1},       {"output", 1}, {"help", 0},   {"version", 0}};
enum { NUM_FLAGS = sizeof flags / sizeof flags[0] };

#define COMMANDS "eval, topics, generate, summarize or encode"

typedef struct {
    const char *name;
    const char *flags;    /* the flags it takes beyond --help and --version, space-separated */
    const char *required; /* flags it cannot do without */
    int default_top;
    int collective;       /* run on every rank */
    infer_command run;
} command;

static const command commands[] = {
    {"eval", "checkpoint corpus split samples json", "checkpoint corpus", 0, 1, infer_eval},
    {"topics", "checkpoint top corpus json", "checkpoint", 10, 0, infer_topics},
    {"generate", "checkpoint num length seed temperature json", "checkpoint", 0, 0, infer_generate},
    {"summarize", "checkpoint corpus split text top json", "checkpoint", 5, 0, infer_summarize},
    {"encode", "checkpoint corpus split output", "checkpoint corpus split output", 0, 1, infer_encode},
};
enum { NUM_COMMANDS = sizeof commands / sizeof commands[0] };

/* Whether the space-separated list names word. */
static int lists(const char *list, const char *word)
{
    const size_t n = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

typedef struct {
    cli_args a;
    cli_opt opts[NUM_FLAGS];
    char **argv; /* argv with -o spelled --output */
    char prog[32];
    const command *cmd;
} command_line;

static int takes(const command *cmd, const char *flag)
{
    return strcmp(flag, "help") == 0 || strcmp(flag, "version") == 0 || (cmd && lists(cmd->flags, flag));
}

/* Finds the command named by argv[1] and parses its flags. Returns 0, or 2 (1 out of memory) after
 * a message; with no command, only --help and --version are understood. */
static int parse(command_line *c, int argc, char **argv)
{
    if (argc < 2)
        return cli_say("vae-infer: missing COMMAND: " COMMANDS " (see --help)\n");
    for (int i = 0; i < NUM_COMMANDS && !c->cmd; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            c->cmd = &commands[i];
    if (!c->cmd && argv[1][0] != '-')
        return cli_say("vae-infer: unknown command '%s': " COMMANDS " (see --help)\n", argv[1]);
    int n = 0;
    for (int i = 0; i < NUM_FLAGS; i++)
        if (takes(c->cmd, flags[i].name))
            c->opts[n++] = (cli_opt){flags[i].name, flags[i].takes_value, NULL, 0};
    /* cli.h knows long options only; -o is the one short option of the SPEC's command line. */
    if (!(c->argv = calloc((size_t)argc + 1, sizeof *c->argv))) {
        cli_say("vae-infer: out of memory\n");
        return 1;
    }
    int options_end = 0;
    for (int i = 0; i < argc; i++) {
        options_end |= strcmp(argv[i], "--") == 0;
        c->argv[i] = !options_end && strcmp(argv[i], "-o") == 0 ? "--output" : argv[i];
    }
    snprintf(c->prog, sizeof c->prog, "vae-infer%s%s", c->cmd ? " " : "", c->cmd ? c->cmd->name : "");
    int rc = cli_parse(&c->a, c->prog, c->opts, n, argc, c->argv, c->cmd ? 2 : 1);
    if (rc == 0 && !c->cmd && !cli_given(&c->a, "help") && !cli_given(&c->a, "version"))
        rc = cli_say("vae-infer: missing COMMAND: " COMMANDS " (see --help)\n");
    return rc;
}

/* The typed flags of the command into o; 2 (after one message) when one is bad or missing. */
static int resolve(command_line *c, infer_opts *o)
{
    static const char *const splits[] = {"train", "valid", "test", NULL};
    cli_args *a = &c->a;
    const command *cmd = c->cmd;
    int64_t v;
    int rc, split;
    if (a->num_positional > 0)
        return cli_say("%s: unexpected argument '%s' (see --help)\n", c->prog, a->positional[0]);
    for (int i = 0; i < NUM_FLAGS; i++)
        if (lists(cmd->required, flags[i].name) && !cli_given(a, flags[i].name))
            return cli_say("%s: --%s%s is required (see --help)\n", c->prog, flags[i].name,
                           strcmp(flags[i].name, "output") == 0 ? " (-o)" : "");
    o->checkpoint = cli_get_str(a, "checkpoint", NULL);
    o->corpus = cli_get_str(a, "corpus", NULL);
    o->text = cli_get_str(a, "text", NULL);
    o->output = cli_get_str(a, "output", NULL);
    o->json = cli_given(a, "json");
    if (strcmp(cmd->name, "summarize") == 0 && !o->corpus == !o->text)
        return cli_say("%s: give either --corpus F --split S or --text FILE (see --help)\n", c->prog);
    if (o->corpus && strcmp(cmd->name, "summarize") == 0 && !cli_given(a, "split"))
        return cli_say("%s: --corpus needs --split (see --help)\n", c->prog);
    if (o->text && cli_given(a, "split"))
        return cli_say("%s: --split goes with --corpus, not --text (see --help)\n", c->prog);
    if ((rc = cli_get_choice(a, "split", splits, 2, &split)))
        return rc;
    o->split = splits[split];
    if ((rc = cli_get_int(a, "samples", 1, 1, 1 << 20, &v)))
        return rc;
    o->samples = (int)v;
    if ((rc = cli_get_int(a, "top", cmd->default_top, 1, 1 << 20, &v)))
        return rc;
    o->top = (int)v;
    if ((rc = cli_get_int(a, "num", 10, 0, INT64_MAX / 2, &o->num)) ||
        (rc = cli_get_int(a, "length", 50, 0, 1 << 24, &o->length)) ||
        (rc = cli_get_int(a, "seed", 0, 0, INT64_MAX, &v)) ||
        (rc = cli_get_double(a, "temperature", 1.0, 0.0, 1e6, &o->temperature)))
        return rc;
    o->seed = (uint64_t)v;
    if (o->temperature <= 0.0)
        return cli_say("%s: --temperature must be above 0 (see --help)\n", c->prog);
    return 0;
}

int main(int argc, char **argv)
{
    vae_comm *comm = NULL;
    if (vae_comm_init(&comm, &argc, &argv) != VAE_OK) {
        fprintf(stderr, "vae-infer: %s\n", vae_error_message());
        return 1;
    }
    const int rank = vae_comm_rank(comm);
    /* Every rank parses the same arguments and reaches the same verdict; only rank 0 speaks. */
    cli_set_silent(rank != 0);
    command_line c = {0};
    infer_opts o = {0};
    int status = parse(&c, argc, argv);
    if (status == 0 && cli_given(&c.a, "help")) {
        if (rank == 0)
            fputs(usage, stdout);
        status = -1;
    } else if (status == 0 && cli_given(&c.a, "version")) {
        if (rank == 0)
            printf("vae-infer %s\n", vae_version());
        status = -1;
    }
    if (status == 0)
        status = resolve(&c, &o);
    if (status == 0) {
        vae_set_blas_threads(vae_default_threads(vae_comm_local_size(comm)));
        int who = 0, rc = VAE_OK;
        if (c.cmd->collective || rank == 0)
            rc = c.cmd->run(&o, comm, stdout, &who);
        if (rc != VAE_OK && rank == who)
            fprintf(stderr, "vae-infer %s: %s\n", c.cmd->name, vae_error_message());
        if (rc == VAE_OK && rank == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
            fprintf(stderr, "vae-infer %s: cannot write the output to stdout\n", c.cmd->name);
            rc = VAE_ERR_IO;
        }
        status = rc != VAE_OK;
    }
    cli_free(&c.a);
    free(c.argv);
    vae_comm_free(comm);
    return status < 0 ? 0 : status;
}
