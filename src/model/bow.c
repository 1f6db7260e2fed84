/* The family bow, the VAE of SPEC.md "The model": its settings, the layout of the flat parameter
 * buffer, forward and backward passes over a sparse batch, the evaluation sums behind every figure,
 * and the decoder that inference reads. */
#include "bow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_base.h"

const char *const vae_activation_names[] = {"relu", "tanh", "softplus", NULL};
const char *const vae_input_transform_names[] = {"log1p", "counts", "l1", NULL};

/* The settings, in the order of the configuration's values. */
enum { S_LATENT, S_ENC, S_DEC, S_ACTIVATION, S_INPUT, NUM_SETTINGS };
_Static_assert(VAE_MAX_HIDDEN <= VAE_MAX_LIST, "a hidden-layer list fits a setting");
_Static_assert(NUM_SETTINGS <= VAE_MAX_SETTINGS, "the settings fit a configuration");

static const vae_setting_spec bow_settings[NUM_SETTINGS] = {
    [S_LATENT] = {.key = "latent", .kind = VAE_SETTING_INT, .default_text = "32", .lo = 1, .hi = 1 << 16},
    [S_ENC] = {.key = "encoder_hidden", .kind = VAE_SETTING_LIST, .default_text = "128,64", .lo = 1,
               .hi = 1 << 16, .min_count = 1, .max_count = VAE_MAX_HIDDEN},
    [S_DEC] = {.key = "decoder_hidden", .kind = VAE_SETTING_LIST, .default_text = "64,128", .lo = 1,
               .hi = 1 << 16, .min_count = 0, .max_count = VAE_MAX_HIDDEN},
    [S_ACTIVATION] = {.key = "activation", .kind = VAE_SETTING_CHOICE, .default_text = "relu",
                      .choices = vae_activation_names},
    [S_INPUT] = {.key = "input_transform", .kind = VAE_SETTING_CHOICE, .default_text = "log1p",
                 .choices = vae_input_transform_names},
};

typedef struct {
    vae_model base;
    vae_bow_config cfg;
    int width; /* the widest hidden layer or latent */
    int64_t cap_nnz;
    /* Activations, each [max_batch, its width]; enc[0] is the sparse layer's output. */
    float *xval; /* [cap_nnz] transformed counts */
    float *enc[VAE_MAX_HIDDEN], *dec[VAE_MAX_HIDDEN];
    float *mu, *logvar, *eps, *z; /* [max_batch, L] */
    float *logits;                /* [max_batch, V]; gradient of the logits after backward */
    float *lse;                   /* [max_batch] log-normalizer of each row */
    double *recon, *kl;           /* [max_batch] per document, from the last forward */
    float *grad_a, *grad_b;       /* [max_batch, width] gradients flowing down the layers */
    float *dlogvar;               /* [max_batch, L] */
} bow_model;

static bow_model *bow(vae_model *m) { return (bow_model *)m; }

void vae_bow_config_of(const vae_model_config *c, vae_bow_config *out)
{
    const vae_setting_value *v = c->values;
    memset(out, 0, sizeof *out);
    out->vocab_size = c->vocab_size;
    out->latent = (int)v[S_LATENT].num;
    out->num_enc = (int)v[S_ENC].num;
    out->num_dec = (int)v[S_DEC].num;
    for (int i = 0; i < out->num_enc; i++)
        out->enc_hidden[i] = (int)v[S_ENC].list[i];
    for (int i = 0; i < out->num_dec; i++)
        out->dec_hidden[i] = (int)v[S_DEC].list[i];
    out->activation = (vae_activation)v[S_ACTIVATION].num;
    out->input = (vae_input_transform)v[S_INPUT].num;
}

