/* vae-infer's scoring (src/infer/score.c) on tiny hand-set models and hand-worked tables: top-k
 * order and ties, topics ranked by the rise of probability, NPMI of single pairs and of topics
 * counted over documents in batches, diversity, generation (keyed by the documented streams,
 * reproducible, inverse CDF right, temperature), keywords chosen by contrast among the
 * document's words, and extractive summaries (extract.c): the sentence nearest the document's
 * encoding, ties, sentences without a known word, near-duplicates, batches beyond the capacity. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "infer.h"
#include "vae/rng.h"

enum { V = 6, L = 2 };

/* dec.out.weight column 0 of the hand-set decoder: the words' ranking for unit 0 is 2, 4, 0, 3, 5, 1. */
static const float w_unit0[V] = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -0.3f};
static const float w_unit1[V] = {-2.0f, 1.0f, 0.0f, 3.0f, 0.2f, 0.1f};

static void near(double a, double b, double tol)
{
    if (!(fabs(a - b) <= tol))
        fail_msg("%.17g differs from %.17g by more than %g", a, b, tol);
}

static float *tensor(vae_model *m, const char *name)
{
    const vae_tensor *t = vae_layout_find(vae_model_layout(m), name);
    assert_non_null(t);
    return vae_model_params(m) + t->offset;
}

/* Element (r, c) of a weight in nn.Linear's [out, in] form, wherever the layout holds it. */
static float *weight_at(vae_model *m, const char *name, int64_t r, int64_t c)
{
    const vae_tensor *t = vae_layout_find(vae_model_layout(m), name);
    assert_non_null(t);
    return vae_model_params(m) + vae_tensor_index(t, r, c);
}

/* z straight to the output layer (log p(w | z) = W z + b - lse), all encoder weights zero so that
 * every document's mu is enc.mu.bias = mu. */
/* A bow model over `words` words with `latent` units, one encoder layer of 3 and no decoder layer. */
static vae_model *linear_decoder_model(int64_t words, int latent, int max_batch)
{
    vae_model_config cfg;
    char text[16];
    snprintf(text, sizeof text, "%d", latent);
    assert_int_equal(vae_model_config_init(&cfg, "bow", words), VAE_OK);
    assert_int_equal(vae_model_config_set(&cfg, "latent", text), VAE_OK);
    assert_int_equal(vae_model_config_set(&cfg, "encoder_hidden", "3"), VAE_OK);
    assert_int_equal(vae_model_config_set(&cfg, "decoder_hidden", ""), VAE_OK);
    vae_model *m = NULL;
    assert_int_equal(vae_model_new(&m, &cfg, max_batch), VAE_OK);
    return m;
}

static vae_model *hand_model(const float *bias, const float *mu, int max_batch)
{
    vae_model *m = linear_decoder_model(V, L, max_batch);
    float *b = tensor(m, "dec.out.bias");
    for (int v = 0; v < V; v++) {
        *weight_at(m, "dec.out.weight", v, 0) = w_unit0[v];
        *weight_at(m, "dec.out.weight", v, 1) = w_unit1[v];
        b[v] = bias ? bias[v] : 0.0f;
    }
    for (int u = 0; mu && u < L; u++)
        tensor(m, "enc.mu.bias")[u] = mu[u];
    return m;
}

static void test_top_k(void **state)
{
    const double score[] = {1.0, 3.0, 3.0, -1.0, 2.0};
    int32_t out[8];
    assert_int_equal(infer_top_k(score, NULL, 5, 3, out), 3);
    assert_int_equal(out[0], 1); /* ties go to the lower id */
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 4);
    const int32_t cand[] = {3, 0, 4};
    assert_int_equal(infer_top_k(score, cand, 3, 8, out), 3);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 3);
    assert_int_equal(infer_top_k(score, cand, 3, 0, out), 0);
    assert_int_equal(infer_top_k(score, cand, 0, 3, out), 0);
}

