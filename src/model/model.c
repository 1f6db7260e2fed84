/* The VAE of SPEC.md: layout of the flat parameter buffer, forward and backward passes over a
 * sparse batch, and the evaluation sums behind every figure. */
#include "vae/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "vae/rng.h"

const char *const vae_activation_names[] = {"relu", "tanh", "softplus", NULL};
const char *const vae_input_transform_names[] = {"log1p", "counts", "l1", NULL};

struct vae_model {
    vae_model_config cfg;
    vae_layout layout;
    int max_batch, grad_extra, width; /* width: the widest hidden layer or latent */
    int64_t cap_nnz;
    float *params, *grads;
    int owns_buffers; /* 0: params and grads are the caller's (vae_model_new_on) */
    /* Activations, each [max_batch, its width]; enc[0] is the sparse layer's output. */
    float *xval; /* [cap_nnz] transformed counts */
    float *enc[VAE_MAX_HIDDEN], *dec[VAE_MAX_HIDDEN];
    float *mu, *logvar, *eps, *z; /* [max_batch, L] */
    float *logits;                /* [max_batch, V]; gradient of the logits after backward */
    float *lse;                   /* [max_batch] log-normalizer of each row */
    double *recon, *kl;           /* [max_batch] per document, from the last forward */
    float *grad_a, *grad_b;       /* [max_batch, width] gradients flowing down the layers */
    float *dlogvar;               /* [max_batch, L] */
};

void vae_model_config_default(vae_model_config *cfg, int64_t V)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab_size = V;
    cfg->latent = 32;
    cfg->num_enc = 2;
    cfg->enc_hidden[0] = 128, cfg->enc_hidden[1] = 64;
    cfg->num_dec = 2;
    cfg->dec_hidden[0] = 64, cfg->dec_hidden[1] = 128;
    cfg->activation = VAE_ACT_RELU;
    cfg->input = VAE_INPUT_LOG1P;
}