static int bow_layout(const vae_model_config *mc, vae_layout *l, vae_layout *state)
{
    vae_bow_config bc;
    const vae_bow_config *c = &bc;
    vae_bow_config_of(mc, &bc);
    if (c->vocab_size < 1 || c->vocab_size > (1LL << 31) - 1)
        return vae_fail(VAE_ERR_ARG, "vocabulary size %lld is not in [1, 2^31)", (long long)c->vocab_size);
    /* The settings were checked one by one (family.c); a bow model has no running statistics. */
    memset(state, 0, sizeof *state);
    memset(l, 0, sizeof *l);
    char prefix[16];
    int64_t in = c->vocab_size;
    for (int i = 0; i < c->num_enc; i++) {
        snprintf(prefix, sizeof prefix, "enc.%d", i);
        layout_add_linear(l, prefix, c->enc_hidden[i], in, i == 0);
        in = c->enc_hidden[i];
    }
    layout_add_linear(l, "enc.mu", c->latent, in, 0);
    layout_add_linear(l, "enc.logvar", c->latent, in, 0);
    in = c->latent;
    for (int i = 0; i < c->num_dec; i++) {
        snprintf(prefix, sizeof prefix, "dec.%d", i);
        layout_add_linear(l, prefix, c->dec_hidden[i], in, 0);
        in = c->dec_hidden[i];
    }
    /* The output weight is held [last, V]: at a rank's batch of 128 its three GEMMs ran faster in
     * that form (docs/PERFORMANCE.md). Files keep [V, last]. */
    layout_add_linear(l, "dec.out", c->vocab_size, in, 1);
    return VAE_OK;
}

/* Tensor indices in SPEC's order: weight of layer k at 2k, its bias at 2k + 1. */
static int enc_layer(int i) { return i; }
static int mu_layer(const vae_bow_config *c) { return c->num_enc; }
static int logvar_layer(const vae_bow_config *c) { return c->num_enc + 1; }
static int dec_layer(const vae_bow_config *c, int i) { return c->num_enc + 2 + i; }
static int out_layer(const vae_bow_config *c) { return c->num_enc + 2 + c->num_dec; }

static float *W(const bow_model *m, float *base, int layer) { return base + m->base.layout.tensors[2 * layer].offset; }
static float *Bias(const bow_model *m, float *base, int layer)
{
    return base + m->base.layout.tensors[2 * layer + 1].offset;
}
/* A dense layer's forward and backward pass over the model's buffers, in whichever form the layout
 * holds its weight (the output layer's is [in, out]: see bow_layout). */
static void dense_forward(bow_model *m, int layer, float *out, const float *in, const float *bias, int B, int In,
                          int O)
{
    linear_forward(out, in, W(m, m->base.params, layer), m->base.layout.tensors[2 * layer].transposed, bias, B, In, O);
}

static void dense_backward(bow_model *m, int layer, float *din, float *db, const float *dout, const float *in,
                           int B, int In, int O)
{
    linear_backward(din, W(m, m->base.grads, layer), db, dout, in, W(m, m->base.params, layer),
                    m->base.layout.tensors[2 * layer].transposed, B, In, O);
}

static void bow_destroy(vae_model *vm)
{
    bow_model *m = bow(vm);
    free(m->xval);
    for (int i = 0; i < VAE_MAX_HIDDEN; i++) {
        free(m->enc[i]);
        free(m->dec[i]);
    }
    free(m->mu);
    free(m->logvar);
    free(m->eps);
    free(m->z);
    free(m->logits);
    free(m->lse);
    free(m->recon);
    free(m->kl);
    free(m->grad_a);
    free(m->grad_b);
    free(m->dlogvar);
    free(m);
}

static float *alloc_floats(size_t n) { return vae_calloc_array(n, sizeof(float)); }

static int reserve(bow_model *m, int64_t max_nnz) { return reserve_floats(&m->xval, &m->cap_nnz, max_nnz); }

static int bow_create(vae_model **out, const vae_model_config *mc, int max_batch)
{
    *out = NULL;
    bow_model *m = calloc(1, sizeof *m);
    if (!m)
        return vae_fail(VAE_ERR_NOMEM, "out of memory allocating the model");
    vae_bow_config_of(mc, &m->cfg);
    const vae_bow_config *cfg = &m->cfg;
    m->base.latent = cfg->latent;
    const size_t B = (size_t)max_batch, L = (size_t)cfg->latent, V = (size_t)cfg->vocab_size;
    m->width = cfg->latent;
    for (int i = 0; i < cfg->num_enc; i++)
        m->width = cfg->enc_hidden[i] > m->width ? cfg->enc_hidden[i] : m->width;
    for (int i = 0; i < cfg->num_dec; i++)
        m->width = cfg->dec_hidden[i] > m->width ? cfg->dec_hidden[i] : m->width;
    int ok = 1;
    for (int i = 0; i < cfg->num_enc; i++)
        ok = ok && (m->enc[i] = alloc_floats(B * (size_t)cfg->enc_hidden[i]));
    for (int i = 0; i < cfg->num_dec; i++)
        ok = ok && (m->dec[i] = alloc_floats(B * (size_t)cfg->dec_hidden[i]));
    ok = ok && (m->mu = alloc_floats(B * L)) && (m->logvar = alloc_floats(B * L)) &&
         (m->eps = alloc_floats(B * L)) && (m->z = alloc_floats(B * L)) &&
         (m->dlogvar = alloc_floats(B * L)) && (m->logits = alloc_floats(B * V)) &&
         (m->lse = alloc_floats(B)) && (m->recon = vae_calloc_array(B, sizeof(double))) &&
         (m->kl = vae_calloc_array(B, sizeof(double))) &&
         (m->grad_a = alloc_floats(B * (size_t)m->width)) &&
         (m->grad_b = alloc_floats(B * (size_t)m->width));
    int rc = ok ? reserve(m, 64 * (int64_t)max_batch) : VAE_ERR_NOMEM;
    if (rc != VAE_OK) {
        bow_destroy(&m->base);
        return rc;
    }
    *out = &m->base;
    return VAE_OK;
}

