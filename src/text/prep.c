/* The vae-prep pipeline (see prep.h): list the inputs, count words in pass 1, choose the
 * vocabulary, write every document (and its sequences) in pass 2, record the settings, commit the
 * file; the steps of one document, which the parallel pipeline (prep_parallel.c) shares. */
#include "prep_run.h"
#include "files.h"
#include "hash.h"

#include "vae/comm.h"
#include "vae/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void vae_prep_options_init(vae_prep_options *o)
{
    memset(o, 0, sizeof *o);
    o->format = VAE_INPUT_LINES;
    o->text_field = "text";
    vae_tokenizer_init(&o->tok);
    o->stopwords = "en";
    o->rules = (vae_vocab_rules){.min_df = 2, .max_df_frac = 0.5, .max_words = 10000};
    o->valid_frac = o->test_frac = 0.05;
    o->max_length = 64;
    o->word_table_mb = 4096;
    o->prog = "vae-prep";
}

void vae_prep_options_sequences(vae_prep_options *o, vae_unit unit)
{
    o->sequences = 1;
    o->seq_unit = unit;
    o->stopwords = "none";
    o->tok.min_len = 1;
    o->rules.max_df_frac = 1.0;
}

/* ---- splits ---- */

int vae_split_of(uint64_t seed, const char *text, size_t n, double valid_frac, double test_frac)
{
    double u = (double)(vae_hash_bytes(seed, text, n) >> 11) * 0x1p-53;
    return u < valid_frac ? VAE_SPLIT_VALID : u < valid_frac + test_frac ? VAE_SPLIT_TEST : VAE_SPLIT_TRAIN;
}

const char *vae_split_name(int split)
{
    static const char *const names[VAE_NUM_SPLITS] = {"train", "valid", "test"};
    return names[split];
}

/* ---- progress ---- */

double prep_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void prep_progress_tick(prep_progress *p, int64_t bytes, int64_t docs)
{
    if (p->quiet)
        return;
    double t = prep_now();
    if (t - p->last < 1.0)
        return;
    p->last = t;
    char counted[48] = "";
    if (docs >= 0)
        snprintf(counted, sizeof counted, ", %lld documents", (long long)docs);
    fprintf(stderr, "%s: pass %d/2: %.1f of %.1f MB%s, %.1f MB/s\n", p->prog, p->pass, (double)bytes / 1e6,
            (double)p->total_bytes / 1e6, counted, (double)bytes / 1e6 / (t - p->pass_start));
}

void prep_progress_pass(prep_progress *p, int pass)
{
    p->pass = pass;
    p->pass_start = p->last = prep_now();
}

/* ---- the pipeline ---- */

static int load_vocab_from(prep *p)
{
    vae_corpus *c = NULL;
    const char *const *words;
    const int64_t *df, *tf;
    int rc = vae_corpus_open(&c, p->o->vocab_from);
    if (!rc)
        rc = vae_corpus_vocab(c, &words, &df, &tf);
    if (!rc)
        rc = vae_wordtab_from_words(&p->counts, words, vae_corpus_vocab_size(c));
    vae_corpus_free(c);
    return rc;
}

/* The stopwords take the first ids of the counting table, where pass 1 finds and skips them with
 * the one lookup it makes per token anyway, instead of a second lookup in the stopword set. They
 * are never counted, so their df stays 0 and min_df >= 1 keeps them out of the vocabulary. */
static int new_counting_table(prep *p)
{
    int rc = vae_wordtab_new(&p->counts);
    if (!rc)
        vae_wordtab_set_limit(p->counts, (size_t)p->o->word_table_mb << 20);
    p->num_stopwords = p->stopwords ? vae_wordtab_size(p->stopwords) : 0;
    for (int64_t i = 0; !rc && i < p->num_stopwords; i++) {
        const char *w = vae_wordtab_word(p->stopwords, i);
        rc = vae_wordtab_add(p->counts, w, strlen(w), NULL);
    }
    return rc;
}

/* The tokenizer for looking words up in t: without the stopword filter when t holds no stopword,
 * as the lookup then drops them anyway, and the filter would cost a second lookup per token. */
static vae_tokenizer lookup_tokenizer(const prep *p, const vae_wordtab *t)
{
    vae_tokenizer tok = p->tok;
    int64_t n = p->stopwords ? vae_wordtab_size(p->stopwords) : 0;
    for (int64_t i = 0; i < n; i++) {
        const char *w = vae_wordtab_word(p->stopwords, i);
        if (vae_wordtab_find(t, w, strlen(w)) >= 0)
            return tok;
    }
    tok.stopwords = NULL;
    return tok;
}

