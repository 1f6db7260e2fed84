/* vae-infer: everything done with a trained checkpoint. Parses the subcommand and its flags (every
 * rank alike, rank 0 speaks), runs it from src/infer/infer.c (eval and encode on every rank, the
 * others on rank 0 alone), and turns the outcome into SPEC's exit status: 0, 1 on failure, 2 on
 * usage. The checkpoint names its model family: no flag chooses it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "blas.h"
#include "blas_core.h"
#include "threads.h"
#include "vae/comm.h"

typedef infer_opts I;
static const char *const splits[] = {"train", "valid", "test", NULL};

/* Every flag of every command, once; a command takes those its entry lists. */
enum {
    F_CHECKPOINT, F_CORPUS, F_SPLIT, F_SAMPLES, F_TOP_TOPICS, F_TOP_SUMMARIZE, F_NUM, F_LENGTH, F_SEED,
    F_TEMPERATURE, F_TEXT, F_SENTENCES, F_OUTPUT, F_JSON_EVAL, F_JSON_TOPICS, F_JSON_GENERATE, F_JSON_SUMMARIZE,
    F_GREEDY, F_BEAM_GENERATE, F_BEAM, F_MAX_LENGTH, F_TEXT_LINES, F_FROM, F_TO, F_STEPS, F_JSON_SENTENCES,
    F_IW_SAMPLES, NUM_FLAGS
};
static const cli_entry flags[NUM_FLAGS] = {
    [F_CHECKPOINT] = {"checkpoint", "C", "a checkpoint written by vae-dist", CLI_STRING, CLI_AT(I, checkpoint)},
    [F_CORPUS] = {"corpus", "F", "a corpus with the checkpoint's vocabulary (the same words in the same order)",
                  CLI_STRING, CLI_AT(I, corpus)},
    [F_SPLIT] = {"split", NULL, "the corpus's split", CLI_STRING, CLI_AT(I, split), .choices = splits},
    [F_SAMPLES] = {"samples", "S", "draws of z per document (the trainer's eval lines take 1)", CLI_INT,
                   CLI_AT(I, samples), .min = 1, .max = 1 << 20},
    [F_TOP_TOPICS] = {"top", "K", "words a topic", CLI_INT, CLI_AT(I, top), .min = 1, .max = 1 << 20},
    [F_TOP_SUMMARIZE] = {"top", "K", "keywords a document", CLI_INT, CLI_AT(I, top), .min = 1, .max = 1 << 20},
    [F_NUM] = {"num", "N", "documents (sentences for a model of sentences)", CLI_INT, CLI_AT(I, num), .min = 0,
               .max = INT64_MAX / 2},
    [F_LENGTH] = {"length", "L", "words a document", CLI_INT, CLI_AT(I, length), .min = 0, .max = 1 << 24},
    [F_SEED] = {"seed", "S", "the seed of z and of the words", CLI_INT, CLI_AT(I, seed), .min = 0,
                .max = INT64_MAX},
    [F_TEMPERATURE] = {"temperature", "T", "words drawn from softmax(log p(w | z) / T); above 0", CLI_REAL,
                       CLI_AT(I, temperature), .lo = 0.0, .hi = 1e6, .open_lo = 1},
    [F_TEXT] = {"text", "FILE", "instead of --corpus: one document a line, or with --sentences one a paragraph "
                "(blank lines between documents); - reads standard input", CLI_STRING, CLI_AT(I, text)},
    [F_SENTENCES] = {"sentences", "K", "an extractive summary of K sentences a document instead of keywords",
                     CLI_INT, CLI_AT(I, sentences), .min = 1, .max = 1 << 20, .default_text = "none: keywords"},
    [F_OUTPUT] = {"output", "OUT.h5", "the file to write", CLI_STRING, CLI_AT(I, output), .alias = "-o"},
    [F_JSON_EVAL] = {"json", NULL, "accepted: the output is JSON anyway", CLI_SWITCH, CLI_AT(I, json), .on = 1},
    [F_JSON_TOPICS] = {"json", NULL,
                       "one JSON object a line: {\"topic\", \"words\", \"weights\", \"npmi\"}, then {\"diversity\"}",
                       CLI_SWITCH, CLI_AT(I, json), .on = 1},
    [F_JSON_GENERATE] = {"json", NULL, "one JSON object a line: {\"doc\", \"words\"}, or {\"sentence\", \"words\"} "
                         "for a model of sentences", CLI_SWITCH, CLI_AT(I, json), .on = 1},
    [F_JSON_SUMMARIZE] = {"json", NULL, "one JSON object a line: {\"doc\", \"keywords\"}, or with --sentences "
                          "{\"doc\", \"sentences\": [{\"index\", \"score\", \"text\"}, ...]} (doc: the row in the "
                          "split, or the 0-based line or paragraph of --text)", CLI_SWITCH, CLI_AT(I, json), .on = 1},
    [F_GREEDY] = {"greedy", NULL, "a model of sentences: the most probable token at each position instead of sampling",
                  CLI_SWITCH, CLI_AT(I, greedy), .on = 1},
    [F_BEAM_GENERATE] = {"beam", "K", "a model of sentences: beam search of K hypotheses instead of sampling (the most "
                         "probable sentence found, log-probabilities summed without length normalization; K = 1 is "
                         "--greedy)", CLI_INT, CLI_AT(I, beam), .min = 1, .max = 64, .default_text = "none: sampling"},
    [F_BEAM] = {"beam", "K", "beam search of K hypotheses instead of greedy decoding (the most probable sentence "
                "found, log-probabilities summed without length normalization; K = 1 is greedy decoding)", CLI_INT,
                CLI_AT(I, beam), .min = 1, .max = 64, .default_text = "none: greedy"},
    [F_MAX_LENGTH] = {"max-length", "L", "a model of sentences: tokens a sentence at most (one that reaches L ends "
                      "there without </s>)", CLI_INT, CLI_AT(I, max_length), .min = 1, .max = 1 << 12},
    [F_TEXT_LINES] = {"text", "FILE", "one sentence a line (- reads standard input), tokenized as vae-prep --sequences "
                      "did", CLI_STRING, CLI_AT(I, text)},
    [F_FROM] = {"from", "TEXT", "the sentence at the start", CLI_STRING, CLI_AT(I, from)},
    [F_TO] = {"to", "TEXT", "the sentence at the end", CLI_STRING, CLI_AT(I, to)},
    [F_STEPS] = {"steps", "K", "steps between them: K + 1 sentences", CLI_INT, CLI_AT(I, steps), .min = 1,
                 .max = 1 << 20},
    [F_JSON_SENTENCES] = {"json", NULL, "one JSON object a line: {\"sentence\", \"words\"} (sentence: the line of "
                          "--text, or the step)", CLI_SWITCH, CLI_AT(I, json), .on = 1},
    [F_IW_SAMPLES] = {"iw-samples", "K", "adds nll_iw and ppl_iw, the importance-weighted estimates of K draws a unit "
                      "(a family with importance weights: sentence)", CLI_INT, CLI_AT(I, iw_samples), .min = 1,
                      .max = 1 << 16, .default_text = "none"},
};

