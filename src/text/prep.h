/* vae-prep as library code: raw text in, a corpus file (SPEC.md "Corpus file") out, in two
 * streaming passes over the inputs. Pass 1 counts the words of the training documents; the
 * vocabulary is chosen from those counts (or taken from another corpus); pass 2 maps each document
 * to word ids and appends it to its split, and with sequences its units (sentences.h) as token
 * ids, in the same tokenization. Memory is bounded by the word table and the longest document,
 * never by the size of the corpus. */
#ifndef VAE_PREP_H
#define VAE_PREP_H

#include "prep_input.h"
#include "sentences.h"
#include "tokenize.h"
#include "vocab.h"

#include "vae/comm.h"

#include <stddef.h>
#include <stdint.h>

enum { VAE_SPLIT_TRAIN, VAE_SPLIT_VALID, VAE_SPLIT_TEST, VAE_NUM_SPLITS };

typedef struct {
    vae_input_format format;
    const char *text_field;   /* jsonl member holding the text */
    vae_tokenizer tok;        /* its stopwords come from the stopwords option */
    const char *stopwords;    /* "en", "none" or a file */
    vae_vocab_rules rules;
    const char *vocab_from;   /* a corpus whose vocabulary to reuse, or NULL */
    double valid_frac, test_frac;
    uint64_t seed;
    int sequences;            /* also write each document's units as sequences (version 2) */
    vae_unit seq_unit;        /* ... of this unit */
    int64_t max_length;       /* ... cut into pieces of at most this many tokens */
    int64_t word_table_mb;    /* the cap on pass 1's table of distinct tokens */
    int quiet;                /* no progress lines on stderr */
    int ranks_per_node;       /* > 0: runs of that many consecutive ranks count as nodes (tests) */
    const char *prog;         /* names the progress lines */
    const char *out_path;
    const char *const *inputs;
    int num_inputs;
    vae_comm *comm;           /* the ranks sharing the work (prep_parallel.c), or NULL: one process */
} vae_prep_options;

typedef struct {
    int64_t docs_read;          /* documents found in the inputs */
    int64_t docs_dropped_empty; /* of which no word is in the vocabulary */
    int64_t docs_kept;          /* written, per split in split_docs */
    int64_t split_docs[VAE_NUM_SPLITS];
    int64_t vocab_size;
    int64_t seqs_written;       /* with sequences: of the documents written */
    int64_t units_cut;          /* of which units longer than max_length, each cut in pieces */
    int64_t input_bytes; /* read by one pass */
    double seconds;      /* both passes */
} vae_prep_stats;

/* The defaults of vae-prep's flags. */
void vae_prep_options_init(vae_prep_options *o);
/* Turns sequences on, of unit, with the defaults a language model needs (they keep "the", "a" and
 * "I" words): no stopwords, tokens of one letter and more, no upper limit on document frequency.
 * Flags read after it override them. */
void vae_prep_options_sequences(vae_prep_options *o, vae_unit unit);
/* Called by every rank of o->comm alike; the stats are the whole run's on every rank. */
int vae_prep_run(const vae_prep_options *o, vae_prep_stats *stats);

/* The split of a document: a 64-bit hash of (seed, its text bytes) taken as a fraction u in [0, 1):
 * valid when u < valid_frac, test when u < valid_frac + test_frac, train otherwise. So it depends
 * on nothing but the text and the seed, and equal texts share a split. */
int vae_split_of(uint64_t seed, const char *text, size_t n, double valid_frac, double test_frac);
const char *vae_split_name(int split);

#endif
