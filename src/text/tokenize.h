/* The tokenizer "letters-v1" of vae-prep, for every program that turns text into word counts (so
 * that vae-infer tokenizes new text exactly as the corpus was), and the text -> (ids, counts) map.
 *
 * A token is a maximal run of letters:
 * - ASCII letters, folded to lower case; ASCII digits too when keep_digits is set (otherwise they
 *   separate tokens, like every other ASCII byte);
 * - every valid multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most
 *   U+10FFFF), kept as is, except the code points that are spaces or punctuation in all scripts:
 *   U+0080-U+00BF (C1 controls, no-break space, Latin-1 punctuation and signs), U+00D7, U+00F7,
 *   U+2000-U+206F but U+200C/U+200D (General Punctuation: spaces, dashes, quotes), U+2E00-U+2E7F,
 *   U+3000-U+3003, U+3008-U+3011, U+3014-U+301F (CJK spaces, marks, brackets), U+FEFF (byte order
 *   mark), U+FF01-U+FF0F, U+FF1A-U+FF20, U+FF3B-U+FF40, U+FF5B-U+FF65 (fullwidth punctuation) and
 *   U+FFF0-U+FFFF (specials, U+FFFD included), which separate tokens;
 * - any other byte (an invalid UTF-8 byte, NUL, CR, ...) separates tokens.
 * Lengths are counted in code points (letters): a token of fewer than min_len or more than max_len
 * letters is dropped, as is a token in the stopword set (compared after folding). */
#ifndef VAE_TOKENIZE_H
#define VAE_TOKENIZE_H

#include "vocab.h"

#include <stddef.h>
#include <stdint.h>

#define VAE_TOKENIZER_NAME "letters-v1"
#define VAE_TOKEN_LEN_LIMIT 1000 /* the largest max_len allowed */

typedef struct {
    int min_len;                  /* letters, >= 1 (default 2) */
    int max_len;                  /* letters, min_len..VAE_TOKEN_LEN_LIMIT (default 50) */
    int keep_digits;              /* 0 (default) or 1 */
    const vae_wordtab *stopwords; /* NULL: none (default); borrowed */
} vae_tokenizer;

/* The defaults above. */
void vae_tokenizer_init(vae_tokenizer *t);
/* VAE_ERR_ARG naming the bad setting, or VAE_OK. */
int vae_tokenizer_check(const vae_tokenizer *t);

/* Receives each token (folded, not NUL-terminated, valid during the call); a non-zero return
 * stops vae_tokenize, which returns it. */
typedef int (*vae_token_fn)(void *ctx, const char *token, size_t len);

/* Calls fn for every token of text[0..n) in order. */
int vae_tokenize(const vae_tokenizer *t, const char *text, size_t n, vae_token_fn fn, void *ctx);

/* Stopword sets for vae_tokenizer.stopwords: spec "en" is the built-in English list, "none" gives
 * *out = NULL, anything else is a file of words, one a line (surrounding white space trimmed,
 * ASCII folded to lower case; blank lines and lines starting with '#' ignored). */
int vae_stopwords_load(vae_wordtab **out, const char *spec);

/* A document as a bag of words over a vocabulary: ids[0..nnz) strictly increasing, counts > 0. */
typedef struct {
    int64_t nnz;
    int32_t *ids;        /* [vocab_size] */
    int32_t *counts;     /* [vocab_size] */
    int64_t num_tokens;  /* tokens found in the vocabulary: the sum of counts */
    int64_t num_unknown; /* tokens that are not */
    int64_t vocab_size;
    int32_t *dense;      /* [vocab_size] scratch, all zero between calls */
    uint64_t *seen;      /* [vocab_size / 64 rounded up] scratch bitmap, all zero between calls */
} vae_bow;

int vae_bow_new(vae_bow **out, int64_t vocab_size);
void vae_bow_free(vae_bow *b);
/* Tokenizes text[0..n) with t and counts its tokens by their ids in vocab (whose size must be
 * b->vocab_size), replacing b's contents. */
int vae_bow_from_text(vae_bow *b, const vae_tokenizer *t, const vae_wordtab *vocab, const char *text,
                      size_t n);
/* The same a token at a time, for callers that look the ids up themselves: vae_bow_clear, then
 * vae_bow_add for each token (id in the vocabulary, -1 when it is not there; the token names it
 * in a message), then vae_bow_finish, which orders the ids and fills the counts. */
void vae_bow_clear(vae_bow *b);
int vae_bow_add(vae_bow *b, int64_t id, const char *token, size_t len);
void vae_bow_finish(vae_bow *b);

#endif