static void bow_init_params(vae_model *m, uint64_t seed)
{
    memset(m->params, 0, sizeof(float) * m->layout.num_params);
    for (int t = 0; t < m->layout.num_tensors; t++)
        init_uniform(m->params, &m->layout.tensors[t], seed, (uint64_t)t,
                     1.0 / sqrt((double)m->layout.tensors[t - t % 2].cols));
}

/* mu and logvar of every document of the batch. */
static int encoder_forward(bow_model *m, const vae_docs *d)
{
    const vae_bow_config *c = &m->cfg;
    const int B = (int)d->num_docs;
    int rc = reserve(m, d->nnz);
    if (rc != VAE_OK)
        return rc;
    input_transform_forward(m->xval, d, c->input);
    sparse_linear_forward(m->enc[0], d, m->xval, W(m, m->base.params, enc_layer(0)),
                          Bias(m, m->base.params, enc_layer(0)), c->enc_hidden[0]);
    activation_forward(m->enc[0], (size_t)B * (size_t)c->enc_hidden[0], c->activation);
    for (int i = 1; i < c->num_enc; i++) {
        dense_forward(m, enc_layer(i), m->enc[i], m->enc[i - 1], Bias(m, m->base.params, enc_layer(i)), B,
                      c->enc_hidden[i - 1], c->enc_hidden[i]);
        activation_forward(m->enc[i], (size_t)B * (size_t)c->enc_hidden[i], c->activation);
    }
    const float *h = m->enc[c->num_enc - 1];
    const int H = c->enc_hidden[c->num_enc - 1];
    dense_forward(m, mu_layer(c), m->mu, h, Bias(m, m->base.params, mu_layer(c)), B, H, c->latent);
    dense_forward(m, logvar_layer(c), m->logvar, h, Bias(m, m->base.params, logvar_layer(c)), B, H, c->latent);
    return VAE_OK;
}

static void sample_latent(bow_model *m, const vae_docs *d, int sample, uint64_t seed, uint64_t step)
{
    reparameterize(m->z, m->eps, m->mu, m->logvar, d->doc_index, d->num_docs, m->cfg.latent, sample, seed, step);
}

/* Decoder from z[n, L] to logits[n, V] and each row's log-normalizer. */
static void decoder_forward(bow_model *m, const float *z, int n)
{
    const vae_bow_config *c = &m->cfg;
    const float *in = z;
    int I = c->latent;
    for (int i = 0; i < c->num_dec; i++) {
        dense_forward(m, dec_layer(c, i), m->dec[i], in, Bias(m, m->base.params, dec_layer(c, i)), n, I,
                      c->dec_hidden[i]);
        activation_forward(m->dec[i], (size_t)n * (size_t)c->dec_hidden[i], c->activation);
        in = m->dec[i];
        I = c->dec_hidden[i];
    }
    const int64_t V = c->vocab_size;
    dense_forward(m, out_layer(c), m->logits, in, NULL, n, I, (int)V);
    const float *bias = Bias(m, m->base.params, out_layer(c));
    for (int r = 0; r < n; r++)
        m->lse[r] = logsumexp_row(m->logits + (size_t)r * (size_t)V, bias, V);
}

static double doc_recon(const bow_model *m, const vae_docs *d, int64_t r)
{
    return sparse_recon(m->logits + (size_t)r * (size_t)m->cfg.vocab_size, m->lse[r], d, r);
}

