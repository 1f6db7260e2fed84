/* vae-infer's subcommands (see infer.h) over a checkpoint of any model family, which the checkpoint
 * names: documents are read in batches of the model's capacity, so memory is bounded by a batch and
 * the vocabulary, never by the corpus. */
#include "infer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "embeddings_write.h"
#include "files.h"
#include "vae/evaluate.h"
#include "vae/family.h"
#include "vocab.h"

/* Documents per read when counting co-occurrence. */
#define COOC_BATCH 4096
/* NPMI is taken over each topic's top 10 words and diversity over its top 25, whatever --top. */
#define NPMI_WORDS 10
#define DIVERSITY_WORDS 25

/* ---- a checkpoint and a corpus split ---- */

void infer_unload(infer_loaded *m)
{
    vae_model_free(m->model);
    vae_checkpoint_free(m->ck);
    memset(m, 0, sizeof *m);
}

int infer_load(infer_loaded *m, const char *path)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    int rc = vae_checkpoint_open(&m->ck, path);
    if (rc != VAE_OK)
        return rc;
    if ((rc = vae_checkpoint_vocab(m->ck, &m->words, &m->V)) != VAE_OK ||
        (rc = vae_model_new(&m->model, vae_checkpoint_model(m->ck), INFER_BATCH)) != VAE_OK ||
        (rc = vae_checkpoint_read_params(m->ck, vae_model_layout(m->model), vae_model_params(m->model))) != VAE_OK ||
        (rc = vae_checkpoint_read_state(m->ck, vae_model_state_layout(m->model), vae_model_state(m->model))) != VAE_OK)
        infer_unload(m);
    else
        m->L = vae_model_latent(m->model);
    return rc;
}

int infer_open_split(const infer_loaded *m, const char *path, const char *split, vae_corpus **c,
                      vae_split_info *info)
{
    const char *const *words;
    const int64_t *df, *tf;
    int rc = vae_corpus_open(c, path);
    if (rc != VAE_OK || (rc = vae_corpus_vocab(*c, &words, &df, &tf)) != VAE_OK)
        return rc;
    const int64_t V = vae_corpus_vocab_size(*c);
    if (V != m->V)
        return vae_fail(VAE_ERR_ARG, "corpus %s has %lld words, but checkpoint %s was trained on %lld: "
                        "its vocabulary is another one", path, (long long)V, m->path, (long long)m->V);
    for (int64_t w = 0; w < V; w++)
        if (strcmp(words[w], m->words[w]) != 0)
            return vae_fail(VAE_ERR_ARG, "corpus %s: word %lld is '%s' where checkpoint %s has '%s': "
                            "its vocabulary is another one", path, (long long)w, words[w], m->path, m->words[w]);
    if ((rc = vae_corpus_split_info(*c, split, info)) != VAE_OK)
        return rc;
    if (!info->present)
        return vae_fail(VAE_ERR_ARG, "corpus %s has no split '%s'", path, split);
    return VAE_OK;
}

/* Reads rows [first, first + n) of split (n <= the room of list). */
static int read_rows(vae_corpus *c, const char *split, int64_t first, int64_t n, int64_t *list, vae_docs *docs)
{
    for (int64_t i = 0; i < n; i++)
        list[i] = first + i;
    return vae_corpus_read_docs(c, split, list, n, docs);
}

/* A rank's contiguous share [lo, hi) of D documents: the trainer's evaluation sharding. */
static void shard(int64_t D, int rank, int ranks, int64_t *lo, int64_t *hi)
{
    *lo = D * rank / ranks;
    *hi = D * (rank + 1) / ranks;
}

int64_t infer_split_units(const infer_loaded *m, const vae_split_info *info)
{
    return vae_model_family(m->model)->unit == VAE_UNIT_SEQS ? info->num_seqs : info->num_docs;
}

