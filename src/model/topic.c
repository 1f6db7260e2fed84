/* The family topic (SPEC.md "Model families"), ProdLDA in the manner of Srivastava and Sutton 2017:
 * the encoder reads a document's counts through softplus layers into mu and logvar, each batch
 * normalized; z = mu + sigma eps, theta = softmax(z) with dropout in training, and the decoder's
 * logits are the topic-word matrix times theta, batch normalized, under a log-softmax. The KL is
 * against the Laplace approximation of a Dirichlet prior. Batch statistics are the global batch's
 * (vae_step_opts.reduce), so the model is the same on any number of ranks; their running averages
 * are the family's running statistics, which evaluation and inference use. */
#include "topic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bow.h"
#include "model_base.h"
#include "vae/rng.h"

const char *const topic_word_counts_names[] = {"presence", "counts", NULL};

enum { S_LATENT, S_ENC, S_INPUT, S_ALPHA, S_DROPOUT, S_WORD_COUNTS, NUM_SETTINGS };
_Static_assert(TOPIC_MAX_HIDDEN <= VAE_MAX_LIST, "a hidden-layer list fits a setting");

static const vae_setting_spec topic_settings[NUM_SETTINGS] = {
    [S_LATENT] = {.key = "latent", .kind = VAE_SETTING_INT, .default_text = "20", .lo = 2, .hi = 1 << 16},
    [S_ENC] = {.key = "encoder_hidden", .kind = VAE_SETTING_LIST, .default_text = "100,100", .lo = 1,
               .hi = 1 << 16, .min_count = 1, .max_count = TOPIC_MAX_HIDDEN},
    [S_INPUT] = {.key = "input_transform", .kind = VAE_SETTING_CHOICE, .default_text = "counts",
                 .choices = vae_input_transform_names},
    [S_ALPHA] = {.key = "dirichlet_alpha", .kind = VAE_SETTING_REAL, .default_text = "0.5", .real_lo = 1e-3,
                 .real_hi = 1e3},
    [S_DROPOUT] = {.key = "dropout", .kind = VAE_SETTING_REAL, .default_text = "0.2", .real_lo = 0.0,
                   .real_hi = 0.9},
    /* Checkpoints written before the setting existed read the counts, as they were trained. */
    [S_WORD_COUNTS] = {.key = "word_counts", .kind = VAE_SETTING_CHOICE, .default_text = "presence",
                       .absent_text = "counts", .choices = topic_word_counts_names},
};

/* vae-dist's defaults for this family, measured on the emails and the speeches at K = 20 and 50
 * (README "Topics", bench/compare_lda.sh): batches of 64 at learning rate 3.5e-3 for 16 epochs.
 * Against 20 epochs at 2e-3, over seeds 1-5 on the emails, mean NPMI went 0.593 -> 0.628 at K = 20
 * and 0.577 -> 0.520 at K = 50 (seeds 1-3 on the speeches: 0.235 -> 0.196, 0.201 -> 0.186, still
 * twice LDA's), for a fifth less time, which the speeches' 50 topics need to train in a third of
 * LDA's time on two shared cores; 18 epochs at 3e-3 gave 0.577 and 0.547 on the emails; batches of
 * 128 lost 0.05 even at 4e-3. With word_counts presence, alpha 0.5: at 0.1 the speeches' 50 topics
 * repeat one another (diversity 0.33, under LDA's 0.38), at 1 they lose their coherence (NPMI
 * 0.05), and 0.3 lost 0.1 on the emails at K = 20. */
static const char *const topic_train_defaults[] = {"epochs", "16", "batch-size", "64", "lr", "0.0035", NULL};

/* The running statistics' names, in the order of topic.h's enum. */
static const char *const stat_names[TOPIC_NUM_STATS] = {
    "enc.mu_bn.running_mean",     "enc.mu_bn.running_var", "enc.logvar_bn.running_mean",
    "enc.logvar_bn.running_var", "dec.bn.running_mean",   "dec.bn.running_var"};

/* The three normalizations: of mu, of logvar, of the decoder's logits. */
enum { BN_MU, BN_LV, BN_DEC, NUM_BN };

