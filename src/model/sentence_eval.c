/* The family sentence outside training: the evaluation sums and SPEC's figures of a set of
 * sequences (the sums of the families of documents, a sequence for a document: bow_figures.c),
 * encoding, importance weights (Burda et al. 2015) and decoding one step at a time. */
#include "sentence.h"

#include <math.h>
#include <string.h>

#include "bow.h"

size_t sentence_eval_sums_len(const vae_model *m) { return VAE_SUM_FIXED + 2 * (size_t)m->latent; }

/* The batch planned and encoded (mu, logvar in sorted order). */
static int encode_batch(sentence_model *m, const vae_seqs *q)
{
    const int rc = sentence_plan(m, q);
    if (rc == VAE_OK)
        sentence_encode_sorted(m, q);
    return rc;
}

/* z of every sorted sequence drawn from the stream (eval_seed, draw, its index). */
static void draw_latent(sentence_model *m, uint64_t eval_seed, int draw)
{
    reparameterize(m->z, m->eps, m->mu, m->logvar, m->index, m->B, m->cfg.latent, 1, eval_seed, (uint64_t)draw);
}

int sentence_eval(vae_model *vm, const vae_batch *b, int samples, uint64_t eval_seed, double *sums)
{
    sentence_model *m = sentence(vm);
    const vae_seqs *q = b->seqs;
    const int rc = encode_batch(m, q);
    if (rc != VAE_OK)
        return rc;
    const int B = m->B, L = m->cfg.latent;
    for (int j = 0; j < B; j++)
        m->recon_avg[j] = 0.0;
    int rc_decode = VAE_OK;
    for (int k = 0; rc_decode == VAE_OK && k < samples; k++) {
        draw_latent(m, eval_seed, k);
        rc_decode = sentence_decode_sorted(m, q, m->z, NULL);
        for (int j = 0; j < B; j++)
            m->recon_avg[j] += m->recon[j] / samples;
    }
    if (rc_decode == VAE_OK)
        rc_decode = sentence_decode_sorted(m, q, m->mu, NULL);
    if (rc_decode != VAE_OK)
        return rc_decode;
    for (int j = 0; j < B; j++)
        bow_eval_add(sums, L, m->mu + (size_t)j * L, m->len[j] + 1.0, m->recon_avg[j], sentence_kl(m, j), m->recon[j]);
    return VAE_OK;
}

void sentence_figures(const vae_model *m, const double *s, vae_figures *f)
{
    const double seqs = s[VAE_SUM_DOCS], tokens = s[VAE_SUM_TOKENS];
    const double per_seq = seqs > 0 ? 1.0 / seqs : NAN;
    f->count = 0;
    figures_put(f, "nll", s[VAE_SUM_NEG_ELBO] * per_seq, 0, 1);
    figures_put(f, "ppl", tokens > 0 ? exp(s[VAE_SUM_NEG_ELBO] / tokens) : NAN, 0, 1);
    figures_put(f, "recon", s[VAE_SUM_RECON] * per_seq, 0, 0);
    figures_put(f, "recon_mean", s[VAE_SUM_RECON_MEAN] * per_seq, 0, 0);
    figures_put(f, "kl", s[VAE_SUM_KL] * per_seq, 0, 1);
    figures_put(f, "active_units", figures_active_units(s, m->latent), 1, 1);
    figures_put(f, "sequences", seqs, 1, 0);
    figures_put(f, "tokens", tokens, 1, 0);
}

int sentence_encode(vae_model *vm, const vae_batch *b, float *mu, float *logvar)
{
    sentence_model *m = sentence(vm);
    const int rc = encode_batch(m, b->seqs);
    if (rc != VAE_OK)
        return rc;
    const size_t L = (size_t)m->cfg.latent;
    for (int j = 0; j < m->B; j++) {
        memcpy(mu + (size_t)m->order[j] * L, m->mu + (size_t)j * L, sizeof *mu * L);
        memcpy(logvar + (size_t)m->order[j] * L, m->logvar + (size_t)j * L, sizeof *logvar * L);
    }
    return VAE_OK;
}

/* logw = log p(x | z) + log N(z; 0, I) - log N(z; mu, sigma^2), the 2 pi terms cancelling:
 * -recon - |z|^2 / 2 + |eps|^2 / 2 + sum logvar / 2, since z = mu + sigma eps. */
int sentence_log_weights(vae_model *vm, const vae_batch *b, int K, uint64_t eval_seed, double *logw)
{
    sentence_model *m = sentence(vm);
    const vae_seqs *q = b->seqs;
    const int rc = encode_batch(m, q);
    if (rc != VAE_OK)
        return rc;
    const int L = m->cfg.latent;
    for (int k = 0; k < K; k++) {
        draw_latent(m, eval_seed, k);
        const int rc_decode = sentence_decode_sorted(m, q, m->z, NULL);
        if (rc_decode != VAE_OK)
            return rc_decode;
        for (int j = 0; j < m->B; j++) {
            const float *z = m->z + (size_t)j * L, *eps = m->eps + (size_t)j * L, *lv = m->logvar + (size_t)j * L;
            double w = -m->recon[j];
            for (int u = 0; u < L; u++)
                w += 0.5 * ((double)eps[u] * eps[u] + lv[u] - (double)z[u] * z[u]);
            logw[(size_t)m->order[j] * (size_t)K + k] = w;
        }
    }
    return VAE_OK;
}

int sentence_seq_start(vae_model *vm, const float *z, int n, float *h)
{
    sentence_h0(sentence(vm), z, n, h);
    return VAE_OK;
}

int sentence_seq_step(vae_model *vm, const float *z, const int32_t *prev, const float *h, int n, float *h_next,
                      float *logp)
{
    sentence_model *m = sentence(vm);
    const int64_t C = m->classes;
    const int H = m->cfg.hidden, E = m->cfg.embedding;
    for (int i = 0; i < n; i++)
        if (prev[i] < 0 || prev[i] >= C)
            return vae_fail(VAE_ERR_ARG, "previous token %d of sequence %d is not in [0, %lld)", (int)prev[i], i,
                            (long long)C);
    const float *emb = sentence_param(m, T_EMB);
    for (int i = 0; i < n; i++)
        memcpy(m->dec_x + (size_t)i * E, emb + (size_t)prev[i] * E, sizeof(float) * (size_t)E);
    sentence_z_gates(m, z, n);
    const gru_weights w = sentence_gru(m, vm->params, 1);
    gru_step(&w, n, m->dec_x, h, m->z_gates, h_next, m->dec.gates, m->dec.gh);
    linear_forward(logp, h_next, sentence_param(m, T_OUT_W), 0, NULL, n, H, (int)C);
    for (int i = 0; i < n; i++) {
        float *row = logp + (size_t)i * (size_t)C;
        const float lse = logsumexp_row(row, sentence_param(m, T_OUT_B), C);
        for (int64_t v = 0; v < C; v++)
            row[v] -= lse;
    }
    return VAE_OK;
}