int infer_read_units(const infer_loaded *m, vae_corpus *c, const char *split, int64_t first, int64_t n, int64_t *list,
                     vae_docs *docs, vae_seqs *seqs, vae_batch *b)
{
    if (vae_model_family(m->model)->unit == VAE_UNIT_DOCS) {
        *b = (vae_batch){.docs = docs};
        return read_rows(c, split, first, n, list, docs);
    }
    *b = (vae_batch){.seqs = seqs};
    for (int64_t i = 0; i < n; i++)
        list[i] = first + i;
    int rc = vae_corpus_read_seqs(c, split, list, n, seqs);
    if (rc == VAE_OK)
        rc = vae_model_reserve_tokens(m->model, seqs->num_tokens);
    return rc;
}

/* A split of the units the model reads: a family of sequences needs the split's seq group. */
static int check_units(const infer_loaded *m, const char *path, const char *split, const vae_split_info *info)
{
    if (vae_model_family(m->model)->unit == VAE_UNIT_SEQS && !info->has_seqs)
        return vae_fail(VAE_ERR_ARG, "corpus %s: split '%s' has no sequences (/%s/seq), which the %s model of %s "
                        "reads: make the corpus with vae-prep --sequences", path, split, split,
                        vae_model_family(m->model)->name, m->path);
    return VAE_OK;
}

int infer_check_family_flags(const infer_loaded *m, const infer_opts *o)
{
    const char *family = vae_model_family(m->model)->name;
    const int decodes = vae_model_seq_classes(m->model) > 0;
    if (!decodes && o->seq_flag)
        return vae_fail(INFER_USAGE, "--%s applies to a model that decodes sentences; %s holds a %s model, which "
                        "decodes none (see --help)", o->seq_flag, m->path, family);
    if (decodes && o->doc_flag)
        return vae_fail(INFER_USAGE, "--%s applies to a model of documents; %s holds a %s model, whose sentences "
                        "end at </s> or --max-length (see --help)", o->doc_flag, m->path, family);
    if (o->iw_samples > 0 && !vae_model_family(m->model)->log_weights)
        return vae_fail(INFER_USAGE, "--iw-samples: the %s model of %s has no importance weights (see --help)", family,
                        m->path);
    return VAE_OK;
}

/* ---- text ---- */

const char *infer_token_word(const infer_loaded *m, int32_t id) { return id < m->V ? m->words[id] : "<unk>"; }

typedef struct {
    vae_seqs *q;
    const vae_wordtab *vocab;
    int64_t V;
} seq_text;

/* The tokenizer's callback: the token's id, or V outside the vocabulary, ends the last sequence. */
static int add_token(void *ctx, const char *token, size_t len)
{
    seq_text *c = ctx;
    vae_seqs *q = c->q;
    const int64_t id = vae_wordtab_find(c->vocab, token, len);
    int rc = vae_seqs_reserve(q, q->num_seqs, q->num_tokens + 1);
    if (rc == VAE_OK) {
        q->tokens[q->num_tokens++] = (int32_t)(id < 0 ? c->V : id);
        q->indptr[q->num_seqs] = q->num_tokens;
    }
    return rc;
}

int infer_append_text_seq(vae_seqs *q, const vae_tokenizer *t, const vae_wordtab *vocab, int64_t V, const char *text,
                          size_t n, int64_t doc)
{
    int rc = vae_seqs_reserve(q, q->num_seqs + 1, q->num_tokens);
    if (rc != VAE_OK)
        return rc;
    q->indptr[0] = 0;
    q->seq_index[q->num_seqs] = q->num_seqs;
    q->doc[q->num_seqs] = doc;
    q->indptr[++q->num_seqs] = q->num_tokens;
    seq_text c = {.q = q, .vocab = vocab, .V = V};
    return vae_tokenize(t, text, n, add_token, &c);
}

/* ---- output ---- */

/* The JSON array of the words ids[0..n) as member key of j. json.h writes objects only, so the
 * array is put together here from json_append_string's escaped strings, laid end to end. */