static void add_tensor(vae_layout *l, const char *name, int64_t rows, int64_t cols, int transposed)
{
    vae_tensor *t = &l->tensors[l->num_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->transposed = transposed;
    t->offset = l->num_params;
    t->size = (size_t)rows * (size_t)(cols ? cols : 1);
    /* 16-float alignment keeps every view on a 64-byte boundary for the vector loops. */
    l->num_params += (t->size + 15) & ~(size_t)15;
}

static void add_linear(vae_layout *l, const char *prefix, int64_t out, int64_t in, int transposed)
{
    char name[32];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_tensor(l, name, out, in, transposed);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add_tensor(l, name, out, 0, 0);
}

int vae_layout_compute(const vae_model_config *c, vae_layout *l)
{
    if (c->vocab_size < 1 || c->vocab_size > (1LL << 31) - 1)
        return vae_fail(VAE_ERR_ARG, "vocabulary size %lld is not in [1, 2^31)", (long long)c->vocab_size);
    if (c->latent < 1 || c->latent > 1 << 16)
        return vae_fail(VAE_ERR_ARG, "--latent %d is not in [1, 65536]", c->latent);
    if (c->num_enc < 1 || c->num_enc > VAE_MAX_HIDDEN)
        return vae_fail(VAE_ERR_ARG, "--encoder-hidden needs 1 to %d layers, not %d", VAE_MAX_HIDDEN, c->num_enc);
    if (c->num_dec < 0 || c->num_dec > VAE_MAX_HIDDEN)
        return vae_fail(VAE_ERR_ARG, "--decoder-hidden takes at most %d layers, not %d", VAE_MAX_HIDDEN, c->num_dec);
    for (int i = 0; i < c->num_enc; i++)
        if (c->enc_hidden[i] < 1 || c->enc_hidden[i] > 1 << 16)
            return vae_fail(VAE_ERR_ARG, "--encoder-hidden: layer %d has size %d, not in [1, 65536]", i, c->enc_hidden[i]);
    for (int i = 0; i < c->num_dec; i++)
        if (c->dec_hidden[i] < 1 || c->dec_hidden[i] > 1 << 16)
            return vae_fail(VAE_ERR_ARG, "--decoder-hidden: layer %d has size %d, not in [1, 65536]", i, c->dec_hidden[i]);
    memset(l, 0, sizeof *l);
    char prefix[16];
    int64_t in = c->vocab_size;
    for (int i = 0; i < c->num_enc; i++) {
        snprintf(prefix, sizeof prefix, "enc.%d", i);
        add_linear(l, prefix, c->enc_hidden[i], in, i == 0);
        in = c->enc_hidden[i];
    }
    add_linear(l, "enc.mu", c->latent, in, 0);
    add_linear(l, "enc.logvar", c->latent, in, 0);
    in = c->latent;
    for (int i = 0; i < c->num_dec; i++) {
        snprintf(prefix, sizeof prefix, "dec.%d", i);
        add_linear(l, prefix, c->dec_hidden[i], in, 0);
        in = c->dec_hidden[i];
    }
    /* The output weight is held [last, V]: at a rank's batch of 128 its three GEMMs ran faster in
     * that form (docs/PERFORMANCE.md). Files keep [V, last]. */
    add_linear(l, "dec.out", c->vocab_size, in, 1);
    return VAE_OK;
}

size_t vae_tensor_index(const vae_tensor *t, int64_t r, int64_t c)
{
    if (t->transposed)
        return t->offset + (size_t)c * (size_t)t->rows + (size_t)r;
    return t->offset + (size_t)r * (size_t)(t->cols ? t->cols : 1) + (size_t)c;
}

void vae_tensor_from_rows(const vae_tensor *t, const float *rows, float *base)
{
    if (!t->transposed) {
        memcpy(base + t->offset, rows, t->size * sizeof *rows);
        return;
    }
    for (int64_t r = 0; r < t->rows; r++)
        for (int64_t c = 0; c < t->cols; c++)
            base[vae_tensor_index(t, r, c)] = rows[r * t->cols + c];
}

void vae_tensor_to_rows(const vae_tensor *t, const float *base, float *rows)
{
    if (!t->transposed) {
        memcpy(rows, base + t->offset, t->size * sizeof *rows);
        return;
    }
    for (int64_t r = 0; r < t->rows; r++)
        for (int64_t c = 0; c < t->cols; c++)
            rows[r * t->cols + c] = base[vae_tensor_index(t, r, c)];
}

const vae_tensor *vae_layout_find(const vae_layout *l, const char *name)
{
    for (int i = 0; i < l->num_tensors; i++)
        if (strcmp(l->tensors[i].name, name) == 0)
            return &l->tensors[i];
    return NULL;
}

/* Tensor indices in SPEC's order: weight of layer k at 2k, its bias at 2k + 1. */
static int enc_layer(int i) { return i; }
static int mu_layer(const vae_model_config *c) { return c->num_enc; }
static int logvar_layer(const vae_model_config *c) { return c->num_enc + 1; }
static int dec_layer(const vae_model_config *c, int i) { return c->num_enc + 2 + i; }
static int out_layer(const vae_model_config *c) { return c->num_enc + 2 + c->num_dec; }

static float *W(const vae_model *m, float *base, int layer) { return base + m->layout.tensors[2 * layer].offset; }
static float *Bias(const vae_model *m, float *base, int layer) { return base + m->layout.tensors[2 * layer + 1].offset; }
/* A dense layer's forward and backward pass over the model's buffers, in whichever form the layout
 * holds its weight (the output layer's is [in, out]: see vae_layout_compute). */
static void dense_forward(vae_model *m, int layer, float *out, const float *in, const float *bias, int B, int In,
                          int O)
{
    linear_forward(out, in, W(m, m->params, layer), m->layout.tensors[2 * layer].transposed, bias, B, In, O);
}

static void dense_backward(vae_model *m, int layer, float *din, float *db, const float *dout, const float *in,
                           int B, int In, int O)
{
    linear_backward(din, W(m, m->grads, layer), db, dout, in, W(m, m->params, layer),
                    m->layout.tensors[2 * layer].transposed, B, In, O);
}

void vae_model_free(vae_model *m)
{
    if (!m)
        return;
    if (m->owns_buffers) {
        free(m->params);
        free(m->grads);
    }
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

int vae_model_new(vae_model **out, const vae_model_config *cfg, int max_batch, int grad_extra)
{
    return vae_model_new_on(out, cfg, max_batch, grad_extra, NULL, NULL);
}

int vae_model_new_on(vae_model **out, const vae_model_config *cfg, int max_batch, int grad_extra, float *params,
                     float *grads)
{
    *out = NULL;
    vae_model *m = NULL;
    int rc = VAE_OK;
    if (max_batch < 1 || grad_extra < 0)
        return vae_fail(VAE_ERR_ARG, "model batch capacity %d must be positive", max_batch);
    m = calloc(1, sizeof *m);
    if (!m)
        return vae_fail(VAE_ERR_NOMEM, "out of memory allocating the model");
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->grad_extra = grad_extra;
    if ((rc = vae_layout_compute(cfg, &m->layout)) != VAE_OK)
        goto cleanup;
    const size_t B = (size_t)max_batch, L = (size_t)cfg->latent, V = (size_t)cfg->vocab_size;
    m->width = cfg->latent;
    for (int i = 0; i < cfg->num_enc; i++)
        m->width = cfg->enc_hidden[i] > m->width ? cfg->enc_hidden[i] : m->width;
    for (int i = 0; i < cfg->num_dec; i++)
        m->width = cfg->dec_hidden[i] > m->width ? cfg->dec_hidden[i] : m->width;
    m->owns_buffers = !params;
    m->params = params ? params : alloc_floats(m->layout.num_params);
    m->grads = grads ? grads : alloc_floats(m->layout.num_params + (size_t)grad_extra);
    int ok = m->params && m->grads;
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
    if (!ok) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = vae_model_reserve(m, 64 * (int64_t)max_batch)) != VAE_OK)
        goto cleanup;
    *out = m;
    m = NULL;
cleanup:
    vae_model_free(m);
    return rc;
}

