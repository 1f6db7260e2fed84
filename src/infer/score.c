/* vae-infer's scoring (see infer.h): topic words, NPMI coherence and diversity, generation and
 * keywords, on a model and buffers alone, so the unit tests run them on hand-set models. */
#include "infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vae/family.h"
#include "vae/rng.h"

static int better(const double *score, int32_t a, int32_t b)
{
    return score[a] > score[b] || (score[a] == score[b] && a < b);
}

int infer_top_k(const double *score, const int32_t *cand, int64_t n, int k, int32_t *out)
{
    int have = 0;
    for (int64_t i = 0; i < n && k > 0; i++) {
        const int32_t w = cand ? cand[i] : (int32_t)i;
        if (have == k && !better(score, w, out[k - 1]))
            continue;
        int pos = have < k ? have : k - 1;
        while (pos > 0 && better(score, w, out[pos - 1]))
            pos--;
        const int last = have < k ? have : k - 1;
        memmove(out + pos + 1, out + pos, sizeof *out * (size_t)(last - pos));
        out[pos] = w;
        have += have < k;
    }
    return have;
}

/* Unit u's top k words by score[V] into top and weight (when wanted). */
static void rank_unit(const double *score, int64_t V, int k, int u, int32_t *top, double *weight)
{
    int32_t *t = top + (size_t)u * k;
    infer_top_k(score, NULL, V, k, t);
    for (int i = 0; weight && i < k; i++)
        weight[(size_t)u * k + i] = score[t[i]];
}

/* Topics as the columns of the family's topic-word matrix. */
static int matrix_topic_words(vae_model *m, int k, int32_t *top, double *weight)
{
    const int L = vae_model_latent(m);
    const int64_t V = vae_model_config_of(m)->vocab_size;
    float *w = vae_malloc_array((size_t)L * (size_t)V, sizeof *w);
    double *score = vae_malloc_array((size_t)V, sizeof *score);
    int rc = w && score ? vae_model_topic_words(m, w) : VAE_ERR_NOMEM;
    for (int u = 0; rc == VAE_OK && u < L; u++) {
        for (int64_t v = 0; v < V; v++)
            score[v] = w[(size_t)u * (size_t)V + v];
        rank_unit(score, V, k, u, top, weight);
    }
    free(w);
    free(score);
    return rc;
}

int infer_topic_words(vae_model *m, int k, int32_t *top, double *weight)
{
    const int L = vae_model_latent(m), per = vae_model_max_batch(m) / 2;
    const int64_t V = vae_model_config_of(m)->vocab_size;
    float *z = NULL, *logp = NULL;
    double *score = NULL;
    int rc = VAE_OK;
    if (per < 1 || k < 1 || k > V)
        return vae_fail(VAE_ERR_ARG, "topics of %d words from %lld (model capacity %d)", k, (long long)V,
                        vae_model_max_batch(m));
    if (vae_model_family(m)->topic_words)
        return matrix_topic_words(m, k, top, weight);
    /* Rows 2i and 2i + 1 of a decode are z = +2 e_u and z = -2 e_u for unit u = u0 + i. */
    if (!(z = vae_malloc_array(2 * (size_t)per * (size_t)L, sizeof *z)) ||
        !(logp = vae_malloc_array(2 * (size_t)per * (size_t)V, sizeof *logp)) ||
        !(score = vae_malloc_array((size_t)V, sizeof *score))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int u0 = 0; u0 < L; u0 += per) {
        const int n = L - u0 < per ? L - u0 : per;
        memset(z, 0, sizeof *z * 2 * (size_t)n * (size_t)L);
        for (int i = 0; i < n; i++) {
            z[(size_t)(2 * i) * L + u0 + i] = 2.0f;
            z[(size_t)(2 * i + 1) * L + u0 + i] = -2.0f;
        }
        if ((rc = vae_model_decode(m, z, 2 * n, logp)) != VAE_OK)
            goto cleanup;
        for (int i = 0; i < n; i++) {
            const float *up = logp + (size_t)(2 * i) * V, *down = up + V;
            for (int64_t v = 0; v < V; v++)
                score[v] = exp((double)up[v]) - exp((double)down[v]);
            rank_unit(score, V, k, u0 + i, top, weight);
        }
    }
cleanup:
    free(z);
    free(logp);
    free(score);
    return rc;
}