static void json_words(json_buf *j, const char *key, const infer_loaded *m, const int32_t *ids, int n)
{
    json_buf esc;
    json_init(&esc);
    size_t *end = vae_malloc_array((size_t)n + 1, sizeof *end);
    char *text = NULL;
    for (int i = 0; end && i < n; i++) {
        json_append_string(&esc, infer_token_word(m, ids[i]));
        end[i] = esc.len;
    }
    /* "[", the words, n - 1 commas, "]" and the NUL: n + 3 bytes beyond the words, for n = 0 too. */
    if (end && !esc.failed && (text = vae_malloc_array(esc.len + (size_t)n + 3, 1))) {
        char *p = text;
        *p++ = '[';
        for (int i = 0; i < n; i++) {
            const size_t start = i ? end[i - 1] : 0;
            if (i)
                *p++ = ',';
            memcpy(p, esc.buf + start, end[i] - start);
            p += end[i] - start;
        }
        *p++ = ']';
        *p = '\0';
        json_raw(j, key, text);
    } else {
        j->failed = 1;
    }
    free(text);
    free(end);
    json_free(&esc);
}

/* The JSON array of the numbers x[0..n) as member key of j (%.6g each: a weight, not a bit pattern). */
static void json_numbers(json_buf *j, const char *key, const double *x, int n)
{
    char *text = vae_malloc_array((size_t)n * 32 + 3, 1);
    if (!text) {
        j->failed = 1;
        return;
    }
    char *p = text;
    *p++ = '[';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%.6g", i ? "," : "", isfinite(x[i]) ? x[i] : 0.0);
    sprintf(p, "]");
    json_raw(j, key, text);
    free(text);
}

void infer_put_words(FILE *out, const infer_loaded *m, const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? " " : "", infer_token_word(m, ids[i]));
}

int infer_put_json(FILE *out, json_buf *j)
{
    json_end(j);
    if (j->failed)
        return vae_fail(VAE_ERR_NOMEM, "out of memory writing a JSON line");
    fprintf(out, "%s\n", j->buf);
    return VAE_OK;
}

/* One document's or topic's words: the plain line, or {"<index_key>": index, "<key>": [...]}. */
int infer_put_word_line(FILE *out, const infer_opts *o, json_buf *j, const infer_loaded *m, const char *index_key,
                         int64_t index, const char *key, const int32_t *ids, int n)
{
    if (!o->json) {
        infer_put_words(out, m, ids, n);
        fputc('\n', out);
        return VAE_OK;
    }
    json_begin(j);
    json_int(j, index_key, index);
    json_words(j, key, m, ids, n);
    return infer_put_json(out, j);
}

/* ---- eval ---- */

/* eval --iw-samples K: this rank's share of the split's units in batches of the model's capacity,
 * the sums added over the ranks. */
static int iw_split(const infer_opts *o, infer_loaded *m, vae_corpus *c, const vae_split_info *info, vae_comm *comm,
                    infer_iw_sums *s, int *who)
{
    vae_docs docs;
    vae_seqs seqs;
    vae_docs_init(&docs);
    vae_seqs_init(&seqs);
    int64_t lo, hi, *list = vae_malloc_array(INFER_BATCH, sizeof *list);
    double *logw = vae_malloc_array((size_t)INFER_BATCH * (size_t)o->iw_samples, sizeof *logw);
    int rc = list && logw ? VAE_OK : VAE_ERR_NOMEM;
    shard(infer_split_units(m, info), vae_comm_rank(comm), vae_comm_size(comm), &lo, &hi);
    for (int64_t a = lo; rc == VAE_OK && a < hi; a += INFER_BATCH) {
        const int64_t n = hi - a < INFER_BATCH ? hi - a : INFER_BATCH;
        vae_batch b;
        if ((rc = infer_read_units(m, c, o->split, a, n, list, &docs, &seqs, &b)) == VAE_OK)
            rc = infer_iw_add(m->model, &b, o->iw_samples, logw, s);
    }
    double sums[4] = {s->nll_iw, s->nll_bound, s->units, s->tokens};
    const int sum_rc = vae_comm_sum_doubles(comm, sums, 4);
    *s = (infer_iw_sums){sums[0], sums[1], sums[2], sums[3]};
    free(logw);
    free(list);
    vae_seqs_free(&seqs);
    vae_docs_free(&docs);
    return vae_comm_agree(comm, rc != VAE_OK ? rc : sum_rc, who);
}

