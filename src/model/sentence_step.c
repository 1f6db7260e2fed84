/* The family sentence's passes over a batch of sequences: the batch sorted longest first and
 * planned for both GRUs, the encoder to mu and logvar, the decoder to each sequence's
 * reconstruction (the output layer's GEMMs over every step's states at once, in blocks), and the
 * training step's forward and backward through time, with word dropout and free bits. */
#include "sentence.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "threads.h"
#include "vae/rng.h"

gru_weights sentence_gru(const sentence_model *m, float *base, int decoder)
{
    const vae_layout *l = &m->base.layout;
    const int first = decoder ? T_DEC_W_IH : T_ENC_W_IH, E = m->cfg.embedding;
    return (gru_weights){.H = m->cfg.hidden,
                         .In = E,
                         .ld_ih = decoder ? E + m->cfg.latent : E,
                         .w_ih = base + l->tensors[first].offset,
                         .w_hh = base + l->tensors[first + 1].offset,
                         .b_ih = base + l->tensors[first + 2].offset,
                         .b_hh = base + l->tensors[first + 3].offset,
                         .b16 = m->bf16 ? (decoder ? &m->dec16 : &m->enc16) : NULL};
}

/* Longest first, ties in batch order: the key is (max - length, position), unique per sequence. */
static int compare_keys(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* rows[t] = the sequences still running at step t (len[j] + extra > t), for t < steps. */
static void plan_steps(gru_plan *p, const int *len, int B, int steps, int extra)
{
    int running = B;
    p->steps = steps;
    p->offset[0] = 0;
    for (int t = 0; t < steps; t++) {
        while (running > 0 && len[running - 1] + extra <= t)
            running--;
        p->rows[t] = running;
        p->offset[t + 1] = p->offset[t] + running;
    }
}

int sentence_plan(sentence_model *m, const vae_seqs *s)
{
    const int B = (int)s->num_seqs;
    const int64_t V = m->cfg.vocab_size;
    for (int64_t k = 0; k < s->num_tokens; k++)
        if (s->tokens[k] < 0 || s->tokens[k] > V) {
            m->B = 0;
            plan_steps(&m->enc_plan, m->len, 0, 0, 0);
            plan_steps(&m->dec_plan, m->len, 0, 0, 1);
            return vae_fail(VAE_ERR_ARG, "token %lld of the batch is id %d, not in [0, %lld]", (long long)k,
                            (int)s->tokens[k], (long long)V);
        }
    int64_t *key = m->start; /* lent: start is filled from the sorted keys */
    for (int i = 0; i < B; i++)
        key[i] = ((INT32_MAX - (s->indptr[i + 1] - s->indptr[i])) << 32) | i;
    qsort(key, (size_t)B, sizeof *key, compare_keys);
    for (int j = 0; j < B; j++) {
        const int i = (int)(key[j] & 0xffffffff);
        m->order[j] = i;
        m->len[j] = (int)(s->indptr[i + 1] - s->indptr[i]);
        m->start[j] = s->indptr[i];
        m->index[j] = s->seq_index[i];
    }
    m->B = B;
    /* The encoder reads the T_j tokens; the decoder predicts T_j + 1 targets. */
    plan_steps(&m->enc_plan, m->len, B, B ? m->len[0] : 0, 0);
    plan_steps(&m->dec_plan, m->len, B, B ? m->len[0] + 1 : 0, 1);
    return VAE_OK;
}

/* x [n, E]: the embedding rows of ids [n]. */
static void gather_embeddings(const sentence_model *m, float *x, const int32_t *ids, int64_t n)
{
    const int E = m->cfg.embedding;
    const float *emb = sentence_param(m, T_EMB);
    for (int64_t r = 0; r < n; r++)
        memcpy(x + r * E, emb + (size_t)ids[r] * E, sizeof(float) * (size_t)E);
}

void sentence_encode_sorted(sentence_model *m, const vae_seqs *s)
{
    const int H = m->cfg.hidden, L = m->cfg.latent, B = m->B;
    const gru_plan *p = &m->enc_plan;
    /* Packed row (t, j) reads the sequence's token t. */
    for (int t = 0; t < p->steps; t++)
        for (int j = 0; j < p->rows[t]; j++)
            m->enc_in[p->offset[t] + j] = s->tokens[m->start[j] + t];
    gather_embeddings(m, m->enc_x, m->enc_in, p->offset[p->steps]);
    const gru_weights w = sentence_gru(m, m->base.params, 0);
    gru_forward(&w, p, m->enc_x, NULL, NULL, &m->enc);
    for (int j = 0; j < B; j++) {
        float *h = m->h_last + (size_t)j * H;
        if (m->len[j] > 0)
            memcpy(h, m->enc.hout + (p->offset[m->len[j] - 1] + j) * H, sizeof(float) * (size_t)H);
        else
            memset(h, 0, sizeof(float) * (size_t)H);
    }
    linear_forward(m->mu, m->h_last, sentence_param(m, T_MU_W), 0, sentence_param(m, T_MU_B), B, H, L);
    linear_forward(m->logvar, m->h_last, sentence_param(m, T_LV_W), 0, sentence_param(m, T_LV_B), B, H, L);
}

/* The decoder's input ids, targets and sequences of every packed row: step t of sequence j reads
 * <s> (t = 0) or its token t - 1, in training <unk> with probability P, and predicts its token t
 * or </s> (t = T_j). */
static void decoder_rows(sentence_model *m, const vae_seqs *s, const vae_step_opts *o)
{
    const int32_t V = (int32_t)m->cfg.vocab_size;
    const double P = o ? m->cfg.word_dropout : 0.0;
    const gru_plan *p = &m->dec_plan;
    for (int j = 0; j < m->B; j++) {
        const int T = m->len[j];
        const int32_t *tok = s->tokens + m->start[j];
        if (P > 0.0)
            vae_uniforms(o->noise_seed ^ SENTENCE_DROPOUT_KEY, o->noise_step, (uint64_t)m->index[j], m->uniforms, T);
        for (int t = 0; t <= T; t++) {
            const int64_t r = p->offset[t] + j;
            m->dec_in[r] = t == 0 ? V + 1 : (P > 0.0 && m->uniforms[t - 1] < P ? V : tok[t - 1]);
            m->dec_target[r] = t < T ? tok[t] : V + 1;
            m->dec_seq[r] = j;
        }
    }
}

/* The rows of one block of the output layer's logits, split over the threads: a part's rows'
 * log-softmax, each row's -log p(target) in row_loss and, in training, the row turned into
 * d logits = scale (softmax - one-hot of the target). */
typedef struct {
    sentence_model *m;
    int64_t r0;
    int n;
    const vae_step_opts *o;
} block_job;

static void block_rows(void *arg, int part, int parts)
{
    const block_job *j = arg;
    sentence_model *m = j->m;
    const int64_t C = m->classes;
    const float *bias = sentence_param(m, T_OUT_B);
    for (int i = j->n * part / parts; i < j->n * (part + 1) / parts; i++) {
        float *row = m->logits + (size_t)i * (size_t)C;
        const float lse = logsumexp_row(row, bias, C);
        const int32_t target = m->dec_target[j->r0 + i];
        m->row_loss[i] = (double)lse - row[target];
        if (j->o) {
            vexp_shifted(row, row, lse, j->o->scale, C);
            row[target] -= j->o->scale;
            if (m->bf16) /* while the row is in cache */
                vae_bf16_from_f32(m->dlog16 + (size_t)i * (size_t)C, row, (size_t)C);
        }
    }
}

/* One block of the output layer: logits of rows [r0, r0 + n), their share of each sequence's recon
 * and, in training, the block's part of the output layer's backward. */
static int output_block(sentence_model *m, int64_t r0, int n, const vae_step_opts *o)
{
    const int H = m->cfg.hidden, C = (int)m->classes;
    const float *hb = m->dec.hout + r0 * H, *w = sentence_param(m, T_OUT_W);
    int rc = VAE_OK;
    if (m->bf16) {
        if (r0 == 0)
            vae_bf16_from_f32(m->out_w16, w, (size_t)C * (size_t)H);
        vae_bf16_from_f32(m->h16, hb, (size_t)n * (size_t)H);
        rc = vae_bf16_gemm_run(m->bf16, 0, 1, n, C, H, m->h16, H, m->out_w16, H, 0, m->logits, C);
    } else {
        linear_forward(m->logits, hb, w, 0, NULL, n, H, C);
    }
    if (rc != VAE_OK)
        return rc;
    block_job job = {m, r0, n, o};
    vae_parallel_parts(block_rows, &job);
    for (int i = 0; i < n; i++)
        m->recon[m->dec_seq[r0 + i]] += m->row_loss[i];
    if (!o)
        return VAE_OK;
    /* The first block writes the weight's and bias's gradients, the others add to them. */
    const float beta = r0 == 0 ? 0.0f : 1.0f;
    cblas_sgemv(CblasRowMajor, CblasTrans, n, C, 1.0f, m->logits, C, m->ones, 1, beta, m->d_out_b, 1);
    if (m->bf16) {
        rc = vae_bf16_gemm_run(m->bf16, 1, 0, C, H, n, m->dlog16, C, m->h16, H, r0 != 0, m->d_out_w, H);
        return rc != VAE_OK ? rc
                            : vae_bf16_gemm_run(m->bf16, 0, 0, n, H, C, m->dlog16, C, m->out_w16, H, 0,
                                                m->d_dec_h + r0 * H, H);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, H, n, 1.0f, m->logits, C, hb, H, beta, m->d_out_w, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, C, 1.0f, m->logits, C, w, H, 0.0f,
                m->d_dec_h + r0 * H, H);
    return VAE_OK;
}

void sentence_z_gates(sentence_model *m, const float *z, int n)
{
    const gru_weights w = sentence_gru(m, m->base.params, 1);
    const int H = m->cfg.hidden, L = m->cfg.latent;
    if (n > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, 3 * H, L, 1.0f, z, L, w.w_ih + w.In, w.ld_ih, 0.0f,
                    m->z_gates, 3 * H);
}

void sentence_h0(const sentence_model *m, const float *z, int n, float *h)
{
    const int H = m->cfg.hidden;
    linear_forward(h, z, sentence_param(m, T_INIT_W), 0, sentence_param(m, T_INIT_B), n, m->cfg.latent, H);
    for (size_t i = 0; i < (size_t)n * H; i++)
        h[i] = tanhf(h[i]);
}

int sentence_decode_sorted(sentence_model *m, const vae_seqs *s, const float *z, const vae_step_opts *o)
{
    const int B = m->B;
    const gru_plan *p = &m->dec_plan;
    const int64_t N = p->offset[p->steps];
    decoder_rows(m, s, o);
    gather_embeddings(m, m->dec_x, m->dec_in, N);
    const gru_weights w = sentence_gru(m, m->base.params, 1);
    sentence_z_gates(m, z, B);
    sentence_h0(m, z, B, m->h0);
    gru_forward(&w, p, m->dec_x, m->h0, m->z_gates, &m->dec);
    for (int j = 0; j < B; j++)
        m->recon[j] = 0.0;
    int rc = VAE_OK;
    for (int64_t r0 = 0; rc == VAE_OK && r0 < N; r0 += SENTENCE_OUT_BLOCK)
        rc = output_block(m, r0, (int)(N - r0 < SENTENCE_OUT_BLOCK ? N - r0 : SENTENCE_OUT_BLOCK), o);
    return rc;
}

double sentence_kl_unit(const sentence_model *m, int j, int u)
{
    const size_t i = (size_t)j * m->cfg.latent + u;
    const double mu = m->mu[i], lv = m->logvar[i];
    return -0.5 * (1.0 + lv - mu * mu - exp(lv));
}

double sentence_kl(const sentence_model *m, int j)
{
    double kl = 0.0;
    for (int u = 0; u < m->cfg.latent; u++)
        kl += sentence_kl_unit(m, j, u);
    return kl;
}

/* Free bits (Kingma et al. 2016): the loss's KL is sum_u max(L, mean over the global batch of
 * kl_u), one sum of the units' KL and the count through o->reduce. A unit above L weighs its KL
 * as usual (beta scale a sequence); one held at L adds the constant L a sequence, so the sums over
 * ranks divided by the global batch are the global figure, and gets no gradient. Returns the
 * loss's KL term of this batch's sequences and sets kl_weight. */
static double free_bits_kl(sentence_model *m, const vae_step_opts *o, int *rc)
{
    const int L = m->cfg.latent, B = m->B;
    const float weight = o->beta * o->scale;
    double kl = 0.0;
    if (!(o->free_bits > 0.0f)) {
        for (int u = 0; u < L; u++)
            m->kl_weight[u] = weight;
        for (int j = 0; j < B; j++)
            kl += sentence_kl(m, j);
        return kl;
    }
    for (int u = 0; u < L; u++) {
        m->kl_sums[u] = 0.0;
        for (int j = 0; j < B; j++)
            m->kl_sums[u] += sentence_kl_unit(m, j, u);
    }
    m->kl_sums[L] = B;
    *rc = o->reduce ? o->reduce(m->kl_sums, (size_t)L + 1, o->reduce_ctx) : VAE_OK;
    for (int u = 0; u < L; u++) {
        const int above = m->kl_sums[L] > 0.0 && m->kl_sums[u] / m->kl_sums[L] > o->free_bits;
        m->kl_weight[u] = above ? weight : 0.0f;
        for (int j = 0; j < B; j++)
            kl += above ? sentence_kl_unit(m, j, u) : o->free_bits;
    }
    return kl;
}

int sentence_forward(vae_model *vm, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s)
{
    sentence_model *m = sentence(vm);
    const vae_seqs *q = b->seqs;
    int rc = sentence_plan(m, q);
    const int B = m->B, L = m->cfg.latent;
    sentence_encode_sorted(m, q);
    reparameterize(m->z, m->eps, m->mu, m->logvar, m->index, B, L, o->sample, o->noise_seed, o->noise_step);
    int sum_rc = VAE_OK;
    const double kl_loss = free_bits_kl(m, o, &sum_rc);
    const int decode_rc = sentence_decode_sorted(m, q, m->z, o);
    memset(s, 0, sizeof *s);
    for (int j = 0; j < B; j++) {
        s->recon += m->recon[j];
        s->kl += sentence_kl(m, j);
        s->tokens += m->len[j] + 1;
    }
    s->units = B;
    s->loss = s->recon + o->beta * kl_loss;
    return rc != VAE_OK ? rc : sum_rc != VAE_OK ? sum_rc : decode_rc;
}

/* dst[ids[r]] += dx[r] over n packed rows: the embedding's gradient, only at the rows read. */
static void scatter_rows(float *dst, const float *dx, const int32_t *ids, int64_t n, int E)
{
    for (int64_t r = 0; r < n; r++) {
        float *d = dst + (size_t)ids[r] * E;
        const float *g = dx + r * E;
        for (int e = 0; e < E; e++)
            d[e] += g[e];
    }
}

/* The decoder's backward from the gradient of its states (d_dec_h): its GRU, z's columns of its
 * input weight, dec.init, and the embedding rows of its inputs; dz gets the gradient of z. */
static void decoder_backward(sentence_model *m)
{
    const int E = m->cfg.embedding, H = m->cfg.hidden, L = m->cfg.latent, B = m->B;
    const gru_plan *p = &m->dec_plan;
    const gru_weights w = sentence_gru(m, m->base.params, 1), g = sentence_gru(m, m->base.grads, 1);
    gru_backward(&w, &g, p, m->dec_x, &m->dec, m->d_dec_h, m->dgi, m->dgh, m->dh0, m->dx, m->dz_gates);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 3 * H, L, B, 1.0f, m->dz_gates, 3 * H, m->z, L, 0.0f,
                g.w_ih + E, g.ld_ih);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L, 3 * H, 1.0f, m->dz_gates, 3 * H, w.w_ih + E, w.ld_ih,
                0.0f, m->dz, L);
    for (size_t i = 0; i < (size_t)B * H; i++)
        m->dh0[i] *= 1.0f - m->h0[i] * m->h0[i];
    linear_backward(m->dz, sentence_grad(m, T_INIT_W), sentence_grad(m, T_INIT_B), m->dh0, m->z,
                    sentence_param(m, T_INIT_W), 0, B, L, H);
    scatter_rows(sentence_grad(m, T_EMB), m->dx, m->dec_in, p->offset[p->steps], E);
}

