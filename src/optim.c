/* Adam (as torch.optim.Adam, bias-corrected, no weight decay) and plain SGD over the flat buffers,
 * with clipping by global norm as torch.nn.utils.clip_grad_norm_. */
#include "vae/optim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

const char *const vae_optim_names[] = {"adam", "sgd", NULL};

void vae_optim_config_default(vae_optim_config *c)
{
    c->kind = VAE_OPTIM_ADAM;
    c->lr = 1e-3f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->clip_norm = 0.0f;
}

int vae_optim_new(vae_optim **out, const vae_optim_config *cfg, size_t n)
{
    *out = NULL;
    vae_optim *o = calloc(1, sizeof *o);
    if (!o)
        return vae_fail(VAE_ERR_NOMEM, "out of memory allocating the optimizer");
    o->cfg = *cfg;
    o->n = n;
    o->m = vae_calloc_array(n, sizeof(float));
    o->v = vae_calloc_array(n, sizeof(float));
    if (!o->m || !o->v) {
        vae_optim_free(o);
        return VAE_ERR_NOMEM;
    }
    *out = o;
    return VAE_OK;
}

void vae_optim_free(vae_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

double vae_grad_norm(const float *g, size_t n) { return sqrt(vae_sum_squares(g, n)); }

static float clip_scale(const vae_optim_config *c, double norm)
{
    return c->clip_norm > 0 && norm > c->clip_norm ? (float)(c->clip_norm / (norm + 1e-6)) : 1.0f;
}

/* Updates p, m, v over [lo, hi) from g[i - lo]. Without clipping nothing else reads the whole
 * gradient, so the update pass itself watches for a non-finite value: one pass over memory, not two. */
static int update(vae_optim *o, float *p, const float *g, size_t lo, size_t hi, float gscale)
{
    const vae_optim_config *c = &o->cfg;
    o->t++;
    int bad = 0;
    if (c->kind == VAE_OPTIM_SGD) {
        const float step = c->lr * gscale;
        for (size_t i = lo; i < hi; i++) {
            bad |= !(fabsf(g[i - lo]) <= FLT_MAX);
            p[i] -= step * g[i - lo];
        }
        return bad ? VAE_ERR_NUMERIC : VAE_OK;
    }
    const double bc1 = 1.0 - pow(c->beta1, (double)o->t);
    const double bc2 = 1.0 - pow(c->beta2, (double)o->t);
    const float step = (float)(c->lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    float *m = o->m, *v = o->v;
    for (size_t i = lo; i < hi; i++) {
        const float gi = g[i - lo] * gscale;
        bad |= !(fabsf(gi) <= FLT_MAX);
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
    return bad ? VAE_ERR_NUMERIC : VAE_OK;
}

int vae_optim_step(vae_optim *o, float *p, const float *g)
{
    double norm = 0.0;
    if (o->cfg.clip_norm > 0 && !isfinite(norm = vae_grad_norm(g, o->n)))
        return VAE_ERR_NUMERIC;
    return update(o, p, g, 0, o->n, clip_scale(&o->cfg, norm));
}

int vae_optim_step_part(vae_optim *o, float *p, const float *g_part, size_t lo, size_t hi, double grad_norm)
{
    if (!isfinite(grad_norm))
        return VAE_ERR_NUMERIC;
    return update(o, p, g_part, lo, hi, clip_scale(&o->cfg, grad_norm));
}