int infer_eval(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    infer_loaded m = {0};
    vae_corpus *c = NULL;
    vae_split_info info = {0};
    vae_evaluator *e = NULL;
    vae_figures f;
    infer_iw_sums iw = {0};
    json_buf j;
    json_init(&j);
    int rc = infer_load(&m, o->checkpoint);
    if (rc == VAE_OK)
        rc = infer_check_family_flags(&m, o);
    if (rc == VAE_OK && (rc = infer_open_split(&m, o->corpus, o->split, &c, &info)) == VAE_OK &&
        (rc = check_units(&m, o->corpus, o->split, &info)) == VAE_OK)
        rc = vae_evaluator_new(&e, m.model);
    if ((rc = vae_comm_agree(comm, rc, who)) != VAE_OK ||
        (rc = vae_evaluate_split(e, m.model, c, o->split, o->samples, comm, &f, who)) != VAE_OK ||
        (o->iw_samples > 0 && (rc = iw_split(o, &m, c, &info, comm, &iw, who)) != VAE_OK) ||
        vae_comm_rank(comm) != 0)
        goto cleanup;
    json_begin(&j);
    json_str(&j, "split", o->split);
    json_figures(&j, &f);
    json_int(&j, "samples", o->samples);
    if (o->iw_samples > 0) {
        json_num(&j, "nll_iw", iw.units > 0 ? iw.nll_iw / iw.units : NAN);
        json_num(&j, "ppl_iw", iw.tokens > 0 ? exp(iw.nll_iw / iw.tokens) : NAN);
        json_int(&j, "iw_samples", o->iw_samples);
    }
    rc = infer_put_json(out, &j);
cleanup:
    json_free(&j);
    vae_evaluator_free(e);
    vae_corpus_free(c);
    infer_unload(&m);
    return rc;
}

/* ---- topics ---- */

/* Each topic's NPMI over its first NPMI_WORDS words (of k a topic in top), by document
 * co-occurrence in the train split of the corpus. */
static int topic_coherence(const infer_loaded *m, const char *path, const int32_t *top, int k, double *npmi)
{
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_docs docs;
    vae_docs_init(&docs);
    infer_cooc cooc = {0};
    int64_t *list = vae_malloc_array(COOC_BATCH, sizeof *list);
    int rc = list ? VAE_OK : VAE_ERR_NOMEM;
    if (rc == VAE_OK && (rc = infer_open_split(m, path, "train", &c, &info)) == VAE_OK)
        rc = infer_cooc_init(&cooc, top, m->L, k < NPMI_WORDS ? k : NPMI_WORDS, k, m->V);
    for (int64_t a = 0; rc == VAE_OK && a < info.num_docs; a += COOC_BATCH) {
        const int64_t n = info.num_docs - a < COOC_BATCH ? info.num_docs - a : COOC_BATCH;
        if ((rc = read_rows(c, "train", a, n, list, &docs)) == VAE_OK)
            infer_cooc_add(&cooc, &docs);
    }
    for (int t = 0; rc == VAE_OK && t < m->L; t++)
        npmi[t] = infer_cooc_npmi(&cooc, t);
    infer_cooc_free(&cooc);
    vae_docs_free(&docs);
    free(list);
    vae_corpus_free(c);
    return rc;
}

