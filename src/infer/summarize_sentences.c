/* vae-infer summarize --sentences K (SPEC.md "vae-infer for the new families"): documents cut into
 * sentences, the sentences chosen by extract.c, printed. --text documents are paragraphs, cut by
 * the rule sentences-v1 (sentences.h, vae-prep --sequences sentence's) and printed as they stand;
 * a corpus keeps only its sequences' token ids, so its sentences are printed as their words.
 * Memory is bounded by the longest document, never by the input. */
#include "infer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sentences.h"
#include "vocab.h"

/* Sequences read from a corpus at a time. */
#define SEQ_CHUNK 4096

/* A growing string. */
typedef struct {
    char *buf;
    size_t len, cap;
} text_buf;

static int text_put(text_buf *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        const size_t cap = t->len + n + 1 > 2 * t->cap ? t->len + n + 1 : 2 * t->cap;
        char *buf = realloc(t->buf, cap);
        if (!buf)
            return VAE_ERR_NOMEM;
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return VAE_OK;
}

typedef struct {
    const infer_opts *o;
    FILE *out;
    infer_loaded m;
    infer_extractor *x;
    infer_pick *picks;     /* [cap_picks] */
    int64_t cap_picks;
    vae_seqs sents;        /* the document's sentences as token ids */
    const char *para;      /* --text: the document's text, and each sentence's bytes in it */
    vae_span *spans;
    int64_t cap_spans;
    text_buf line, array;  /* a sentence as printed; --json's array of them */
    json_buf json, item;
    int64_t docs;          /* documents written so far */
} summary;

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Sentence i as printed, into s->line: its text with each run of white space that holds a line
 * break made one space (a sentence is one line), or, from a corpus, its words ("<unk>" for one
 * outside the vocabulary). */
static int sentence_text(summary *s, int64_t i)
{
    int rc = VAE_OK;
    s->line.len = 0;
    if (s->para) {
        const char *p = s->para + s->spans[i].start, *end = s->para + s->spans[i].end;
        while (rc == VAE_OK && p < end) {
            const char *run = p;
            int breaks = 0;
            for (; p < end && is_space((unsigned char)*p); p++)
                breaks |= *p == '\n' || *p == '\r';
            if (p > run)
                rc = breaks ? text_put(&s->line, " ", 1) : text_put(&s->line, run, (size_t)(p - run));
            for (run = p; p < end && !is_space((unsigned char)*p); p++)
                ;
            if (rc == VAE_OK)
                rc = text_put(&s->line, run, (size_t)(p - run));
        }
    } else {
        for (int64_t t = s->sents.indptr[i]; rc == VAE_OK && t < s->sents.indptr[i + 1]; t++) {
            const char *word = infer_token_word(&s->m, s->sents.tokens[t]);
            if (t > s->sents.indptr[i])
                rc = text_put(&s->line, " ", 1);
            if (rc == VAE_OK)
                rc = text_put(&s->line, word, strlen(word));
        }
    }
    return s->line.buf || rc != VAE_OK ? rc : text_put(&s->line, "", 0);
}

/* The summary of the document in s->sents, numbered doc: its chosen sentences one a line, a blank
 * line before every document but the first; or one JSON object
 * {"doc", "sentences": [{"index", "score", "text"}, ...]}. */
static int summarize_doc(summary *s, int64_t doc)
{
    const int64_t n = s->sents.num_seqs, k = s->o->sentences < n ? s->o->sentences : n;
    int count = 0, rc = VAE_OK;
    if (k > s->cap_picks) {
        infer_pick *picks = realloc(s->picks, sizeof *picks * (size_t)k);
        if (!picks)
            return VAE_ERR_NOMEM;
        s->picks = picks;
        s->cap_picks = k;
    }
    if (k > 0 && (rc = infer_extract(s->x, &s->sents, (int)k, s->picks, &count)) != VAE_OK)
        return rc;
    if (!s->o->json && s->docs++ > 0)
        fputc('\n', s->out);
    s->array.len = 0;
    rc = text_put(&s->array, "[", 1);
    for (int i = 0; rc == VAE_OK && i < count; i++) {
        if ((rc = sentence_text(s, s->picks[i].index)) != VAE_OK)
            break;
        if (!s->o->json) {
            fprintf(s->out, "%s\n", s->line.buf);
            continue;
        }
        json_begin(&s->item);
        json_int(&s->item, "index", s->picks[i].index);
        json_num(&s->item, "score", s->picks[i].score);
        json_str(&s->item, "text", s->line.buf);
        json_end(&s->item);
        if (s->item.failed)
            rc = VAE_ERR_NOMEM;
        else if ((rc = i ? text_put(&s->array, ", ", 2) : VAE_OK) == VAE_OK)
            rc = text_put(&s->array, s->item.buf, s->item.len);
    }
    if (rc == VAE_OK)
        rc = text_put(&s->array, "]", 1);
    if (rc != VAE_OK || !s->o->json)
        return rc;
    json_begin(&s->json);
    json_int(&s->json, "doc", doc);
    json_raw(&s->json, "sentences", s->array.buf);
    return infer_put_json(s->out, &s->json);
}

/* ---- --text FILE: a document a paragraph ---- */

/* The paragraph text[0..n), document doc: its sentences (one without a token included, so that
 * indices count every sentence), then its summary. */