typedef struct {
    vae_model base;
    vae_topic_config cfg;
    double *prior_mu, *prior_var; /* [K] */
    int width;                    /* the widest hidden layer or K */
    int64_t cap_nnz;
    float *xval;                   /* [cap_nnz] transformed counts */
    float *enc[TOPIC_MAX_HIDDEN];  /* [max_batch, hidden] */
    float *mu_x, *lv_x;            /* [max_batch, K] before normalization; their gradients in backward */
    float *mu_hat, *lv_hat;        /* normalized */
    float *mu, *logvar, *eps, *z, *theta, *keep, *theta_d, *dtheta; /* [max_batch, K] */
    float *dec_hat, *logits;       /* [max_batch, V]; the gradient of the logits after backward */
    float *lse;                    /* [max_batch] */
    double *recon;                 /* [max_batch] evaluation's mean over samples */
    double *dy;                    /* [max_batch, max(V, 2K)] the gradient into a normalization */
    float *mean[NUM_BN], *inv_std[NUM_BN];
    double *sums;                  /* [max(4K + 1 + last hidden, 2V)] the step's sums over the global batch */
    double *uniforms;              /* [K] */
    double n;                      /* documents in the last forward's global batch */
    float *h_mean;                 /* [last hidden] the last hidden layer's mean over the global batch */
    vae_docs seen;                 /* word_counts presence: the batch's rows with every count 1 */
    int32_t *ones;                 /* [cap_ones] the counts of seen */
    int64_t cap_ones;
    float *grad_a, *grad_b;        /* [max_batch, width] */
} topic_model;

static topic_model *topic(vae_model *m) { return (topic_model *)m; }

void vae_topic_config_of(const vae_model_config *c, vae_topic_config *out)
{
    const vae_setting_value *v = c->values;
    memset(out, 0, sizeof *out);
    out->vocab_size = c->vocab_size;
    out->topics = (int)v[S_LATENT].num;
    out->num_enc = (int)v[S_ENC].num;
    for (int i = 0; i < out->num_enc; i++)
        out->enc_hidden[i] = (int)v[S_ENC].list[i];
    out->input = (vae_input_transform)v[S_INPUT].num;
    out->alpha = v[S_ALPHA].real;
    out->dropout = v[S_DROPOUT].real;
    out->presence = v[S_WORD_COUNTS].num == 0;
}

void topic_prior(const double *alpha, int K, double *mu0, double *var0)
{
    double mean_log = 0.0, inv_sum = 0.0;
    for (int k = 0; k < K; k++) {
        mean_log += log(alpha[k]) / K;
        inv_sum += 1.0 / alpha[k];
    }
    for (int k = 0; k < K; k++) {
        mu0[k] = log(alpha[k]) - mean_log;
        var0[k] = (1.0 / alpha[k]) * (1.0 - 2.0 / K) + inv_sum / ((double)K * K);
    }
}

/* Tensor indices: encoder layer i at 2i (weight), 2i + 1 (bias), then the heads and the decoder. */
enum { T_MU, T_MU_BN, T_LV, T_LV_BN, T_TOPICS, T_DEC_BN };
static int tensor(const vae_topic_config *c, int which) { return 2 * c->num_enc + which; }

static int topic_layout(const vae_model_config *mc, vae_layout *l, vae_layout *state)
{
    vae_topic_config c;
    vae_topic_config_of(mc, &c);
    if (c.vocab_size < 1 || c.vocab_size > (1LL << 31) - 1)
        return vae_fail(VAE_ERR_ARG, "vocabulary size %lld is not in [1, 2^31)", (long long)c.vocab_size);
    memset(l, 0, sizeof *l);
    memset(state, 0, sizeof *state);
    char name[32];
    int64_t in = c.vocab_size;
    for (int i = 0; i < c.num_enc; i++) {
        snprintf(name, sizeof name, "enc.%d.weight", i);
        layout_add(l, name, c.enc_hidden[i], in, i == 0); /* word-major, as bow's first layer */
        snprintf(name, sizeof name, "enc.%d.bias", i);
        layout_add(l, name, c.enc_hidden[i], 0, 0);
        in = c.enc_hidden[i];
    }
    /* The heads have no bias of their own: the normalization after them would cancel it. */
    layout_add(l, "enc.mu.weight", c.topics, in, 0);
    layout_add(l, "enc.mu_bn.bias", c.topics, 0, 0);
    layout_add(l, "enc.logvar.weight", c.topics, in, 0);
    layout_add(l, "enc.logvar_bn.bias", c.topics, 0, 0);
    layout_add(l, "dec.topics.weight", c.vocab_size, c.topics, 0);
    layout_add(l, "dec.bn.bias", c.vocab_size, 0, 0);
    for (int s = 0; s < TOPIC_NUM_STATS; s++)
        layout_add(state, stat_names[s], s < TOPIC_DEC_MEAN ? c.topics : c.vocab_size, 0, 0);
    return VAE_OK;
}

static float *P(const topic_model *m, float *base, int t) { return base + m->base.layout.tensors[t].offset; }
static float *stat(const topic_model *m, int s) { return m->base.state + m->base.state_layout.tensors[s].offset; }