/* The rise p(w | +2 e_u) - p(w | -2 e_u) computed here in double from the hand-set decoder. */
static void expected_topic_order(const float *bias, int u, int32_t *order)
{
    double rise[V];
    for (int sign = 1; sign >= -1; sign -= 2) {
        double logit[V], mx = -1e300, sum = 0;
        for (int v = 0; v < V; v++) {
            logit[v] = bias[v] + 2.0 * sign * (u == 0 ? w_unit0[v] : w_unit1[v]);
            mx = fmax(mx, logit[v]);
        }
        for (int v = 0; v < V; v++)
            sum += exp(logit[v] - mx);
        for (int v = 0; v < V; v++)
            rise[v] = (sign == 1 ? 0 : rise[v]) + sign * exp(logit[v] - mx) / sum;
    }
    for (int v = 0; v < V; v++)
        order[v] = v;
    for (int i = 1; i < V; i++)
        for (int j = i; j > 0 && rise[order[j]] > rise[order[j - 1]]; j--) {
            int32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

static void test_topics_rank_by_probability_rise(void **state)
{
    /* Word 5 is the most probable everywhere: ranked by the rise of probability, as SPEC says,
     * not by the probability itself. */
    const float bias[V] = {0, 0, 0, 0, 0, 1.5f};
    vae_model *m = hand_model(bias, NULL, 2);
    int32_t all[L * V], want[V];
    assert_int_equal(infer_topic_words(m, V, all, NULL), VAE_OK);
    for (int u = 0; u < L; u++) {
        expected_topic_order(bias, u, want);
        assert_memory_equal(all + u * V, want, sizeof want);
    }
    int32_t top[L * 3];
    assert_int_equal(infer_topic_words(m, 3, top, NULL), VAE_OK);
    assert_memory_equal(top, all, 3 * sizeof *top);
    assert_memory_equal(top + 3, all + V, 3 * sizeof *top);
    assert_int_not_equal(infer_topic_words(m, V + 1, all, NULL), VAE_OK);
    vae_model_free(m);
}

static void test_topics_need_two_rows(void **state)
{
    vae_model *m = hand_model(NULL, NULL, 1);
    int32_t top[L];
    vae_error_clear();
    assert_int_equal(infer_topic_words(m, 1, top, NULL), VAE_ERR_ARG);
    assert_true(strlen(vae_error_message()) > 0);
    vae_model_free(m);
}

static void test_npmi_pair(void **state)
{
    /* 4 documents: i in 2, j in 3, both in 2: log((1/2) / (1/2 * 3/4)) / log 2. */
    near(infer_npmi_pair(2, 3, 2, 4), log(4.0 / 3.0) / log(2.0), 1e-12);
    near(infer_npmi_pair(2, 2, 1, 4), 0.0, 1e-12); /* independent */
    near(infer_npmi_pair(1, 3, 0, 4), -1.0, 0);    /* never together */
    near(infer_npmi_pair(4, 4, 4, 4), 1.0, 0);     /* always together */
    assert_true(isnan(infer_npmi_pair(0, 0, 0, 0)));
}

/* d0 {0,1,2}, d1 {0,1}, d2 {1,3}, d3 {4} over 5 words, as rows [first, last). */
static const int64_t cooc_indptr[] = {0, 3, 5, 7, 8};
static const int32_t cooc_indices[] = {0, 1, 2, 0, 1, 1, 3, 4};
static const int32_t cooc_counts[] = {1, 2, 1, 1, 1, 3, 1, 1};

static vae_docs cooc_rows(int64_t first, int64_t last, int64_t *indptr)
{
    vae_docs d = {0};
    for (int64_t r = first; r <= last; r++)
        indptr[r - first] = cooc_indptr[r] - cooc_indptr[first];
    d.num_docs = last - first;
    d.nnz = cooc_indptr[last] - cooc_indptr[first];
    d.indptr = indptr;
    d.indices = (int32_t *)cooc_indices + cooc_indptr[first];
    d.counts = (int32_t *)cooc_counts + cooc_indptr[first];
    return d;
}

static void test_cooc_npmi_by_hand(void **state)
{
    /* Topics {0, 1, 3} and {4, 2, 0}, stride 4 (the 99s are never read). */
    const int32_t words[] = {0, 1, 3, 99, 4, 2, 0, 99};
    infer_cooc c;
    int64_t indptr[5];
    assert_int_equal(infer_cooc_init(&c, words, 2, 3, 4, 5), VAE_OK);
    vae_docs a = cooc_rows(0, 1, indptr);
    infer_cooc_add(&c, &a);
    vae_docs b = cooc_rows(1, 4, indptr);
    infer_cooc_add(&c, &b);
    assert_int_equal(c.num_docs, 4);
    /* Topic 0: pairs (0,1) in 2 docs, (0,3) in none, (1,3) in 1; df 2, 3, 1. */
    const double t0 = (log(4.0 / 3.0) / log(2.0) - 1.0 + log(4.0 / 3.0) / log(4.0)) / 3.0;
    near(infer_cooc_npmi(&c, 0), t0, 1e-12);
    /* Topic 1: (4,2) and (4,0) never, (2,0) in 1 of 4 with df 1 and 2: log 2 / log 4 = 1/2. */
    near(infer_cooc_npmi(&c, 1), (-1.0 - 1.0 + 0.5) / 3.0, 1e-12);
    infer_cooc_free(&c);
    /* Ids outside the vocabulary are refused. */
    assert_int_not_equal(infer_cooc_init(&c, words, 1, 4, 4, 5), VAE_OK);
}

static void test_diversity(void **state)
{
    const int32_t words[] = {0, 1, 2, 7, 2, 3, 4, 7};
    double d;
    assert_int_equal(infer_diversity(words, 2, 3, 4, 8, &d), VAE_OK);
    near(d, 5.0 / 6.0, 1e-12);
    assert_int_equal(infer_diversity(words, 2, 4, 4, 8, &d), VAE_OK);
    near(d, 6.0 / 8.0, 1e-12);
}

static void test_generate_reproducible_and_in_vocabulary(void **state)
{
    vae_model *m = hand_model(NULL, NULL, 2);
    enum { N = 200 };
    int32_t a[N], b[N], c[N];
    assert_int_equal(infer_generate_doc(m, 7, 3, N, 1.0, a), VAE_OK);
    assert_int_equal(infer_generate_doc(m, 7, 3, N, 1.0, b), VAE_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(infer_generate_doc(m, 8, 3, N, 1.0, c), VAE_OK);
    assert_memory_not_equal(a, c, sizeof a);
    assert_int_equal(infer_generate_doc(m, 7, 4, N, 1.0, c), VAE_OK);
    assert_memory_not_equal(a, c, sizeof a);
    for (int i = 0; i < N; i++)
        assert_true(a[i] >= 0 && a[i] < V);
    assert_int_not_equal(infer_generate_doc(m, 7, 3, N, 0.0, c), VAE_OK);
    vae_model_free(m);
}

static void test_generate_z_from_documented_stream(void **state)
{
    /* Two words, one unit: p(word 0 | z) = sigmoid(40 z), so the words tell the sign of z. */
    vae_model *m = linear_decoder_model(2, 1, 2);
    *weight_at(m, "dec.out.weight", 0, 0) = 20.0f;
    *weight_at(m, "dec.out.weight", 1, 0) = -20.0f;
    for (int64_t doc = 0; doc < 40; doc++) {
        float z;
        vae_normals(11, (uint64_t)doc, 0, &z, 1);
        if (fabsf(z) < 0.3f)
            continue;
        int32_t w[4];
        assert_int_equal(infer_generate_doc(m, 11, doc, 4, 1.0, w), VAE_OK);
        for (int i = 0; i < 4; i++)
            assert_int_equal(w[i], z > 0 ? 0 : 1);
    }
    vae_model_free(m);
}

static void test_generate_inverse_cdf_and_temperature(void **state)
{
    /* With zero weights p(w | z) is softmax(bias): [1, 1, 2, 4, 0, 0] / 8 after the logs. */
    const float ln2 = (float)log(2.0), bias[V] = {0, 0, ln2, 2 * ln2, -INFINITY, -INFINITY};
    vae_model *m = hand_model(bias, NULL, 2);
    memset(tensor(m, "dec.out.weight"), 0, sizeof(float) * V * L);
    enum { N = 16000 };
    int32_t *w = malloc(sizeof *w * N);
    assert_non_null(w);
    assert_int_equal(infer_generate_doc(m, 1, 0, N, 1.0, w), VAE_OK);
    int count[V] = {0};
    for (int i = 0; i < N; i++)
        count[w[i]]++;
    const double want[V] = {1, 1, 2, 4, 0, 0};
    for (int v = 0; v < V; v++) /* within 5 standard deviations */
        assert_true(fabs(count[v] - N * want[v] / 8) <= 5 * sqrt(N * want[v] / 8 + 1));
    /* A cold temperature takes the mode. */
    assert_int_equal(infer_generate_doc(m, 1, 0, 100, 1e-3, w), VAE_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(w[i], 3);
    free(w);
    vae_model_free(m);
}

static void test_keywords_by_contrast(void **state)
{
    /* mu = (1, 0): log p(w | mu) - log p(w | 0) = W[w][0] + const, so among the document's words
     * {0, 2, 5} the order is 2, 0, 5 although word 5 (bias 10) is the most probable by far, and
     * word 4 (second overall) is not in the document. */
    const float bias[V] = {0, 0, 0, 0, 0, 10.0f}, mu[L] = {1.0f, 0.0f};
    vae_model *m = hand_model(bias, mu, 4);
    float bg[V];
    assert_int_equal(infer_background(m, bg), VAE_OK);
    float z0[L] = {0}, want_bg[V];
    assert_int_equal(vae_model_decode(m, z0, 1, want_bg), VAE_OK);
    assert_memory_equal(bg, want_bg, sizeof bg);
    /* Rows: {0, 2, 5}, {} (no words), {1}. */
    int64_t indptr[] = {0, 3, 3, 4}, index[] = {0, 1, 2};
    int32_t indices[] = {0, 2, 5, 1}, counts[] = {1, 1, 7, 2};
    vae_docs d = {.num_docs = 3, .nnz = 4, .indptr = indptr, .indices = indices, .counts = counts,
                  .doc_index = index};
    int32_t kw[3 * 2];
    int count[3];
    assert_int_equal(infer_keywords(m, &d, bg, 2, kw, count), VAE_OK);
    assert_int_equal(count[0], 2);
    assert_int_equal(kw[0], 2);
    assert_int_equal(kw[1], 0);
    assert_int_equal(count[1], 0);
    assert_int_equal(count[2], 1);
    assert_int_equal(kw[4], 1);
    /* The encoder's mu, which encode writes: enc.mu.bias for every document. */
    float enc_mu[3 * L], enc_logvar[3 * L];
    assert_int_equal(vae_model_encode(m, &(vae_batch){.docs = &d}, enc_mu, enc_logvar), VAE_OK);
    near(enc_mu[2 * L], 1.0f, 0);
    near(enc_mu[2 * L + 1], 0.0f, 0);
    near(enc_logvar[0], 0.0f, 0);
    vae_model_free(m);
}

/* Sentences as a vae_seqs over the words of V (id V: a word outside the vocabulary). */
static vae_seqs sentences_of(int64_t *indptr, int32_t *tokens, int64_t *index, int64_t *doc, int64_t n)
{
    return (vae_seqs){.num_seqs = n, .num_tokens = indptr[n], .indptr = indptr, .tokens = tokens,
                      .seq_index = index, .doc = doc};
}

/* The k sentences chosen from s must be want[0..n_want), scored by the decoder and by the encoder
 * alone alike. */
static void extract(vae_model *m, const vae_seqs *s, int k, const int64_t *want, int n_want)
{
    for (int by_decoder = 0; by_decoder < 2; by_decoder++) {
        infer_extractor *x = NULL;
        infer_pick picks[8];
        int count = -1;
        assert_int_equal(infer_extractor_new(&x, m, by_decoder), VAE_OK);
        assert_int_equal(infer_extract(x, s, k, picks, &count), VAE_OK);
        assert_int_equal(count, n_want);
        for (int i = 0; i < n_want; i++)
            assert_int_equal(picks[i].index, want[i]);
        infer_extractor_free(x);
    }
}

static void test_extract_ties_unknown_and_duplicates(void **state)
{
    /* A model of zeros encodes every unit alike, so by the encoder every set scores the same: ties
     * go to the earlier sentence. Sentences: 0 only an unknown word, 1 {1, 2}, 2 the same words (a
     * duplicate of 1), 3 none, 4 {3}, 5 {1, 2, 2} (cosine 0.95 with 1). Capacity 2: the six units
     * of a step take three batches. By the decoder p(w | z) = 1/6 everywhere and the document's
     * counts are 3, 4, 1 of words 1, 2, 3 (N = 8), so q = 0.3 n / 8 + 0.7 / 6 = (0.229, 0.267,
     * 0.154): 1 scores (q1 + q2) / (2 + 2) = 0.124, before 2 by its index, 4 q3 / 3 = 0.051, 5
     * 0.099; then 4, the only candidate that is no near-duplicate; then 2, which adds 2 words,
     * before 5 (3). */
    vae_model *m = linear_decoder_model(V, L, 2);
    int64_t indptr[] = {0, 1, 3, 5, 5, 6, 9}, index[6] = {0}, doc[6] = {0};
    int32_t tokens[] = {V, 1, 2, 2, 1, 3, 1, 2, 2};
    const vae_seqs s = sentences_of(indptr, tokens, index, doc, 6);
    extract(m, &s, 1, (const int64_t[]){1}, 1);
    extract(m, &s, 2, (const int64_t[]){1, 4}, 2);         /* 2 and 5 repeat 1 */
    extract(m, &s, 3, (const int64_t[]){1, 2, 4}, 3);      /* duplicates once nothing else is left */
    extract(m, &s, 8, (const int64_t[]){1, 2, 4, 5}, 4);   /* never 0 or 3 */
    /* No sentence with a known word: none chosen. */
    int64_t none_ptr[] = {0, 1, 1};
    const vae_seqs none = sentences_of(none_ptr, (int32_t[]){V}, index, doc, 2);
    extract(m, &none, 3, NULL, 0);
    (void)state;
    vae_model_free(m);
}

static void test_extract_on_topic(void **state)
{
    /* A hand-set encoder: words 0, 1 feed hidden unit 0, words 2, 3 unit 1, words 4, 5 unit 2;
     * mu = (h0, h1 - h2) (h = log(1 + counts) summed). A decoder that matches: z_0 raises words 0
     * and 1, z_1 raises 2 and 3 and lowers 4 and 5. Sentence 0 {0, 1} is of the document's main
     * direction, sentence 1 {2} of another, sentence 2 {4, 5} of a third. The document
     * {0, 1, 2, 4, 5} has mu = (2 log 2, -log 2). By the encoder, sentence 0's mu (2 log 2, 0) has
     * the highest cosine with it (0.89, against -0.45 and 0.45), then the set {0, 2} (0.95, against
     * 0.6 for {0, 1}); by the decoder, at the document's mu p(w | z) is (4, 4, 1/2, 1/2, 2, 2) / 13, so
     * q(w) = 0.3 / 5 + 0.7 p = 0.275 for words 0, 1, 0.087 for 2, 0.168 for 4, 5: sentence 0 scores
     * 0.551 / (2 + 2) = 0.138 (0.087 / 3 = 0.029 and 0.335 / 4 = 0.084 the others), then {0, 2}
     * 0.886 / 6 = 0.148 (0.638 / 5 = 0.128 for {0, 1}). */
    vae_model *m = linear_decoder_model(V, L, 4);
    for (int v = 0; v < V; v++) {
        *weight_at(m, "enc.0.weight", v / 2, v) = 1.0f;
        *weight_at(m, "dec.out.weight", v, 0) = v < 2 ? 1.0f : 0.0f;
        *weight_at(m, "dec.out.weight", v, 1) = v < 2 ? 0.0f : v < 4 ? 1.0f : -1.0f;
    }
    *weight_at(m, "enc.mu.weight", 0, 0) = 1.0f;
    *weight_at(m, "enc.mu.weight", 1, 1) = 1.0f;
    *weight_at(m, "enc.mu.weight", 1, 2) = -1.0f;
    int64_t indptr[] = {0, 2, 3, 5}, index[3] = {0}, doc[3] = {0};
    int32_t tokens[] = {0, 1, 2, 4, 5};
    const vae_seqs s = sentences_of(indptr, tokens, index, doc, 3);
    extract(m, &s, 1, (const int64_t[]){0}, 1);
    extract(m, &s, 2, (const int64_t[]){0, 2}, 2);
    /* The decoder's scores as worked above: q = 0.06 + 2.8/13 for words 0 and 1, 0.06 + 1.4/13 for 4, 5. */
    infer_extractor *x = NULL;
    infer_pick picks[2];
    int count = 0;
    assert_int_equal(infer_extractor_new(&x, m, 1), VAE_OK);
    assert_int_equal(infer_extract(x, &s, 2, picks, &count), VAE_OK);
    assert_int_equal(count, 2);
    assert_true(fabs(picks[0].score - (0.12 + 5.6 / 13) / 4) < 1e-6);
    assert_true(fabs(picks[1].score - (0.24 + 8.4 / 13) / 6) < 1e-6);
    infer_extractor_free(x);
    (void)state;
    vae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_topics_rank_by_probability_rise),
        cmocka_unit_test(test_topics_need_two_rows),
        cmocka_unit_test(test_npmi_pair),
        cmocka_unit_test(test_cooc_npmi_by_hand),
        cmocka_unit_test(test_diversity),
        cmocka_unit_test(test_generate_reproducible_and_in_vocabulary),
        cmocka_unit_test(test_generate_z_from_documented_stream),
        cmocka_unit_test(test_generate_inverse_cdf_and_temperature),
        cmocka_unit_test(test_keywords_by_contrast),
        cmocka_unit_test(test_extract_ties_unknown_and_duplicates),
        cmocka_unit_test(test_extract_on_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
