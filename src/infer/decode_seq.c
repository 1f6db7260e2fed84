/* Decoding sentences from latent vectors through model.h's step-by-step decoder (SPEC.md "vae-infer
 * for the new families"): greedy, sampled or by beam search, many sentences at once. Every live
 * hypothesis of every sentence is one row of a batch of seq_step; rows that end leave the batch, so
 * a step costs what is still being decoded. All buffers are sized once for the model's capacity:
 * nothing is allocated per token. */
#include "infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vae/family.h"
#include "vae/rng.h"

struct infer_seq_decoder {
    vae_model *m;
    infer_decode_opts o;
    int64_t C;                  /* classes: words, <unk>, </s> (= <s> as an input) */
    int S, L, K, cap, rows;     /* K hypotheses a sentence, cap sentences a call, rows = cap * K */
    float *h, *h_next;          /* [rows, S] the decoder's states before and after a step */
    float *z, *z_next;          /* [rows, L] each row's latent vector */
    float *logp;                /* [rows, C] */
    int32_t *prev;              /* [rows] each row's last token */
    int32_t *tok, *tok_next;    /* [rows, max_length] each row's tokens so far */
    double *score, *score_next; /* [rows] each row's log-probability so far */
    int *sent, *sent_next;      /* [rows] the sentence each row decodes */
    double *best;               /* [cap] the best ended hypothesis's log-probability (-inf: none yet) */
    double *u;                  /* [cap, max_length] INFER_SAMPLE: each sentence's uniforms */
    double *cand;               /* [K * C] INFER_BEAM: a sentence's candidates' scores; else the CDF */
    int32_t *pick;              /* [K] INFER_BEAM: the candidates chosen */
};

void infer_seq_decoder_free(infer_seq_decoder *d)
{
    if (!d)
        return;
    float *floats[] = {d->h, d->h_next, d->z, d->z_next, d->logp};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        free(floats[i]);
    free(d->prev);
    free(d->tok);
    free(d->tok_next);
    free(d->score);
    free(d->score_next);
    free(d->sent);
    free(d->sent_next);
    free(d->best);
    free(d->u);
    free(d->cand);
    free(d->pick);
    free(d);
}

int infer_seq_decoder_new(infer_seq_decoder **out, vae_model *m, const infer_decode_opts *o)
{
    *out = NULL;
    const int64_t C = vae_model_seq_classes(m);
    if (C == 0)
        return vae_fail(VAE_ERR_ARG, "the %s model decodes no sequences", vae_model_family(m)->name);
    const int K = o->mode == INFER_BEAM ? o->beam : 1;
    if (K < 1 || K > vae_model_max_batch(m))
        return vae_fail(VAE_ERR_ARG, "a beam of %d hypotheses: the model decodes 1 to %d at once", K,
                        vae_model_max_batch(m));
    if (o->max_length < 1)
        return vae_fail(VAE_ERR_ARG, "a maximum length of %d tokens is not positive", o->max_length);
    if (o->mode == INFER_SAMPLE && !(o->temperature > 0.0))
        return vae_fail(VAE_ERR_ARG, "temperature %g is not positive", o->temperature);
    infer_seq_decoder *d = vae_calloc_array(1, sizeof *d);
    if (!d)
        return VAE_ERR_NOMEM;
    *d = (infer_seq_decoder){.m = m, .o = *o, .C = C, .S = vae_model_seq_state_size(m), .L = vae_model_latent(m),
                             .K = K, .cap = vae_model_max_batch(m) / K};
    d->rows = d->cap * K;
    const size_t R = (size_t)d->rows, ML = (size_t)o->max_length;
    const size_t scratch = o->mode == INFER_BEAM ? (size_t)K * (size_t)C : (size_t)C;
    if (!(d->h = vae_malloc_array(R * d->S, sizeof(float))) ||
        !(d->h_next = vae_malloc_array(R * d->S, sizeof(float))) ||
        !(d->z = vae_malloc_array(R * d->L, sizeof(float))) ||
        !(d->z_next = vae_malloc_array(R * d->L, sizeof(float))) ||
        !(d->logp = vae_malloc_array(R * (size_t)C, sizeof(float))) ||
        !(d->prev = vae_malloc_array(R, sizeof(int32_t))) ||
        !(d->tok = vae_malloc_array(R * ML, sizeof(int32_t))) ||
        !(d->tok_next = vae_malloc_array(R * ML, sizeof(int32_t))) ||
        !(d->score = vae_malloc_array(R, sizeof(double))) || !(d->score_next = vae_malloc_array(R, sizeof(double))) ||
        !(d->sent = vae_malloc_array(R, sizeof(int))) || !(d->sent_next = vae_malloc_array(R, sizeof(int))) ||
        !(d->best = vae_malloc_array((size_t)d->cap, sizeof(double))) ||
        !(d->u = vae_malloc_array((size_t)d->cap * ML, sizeof(double))) ||
        !(d->cand = vae_malloc_array(scratch, sizeof(double))) ||
        !(d->pick = vae_malloc_array((size_t)K, sizeof(int32_t)))) {
        infer_seq_decoder_free(d);
        return VAE_ERR_NOMEM;
    }
    *out = d;
    return VAE_OK;
}

int infer_seq_decoder_capacity(const infer_seq_decoder *d) { return d->cap; }

/* What one step leaves for the next: the live rows so far, and the sentences' outputs. */
typedef struct {
    int rows;        /* rows of the next step */
    int t;           /* the position being chosen: every live row holds t tokens */
    int32_t *tokens; /* the caller's outputs */
    int *length;
} step_out;