int prep_setup(prep *p)
{
    const vae_prep_options *o = p->o;
    p->tok = o->tok;
    int rc = vae_tokenizer_check(&p->tok);
    if (!rc && o->rules.min_df < 1)
        rc = vae_fail(VAE_ERR_ARG, "min_df %lld is below 1", (long long)o->rules.min_df);
    if (!rc && o->sequences && o->max_length < 1)
        rc = vae_fail(VAE_ERR_ARG, "max_length %lld is below 1", (long long)o->max_length);
    if (!rc && o->valid_frac + o->test_frac >= 1.0)
        rc = vae_fail(VAE_ERR_ARG, "valid_frac + test_frac = %g leaves no training documents",
                      o->valid_frac + o->test_frac);
    if (!rc)
        rc = vae_check_not_input(o->out_path, o->vocab_from, "--vocab-from");
    if (!rc)
        rc = vae_check_not_input(o->out_path, o->stopwords, "--stopwords");
    if (!rc)
        rc = vae_stopwords_load(&p->stopwords, o->stopwords);
    p->tok.stopwords = p->stopwords;
    if (!rc)
        rc = vae_input_list_new(&p->inputs, o->inputs, o->num_inputs, o->out_path);
    if (!rc)
        rc = o->vocab_from ? load_vocab_from(p) : new_counting_table(p);
    p->prog = (prep_progress){.prog = o->prog, .quiet = o->quiet, .start = prep_now(),
                         .total_bytes = p->inputs ? p->inputs->total_bytes : 0};
    return rc;
}

int prep_open_output(prep *p)
{
    const vae_prep_options *o = p->o;
    int rc = vae_corpus_writer_new(&p->writer, o->out_path);
    if (!rc && o->sequences)
        rc = vae_corpus_writer_set_sequences(p->writer, vae_unit_name(o->seq_unit), o->max_length);
    return rc;
}

int prep_mpi_started(const prep *p) { return !p->o->comm || vae_comm_started(p->o->comm); }

int prep_mpi_up(prep *p, int rank, int size)
{
    vae_comm *c = p->o->comm;
    if (!c)
        return VAE_OK;
    int rc = vae_comm_wait(c);
    int64_t wrong = !rc && (vae_comm_rank(c) != rank || vae_comm_size(c) != size);
    if (!rc && vae_comm_size(c) > 1)
        rc = vae_comm_sum_int64(c, &wrong, 1);
    return rc ? rc : wrong ? PREP_RESTART : VAE_OK;
}

/* One process alone, once MPI says so: its output, unless the run has failed already (rc). */
static int alone_up(prep *p, int rc)
{
    const int up_rc = prep_mpi_up(p, 0, 1);
    return up_rc ? up_rc : rc ? rc : prep_open_output(p);
}

static int count_token(void *pctx, const char *token, size_t len)
{
    prep_counter *c = pctx;
    int64_t id;
    int rc = VAE_OK;
    if (c->grow)
        rc = vae_wordtab_add(c->counts, token, len, &id);
    else
        id = vae_wordtab_find(c->counts, token, len);
    if (rc || id < c->first_counted)
        return rc;
    c->tokens++;
    vae_wordtab_count(c->counts, id, c->doc);
    return VAE_OK;
}

static int split_of(const prep *p, const vae_input_doc *d)
{
    return vae_split_of(p->o->seed, d->text, d->len, p->o->valid_frac, p->o->test_frac);
}

void prep_counter_init(prep *p, prep_counter *c)
{
    int grow = p->o->vocab_from == NULL;
    *c = (prep_counter){.counts = p->counts, .grow = grow, .first_counted = grow ? p->num_stopwords : 0,
                        .tok = p->tok};
    if (grow)
        c->tok.stopwords = NULL; /* see new_counting_table */
    else
        c->tok = lookup_tokenizer(p, p->counts);
}