int vae_model_reserve(vae_model *m, int64_t max_nnz)
{
    if (max_nnz <= m->cap_nnz)
        return VAE_OK;
    float *x = realloc(m->xval, sizeof(float) * (size_t)max_nnz);
    if (!x)
        return vae_fail(VAE_ERR_NOMEM, "out of memory for a batch of %lld non-zeros", (long long)max_nnz);
    m->xval = x;
    m->cap_nnz = max_nnz;
    return VAE_OK;
}

const vae_model_config *vae_model_config_of(const vae_model *m) { return &m->cfg; }
const vae_layout *vae_model_layout(const vae_model *m) { return &m->layout; }
float *vae_model_params(vae_model *m) { return m->params; }
float *vae_model_grads(vae_model *m) { return m->grads; }
size_t vae_model_num_params(const vae_model *m) { return m->layout.num_params; }
int vae_model_max_batch(const vae_model *m) { return m->max_batch; }
const float *vae_model_mu(const vae_model *m) { return m->mu; }
const float *vae_model_logvar(const vae_model *m) { return m->logvar; }

void vae_model_init_params(vae_model *m, uint64_t seed)
{
    memset(m->params, 0, sizeof(float) * m->layout.num_params);
    double u[256];
    for (int t = 0; t < m->layout.num_tensors; t++) {
        const vae_tensor *weight = &m->layout.tensors[t - t % 2];
        const vae_tensor *tt = &m->layout.tensors[t];
        const double bound = 1.0 / sqrt((double)weight->cols);
        for (size_t i = 0; i < tt->size; i += 256) {
            const size_t n = tt->size - i < 256 ? tt->size - i : 256;
            vae_uniforms(seed, (uint64_t)t, i / 256, u, (int64_t)n);
            /* Keyed by the element's [rows, cols] position, wherever the layout keeps it. */
            for (size_t j = 0; j < n; j++) {
                const size_t e = i + j, cols = (size_t)(tt->cols ? tt->cols : 1);
                m->params[vae_tensor_index(tt, (int64_t)(e / cols), (int64_t)(e % cols))] =
                    (float)((2.0 * u[j] - 1.0) * bound);
            }
        }
    }
}

static int check_batch(const vae_model *m, const vae_docs *d)
{
    if (d->num_docs > m->max_batch)
        return vae_fail(VAE_ERR_ARG, "batch of %lld documents exceeds the model's capacity %d",
                        (long long)d->num_docs, m->max_batch);
    return VAE_OK;
}

/* mu and logvar of every document of the batch. */
static int encoder_forward(vae_model *m, const vae_docs *d)
{
    const vae_model_config *c = &m->cfg;
    const int B = (int)d->num_docs;
    int rc = vae_model_reserve(m, d->nnz);
    if (rc != VAE_OK)
        return rc;
    input_transform_forward(m->xval, d, c->input);
    sparse_linear_forward(m->enc[0], d, m->xval, W(m, m->params, enc_layer(0)),
                          Bias(m, m->params, enc_layer(0)), c->enc_hidden[0]);
    activation_forward(m->enc[0], (size_t)B * (size_t)c->enc_hidden[0], c->activation);
    for (int i = 1; i < c->num_enc; i++) {
        dense_forward(m, enc_layer(i), m->enc[i], m->enc[i - 1], Bias(m, m->params, enc_layer(i)), B,
                      c->enc_hidden[i - 1], c->enc_hidden[i]);
        activation_forward(m->enc[i], (size_t)B * (size_t)c->enc_hidden[i], c->activation);
    }
    const float *h = m->enc[c->num_enc - 1];
    const int H = c->enc_hidden[c->num_enc - 1];
    dense_forward(m, mu_layer(c), m->mu, h, Bias(m, m->params, mu_layer(c)), B, H, c->latent);
    dense_forward(m, logvar_layer(c), m->logvar, h, Bias(m, m->params, logvar_layer(c)), B, H, c->latent);
    return VAE_OK;
}

