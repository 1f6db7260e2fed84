/* Benchmark of one training step (not a test). For the default bow model it measures, in one run,
 * the machine's sgemm rate on the model's own GEMM shapes and the step's useful FLOP rate (the FLOPs
 * the step actually does: dense layers forward and both backward GEMMs, the sparse first layer by
 * its non-zeros), and prints docs/s and the ratio of the two. With --model sentence it times the
 * sentence VAE's step on a batch of sequences of random lengths around --length and prints
 * sequences/s, tokens/s and the step's GEMM FLOP rate.
 * usage: vae-bench-step [--model bow|sentence] [--vocab V] [--batch B] [--nnz-per-doc K] [--length T]
 *        [--threads T] [--reps R] [--precision fp32|bf16] (see --help) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "blas.h"
#include "../src/bin/blas_core.h"
#include "bow.h"
#include "sentence.h"
#include "bf16.h"
#include "threads.h"
#include "vae/comm.h"
#include "vae/model.h"
#include "vae/optim.h"
#include "vae/rng.h"

/* A batch of B documents with K distinct words each, drawn uniformly (seeded). */
static void make_batch(vae_docs *d, int B, int K, int64_t V)
{
    vae_docs_reserve(d, B, (int64_t)B * K);
    d->num_docs = B;
    d->nnz = (int64_t)B * K;
    double u[1];
    for (int r = 0; r <= B; r++)
        d->indptr[r] = (int64_t)r * K;
    for (int r = 0; r < B; r++) {
        d->doc_index[r] = r;
        const int64_t stride = V / K;
        for (int k = 0; k < K; k++) {
            vae_uniforms(1, (uint64_t)r, (uint64_t)k, u, 1);
            d->indices[r * K + k] = (int32_t)(k * stride + (int64_t)(u[0] * (double)stride));
            d->counts[r * K + k] = 1 + (int)(u[0] * 4);
        }
    }
}

/* FLOPs of one step's dense GEMMs (forward + dW + dX) and sparse layer. */
static double step_flops(const vae_bow_config *c, int B, int64_t nnz)
{
    double f = 4.0 * (double)nnz * c->enc_hidden[0]; /* sparse forward + dW */
    int in = c->enc_hidden[0];
    for (int i = 1; i < c->num_enc; i++) {
        f += 6.0 * B * in * c->enc_hidden[i];
        in = c->enc_hidden[i];
    }
    f += 2 * 6.0 * B * in * c->latent;
    in = c->latent;
    for (int i = 0; i < c->num_dec; i++) {
        f += 6.0 * B * in * c->dec_hidden[i];
        in = c->dec_hidden[i];
    }
    return f + 6.0 * B * (double)in * (double)c->vocab_size;
}

/* The decoder output's three GEMMs alone, as the step calls them: the machine's rate on them. */
static double sgemm_rate(int B, int H, int64_t V, int reps)
{
    float *x = calloc((size_t)B * H, sizeof *x), *w = calloc((size_t)V * H, sizeof *w);
    float *y = calloc((size_t)B * V, sizeof *y), *dw = calloc((size_t)V * H, sizeof *dw);
    for (size_t i = 0; i < (size_t)B * H; i++)
        x[i] = 0.01f * (float)(i % 97);
    for (size_t i = 0; i < (size_t)V * H; i++)
        w[i] = 0.001f * (float)(i % 89);
    double *t = malloc(sizeof *t * (size_t)reps);
    for (int r = -2; r < reps; r++) {
        const double t0 = vae_wtime();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, (int)V, H, 1, x, H, w, H, 0, y, (int)V);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, H, B, 1, y, (int)V, x, H, 1, dw, H);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, (int)V, 1, y, (int)V, w, H, 0, x, H);
        if (r >= 0)
            t[r] = vae_wtime() - t0;
    }
    const double rate = 6.0 * B * H * (double)V / bench_median(t, reps);
    free(x), free(w), free(y), free(dw), free(t);
    return rate;
}

