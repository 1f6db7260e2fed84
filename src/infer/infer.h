/* vae-infer as library code (SPEC.md "vae-infer"): the scoring functions (score.c), the decoding of
 * sentences (decode_seq.c) and the importance-weighted likelihood (iw.c), which see only a vae_model
 * and buffers so that the unit tests can run them on models of their own, and the subcommands (eval,
 * topics, generate, summarize, encode: infer.c; reconstruct, interpolate and generate for families
 * that decode sequences: infer_seq.c) over a checkpoint loaded for inference, whatever its family.
 * MPI only through vae_comm, HDF5 only through the corpus,
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

/* The weights exp((logp[c] - max) / temperature) of n classes, summed as they go into cdf[n]; returns
 * the total. infer_cdf_pick: the first class whose cdf exceeds target (in [0, total)). */
double infer_tempered_cdf(const float *logp, int64_t n, double temperature, double *cdf);
int64_t infer_cdf_pick(const double *cdf, int64_t n, double target);

/* log p(w | z = 0): the background that keyword scores are contrasted with, bg[V]. */
int infer_background(vae_model *m, float *bg);

/* For each document r of docs, its k keywords: among the words present in it, those with the
 * highest log p(w | z = mu_r) - bg[w], into kw[r * k ..], their number into count[r]. */
int infer_keywords(vae_model *m, const vae_docs *docs, const float *bg, int k, int32_t *kw, int *count);

/* ---- decoding sentences (decode_seq.c) ---- */

/* How a family that decodes sequences (vae_model_seq_classes > 0) turns z into a sentence. Greedy:
 * the most probable token at each position (ties to the lower id). Sample: a token from
 * softmax(log p / temperature) by inverse CDF of the t-th uniform of the stream (seed, index, 1),
 * for the sentence numbered index. Beam: the K most probable prefixes (log-probabilities summed,
 * no length normalization) of every continuation of the live ones, a prefix ending at </s> leaving
 * the beam; the search ends when none is live or when the best ended one scores at least the best
 * live one (which can only fall), and gives the best ended one. A sentence ends at </s> or after
 * max_length tokens (then without the </s> term); with K = 1, the beam is greedy decoding exactly. */
typedef enum { INFER_GREEDY, INFER_SAMPLE, INFER_BEAM } infer_decode_mode;

typedef struct {
    infer_decode_mode mode;
    int beam;           /* INFER_BEAM: K >= 1 */
    double temperature; /* INFER_SAMPLE: above 0 */
    uint64_t seed;      /* INFER_SAMPLE */
    int max_length;     /* >= 1 */
} infer_decode_opts;

typedef struct infer_seq_decoder infer_seq_decoder;

/* Buffers for decoding as many sentences at once as the model's capacity allows (capacity / K). */
int infer_seq_decoder_new(infer_seq_decoder **out, vae_model *m, const infer_decode_opts *o);
void infer_seq_decoder_free(infer_seq_decoder *d);
int infer_seq_decoder_capacity(const infer_seq_decoder *d);
/* Sentences from n latent vectors z [n, L] (n <= the capacity): sentence i's tokens (</s> left
 * out) into tokens[i * max_length ..], their number into length[i], and, when logp is not NULL,
 * the sentence's log-probability under the model (the </s> term included when it ended so) into
 * logp[i]. index[i] numbers sentence i for sampling (unused otherwise; may then be NULL). */
int infer_seq_decode(infer_seq_decoder *d, const float *z, int n, const int64_t *index, int32_t *tokens, int *length,
                     double *logp);

/* ---- the importance-weighted likelihood (iw.c) ---- */

/* Sums over units, to be combined across batches and ranks, of the estimates of Burda et al. 2015
 * from K draws of vae_model_log_weights: per unit, nll_iw = -logsumexp_k(logw_k) + log K and the
 * bound of the same draws, mean_k(-logw_k) (>= nll_iw by Jensen's inequality), over the units that
 * have tokens (a document without any is skipped, as SPEC's figures skip it). */
typedef struct {
    double nll_iw, nll_bound, units, tokens;
} infer_iw_sums;

/* Adds the batch's units into s; logw: [units of the batch * K] scratch. tokens counts what SPEC's
 * figures count: a document's words, a sequence's tokens and its </s>. */
int infer_iw_add(vae_model *m, const vae_batch *b, int K, double *logw, infer_iw_sums *s);

