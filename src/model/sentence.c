/* The family sentence (SPEC.md "Model families"), a sentence VAE in the manner of Bowman et al.
 * 2015: its settings, the layout of its parameters (PyTorch's nn.Embedding, nn.GRU and nn.Linear
 * names and shapes), its buffers, sized for a batch's tokens and grown by reserve_tokens, its
 * initialization and its table of functions. The passes are sentence_step.c's (training) and
 * sentence_eval.c's (evaluation, inference). */
#include "sentence.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae/rng.h"

enum { S_EMBEDDING, S_HIDDEN, S_LATENT, S_WORD_DROPOUT, NUM_SETTINGS };
_Static_assert(NUM_SETTINGS <= VAE_MAX_SETTINGS, "the settings fit a configuration");
_Static_assert(SENTENCE_NUM_TENSORS <= VAE_MAX_TENSORS, "the tensors fit a layout");

static const vae_setting_spec sentence_settings[NUM_SETTINGS] = {
    [S_EMBEDDING] = {.key = "embedding", .kind = VAE_SETTING_INT, .default_text = "256", .lo = 1, .hi = 1 << 16},
    [S_HIDDEN] = {.key = "hidden", .kind = VAE_SETTING_INT, .default_text = "256", .lo = 1, .hi = 1 << 16},
    [S_LATENT] = {.key = "latent", .kind = VAE_SETTING_INT, .default_text = "16", .lo = 1, .hi = 1 << 16},
    [S_WORD_DROPOUT] = {.key = "word_dropout", .kind = VAE_SETTING_REAL, .default_text = "0", .real_lo = 0.0,
                        .real_hi = 0.95},
};

/* SPEC's batch of 64 sequences; Adam at 1e-3 as in the PyTorch sentence VAEs this family follows
 * (Bowman et al.'s reimplementations train with Adam at 1e-3 and batches of 32 to 64). Against
 * posterior collapse, which a plain run of this GRU decoder reaches (KL near 0 on the emails'
 * sentences, docs/PERFORMANCE.md): 4 KL cycles (Fu et al. 2019) and free bits of 0.15 nats a unit
 * (Kingma et al. 2016). Word dropout stays 0: there, at 0.1 to 0.4, it cost 6-29% of test ppl.
 * The latent size (S_LATENT) is 16, not bow's 32: free bits being per unit, at 32 they held twice
 * the KL and cost 12% of test ppl there, against 3-4% at 16. */
static const char *const sentence_train_defaults[] = {"batch-size", "64", "lr", "1e-3", "kl-cycles", "4",
                                                      "free-bits", "0.15", NULL};

void vae_sentence_config_of(const vae_model_config *c, vae_sentence_config *out)
{
    const vae_setting_value *v = c->values;
    memset(out, 0, sizeof *out);
    out->vocab_size = c->vocab_size;
    out->embedding = (int)v[S_EMBEDDING].num;
    out->hidden = (int)v[S_HIDDEN].num;
    out->latent = (int)v[S_LATENT].num;
    out->word_dropout = v[S_WORD_DROPOUT].real;
}

/* nn.GRU's four tensors of one layer, input size In. */
static void layout_add_gru(vae_layout *l, const char *prefix, int H, int In)
{
    static const char *const suffix[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const int64_t cols[] = {In, H, 0, 0};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s.%s", prefix, suffix[i]);
        layout_add(l, name, 3 * (int64_t)H, cols[i], 0);
    }
}

static int sentence_layout(const vae_model_config *mc, vae_layout *l, vae_layout *state)
{
    vae_sentence_config c;
    vae_sentence_config_of(mc, &c);
    if (c.vocab_size < 1 || c.vocab_size > (1LL << 31) - 3)
        return vae_fail(VAE_ERR_ARG, "vocabulary size %lld is not in [1, 2^31 - 2)", (long long)c.vocab_size);
    memset(l, 0, sizeof *l);
    memset(state, 0, sizeof *state);
    const int64_t classes = c.vocab_size + 2;
    layout_add(l, "emb.weight", classes, c.embedding, 0);
    layout_add_gru(l, "enc.gru", c.hidden, c.embedding);
    layout_add_linear(l, "enc.mu", c.latent, c.hidden, 0);
    layout_add_linear(l, "enc.logvar", c.latent, c.hidden, 0);
    layout_add_linear(l, "dec.init", c.hidden, c.latent, 0);
    layout_add_gru(l, "dec.gru", c.hidden, c.embedding + c.latent);
    layout_add_linear(l, "dec.out", classes, c.hidden, 0);
    return VAE_OK;
}

/* The buffers of one packed row (a token, or a sequence's end) and their widths in elements. */
typedef struct {
    void **buf;
    size_t width, size;
} row_buffer;