int infer_topics(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    infer_loaded m = {0};
    int32_t *top = NULL;
    double *npmi = NULL, *weight = NULL, diversity = NAN;
    json_buf j;
    json_init(&j);
    *who = 0;
    int rc = infer_load(&m, o->checkpoint);
    if (rc != VAE_OK)
        goto cleanup;
    /* Coherence and diversity need each topic's top 10 and 25 words, whatever --top shows. */
    const int shown = o->top < m.V ? o->top : (int)m.V;
    const int wanted = o->corpus && shown < DIVERSITY_WORDS ? DIVERSITY_WORDS : shown;
    const int k = wanted < m.V ? wanted : (int)m.V;
    if (!(top = vae_malloc_array((size_t)m.L * (size_t)k, sizeof *top)) ||
        !(npmi = vae_malloc_array((size_t)m.L, sizeof *npmi)) ||
        !(weight = vae_malloc_array((size_t)m.L * (size_t)k, sizeof *weight))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = infer_topic_words(m.model, k, top, weight)) != VAE_OK)
        goto cleanup;
    if (o->corpus && ((rc = infer_diversity(top, m.L, k < DIVERSITY_WORDS ? k : DIVERSITY_WORDS, k, m.V,
                                             &diversity)) != VAE_OK ||
                      (rc = topic_coherence(&m, o->corpus, top, k, npmi)) != VAE_OK))
        goto cleanup;
    for (int t = 0; rc == VAE_OK && t < m.L; t++) {
        const int32_t *words = top + (size_t)t * k;
        if (o->json) {
            json_begin(&j);
            json_int(&j, "topic", t);
            json_words(&j, "words", &m, words, shown);
            json_numbers(&j, "weights", weight + (size_t)t * k, shown);
            if (o->corpus)
                json_num(&j, "npmi", npmi[t]);
            rc = infer_put_json(out, &j);
            continue;
        }
        fprintf(out, "topic %d: ", t);
        infer_put_words(out, &m, words, shown);
        if (o->corpus)
            fprintf(out, " npmi=%.4f", npmi[t]);
        fputc('\n', out);
    }
    if (rc == VAE_OK && o->corpus && o->json) {
        json_begin(&j);
        json_num(&j, "diversity", diversity);
        rc = infer_put_json(out, &j);
    } else if (rc == VAE_OK && o->corpus) {
        fprintf(out, "diversity=%.4f\n", diversity);
    }
cleanup:
    json_free(&j);
    free(top);
    free(npmi);
    free(weight);
    infer_unload(&m);
    return rc;
}

/* ---- generate ---- */

int infer_generate(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    infer_loaded m = {0};
    json_buf j;
    json_init(&j);
    *who = 0;
    int32_t *words = vae_malloc_array((size_t)o->length, sizeof *words);
    int rc = words ? infer_load(&m, o->checkpoint) : VAE_ERR_NOMEM;
    if (rc == VAE_OK)
        rc = infer_check_family_flags(&m, o);
    if (rc == VAE_OK && vae_model_seq_classes(m.model) > 0) {
        rc = infer_generate_sentences(o, &m, out);
        goto cleanup;
    }
    for (int64_t d = 0; rc == VAE_OK && d < o->num; d++)
        if ((rc = infer_generate_doc(m.model, o->seed, d, (int)o->length, o->temperature, words)) == VAE_OK)
            rc = infer_put_word_line(out, o, &j, &m, "doc", d, "words", words, (int)o->length);
cleanup:
    json_free(&j);
    free(words);
    infer_unload(&m);
    return rc;
}

/* ---- summarize ---- */

typedef struct {
    const infer_opts *o;
    FILE *out;
    infer_loaded m;
    float *bg;     /* [V] log p(w | z = 0) */
    int32_t *kw;   /* [INFER_BATCH * top] */
    int *count;    /* [INFER_BATCH] */
    json_buf json;
} summarizer;

/* Keywords of a batch of documents, one output line each; doc_index numbers them. */
static int summarize_batch(summarizer *s, const vae_docs *docs)
{
    const int k = s->o->top;
    int rc = infer_keywords(s->m.model, docs, s->bg, k, s->kw, s->count);
    for (int64_t r = 0; rc == VAE_OK && r < docs->num_docs; r++)
        rc = infer_put_word_line(s->out, s->o, &s->json, &s->m, "doc", docs->doc_index[r], "keywords",
                           s->kw + (size_t)r * k, s->count[r]);
    return rc;
}

static int summarize_split(summarizer *s)
{
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_docs docs;
    vae_docs_init(&docs);
    int64_t *list = vae_malloc_array(INFER_BATCH, sizeof *list);
    int rc = list ? infer_open_split(&s->m, s->o->corpus, s->o->split, &c, &info) : VAE_ERR_NOMEM;
    for (int64_t a = 0; rc == VAE_OK && a < info.num_docs; a += INFER_BATCH) {
        const int64_t n = info.num_docs - a < INFER_BATCH ? info.num_docs - a : INFER_BATCH;
        if ((rc = read_rows(c, s->o->split, a, n, list, &docs)) == VAE_OK)
            rc = summarize_batch(s, &docs);
    }
    vae_docs_free(&docs);
    free(list);
    vae_corpus_free(c);
    return rc;
}

