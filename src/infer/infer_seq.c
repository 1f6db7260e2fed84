/* vae-infer's commands for a family that decodes sequences (SPEC.md "vae-infer for the new
 * families"): generate's sentences from z ~ N(0, I), reconstruct's lines encoded (z = mu) and
 * decoded, interpolate's sentences along the line between two encodings. Latent vectors are
 * gathered into batches of the decoder's capacity (decode_seq.c), one output line a sentence. */
#include "infer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "vae/family.h"
#include "vae/rng.h"
#include "vocab.h"

typedef struct {
    const infer_opts *o;
    FILE *out;
    infer_loaded *m;
    infer_seq_decoder *dec;
    int cap, L, ML;
    int n;              /* latent vectors gathered so far */
    float *z;           /* [cap, L]: row i is sentence i's z */
    int64_t *index;     /* [cap]: what numbers sentence i (generate's sampling, --json) */
    unsigned char *none;/* [cap]: reconstruct: line i has no token, and gives an empty line */
    int32_t *tokens;    /* [cap, ML] */
    int *length;        /* [cap] */
    float *logvar;      /* [cap, L]: the encoder's, unused */
    json_buf json;
} writer;

static void writer_free(writer *w)
{
    infer_seq_decoder_free(w->dec);
    free(w->z);
    free(w->index);
    free(w->none);
    free(w->tokens);
    free(w->length);
    free(w->logvar);
    json_free(&w->json);
}

/* The decoder of the command's flags: sampling for generate unless --greedy or --beam, greedy
 * decoding elsewhere unless --beam. */
static int writer_init(writer *w, const infer_opts *o, infer_loaded *m, FILE *out, int sample)
{
    *w = (writer){.o = o, .out = out, .m = m, .L = m->L, .ML = o->max_length};
    json_init(&w->json);
    const infer_decode_opts d = {.mode = o->beam ? INFER_BEAM : sample && !o->greedy ? INFER_SAMPLE : INFER_GREEDY,
                                 .beam = o->beam, .temperature = o->temperature, .seed = o->seed,
                                 .max_length = o->max_length};
    if (vae_model_seq_classes(m->model) == 0)
        return vae_fail(INFER_USAGE, "%s holds a %s model, which decodes no sentences (see --help)", m->path,
                        vae_model_family(m->model)->name);
    int rc = infer_check_family_flags(m, o);
    if (rc != VAE_OK || (rc = infer_seq_decoder_new(&w->dec, m->model, &d)) != VAE_OK)
        return rc;
    w->cap = infer_seq_decoder_capacity(w->dec);
    const size_t cap = (size_t)w->cap;
    if (!(w->z = vae_malloc_array(cap * w->L, sizeof *w->z)) || !(w->index = vae_malloc_array(cap, sizeof *w->index)) ||
        !(w->none = vae_calloc_array(cap, 1)) || !(w->tokens = vae_malloc_array(cap * w->ML, sizeof *w->tokens)) ||
        !(w->length = vae_malloc_array(cap, sizeof *w->length)) ||
        !(w->logvar = vae_malloc_array(cap * w->L, sizeof *w->logvar)))
        return VAE_ERR_NOMEM;
    return VAE_OK;
}

/* Decodes the gathered latent vectors and writes their sentences in order: the words, or with
 * --json {"sentence": index, "words": [...]}. */
static int flush(writer *w)
{
    int rc = w->n > 0 ? infer_seq_decode(w->dec, w->z, w->n, w->index, w->tokens, w->length, NULL) : VAE_OK;
    for (int i = 0; rc == VAE_OK && i < w->n; i++)
        rc = infer_put_word_line(w->out, w->o, &w->json, w->m, "sentence", w->index[i], "words",
                                 w->tokens + (size_t)i * w->ML, w->none[i] ? 0 : w->length[i]);
    memset(w->none, 0, (size_t)w->cap);
    w->n = 0;
    return rc;
}

int infer_generate_sentences(const infer_opts *o, infer_loaded *m, FILE *out)
{
    writer w;
    int rc = writer_init(&w, o, m, out, 1);
    for (int64_t s = 0; rc == VAE_OK && s < o->num; s++) {
        /* z of sentence s from the stream (seed, s, 0), as bow's documents. */
        vae_normals(o->seed, (uint64_t)s, 0, w.z + (size_t)w.n * w.L, w.L);
        w.index[w.n++] = s;
        if (w.n == w.cap)
            rc = flush(&w);
    }
    if (rc == VAE_OK)
        rc = flush(&w);
    writer_free(&w);
    return rc;
}

/* ---- encoding text ---- */

typedef struct {
    vae_tokenizer tok;
    vae_wordtab *vocab;
    vae_seqs q;
    float *mu, *logvar; /* [max_batch, L] */
} text_encoder;

static void text_encoder_free(text_encoder *t)
{
    vae_wordtab_free(t->vocab);
    vae_seqs_free(&t->q);
    free(t->mu);
    free(t->logvar);
}

static int text_encoder_init(text_encoder *t, const infer_loaded *m)
{
    memset(t, 0, sizeof *t);
    vae_seqs_init(&t->q);
    const size_t rows = (size_t)vae_model_max_batch(m->model) * (size_t)m->L;
    int rc = infer_checkpoint_tokenizer(m, &t->tok);
    if (rc == VAE_OK)
        rc = vae_wordtab_from_words(&t->vocab, m->words, m->V);
    if (rc == VAE_OK && (!(t->mu = vae_malloc_array(rows, sizeof *t->mu)) ||
                         !(t->logvar = vae_malloc_array(rows, sizeof *t->logvar))))
        rc = VAE_ERR_NOMEM;
    return rc;
}

