/* Vocabulary words: what makes one valid, their one hash (hash.h's), and a set of their hashes
 * that finds duplicates without keeping the words. No HDF5: the readers supply the words. */
#ifndef VAE_WORDS_H
#define VAE_WORDS_H

#include <stddef.h>
#include <stdint.h>

/* NULL when word is a valid vocabulary entry (non-empty UTF-8 without white space or control
 * characters), else what is wrong with it. */
const char *vae_word_problem(const char *word);
uint64_t vae_word_hash(const char *word);

/* An open-addressing set of word hashes that finds duplicates without keeping the words: equal
 * hashes are settled by same(ctx, earlier, later, &equal), which returns a vae_status. */
typedef struct {
    uint64_t *hash;
    int64_t *index; /* -1: empty slot */
    uint64_t mask;
    int64_t count;  /* words added */
} vae_wordset;

typedef int (*vae_same_word_fn)(void *ctx, int64_t earlier, int64_t later, int *equal);

/* n is the number of words expected: the table starts at a bounded size and grows as they come. */
int vae_wordset_init(vae_wordset *s, int64_t n);
/* Adds word i; *dup becomes the index of an earlier equal word, or -1. */
int vae_wordset_add(vae_wordset *s, uint64_t hash, int64_t i, vae_same_word_fn same, void *ctx, int64_t *dup);
void vae_wordset_free(vae_wordset *s);

#endif
