/* The importance-weighted estimate of the negative log-likelihood (Burda et al. 2015) behind
 * vae-infer eval --iw-samples K (SPEC.md "sentence" figures): the model gives each unit's K log
 * weights from the counter-based streams of the evaluation seed, and the estimate is their
 * log-mean-exp, summed in double. */
#include "infer.h"

#include <math.h>

#include "vae/family.h"

/* The tokens SPEC's figures count for unit r of the batch: a document's words, or a sequence's
 * tokens and its </s>. */
static int64_t unit_tokens(const vae_batch *b, int64_t r)
{
    if (b->seqs)
        return b->seqs->indptr[r + 1] - b->seqs->indptr[r] + 1;
    int64_t n = 0;
    for (int64_t p = b->docs->indptr[r]; p < b->docs->indptr[r + 1]; p++)
        n += b->docs->counts[p];
    return n;
}

int infer_iw_add(vae_model *m, const vae_batch *b, int K, double *logw, infer_iw_sums *s)
{
    const int seqs = vae_model_family(m)->unit == VAE_UNIT_SEQS;
    const vae_batch batch = {.docs = seqs ? NULL : b->docs, .seqs = seqs ? b->seqs : NULL};
    const int64_t n = seqs ? (b->seqs ? b->seqs->num_seqs : 0) : (b->docs ? b->docs->num_docs : 0);
    if (n == 0)
        return VAE_OK;
    int rc = vae_model_log_weights(m, &batch, K, VAE_EVAL_SEED, logw);
    for (int64_t r = 0; rc == VAE_OK && r < n; r++) {
        const int64_t tokens = unit_tokens(&batch, r);
        if (tokens == 0)
            continue;
        const double *w = logw + (size_t)r * (size_t)K;
        double top = w[0], sum = 0.0, mean = 0.0;
        for (int k = 1; k < K; k++)
            top = w[k] > top ? w[k] : top;
        for (int k = 0; k < K; k++) {
            sum += exp(w[k] - top);
            mean += w[k];
        }
        if (!isfinite(top))
            return vae_fail(VAE_ERR_NUMERIC, "unit %lld of the batch has a log weight of %g", (long long)r, top);
        s->nll_iw += -(top + log(sum)) + log((double)K);
        s->nll_bound += -mean / K;
        s->units += 1.0;
        s->tokens += (double)tokens;
    }
    return rc;
}