enum { MAX_COMMAND_FLAGS = 12, END = -1 };

typedef struct {
    const char *name;
    int flags[MAX_COMMAND_FLAGS]; /* indices into flags[], END-terminated */
    unsigned required;            /* bit i: flags[i] is required */
    int top;                      /* the command's defaults beyond the common ones */
    const char *split;
    int collective;               /* run on every rank */
    infer_command run;
    const char *about;
} command;

static const command commands[] = {
    {"eval", {F_CHECKPOINT, F_CORPUS, F_SPLIT, F_SAMPLES, F_IW_SAMPLES, F_JSON_EVAL, END}, 0x3, 0, "test", 1,
     infer_eval,
     "Every figure of SPEC.md \"Figures\" on a split as one JSON object: split, docs, empty_docs, tokens, recon, "
     "kl, elbo, recon_mean, ppl_doc, ppl_corpus, active_units, samples (a model of sentences: its figures of the "
     "split's sequences, nll, ppl, ...). recon, elbo and the perplexities average --samples draws of z per unit "
     "from the fixed evaluation seed. With --iw-samples K, also nll_iw = the mean over units of "
     "-log(mean_k w_k) and ppl_iw = exp(sum of those / tokens), with w_k = p(x, z_k) / q(z_k | x) for K draws "
     "z_k ~ q(z | x) (Burda et al. 2015): a tighter bound on the negative log-likelihood than nll."},
    {"topics", {F_CHECKPOINT, F_TOP_TOPICS, F_CORPUS, F_JSON_TOPICS, END}, 0x1, 10, NULL, 0, infer_topics,
     "For each latent unit u, the --top words whose probability rises most when z_u goes from -2 to +2 with the "
     "other units at 0, ranked by the rise p(w | z = +2 e_u) - p(w | z = -2 e_u). One line a topic: \"topic <u>: w1 "
     "w2 ...\". With --corpus: \" npmi=<x>\" after each topic, its NPMI coherence over its top 10 words from "
     "document co-occurrence in the corpus's train split (-1 for a pair never together), and a last line "
     "\"diversity=<x>\": the share of distinct words among all topics' top 25."},
    {"generate", {F_CHECKPOINT, F_NUM, F_LENGTH, F_SEED, F_TEMPERATURE, F_GREEDY, F_BEAM_GENERATE, F_MAX_LENGTH,
                  F_JSON_GENERATE, END}, 0x1, 0, NULL, 0, infer_generate,
     "--num documents, one a line, of --length words each, drawn with z ~ N(0, I). z and the words come from "
     "counter-based streams keyed by (seed, document number): a seed always gives the same documents. A model of "
     "sentences (sentence) gives --num sentences instead, one a line, each ending at </s> or after --max-length "
     "tokens (<unk> for a word outside the vocabulary): tokens sampled from softmax(log p / --temperature), or "
     "the most probable with --greedy, or the most probable sentence a beam search of --beam K finds; z and the "
     "sampling's uniforms come from the streams of (seed, sentence number). --length applies to documents, "
     "--greedy, --beam and --max-length to sentences, --temperature to sampling alone."},
    {"summarize", {F_CHECKPOINT, F_CORPUS, F_SPLIT, F_TEXT, F_TOP_SUMMARIZE, F_SENTENCES, F_JSON_SUMMARIZE, END}, 0x1, 5, NULL, 0,
     infer_summarize,
     "Of --corpus F --split S or of --text FILE, one line a document: its --top keywords, a keyword summary of "
     "that document: among the words present in it, those with the highest log p(w | z = mu) - log p(w | z = 0), "
     "the decoder at the document's mean against its output at z = 0, so that words common everywhere do not win. "
     "--text is tokenized as vae-prep did (with the tokenizer settings the checkpoint records) onto the "
     "checkpoint's vocabulary; a line with no known word gives an empty line. "
     "With --sentences K, an extractive summary instead: the K sentences of each document (all of them "
     "when it has fewer) that the model finds most representative of it, in document order, one a line, a blank line "
     "between documents. The document is encoded (z_d = the mean of q(z | document)) and each of its words w "
     "weighs q(w) = 0.3 n_w / N + 0.7 p(w | z_d): its share of the document's N tokens mixed with the decoder's "
     "distribution at z_d, which moves weight from the document's incidental words to those the model has learnt go "
     "with what it is about. A set S of sentences scores the weight of its distinct words over its length, "
     "q(S) / (its words of the vocabulary + 2): a summary should hold the document's weighty words and spend few "
     "others on them, and the 2 keeps a sentence of one lucky word from winning. (For a family whose decoder gives "
     "no p(w | z), S is encoded as one and scores the cosine of its mean and z_d.) S grows greedily, one sentence a "
     "step, the one that makes it score best (ties to the earlier), so a sentence whose words S already has adds "
     "only its length, and a near-duplicate of a chosen "
     "sentence (cosine of word counts >= 0.8) is taken only when nothing else is left. z is the mean, so the result "
"is deterministic. A sentence with no word of the vocabulary is never chosen. --text: documents are "
     "paragraphs, cut into sentences by the rule sentences-v1 of vae-prep --sequences sentence and printed as they "
     "stand (a line break inside one becomes a space). --corpus: the split's sequences (vae-prep --sequences "
     "sentence) are the sentences; the corpus keeps their token ids, not their text, so they are printed as their "
     "words (<unk> for "
     "a word outside the vocabulary), and a corpus without sequences is refused. The score in --json is the "
     "set's score when that sentence joined it."},
    {"encode", {F_CHECKPOINT, F_CORPUS, F_SPLIT, F_OUTPUT, END}, 0xf, 0, NULL, 1, infer_encode,
     "OUT.h5 gets /mu and /logvar, float32 [D, latent], and /doc_ids when the split has them; written under a "
     "temporary name and renamed when whole (a model of sentences: one row a sequence of the split's seq group). "
     "Under mpirun each rank encodes its range and sends its rows to rank 0, which writes the file."},
    {"reconstruct", {F_CHECKPOINT, F_TEXT_LINES, F_BEAM, F_MAX_LENGTH, F_JSON_SENTENCES, END}, 0x3, 0, NULL, 0,
     infer_reconstruct,
     "A model of sentences: each line of --text encoded (z = mu) and decoded greedily (or by --beam K), one output "
     "line a line (an empty one for a line without a token)."},
    {"interpolate", {F_CHECKPOINT, F_FROM, F_TO, F_STEPS, F_BEAM, F_MAX_LENGTH, F_JSON_SENTENCES, END}, 0x7, 0, NULL,
     0, infer_interpolate,
     "A model of sentences: --steps + 1 sentences decoded greedily (or by --beam K) from z_t = (1 - t) mu_A + t mu_B, "
     "t = 0, 1/K, ..., 1, where mu_A and mu_B are the encodings of --from and --to."},
};
enum { NUM_COMMANDS = sizeof commands / sizeof commands[0] };

