/* vae-synth: writes a vae-corpus file drawn from K planted topics by an LDA-like process, seeded and
 * deterministic, together with what a model trained on it can be measured against:
 *
 *   /synthetic/topics               float32 [K, V]  the topics: word distributions, rows sum to 1
 *   /synthetic/<split>/theta        float32 [D, K]  each document's topic mixture
 *   /synthetic/<split>/oracle_nll   float32 [D]     -(1/N_d) sum_tokens log p(w | theta_d, topics)
 *   /synthetic/<split>/oracle_ppl   float32 [1]     exp(sum_d N_d oracle_nll_d / sum_d N_d)
 *   /synthetic/<split>/unigram_ppl  float32 [1]     the split's perplexity under the training unigram
 *                                                   distribution, add-one smoothed: (tf_w + 1) / (T + V)
 *   root attribute synthetic                        the generating flags as JSON
 * and with --sequences N (a version 2 file: /<split>/seq, unit sentence, max_length 4 L_s):
 *   /synthetic/<split>/seq_oracle_nll float32 [S]   -(1/T_s) log p(sequence s | theta_d, topics)
 *   /synthetic/<split>/seq_oracle_ppl float32 [1]   exp(sum_s T_s seq_oracle_nll_s / sum_s T_s)
 *
 * Topic k puts 95% of its mass on its own block of words [k V / K, (k + 1) V / K), spread by a
 * Dirichlet(0.5) draw, and 5% uniformly on all words. A document draws theta ~ Dirichlet(alpha),
 * a length N = 1 + Poisson(L - 1), then N words, each from a topic drawn from theta. Documents go
 * in order to train, valid, test; words are named w00000, w00001, ...; doc_ids are synth-<n>.
 *
 * With --sequences N a document is instead N sequences (its bag of words is theirs), each from a
 * Markov chain of known structure: a topic k drawn from theta, a length T = min(1 + Poisson(L_s - 1),
 * 4 L_s), a first word drawn from topic k, then each next word the successor of the one before
 * ((w + 1) mod V) with probability STAY, else a fresh draw from topic k. The oracle of a sequence
 * sums over its topic: p = sum_k theta_k phi_k(w_1) prod_t (STAY [w_t = w_{t-1} + 1] + (1 - STAY)
 * phi_k(w_t)); a document's oracle_nll is then its sequences' (the same process, per token). */
#include "cli.h"
#include "vae/corpus.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_CONCENTRATION 0.5
#define BACKGROUND 0.05
#define NUM_SPLITS 3
#define STAY 0.5 /* a sequence's next word is the successor of the last one with this probability */

static const char *const split_names[NUM_SPLITS] = {"train", "valid", "test"};

/* ---- a tiny seeded generator: splitmix64 seeding xoshiro256** ---- */

typedef struct {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in (0, 1): never 0, so that its log is finite. */
static double rng_open01(rng *r) { return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53; }

static double rng_normal(rng *r)
{
    return sqrt(-2.0 * log(rng_open01(r))) * cos(6.283185307179586 * rng_open01(r));
}

/* log of a Gamma(a, 1) draw (Marsaglia-Tsang); in logs because small shapes underflow doubles. */
static double rng_log_gamma(rng *r, double a)
{
    if (a < 1.0) /* Gamma(a) = Gamma(a + 1) * U^(1/a) */
        return rng_log_gamma(r, a + 1.0) + log(rng_open01(r)) / a;
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal(r), v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        if (log(rng_open01(r)) < 0.5 * x * x + d - d * v + d * log(v))
            return log(d * v);
    }
}

/* out[0..n) ~ Dirichlet(a, ..., a). */
static void rng_dirichlet(rng *r, double a, int64_t n, double *out)
{
    double top = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        out[i] = rng_log_gamma(r, a);
        top = out[i] > top ? out[i] : top;
    }
    for (int64_t i = 0; i < n; i++)
        sum += out[i] = exp(out[i] - top);
    for (int64_t i = 0; i < n; i++)
        out[i] /= sum;
}

/* Poisson(mean) as the number of unit-rate arrivals before time mean: O(mean), never underflows. */
static int64_t rng_poisson(rng *r, double mean)
{
    int64_t k = 0;
    for (double t = -log(rng_open01(r)); t <= mean; t -= log(rng_open01(r)))
        k++;
    return k;
}

