/* SPEC.md "Figures" from the evaluation sums (see vae_model_eval): one place turns sums into
 * perplexities, means and the active-unit count, whatever the number of batches or ranks. */
#include "vae/model.h"

#include <math.h>

#define ACTIVE_UNIT_VARIANCE 0.01

void vae_figures_from_sums(const double *s, int latent, vae_figures *f)
{
    const double docs = s[VAE_SUM_DOCS];
    const double per_doc = docs > 0 ? 1.0 / docs : NAN;
    f->docs = docs;
    f->empty_docs = s[VAE_SUM_EMPTY_DOCS];
    f->tokens = s[VAE_SUM_TOKENS];
    f->recon = s[VAE_SUM_RECON] * per_doc;
    f->kl = s[VAE_SUM_KL] * per_doc;
    f->elbo = -s[VAE_SUM_NEG_ELBO] * per_doc;
    f->recon_mean = s[VAE_SUM_RECON_MEAN] * per_doc;
    f->ppl_doc = exp(s[VAE_SUM_NEG_ELBO_PER_TOKEN] * per_doc);
    f->ppl_corpus = f->tokens > 0 ? exp(s[VAE_SUM_NEG_ELBO] / f->tokens) : NAN;
    f->active_units = 0;
    const double *mu_sum = s + VAE_SUM_FIXED, *mu_sq = mu_sum + latent;
    for (int u = 0; u < latent && docs > 0; u++) {
        const double mean = mu_sum[u] * per_doc;
        /* Population variance, as numpy's var of mu over the documents. */
        if (mu_sq[u] * per_doc - mean * mean > ACTIVE_UNIT_VARIANCE)
            f->active_units++;
    }
}