#define COMMANDS "eval, topics, generate, summarize, encode, reconstruct or interpolate"

static const char intro[] =
    "usage: vae-infer COMMAND --checkpoint C [options]\n"
    "Everything done with a trained checkpoint (vae-dist's checkpoints/ckpt-*.h5). eval and encode may run\n"
    "under mpirun (each rank takes a contiguous range of the split's documents); the other commands are\n"
    "plain processes (under mpirun, rank 0 alone runs them). `vae-infer COMMAND --help`: that command alone.\n"
    "\n";
static const char epilog[] =
    "\nExit status: 0 done; 1 failure (the message names the file, dataset or flag); 2 bad usage.\n";

/* A command's defaults: the common ones and its own. */
static infer_opts defaults_of(const command *cmd)
{
    return (infer_opts){.split = cmd->split, .samples = 1, .top = cmd->top, .num = 10, .length = 50,
                        .temperature = 1.0, .max_length = VAE_SEQ_TOKENS_PER_UNIT, .steps = 10};
}

/* The command's flags as a table (entries in the caller's array of MAX_COMMAND_FLAGS). */
static cli_table table_of(const command *cmd, cli_entry *entries, const char *usage)
{
    int n = 0;
    for (; n < MAX_COMMAND_FLAGS && cmd->flags[n] != END; n++) {
        entries[n] = flags[cmd->flags[n]];
        entries[n].required = (cmd->required >> n) & 1;
    }
    return (cli_table){.prog = cmd->name, .usage = usage, .epilog = epilog, .entries = entries, .num_entries = n};
}