/* The first i with cdf[i] > u (cdf increasing, cdf[n - 1] = 1 up to rounding). */
static int64_t search_cdf(const double *cdf, int64_t n, double u)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- the corpus ---- */

typedef struct {
    int64_t docs, V, K, length, seed;
    int64_t seqs, seq_length; /* sequences per document (0: none), their mean length */
    double alpha, valid_frac, test_frac;
    const char *out;
    int quiet;
} synth_opts;

typedef struct {
    int64_t first, D; /* its documents are first .. first + D - 1 */
    int64_t tokens;
    double nll_sum; /* sum over documents of N_d * oracle_nll_d */
    int64_t *tf, *df; /* [V] */
    float *nll; /* [D] */
    float *theta; /* [D, K] */
    float *seq_nll; /* [D * seqs] */
    int64_t seq_tokens;
    double seq_nll_sum; /* sum over sequences of T_s * seq_oracle_nll_s */
} synth_split;

typedef struct {
    synth_opts o;
    rng r;
    double *phi, *cdf; /* [K, V]: topics and their running sums */
    double *theta; /* [K] of the current document */
    double *logp; /* [K] of the current sequence, given each topic */
    int32_t *tokens, *ids, *cnt, *sorted;
    int64_t cap_tokens;
    synth_split split[NUM_SPLITS];
    vae_corpus_writer *w;
} synth;

/* Prints "vae-synth: <message>" and returns the failure exit status. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "vae-synth: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* Makes room for documents of n tokens in the token, id and count arrays. */
static int reserve_tokens(synth *s, int64_t n)
{
    int32_t **arrays[4] = {&s->tokens, &s->ids, &s->cnt, &s->sorted};
    if (n <= s->cap_tokens)
        return 0;
    for (int i = 0; i < 4; i++) {
        int32_t *p = realloc(*arrays[i], (size_t)n * sizeof *p);
        if (!p)
            return fail("out of memory for a document of %lld tokens", (long long)n);
        *arrays[i] = p;
    }
    s->cap_tokens = n;
    return 0;
}

static int cmp_int32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void make_topics(synth *s)
{
    int64_t V = s->o.V, K = s->o.K;
    for (int64_t k = 0; k < K; k++) {
        double *phi = s->phi + k * V, *cdf = s->cdf + k * V, acc = 0.0;
        int64_t lo = k * V / K, hi = (k + 1) * V / K;
        rng_dirichlet(&s->r, TOPIC_CONCENTRATION, hi - lo, phi + lo);
        for (int64_t w = 0; w < V; w++) {
            phi[w] = (w >= lo && w < hi ? (1.0 - BACKGROUND) * phi[w] : 0.0) + BACKGROUND / (double)V;
            cdf[w] = acc += phi[w];
        }
    }
}

/* A word of topic k. */
static int32_t draw_word(synth *s, int64_t k)
{
    int64_t V = s->o.V;
    return (int32_t)search_cdf(s->cdf + k * V, V, rng_open01(&s->r) * s->cdf[k * V + V - 1]);
}

/* A topic drawn from the current document's theta. */
static int64_t draw_topic(synth *s)
{
    double u = rng_open01(&s->r), acc = 0.0;
    int64_t k = 0;
    while (k < s->o.K - 1 && (acc += s->theta[k]) <= u)
        k++;
    return k;
}

/* Draws sequence tokens[0..n) (see the top comment) and returns -log p(it | theta). */
static double make_seq(synth *s, int32_t *tokens, int64_t n)
{
    int64_t k = draw_topic(s), V = s->o.V, K = s->o.K;
    tokens[0] = draw_word(s, k);
    for (int64_t t = 1; t < n; t++)
        tokens[t] = rng_open01(&s->r) < STAY ? (int32_t)((tokens[t - 1] + 1) % V) : draw_word(s, k);
    double top = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < K; j++) {
        const double *phi = s->phi + j * V;
        double lp = log(s->theta[j]) + log(phi[tokens[0]]);
        for (int64_t t = 1; t < n; t++)
            lp += log(STAY * (tokens[t] == (tokens[t - 1] + 1) % V) + (1.0 - STAY) * phi[tokens[t]]);
        s->logp[j] = lp;
        top = lp > top ? lp : top;
    }
    for (int64_t j = 0; j < K; j++)
        sum += exp(s->logp[j] - top);
    return -(top + log(sum));
}