/* The encoder's backward from dmu and dlogvar: the heads, its GRU from the last state of each
 * sequence, and the embedding rows of the sequences' tokens. */
static void encoder_backward(sentence_model *m)
{
    const int E = m->cfg.embedding, H = m->cfg.hidden, L = m->cfg.latent, B = m->B;
    const gru_plan *p = &m->enc_plan;
    memset(m->dh_last, 0, sizeof(float) * (size_t)B * (size_t)H);
    linear_backward(m->dh_last, sentence_grad(m, T_MU_W), sentence_grad(m, T_MU_B), m->dmu, m->h_last,
                    sentence_param(m, T_MU_W), 0, B, H, L);
    linear_backward(m->dh_last, sentence_grad(m, T_LV_W), sentence_grad(m, T_LV_B), m->dlogvar, m->h_last,
                    sentence_param(m, T_LV_W), 0, B, H, L);
    const int64_t N = p->offset[p->steps];
    memset(m->d_enc_h, 0, sizeof(float) * (size_t)N * (size_t)H);
    for (int j = 0; j < B; j++)
        if (m->len[j] > 0)
            memcpy(m->d_enc_h + (p->offset[m->len[j] - 1] + j) * H, m->dh_last + (size_t)j * H,
                   sizeof(float) * (size_t)H);
    const gru_weights w = sentence_gru(m, m->base.params, 0), g = sentence_gru(m, m->base.grads, 0);
    gru_backward(&w, &g, p, m->enc_x, &m->enc, m->d_enc_h, m->dgi, m->dgh, NULL, m->dx, NULL);
    scatter_rows(sentence_grad(m, T_EMB), m->dx, m->enc_in, N, E);
}