/* The same three products in bfloat16 (model/bf16.h), on the inputs rounded; 0 when they fail. */
static double bf16_rate(int B, int H, int64_t V, int reps)
{
    vae_bf16_gemm *g = NULL;
    vae_bf16 *x = calloc((size_t)B * H, sizeof *x), *w = calloc((size_t)V * H, sizeof *w);
    vae_bf16 *y16 = calloc((size_t)B * V, sizeof *y16);
    float *y = calloc((size_t)B * V, sizeof *y), *dw = calloc((size_t)V * H, sizeof *dw);
    float *dx = calloc((size_t)B * H, sizeof *dx);
    double *t = malloc(sizeof *t * (size_t)reps), rate = 0.0;
    for (size_t i = 0; i < (size_t)B * H; i++)
        dx[i] = 0.01f * (float)(i % 97);
    vae_bf16_from_f32(x, dx, (size_t)B * H);
    for (size_t i = 0; i < (size_t)V * H; i++)
        dw[i] = 0.001f * (float)(i % 89);
    vae_bf16_from_f32(w, dw, (size_t)V * H);
    int rc = vae_bf16_gemm_new(&g);
    for (int r = -2; rc == VAE_OK && r < reps; r++) {
        const double t0 = vae_wtime();
        rc = vae_bf16_gemm_run(g, 0, 1, B, (int)V, H, x, H, w, H, 0, y, (int)V);
        vae_bf16_from_f32(y16, y, (size_t)B * (size_t)V); /* as the step makes its d logits */
        if (rc == VAE_OK)
            rc = vae_bf16_gemm_run(g, 1, 0, (int)V, H, B, y16, (int)V, x, H, 1, dw, H);
        if (rc == VAE_OK)
            rc = vae_bf16_gemm_run(g, 0, 0, B, H, (int)V, y16, (int)V, w, H, 0, dx, H);
        if (r >= 0)
            t[r] = vae_wtime() - t0;
    }
    if (rc == VAE_OK)
        rate = 6.0 * B * H * (double)V / bench_median(t, reps);
    vae_bf16_gemm_free(g);
    free(x), free(w), free(y16), free(y), free(dw), free(dx), free(t);
    return rate;
}

typedef struct {
    int64_t model, V, B, K, T, reps, length, precision;
} bench_opts;

static const char *const model_names[] = {"bow", "sentence", NULL};

static const cli_entry entries[] = {
    {"model", "M", "the family: bow or sentence (its default settings)", CLI_CHOICE, CLI_AT(bench_opts, model),
     .choices = model_names},
    {"vocab", "V", "words", CLI_INT, CLI_AT(bench_opts, V), .min = 16, .max = 1 << 24},
    {"batch", "B", "documents a step", CLI_INT, CLI_AT(bench_opts, B), .min = 1, .max = 1 << 16},
    {"nnz-per-doc", "K", "distinct words a document (at most V)", CLI_INT, CLI_AT(bench_opts, K), .min = 1,
     .max = 100000},
    {"threads", "T", "BLAS threads", CLI_INT, CLI_AT(bench_opts, T), .min = 1, .max = 256},
    {"reps", "R", "timed steps (after 2 warm-up steps)", CLI_INT, CLI_AT(bench_opts, reps), .min = 1,
     .max = 100000},
    {"length", "T", "sentence: mean tokens a sequence (lengths uniform in [T/2, 3T/2])", CLI_INT,
     CLI_AT(bench_opts, length), .min = 2, .max = 1 << 16},
    {"precision", "P", "sentence: the matrix products' precision (SPEC.md \"Precision\")", CLI_CHOICE,
     CLI_AT(bench_opts, precision), .choices = vae_precision_names},
};

static const cli_table table = {
    .prog = "vae-bench-step",
    .usage = "usage: vae-bench-step [options]\n"
             "Times the default model's training step against sgemm on the model's own shapes\n"
             "(bow), or the sentence VAE's step on sequences (--model sentence --batch 64).\n\n",
    CLI_ENTRIES(entries),
};

/* Medians over reps steps (after 2 warm-up steps) of forward + backward and of Adam's update, on
 * the same batch of B units (noise drawn anew each step). */
static void time_steps(vae_model *m, vae_optim *o, const vae_batch *batch, int B, int reps, double *fwd_bwd,
                       double *update)
{
    vae_step_opts so = {.beta = 1, .sample = 1, .noise_seed = 1, .scale = 1.0f / (float)B};
    vae_loss_sums s;
    double *t = malloc(sizeof *t * (size_t)reps), *tu = malloc(sizeof *tu * (size_t)reps);
    for (int r = -2; r < reps; r++) {
        const double t0 = vae_wtime();
        so.noise_step = (uint64_t)(r + 2);
        vae_model_forward(m, batch, &so, &s);
        vae_model_backward(m, batch, &so);
        const double t1 = vae_wtime();
        vae_optim_step(o, vae_model_params(m), vae_model_grads(m));
        if (r >= 0) {
            t[r] = t1 - t0;
            tu[r] = vae_wtime() - t1;
        }
    }
    *fwd_bwd = bench_median(t, reps);
    *update = bench_median(tu, reps);
    free(t), free(tu);
}