/* z = mu + exp(logvar / 2) * eps with eps of document d from the stream (seed, step, d);
 * sample = 0 gives z = mu and eps = 0. */
static void sample_latent(vae_model *m, const vae_docs *d, int sample, uint64_t seed, uint64_t step)
{
    const int L = m->cfg.latent;
    for (int64_t r = 0; r < d->num_docs; r++) {
        float *eps = m->eps + r * L, *z = m->z + r * L;
        const float *mu = m->mu + r * L, *lv = m->logvar + r * L;
        if (sample)
            vae_normals(seed, step, (uint64_t)d->doc_index[r], eps, L);
        else
            memset(eps, 0, sizeof(float) * (size_t)L);
        for (int u = 0; u < L; u++)
            z[u] = mu[u] + expf(0.5f * lv[u]) * eps[u];
    }
}

/* Decoder from z[n, L] to logits[n, V] and each row's log-normalizer. */
static void decoder_forward(vae_model *m, const float *z, int n)
{
    const vae_model_config *c = &m->cfg;
    const float *in = z;
    int I = c->latent;
    for (int i = 0; i < c->num_dec; i++) {
        dense_forward(m, dec_layer(c, i), m->dec[i], in, Bias(m, m->params, dec_layer(c, i)), n, I,
                      c->dec_hidden[i]);
        activation_forward(m->dec[i], (size_t)n * (size_t)c->dec_hidden[i], c->activation);
        in = m->dec[i];
        I = c->dec_hidden[i];
    }
    const int64_t V = c->vocab_size;
    dense_forward(m, out_layer(c), m->logits, in, NULL, n, I, (int)V);
    const float *bias = Bias(m, m->params, out_layer(c));
    for (int r = 0; r < n; r++)
        m->lse[r] = logsumexp_row(m->logits + (size_t)r * (size_t)V, bias, V);
}

/* -sum_w n_dw log p(w | z_d) = N_d lse_d - sum_w n_dw logit_dw, in double. */
static double doc_recon(const vae_model *m, const vae_docs *d, int64_t r)
{
    const float *logit = m->logits + (size_t)r * (size_t)m->cfg.vocab_size;
    double tokens = 0.0, dot = 0.0;
    for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++) {
        tokens += d->counts[k];
        dot += (double)d->counts[k] * logit[d->indices[k]];
    }
    return tokens * m->lse[r] - dot;
}

static double doc_kl(const vae_model *m, int64_t r)
{
    const int L = m->cfg.latent;
    const float *mu = m->mu + r * L, *lv = m->logvar + r * L;
    double s = 0.0;
    for (int u = 0; u < L; u++)
        s += 1.0 + lv[u] - (double)mu[u] * mu[u] - exp((double)lv[u]);
    return -0.5 * s;
}

static double doc_tokens(const vae_docs *d, int64_t r)
{
    double n = 0.0;
    for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
        n += d->counts[k];
    return n;
}

int vae_model_forward(vae_model *m, const vae_docs *d, const vae_step_opts *o, vae_loss_sums *s)
{
    int rc = check_batch(m, d);
    if (rc != VAE_OK || (rc = encoder_forward(m, d)) != VAE_OK)
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
    s->docs = (double)d->num_docs;
    s->loss = s->recon + o->beta * s->kl;
    return VAE_OK;
}

/* d logits = scale * (N_d softmax(logits_d) - n_d): the dense part from the row's normalizer, the
 * counts subtracted at the document's non-zeros only. The output bias gradient is summed in the
 * same pass over the row. */