static int row_buffers(sentence_model *m, row_buffer *rb)
{
    const size_t E = (size_t)m->cfg.embedding, H = (size_t)m->cfg.hidden;
    int n = 0;
    rb[n++] = (row_buffer){(void **)&m->enc_in, 1, sizeof(int32_t)};
    rb[n++] = (row_buffer){(void **)&m->dec_in, 1, sizeof(int32_t)};
    rb[n++] = (row_buffer){(void **)&m->dec_target, 1, sizeof(int32_t)};
    rb[n++] = (row_buffer){(void **)&m->dec_seq, 1, sizeof(int32_t)};
    rb[n++] = (row_buffer){(void **)&m->uniforms, 1, sizeof(double)};
    rb[n++] = (row_buffer){(void **)&m->enc_x, E, sizeof(float)};
    rb[n++] = (row_buffer){(void **)&m->dec_x, E, sizeof(float)};
    rb[n++] = (row_buffer){(void **)&m->dx, E, sizeof(float)};
    gru_acts *acts[] = {&m->enc, &m->dec};
    for (int i = 0; i < 2; i++) {
        rb[n++] = (row_buffer){(void **)&acts[i]->gates, 3 * H, sizeof(float)};
        rb[n++] = (row_buffer){(void **)&acts[i]->ghn, H, sizeof(float)};
        rb[n++] = (row_buffer){(void **)&acts[i]->hprev, H, sizeof(float)};
        rb[n++] = (row_buffer){(void **)&acts[i]->hout, H, sizeof(float)};
    }
    rb[n++] = (row_buffer){(void **)&m->d_dec_h, H, sizeof(float)};
    rb[n++] = (row_buffer){(void **)&m->d_enc_h, H, sizeof(float)};
    rb[n++] = (row_buffer){(void **)&m->dgi, 3 * H, sizeof(float)};
    rb[n++] = (row_buffer){(void **)&m->dgh, 3 * H, sizeof(float)};
    /* The plans: a step a token at most, and the decoder's one more. */
    rb[n++] = (row_buffer){(void **)&m->enc_plan.rows, 1, sizeof(int)};
    rb[n++] = (row_buffer){(void **)&m->enc_plan.offset, 1, sizeof(int64_t)};
    rb[n++] = (row_buffer){(void **)&m->dec_plan.rows, 1, sizeof(int)};
    rb[n++] = (row_buffer){(void **)&m->dec_plan.offset, 1, sizeof(int64_t)};
    if (m->bf16) { /* the GRUs' bfloat16 copies (sentence_set_precision) */
        rb[n++] = (row_buffer){(void **)&m->enc16.x, E, sizeof(vae_bf16)};
        rb[n++] = (row_buffer){(void **)&m->dec16.x, E, sizeof(vae_bf16)};
        rb[n++] = (row_buffer){(void **)&m->enc16.hprev, H, sizeof(vae_bf16)};
        rb[n++] = (row_buffer){(void **)&m->dec16.hprev, H, sizeof(vae_bf16)};
        rb[n++] = (row_buffer){(void **)&m->enc16.dgi, 3 * H, sizeof(vae_bf16)};
        rb[n++] = (row_buffer){(void **)&m->enc16.dgh, 3 * H, sizeof(vae_bf16)};
    }
    return n;
}

enum { MAX_ROW_BUFFERS = 30 };

/* Room for batches of max_tokens tokens: every per-row buffer for max_tokens + max_batch rows (and
 * one more, for the plans' last offset). On failure the old buffers stay, each at least as large
 * as before, and the capacity as it was. */
static int sentence_reserve_tokens(vae_model *vm, int64_t max_tokens)
{
    sentence_model *m = sentence(vm);
    row_buffer rb[MAX_ROW_BUFFERS];
    const int n = row_buffers(m, rb);
    const int64_t rows = max_tokens + m->base.max_batch + 1;
    int rc = VAE_OK;
    for (int i = 0; rc == VAE_OK && i < n; i++) {
        void *p = NULL;
        if ((size_t)rows > SIZE_MAX / rb[i].width / rb[i].size)
            rc = vae_fail(VAE_ERR_NOMEM, "a batch of %lld tokens is too large to hold", (long long)max_tokens);
        else if (!(p = realloc(*rb[i].buf, (size_t)rows * rb[i].width * rb[i].size)))
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory for a batch of %lld tokens", (long long)max_tokens);
        else
            *rb[i].buf = p;
    }
    /* The decoder's gate gradients share the encoder's copies, wherever realloc moved them. */
    m->dec16.dgi = m->enc16.dgi;
    m->dec16.dgh = m->enc16.dgh;
    if (rc == VAE_OK)
        m->cap_rows = rows;
    return rc;
}

