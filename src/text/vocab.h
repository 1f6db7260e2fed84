/* Word tables and vae-prep's vocabulary rules. A vae_wordtab maps words (byte strings without NUL)
 * to dense ids 0..n-1 in the order they were added, and carries per-word document and term
 * frequencies. The same type serves as the
 * counting table of vae-prep's first pass, as the vocabulary (ids = the corpus file's word ids),
 * and as a stopword set. */
#ifndef VAE_VOCAB_H
#define VAE_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct vae_wordtab vae_wordtab;

int vae_wordtab_new(vae_wordtab **out);
/* Caps the memory the table may take (its slots, word arrays and characters) at bytes, 0 for no
 * cap: adding a word that would grow it past the cap fails with VAE_ERR_NOMEM naming the cap. */
void vae_wordtab_set_limit(vae_wordtab *t, size_t bytes);
/* A table holding words[0..n) with ids 0..n-1, e.g. a corpus's /vocab/words; a repeated word is
 * VAE_ERR_FORMAT naming it. Frequencies start at zero. */
int vae_wordtab_from_words(vae_wordtab **out, const char *const *words, int64_t n);
void vae_wordtab_free(vae_wordtab *t);

int64_t vae_wordtab_size(const vae_wordtab *t);
/* The id of word[0..len), or -1 when absent. */
int64_t vae_wordtab_find(const vae_wordtab *t, const char *word, size_t len);
/* Adds word[0..len) when absent; *id (may be NULL) receives its id either way. */
int vae_wordtab_add(vae_wordtab *t, const char *word, size_t len, int64_t *id);
/* The word of id, NUL-terminated, valid until the table grows. */
const char *vae_wordtab_word(const vae_wordtab *t, int64_t id);
/* A malloc'ed array of the n words in id order (pointers into the table, valid until it grows),
 * in the shape vae_corpus_writer_set_vocab takes. */
int vae_wordtab_word_list(const vae_wordtab *t, const char ***words);

/* Counts one occurrence of word id in document doc (a number >= 0 that differs between documents
 * and never goes back to an earlier document): term_freq += 1, and doc_freq += 1 on the word's
 * first occurrence in doc. */
void vae_wordtab_count(vae_wordtab *t, int64_t id, int64_t doc);
const int64_t *vae_wordtab_doc_freq(const vae_wordtab *t);
const int64_t *vae_wordtab_term_freq(const vae_wordtab *t);
/* Adds df and tf to word id's frequencies: counts of other documents (another rank's). */
void vae_wordtab_add_freq(vae_wordtab *t, int64_t id, int64_t df, int64_t tf);

typedef struct {
    int64_t min_df;     /* keep words in at least this many training documents */
    double max_df_frac; /* ... and in at most this fraction of them */
    int64_t max_words;  /* then the max_words most frequent */
} vae_vocab_rules;

/* The vocabulary chosen from counts (frequencies over num_docs training documents) by rules:
 * words with min_df <= df <= max_df_frac * num_docs, the max_words of highest df, ties broken by
 * the word (bytewise ascending). Ids follow the same order: descending df, then word. The new table
 * carries the words' frequencies. An empty result is not an error (size 0). */
int vae_vocab_select(vae_wordtab **out, const vae_wordtab *counts, int64_t num_docs,
                     const vae_vocab_rules *rules);

#endif