static void topic_destroy(vae_model *vm)
{
    topic_model *m = topic(vm);
    float **floats[] = {&m->xval,  &m->mu_x,   &m->lv_x,    &m->mu_hat, &m->lv_hat,  &m->mu,     &m->logvar,
                        &m->eps,   &m->z,      &m->theta,   &m->keep,   &m->theta_d, &m->dtheta, &m->dec_hat,
                        &m->logits, &m->lse,   &m->grad_a,  &m->grad_b};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        free(*floats[i]);
    for (int i = 0; i < TOPIC_MAX_HIDDEN; i++)
        free(m->enc[i]);
    for (int i = 0; i < NUM_BN; i++) {
        free(m->mean[i]);
        free(m->inv_std[i]);
    }
    free(m->prior_mu);
    free(m->prior_var);
    free(m->sums);
    free(m->recon);
    free(m->dy);
    free(m->uniforms);
    free(m->ones);
    free(m->h_mean);
    free(m);
}

static float *alloc_floats(size_t n) { return vae_calloc_array(n, sizeof(float)); }

static int topic_create(vae_model **out, const vae_model_config *mc, int max_batch)
{
    *out = NULL;
    topic_model *m = calloc(1, sizeof *m);
    if (!m)
        return vae_fail(VAE_ERR_NOMEM, "out of memory allocating the model");
    vae_topic_config_of(mc, &m->cfg);
    const vae_topic_config *c = &m->cfg;
    m->base.latent = c->topics;
    const size_t B = (size_t)max_batch, K = (size_t)c->topics, V = (size_t)c->vocab_size;
    m->width = c->topics;
    for (int i = 0; i < c->num_enc; i++)
        m->width = c->enc_hidden[i] > m->width ? c->enc_hidden[i] : m->width;
    int ok = 1;
    for (int i = 0; i < c->num_enc; i++)
        ok = ok && (m->enc[i] = alloc_floats(B * (size_t)c->enc_hidden[i]));
    float **per_unit[] = {&m->mu_x, &m->lv_x, &m->mu_hat, &m->lv_hat, &m->mu, &m->logvar,
                          &m->eps,  &m->z,    &m->theta,  &m->keep,   &m->theta_d, &m->dtheta};
    for (size_t i = 0; i < sizeof per_unit / sizeof per_unit[0]; i++)
        ok = ok && (*per_unit[i] = alloc_floats(B * K));
    for (int i = 0; i < NUM_BN; i++)
        ok = ok && (m->mean[i] = alloc_floats(i == BN_DEC ? V : K)) && (m->inv_std[i] = alloc_floats(i == BN_DEC ? V : K));
    const size_t H = (size_t)c->enc_hidden[c->num_enc - 1], num_sums = 4 * K + 1 + H > 2 * V ? 4 * K + 1 + H : 2 * V;
    ok = ok && (m->dec_hat = alloc_floats(B * V)) && (m->logits = alloc_floats(B * V)) && (m->lse = alloc_floats(B)) &&
         (m->grad_a = alloc_floats(B * (size_t)m->width)) && (m->grad_b = alloc_floats(B * (size_t)m->width)) &&
         (m->sums = vae_calloc_array(num_sums, sizeof(double))) && (m->recon = vae_calloc_array(B, sizeof(double))) &&
         (m->dy = vae_calloc_array(B * (V > 2 * K ? V : 2 * K), sizeof(double))) &&
         (m->uniforms = vae_calloc_array(K, sizeof(double))) && (m->h_mean = alloc_floats(H)) &&
         (m->prior_mu = vae_calloc_array(K, sizeof(double))) && (m->prior_var = vae_calloc_array(K, sizeof(double)));
    int rc = ok ? reserve_floats(&m->xval, &m->cap_nnz, 64 * (int64_t)max_batch) : VAE_ERR_NOMEM;
    if (rc != VAE_OK) {
        topic_destroy(&m->base);
        return rc;
    }
    /* The symmetric prior: every a_k = alpha (m->sums lends its room for the concentrations). */
    for (size_t k = 0; k < K; k++)
        m->sums[k] = c->alpha;
    topic_prior(m->sums, c->topics, m->prior_mu, m->prior_var);
    *out = &m->base;
    return VAE_OK;
}

/* nn.Linear's initialization for the layers; the normalizations' shifts at 0, their running
 * statistics at mean 0 and variance 1, as PyTorch's. */