static void sentence_destroy(vae_model *vm)
{
    sentence_model *m = sentence(vm);
    vae_bf16_gemm_free(m->bf16);
    m->bf16 = NULL; /* so that row_buffers leaves out the copies, freed below */
    row_buffer rb[MAX_ROW_BUFFERS];
    const int n = row_buffers(m, rb);
    for (int i = 0; i < n; i++)
        free(*rb[i].buf);
    float **floats[] = {&m->h_last, &m->mu,  &m->logvar, &m->eps,   &m->z,       &m->z_gates,  &m->h0,
                        &m->dz,     &m->dmu, &m->dlogvar, &m->dh0,  &m->dh_last, &m->dz_gates, &m->enc.gh,
                        &m->dec.gh, &m->kl_weight, &m->logits, &m->ones, &m->d_out_w, &m->d_out_b};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        free(*floats[i]);
    free(m->order);
    free(m->len);
    free(m->start);
    free(m->index);
    free(m->recon);
    free(m->recon_avg);
    free(m->kl_sums);
    free(m->row_loss);
    free(m->out_w16);
    free(m->h16);
    free(m->dlog16);
    gru_bf16 *g16[] = {&m->enc16, &m->dec16};
    for (int i = 0; i < 2; i++) {
        free(g16[i]->w_ih);
        free(g16[i]->w_hh);
        free(g16[i]->x);
        free(g16[i]->hprev);
    }
    free(m->enc16.dgi);
    free(m->enc16.dgh);
    free(m);
}

static float *alloc_floats(size_t n) { return vae_calloc_array(n, sizeof(float)); }

static int sentence_create(vae_model **out, const vae_model_config *mc, int max_batch)
{
    *out = NULL;
    sentence_model *m = calloc(1, sizeof *m);
    if (!m)
        return vae_fail(VAE_ERR_NOMEM, "out of memory allocating the model");
    vae_sentence_config_of(mc, &m->cfg);
    const vae_sentence_config *c = &m->cfg;
    m->base.latent = c->latent;
    m->base.max_batch = max_batch;
    m->classes = c->vocab_size + 2;
    const size_t B = (size_t)max_batch, L = (size_t)c->latent, H = (size_t)c->hidden, C = (size_t)m->classes;
    int ok = 1;
    float **per_latent[] = {&m->mu, &m->logvar, &m->eps, &m->z, &m->dz, &m->dmu, &m->dlogvar};
    for (size_t i = 0; i < sizeof per_latent / sizeof per_latent[0]; i++)
        ok = ok && (*per_latent[i] = alloc_floats(B * L));
    float **per_hidden[] = {&m->h_last, &m->h0, &m->dh0, &m->dh_last};
    for (size_t i = 0; i < sizeof per_hidden / sizeof per_hidden[0]; i++)
        ok = ok && (*per_hidden[i] = alloc_floats(B * H));
    float **per_gates[] = {&m->z_gates, &m->dz_gates, &m->enc.gh, &m->dec.gh};
    for (size_t i = 0; i < sizeof per_gates / sizeof per_gates[0]; i++)
        ok = ok && (*per_gates[i] = alloc_floats(B * 3 * H));
    ok = ok && (m->order = vae_calloc_array(B, sizeof(int))) && (m->len = vae_calloc_array(B, sizeof(int))) &&
         (m->start = vae_calloc_array(B, sizeof(int64_t))) && (m->index = vae_calloc_array(B, sizeof(int64_t))) &&
         (m->recon = vae_calloc_array(B, sizeof(double))) &&
         (m->recon_avg = vae_calloc_array(B, sizeof(double))) && (m->kl_sums = vae_calloc_array(L + 1, sizeof(double))) &&
         (m->kl_weight = alloc_floats(L)) && (m->logits = alloc_floats((size_t)SENTENCE_OUT_BLOCK * C)) &&
         (m->row_loss = vae_calloc_array(SENTENCE_OUT_BLOCK, sizeof(double))) &&
         (m->ones = alloc_floats(SENTENCE_OUT_BLOCK)) &&
         (m->d_out_w = alloc_floats(C * H)) && (m->d_out_b = alloc_floats(C));
    const int rc = ok ? sentence_reserve_tokens(&m->base, (int64_t)max_batch * VAE_SEQ_TOKENS_PER_UNIT)
                      : VAE_ERR_NOMEM;
    if (rc != VAE_OK) {
        sentence_destroy(&m->base);
        return rc;
    }
    for (int i = 0; i < SENTENCE_OUT_BLOCK; i++)
        m->ones[i] = 1.0f;
    *out = &m->base;
    return VAE_OK;
}

/* PyTorch's defaults: nn.Embedding N(0, 1) (row r the normals of the stream (seed, tensor, r)); nn.GRU
 * every tensor uniform in +-1/sqrt(H); nn.Linear weight and bias uniform in +-1/sqrt(fan in). */