static double doc_kl(const bow_model *m, int64_t r)
{
    const int L = m->cfg.latent;
    const float *mu = m->mu + r * L, *lv = m->logvar + r * L;
    double s = 0.0;
    for (int u = 0; u < L; u++)
        s += 1.0 + lv[u] - (double)mu[u] * mu[u] - exp((double)lv[u]);
    return -0.5 * s;
}

static int bow_forward(vae_model *vm, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s)
{
    bow_model *m = bow(vm);
    const vae_docs *d = b->docs;
    int rc = encoder_forward(m, d);
    if (rc != VAE_OK)
        return rc;
    sample_latent(m, d, o->sample, o->noise_seed, o->noise_step);
    decoder_forward(m, m->z, (int)d->num_docs);
    memset(s, 0, sizeof *s);
    for (int64_t r = 0; r < d->num_docs; r++) {
        m->recon[r] = doc_recon(m, d, r);
        m->kl[r] = doc_kl(m, r);
        s->recon += m->recon[r];
        s->kl += m->kl[r];
        s->tokens += doc_tokens(d, r);
    }
    s->units = (double)d->num_docs;
    s->loss = s->recon + o->beta * s->kl;
    return VAE_OK;
}

/* d logits = scale * (N_d softmax(logits_d) - n_d): the dense part from the row's normalizer, the
 * counts subtracted at the document's non-zeros only. The output bias gradient is summed in the
 * same pass over the row. */
static void logits_backward(bow_model *m, const vae_docs *d, float scale)
{
    const int64_t V = m->cfg.vocab_size;
    float *dbias = Bias(m, m->base.grads, out_layer(&m->cfg));
    for (int64_t r = 0; r < d->num_docs; r++) {
        float *row = m->logits + (size_t)r * (size_t)V;
        const float tokens = (float)doc_tokens(d, r);
        vexp_shifted(row, row, m->lse[r], scale * tokens, V);
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
            row[d->indices[k]] -= scale * (float)d->counts[k];
        for (int64_t v = 0; v < V; v++)
            dbias[v] += row[v];
    }
}

static void bow_backward(vae_model *vm, const vae_batch *b, const vae_step_opts *o)
{
    bow_model *m = bow(vm);
    const vae_docs *d = b->docs;
    const vae_bow_config *c = &m->cfg;
    const int B = (int)d->num_docs, L = c->latent;
    if (B == 0) {
        memset(m->base.grads, 0, sizeof(float) * m->base.layout.num_params);
        return;
    }
    /* The dense layers write their gradients; the two that accumulate over documents start at
     * zero: the output bias (summed row by row below) and enc.0.weight (rows scattered per word). */
    const vae_tensor *first = &m->base.layout.tensors[2 * enc_layer(0)];
    memset(m->base.grads + first->offset, 0, sizeof(float) * first->size);
    memset(Bias(m, m->base.grads, out_layer(c)), 0, sizeof(float) * (size_t)c->vocab_size);
    logits_backward(m, d, o->scale);

    /* Decoder, top down: gout holds the gradient of the current layer's output. */
    float *gout = m->grad_a, *gin = m->grad_b;
    const float *in = c->num_dec ? m->dec[c->num_dec - 1] : m->z;
    int I = c->num_dec ? c->dec_hidden[c->num_dec - 1] : L;
    memset(gout, 0, sizeof(float) * (size_t)B * (size_t)I);
    dense_backward(m, out_layer(c), gout, NULL, m->logits, in, B, I, (int)c->vocab_size);
    for (int i = c->num_dec - 1; i >= 0; i--) {
        const int O = c->dec_hidden[i];
        I = i ? c->dec_hidden[i - 1] : L;
        in = i ? m->dec[i - 1] : m->z;
        activation_backward(gout, m->dec[i], (size_t)B * (size_t)O, c->activation);
        memset(gin, 0, sizeof(float) * (size_t)B * (size_t)I);
        dense_backward(m, dec_layer(c, i), gin, Bias(m, m->base.grads, dec_layer(c, i)), gout, in, B, I, O);
        float *t = gout;
        gout = gin;
        gin = t;
    }

    /* gout = dz. Through the reparameterization and the KL term:
     * dmu = dz + beta*scale*mu, dlogvar = dz*eps*exp(lv/2)/2 + beta*scale*(exp(lv) - 1)/2. */
    const float kl_scale = o->beta * o->scale;
    float *dmu = gout;
    for (int i = 0; i < B * L; i++) {
        const float sd = expf(0.5f * m->logvar[i]);
        m->dlogvar[i] = 0.5f * gout[i] * m->eps[i] * sd + 0.5f * kl_scale * (sd * sd - 1.0f);
        dmu[i] = gout[i] + kl_scale * m->mu[i];
    }

    const int H = c->enc_hidden[c->num_enc - 1];
    const float *h = m->enc[c->num_enc - 1];
    float *dh = gin;
    memset(dh, 0, sizeof(float) * (size_t)B * (size_t)H);
    dense_backward(m, mu_layer(c), dh, Bias(m, m->base.grads, mu_layer(c)), dmu, h, B, H, L);
    dense_backward(m, logvar_layer(c), dh, Bias(m, m->base.grads, logvar_layer(c)), m->dlogvar, h, B, H, L);

    gout = dh;
    gin = dmu;
    for (int i = c->num_enc - 1; i >= 1; i--) {
        const int O = c->enc_hidden[i], Ii = c->enc_hidden[i - 1];
        activation_backward(gout, m->enc[i], (size_t)B * (size_t)O, c->activation);
        memset(gin, 0, sizeof(float) * (size_t)B * (size_t)Ii);
        dense_backward(m, enc_layer(i), gin, Bias(m, m->base.grads, enc_layer(i)), gout, m->enc[i - 1], B, Ii, O);
        float *t = gout;
        gout = gin;
        gin = t;
    }
    activation_backward(gout, m->enc[0], (size_t)B * (size_t)c->enc_hidden[0], c->activation);
    sparse_linear_backward(W(m, m->base.grads, enc_layer(0)), Bias(m, m->base.grads, enc_layer(0)), gout, d, m->xval,
                           c->enc_hidden[0]);
}

