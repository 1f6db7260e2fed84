/* vae-infer's decoding of sentences (src/infer/decode_seq.c) and importance-weighted likelihood
 * (src/infer/iw.c) on a sentence model trained here, through the library alone (forward, backward
 * and Adam on five short sentences): greedy decoding from each sentence's mu gives it back; a beam
 * of 1 is greedy decoding exactly; a wide beam scores at least as well as greedy and, on a short
 * length cap, finds the best sentence an exhaustive search finds; the log-probability reported is
 * the one a teacher-forced pass gives the tokens returned; sampling is deterministic for a seed,
 * differs across seeds, follows the model's distribution and tends to greedy as the temperature
 * falls; the importance-weighted NLL lies below the bound of the same draws and falls as K grows. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "infer.h"
#include "vae/optim.h"
#include "vae/rng.h"

enum { V = 12, LATENT = 4, CAP = 48, NUM_SENT = 5, ML = 8 };

/* Distinct sentences of the 12 words; the decoder must read z to tell the ones that share a start. */
static const int32_t sentences[NUM_SENT][6] = {
    {0, 1, 2, 3, -1}, {4, 5, 6, -1}, {7, 8, 9, 10, 11, -1}, {0, 1, 5, 4, -1}, {3, 2, 12, 1, 0, -1},
};

static vae_model *model;
static vae_seqs corpus;

static int sentence_length(int s)
{
    int n = 0;
    while (sentences[s][n] >= 0)
        n++;
    return n;
}

/* The sentences, `copies` times over (numbered apart: each copy gets draws of its own). */
static void fill_corpus(vae_seqs *q, int copies)
{
    vae_seqs_init(q);
    q->num_seqs = q->num_tokens = 0;
    for (int s = 0; s < NUM_SENT * copies; s++) {
        const int n = sentence_length(s % NUM_SENT);
        assert_int_equal(vae_seqs_reserve(q, s + 1, q->num_tokens + n), VAE_OK);
        q->indptr[0] = 0;
        memcpy(q->tokens + q->num_tokens, sentences[s % NUM_SENT], sizeof(int32_t) * (size_t)n);
        q->num_tokens += n;
        q->indptr[s + 1] = q->num_tokens;
        q->seq_index[s] = s;
        q->doc[s] = s;
        q->num_seqs = s + 1;
    }
}

/* Trains the model on the five sentences: z drawn as in training, a small KL weight so that z
 * carries the sentence. */
static int train_setup(void **state)
{
    (void)state;
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "sentence", V), VAE_OK);
    assert_int_equal(vae_model_config_set(&cfg, "embedding", "16"), VAE_OK);
    assert_int_equal(vae_model_config_set(&cfg, "hidden", "32"), VAE_OK);
    assert_int_equal(vae_model_config_set(&cfg, "latent", "4"), VAE_OK);
    assert_int_equal(vae_model_new(&model, &cfg, CAP), VAE_OK);
    vae_model_init_params(model, 3);
    fill_corpus(&corpus, 1);
    vae_optim_config oc;
    vae_optim_config_default(&oc);
    oc.lr = 0.01f;
    vae_optim *opt = NULL;
    assert_int_equal(vae_optim_new(&opt, &oc, vae_model_num_params(model)), VAE_OK);
    const vae_batch b = {.seqs = &corpus};
    vae_loss_sums sums;
    for (int step = 0; step < 400; step++) {
        const vae_step_opts o = {.beta = 0.1f, .sample = 1, .noise_seed = 11, .noise_step = (uint64_t)step,
                                 .scale = 1.0f / NUM_SENT};
        assert_int_equal(vae_model_forward(model, &b, &o, &sums), VAE_OK);
        vae_model_backward(model, &b, &o);
        assert_int_equal(vae_optim_step(opt, vae_model_params(model), vae_model_grads(model)), VAE_OK);
    }
    vae_optim_free(opt);
    return 0;
}

static int train_teardown(void **state)
{
    (void)state;
    vae_model_free(model);
    vae_seqs_free(&corpus);
    return 0;
}

typedef struct {
    int32_t tokens[CAP * ML];
    int length[CAP];
    double logp[CAP];
} decoded;