int prep_count_doc(prep *p, prep_counter *c, const vae_input_doc *d)
{
    int rc = VAE_OK;
    p->st->docs_read++;
    if (split_of(p, d) == VAE_SPLIT_TRAIN) {
        c->tokens = 0;
        rc = vae_tokenize(&c->tok, d->text, d->len, count_token, c);
        if (rc == VAE_ERR_NOMEM && c->grow) {
            char why[512];
            snprintf(why, sizeof why, "%s", vae_error_message());
            rc = vae_fail(rc, "%s, at %s line %lld: raise --word-table-mb, or check the inputs (a binary "
                          "file? the wrong --format?)", why, d->path, (long long)d->line);
        }
        c->doc++;
        p->train_docs += c->tokens > 0;
    }
    return rc;
}

/* Pass 1 begins while MPI starts; *up once alone_up has run, as soon as MPI is up. */
static int count_pass(prep *p, int *up)
{
    vae_doc_reader *r = NULL;
    vae_input_doc d;
    prep_counter c;
    prep_counter_init(p, &c);
    prep_progress_pass(&p->prog, 1);
    int rc = vae_doc_reader_new(&r, p->inputs, p->o->format, p->o->text_field);
    while (!rc && !(rc = vae_doc_reader_next(r, &d)) && d.text) {
        if (!*up && prep_mpi_started(p)) {
            *up = 1;
            if ((rc = alone_up(p, VAE_OK)) != VAE_OK)
                break;
        }
        rc = prep_count_doc(p, &c, &d);
        prep_progress_tick(&p->prog, vae_doc_reader_bytes(r), p->st->docs_read);
    }
    if (r)
        p->st->input_bytes = vae_doc_reader_bytes(r);
    vae_doc_reader_free(r);
    if (!rc && p->st->docs_read == 0)
        rc = vae_fail(VAE_ERR_FORMAT, "no documents in the inputs");
    return rc;
}

static int choose_vocab(prep *p)
{
    if (p->o->vocab_from) {
        p->vocab = p->counts;
        p->counts = NULL;
    } else {
        int rc = vae_vocab_select(&p->vocab, p->counts, p->train_docs, &p->o->rules);
        if (rc)
            return rc;
        /* pass 2 needs only the vocabulary: give the memory of all the other words back */
        vae_wordtab_free(p->counts);
        p->counts = NULL;
    }
    return prep_use_vocab(p);
}

int prep_use_vocab(prep *p)
{
    int64_t V = vae_wordtab_size(p->vocab);
    if (V == 0)
        return vae_fail(VAE_ERR_FORMAT,
                        "no word of %lld training documents passes the vocabulary rules "
                        "(--min-df %lld, --max-df-frac %g)",
                        (long long)p->train_docs, (long long)p->o->rules.min_df,
                        p->o->rules.max_df_frac);
    const char **words = NULL;
    int rc = p->writer ? vae_wordtab_word_list(p->vocab, &words) : VAE_OK;
    if (!rc && p->writer)
        rc = vae_corpus_writer_set_vocab(p->writer, words, vae_wordtab_doc_freq(p->vocab),
                                         vae_wordtab_term_freq(p->vocab), V);
    free(words);
    if (!rc)
        rc = vae_bow_new(&p->bow, V);
    p->map_tok = lookup_tokenizer(p, p->vocab);
    p->st->vocab_size = V;
    return rc;
}

static int format_doc_id(prep *p, const vae_input_doc *d)
{
    size_t need = strlen(d->path) + 24;
    if (need > p->doc_id_cap) {
        char *s = realloc(p->doc_id, need);
        if (!s)
            return vae_fail(VAE_ERR_NOMEM, "out of memory naming a document of %s", d->path);
        p->doc_id = s;
        p->doc_id_cap = need;
    }
    if (d->line > 0)
        snprintf(p->doc_id, p->doc_id_cap, "%s:%lld", d->path, (long long)d->line);
    else
        snprintf(p->doc_id, p->doc_id_cap, "%s", d->path);
    return VAE_OK;
}

/* The tokenizer's callback for a unit: its id, or V for a word outside the vocabulary, goes to the
 * unit; a word of the vocabulary to the bag too. */
static int unit_token(void *ctx, const char *token, size_t len)
{
    prep *p = ctx;
    vae_seqs *u = &p->units;
    int64_t id = vae_wordtab_find(p->vocab, token, len);
    int rc = vae_bow_add(p->bow, id, token, len);
    if (!rc && u->num_tokens == u->cap_tokens)
        rc = vae_seqs_reserve(u, u->num_seqs, u->num_tokens + 1);
    if (!rc)
        u->tokens[u->num_tokens++] = (int32_t)(id < 0 ? p->bow->vocab_size : id);
    return rc;
}

