/* SPEC.md "Figures" of the families of documents (bow, topic) from their evaluation sums: one place
 * adds a document into the sums and turns them into perplexities, means and the active-unit count,
 * whatever the number of batches or ranks. */
#include "bow.h"

#include <math.h>

#include "model_base.h"

#define ACTIVE_UNIT_VARIANCE 0.01

void figures_put(vae_figures *f, const char *name, double value, int integer, int headline)
{
    f->of[f->count++] = (vae_figure){.name = name, .value = value, .integer = integer, .headline = headline};
}

void bow_eval_add(double *sums, int L, const float *mu, double tokens, double recon, double kl, double recon_mean)
{
    if (tokens == 0.0) {
        sums[VAE_SUM_EMPTY_DOCS] += 1.0;
        return;
    }
    const double neg_elbo = recon + kl;
    sums[VAE_SUM_DOCS] += 1.0;
    sums[VAE_SUM_TOKENS] += tokens;
    sums[VAE_SUM_RECON] += recon;
    sums[VAE_SUM_KL] += kl;
    sums[VAE_SUM_RECON_MEAN] += recon_mean;
    sums[VAE_SUM_NEG_ELBO] += neg_elbo;
    sums[VAE_SUM_NEG_ELBO_PER_TOKEN] += neg_elbo / tokens;
    double *mu_sum = sums + VAE_SUM_FIXED, *mu_sq = mu_sum + L;
    for (int u = 0; u < L; u++) {
        mu_sum[u] += mu[u];
        mu_sq[u] += (double)mu[u] * mu[u];
    }
}

int figures_active_units(const double *s, int latent)
{
    const double units = s[VAE_SUM_DOCS], per_unit = 1.0 / units;
    int active = 0;
    const double *mu_sum = s + VAE_SUM_FIXED, *mu_sq = mu_sum + latent;
    for (int u = 0; u < latent && units > 0; u++) {
        const double mean = mu_sum[u] * per_unit;
        /* Population variance, as numpy's var of mu over the units. */
        if (mu_sq[u] * per_unit - mean * mean > ACTIVE_UNIT_VARIANCE)
            active++;
    }
    return active;
}

void bow_figures(const vae_model *m, const double *s, vae_figures *f)
{
    const double docs = s[VAE_SUM_DOCS], tokens = s[VAE_SUM_TOKENS];
    const double per_doc = docs > 0 ? 1.0 / docs : NAN;
    const int active = figures_active_units(s, m->latent);
    f->count = 0;
    figures_put(f, "docs", docs, 1, 0);
    figures_put(f, "empty_docs", s[VAE_SUM_EMPTY_DOCS], 1, 0);
    figures_put(f, "tokens", tokens, 1, 0);
    figures_put(f, "recon", s[VAE_SUM_RECON] * per_doc, 0, 0);
    figures_put(f, "kl", s[VAE_SUM_KL] * per_doc, 0, 1);
    figures_put(f, "elbo", -s[VAE_SUM_NEG_ELBO] * per_doc, 0, 0);
    figures_put(f, "recon_mean", s[VAE_SUM_RECON_MEAN] * per_doc, 0, 0);
    figures_put(f, "ppl_doc", exp(s[VAE_SUM_NEG_ELBO_PER_TOKEN] * per_doc), 0, 1);
    figures_put(f, "ppl_corpus", tokens > 0 ? exp(s[VAE_SUM_NEG_ELBO] / tokens) : NAN, 0, 1);
    figures_put(f, "active_units", active, 1, 1);
}