/* Draws the current document's N sequences into s->tokens (lengths in lens): their total. */
static int64_t make_seqs(synth *s, synth_split *sp, int64_t i, int64_t *lens)
{
    int64_t total = 0, cap = 4 * s->o.seq_length;
    for (int64_t q = 0; q < s->o.seqs; q++) {
        int64_t n = 1 + rng_poisson(&s->r, (double)(s->o.seq_length - 1));
        lens[q] = n < cap ? n : cap;
        double nll = make_seq(s, s->tokens + total, lens[q]);
        sp->seq_nll[i * s->o.seqs + q] = (float)(nll / (double)lens[q]);
        sp->seq_nll_sum += nll;
        sp->seq_tokens += lens[q];
        total += lens[q];
    }
    return total;
}

/* Draws document d of split sp (its i-th) and adds it to the writer (and its sequences). */
static int make_doc(synth *s, synth_split *sp, int which, int64_t i)
{
    int64_t K = s->o.K, V = s->o.V, nnz = 0, lens[64];
    int64_t n = s->o.seqs ? s->o.seqs * 4 * s->o.seq_length : 1 + rng_poisson(&s->r, (double)(s->o.length - 1));
    double nll = 0.0, seq_nll = sp->seq_nll_sum;
    char doc_id[32];
    if (reserve_tokens(s, n) != 0)
        return 1;
    rng_dirichlet(&s->r, s->o.alpha, K, s->theta);
    if (s->o.seqs) {
        n = make_seqs(s, sp, i, lens);
    } else {
        for (int64_t t = 0; t < n; t++)
            s->tokens[t] = draw_word(s, draw_topic(s));
    }
    memcpy(s->sorted, s->tokens, (size_t)n * sizeof *s->sorted);
    qsort(s->sorted, (size_t)n, sizeof *s->sorted, cmp_int32);
    for (int64_t t = 0; t < n; t++) {
        if (nnz > 0 && s->ids[nnz - 1] == s->sorted[t]) {
            s->cnt[nnz - 1]++;
            continue;
        }
        s->ids[nnz] = s->sorted[t];
        s->cnt[nnz++] = 1;
    }
    for (int64_t e = 0; e < nnz; e++) {
        double p = 0.0;
        for (int64_t k = 0; k < K; k++)
            p += s->theta[k] * s->phi[k * V + s->ids[e]];
        nll -= s->cnt[e] * log(p);
        sp->tf[s->ids[e]] += s->cnt[e];
        sp->df[s->ids[e]]++;
    }
    /* With sequences the document's tokens come from its sequences' process. */
    if (s->o.seqs)
        nll = sp->seq_nll_sum - seq_nll;
    for (int64_t k = 0; k < K; k++)
        sp->theta[i * K + k] = (float)s->theta[k];
    sp->nll[i] = (float)(nll / (double)n);
    sp->nll_sum += nll;
    sp->tokens += n;
    snprintf(doc_id, sizeof doc_id, "synth-%lld", (long long)(sp->first + i));
    if (vae_corpus_writer_add_doc(s->w, split_names[which], s->ids, s->cnt, nnz, doc_id) != VAE_OK)
        return fail("%s", vae_error_message());
    for (int64_t q = 0, at = 0; q < s->o.seqs; at += lens[q], q++)
        if (vae_corpus_writer_add_seq(s->w, split_names[which], i, s->tokens + at, lens[q]) != VAE_OK)
            return fail("%s", vae_error_message());
    return 0;
}

/* The split's perplexity under the add-one smoothed unigram distribution of train. */
static double unigram_ppl(const synth *s, const synth_split *sp)
{
    const synth_split *train = &s->split[0];
    double denom = (double)train->tokens + (double)s->o.V, logp = 0.0;
    if (sp->tokens == 0)
        return NAN;
    for (int64_t w = 0; w < s->o.V; w++)
        if (sp->tf[w] > 0)
            logp += (double)sp->tf[w] * log(((double)train->tf[w] + 1.0) / denom);
    return exp(-logp / (double)sp->tokens);
}

