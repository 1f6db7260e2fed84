/* Extractive summaries (vae-infer summarize --sentences K; the method is in infer.h): which of a
 * document's sentences the model finds most representative of it, through model.h alone, so that
 * every family serves. Each unit handed to the encoder is filled both as a bag of words and as a
 * sequence, and the family takes the one it reads: no line here knows the family. */
#include "infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A candidate whose word counts have at least this cosine with a chosen sentence's is a
 * near-duplicate of it: chosen only once no other candidate is left. */
#define DUPLICATE_COSINE 0.8

/* By the decoder a summary pays for its length as if this many words were already in it: a
 * summary's F1 against the document's key words is 2 hits / (its words + theirs), and without it
 * a sentence of one lucky word would win. Chosen on bench/manpages.py's first 500 test pages among
 * 1, 2, 3, 4, 6, 10 (README, vae-infer: 2 did best; 10 lost 0.01 of ROUGE-1). */
#define PRIOR_WORDS 2.0

/* A word's weight is this share of the decoder's p(w | z_d) and the rest of its frequency in the
 * document: among 0.5 to 0.9, the one above TextRank on ROUGE-1 and ROUGE-2 with the models of
 * three training seeds (README, vae-infer; 0.5 did best with one of them, worst with another). */
#define DECODER_SHARE 0.7

enum { FREE, CHOSEN, NEVER }; /* a sentence's state during one document's selection */

struct infer_extractor {
    vae_model *m;
    int L, cap;
    int64_t V;
    vae_docs docs;       /* the units of one encoder batch, as bags of words */
    vae_seqs seqs;       /* the same units as sequences */
    int by_decoder;      /* score by the decoder (else by the encoder alone) */
    float *mu, *logvar;  /* [cap * L] */
    float *logp;         /* [V] log p(w | z = the document's mean), by_decoder */
    float *doc_mu;       /* [L]: the mean of q(z | document) */
    double *weight;      /* [V] q(w) of the document's words, by_decoder; zero elsewhere */
    unsigned char *covered; /* [V] the words of the chosen sentences, by_decoder */
    uint32_t *stamp;     /* [V] the candidate that last counted a word, by_decoder */
    uint32_t stamps;     /* the last stamp given */
    int32_t *dense;      /* [V] counts scratch, all zero between uses */
    int32_t *touched;    /* [V] the ids with a count in dense */
    /* Per sentence of the document, grown with the longest document seen. */
    int64_t cap_sents;
    unsigned char *state, *duplicate;
    double *norm;        /* the Euclidean norm of its word counts */
    int64_t *cand;       /* [cap] the candidate of each unit of a batch */
    int64_t *members;    /* the chosen sentences, ascending, then room for one more */
};

void infer_extractor_free(infer_extractor *x)
{
    if (!x)
        return;
    vae_docs_free(&x->docs);
    vae_seqs_free(&x->seqs);
    free(x->mu);
    free(x->logvar);
    free(x->logp);
    free(x->doc_mu);
    free(x->weight);
    free(x->covered);
    free(x->stamp);
    free(x->dense);
    free(x->touched);
    free(x->state);
    free(x->duplicate);
    free(x->norm);
    free(x->cand);
    free(x->members);
    free(x);
}

int infer_extractor_new(infer_extractor **out, vae_model *m, int by_decoder)
{
    infer_extractor *x = vae_calloc_array(1, sizeof *x);
    *out = NULL;
    if (!x)
        return VAE_ERR_NOMEM;
    x->m = m;
    x->L = vae_model_latent(m);
    x->cap = vae_model_max_batch(m);
    x->V = vae_model_config_of(m)->vocab_size;
    vae_docs_init(&x->docs);
    vae_seqs_init(&x->seqs);
    const size_t units = (size_t)x->cap * (size_t)x->L;
    int rc = VAE_OK;
    if (!(x->mu = vae_malloc_array(units, sizeof *x->mu)) || !(x->logvar = vae_malloc_array(units, sizeof *x->logvar)) ||
        !(x->doc_mu = vae_calloc_array((size_t)x->L, sizeof *x->doc_mu)) ||
        !(x->dense = vae_calloc_array((size_t)x->V, sizeof *x->dense)) ||
        !(x->touched = vae_malloc_array((size_t)x->V, sizeof *x->touched)) ||
        !(x->cand = vae_malloc_array((size_t)x->cap, sizeof *x->cand)) ||
        !(x->logp = vae_malloc_array((size_t)x->V, sizeof *x->logp)))
        rc = VAE_ERR_NOMEM;
    /* Auto: the decoder when the family has one, which a decode at z = 0 tells. */
    if (rc == VAE_OK && by_decoder < 0)
        by_decoder = vae_model_decode(m, x->doc_mu, 1, x->logp) == VAE_OK;
    x->by_decoder = by_decoder;
    if (rc == VAE_OK && by_decoder && (!(x->weight = vae_calloc_array((size_t)x->V, sizeof *x->weight)) ||
                                       !(x->covered = vae_calloc_array((size_t)x->V, sizeof *x->covered)) ||
                                       !(x->stamp = vae_calloc_array((size_t)x->V, sizeof *x->stamp))))
        rc = VAE_ERR_NOMEM;
    if (rc != VAE_OK) {
        infer_extractor_free(x);
        return rc;
    }
    *out = x;
    return VAE_OK;
}