/* Token c after row j, scoring s, for sentence i: </s> or the last position allowed ends the
 * hypothesis (kept when it beats the sentence's best so far: the first of equals stays); any
 * other token continues it as a row of the next step. */
static void take(infer_seq_decoder *d, step_out *st, int i, int j, int32_t c, double s)
{
    const int t = st->t, ML = d->o.max_length;
    const int ends = c == (int32_t)(d->C - 1);
    const int32_t *hist = d->tok + (size_t)j * ML;
    if (ends || t + 1 == ML) {
        if (s > d->best[i]) {
            int32_t *dst = st->tokens + (size_t)i * ML;
            d->best[i] = s;
            memcpy(dst, hist, sizeof *hist * (size_t)t);
            if (!ends)
                dst[t] = c;
            st->length[i] = ends ? t : t + 1;
        }
        return;
    }
    const int r = st->rows++;
    int32_t *row = d->tok_next + (size_t)r * ML;
    memcpy(row, hist, sizeof *hist * (size_t)t);
    row[t] = c;
    /* h_next and z hold the step's rows j, which h and z_next take in the next step's order. */
    memcpy(d->h + (size_t)r * d->S, d->h_next + (size_t)j * d->S, sizeof(float) * (size_t)d->S);
    memcpy(d->z_next + (size_t)r * d->L, d->z + (size_t)j * d->L, sizeof(float) * (size_t)d->L);
    d->prev[r] = c;
    d->score_next[r] = s;
    d->sent_next[r] = i;
}

/* The most probable class of a row (ties to the lower id). */
static int32_t argmax(const float *lp, int64_t C)
{
    int64_t best = 0;
    for (int64_t c = 1; c < C; c++)
        if (lp[c] > lp[best])
            best = c;
    return (int32_t)best;
}

/* Sentence i's rows [a, b) of this step: their continuations chosen and taken. */
static void choose(infer_seq_decoder *d, step_out *st, int i, int a, int b)
{
    const int64_t C = d->C;
    const float *lp = d->logp + (size_t)a * (size_t)C;
    if (d->o.mode == INFER_GREEDY) {
        const int32_t c = argmax(lp, C);
        take(d, st, i, a, c, d->score[a] + lp[c]);
        return;
    }
    if (d->o.mode == INFER_SAMPLE) {
        const double total = infer_tempered_cdf(lp, C, d->o.temperature, d->cand);
        const int32_t c = (int32_t)infer_cdf_pick(d->cand, C, d->u[(size_t)i * d->o.max_length + st->t] * total);
        take(d, st, i, a, c, d->score[a] + lp[c]);
        return;
    }
    /* Beam: the K best of every row's every continuation, by the log-probability of the whole
     * prefix (no length normalization); ties to the earlier row, then the lower token. */
    for (int j = a; j < b; j++)
        for (int64_t c = 0; c < C; c++)
            d->cand[(size_t)(j - a) * C + c] = d->score[j] + d->logp[(size_t)j * C + c];
    const int got = infer_top_k(d->cand, NULL, (int64_t)(b - a) * C, d->K, d->pick);
    const int first = st->rows;
    for (int k = 0; k < got; k++)
        take(d, st, i, a + (int)(d->pick[k] / C), (int32_t)(d->pick[k] % C), d->cand[d->pick[k]]);
    /* A prefix's log-probability only falls as it grows: once an ended hypothesis scores at least
     * the best live one (the first taken), none can beat it. */
    if (st->rows > first && d->best[i] >= d->score_next[first])
        st->rows = first;
}

static void swap_f(float **a, float **b) { float *t = *a; *a = *b; *b = t; }

int infer_seq_decode(infer_seq_decoder *d, const float *z, int n, const int64_t *index, int32_t *tokens, int *length,
                     double *logp)
{
    if (n > d->cap)
        return vae_fail(VAE_ERR_ARG, "decoding %d sentences at once exceeds the decoder's %d", n, d->cap);
    const int ML = d->o.max_length;
    memcpy(d->z, z, sizeof *z * (size_t)n * (size_t)d->L);
    for (int i = 0; i < n; i++) {
        d->prev[i] = (int32_t)(d->C - 1); /* <s> */
        d->score[i] = 0.0;
        d->sent[i] = i;
        d->best[i] = -INFINITY;
        length[i] = 0;
        if (d->o.mode == INFER_SAMPLE)
            vae_uniforms(d->o.seed, (uint64_t)index[i], 1, d->u + (size_t)i * ML, ML);
    }
    int rc = vae_model_seq_start(d->m, z, n, d->h);
    step_out st = {.rows = n, .tokens = tokens, .length = length};
    for (st.t = 0; rc == VAE_OK && st.rows > 0; st.t++) {
        const int rows = st.rows;
        if ((rc = vae_model_seq_step(d->m, d->z, d->prev, d->h, rows, d->h_next, d->logp)) != VAE_OK)
            break;
        st.rows = 0;
        /* A sentence's rows are contiguous, in sentence order, and stay so. */
        for (int a = 0, b; a < rows; a = b) {
            for (b = a + 1; b < rows && d->sent[b] == d->sent[a]; b++)
                ;
            choose(d, &st, d->sent[a], a, b);
        }
        swap_f(&d->z, &d->z_next);
        int32_t *tok = d->tok;
        d->tok = d->tok_next;
        d->tok_next = tok;
        double *score = d->score;
        d->score = d->score_next;
        d->score_next = score;
        int *sent = d->sent;
        d->sent = d->sent_next;
        d->sent_next = sent;
    }
    for (int i = 0; rc == VAE_OK && logp && i < n; i++)
        logp[i] = d->best[i];
    return rc;
}