int infer_checkpoint_tokenizer(const infer_loaded *m, vae_tokenizer *t)
{
    static const char *const keys[] = {"tokenizer_min_len", "tokenizer_max_len", "tokenizer_keep_digits"};
    int *fields[] = {&t->min_len, &t->max_len, &t->keep_digits};
    vae_tokenizer_init(t);
    const char *name = vae_checkpoint_attr(m->ck, "tokenizer");
    if (name && strcmp(name, VAE_TOKENIZER_NAME) != 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: root attribute 'tokenizer' is '%s', but vae-infer tokenizes text "
                        "only as %s", m->path, name, VAE_TOKENIZER_NAME);
    for (int i = 0; i < 3; i++) {
        const char *value = vae_checkpoint_attr(m->ck, keys[i]);
        char *end;
        if (!value)
            continue;
        errno = 0;
        const long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < 0 || v > VAE_TOKEN_LEN_LIMIT)
            return vae_fail(VAE_ERR_FORMAT, "%s: root attribute '%s' is '%s', not a tokenizer setting", m->path,
                            keys[i], value);
        *fields[i] = (int)v;
    }
    if (vae_tokenizer_check(t) != VAE_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vae_error_message());
        return vae_fail(VAE_ERR_FORMAT, "%s: the tokenizer settings it records are invalid: %s", m->path, why);
    }
    return VAE_OK;
}

/* Appends b's words as the next row of d, numbered index. */
static int append_row(vae_docs *d, const vae_bow *b, int64_t index)
{
    int rc = vae_docs_reserve(d, d->num_docs + 1, d->nnz + b->nnz);
    if (rc != VAE_OK)
        return rc;
    d->indptr[0] = 0;
    memcpy(d->indices + d->nnz, b->ids, sizeof *b->ids * (size_t)b->nnz);
    memcpy(d->counts + d->nnz, b->counts, sizeof *b->counts * (size_t)b->nnz);
    d->doc_index[d->num_docs++] = index;
    d->nnz += b->nnz;
    d->indptr[d->num_docs] = d->nnz;
    return VAE_OK;
}

/* Each line of the text file ("-": standard input) is a document (an empty one included, so output
 * lines match input lines), tokenized as vae-prep did and mapped onto the checkpoint's vocabulary. */