static void topic_init_params(vae_model *vm, uint64_t seed)
{
    topic_model *m = topic(vm);
    const vae_layout *l = &vm->layout;
    memset(vm->params, 0, sizeof(float) * l->num_params);
    for (int t = 0; t < l->num_tensors; t++) {
        const int weight = t < 2 * m->cfg.num_enc ? t - t % 2 : t;
        if (l->tensors[weight].cols > 0)
            init_uniform(vm->params, &l->tensors[t], seed, (uint64_t)t, 1.0 / sqrt((double)l->tensors[weight].cols));
    }
    for (int s = 0; s < TOPIC_NUM_STATS; s++) {
        const vae_tensor *t = &vm->state_layout.tensors[s];
        for (size_t i = 0; i < t->size; i++)
            vm->state[t->offset + i] = s % 2 ? 1.0f : 0.0f;
    }
}

static int reduce(const vae_step_opts *o, double *buf, size_t n)
{
    return o && o->reduce ? o->reduce(buf, n, o->reduce_ctx) : VAE_OK;
}

/* The encoder up to mu and logvar before their normalization. Its dense layers go row by row:
 * softplus features share a large common part across documents, which the normalization of the
 * heads subtracts, so a GEMM's rounding that varies with the split of the batch would come out
 * amplified (2 ranks differed from 1 by 3e-4 after one step). */
static void encoder_forward(topic_model *m, const vae_docs *d)
{
    const vae_topic_config *c = &m->cfg;
    const int B = (int)d->num_docs;
    float *params = m->base.params;
    input_transform_forward(m->xval, d, c->input);
    sparse_linear_forward(m->enc[0], d, m->xval, P(m, params, 0), P(m, params, 1), c->enc_hidden[0]);
    activation_forward(m->enc[0], (size_t)B * (size_t)c->enc_hidden[0], VAE_ACT_SOFTPLUS);
    for (int i = 1; i < c->num_enc; i++) {
        linear_forward_rowwise(m->enc[i], m->enc[i - 1], P(m, params, 2 * i), P(m, params, 2 * i + 1), B,
                               c->enc_hidden[i - 1], c->enc_hidden[i]);
        activation_forward(m->enc[i], (size_t)B * (size_t)c->enc_hidden[i], VAE_ACT_SOFTPLUS);
    }
    const float *h = m->enc[c->num_enc - 1];
    const int H = c->enc_hidden[c->num_enc - 1];
    linear_forward_rowwise(m->mu_x, h, P(m, params, tensor(c, T_MU)), NULL, B, H, c->topics);
    linear_forward_rowwise(m->lv_x, h, P(m, params, tensor(c, T_LV)), NULL, B, H, c->topics);
}

/* mu and logvar normalized by the running statistics (evaluation, inference). */
static void heads_infer(topic_model *m, int B)
{
    const vae_topic_config *c = &m->cfg;
    const int K = c->topics;
    bn_running_stats(K, stat(m, TOPIC_MU_MEAN), stat(m, TOPIC_MU_VAR), m->mean[BN_MU], m->inv_std[BN_MU]);
    bn_running_stats(K, stat(m, TOPIC_LV_MEAN), stat(m, TOPIC_LV_VAR), m->mean[BN_LV], m->inv_std[BN_LV]);
    bn_forward(NULL, m->mu, m->mu_x, m->mean[BN_MU], m->inv_std[BN_MU], P(m, m->base.params, tensor(c, T_MU_BN)), B, K);
    bn_forward(NULL, m->logvar, m->lv_x, m->mean[BN_LV], m->inv_std[BN_LV], P(m, m->base.params, tensor(c, T_LV_BN)),
               B, K);
}

/* theta = softmax(z) row by row. */
static void softmax_rows(float *theta, const float *z, int B, int K)
{
    for (int r = 0; r < B; r++) {
        const float *zr = z + (size_t)r * K;
        float *t = theta + (size_t)r * K;
        float mx = zr[0];
        for (int k = 1; k < K; k++)
            mx = zr[k] > mx ? zr[k] : mx;
        double total = 0.0;
        for (int k = 0; k < K; k++)
            total += t[k] = expf(zr[k] - mx);
        for (int k = 0; k < K; k++)
            t[k] = (float)(t[k] / total);
    }
}

/* The decoder's logits from theta [n, K], normalized by the running statistics, and each row's
 * log-normalizer (evaluation, inference). */
static void decoder_infer(topic_model *m, const float *z, int n)
{
    const vae_topic_config *c = &m->cfg;
    const int64_t V = c->vocab_size;
    softmax_rows(m->theta, z, n, c->topics);
    linear_forward(m->logits, m->theta, P(m, m->base.params, tensor(c, T_TOPICS)), 0, NULL, n, c->topics, (int)V);
    bn_running_stats((int)V, stat(m, TOPIC_DEC_MEAN), stat(m, TOPIC_DEC_VAR), m->mean[BN_DEC], m->inv_std[BN_DEC]);
    bn_forward(NULL, m->logits, m->logits, m->mean[BN_DEC], m->inv_std[BN_DEC],
               P(m, m->base.params, tensor(c, T_DEC_BN)), n, (int)V);
    for (int r = 0; r < n; r++)
        m->lse[r] = logsumexp_row(m->logits + (size_t)r * (size_t)V, NULL, V);
}