static int summarize_paragraph(summary *s, const vae_wordtab *vocab, const vae_tokenizer *tok, const char *text,
                               size_t n, int64_t doc)
{
    vae_seqs *q = &s->sents;
    vae_units walk;
    vae_span span;
    int rc = VAE_OK;
    q->num_seqs = q->num_tokens = 0;
    s->para = text;
    vae_units_begin(&walk, VAE_UNIT_SENTENCE, text, n);
    while (rc == VAE_OK && vae_units_next(&walk, &span)) {
        if (q->num_seqs == s->cap_spans) {
            const int64_t cap = s->cap_spans ? 2 * s->cap_spans : 64;
            vae_span *spans = realloc(s->spans, sizeof *spans * (size_t)cap);
            if (!spans)
                return VAE_ERR_NOMEM;
            s->spans = spans;
            s->cap_spans = cap;
        }
        s->spans[q->num_seqs] = span;
        rc = infer_append_text_seq(q, tok, vocab, s->m.V, text + span.start, span.end - span.start, doc);
    }
    return rc == VAE_OK ? summarize_doc(s, doc) : rc;
}

/* A line of nothing but white space (its LF included) separates documents. */
static int blank(const char *line, ssize_t n)
{
    for (ssize_t i = 0; i < n; i++)
        if (!is_space((unsigned char)line[i]))
            return 0;
    return 1;
}

static int summarize_text(summary *s)
{
    const char *path = s->o->text;
    vae_tokenizer tok;
    vae_wordtab *vocab = NULL;
    text_buf para = {0};
    char *line = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    int64_t doc = 0;
    int rc = infer_checkpoint_tokenizer(&s->m, &tok);
    if (rc != VAE_OK || (rc = vae_wordtab_from_words(&vocab, s->m.words, s->m.V)) != VAE_OK)
        goto cleanup;
    if (!(f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb"))) {
        rc = vae_fail(VAE_ERR_IO, "--text %s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    for (;;) {
        const ssize_t len = getline(&line, &cap, f);
        if ((len < 0 || blank(line, len)) && para.len > 0) {
            if ((rc = summarize_paragraph(s, vocab, &tok, para.buf, para.len, doc++)) != VAE_OK)
                break;
            para.len = 0;
        }
        if (len < 0)
            break;
        if (!blank(line, len) && (rc = text_put(&para, line, (size_t)len)) != VAE_OK)
            break;
    }
    if (rc == VAE_OK && ferror(f))
        rc = vae_fail(VAE_ERR_IO, "--text %s: cannot read: %s", path, strerror(errno));
cleanup:
    if (f && f != stdin)
        fclose(f);
    free(line);
    free(para.buf);
    vae_wordtab_free(vocab);
    return rc;
}

/* ---- --corpus F --split S: a document a row, its sentences the split's sequences ---- */

static int summarize_split(summary *s)
{
    const char *path = s->o->corpus, *split = s->o->split;
    vae_corpus *c = NULL;
    vae_split_info info;
    vae_seqs chunk;
    vae_seqs_init(&chunk);
    int64_t *list = vae_malloc_array(SEQ_CHUNK, sizeof *list), doc = 0;
    vae_seqs *q = &s->sents;
    int rc = list ? infer_open_split(&s->m, path, split, &c, &info) : VAE_ERR_NOMEM;
    if (rc == VAE_OK && !info.has_seqs)
        rc = vae_fail(VAE_ERR_ARG, "corpus %s: split '%s' has no sequences (/%s/seq): --sentences needs a corpus "
                      "of vae-prep --sequences sentence, or --text", path, split, split);
    q->num_seqs = q->num_tokens = 0;
    for (int64_t a = 0; rc == VAE_OK && a < info.num_seqs; a += SEQ_CHUNK) {
        const int64_t n = info.num_seqs - a < SEQ_CHUNK ? info.num_seqs - a : SEQ_CHUNK;
        for (int64_t i = 0; i < n; i++)
            list[i] = a + i;
        if ((rc = vae_corpus_read_seqs(c, split, list, n, &chunk)) != VAE_OK)
            break;
        for (int64_t i = 0; rc == VAE_OK && i < n; i++) {
            /* Rows before this sequence's are whole: the readers keep seq/doc non-decreasing. */
            for (; rc == VAE_OK && doc < chunk.doc[i]; doc++) {
                rc = summarize_doc(s, doc);
                q->num_seqs = q->num_tokens = 0;
            }
            const int64_t at = chunk.indptr[i], len = chunk.indptr[i + 1] - at;
            if (rc != VAE_OK || (rc = vae_seqs_reserve(q, q->num_seqs + 1, q->num_tokens + len)) != VAE_OK)
                break;
            memcpy(q->tokens + q->num_tokens, chunk.tokens + at, sizeof *q->tokens * (size_t)len);
            q->seq_index[q->num_seqs] = q->num_seqs;
            q->doc[q->num_seqs] = doc;
            q->num_tokens += len;
            q->indptr[++q->num_seqs] = q->num_tokens;
        }
    }
    for (; rc == VAE_OK && doc < info.num_docs; doc++) {
        rc = summarize_doc(s, doc);
        q->num_seqs = q->num_tokens = 0;
    }
    vae_seqs_free(&chunk);
    free(list);
    vae_corpus_free(c);
    return rc;
}

int infer_summarize_sentences(const infer_opts *o, FILE *out)
{
    summary s = {.o = o, .out = out};
    vae_seqs_init(&s.sents);
    json_init(&s.json);
    json_init(&s.item);
    int rc = infer_load(&s.m, o->checkpoint);
    if (rc == VAE_OK)
        rc = infer_extractor_new(&s.x, s.m.model, -1);
    if (rc == VAE_OK)
        rc = o->text ? summarize_text(&s) : summarize_split(&s);
    json_free(&s.item);
    json_free(&s.json);
    free(s.line.buf);
    free(s.array.buf);
    free(s.spans);
    free(s.picks);
    vae_seqs_free(&s.sents);
    infer_extractor_free(s.x);
    infer_unload(&s.m);
    return rc;
}
