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

void vae_optim_moments(vae_optim *o, float **m, float **v)
{
    *m = o->m;
    *v = o->v;
}

int64_t vae_optim_updates(const vae_optim *o) { return o->t; }
void vae_optim_set_updates(vae_optim *o, int64_t t) { o->t = t; }

double vae_grad_norm(const float *g, size_t n) { return sqrt(vae_sum_squares(g, n)); }

static float clip_scale(const vae_optim_config *c, double norm)
{
    return c->clip_norm > 0 && norm > c->clip_norm ? (float)(c->clip_norm / (norm + 1e-6)) : 1.0f;
}

/* Gradients given as a sum of terms are summed in pieces that stay in L1; one term is read in place. */
enum { PIECE = 1024 };

static const float *piece_of_sum(const float *const *terms, int num_terms, size_t off, size_t len, float *buf)
{
    if (num_terms == 1)
        return terms[0] + off;
    vae_sum_terms(buf, terms, num_terms, off, len);
    return buf;
}

double vae_grad_sum_squares(const float *const *terms, int num_terms, size_t n)
{
    if (num_terms == 1)
        return vae_sum_squares(terms[0], n);
    float buf[PIECE];
    double s = 0.0;
    for (size_t off = 0; off < n; off += PIECE) {
        const size_t len = n - off < PIECE ? n - off : PIECE;
        s += vae_sum_squares(piece_of_sum(terms, num_terms, off, len, buf), len);
    }
    return s;
}

/* The update is a step's costliest loop where the model is mostly one wide layer (topic at 2 ranks:
 * a fifth of each rank's time, as SSE2 pairs of sqrtps and divps): a portable build carries AVX-512
 * and AVX2 clones, chosen when the program loads. Every clone computes the same floats (CMake
 * builds this file without contraction into FMAs; square roots and divisions are exact at any
 * width), so a run does not depend on the CPU it lands on. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__)
#define UPDATE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define UPDATE_CLONES
#endif

/* Updates p, m, v over [lo, hi) from the gradient sum_t terms[t][i - lo]. Without clipping nothing
 * else reads the whole gradient, so the update pass itself watches for a non-finite value: one
 * pass over memory, not two. */
UPDATE_CLONES static int update(vae_optim *o, float *p, const float *const *terms, int num_terms, size_t lo, size_t hi,
                  float gscale)
{
    const vae_optim_config *c = &o->cfg;
    o->t++;
    const double bc1 = 1.0 - pow(c->beta1, (double)o->t);
    const double bc2 = 1.0 - pow(c->beta2, (double)o->t);
    const float step = c->kind == VAE_OPTIM_SGD ? c->lr * gscale : (float)(c->lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    int bad = 0;
    float buf[PIECE];
    for (size_t base = lo; base < hi; base += PIECE) {
        const size_t len = hi - base < PIECE ? hi - base : PIECE;
        const float *restrict g = piece_of_sum(terms, num_terms, base - lo, len, buf);
        float *restrict pp = p + base;
        if (c->kind == VAE_OPTIM_SGD) {
            for (size_t k = 0; k < len; k++) {
                bad |= !(fabsf(g[k]) <= FLT_MAX);
                pp[k] -= step * g[k];
            }
            continue;
        }
        float *restrict m = o->m + base, *restrict v = o->v + base;
        for (size_t k = 0; k < len; k++) {
            const float gi = g[k] * gscale;
            bad |= !(fabsf(gi) <= FLT_MAX);
            m[k] = b1 * m[k] + (1.0f - b1) * gi;
            v[k] = b2 * v[k] + (1.0f - b2) * gi * gi;
            pp[k] -= step * m[k] / (sqrtf(v[k]) * inv_sqrt_bc2 + eps);
        }
    }
    return bad ? VAE_ERR_NUMERIC : VAE_OK;
}

int vae_optim_step(vae_optim *o, float *p, const float *g)
{
    double norm = 0.0;
    if (o->cfg.clip_norm > 0 && !isfinite(norm = vae_grad_norm(g, o->n)))
        return VAE_ERR_NUMERIC;
    return update(o, p, &g, 1, 0, o->n, clip_scale(&o->cfg, norm));
}

int vae_optim_step_sum(vae_optim *o, float *p, const float *const *terms, int num_terms, size_t lo, size_t hi,
                       double grad_norm)
{
    if (o->cfg.clip_norm > 0 && !isfinite(grad_norm))
        return VAE_ERR_NUMERIC;
    return update(o, p, terms, num_terms, lo, hi, clip_scale(&o->cfg, grad_norm));
}