/* KL(N(mu, exp(logvar)) || N(mu0, var0)) of row r, in double. */
static double doc_kl(const topic_model *m, int64_t r)
{
    const int K = m->cfg.topics;
    const float *mu = m->mu + r * K, *lv = m->logvar + r * K;
    double s = 0.0;
    for (int k = 0; k < K; k++) {
        const double dm = mu[k] - m->prior_mu[k], v0 = m->prior_var[k];
        s += exp((double)lv[k]) / v0 + dm * dm / v0 - 1.0 + log(v0) - lv[k];
    }
    return 0.5 * s;
}

static double row_recon(const topic_model *m, const vae_docs *d, int64_t r)
{
    return sparse_recon(m->logits + (size_t)r * (size_t)m->cfg.vocab_size, m->lse[r], d, r);
}

/* A batch of no documents: what a rank computes when it cannot hold its batch, so that it still
 * joins the step's sums. */
static int64_t no_rows[1];
static const vae_docs no_docs = {.indptr = no_rows};

/* The documents as the model reads them: the batch itself, or under word_counts presence the same
 * rows with every count 1 (the batch's arrays shared; only the counts are the model's). Makes room
 * for the transformed inputs too; NULL when out of memory. */
static const vae_docs *seen_docs(topic_model *m, const vae_docs *d)
{
    if (reserve_floats(&m->xval, &m->cap_nnz, d->nnz) != VAE_OK)
        return NULL;
    if (!m->cfg.presence)
        return d;
    if (d->nnz > m->cap_ones) {
        int32_t *grown = realloc(m->ones, sizeof *grown * (size_t)d->nnz);
        if (!grown) {
            vae_fail(VAE_ERR_NOMEM, "out of memory for a batch of %lld non-zeros", (long long)d->nnz);
            return NULL;
        }
        for (int64_t k = m->cap_ones; k < d->nnz; k++)
            grown[k] = 1;
        m->ones = grown;
        m->cap_ones = d->nnz;
    }
    m->seen = *d;
    m->seen.counts = m->ones;
    return &m->seen;
}