static size_t bow_eval_sums_len(const vae_model *m) { return VAE_SUM_FIXED + 2 * (size_t)m->latent; }

static int bow_eval(vae_model *vm, const vae_batch *b, int samples, uint64_t eval_seed, double *sums)
{
    bow_model *m = bow(vm);
    const vae_docs *d = b->docs;
    const int L = m->cfg.latent, B = (int)d->num_docs;
    int rc = encoder_forward(m, d);
    if (rc != VAE_OK)
        return rc;
    for (int r = 0; r < B; r++)
        m->recon[r] = 0.0;
    for (int s = 0; s < samples; s++) {
        sample_latent(m, d, 1, eval_seed, (uint64_t)s);
        decoder_forward(m, m->z, B);
        for (int r = 0; r < B; r++)
            m->recon[r] += doc_recon(m, d, r) / samples;
    }
    decoder_forward(m, m->mu, B);
    for (int r = 0; r < B; r++)
        bow_eval_add(sums, L, m->mu + r * L, doc_tokens(d, r), m->recon[r], doc_kl(m, r), doc_recon(m, d, r));
    return VAE_OK;
}

static int bow_encode(vae_model *vm, const vae_batch *b, float *mu, float *logvar)
{
    bow_model *m = bow(vm);
    const size_t n = (size_t)b->docs->num_docs * (size_t)m->cfg.latent;
    int rc = encoder_forward(m, b->docs);
    if (rc == VAE_OK) {
        memcpy(mu, m->mu, n * sizeof *mu);
        memcpy(logvar, m->logvar, n * sizeof *logvar);
    }
    return rc;
}

static int bow_decode(vae_model *vm, const float *z, int n, float *logp)
{
    bow_model *m = bow(vm);
    const int64_t V = m->cfg.vocab_size;
    decoder_forward(m, z, n);
    for (int r = 0; r < n; r++)
        for (int64_t v = 0; v < V; v++)
            logp[(size_t)r * (size_t)V + v] = m->logits[(size_t)r * (size_t)V + v] - m->lse[r];
    return VAE_OK;
}

const vae_family vae_family_bow = {
    .name = "bow",
    .unit = VAE_UNIT_DOCS,
    .settings = bow_settings,
    .num_settings = NUM_SETTINGS,
    .layout = bow_layout,
    .create = bow_create,
    .destroy = bow_destroy,
    .init_params = bow_init_params,
    .forward = bow_forward,
    .backward = bow_backward,
    .eval_sums_len = bow_eval_sums_len,
    .eval = bow_eval,
    .figures = bow_figures,
    .encode = bow_encode,
    .decode = bow_decode,
};