static void logits_backward(vae_model *m, const vae_docs *d, float scale)
{
    const int64_t V = m->cfg.vocab_size;
    float *dbias = Bias(m, m->grads, out_layer(&m->cfg));
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

void vae_model_backward(vae_model *m, const vae_docs *d, const vae_step_opts *o)
{
    const vae_model_config *c = &m->cfg;
    const int B = (int)d->num_docs, L = c->latent;
    if (B == 0) {
        memset(m->grads, 0, sizeof(float) * m->layout.num_params);
        return;
    }
    /* The dense layers write their gradients; the two that accumulate over documents start at
     * zero: the output bias (summed row by row below) and enc.0.weight (rows scattered per word). */
    const vae_tensor *first = &m->layout.tensors[2 * enc_layer(0)];
    memset(m->grads + first->offset, 0, sizeof(float) * first->size);
    memset(Bias(m, m->grads, out_layer(c)), 0, sizeof(float) * (size_t)c->vocab_size);
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
        dense_backward(m, dec_layer(c, i), gin, Bias(m, m->grads, dec_layer(c, i)), gout, in, B, I, O);
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
    dense_backward(m, mu_layer(c), dh, Bias(m, m->grads, mu_layer(c)), dmu, h, B, H, L);
    dense_backward(m, logvar_layer(c), dh, Bias(m, m->grads, logvar_layer(c)), m->dlogvar, h, B, H, L);

    gout = dh;
    gin = dmu;
    for (int i = c->num_enc - 1; i >= 1; i--) {
        const int O = c->enc_hidden[i], Ii = c->enc_hidden[i - 1];
        activation_backward(gout, m->enc[i], (size_t)B * (size_t)O, c->activation);
        memset(gin, 0, sizeof(float) * (size_t)B * (size_t)Ii);
        dense_backward(m, enc_layer(i), gin, Bias(m, m->grads, enc_layer(i)), gout, m->enc[i - 1], B, Ii, O);
        float *t = gout;
        gout = gin;
        gin = t;
    }
    activation_backward(gout, m->enc[0], (size_t)B * (size_t)c->enc_hidden[0], c->activation);
    sparse_linear_backward(W(m, m->grads, enc_layer(0)), Bias(m, m->grads, enc_layer(0)), gout, d, m->xval,
                           c->enc_hidden[0]);
}

size_t vae_eval_sums_len(int latent) { return VAE_SUM_FIXED + 2 * (size_t)latent; }

int vae_model_eval(vae_model *m, const vae_docs *d, int samples, uint64_t eval_seed, double *sums)
{
    const int L = m->cfg.latent, B = (int)d->num_docs;
    int rc = check_batch(m, d);
    if (rc != VAE_OK || (rc = encoder_forward(m, d)) != VAE_OK)
        return rc;
    if (samples < 1)
        return vae_fail(VAE_ERR_ARG, "evaluation needs at least one sample, not %d", samples);
    for (int r = 0; r < B; r++)
        m->recon[r] = 0.0;
    for (int s = 0; s < samples; s++) {
        sample_latent(m, d, 1, eval_seed, (uint64_t)s);
        decoder_forward(m, m->z, B);
        for (int r = 0; r < B; r++)
            m->recon[r] += doc_recon(m, d, r) / samples;
    }
    decoder_forward(m, m->mu, B);
    double *mu_sum = sums + VAE_SUM_FIXED, *mu_sq = mu_sum + L;
    for (int r = 0; r < B; r++) {
        const double tokens = doc_tokens(d, r);
        if (tokens == 0.0) {
            sums[VAE_SUM_EMPTY_DOCS] += 1.0;
            continue;
        }
        const double kl = doc_kl(m, r), neg_elbo = m->recon[r] + kl;
        sums[VAE_SUM_DOCS] += 1.0;
        sums[VAE_SUM_TOKENS] += tokens;
        sums[VAE_SUM_RECON] += m->recon[r];
        sums[VAE_SUM_KL] += kl;
        sums[VAE_SUM_RECON_MEAN] += doc_recon(m, d, r);
        sums[VAE_SUM_NEG_ELBO] += neg_elbo;
        sums[VAE_SUM_NEG_ELBO_PER_TOKEN] += neg_elbo / tokens;
        for (int u = 0; u < L; u++) {
            const double x = m->mu[r * L + u];
            mu_sum[u] += x;
            mu_sq[u] += x * x;
        }
    }
    return VAE_OK;
}

int vae_model_decode(vae_model *m, const float *z, int n, float *logp)
{
    if (n > m->max_batch)
        return vae_fail(VAE_ERR_ARG, "decoding %d latent vectors exceeds the model's capacity %d", n, m->max_batch);
    const int64_t V = m->cfg.vocab_size;
    decoder_forward(m, z, n);
    for (int r = 0; r < n; r++)
        for (int64_t v = 0; v < V; v++)
            logp[(size_t)r * (size_t)V + v] = m->logits[(size_t)r * (size_t)V + v] - m->lse[r];
    return VAE_OK;
}