/* Training's forward: every normalization over the global batch (two sums through o->reduce). */
static int topic_forward(vae_model *vm, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s)
{
    topic_model *m = topic(vm);
    const vae_topic_config *c = &m->cfg;
    const int K = c->topics, V = (int)c->vocab_size;
    const vae_docs *seen = seen_docs(m, b->docs), *d = seen ? seen : &no_docs;
    const int rc = seen ? VAE_OK : VAE_ERR_NOMEM;
    const int B = (int)d->num_docs;
    float *params = vm->params;
    encoder_forward(m, d);

    double *x = m->sums, *h_sums = x + 1 + 4 * K;
    const int H = c->enc_hidden[c->num_enc - 1];
    const float *h = m->enc[c->num_enc - 1];
    x[0] = B;
    bn_sums(x + 1, m->mu_x, B, K);
    bn_sums(x + 1 + 2 * K, m->lv_x, B, K);
    memset(h_sums, 0, sizeof(double) * (size_t)H);
    for (int r = 0; r < B; r++)
        for (int j = 0; j < H; j++)
            h_sums[j] += h[(size_t)r * H + j];
    int sum_rc = reduce(o, x, 4 * (size_t)K + 1 + (size_t)H);
    m->n = x[0];
    for (int j = 0; j < H; j++)
        m->h_mean[j] = m->n > 0 ? (float)(h_sums[j] / m->n) : 0.0f;
    bn_batch_stats(x + 1, m->n, K, m->mean[BN_MU], m->inv_std[BN_MU], stat(m, TOPIC_MU_MEAN), stat(m, TOPIC_MU_VAR));
    bn_batch_stats(x + 1 + 2 * K, m->n, K, m->mean[BN_LV], m->inv_std[BN_LV], stat(m, TOPIC_LV_MEAN),
                   stat(m, TOPIC_LV_VAR));
    bn_forward(m->mu_hat, m->mu, m->mu_x, m->mean[BN_MU], m->inv_std[BN_MU], P(m, params, tensor(c, T_MU_BN)), B, K);
    bn_forward(m->lv_hat, m->logvar, m->lv_x, m->mean[BN_LV], m->inv_std[BN_LV], P(m, params, tensor(c, T_LV_BN)), B,
               K);

    reparameterize(m->z, m->eps, m->mu, m->logvar, d->doc_index, d->num_docs, K, o->sample, o->noise_seed,
                   o->noise_step);
    softmax_rows(m->theta, m->z, B, K);
    /* Dropout on theta, kept units scaled by 1 / (1 - p), drawn per (step, document, unit). */
    const float p = (float)c->dropout, kept = 1.0f / (1.0f - p);
    for (int r = 0; r < B; r++) {
        float *keep = m->keep + (size_t)r * K;
        if (p > 0.0f)
            vae_uniforms(o->noise_seed ^ TOPIC_DROPOUT_KEY, o->noise_step, (uint64_t)d->doc_index[r], m->uniforms, K);
        for (int k = 0; k < K; k++) {
            keep[k] = p > 0.0f ? (m->uniforms[k] >= p ? kept : 0.0f) : 1.0f;
            m->theta_d[(size_t)r * K + k] = m->theta[(size_t)r * K + k] * keep[k];
        }
    }

    linear_forward(m->logits, m->theta_d, P(m, params, tensor(c, T_TOPICS)), 0, NULL, B, K, V);
    bn_sums(x, m->logits, B, V);
    const int dec_rc = reduce(o, x, 2 * (size_t)V);
    sum_rc = sum_rc != VAE_OK ? sum_rc : dec_rc;
    bn_batch_stats(x, m->n, V, m->mean[BN_DEC], m->inv_std[BN_DEC], stat(m, TOPIC_DEC_MEAN), stat(m, TOPIC_DEC_VAR));
    bn_forward(m->dec_hat, m->logits, m->logits, m->mean[BN_DEC], m->inv_std[BN_DEC], P(m, params, tensor(c, T_DEC_BN)),
               B, V);

    memset(s, 0, sizeof *s);
    for (int r = 0; r < B; r++) {
        m->lse[r] = logsumexp_row(m->logits + (size_t)r * V, NULL, V);
        s->recon += row_recon(m, d, r);
        s->kl += doc_kl(m, r);
        s->tokens += doc_tokens(d, r);
    }
    s->units = B;
    s->loss = s->recon + o->beta * s->kl;
    return rc != VAE_OK ? rc : sum_rc;
}

/* The encoder's layers from the gradient of h (gout, [B, last hidden]) down; gin is scratch. */
static void encoder_backward(topic_model *m, const vae_docs *d, float *gout, float *gin)
{
    const vae_topic_config *c = &m->cfg;
    const int B = (int)d->num_docs;
    float *params = m->base.params, *grads = m->base.grads;
    for (int i = c->num_enc - 1; i >= 1; i--) {
        const int O = c->enc_hidden[i], I = c->enc_hidden[i - 1];
        activation_backward(gout, m->enc[i], (size_t)B * (size_t)O, VAE_ACT_SOFTPLUS);
        memset(gin, 0, sizeof(float) * (size_t)B * (size_t)I);
        linear_backward(gin, P(m, grads, 2 * i), P(m, grads, 2 * i + 1), gout, m->enc[i - 1], P(m, params, 2 * i), 0,
                        B, I, O);
        float *t = gout;
        gout = gin;
        gin = t;
    }
    activation_backward(gout, m->enc[0], (size_t)B * (size_t)c->enc_hidden[0], VAE_ACT_SOFTPLUS);
    memset(P(m, grads, 0), 0, sizeof(float) * m->base.layout.tensors[0].size);
    sparse_linear_backward(P(m, grads, 0), P(m, grads, 1), gout, d, m->xval, c->enc_hidden[0]);
}

/* The gradient of scale * sum_d loss_d; the normalizations' two sums over the global batch each
 * through o->reduce, as in the forward. */