/* The document's bag and its units with at least one token, from one tokenization. The tokenizer
 * is the one asked for, stopwords and all: they are dropped from the units, never made unknown. */
static int read_units(prep *p, const vae_input_doc *d)
{
    vae_seqs *u = &p->units;
    vae_units walk;
    vae_span sp;
    int rc = VAE_OK;
    u->num_seqs = u->num_tokens = 0;
    vae_bow_clear(p->bow);
    vae_units_begin(&walk, p->o->seq_unit, d->text, d->len);
    while (!rc && vae_units_next(&walk, &sp)) {
        int64_t before = u->num_tokens;
        rc = vae_tokenize(&p->tok, d->text + sp.start, sp.end - sp.start, unit_token, p);
        if (!rc && u->num_tokens > before && (rc = vae_seqs_reserve(u, u->num_seqs + 1, u->num_tokens)) == VAE_OK)
            u->indptr[++u->num_seqs] = u->num_tokens;
    }
    vae_bow_finish(p->bow);
    if (rc)
        p->bow->nnz = 0;
    return rc;
}

/* Appends the units of document doc of split, a unit longer than max_length cut into pieces of
 * max_length tokens (the last one shorter). */
static int write_units(prep *p, int split, int64_t doc, const vae_seqs *u)
{
    const int64_t N = p->o->max_length;
    int rc = VAE_OK;
    for (int64_t k = 0; k < u->num_seqs && !rc; k++) {
        int64_t start = u->indptr[k], end = u->indptr[k + 1];
        p->st->units_cut += end - start > N;
        for (int64_t at = start; at < end && !rc; at += N) {
            rc = vae_corpus_writer_add_seq(p->writer, vae_split_name(split), doc, u->tokens + at,
                                           end - at < N ? end - at : N);
            p->st->seqs_written += !rc;
        }
    }
    return rc;
}

int prep_convert_doc(prep *p, const vae_input_doc *d, int *split)
{
    *split = split_of(p, d);
    int rc = p->o->sequences ? read_units(p, d)
                             : vae_bow_from_text(p->bow, &p->map_tok, p->vocab, d->text, d->len);
    if (rc || p->bow->nnz == 0) {
        p->st->docs_dropped_empty += !rc;
        return rc;
    }
    return format_doc_id(p, d);
}

int prep_put_doc(prep *p, int split, const int32_t *ids, const int32_t *counts, int64_t nnz,
                 const char *doc_id, const vae_seqs *units)
{
    int rc = vae_corpus_writer_add_doc(p->writer, vae_split_name(split), ids, counts, nnz, doc_id);
    if (!rc && p->o->sequences)
        rc = write_units(p, split, p->st->split_docs[split], units);
    p->st->docs_kept += !rc;
    p->st->split_docs[split] += !rc;
    return rc;
}

static int write_doc(prep *p, const vae_input_doc *d)
{
    int split;
    int rc = prep_convert_doc(p, d, &split);
    if (rc || p->bow->nnz == 0)
        return rc;
    return prep_put_doc(p, split, p->bow->ids, p->bow->counts, p->bow->nnz, p->doc_id, &p->units);
}

static int write_pass(prep *p)
{
    vae_doc_reader *r = NULL;
    vae_input_doc d;
    int64_t docs = 0;
    prep_progress_pass(&p->prog, 2);
    int rc = vae_doc_reader_new(&r, p->inputs, p->o->format, p->o->text_field);
    while (!rc && !(rc = vae_doc_reader_next(r, &d)) && d.text) {
        docs++;
        rc = write_doc(p, &d);
        prep_progress_tick(&p->prog, vae_doc_reader_bytes(r), docs);
    }
    vae_doc_reader_free(r);
    if (!rc && docs != p->st->docs_read)
        rc = vae_fail(VAE_ERR_IO, "the inputs changed between the two passes (%lld documents, "
                      "then %lld)", (long long)p->st->docs_read, (long long)docs);
    return rc;
}

/* The shortest text that reads back as the same double. */
static int set_attr_double(vae_corpus_writer *w, const char *name, double v)
{
    char s[32];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, v);
        if (strtod(s, NULL) == v)
            break;
    }
    return vae_corpus_writer_set_attr_str(w, name, s);
}