/* ---- extractive summaries (extract.c) ---- */

/* The sentences of a document that the model finds most representative of it. The document is
 * encoded as one unit (its sentences' bags summed; their tokens, in document order, for families
 * that read sequences), z_d the mean of q(z | document). For a family whose decoder gives p(w | z),
 * each word of the document weighs q(w) = 0.3 n_w / N + 0.7 p(w | z_d) (its share of the document's
 * tokens mixed with the decoder's distribution at z_d, which shifts weight toward the words the
 * model has learnt go with the document's subject), and a set S of sentences scores q of its
 * distinct words / (its words of the vocabulary + 2): the document's weighty words at little
 * length (for any other family: S encoded as one unit, the cosine of its mean and z_d). S grows
 * greedily, one sentence a step, the one that makes the set score best (ties to the earlier
 * sentence), so a sentence that repeats what S already says adds little; and a near-duplicate of a
 * chosen sentence (cosine of their word counts >= 0.8) is taken only when no other candidate is
 * left. A sentence with no word of the vocabulary is never chosen. Deterministic: z is always the
 * mean. */
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
    /* Families that decode sequences: generate's choice of tokens (beam 0: none asked; greedy:
     * --greedy), every decoding's length cap, interpolate's ends and steps. */
    int greedy, beam;
    int max_length;
    const char *from, *to;
    int steps;
    int iw_samples;       /* eval --iw-samples K; 0: none */
    /* The first flag given that applies only to a family that decodes sequences (--beam, say),
     * and the first that applies only to one that does not (generate --length): NULL for none.
     * The checkpoint names its family, so these are checked once it is loaded (INFER_USAGE). */
    const char *seq_flag, *doc_flag;
} infer_opts;

/* A usage error found once the checkpoint is loaded (a flag that its family does not take):
 * vae-infer exits 2 with the message. */
#define INFER_USAGE (-2)

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
/* Families that decode sequences (infer_seq.c): each line of o->text encoded (z = mu) and decoded;
 * the sentences along the line from o->from's encoding to o->to's, o->steps + 1 of them; and
 * generate's sentences (infer_generate_sentences, below). */
int infer_reconstruct(const infer_opts *o, vae_comm *comm, FILE *out, int *who);
int infer_interpolate(const infer_opts *o, vae_comm *comm, FILE *out, int *who);

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
/* The word of a token id: the vocabulary's, "<unk>" for V. */
const char *infer_token_word(const infer_loaded *m, int32_t id);
/* The tokens ids[0..n) as their words separated by spaces; and as one output line, plain or, with
 * --json, {"<index_key>": index, "<key>": [words]}. */
void infer_put_words(FILE *out, const infer_loaded *m, const int32_t *ids, int n);
int infer_put_word_line(FILE *out, const infer_opts *o, json_buf *j, const infer_loaded *m, const char *index_key,
                        int64_t index, const char *key, const int32_t *ids, int n);
/* Appends the tokens of text[0..n) as sequence q->num_seqs of q (numbered so, from document doc):
 * ids in the vocabulary, V for a token outside it, as vae-prep --sequences makes them. */
int infer_append_text_seq(vae_seqs *q, const vae_tokenizer *t, const vae_wordtab *vocab, int64_t V, const char *text,
                          size_t n, int64_t doc);
/* The split's units of the model's kind (documents or sequences) [first, first + n) into the
 * model's batch b (docs or seqs filled; list: room for n row numbers), the model's token capacity
 * grown for them as needed. units: their number in the split. */
int64_t infer_split_units(const infer_loaded *m, const vae_split_info *info);
int infer_read_units(const infer_loaded *m, vae_corpus *c, const char *split, int64_t first, int64_t n, int64_t *list,
                     vae_docs *docs, vae_seqs *seqs, vae_batch *b);
/* The usage error of a flag that the checkpoint's family does not take (INFER_USAGE after the
 * message), or VAE_OK. */
int infer_check_family_flags(const infer_loaded *m, const infer_opts *o);
/* generate for a family that decodes sequences (infer_seq.c), which infer_generate hands over to. */
int infer_generate_sentences(const infer_opts *o, infer_loaded *m, FILE *out);
/* summarize --sentences (summarize_sentences.c), which infer_summarize hands over to. */
int infer_summarize_sentences(const infer_opts *o, FILE *out);

#endif