static void topic_backward(vae_model *vm, const vae_batch *b, const vae_step_opts *o)
{
    topic_model *m = topic(vm);
    const vae_topic_config *c = &m->cfg;
    const vae_docs *seen = seen_docs(m, b->docs), *d = seen ? seen : &no_docs; /* room made by the forward */
    const int B = (int)d->num_docs, K = c->topics, V = (int)c->vocab_size;
    float *params = vm->params, *grads = vm->grads;
    double *x = m->sums;

    /* d logits = scale (N_d softmax(logits_d) - n_d), then through the decoder's normalization. */
    for (int r = 0; r < B; r++) {
        float *row = m->logits + (size_t)r * V;
        double *dy = m->dy + (size_t)r * V;
        vexp_shifted(row, row, m->lse[r], o->scale * (float)doc_tokens(d, r), V);
        for (int v = 0; v < V; v++)
            dy[v] = row[v];
        for (int64_t k = d->indptr[r]; k < d->indptr[r + 1]; k++)
            dy[d->indices[k]] -= (double)o->scale * d->counts[k];
    }
    bn_backward_sums(x, P(m, grads, tensor(c, T_DEC_BN)), m->dy, m->dec_hat, B, V);
    (void)reduce(o, x, 2 * (size_t)V); /* a failed sum fails the exchange that follows it too */
    bn_backward(m->logits, m->dy, m->dec_hat, x, m->n, m->inv_std[BN_DEC], B, V);
    memset(m->dtheta, 0, sizeof(float) * (size_t)B * (size_t)K);
    linear_backward(m->dtheta, P(m, grads, tensor(c, T_TOPICS)), NULL, m->logits, m->theta_d,
                    P(m, params, tensor(c, T_TOPICS)), 0, B, K, V);

    /* Through dropout and the softmax to z; then the reparameterization and the KL:
     * dmu = dz + beta scale (mu - mu0) / var0,
     * dlogvar = dz eps sigma / 2 + beta scale (exp(logvar) / var0 - 1) / 2. */
    const double kl_scale = (double)o->beta * o->scale;
    double *dmu = m->dy, *dlv = m->dy + (size_t)B * K;
    for (int r = 0; r < B; r++) {
        const size_t row = (size_t)r * K;
        double dot = 0.0;
        for (int k = 0; k < K; k++) {
            m->dtheta[row + k] *= m->keep[row + k];
            dot += (double)m->theta[row + k] * m->dtheta[row + k];
        }
        for (int k = 0; k < K; k++) {
            const size_t i = row + k;
            const double dz = m->theta[i] * (m->dtheta[i] - dot), var = exp((double)m->logvar[i]);
            const double v0 = m->prior_var[k];
            dmu[i] = dz + kl_scale * (m->mu[i] - m->prior_mu[k]) / v0;
            dlv[i] = 0.5 * dz * m->eps[i] * sqrt(var) + 0.5 * kl_scale * (var / v0 - 1.0);
        }
    }
    bn_backward_sums(x, P(m, grads, tensor(c, T_MU_BN)), dmu, m->mu_hat, B, K);
    bn_backward_sums(x + 2 * K, P(m, grads, tensor(c, T_LV_BN)), dlv, m->lv_hat, B, K);
    (void)reduce(o, x, 4 * (size_t)K);
    bn_backward(m->mu_x, dmu, m->mu_hat, x, m->n, m->inv_std[BN_MU], B, K);
    bn_backward(m->lv_x, dlv, m->lv_hat, x + 2 * K, m->n, m->inv_std[BN_LV], B, K);

    /* The heads' weight gradients sum_d dx_d h_d^T from h less its global batch mean: the same
     * value, since the normalizations' gradients dx sum to zero over the global batch, but without
     * the large part that every document's h shares, which each rank's partial sum would carry
     * only for the ranks' sums to cancel it, leaving rounding that varies with the split. */
    const int H = c->enc_hidden[c->num_enc - 1];
    const float *h = m->enc[c->num_enc - 1];
    float *centered = m->grad_b;
    for (int r = 0; r < B; r++)
        for (int j = 0; j < H; j++)
            centered[(size_t)r * H + j] = h[(size_t)r * H + j] - m->h_mean[j];
    memset(m->grad_a, 0, sizeof(float) * (size_t)B * (size_t)H);
    linear_backward(m->grad_a, P(m, grads, tensor(c, T_MU)), NULL, m->mu_x, centered, P(m, params, tensor(c, T_MU)), 0,
                    B, H, K);
    linear_backward(m->grad_a, P(m, grads, tensor(c, T_LV)), NULL, m->lv_x, centered, P(m, params, tensor(c, T_LV)), 0,
                    B, H, K);
    encoder_backward(m, d, m->grad_a, m->grad_b);
}

static size_t topic_eval_sums_len(const vae_model *m) { return VAE_SUM_FIXED + 2 * (size_t)m->latent; }