static int put_floats(synth *s, const char *split, const char *name, const float *data, int64_t rows,
                      int64_t cols)
{
    char path[64];
    snprintf(path, sizeof path, "/synthetic%s%s/%s", split ? "/" : "", split ? split : "", name);
    return vae_corpus_writer_put_floats(s->w, path, data, rows, cols) == VAE_OK
               ? 0
               : fail("%s", vae_error_message());
}

/* Writes the vocabulary, /synthetic and the attributes, and prints the figures as JSON. */
static int finish(synth *s)
{
    int64_t V = s->o.V, K = s->o.K;
    char **words = calloc((size_t)V, sizeof *words);
    char *chars = malloc((size_t)V * 24);
    float *topics = malloc((size_t)(K * V) * sizeof *topics);
    char json[512];
    int rc = 0;
    if (!words || !chars || !topics) {
        rc = fail("out of memory for the vocabulary");
        goto cleanup;
    }
    for (int64_t w = 0; w < V; w++) {
        words[w] = chars + w * 24;
        snprintf(words[w], 24, "w%05lld", (long long)w);
    }
    for (int64_t i = 0; i < K * V; i++)
        topics[i] = (float)s->phi[i];
    int at = snprintf(json, sizeof json,
                      "{\"docs\": %lld, \"vocab\": %lld, \"topics\": %lld, \"doc_length\": %lld, \"alpha\": %.17g, "
                      "\"seed\": %lld, \"valid_frac\": %.17g, \"test_frac\": %.17g",
                      (long long)s->o.docs, (long long)V, (long long)K, (long long)s->o.length, s->o.alpha,
                      (long long)s->o.seed, s->o.valid_frac, s->o.test_frac);
    if (s->o.seqs)
        at += snprintf(json + at, sizeof json - (size_t)at,
                       ", \"sequences\": %lld, \"seq_length\": %lld, \"stay\": %.17g", (long long)s->o.seqs,
                       (long long)s->o.seq_length, STAY);
    snprintf(json + at, sizeof json - (size_t)at, "}");
    if (vae_corpus_writer_set_vocab(s->w, (const char *const *)words, s->split[0].df, s->split[0].tf, V) !=
            VAE_OK ||
        vae_corpus_writer_set_attr_str(s->w, "synthetic", json) != VAE_OK) {
        rc = fail("%s", vae_error_message());
        goto cleanup;
    }
    if ((rc = put_floats(s, NULL, "topics", topics, K, V)) != 0)
        goto cleanup;
    if (!s->o.quiet)
        printf("{\"synthetic\": %s", json);
    for (int i = 0; i < NUM_SPLITS; i++) {
        synth_split *sp = &s->split[i];
        float oracle = (float)exp(sp->nll_sum / (double)(sp->tokens ? sp->tokens : 1));
        float unigram = (float)unigram_ppl(s, sp);
        if (sp->D == 0 && i > 0)
            continue;
        float seq_oracle = (float)exp(sp->seq_nll_sum / (double)(sp->seq_tokens ? sp->seq_tokens : 1));
        if ((rc = put_floats(s, split_names[i], "theta", sp->theta, sp->D, K)) != 0 ||
            (rc = put_floats(s, split_names[i], "oracle_nll", sp->nll, sp->D, 0)) != 0 ||
            (rc = put_floats(s, split_names[i], "oracle_ppl", &oracle, 1, 0)) != 0 ||
            (rc = put_floats(s, split_names[i], "unigram_ppl", &unigram, 1, 0)) != 0)
            goto cleanup;
        if (s->o.seqs &&
            ((rc = put_floats(s, split_names[i], "seq_oracle_nll", sp->seq_nll, sp->D * s->o.seqs, 0)) != 0 ||
             (rc = put_floats(s, split_names[i], "seq_oracle_ppl", &seq_oracle, 1, 0)) != 0))
            goto cleanup;
        if (!s->o.quiet)
            printf(
                ", \"%s\": {\"docs\": %lld, \"tokens\": %lld, \"oracle_ppl\": %.6g, \"unigram_ppl\": %.6g",
                split_names[i], (long long)sp->D, (long long)sp->tokens, oracle, unigram);
        if (!s->o.quiet && s->o.seqs)
            printf(", \"seqs\": %lld, \"seq_oracle_ppl\": %.6g", (long long)(sp->D * s->o.seqs), seq_oracle);
        if (!s->o.quiet)
            printf("}");
    }
    if (!s->o.quiet)
        printf("}\n");
    if (vae_corpus_writer_commit(s->w) != VAE_OK)
        rc = fail("%s", vae_error_message());
cleanup:
    free(words);
    free(chars);
    free(topics);
    return rc;
}

