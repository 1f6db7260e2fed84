/* vae-infer as library code (SPEC.md "vae-infer"): the scoring functions (score.c), which see only
 * a vae_model and buffers so that the unit tests can run them on hand-set models, and the five
 * subcommands (eval, topics, generate, summarize, encode: infer.c) over a checkpoint loaded for
 * inference, whatever its model family. MPI only through vae_comm, HDF5 only through the corpus,
 * checkpoint and embeddings modules. */
#ifndef VAE_INFER_H
#define VAE_INFER_H

#include <stdint.h>
#include <stdio.h>

#include "vae/checkpoint.h"
#include "vae/comm.h"
#include "vae/corpus.h"
#include "vae/model.h"

/* ---- scoring on a model (score.c) ---- */

/* The k best of the candidates cand[0..n) (ids into score; cand = NULL means ids 0..n-1) by
 * descending score, ties to the lower id, into out[0..min(k, n)); returns that count. */
int infer_top_k(const double *score, const int32_t *cand, int64_t n, int k, int32_t *out);

/* For each latent unit u, the k words whose probability rises most when z_u goes from -2 to +2
 * with the other units at 0 (SPEC's words), ranked by p(w | z = 2 e_u) - p(w | z = -2 e_u): a
 * log-ratio would favour rare words whose tiny probability moves by a large factor:
 * top[u * k .. u * k + k). A family with a topic-word matrix (topic) ranks them by its weights
 * instead (vae_model_topic_words). weight (NULL: not wanted) gets each word's score alike. k <= V.
 * Needs a model batch capacity of at least 2. */
int infer_topic_words(vae_model *m, int k, int32_t *top, double *weight);

/* NPMI of the pair (i, j) over N documents, of which n_i hold i, n_j hold j and n_ij both:
 * log(P(i,j) / (P(i) P(j))) / -log P(i,j); -1 when they never co-occur, 1 when both are in every
 * document. */
double infer_npmi_pair(int64_t n_i, int64_t n_j, int64_t n_ij, int64_t N);

/* Document co-occurrence of the words of each topic (topics x n word ids), counted over documents
 * added in any number of batches: the data of each topic's NPMI coherence. */
typedef struct {
    int topics, n;
    int32_t *words;    /* [topics * n] */
    int64_t num_docs;
    int64_t *df;       /* [topics * n] documents holding each word */
    int64_t *pair_df;  /* [topics * n * n] documents holding words i < j of a topic, at [t][i][j] */
    unsigned char *in_doc; /* [V] scratch: the words of the document being counted */
    int64_t vocab_size;
} infer_cooc;

/* Topic t's words are words[t * stride .. t * stride + n). */
int infer_cooc_init(infer_cooc *c, const int32_t *words, int topics, int n, int stride, int64_t vocab_size);
void infer_cooc_add(infer_cooc *c, const vae_docs *docs);
/* The mean NPMI over the pairs of topic t's words (NaN with no documents or fewer than 2 words). */
double infer_cooc_npmi(const infer_cooc *c, int t);
void infer_cooc_free(infer_cooc *c);

/* Topic diversity: the share of distinct words among the first n words of each topic (topic t's
 * at words[t * stride ..]). */
int infer_diversity(const int32_t *words, int topics, int n, int stride, int64_t vocab_size, double *diversity);

/* Document doc of a generation keyed by seed: z ~ N(0, I) from vae_normals(seed, doc, 0), then
 * length words from softmax(log p(w | z) / temperature) by inverse CDF of
 * vae_uniforms(seed, doc, 1). */
int infer_generate_doc(vae_model *m, uint64_t seed, int64_t doc, int length, double temperature,
                       int32_t *words);

/* log p(w | z = 0): the background that keyword scores are contrasted with, bg[V]. */
int infer_background(vae_model *m, float *bg);

/* For each document r of docs, its k keywords: among the words present in it, those with the
 * highest log p(w | z = mu_r) - bg[w], into kw[r * k ..], their number into count[r]. */
int infer_keywords(vae_model *m, const vae_docs *docs, const float *bg, int k, int32_t *kw, int *count);

/* ---- the subcommands (infer.c) ---- */

typedef struct {
    const char *checkpoint;
    const char *corpus;   /* NULL when not given */
    const char *split;
    const char *text;     /* summarize --text FILE */
    const char *output;   /* encode -o */
    int top;              /* topics, summarize */
    int samples;          /* eval */
    int64_t num, length;  /* generate */
    uint64_t seed;
    double temperature;
    int json;
} infer_opts;

/* Each writes its result on out (rank 0 only for the collective ones) and returns a vae_status;
 * *who is the rank whose message to print on failure. eval and encode are collective: every rank
 * of comm calls them, and each rank works on its contiguous range of the split's documents. The
 * others are plain and ignore comm. */
typedef int (*infer_command)(const infer_opts *o, vae_comm *comm, FILE *out, int *who);

int infer_eval(const infer_opts *o, vae_comm *comm, FILE *out, int *who);
int infer_topics(const infer_opts *o, vae_comm *comm, FILE *out, int *who);
int infer_generate(const infer_opts *o, vae_comm *comm, FILE *out, int *who);
int infer_summarize(const infer_opts *o, vae_comm *comm, FILE *out, int *who);
/* Ranks send their rows of mu and logvar to rank 0 in rounds of one batch each; rank 0 writes
 * them to o->output. */
int infer_encode(const infer_opts *o, vae_comm *comm, FILE *out, int *who);

#endif