static void decode(vae_model *m, const infer_decode_opts *o, const float *z, int n, const int64_t *index, decoded *out)
{
    infer_seq_decoder *d = NULL;
    assert_int_equal(infer_seq_decoder_new(&d, m, o), VAE_OK);
    assert_true(n <= infer_seq_decoder_capacity(d));
    assert_int_equal(infer_seq_decode(d, z, n, index, out->tokens, out->length, out->logp), VAE_OK);
    infer_seq_decoder_free(d);
}

static void normal_z(uint64_t seed, int n, float *z)
{
    for (int i = 0; i < n; i++)
        vae_normals(seed, (uint64_t)i, 0, z + (size_t)i * LATENT, LATENT);
}

/* log p(tokens, then </s> unless the sentence fills max_length) given z, stepping the decoder
 * through the tokens one at a time: the decoder's own scoring, independent of the search. */
static double teacher_forced(vae_model *m, const float *z, const int32_t *tokens, int n, int max_length)
{
    const int S = vae_model_seq_state_size(m);
    const int64_t C = vae_model_seq_classes(m);
    float *h = malloc(sizeof *h * (size_t)S), *logp = malloc(sizeof *logp * (size_t)C);
    assert_non_null(h);
    assert_non_null(logp);
    assert_int_equal(vae_model_seq_start(m, z, 1, h), VAE_OK);
    int32_t prev = (int32_t)(C - 1);
    double sum = 0.0;
    for (int t = 0; t <= n && t < max_length + (n < max_length); t++) {
        assert_int_equal(vae_model_seq_step(m, z, &prev, h, 1, h, logp), VAE_OK);
        const int32_t next = t < n ? tokens[t] : (int32_t)(C - 1);
        sum += logp[next];
        prev = next;
    }
    free(h);
    free(logp);
    return sum;
}

static void test_greedy_reconstructs(void **state)
{
    (void)state;
    float mu[NUM_SENT * LATENT], logvar[NUM_SENT * LATENT];
    const vae_batch b = {.seqs = &corpus};
    assert_int_equal(vae_model_encode(model, &b, mu, logvar), VAE_OK);
    decoded out;
    decode(model, &(infer_decode_opts){.mode = INFER_GREEDY, .max_length = ML}, mu, NUM_SENT, NULL, &out);
    for (int s = 0; s < NUM_SENT; s++) {
        const int n = sentence_length(s);
        assert_int_equal(out.length[s], n);
        assert_memory_equal(out.tokens + s * ML, sentences[s], sizeof(int32_t) * (size_t)n);
        /* Each reported log-probability is the teacher-forced one of the tokens returned. */
        const double tf = teacher_forced(model, mu + s * LATENT, out.tokens + s * ML, out.length[s], ML);
        assert_true(fabs(out.logp[s] - tf) <= 1e-4 * (1.0 + fabs(tf)));
    }
}

static void test_beam_one_is_greedy(void **state)
{
    (void)state;
    float z[CAP * LATENT];
    normal_z(5, CAP, z);
    decoded g, b;
    decode(model, &(infer_decode_opts){.mode = INFER_GREEDY, .max_length = ML}, z, CAP, NULL, &g);
    decode(model, &(infer_decode_opts){.mode = INFER_BEAM, .beam = 1, .max_length = ML}, z, CAP, NULL, &b);
    assert_memory_equal(g.length, b.length, sizeof g.length);
    for (int i = 0; i < CAP; i++) {
        assert_memory_equal(g.tokens + i * ML, b.tokens + i * ML, sizeof(int32_t) * (size_t)g.length[i]);
        assert_true(g.logp[i] == b.logp[i]);
    }
}

/* Beam 4 against greedy decoding on m: never worse, and better on `want_better` sentences at least.
 * Where both find the same sentence they sum its log-probabilities in different orders: "never
 * worse" is up to float32's rounding (an AMD EPYC's kernels gave the beam 1 ulp less there). */