double infer_npmi_pair(int64_t n_i, int64_t n_j, int64_t n_ij, int64_t N)
{
    if (N <= 0)
        return NAN;
    if (n_ij == 0)
        return -1.0;
    /* P(i,j) = 1 makes the ratio 0/0; its limit, perfect association, is 1. */
    if (n_ij >= N)
        return 1.0;
    const double p_ij = (double)n_ij / N, p_i = (double)n_i / N, p_j = (double)n_j / N;
    return log(p_ij / (p_i * p_j)) / -log(p_ij);
}

void infer_cooc_free(infer_cooc *c)
{
    free(c->words);
    free(c->df);
    free(c->pair_df);
    free(c->in_doc);
    memset(c, 0, sizeof *c);
}

int infer_cooc_init(infer_cooc *c, const int32_t *words, int topics, int n, int stride, int64_t vocab_size)
{
    memset(c, 0, sizeof *c);
    const size_t cells = (size_t)topics * (size_t)n;
    for (size_t i = 0; i < cells; i++) {
        const int32_t w = words[(i / (size_t)n) * (size_t)stride + i % (size_t)n];
        if (w < 0 || w >= vocab_size)
            return vae_fail(VAE_ERR_ARG, "word id %d is outside the vocabulary of %lld words", w,
                            (long long)vocab_size);
    }
    c->topics = topics;
    c->n = n;
    c->vocab_size = vocab_size;
    if (!(c->words = vae_malloc_array(cells, sizeof *c->words)) || !(c->df = vae_calloc_array(cells, sizeof *c->df)) ||
        !(c->pair_df = vae_calloc_array(cells * (size_t)n, sizeof *c->pair_df)) ||
        !(c->in_doc = vae_calloc_array((size_t)vocab_size, 1))) {
        infer_cooc_free(c);
        return VAE_ERR_NOMEM;
    }
    for (size_t i = 0; i < cells; i++)
        c->words[i] = words[(i / (size_t)n) * (size_t)stride + i % (size_t)n];
    return VAE_OK;
}

void infer_cooc_add(infer_cooc *c, const vae_docs *d)
{
    const int n = c->n;
    for (int64_t r = 0; r < d->num_docs; r++) {
        for (int64_t p = d->indptr[r]; p < d->indptr[r + 1]; p++)
            c->in_doc[d->indices[p]] = 1;
        for (int t = 0; t < c->topics; t++) {
            const int32_t *w = c->words + (size_t)t * n;
            int64_t *pair = c->pair_df + (size_t)t * n * n;
            for (int i = 0; i < n; i++) {
                if (!c->in_doc[w[i]])
                    continue;
                c->df[(size_t)t * n + i]++;
                for (int j = i + 1; j < n; j++)
                    pair[(size_t)i * n + j] += c->in_doc[w[j]];
            }
        }
        for (int64_t p = d->indptr[r]; p < d->indptr[r + 1]; p++)
            c->in_doc[d->indices[p]] = 0;
        c->num_docs++;
    }
}

double infer_cooc_npmi(const infer_cooc *c, int t)
{
    const int n = c->n;
    const int64_t *df = c->df + (size_t)t * n, *pair = c->pair_df + (size_t)t * n * n;
    double sum = 0.0;
    int pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++, pairs++)
            sum += infer_npmi_pair(df[i], df[j], pair[(size_t)i * n + j], c->num_docs);
    return pairs ? sum / pairs : NAN;
}

int infer_diversity(const int32_t *words, int topics, int n, int stride, int64_t vocab_size, double *diversity)
{
    unsigned char *seen = vae_calloc_array((size_t)vocab_size, 1);
    if (!seen)
        return VAE_ERR_NOMEM;
    size_t unique = 0;
    for (int t = 0; t < topics; t++)
        for (int i = 0; i < n; i++) {
            const int32_t w = words[(size_t)t * (size_t)stride + (size_t)i];
            unique += !seen[w];
            seen[w] = 1;
        }
    free(seen);
    *diversity = topics && n ? (double)unique / ((double)topics * n) : NAN;
    return VAE_OK;
}