/* A command's part of --help: its synopsis, what it does and (with_flags) its flags with its
 * defaults. */
static void describe(const command *cmd, int indent, int with_flags, FILE *out)
{
    cli_entry entries[MAX_COMMAND_FLAGS];
    const cli_table t = table_of(cmd, entries, "");
    const infer_opts o = defaults_of(cmd);
    fprintf(out, "%*s%s%s ", indent, "", indent ? "" : "usage: vae-infer ", cmd->name);
    cli_synopsis(&t, out);
    fputc('\n', out);
    cli_paragraph(out, indent ? indent + 4 : 0, cmd->about);
    if (with_flags)
        cli_help_entries(&t, &o, indent + 4, out);
}

/* --help's text before the flags: the whole program's (cmd NULL: every command with its flags) or
 * one command's (whose flags cli_help lists), in a string the caller frees (NULL: out of memory). */
static char *usage_text(const command *cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (cmd) {
        describe(cmd, 0, 0, f);
    } else {
        fputs(intro, f);
        for (int i = 0; i < NUM_COMMANDS; i++)
            describe(&commands[i], 2, 1, f);
    }
    fputc('\n', f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* generate's flags of one kind of model: which the checkpoint's family must take (infer.h). */
static const char *first_given(const cli_args *a, const char *const *names)
{
    for (; *names; names++)
        if (cli_given(a, *names))
            return *names;
    return NULL;
}

/* The checks that span several flags, after the table's own; 2 after one message. */
static int check_flags(const cli_args *a, const command *cmd, infer_opts *o)
{
    static const char *const seq_flags[] = {"greedy", "beam", "max-length", NULL};
    static const char *const doc_flags[] = {"length", NULL};
    if (strcmp(cmd->name, "generate") == 0) {
        o->seq_flag = first_given(a, seq_flags);
        o->doc_flag = first_given(a, doc_flags);
        if (o->greedy && o->beam)
            return cli_say("vae-infer generate: --greedy and --beam are two ways of choosing tokens: give one (see "
                           "--help)\n");
        if ((o->greedy || o->beam) && cli_given(a, "temperature"))
            return cli_say("vae-infer generate: --temperature applies to sampling, not to --%s (see --help)\n",
                           o->greedy ? "greedy" : "beam");
    }
    if (strcmp(cmd->name, "summarize") != 0)
        return 0;
    if (!o->corpus == !o->text)
        return cli_say("vae-infer summarize: give either --corpus F --split S or --text FILE (see --help)\n");
    if (o->corpus && !o->split)
        return cli_say("vae-infer summarize: --corpus needs --split (see --help)\n");
    if (cli_given(a, "top") && cli_given(a, "sentences"))
        return cli_say("vae-infer summarize: --top (keywords) and --sentences (sentences) are two summaries: give "
                       "one (see --help)\n");
    if (o->text && cli_given(a, "split"))
        return cli_say("vae-infer summarize: --split goes with --corpus, not --text (see --help)\n");
    return 0;
}

/* Finds the command named by argv[1] and parses and checks its flags into o. Returns 0, CLI_EXIT after
 * --help or --version, 2 (1 out of memory) after a message; with no command, only --help and
 * --version are understood. */
static int parse(cli_args *a, const command **cmd, infer_opts *o, char **usage, int argc, char **argv)
{
    if (argc < 2)
        return cli_say("vae-infer: missing COMMAND: " COMMANDS " (see --help)\n");
    for (int i = 0; i < NUM_COMMANDS && !*cmd; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            *cmd = &commands[i];
    if (!*cmd && argv[1][0] != '-')
        return cli_say("vae-infer: unknown command '%s': " COMMANDS " (see --help)\n", argv[1]);
    if (!(*usage = usage_text(*cmd))) {
        cli_say("vae-infer: out of memory\n");
        return 1;
    }
    char prog[32];
    cli_entry entries[MAX_COMMAND_FLAGS];
    cli_table t = {.usage = *usage, .epilog = epilog};
    if (*cmd) {
        t = table_of(*cmd, entries, *usage);
        snprintf(prog, sizeof prog, "vae-infer %s", (*cmd)->name);
        t.prog = prog;
        *o = defaults_of(*cmd);
    } else {
        t.prog = "vae-infer";
    }
    int rc = cli_run(a, &t, o, argc, argv, *cmd ? 2 : 1);
    if (rc == 0 && !*cmd)
        rc = cli_say("vae-infer: missing COMMAND: " COMMANDS " (see --help)\n");
    if (rc == 0)
        rc = check_flags(a, *cmd, o);
    a->table = NULL; /* t lives here, and a outlives it */
    return rc;
}

int main(int argc, char **argv)
{
    vae_comm *comm = NULL;
    restart_with_better_blas_core(argv);
    /* As vae-prep: encode past the file size limit fails with EFBIG naming its file. */
    signal(SIGXFSZ, SIG_IGN);
    if (vae_comm_init(&comm, &argc, &argv) != VAE_OK) {
        fprintf(stderr, "vae-infer: %s\n", vae_error_message());
        return 1;
    }
    const int rank = vae_comm_rank(comm);
    /* Every rank parses the same arguments and reaches the same verdict; only rank 0 speaks. */
    cli_set_silent(rank != 0);
    const command *cmd = NULL;
    infer_opts o = {0};
    char *usage = NULL;
    cli_args a = {0};
    int status = parse(&a, &cmd, &o, &usage, argc, argv);
    if (status == 0) {
        vae_set_blas_threads(vae_default_threads(vae_comm_local_size(comm)));
        int who = 0, rc = VAE_OK;
        if (cmd->collective || rank == 0)
            rc = cmd->run(&o, comm, stdout, &who);
        if (rc != VAE_OK && rank == who)
            fprintf(stderr, "vae-infer %s: %s\n", cmd->name, vae_error_message());
        if (rc == VAE_OK && rank == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
            fprintf(stderr, "vae-infer %s: cannot write the output to stdout\n", cmd->name);
            rc = VAE_ERR_IO;
        }
        status = rc == INFER_USAGE ? CLI_USAGE : rc != VAE_OK;
    }
    cli_free(&a);
    free(usage);
    vae_comm_free(comm);
    return status == CLI_EXIT ? 0 : status;
}
