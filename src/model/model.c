/* The model handle of model.h over any family: views into the flat buffers, the buffers given or
 * owned, and each call checked once here and handed to the family's table. */
#include "model_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae/rng.h"

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

void layout_add(vae_layout *l, const char *name, int64_t rows, int64_t cols, int transposed)
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

void layout_add_linear(vae_layout *l, const char *prefix, int64_t out, int64_t in, int transposed)
{
    char name[32];
    snprintf(name, sizeof name, "%s.weight", prefix);
    layout_add(l, name, out, in, transposed);
    snprintf(name, sizeof name, "%s.bias", prefix);
    layout_add(l, name, out, 0, 0);
}

void init_uniform(float *base, const vae_tensor *t, uint64_t seed, uint64_t stream, double bound)
{
    double u[256];
    const size_t cols = (size_t)(t->cols ? t->cols : 1);
    for (size_t i = 0; i < t->size; i += 256) {
        const size_t n = t->size - i < 256 ? t->size - i : 256;
        vae_uniforms(seed, stream, i / 256, u, (int64_t)n);
        for (size_t j = 0; j < n; j++)
            base[vae_tensor_index(t, (int64_t)((i + j) / cols), (int64_t)((i + j) % cols))] =
                (float)((2.0 * u[j] - 1.0) * bound);
    }
}

const vae_tensor *vae_layout_find(const vae_layout *l, const char *name)
{
    for (int i = 0; i < l->num_tensors; i++)
        if (strcmp(l->tensors[i].name, name) == 0)
            return &l->tensors[i];
    return NULL;
}

void vae_model_free(vae_model *m)
{
    if (!m)
        return;
    free(m->owned);
    m->family->destroy(m);
}

int vae_model_new_on(vae_model **out, const vae_model_config *c, int max_batch, float *params, float *grads)
{
    vae_layout layout, state;
    vae_model *m = NULL;
    *out = NULL;
    if (max_batch < 1)
        return vae_fail(VAE_ERR_ARG, "model batch capacity %d must be positive", max_batch);
    if (!params != !grads)
        return vae_fail(VAE_ERR_ARG, "a model on caller buffers needs both parameters and gradients");
    int rc = vae_layout_compute(c, &layout);
    if (rc != VAE_OK || (rc = vae_state_layout_compute(c, &state)) != VAE_OK ||
        (rc = c->family->create(&m, c, max_batch)) != VAE_OK)
        return rc;
    m->family = c->family;
    m->cfg = *c;
    m->layout = layout;
    m->state_layout = state;
    m->max_batch = max_batch;
    m->max_tokens = c->family->unit == VAE_UNIT_SEQS ? (int64_t)max_batch * VAE_SEQ_TOKENS_PER_UNIT : 0;
    /* One block: the parameters and gradients when the model holds them, then the statistics. */
    const size_t own = params ? 0 : 2 * layout.num_params;
    if (own + state.num_params > 0 && !(m->owned = vae_calloc_array(own + state.num_params, sizeof(float)))) {
        vae_model_free(m);
        return VAE_ERR_NOMEM;
    }
    m->params = params ? params : m->owned;
    m->grads = params ? grads : m->owned + layout.num_params;
    m->state = state.num_params ? m->owned + own : NULL;
    *out = m;
    return VAE_OK;
}

int vae_model_new(vae_model **out, const vae_model_config *c, int max_batch)
{
    return vae_model_new_on(out, c, max_batch, NULL, NULL);
}

const vae_model_config *vae_model_config_of(const vae_model *m) { return &m->cfg; }
const vae_family *vae_model_family(const vae_model *m) { return m->family; }
const vae_layout *vae_model_layout(const vae_model *m) { return &m->layout; }
const vae_layout *vae_model_state_layout(const vae_model *m) { return &m->state_layout; }
float *vae_model_params(vae_model *m) { return m->params; }
float *vae_model_grads(vae_model *m) { return m->grads; }
float *vae_model_state(vae_model *m) { return m->state; }
size_t vae_model_num_params(const vae_model *m) { return m->layout.num_params; }
int vae_model_max_batch(const vae_model *m) { return m->max_batch; }
int vae_model_latent(const vae_model *m) { return m->latent; }

void vae_model_init_params(vae_model *m, uint64_t seed) { m->family->init_params(m, seed); }

/* The batch holds the family's unit, no more of them than the model was sized for. */
static int check_batch(const vae_model *m, const vae_batch *b)
{
    const int docs = m->family->unit == VAE_UNIT_DOCS;
    if (docs ? !b->docs : !b->seqs)
        return vae_fail(VAE_ERR_ARG, "the %s model takes a batch of %s", m->family->name,
                        docs ? "documents" : "sequences");
    const int64_t n = docs ? b->docs->num_docs : b->seqs->num_seqs;
    if (n > m->max_batch)
        return vae_fail(VAE_ERR_ARG, "batch of %lld %s exceeds the model's capacity %d", (long long)n,
                        vae_unit_names[m->family->unit], m->max_batch);
    if (!docs && b->seqs->num_tokens > m->max_tokens)
        return vae_fail(VAE_ERR_ARG, "batch of %lld tokens exceeds the model's capacity of %lld tokens",
                        (long long)b->seqs->num_tokens, (long long)m->max_tokens);
    return VAE_OK;
}

/* A batch of no units of either kind: what a failed step computes, so that a family with batch
 * statistics still joins the step's sums over the processes. */