static int summarize_text(summarizer *s)
{
    const char *path = s->o->text;
    vae_tokenizer tok;
    vae_wordtab *vocab = NULL;
    vae_bow *bow = NULL;
    vae_docs docs;
    vae_docs_init(&docs);
    char *line = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    int rc = infer_checkpoint_tokenizer(&s->m, &tok);
    if (rc != VAE_OK || (rc = vae_wordtab_from_words(&vocab, s->m.words, s->m.V)) != VAE_OK ||
        (rc = vae_bow_new(&bow, s->m.V)) != VAE_OK)
        goto cleanup;
    if (!(f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb"))) {
        rc = vae_fail(VAE_ERR_IO, "--text %s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    ssize_t len;
    for (int64_t n = 0; rc == VAE_OK && (len = getline(&line, &cap, f)) >= 0; n++) {
        if ((rc = vae_bow_from_text(bow, &tok, vocab, line, (size_t)len)) != VAE_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", vae_error_message());
            rc = vae_fail(rc, "--text %s: line %lld: %s", path, (long long)n + 1, why);
            break;
        }
        if ((rc = append_row(&docs, bow, n)) == VAE_OK && docs.num_docs == INFER_BATCH) {
            rc = summarize_batch(s, &docs);
            docs.num_docs = docs.nnz = 0;
        }
    }
    if (rc == VAE_OK && ferror(f))
        rc = vae_fail(VAE_ERR_IO, "--text %s: cannot read: %s", path, strerror(errno));
    if (rc == VAE_OK && docs.num_docs > 0)
        rc = summarize_batch(s, &docs);
cleanup:
    if (f && f != stdin)
        fclose(f);
    free(line);
    vae_docs_free(&docs);
    vae_bow_free(bow);
    vae_wordtab_free(vocab);
    return rc;
}

int infer_summarize(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    *who = 0;
    if (o->sentences > 0)
        return infer_summarize_sentences(o, out);
    summarizer s = {.o = o, .out = out};
    json_init(&s.json);
    int rc = infer_load(&s.m, o->checkpoint);
    if (rc == VAE_OK && (!(s.bg = vae_malloc_array((size_t)s.m.V, sizeof *s.bg)) ||
                         !(s.kw = vae_malloc_array((size_t)INFER_BATCH * (size_t)o->top, sizeof *s.kw)) ||
                         !(s.count = vae_malloc_array(INFER_BATCH, sizeof *s.count))))
        rc = VAE_ERR_NOMEM;
    if (rc == VAE_OK)
        rc = infer_background(s.m.model, s.bg);
    if (rc == VAE_OK)
        rc = o->text ? summarize_text(&s) : summarize_split(&s);
    json_free(&s.json);
    free(s.bg);
    free(s.kw);
    free(s.count);
    infer_unload(&s.m);
    return rc;
}

/* ---- encode ---- */

/* Rows of rank r in round k: [first, first + n) of its share, at most a batch. */
static int64_t round_rows(int64_t D, int r, int ranks, int64_t k, int64_t *first)
{
    int64_t lo, hi;
    shard(D, r, ranks, &lo, &hi);
    *first = lo + k * INFER_BATCH;
    const int64_t n = hi - *first;
    return n < 0 ? 0 : n < INFER_BATCH ? n : INFER_BATCH;
}

typedef struct {
    const infer_opts *o;
    int rank, ranks;
    infer_loaded m;
    vae_corpus *c;
    vae_split_info info;
    int64_t units;              /* the split's documents or sequences, as the model reads */
    int doc_ids;                /* the units are documents with /doc_ids */
    vae_docs docs;
    vae_seqs seqs;
    int64_t *list;              /* [INFER_BATCH] */
    float *send, *recv;         /* a block [n, 2L] (mu rows, then logvar rows); recv: every rank's, on 0 */
    float *theta;               /* [INFER_BATCH, L] on rank 0, for a model with topic proportions */
    size_t *bytes;              /* [ranks], on rank 0 */
    char **names;               /* [INFER_BATCH] doc ids, on rank 0 */
    vae_embeddings_writer *w;   /* on rank 0 */
} encoder;

/* This rank's block of round k into send. */
static int encode_round(encoder *e, int64_t k)
{
    const int L = e->m.L;
    int64_t first;
    const int64_t n = round_rows(e->units, e->rank, e->ranks, k, &first);
    vae_batch batch;
    int rc = n > 0 ? infer_read_units(&e->m, e->c, e->o->split, first, n, e->list, &e->docs, &e->seqs, &batch) : VAE_OK;
    if (rc != VAE_OK || n == 0)
        return rc;
    return vae_model_encode(e->m.model, &batch, e->send, e->send + n * L);
}

/* On rank 0: every rank's block of round k, from recv to the file at its rows. */
static int write_round(encoder *e, int64_t k)
{
    const int L = e->m.L;
    const float *block = e->recv;
    int rc = VAE_OK;
    for (int r = 0; rc == VAE_OK && r < e->ranks; r++) {
        int64_t first;
        const int64_t n = round_rows(e->units, r, e->ranks, k, &first);
        int64_t named = 0;
        if (e->doc_ids && n > 0) {
            for (int64_t i = 0; i < n; i++)
                e->list[i] = first + i;
            rc = vae_corpus_read_doc_ids(e->c, e->o->split, e->list, n, e->names);
            named = rc == VAE_OK ? n : 0;
        }
        if (rc == VAE_OK && e->theta)
            rc = vae_model_theta(e->m.model, block, (int)n, e->theta);
        if (rc == VAE_OK)
            rc = vae_embeddings_writer_put(e->w, first, n, block, block + n * L, e->theta,
                                           (const char *const *)e->names);
        for (int64_t i = 0; i < named; i++)
            free(e->names[i]);
        block += 2 * n * L;
    }
    return rc;
}

static int encode_setup(encoder *e)
{
    int rc = vae_check_not_input(e->o->output, e->o->checkpoint, "--checkpoint");
    if (rc == VAE_OK)
        rc = vae_check_not_input(e->o->output, e->o->corpus, "--corpus");
    if (rc == VAE_OK)
        rc = infer_load(&e->m, e->o->checkpoint);
    if (rc == VAE_OK)
        rc = infer_open_split(&e->m, e->o->corpus, e->o->split, &e->c, &e->info);
    if (rc == VAE_OK)
        rc = check_units(&e->m, e->o->corpus, e->o->split, &e->info);
    if (rc != VAE_OK)
        return rc;
    e->units = infer_split_units(&e->m, &e->info);
    e->doc_ids = e->info.has_doc_ids && vae_model_family(e->m.model)->unit == VAE_UNIT_DOCS;
    const size_t block = (size_t)INFER_BATCH * 2 * (size_t)e->m.L;
    if (!(e->list = vae_malloc_array(INFER_BATCH, sizeof *e->list)) ||
        !(e->send = vae_malloc_array(block, sizeof *e->send)))
        return VAE_ERR_NOMEM;
    if (e->rank != 0)
        return VAE_OK;
    if (!(e->recv = vae_malloc_array(block * (size_t)e->ranks, sizeof *e->recv)) ||
        !(e->bytes = vae_malloc_array((size_t)e->ranks, sizeof *e->bytes)) ||
        !(e->names = vae_calloc_array(INFER_BATCH, sizeof *e->names)))
        return VAE_ERR_NOMEM;
    /* theta = softmax(mu): the topic proportions at the encoding's mean. */
    const int with_theta = vae_model_has_theta(e->m.model);
    if (with_theta && !(e->theta = vae_malloc_array((size_t)INFER_BATCH * (size_t)e->m.L, sizeof *e->theta)))
        return VAE_ERR_NOMEM;
    return vae_embeddings_writer_new(&e->w, e->o->output, e->units, e->m.L, with_theta, e->doc_ids);
}

int infer_encode(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    encoder e = {.o = o, .rank = vae_comm_rank(comm), .ranks = vae_comm_size(comm)};
    vae_docs_init(&e.docs);
    vae_seqs_init(&e.seqs);
    int rc = vae_comm_agree(comm, encode_setup(&e), who);
    /* Every rank runs the same rounds, each of one batch of each rank's share; the shares differ by
     * at most one document, so the widest fixes the count. */
    const int64_t D = e.units, widest = (D + e.ranks - 1) / e.ranks;
    const int64_t rounds = (widest + INFER_BATCH - 1) / INFER_BATCH;
    const size_t row = 2 * (size_t)e.m.L * sizeof(float);
    for (int64_t k = 0; rc == VAE_OK && k < rounds; k++) {
        int64_t first;
        const int64_t n = round_rows(D, e.rank, e.ranks, k, &first);
        if ((rc = vae_comm_agree(comm, encode_round(&e, k), who)) != VAE_OK)
            break;
        for (int r = 0; e.rank == 0 && r < e.ranks; r++)
            e.bytes[r] = (size_t)round_rows(D, r, e.ranks, k, &first) * row;
        rc = vae_comm_gather(comm, e.send, (size_t)n * row, e.recv, e.bytes, 0);
        if (rc == VAE_OK && e.rank == 0)
            rc = write_round(&e, k);
        rc = vae_comm_agree(comm, rc, who);
    }
    if (rc == VAE_OK)
        rc = vae_comm_agree(comm, e.rank == 0 ? vae_embeddings_writer_commit(e.w) : VAE_OK, who);
    vae_embeddings_writer_free(e.w);
    free(e.theta);
    free(e.names);
    free(e.bytes);
    free(e.recv);
    free(e.send);
    free(e.list);
    vae_docs_free(&e.docs);
    vae_seqs_free(&e.seqs);
    vae_corpus_free(e.c);
    infer_unload(&e.m);
    return rc;
}