static int run(const synth_opts *o)
{
    synth s;
    int64_t n_valid = (int64_t)floor((double)o->docs * o->valid_frac + 0.5);
    int64_t n_test = (int64_t)floor((double)o->docs * o->test_frac + 0.5);
    int64_t sizes[NUM_SPLITS] = {o->docs - n_valid - n_test, n_valid, n_test};
    int64_t first = 0;
    int rc = 0;
    memset(&s, 0, sizeof s);
    s.o = *o;
    rng_seed(&s.r, (uint64_t)o->seed);
    s.phi = calloc((size_t)(o->K * o->V), sizeof *s.phi);
    s.cdf = calloc((size_t)(o->K * o->V), sizeof *s.cdf);
    s.theta = calloc((size_t)o->K, sizeof *s.theta);
    s.logp = calloc((size_t)o->K, sizeof *s.logp);
    for (int i = 0; i < NUM_SPLITS; first += sizes[i], i++) {
        synth_split *sp = &s.split[i];
        sp->first = first;
        sp->D = sizes[i];
        sp->tf = calloc((size_t)o->V, sizeof *sp->tf);
        sp->df = calloc((size_t)o->V, sizeof *sp->df);
        sp->nll = calloc((size_t)(sp->D ? sp->D : 1), sizeof *sp->nll);
        sp->theta = calloc((size_t)(sp->D ? sp->D * o->K : 1), sizeof *sp->theta);
        sp->seq_nll = calloc((size_t)(sp->D * o->seqs > 0 ? sp->D * o->seqs : 1), sizeof *sp->seq_nll);
        if (!sp->tf || !sp->df || !sp->nll || !sp->theta || !sp->seq_nll)
            rc = 1;
    }
    if (rc || !s.phi || !s.cdf || !s.theta || !s.logp) {
        rc = fail("out of memory for the topics and documents");
        goto cleanup;
    }
    if (vae_corpus_writer_new(&s.w, o->out) != VAE_OK ||
        (o->seqs && vae_corpus_writer_set_sequences(s.w, "sentence", 4 * o->seq_length) != VAE_OK)) {
        rc = fail("%s", vae_error_message());
        goto cleanup;
    }
    make_topics(&s);
    for (int i = 0; i < NUM_SPLITS && rc == 0; i++) {
        /* A split asked for stays in the file even when rounding leaves it no document. */
        if ((i == 0 || (i == 1 ? o->valid_frac : o->test_frac) > 0) &&
            vae_corpus_writer_add_split(s.w, split_names[i]) != VAE_OK)
            rc = fail("%s", vae_error_message());
        for (int64_t d = 0; d < s.split[i].D && rc == 0; d++)
            rc = make_doc(&s, &s.split[i], i, d);
    }
    if (rc == 0)
        rc = finish(&s);
cleanup:
    vae_corpus_writer_free(s.w);
    for (int i = 0; i < NUM_SPLITS; i++) {
        free(s.split[i].tf);
        free(s.split[i].df);
        free(s.split[i].nll);
        free(s.split[i].theta);
        free(s.split[i].seq_nll);
    }
    free(s.phi);
    free(s.cdf);
    free(s.theta);
    free(s.logp);
    free(s.tokens);
    free(s.ids);
    free(s.cnt);
    free(s.sorted);
    return rc;
}

/* ---- the command line ---- */