static int grow_sentences(infer_extractor *x, int64_t n)
{
    if (n <= x->cap_sents)
        return VAE_OK;
    unsigned char *state = realloc(x->state, (size_t)n), *dup = state ? realloc(x->duplicate, (size_t)n) : NULL;
    if (state)
        x->state = state;
    if (dup)
        x->duplicate = dup;
    double *norm = dup ? realloc(x->norm, sizeof *norm * (size_t)n) : NULL;
    if (norm)
        x->norm = norm;
    int64_t *members = norm ? realloc(x->members, sizeof *members * ((size_t)n + 1)) : NULL;
    if (!members)
        return VAE_ERR_NOMEM;
    x->members = members;
    x->cap_sents = n;
    return VAE_OK;
}

static int by_id(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Counts sentence i's known words into dense; returns how many of its ids were new there. */
static int64_t count_words(infer_extractor *x, const vae_seqs *s, int64_t i, int64_t touched)
{
    for (int64_t p = s->indptr[i]; p < s->indptr[i + 1]; p++) {
        const int32_t w = s->tokens[p];
        if (w >= x->V)
            continue;
        if (x->dense[w]++ == 0)
            x->touched[touched++] = w;
    }
    return touched;
}

/* Appends the unit made of sentences members[0..n) (ascending) as the next row of x->docs (their
 * bags summed) and the next sequence of x->seqs (their tokens in document order). */
static int add_unit(infer_extractor *x, const vae_seqs *s, const int64_t *members, int64_t n)
{
    vae_docs *d = &x->docs;
    vae_seqs *q = &x->seqs;
    int64_t touched = 0, tokens = 0;
    for (int64_t j = 0; j < n; j++) {
        touched = count_words(x, s, members[j], touched);
        tokens += s->indptr[members[j] + 1] - s->indptr[members[j]];
    }
    int rc = vae_docs_reserve(d, d->num_docs + 1, d->nnz + touched);
    if (rc == VAE_OK)
        rc = vae_seqs_reserve(q, q->num_seqs + 1, q->num_tokens + tokens);
    if (rc != VAE_OK) {
        for (int64_t t = 0; t < touched; t++)
            x->dense[x->touched[t]] = 0;
        return rc;
    }
    qsort(x->touched, (size_t)touched, sizeof *x->touched, by_id);
    d->indptr[0] = 0;
    for (int64_t t = 0; t < touched; t++) {
        d->indices[d->nnz + t] = x->touched[t];
        d->counts[d->nnz + t] = x->dense[x->touched[t]];
        x->dense[x->touched[t]] = 0;
    }
    d->nnz += touched;
    d->doc_index[d->num_docs] = d->num_docs;
    d->indptr[++d->num_docs] = d->nnz;
    for (int64_t j = 0; j < n; j++) {
        const int64_t a = s->indptr[members[j]], len = s->indptr[members[j] + 1] - a;
        memcpy(q->tokens + q->num_tokens, s->tokens + a, sizeof *q->tokens * (size_t)len);
        q->num_tokens += len;
    }
    q->seq_index[q->num_seqs] = q->num_seqs;
    q->doc[q->num_seqs] = 0;
    q->indptr[++q->num_seqs] = q->num_tokens;
    return VAE_OK;
}

static void clear_units(infer_extractor *x)
{
    x->docs.num_docs = x->docs.nnz = 0;
    x->seqs.num_seqs = x->seqs.num_tokens = 0;
}

/* Encodes the units of x->docs and x->seqs. */
static int encode_units(infer_extractor *x)
{
    const vae_batch b = {.docs = &x->docs, .seqs = &x->seqs};
    return vae_model_encode(x->m, &b, x->mu, x->logvar);
}

/* By the encoder, the score of unit r of the last batch: the cosine of its mean and the
 * document's. */
static double unit_score(const infer_extractor *x, int r)
{
    double sum = 0.0, n = 0.0;
    const float *mu = x->mu + (size_t)r * x->L;
    double doc = 0.0;
    for (int l = 0; l < x->L; l++) {
        sum += (double)mu[l] * x->doc_mu[l];
        n += (double)mu[l] * mu[l];
        doc += (double)x->doc_mu[l] * x->doc_mu[l];
    }
    return n > 0.0 && doc > 0.0 ? sum / sqrt(n * doc) : 0.0;
}

/* Marks every free sentence that is a near-duplicate of sentence j. */
static void mark_duplicates(infer_extractor *x, const vae_seqs *s, int64_t j)
{
    const int64_t touched = count_words(x, s, j, 0);
    for (int64_t i = 0; i < s->num_seqs; i++) {
        if (x->state[i] != FREE || x->duplicate[i])
            continue;
        double dot = 0.0;
        for (int64_t p = s->indptr[i]; p < s->indptr[i + 1]; p++)
            dot += s->tokens[p] < x->V ? x->dense[s->tokens[p]] : 0;
        x->duplicate[i] = dot >= DUPLICATE_COSINE * x->norm[i] * x->norm[j];
    }
    for (int64_t t = 0; t < touched; t++)
        x->dense[x->touched[t]] = 0;
}

/* Each sentence's state (NEVER without a known word) and norm; the number of candidates. */
static int64_t prepare(infer_extractor *x, const vae_seqs *s)
{
    int64_t candidates = 0;
    for (int64_t i = 0; i < s->num_seqs; i++) {
        const int64_t touched = count_words(x, s, i, 0);
        double sq = 0.0;
        for (int64_t t = 0; t < touched; t++) {
            sq += (double)x->dense[x->touched[t]] * x->dense[x->touched[t]];
            x->dense[x->touched[t]] = 0;
        }
        x->norm[i] = sqrt(sq);
        x->state[i] = touched ? FREE : NEVER;
        x->duplicate[i] = 0;
        candidates += touched > 0;
    }
    return candidates;
}

/* The chosen sentences chosen[0..n) (ascending) with candidate c in its place, into out[0..n]. */
static void with_candidate(const int64_t *chosen, int64_t n, int64_t c, int64_t *out)
{
    int64_t j = 0, o = 0;
    for (; j < n && chosen[j] < c; j++)
        out[o++] = chosen[j];
    out[o++] = c;
    for (; j < n; j++)
        out[o++] = chosen[j];
}

/* Whether candidate i may be taken now: free, and no near-duplicate unless only those are left. */
static int open_candidate(const infer_extractor *x, int64_t i, int any_fresh)
{
    return x->state[i] == FREE && !(any_fresh && x->duplicate[i]);
}

static int any_fresh_candidate(const infer_extractor *x, const vae_seqs *s)
{
    for (int64_t i = 0; i < s->num_seqs; i++)
        if (x->state[i] == FREE && !x->duplicate[i])
            return 1;
    return 0;
}

/* By the decoder, what sentence i would add to the chosen set: the weight of its words the set
 * lacks (each counted once) into *gain, its words of the vocabulary into *words. */
static void coverage_of(infer_extractor *x, const vae_seqs *s, int64_t i, double *gain, double *words)
{
    if (++x->stamps == 0) { /* the stamps wrapped: none of the old ones may match a new one */
        memset(x->stamp, 0, sizeof *x->stamp * (size_t)x->V);
        x->stamps = 1;
    }
    *gain = *words = 0.0;
    for (int64_t p = s->indptr[i]; p < s->indptr[i + 1]; p++) {
        const int32_t w = s->tokens[p];
        if (w >= x->V)
            continue;
        *words += 1.0;
        if (!x->covered[w] && x->stamp[w] != x->stamps)
            *gain += x->weight[w];
        x->stamp[w] = x->stamps;
    }
}

/* One step of the greedy choice by the decoder: the open candidate that makes the chosen set's
 * (weight covered) / (words + PRIOR_WORDS) highest, ties to the earlier; its words become covered.
 * *mass and *words are the chosen set's. *best = -1 when there is none. */
static void choose_by_coverage(infer_extractor *x, const vae_seqs *s, double *mass, double *words, int64_t *best,
                               double *best_score)
{
    const int any_fresh = any_fresh_candidate(x, s);
    double best_gain = 0.0, best_words = 0.0;
    *best = -1;
    for (int64_t i = 0; i < s->num_seqs; i++) {
        if (!open_candidate(x, i, any_fresh))
            continue;
        double gain, n;
        coverage_of(x, s, i, &gain, &n);
        const double score = (*mass + gain) / (*words + n + PRIOR_WORDS);
        if (*best < 0 || score > *best_score) {
            *best = i;
            *best_score = score;
            best_gain = gain;
            best_words = n;
        }
    }
    if (*best < 0)
        return;
    *mass += best_gain;
    *words += best_words;
    for (int64_t p = s->indptr[*best]; p < s->indptr[*best + 1]; p++)
        if (s->tokens[p] < x->V)
            x->covered[s->tokens[p]] = 1;
}

/* One step of the greedy choice by the encoder: the open candidate that makes the chosen set's
 * score best, ties to the earlier sentence. *best = -1 when there is none. */
static int choose_by_encoder(infer_extractor *x, const vae_seqs *s, int64_t chosen, int64_t *best, double *best_score)
{
    const int any_fresh = any_fresh_candidate(x, s);
    int64_t *unit = vae_malloc_array((size_t)chosen + 1, sizeof *unit);
    if (!unit)
        return VAE_ERR_NOMEM;
    int rc = VAE_OK;
    *best = -1;
    for (int64_t i = 0; rc == VAE_OK && i < s->num_seqs;) {
        clear_units(x);
        int n = 0;
        for (; i < s->num_seqs && n < x->cap && rc == VAE_OK; i++) {
            if (!open_candidate(x, i, any_fresh))
                continue;
            with_candidate(x->members, chosen, i, unit);
            x->cand[n++] = i;
            rc = add_unit(x, s, unit, chosen + 1);
        }
        if (rc == VAE_OK && n > 0)
            rc = encode_units(x);
        for (int r = 0; rc == VAE_OK && r < n; r++) {
            const double score = unit_score(x, r);
            if (*best < 0 || score > *best_score) {
                *best = x->cand[r];
                *best_score = score;
            }
        }
    }
    free(unit);
    return rc;
}

static int by_index(const void *a, const void *b)
{
    const int64_t x = ((const infer_pick *)a)->index, y = ((const infer_pick *)b)->index;
    return (x > y) - (x < y);
}

int infer_extract(infer_extractor *x, const vae_seqs *s, int k, infer_pick *picks, int *count)
{
    *count = 0;
    int rc = grow_sentences(x, s->num_seqs);
    if (rc != VAE_OK)
        return rc;
    if (k < 1 || prepare(x, s) == 0)
        return VAE_OK;
    /* The document: the unit of all its sentences. */
    for (int64_t i = 0; i < s->num_seqs; i++)
        x->members[i] = i;
    clear_units(x);
    if ((rc = add_unit(x, s, x->members, s->num_seqs)) != VAE_OK || (rc = encode_units(x)) != VAE_OK)
        return rc;
    memcpy(x->doc_mu, x->mu, sizeof *x->mu * (size_t)x->L);
    if (x->by_decoder && (rc = vae_model_decode(x->m, x->doc_mu, 1, x->logp)) != VAE_OK)
        return rc;
    /* q(w): the document's own frequency of w mixed with p(w | z = its mean). */
    const vae_docs *bag = &x->docs;
    double tokens = 0.0, mass = 0.0, words = 0.0;
    for (int64_t p = 0; x->by_decoder && p < bag->nnz; p++)
        tokens += bag->counts[p];
    for (int64_t p = 0; x->by_decoder && p < bag->nnz; p++)
        x->weight[bag->indices[p]] =
            (1.0 - DECODER_SHARE) * bag->counts[p] / tokens + DECODER_SHARE * exp((double)x->logp[bag->indices[p]]);
    int64_t chosen = 0;
    while (chosen < k) {
        int64_t best;
        double score = 0.0;
        if (x->by_decoder)
            choose_by_coverage(x, s, &mass, &words, &best, &score);
        else if ((rc = choose_by_encoder(x, s, chosen, &best, &score)) != VAE_OK)
            break;
        if (best < 0)
            break;
        picks[chosen] = (infer_pick){.index = best, .score = score};
        int64_t at = chosen;
        for (; at > 0 && x->members[at - 1] > best; at--)
            x->members[at] = x->members[at - 1];
        x->members[at] = best;
        chosen++;
        x->state[best] = CHOSEN;
        mark_duplicates(x, s, best);
    }
    for (int64_t p = 0; x->by_decoder && p < bag->nnz; p++) {
        x->weight[bag->indices[p]] = 0.0;
        x->covered[bag->indices[p]] = 0;
    }
    qsort(picks, (size_t)chosen, sizeof *picks, by_index);
    *count = (int)chosen;
    return rc;
}