/* mu of the sequences gathered in t->q, into t->mu. */
static int encode_gathered(text_encoder *t, const infer_loaded *m)
{
    const vae_batch b = {.seqs = &t->q};
    int rc = vae_model_reserve_tokens(m->model, t->q.num_tokens);
    return rc == VAE_OK ? vae_model_encode(m->model, &b, t->mu, t->logvar) : rc;
}

/* What reconstruct and interpolate share: the checkpoint, its decoder, the text's encoder. */
typedef struct {
    infer_loaded m;
    writer w;
    text_encoder t;
} text_command;

static int text_command_begin(text_command *c, const infer_opts *o, FILE *out)
{
    memset(c, 0, sizeof *c);
    vae_seqs_init(&c->t.q);
    json_init(&c->w.json);
    int rc = infer_load(&c->m, o->checkpoint);
    if (rc == VAE_OK)
        rc = writer_init(&c->w, o, &c->m, out, 0);
    return rc == VAE_OK ? text_encoder_init(&c->t, &c->m) : rc;
}

static void text_command_end(text_command *c)
{
    text_encoder_free(&c->t);
    writer_free(&c->w);
    infer_unload(&c->m);
}

/* ---- reconstruct ---- */

/* The lines gathered: those with a token (in t->q, in order) encoded, their mu their z. */
static int reconstruct_batch(writer *w, text_encoder *t)
{
    int rc = t->q.num_seqs > 0 ? encode_gathered(t, w->m) : VAE_OK;
    for (int i = 0, s = 0; rc == VAE_OK && i < w->n; i++)
        if (!w->none[i])
            memcpy(w->z + (size_t)i * w->L, t->mu + (size_t)s++ * w->L, sizeof *w->z * (size_t)w->L);
    t->q.num_seqs = t->q.num_tokens = 0;
    return rc == VAE_OK ? flush(w) : rc;
}

int infer_reconstruct(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    (void)comm;
    *who = 0;
    text_command c;
    writer *w = &c.w;
    text_encoder *t = &c.t;
    char *line = NULL;
    size_t size = 0;
    FILE *f = NULL;
    int rc = text_command_begin(&c, o, out);
    if (rc != VAE_OK)
        goto cleanup;
    if (!(f = strcmp(o->text, "-") == 0 ? stdin : fopen(o->text, "rb"))) {
        rc = vae_fail(VAE_ERR_IO, "--text %s: cannot open: %s", o->text, strerror(errno));
        goto cleanup;
    }
    ssize_t len;
    for (int64_t n = 0; rc == VAE_OK && (len = getline(&line, &size, f)) >= 0; n++) {
        const int64_t before = t->q.num_tokens;
        if ((rc = infer_append_text_seq(&t->q, &t->tok, t->vocab, c.m.V, line, (size_t)len, n)) != VAE_OK)
            break;
        /* A line with no token is no sequence: it gives an empty line. */
        if (t->q.num_tokens == before)
            t->q.num_seqs--;
        w->none[w->n] = t->q.num_tokens == before;
        w->index[w->n++] = n;
        if (w->n == w->cap)
            rc = reconstruct_batch(w, t);
    }
    if (rc == VAE_OK && ferror(f))
        rc = vae_fail(VAE_ERR_IO, "--text %s: cannot read: %s", o->text, strerror(errno));
    if (rc == VAE_OK)
        rc = reconstruct_batch(w, t);
cleanup:
    if (f && f != stdin)
        fclose(f);
    free(line);
    text_command_end(&c);
    return rc;
}

/* ---- interpolate ---- */

int infer_interpolate(const infer_opts *o, vae_comm *comm, FILE *out, int *who)
{
    (void)comm;
    *who = 0;
    text_command c;
    writer *w = &c.w;
    text_encoder *t = &c.t;
    const char *ends[2] = {o->from, o->to}, *names[2] = {"--from", "--to"};
    int rc = text_command_begin(&c, o, out);
    for (int e = 0; rc == VAE_OK && e < 2; e++) {
        const int64_t before = t->q.num_tokens;
        rc = infer_append_text_seq(&t->q, &t->tok, t->vocab, c.m.V, ends[e], strlen(ends[e]), e);
        if (rc == VAE_OK && t->q.num_tokens == before)
            rc = vae_fail(VAE_ERR_ARG, "%s '%s' holds no token (as vae-prep --sequences tokenizes it)", names[e],
                          ends[e]);
    }
    if (rc != VAE_OK || (rc = encode_gathered(t, &c.m)) != VAE_OK)
        goto cleanup;
    const float *a = t->mu, *b = t->mu + c.m.L;
    for (int k = 0; rc == VAE_OK && k <= o->steps; k++) {
        /* z_t = (1 - t) mu_A + t mu_B, t = k / steps, exact at both ends. */
        const double s = (double)k / o->steps;
        float *z = w->z + (size_t)w->n * w->L;
        for (int u = 0; u < c.m.L; u++)
            z[u] = k == o->steps ? b[u] : (float)((1.0 - s) * a[u] + s * b[u]);
        w->index[w->n++] = k;
        if (w->n == w->cap)
            rc = flush(w);
    }
    if (rc == VAE_OK)
        rc = flush(w);
cleanup:
    text_command_end(&c);
    return rc;
}