static const cli_entry entries[] = {
    {"out", "OUT.h5", "the corpus file to write", CLI_STRING, CLI_AT(synth_opts, out), .alias = "-o",
     .required = 1},
    {"docs", "N", "documents in all", CLI_INT, CLI_AT(synth_opts, docs), .min = 1, .max = INT32_MAX},
    {"vocab", "V", "words", CLI_INT, CLI_AT(synth_opts, V), .min = 1, .max = INT32_MAX},
    {"topics", "K", "planted topics", CLI_INT, CLI_AT(synth_opts, K), .min = 1, .max = 1 << 16},
    {"doc-length", "L", "mean tokens of a document: 1 + Poisson(L - 1)", CLI_INT, CLI_AT(synth_opts, length),
     .min = 1, .max = 1 << 24},
    {"alpha", "A", "each document mixes the topics by theta ~ Dirichlet(A)", CLI_REAL, CLI_AT(synth_opts, alpha),
     .lo = 1e-3, .hi = 1e6},
    {"seed", "S", "the same flags and seed give the same file", CLI_INT, CLI_AT(synth_opts, seed), .min = 0,
     .max = INT64_MAX},
    {"valid-frac", "F", "fraction of the documents in valid (after those of train)", CLI_REAL,
     CLI_AT(synth_opts, valid_frac), .lo = 0.0, .hi = 1.0},
    {"test-frac", "F", "fraction in test (the last ones)", CLI_REAL, CLI_AT(synth_opts, test_frac), .lo = 0.0,
     .hi = 1.0},
    {"sequences", "N", "each document is instead N sentences (a version 2 file with /<split>/seq, unit "
     "sentence): each of a topic drawn from theta, of 1 + Poisson(L - 1) tokens (L = --seq-length, at most 4L: "
     "the max_length), a first word from the topic, then each next word the successor (w + 1 mod V) of the one "
     "before with probability 0.5, else a fresh draw from the topic; /synthetic/<split> then also holds "
     "seq_oracle_nll and seq_oracle_ppl, the exact likelihood given theta. Not with --doc-length",
     CLI_INT, CLI_AT(synth_opts, seqs), .min = 0, .max = 64},
    {"seq-length", "L", "mean tokens of a sentence of --sequences", CLI_INT, CLI_AT(synth_opts, seq_length),
     .min = 1, .max = 1 << 16},
    {"quiet", NULL, "print nothing", CLI_SWITCH, CLI_AT(synth_opts, quiet), .on = 1},
};

static const cli_table table = {
    .prog = "vae-synth",
    .usage = "usage: vae-synth -o OUT.h5 [options]\n"
             "Writes a vae-corpus file of documents drawn from planted topics; the first documents go to train,\n"
             "then valid, then test. /synthetic holds the topics, each document's theta and oracle NLL per token,\n"
             "and per split the oracle and unigram perplexities, which are also printed as JSON unless --quiet.\n"
             "\n",
    CLI_ENTRIES(entries),
};

int main(int argc, char **argv)
{
    synth_opts o = {.docs = 2000, .V = 1000, .K = 10, .length = 80, .alpha = 0.1, .valid_frac = 0.1,
                    .test_frac = 0.1, .seq_length = 12};
    cli_args a;
    int rc = cli_run(&a, &table, &o, argc, argv, 1);
    if (rc == 0 && o.seqs && cli_given(&a, "doc-length"))
        rc = cli_say("vae-synth: --doc-length is not used with --sequences (see --help)\n");
    else if (rc == 0 && !o.seqs && cli_given(&a, "seq-length"))
        rc = cli_say("vae-synth: --seq-length needs --sequences (see --help)\n");
    else if (rc == 0 && o.K > o.V)
        rc = cli_say("vae-synth: --topics %lld exceeds --vocab %lld (see --help)\n", (long long)o.K, (long long)o.V);
    else if (rc == 0 && o.docs - (int64_t)floor((double)o.docs * o.valid_frac + 0.5) -
                                (int64_t)floor((double)o.docs * o.test_frac + 0.5) < 1)
        rc = cli_say("vae-synth: --valid-frac and --test-frac leave no training document (see --help)\n");
    if (rc == 0)
        rc = run(&o);
    cli_free(&a);
    return rc == CLI_EXIT ? 0 : rc;
}