double infer_tempered_cdf(const float *logp, int64_t n, double temperature, double *cdf)
{
    float top = logp[0];
    for (int64_t v = 1; v < n; v++)
        top = logp[v] > top ? logp[v] : top;
    double total = 0.0;
    for (int64_t v = 0; v < n; v++)
        cdf[v] = total += exp(((double)logp[v] - top) / temperature);
    return total;
}

int64_t infer_cdf_pick(const double *cdf, int64_t n, double target)
{
    /* target < cdf[n-1] (a uniform below 1 times the total), so the search always lands on an
     * entry of positive weight. */
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int infer_generate_doc(vae_model *m, uint64_t seed, int64_t doc, int length, double temperature, int32_t *words)
{
    const int L = vae_model_latent(m);
    const int64_t V = vae_model_config_of(m)->vocab_size;
    float *z = vae_malloc_array((size_t)L, sizeof *z);
    float *logp = vae_malloc_array((size_t)V, sizeof *logp);
    double *cdf = vae_malloc_array((size_t)V, sizeof *cdf);
    double *u = vae_malloc_array((size_t)length, sizeof *u);
    int rc = z && logp && cdf && u ? VAE_OK : VAE_ERR_NOMEM;
    if (rc == VAE_OK && !(temperature > 0.0))
        rc = vae_fail(VAE_ERR_ARG, "temperature %g is not positive", temperature);
    if (rc != VAE_OK)
        goto cleanup;
    vae_normals(seed, (uint64_t)doc, 0, z, L);
    if ((rc = vae_model_decode(m, z, 1, logp)) != VAE_OK)
        goto cleanup;
    const double total = infer_tempered_cdf(logp, V, temperature, cdf);
    vae_uniforms(seed, (uint64_t)doc, 1, u, length);
    for (int i = 0; i < length; i++)
        words[i] = (int32_t)infer_cdf_pick(cdf, V, u[i] * total);
cleanup:
    free(z);
    free(logp);
    free(cdf);
    free(u);
    return rc;
}

int infer_background(vae_model *m, float *bg)
{
    float *z = vae_calloc_array((size_t)vae_model_latent(m), sizeof *z);
    if (!z)
        return VAE_ERR_NOMEM;
    int rc = vae_model_decode(m, z, 1, bg);
    free(z);
    return rc;
}

int infer_keywords(vae_model *m, const vae_docs *d, const float *bg, int k, int32_t *kw, int *count)
{
    const int64_t V = vae_model_config_of(m)->vocab_size, B = d->num_docs;
    const size_t BL = (size_t)B * (size_t)vae_model_latent(m);
    const vae_batch batch = {.docs = d};
    float *logp = vae_malloc_array((size_t)B * (size_t)V, sizeof *logp);
    float *mu = vae_malloc_array(2 * BL, sizeof *mu); /* mu [B, L], then logvar, which goes unused */
    double *score = vae_malloc_array((size_t)V, sizeof *score);
    int rc = logp && mu && score ? VAE_OK : VAE_ERR_NOMEM;
    if (rc == VAE_OK && (rc = vae_model_encode(m, &batch, mu, mu + BL)) == VAE_OK)
        rc = vae_model_decode(m, mu, (int)B, logp);
    for (int64_t r = 0; rc == VAE_OK && r < B; r++) {
        const float *row = logp + (size_t)r * (size_t)V;
        const int64_t a = d->indptr[r], n = d->indptr[r + 1] - a;
        for (int64_t p = a; p < a + n; p++)
            score[d->indices[p]] = (double)row[d->indices[p]] - bg[d->indices[p]];
        count[r] = infer_top_k(score, d->indices + a, n, k, kw + (size_t)r * k);
    }
    free(logp);
    free(mu);
    free(score);
    return rc;
}