static int64_t no_rows[1];
static const vae_docs no_docs = {.indptr = no_rows};
static const vae_seqs no_seqs = {.indptr = no_rows};
static const vae_batch empty_batch = {.docs = &no_docs, .seqs = &no_seqs};

int vae_model_forward(vae_model *m, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s)
{
    int rc = b ? check_batch(m, b) : VAE_OK;
    if (rc == VAE_OK)
        rc = m->family->forward(m, b ? b : &empty_batch, o, s);
    else
        (void)m->family->forward(m, &empty_batch, o, s);
    m->forward_failed = rc != VAE_OK;
    return rc;
}

void vae_model_backward(vae_model *m, const vae_batch *b, const vae_step_opts *o)
{
    m->family->backward(m, m->forward_failed || !b ? &empty_batch : b, o);
}

size_t vae_model_eval_sums_len(const vae_model *m) { return m->family->eval_sums_len(m); }

int vae_model_eval(vae_model *m, const vae_batch *b, int samples, uint64_t eval_seed, double *sums)
{
    int rc = check_batch(m, b);
    if (rc == VAE_OK && samples < 1)
        rc = vae_fail(VAE_ERR_ARG, "evaluation needs at least one sample, not %d", samples);
    return rc == VAE_OK ? m->family->eval(m, b, samples, eval_seed, sums) : rc;
}

void vae_model_figures(const vae_model *m, const double *sums, vae_figures *f) { m->family->figures(m, sums, f); }

const vae_figure *vae_figures_find(const vae_figures *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->of[i].name, name) == 0)
            return &f->of[i];
    return NULL;
}

int vae_model_encode(vae_model *m, const vae_batch *b, float *mu, float *logvar)
{
    int rc = check_batch(m, b);
    return rc == VAE_OK ? m->family->encode(m, b, mu, logvar) : rc;
}

int vae_model_decode(vae_model *m, const float *z, int n, float *logp)
{
    if (!m->family->decode)
        return vae_fail(VAE_ERR_ARG, "the %s model has no distribution over the words for a latent vector",
                        m->family->name);
    if (n > m->max_batch)
        return vae_fail(VAE_ERR_ARG, "decoding %d latent vectors exceeds the model's capacity %d", n, m->max_batch);
    return m->family->decode(m, z, n, logp);
}

int vae_model_topic_words(vae_model *m, float *weight)
{
    if (!m->family->topic_words)
        return vae_fail(VAE_ERR_ARG, "the %s model has no topic-word matrix", m->family->name);
    return m->family->topic_words(m, weight);
}

int vae_model_has_theta(const vae_model *m) { return m->family->theta != NULL; }

int vae_model_theta(vae_model *m, const float *z, int n, float *theta)
{
    if (!m->family->theta)
        return vae_fail(VAE_ERR_ARG, "the %s model has no topic proportions", m->family->name);
    return m->family->theta(m, z, n, theta);
}

int vae_model_reserve_tokens(vae_model *m, int64_t max_tokens)
{
    if (!m->family->reserve_tokens || max_tokens <= m->max_tokens)
        return VAE_OK;
    const int rc = m->family->reserve_tokens(m, max_tokens);
    if (rc == VAE_OK)
        m->max_tokens = max_tokens;
    return rc;
}

int64_t vae_model_max_tokens(const vae_model *m) { return m->max_tokens; }

int64_t vae_model_seq_classes(const vae_model *m) { return m->family->seq_classes ? m->family->seq_classes(m) : 0; }

int vae_model_seq_state_size(const vae_model *m)
{
    return m->family->seq_state_size ? m->family->seq_state_size(m) : 0;
}

static int check_seq_decoding(const vae_model *m, int n)
{
    if (!m->family->seq_classes)
        return vae_fail(VAE_ERR_ARG, "the %s model decodes no sequences", m->family->name);
    if (n > m->max_batch)
        return vae_fail(VAE_ERR_ARG, "decoding %d sequences exceeds the model's capacity %d", n, m->max_batch);
    return VAE_OK;
}

int vae_model_seq_start(vae_model *m, const float *z, int n, float *h)
{
    const int rc = check_seq_decoding(m, n);
    return rc == VAE_OK ? m->family->seq_start(m, z, n, h) : rc;
}

int vae_model_seq_step(vae_model *m, const float *z, const int32_t *prev, const float *h, int n, float *h_next,
                       float *logp)
{
    const int rc = check_seq_decoding(m, n);
    return rc == VAE_OK ? m->family->seq_step(m, z, prev, h, n, h_next, logp) : rc;
}

int vae_model_log_weights(vae_model *m, const vae_batch *b, int K, uint64_t eval_seed, double *logw)
{
    if (!m->family->log_weights)
        return vae_fail(VAE_ERR_ARG, "the %s model has no importance weights", m->family->name);
    int rc = check_batch(m, b);
    if (rc == VAE_OK && K < 1)
        rc = vae_fail(VAE_ERR_ARG, "importance weighting needs at least one sample, not %d", K);
    return rc == VAE_OK ? m->family->log_weights(m, b, K, eval_seed, logw) : rc;
}

const char *const vae_precision_names[] = {"fp32", "bf16", NULL};

int vae_model_set_precision(vae_model *m, vae_precision p)
{
    if (!m->family->set_precision)
        return p == VAE_PRECISION_FP32 ? VAE_OK
                                       : vae_fail(VAE_ERR_ARG, "--precision %s: the %s model multiplies in fp32 only "
                                                  "(the sentence model has bf16)", vae_precision_names[p],
                                                  m->family->name);
    return m->family->set_precision(m, p);
}
