/* vae-infer as library code (SPEC.md "vae-infer"): the scoring functions (score.c), which see only
 * a vae_model and buffers so that the unit tests can run them on hand-set models, and the five
 * subcommands (eval, topics, generate, summarize, encode: infer.c) over a checkpoint loaded for
 * inference, whatever its model family. MPI only through vae_comm, HDF5 only through the corpus,
 * checkpoint and embeddings modules. */
#ifndef VAE_INFER_H
#define VAE_INFER_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "tokenize.h"
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

/* ---- extractive summaries (extract.c) ---- */

/* The sentences of a document that the model finds most representative of it. A set S of its
 * sentences is encoded as one unit (their bags of words summed; their tokens, in document order,
 * for families that read sequences), z = the mean of q(z | S), and S scores, for a family whose
 * decoder gives p(w | z), the mean over the document's words of log p(w | z): how well the
 * summary's meaning, as the model reads it, predicts every word of the document, so a sentence of
 * the words the document is about wins over one of a side topic (for any other family: the cosine
 * of that mean and the document's). S grows greedily, one sentence a step, the one that makes the
 * set score best (ties to the earlier sentence), so a sentence that repeats what S already says
 * adds little; and a near-duplicate of a chosen sentence (cosine of their word counts >= 0.8) is
 * taken only when no other candidate is left. A sentence with no word of the vocabulary is never
 * chosen. Deterministic: z is always the mean. */
typedef struct infer_extractor infer_extractor;

/* Buffers for a model's batches (units of up to its capacity each, as many batches as a document's
 * candidates need) and, grown as documents need, per sentence. by_decoder: 1 scores by the decoder,
 * 0 by the encoder alone, -1 by the decoder when the model's family has one. */
int infer_extractor_new(infer_extractor **out, vae_model *m, int by_decoder);
void infer_extractor_free(infer_extractor *x);

typedef struct {
    int64_t index; /* the sentence's index in its document */
    double score;  /* the score of the chosen set when this sentence joined it */
} infer_pick;

/* The document's sentences are the sequences of s (tokens in [0, V], V a word outside the
 * vocabulary; an empty one allowed): up to k of them into picks[0..*count), in document order.
 * Fewer than k when fewer have a known word. */
int infer_extract(infer_extractor *x, const vae_seqs *s, int k, infer_pick *picks, int *count);

/* ---- the subcommands (infer.c, summarize_sentences.c) ---- */

typedef struct {
    const char *checkpoint;
    const char *corpus;   /* NULL when not given */
    const char *split;
    const char *text;     /* summarize --text FILE */
    const char *output;   /* encode -o */
    int top;              /* topics, summarize */
    int sentences;        /* summarize --sentences K; 0: keywords */
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

/* ---- what the subcommands share (infer.c) ---- */

/* A checkpoint loaded for inference, its model of capacity INFER_BATCH. */
#define INFER_BATCH 256

typedef struct {
    const char *path;
    vae_checkpoint *ck;
    vae_model *model;
    const char *const *words; /* [V], owned by ck */
    int64_t V;
    int L;
} infer_loaded;

int infer_load(infer_loaded *m, const char *path);
void infer_unload(infer_loaded *m);
/* Opens the corpus at path after checking that its vocabulary is the checkpoint's, word for word,
 * and that it has the split. */
int infer_open_split(const infer_loaded *m, const char *path, const char *split, vae_corpus **c,
                     vae_split_info *info);
/* The tokenizer that made the checkpoint's corpus, from the settings the trainer copied into it;
 * vae-prep's defaults for those it lacks (a corpus not made from text, say). */
int infer_checkpoint_tokenizer(const infer_loaded *m, vae_tokenizer *t);
/* Ends j's object and writes it as one line. */
int infer_put_json(FILE *out, json_buf *j);
/* summarize --sentences (summarize_sentences.c), which infer_summarize hands over to. */
int infer_summarize_sentences(const infer_opts *o, FILE *out);

#endif