static void beam_against_greedy(vae_model *m, float spread, int want_better)
{
    enum { N = CAP / 4 }; /* the sentences a beam of 4 decodes at once */
    float z[N * LATENT];
    normal_z(9, N, z);
    for (int i = 0; i < N * LATENT; i++)
        z[i] *= spread;
    decoded g, b;
    decode(m, &(infer_decode_opts){.mode = INFER_GREEDY, .max_length = ML}, z, N, NULL, &g);
    decode(m, &(infer_decode_opts){.mode = INFER_BEAM, .beam = 4, .max_length = ML}, z, N, NULL, &b);
    int better = 0;
    for (int i = 0; i < N; i++) {
        assert_true(b.logp[i] >= g.logp[i] - 1e-5 * (1.0 + fabs(g.logp[i])));
        better += b.logp[i] > g.logp[i] + 1e-5 * (1.0 + fabs(g.logp[i]));
        const double tf = teacher_forced(m, z + i * LATENT, b.tokens + i * ML, b.length[i], ML);
        assert_true(fabs(b.logp[i] - tf) <= 1e-4 * (1.0 + fabs(tf)));
    }
    if (better < want_better)
        fail_msg("the beam beat greedy decoding on %d sentences of %d", better, N);
}

static void test_beam_beats_greedy(void **state)
{
    (void)state;
    /* The trained model is sure of its sentences, where greedy decoding is already the best. */
    beam_against_greedy(model, 3.0f, 0);
    /* An untrained one is unsure of every token: there the search finds better sentences. */
    vae_model *fresh = NULL;
    assert_int_equal(vae_model_new(&fresh, vae_model_config_of(model), CAP), VAE_OK);
    vae_model_init_params(fresh, 8);
    beam_against_greedy(fresh, 1.0f, 1);
    vae_model_free(fresh);
}

/* With a cap of 2 tokens, a beam of at least the C - 1 prefixes that go on is an exhaustive
 * search: it must find the best of every sentence of at most 2 tokens, enumerated here. */
static void test_wide_beam_is_exhaustive(void **state)
{
    (void)state;
    const int64_t C = vae_model_seq_classes(model);
    assert_int_equal(C, V + 2);
    float z[3 * LATENT];
    normal_z(21, 3, z);
    for (int i = 0; i < 3 * LATENT; i++)
        z[i] *= 3.0f;
    decoded b;
    decode(model, &(infer_decode_opts){.mode = INFER_BEAM, .beam = (int)C, .max_length = 2}, z, 3, NULL, &b);
    for (int i = 0; i < 3; i++) {
        double best = teacher_forced(model, z + i * LATENT, NULL, 0, 2);
        for (int32_t a = 0; a < C - 1; a++) {
            best = fmax(best, teacher_forced(model, z + i * LATENT, &a, 1, 2));
            for (int32_t c = 0; c < C - 1; c++)
                best = fmax(best, teacher_forced(model, z + i * LATENT, (int32_t[]){a, c}, 2, 2));
        }
        assert_true(fabs(b.logp[i] - best) <= 1e-5 * (1.0 + fabs(best)));
    }
}

static int same(const decoded *a, const decoded *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a->length[i] != b->length[i] ||
            memcmp(a->tokens + i * ML, b->tokens + i * ML, sizeof(int32_t) * (size_t)a->length[i]) != 0)
            return 0;
    return 1;
}

static void test_sampling_seeded(void **state)
{
    (void)state;
    float z[CAP * LATENT];
    int64_t index[CAP];
    normal_z(1, CAP, z);
    for (int i = 0; i < CAP; i++)
        index[i] = i;
    decoded a, b, c, cold, g;
    const infer_decode_opts hot = {.mode = INFER_SAMPLE, .temperature = 2.0, .seed = 1, .max_length = ML};
    decode(model, &hot, z, CAP, index, &a);
    decode(model, &hot, z, CAP, index, &b);
    assert_true(same(&a, &b, CAP));
    const infer_decode_opts other = {.mode = INFER_SAMPLE, .temperature = 2.0, .seed = 2, .max_length = ML};
    decode(model, &other, z, CAP, index, &c);
    assert_false(same(&a, &c, CAP));
    /* Sentence i's draws depend on its number, not on its place in the batch: alone, it is the same. */
    decode(model, &hot, z + 3 * LATENT, 1, index + 3, &c);
    assert_int_equal(c.length[0], a.length[3]);
    assert_memory_equal(c.tokens, a.tokens + 3 * ML, sizeof(int32_t) * (size_t)a.length[3]);
    decode(model, &(infer_decode_opts){.mode = INFER_SAMPLE, .temperature = 1e-4, .seed = 1, .max_length = ML}, z, CAP,
           index, &cold);
    decode(model, &(infer_decode_opts){.mode = INFER_GREEDY, .max_length = ML}, z, CAP, NULL, &g);
    assert_true(same(&cold, &g, CAP));
}