static void sentence_init_params(vae_model *vm, uint64_t seed)
{
    const vae_layout *l = &vm->layout;
    memset(vm->params, 0, sizeof(float) * l->num_params);
    const vae_tensor *emb = &l->tensors[T_EMB];
    for (int64_t r = 0; r < emb->rows; r++)
        vae_normals(seed, T_EMB, (uint64_t)r, vm->params + vae_tensor_index(emb, r, 0), (int)emb->cols);
    const int H = sentence(vm)->cfg.hidden;
    for (int t = T_EMB + 1; t < l->num_tensors; t++) {
        const int gru = (t >= T_ENC_W_IH && t <= T_ENC_B_HH) || (t >= T_DEC_W_IH && t <= T_DEC_B_HH);
        const int64_t fan_in = gru ? H : l->tensors[l->tensors[t].cols ? t : t - 1].cols;
        init_uniform(vm->params, &l->tensors[t], seed, (uint64_t)t, 1.0 / sqrt((double)fan_in));
    }
}

/* bf16: the output layer's products (sentence.h), their buffers, and each form's primitive made by
 * one product of size 1 here, so that a step meets no failure of the library's set-up. */
static int sentence_set_precision(vae_model *vm, vae_precision p)
{
    sentence_model *m = sentence(vm);
    if (p == VAE_PRECISION_FP32 || m->bf16) {
        if (p == VAE_PRECISION_FP32) { /* the copies stay, for a return to bf16 */
            vae_bf16_gemm_free(m->bf16);
            m->bf16 = m->enc16.g = m->dec16.g = NULL;
        }
        return VAE_OK;
    }
    const size_t H = (size_t)m->cfg.hidden, C = (size_t)m->classes, R = SENTENCE_OUT_BLOCK;
    const size_t G = 3 * H, E = (size_t)m->cfg.embedding, L = (size_t)m->cfg.latent;
    struct {
        vae_bf16 **buf;
        size_t n;
    } copies[] = {{&m->out_w16, C * H},      {&m->h16, R * H},          {&m->dlog16, R * C},
                  {&m->enc16.w_ih, G * E},   {&m->enc16.w_hh, G * H},   {&m->dec16.w_ih, G * (E + L)},
                  {&m->dec16.w_hh, G * H}};
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++)
        if (!*copies[i].buf && !(*copies[i].buf = vae_calloc_array(copies[i].n, sizeof(vae_bf16))))
            return vae_fail(VAE_ERR_NOMEM, "out of memory for the bfloat16 copies of the weights");
    vae_bf16_gemm *g;
    int rc = vae_bf16_gemm_new(&g);
    float out = 0.0f; /* every form: the output layer uses four, the GRUs' accumulating products two more */
    for (int form = 0; rc == VAE_OK && form < 8; form++)
        rc = vae_bf16_gemm_run(g, form >> 2, (form >> 1) & 1, 1, 1, 1, m->h16, 1, m->h16, 1, form & 1, &out, 1);
    if (rc != VAE_OK) {
        vae_bf16_gemm_free(g);
        return rc;
    }
    /* The GRUs' per-row copies join the row buffers, sized for the capacity as it is. */
    m->bf16 = m->enc16.g = m->dec16.g = g;
    if ((rc = sentence_reserve_tokens(vm, m->cap_rows - m->base.max_batch - 1)) != VAE_OK) {
        vae_bf16_gemm_free(g);
        m->bf16 = m->enc16.g = m->dec16.g = NULL;
    }
    return rc;
}

static int64_t sentence_seq_classes(const vae_model *vm) { return vm->cfg.vocab_size + 2; }
static int sentence_seq_state_size(const vae_model *vm) { return ((const sentence_model *)vm)->cfg.hidden; }

const vae_family vae_family_sentence = {
    .name = "sentence",
    .unit = VAE_UNIT_SEQS,
    .settings = sentence_settings,
    .num_settings = NUM_SETTINGS,
    .layout = sentence_layout,
    .create = sentence_create,
    .destroy = sentence_destroy,
    .init_params = sentence_init_params,
    .forward = sentence_forward,
    .backward = sentence_backward,
    .eval_sums_len = sentence_eval_sums_len,
    .eval = sentence_eval,
    .figures = sentence_figures,
    .encode = sentence_encode,
    .train_defaults = sentence_train_defaults,
    .free_bits = 1,
    .reserve_tokens = sentence_reserve_tokens,
    .seq_classes = sentence_seq_classes,
    .seq_state_size = sentence_seq_state_size,
    .seq_start = sentence_seq_start,
    .seq_step = sentence_seq_step,
    .log_weights = sentence_log_weights,
    .set_precision = sentence_set_precision,
};