static int set_vocab_attrs(prep *p)
{
    vae_corpus_writer *w = p->writer;
    const vae_prep_options *o = p->o;
    if (o->vocab_from)
        return vae_corpus_writer_set_attr_str(w, "vocab_from", o->vocab_from);
    int rc = vae_corpus_writer_set_attr_int(w, "vocab_min_df", o->rules.min_df);
    if (!rc)
        rc = set_attr_double(w, "vocab_max_df_frac", o->rules.max_df_frac);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "vocab_size_requested", o->rules.max_words);
    return rc;
}

/* Named so that other programs can tokenize new text as this corpus was (see tokenize.h). */
static int set_attrs(prep *p)
{
    vae_corpus_writer *w = p->writer;
    const vae_prep_options *o = p->o;
    int rc = vae_corpus_writer_set_attr_str(w, "tokenizer", VAE_TOKENIZER_NAME);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "tokenizer_min_len", o->tok.min_len);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "tokenizer_max_len", o->tok.max_len);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "tokenizer_keep_digits", o->tok.keep_digits);
    if (!rc)
        rc = vae_corpus_writer_set_attr_str(w, "stopwords", o->stopwords);
    if (!rc)
        rc = set_vocab_attrs(p);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "split_seed", (int64_t)o->seed);
    if (!rc)
        rc = set_attr_double(w, "valid_frac", o->valid_frac);
    if (!rc)
        rc = set_attr_double(w, "test_frac", o->test_frac);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "docs_read", p->st->docs_read);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "docs_dropped_empty", p->st->docs_dropped_empty);
    if (!rc)
        rc = vae_corpus_writer_set_attr_int(w, "docs_kept", p->st->docs_kept);
    if (!rc && o->sequences)
        rc = vae_corpus_writer_set_attr_int(w, "seqs_written", p->st->seqs_written);
    if (!rc && o->sequences)
        rc = vae_corpus_writer_set_attr_int(w, "units_cut", p->st->units_cut);
    if (!rc && o->sequences && o->seq_unit == VAE_UNIT_SENTENCE)
        rc = vae_corpus_writer_set_attr_str(w, "sentence_rule", VAE_SENTENCES_NAME);
    return rc;
}

void prep_free(prep *p)
{
    vae_corpus_writer_free(p->writer);
    vae_bow_free(p->bow);
    vae_seqs_free(&p->units);
    vae_wordtab_free(p->vocab);
    vae_wordtab_free(p->counts);
    vae_wordtab_free(p->stopwords);
    vae_input_list_free(p->inputs);
    free(p->doc_id);
}

int prep_finish(prep *p)
{
    int rc = set_attrs(p);
    if (!rc)
        rc = vae_corpus_writer_commit(p->writer);
    return rc;
}

/* One process: the output is created once MPI has said that this is the only rank, within the first
 * documents of a large input (as before the passes, where a plain run had it: an unwritable output
 * fails early). */
static int run_alone(prep *p)
{
    int up = 0;
    int rc = prep_setup(p);
    if (!rc)
        rc = count_pass(p, &up);
    if (!up)
        rc = alone_up(p, rc);
    if (!rc)
        rc = choose_vocab(p);
    if (!rc)
        rc = write_pass(p);
    if (!rc)
        rc = prep_finish(p);
    return rc;
}

/* MPI's own rank and size, waiting for its start. */
static int mpi_rank_size(vae_comm *c, int *rank, int *size)
{
    int rc = vae_comm_wait(c);
    *rank = rc ? 0 : vae_comm_rank(c);
    *size = rc ? 1 : vae_comm_size(c);
    return rc;
}

int vae_prep_run(const vae_prep_options *o, vae_prep_stats *stats)
{
    /* Pass 1 begins by the launcher's rank and size while MPI starts (vae_comm_start); by MPI's when
     * the environment does not tell, and again from the start when it told wrong. */
    int rank = 0, size = 1, rc = VAE_OK;
    if (o->comm && !vae_comm_launch(o->comm, &rank, &size))
        rc = mpi_rank_size(o->comm, &rank, &size);
    const double start = prep_now();
    for (int again = 1; !rc && again;) {
        memset(stats, 0, sizeof *stats);
        prep p = {.o = o, .st = stats};
        rc = size > 1 ? prep_run_parallel(&p, rank, size) : run_alone(&p);
        prep_free(&p);
        again = rc == PREP_RESTART;
        if (again)
            rc = mpi_rank_size(o->comm, &rank, &size);
    }
    stats->seconds = prep_now() - start;
    return rc;
}