/* The first token of many sampled sentences of one z follows p(first token | z) (temperature 1):
 * every count within 5 standard deviations of its expectation. */
static void test_sampling_distribution(void **state)
{
    (void)state;
    enum { DRAWS = 4000 };
    const int64_t C = vae_model_seq_classes(model);
    float z[CAP * LATENT], logp[V + 2], h[1024];
    assert_true(vae_model_seq_state_size(model) <= 1024);
    vae_normals(77, 0, 0, z, LATENT);
    for (int i = 1; i < CAP; i++)
        memcpy(z + i * LATENT, z, sizeof(float) * LATENT);
    assert_int_equal(vae_model_seq_start(model, z, 1, h), VAE_OK);
    const int32_t start = (int32_t)(C - 1);
    assert_int_equal(vae_model_seq_step(model, z, &start, h, 1, h, logp), VAE_OK);
    int count[V + 2] = {0};
    infer_seq_decoder *d = NULL;
    assert_int_equal(infer_seq_decoder_new(&d, model, &(infer_decode_opts){.mode = INFER_SAMPLE, .temperature = 1.0,
                                                                            .seed = 4, .max_length = 1}),
                     VAE_OK);
    decoded out;
    for (int a = 0; a < DRAWS; a += CAP) {
        int64_t index[CAP];
        for (int i = 0; i < CAP; i++)
            index[i] = a + i;
        assert_int_equal(infer_seq_decode(d, z, CAP, index, out.tokens, out.length, out.logp), VAE_OK);
        for (int i = 0; i < CAP; i++)
            count[out.length[i] ? out.tokens[i * 1] : C - 1]++;
    }
    infer_seq_decoder_free(d);
    for (int64_t c = 0; c < C; c++) {
        const double p = exp((double)logp[c]), mean = DRAWS * p, sd = sqrt(DRAWS * p * (1 - p));
        if (fabs(count[c] - mean) > 5 * sd + 1)
            fail_msg("token %lld drawn %d times of %d, expected %.1f", (long long)c, count[c], DRAWS, mean);
    }
}

static void test_iw_bound(void **state)
{
    (void)state;
    enum { COPIES = 9, UNITS = COPIES * NUM_SENT };
    vae_seqs many;
    fill_corpus(&many, COPIES);
    const vae_batch b = {.seqs = &many};
    double logw[UNITS * 64], prev = INFINITY, first = 0.0;
    for (int K = 1; K <= 64; K *= 4) {
        infer_iw_sums s = {0};
        assert_int_equal(infer_iw_add(model, &b, K, logw, &s), VAE_OK);
        assert_true(s.units == UNITS);
        assert_true(s.tokens == (double)many.num_tokens + UNITS);
        /* Jensen: log of the mean weight >= the mean log weight, equal for one draw. */
        if (K == 1)
            assert_true(fabs(s.nll_iw - s.nll_bound) <= 1e-9 * fabs(s.nll_bound));
        assert_true(s.nll_iw <= s.nll_bound + 1e-9);
        /* The estimate falls toward log p(x) as K grows (the draws of K are among those of 4K);
         * within a noise of 2% of the first's. */
        if (K == 1)
            first = s.nll_iw;
        assert_true(s.nll_iw <= prev + 0.02 * fabs(first));
        prev = s.nll_iw;
    }
    assert_true(prev < first);
    /* ... and below the ELBO bound of the evaluation (z drawn as in training, analytic KL). */
    double *sums = calloc(vae_model_eval_sums_len(model), sizeof *sums);
    assert_non_null(sums);
    assert_int_equal(vae_model_eval(model, &b, 16, VAE_EVAL_SEED, sums), VAE_OK);
    vae_figures f;
    vae_model_figures(model, sums, &f);
    free(sums);
    const vae_figure *nll = vae_figures_find(&f, "nll");
    assert_non_null(nll);
    assert_true(prev / UNITS <= nll->value * 1.01);
    vae_seqs_free(&many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_reconstructs),   cmocka_unit_test(test_beam_one_is_greedy),
        cmocka_unit_test(test_beam_beats_greedy),     cmocka_unit_test(test_wide_beam_is_exhaustive),
        cmocka_unit_test(test_sampling_seeded),       cmocka_unit_test(test_sampling_distribution),
        cmocka_unit_test(test_iw_bound),
    };
    return cmocka_run_group_tests(tests, train_setup, train_teardown);
}