/* B sequences of lengths uniform in [T/2, 3T/2] (at least 1), tokens uniform over the V words. */
static void make_sequences(vae_seqs *s, int B, int T, int64_t V)
{
    double u[1];
    int64_t total = 0;
    vae_seqs_reserve(s, B, (int64_t)B * 2 * T);
    s->indptr[0] = 0;
    for (int r = 0; r < B; r++) {
        vae_uniforms(2, (uint64_t)r, 0, u, 1);
        int64_t len = T / 2 + (int64_t)(u[0] * (double)(T + 1));
        len = len < 1 ? 1 : len;
        for (int64_t k = 0; k < len; k++) {
            vae_uniforms(3, (uint64_t)r, (uint64_t)k, u, 1);
            s->tokens[total + k] = (int32_t)(u[0] * (double)V);
        }
        total += len;
        s->indptr[r + 1] = total;
        s->seq_index[r] = r;
    }
    s->num_seqs = B;
    s->num_tokens = total;
}

/* The sentence VAE's step at its default settings: forward + backward and Adam, medians. */
static int bench_sentence(const bench_opts *b)
{
    vae_model_config mc;
    vae_model *m = NULL;
    vae_optim *o = NULL;
    vae_optim_config oc;
    vae_optim_config_default(&oc);
    vae_seqs q;
    vae_seqs_init(&q);
    make_sequences(&q, (int)b->B, (int)b->length, b->V);
    if (vae_model_config_init(&mc, "sentence", b->V) != VAE_OK || vae_model_new(&m, &mc, (int)b->B) != VAE_OK ||
        vae_model_reserve_tokens(m, q.num_tokens) != VAE_OK ||
        vae_model_set_precision(m, (vae_precision)b->precision) != VAE_OK ||
        vae_optim_new(&o, &oc, vae_model_num_params(m)) != VAE_OK) {
        fprintf(stderr, "vae-bench-step: %s\n", vae_error_message());
        return 1;
    }
    vae_model_init_params(m, 1);
    const vae_batch batch = {.seqs = &q};
    double fwd_bwd, update;
    time_steps(m, o, &batch, (int)b->B, (int)b->reps, &fwd_bwd, &update);
    const double step = fwd_bwd + update;
    /* GEMM FLOPs: each GRU's input and recurrent projections over its rows, the output layer over
     * the decoder's; the backward twice the forward. */
    vae_sentence_config sc;
    vae_sentence_config_of(&mc, &sc);
    const double E = sc.embedding, H = sc.hidden, L = sc.latent, rows_enc = (double)q.num_tokens,
                 rows_dec = rows_enc + (double)b->B;
    /* The decoder's z columns of its input projection, once a sequence (they stay float32 in a
     * bf16 step, sentence.h). */
    const double z_flops = 3 * 2 * (double)b->B * 3 * H * L;
    const double flops = 3 * (2 * rows_enc * 3 * H * (E + H) + 2 * rows_dec * 3 * H * (E + H) +
                              2 * rows_dec * H * (double)(b->V + 2)) + z_flops;
    printf("OpenBLAS core: %s; precision %s (bf16 library: %s)\n", vae_blas_core(), vae_precision_names[b->precision],
           vae_bf16_library());
    printf("sentence V=%lld batch=%lld tokens=%lld (mean length %.1f) threads=%lld params=%zu\n", (long long)b->V,
           (long long)b->B, (long long)q.num_tokens, rows_enc / (double)b->B, (long long)b->T,
           vae_model_num_params(m));
    printf("step (median of %lld): forward+backward %.2f ms, Adam update %.2f ms, total %.2f ms\n",
           (long long)b->reps, 1e3 * fwd_bwd, 1e3 * update, 1e3 * step);
    printf("seqs/s: %.0f (forward+backward alone %.0f), tokens/s: %.0f\n", (double)b->B / step,
           (double)b->B / fwd_bwd, rows_enc / step);
    printf("GEMM GFLOP/s of forward+backward: %.1f (%.3f GFLOP per step)\n", flops / fwd_bwd * 1e-9, flops * 1e-9);
    /* The output layer's three GEMMs alone on all the decoder's rows at once, as bow's decoder
     * output: the rate the step's GEMMs could reach. */
    const double gemm = sgemm_rate((int)rows_dec, (int)H, b->V + 2, (int)b->reps);
    if (b->precision == VAE_PRECISION_FP32) {
        printf("sgemm GFLOP/s on the output layer's shapes: %.1f; GEMM-bound limit %.0f seqs/s, forward+backward "
               "reaches %.0f%% of it\n", gemm * 1e-9, (double)b->B * gemm / flops, 100.0 * flops / fwd_bwd / gemm);
    } else {
        /* Every product in bf16 but the z columns (sentence.h), all at the output layer's bf16 rate. */
        const double g16 = bf16_rate((int)rows_dec, (int)H, b->V + 2, (int)b->reps);
        const double gemm_s = (flops - z_flops) / g16 + z_flops / gemm;
        printf("GFLOP/s on the output layer's shapes: sgemm %.1f, bf16 %.1f (x%.2f, its d logits rounded "
               "included); GEMM-bound limit %.0f seqs/s (the GRUs' products at that bf16 rate), "
               "forward+backward reaches %.0f%% of it\n", gemm * 1e-9, g16 * 1e-9, g16 / gemm, (double)b->B / gemm_s,
               100.0 * gemm_s / fwd_bwd);
    }
    vae_seqs_free(&q);
    vae_optim_free(o);
    vae_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    restart_with_better_blas_core(argv);
    bench_opts b = {.V = 10000, .B = 256, .K = 100, .T = 1, .reps = 20, .length = 20};
    cli_args a;
    const int status = cli_run(&a, &table, &b, argc, argv, 1);
    cli_free(&a);
    if (status != 0)
        return status == CLI_EXIT ? 0 : status;
    const int64_t V = b.V, B = b.B, T = b.T, reps = b.reps;
    int64_t K = b.K;
    if (K > V)
        K = V;
    vae_set_blas_threads((int)T);
    if (b.model == 1)
        return bench_sentence(&b);
    vae_model_config mc;
    vae_bow_config c;
    vae_model *m = NULL;
    vae_optim *o = NULL;
    vae_optim_config oc;
    vae_optim_config_default(&oc);
    if (vae_model_config_init(&mc, "bow", V) != VAE_OK || vae_model_new(&m, &mc, (int)B) != VAE_OK ||
        vae_optim_new(&o, &oc, vae_model_num_params(m)) != VAE_OK) {
        fprintf(stderr, "vae-bench-step: %s\n", vae_error_message());
        return 1;
    }
    vae_bow_config_of(&mc, &c);
    vae_model_init_params(m, 1);
    vae_docs d;
    vae_docs_init(&d);
    make_batch(&d, (int)B, (int)K, V);
    const vae_batch batch = {.docs = &d};
    double fwd_bwd, update;
    time_steps(m, o, &batch, (int)B, (int)reps, &fwd_bwd, &update);
    const double step = fwd_bwd + update;
    const double flops = step_flops(&c, (int)B, d.nnz);
    const double gemm = sgemm_rate((int)B, c.dec_hidden[c.num_dec - 1], V, (int)reps);
    printf("OpenBLAS core: %s\n", vae_blas_core());
    printf("V=%lld batch=%lld nnz/doc=%lld threads=%lld params=%zu\n", (long long)V, (long long)B, (long long)K,
           (long long)T, vae_model_num_params(m));
    printf("step (median of %lld): forward+backward %.2f ms, Adam update %.2f ms, total %.2f ms\n", (long long)reps,
           1e3 * fwd_bwd, 1e3 * update, 1e3 * step);
    printf("docs/s: %.0f\n", (double)B / step);
    printf("useful GFLOP/s of the step: %.1f (%.3f GFLOP per step)\n", flops / step * 1e-9, flops * 1e-9);
    printf("sgemm GFLOP/s on the decoder output's shapes: %.1f\n", gemm * 1e-9);
    printf("ratio step / sgemm: %.2f\n", flops / step / gemm);
    printf("GEMM-bound limit: %.0f docs/s; step reaches %.0f%% of it\n",
           gemm / (6.0 * c.dec_hidden[c.num_dec - 1] * (double)V), 100.0 * ((double)B / step) /
           (gemm / (6.0 * c.dec_hidden[c.num_dec - 1] * (double)V)));
    vae_docs_free(&d);
    vae_optim_free(o);
    vae_model_free(m);
    return 0;
}