static int topic_eval(vae_model *vm, const vae_batch *b, int samples, uint64_t eval_seed, double *sums)
{
    topic_model *m = topic(vm);
    const vae_docs *d = seen_docs(m, b->docs);
    if (!d)
        return VAE_ERR_NOMEM;
    const int K = m->cfg.topics, B = (int)d->num_docs;
    encoder_forward(m, d);
    heads_infer(m, B);
    double *recon = m->recon;
    for (int r = 0; r < B; r++)
        recon[r] = 0.0;
    for (int s = 0; s < samples; s++) {
        reparameterize(m->z, m->eps, m->mu, m->logvar, d->doc_index, d->num_docs, K, 1, eval_seed, (uint64_t)s);
        decoder_infer(m, m->z, B);
        for (int r = 0; r < B; r++)
            recon[r] += row_recon(m, d, r) / samples;
    }
    decoder_infer(m, m->mu, B);
    for (int r = 0; r < B; r++)
        bow_eval_add(sums, K, m->mu + (size_t)r * K, doc_tokens(d, r), recon[r], doc_kl(m, r), row_recon(m, d, r));
    return VAE_OK;
}

static int topic_encode(vae_model *vm, const vae_batch *b, float *mu, float *logvar)
{
    topic_model *m = topic(vm);
    const vae_docs *d = seen_docs(m, b->docs);
    if (!d)
        return VAE_ERR_NOMEM;
    const int B = (int)d->num_docs;
    encoder_forward(m, d);
    heads_infer(m, B);
    memcpy(mu, m->mu, sizeof *mu * (size_t)B * (size_t)m->cfg.topics);
    memcpy(logvar, m->logvar, sizeof *logvar * (size_t)B * (size_t)m->cfg.topics);
    return VAE_OK;
}

static int topic_decode(vae_model *vm, const float *z, int n, float *logp)
{
    topic_model *m = topic(vm);
    const int64_t V = m->cfg.vocab_size;
    decoder_infer(m, z, n);
    for (int r = 0; r < n; r++)
        for (int64_t v = 0; v < V; v++)
            logp[(size_t)r * (size_t)V + v] = m->logits[(size_t)r * (size_t)V + v] - m->lse[r];
    return VAE_OK;
}

/* Relevance's weight of a word's probability in a topic against its lift over the average
 * document (Sievert and Shirley 2014, whose readers found 0.6 best). */
#define TOPIC_RELEVANCE 0.6

/* Topic u's weight of word v: the relevance lambda log p(v | u) + (1 - lambda) log(p(v | u) / p(v)),
 * with p(v | u) the decoder's distribution for a document of topic u alone (theta = e_u) and p(v)
 * the decoder's for a document at the running means (normalized logits 0: softmax(dec.bn.bias)),
 * both at the running statistics. Not the bare column u of dec.topics.weight: the normalization
 * leaves each row of it free up to a shift and a scale, which the running statistics undo; and
 * p(v | u) alone puts the corpus's most frequent words into every topic. */
static int topic_words(vae_model *vm, float *weight)
{
    topic_model *m = topic(vm);
    const int64_t V = m->cfg.vocab_size;
    const int K = m->cfg.topics;
    const float *w = P(m, vm->params, tensor(&m->cfg, T_TOPICS)), *shift = P(m, vm->params, tensor(&m->cfg, T_DEC_BN));
    bn_running_stats((int)V, stat(m, TOPIC_DEC_MEAN), stat(m, TOPIC_DEC_VAR), m->mean[BN_DEC], m->inv_std[BN_DEC]);
    float *average = m->logits; /* log p(v), in the room of one row of logits */
    memcpy(average, shift, sizeof(float) * (size_t)V);
    const float average_lse = logsumexp_row(average, NULL, V);
    for (int u = 0; u < K; u++) {
        float *row = weight + (size_t)u * (size_t)V;
        for (int64_t v = 0; v < V; v++)
            row[v] = w[(size_t)v * K + u];
        bn_forward(NULL, row, row, m->mean[BN_DEC], m->inv_std[BN_DEC], shift, 1, (int)V);
        const float lse = logsumexp_row(row, NULL, V);
        for (int64_t v = 0; v < V; v++)
            row[v] = (float)((row[v] - lse) - (1.0 - TOPIC_RELEVANCE) * (average[v] - average_lse));
    }
    return VAE_OK;
}

static int topic_theta(vae_model *vm, const float *z, int n, float *theta)
{
    softmax_rows(theta, z, n, vm->latent);
    return VAE_OK;
}

const vae_family vae_family_topic = {
    .name = "topic",
    .unit = VAE_UNIT_DOCS,
    .settings = topic_settings,
    .num_settings = NUM_SETTINGS,
    .layout = topic_layout,
    .create = topic_create,
    .destroy = topic_destroy,
    .init_params = topic_init_params,
    .forward = topic_forward,
    .backward = topic_backward,
    .eval_sums_len = topic_eval_sums_len,
    .eval = topic_eval,
    .figures = bow_figures,
    .encode = topic_encode,
    .decode = topic_decode,
    .topic_words = topic_words,
    .train_defaults = topic_train_defaults,
    .theta = topic_theta,
};