void sentence_backward(vae_model *vm, const vae_batch *b, const vae_step_opts *o)
{
    sentence_model *m = sentence(vm);
    const int B = m->B, L = m->cfg.latent, H = m->cfg.hidden;
    if (B == 0 || b->seqs->num_seqs == 0) {
        memset(vm->grads, 0, sizeof(float) * vm->layout.num_params);
        return;
    }
    const vae_tensor *emb = &vm->layout.tensors[T_EMB];
    memset(vm->grads + emb->offset, 0, sizeof(float) * emb->size);
    memcpy(sentence_grad(m, T_OUT_W), m->d_out_w, sizeof(float) * (size_t)m->classes * (size_t)H);
    memcpy(sentence_grad(m, T_OUT_B), m->d_out_b, sizeof(float) * (size_t)m->classes);
    decoder_backward(m);
    /* Through the reparameterization and the KL (kl_weight: 0 for a unit held at its free bits):
     * dmu = dz + w mu, dlogvar = dz eps sigma / 2 + w (exp(logvar) - 1) / 2. */
    for (int j = 0; j < B; j++)
        for (int u = 0; u < L; u++) {
            const size_t i = (size_t)j * L + u;
            const float sd = expf(0.5f * m->logvar[i]), w = m->kl_weight[u];
            m->dlogvar[i] = 0.5f * m->dz[i] * m->eps[i] * sd + 0.5f * w * (sd * sd - 1.0f);
            m->dmu[i] = m->dz[i] + w * m->mu[i];
        }
    encoder_backward(m);
}
