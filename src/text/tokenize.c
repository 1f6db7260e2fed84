/* Tokenizer "letters-v1" (rules in tokenize.h) and the text -> bag of words map built on it. */
#include "tokenize.h"

#include "vae/common.h"

#include <stdlib.h>
#include <string.h>

static inline int is_ascii_letter(unsigned c) { return (c | 0x20) - 'a' < 26u; }
static inline int is_ascii_digit(unsigned c) { return c - '0' < 10u; }
static inline char fold(unsigned c) { return (char)(c - 'A' < 26u ? c + ('a' - 'A') : c); }

void vae_tokenizer_init(vae_tokenizer *t)
{
    t->min_len = 2;
    t->max_len = 50;
    t->keep_digits = 0;
    t->stopwords = NULL;
}

int vae_tokenizer_check(const vae_tokenizer *t)
{
    if (t->min_len < 1 || t->min_len > VAE_TOKEN_LEN_LIMIT)
        return vae_fail(VAE_ERR_ARG, "tokenizer: min token length %d is not in [1, %d]", t->min_len,
                        VAE_TOKEN_LEN_LIMIT);
    if (t->max_len < t->min_len || t->max_len > VAE_TOKEN_LEN_LIMIT)
        return vae_fail(VAE_ERR_ARG, "tokenizer: max token length %d is not in [%d, %d]",
                        t->max_len, t->min_len, VAE_TOKEN_LEN_LIMIT);
    if (t->keep_digits != 0 && t->keep_digits != 1)
        return vae_fail(VAE_ERR_ARG, "tokenizer: keep_digits is %d, not 0 or 1", t->keep_digits);
    return VAE_OK;
}

static int is_separator_cp(uint32_t cp)
{
    return cp <= 0xBF || cp == 0xD7 || cp == 0xF7 ||
           (cp >= 0x2000 && cp <= 0x206F && cp != 0x200C && cp != 0x200D) ||
           (cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3000 && cp <= 0x3003) ||
           (cp >= 0x3008 && cp <= 0x3011) || (cp >= 0x3014 && cp <= 0x301F) || cp == 0xFEFF ||
           (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
           (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
           (cp >= 0xFFF0 && cp <= 0xFFFF);
}

/* The length of the letter starting at s[0] (s[0] >= 0x80, n bytes left), 0 when s[0] is not one. */
static size_t utf8_letter(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : lo; /* overlong */
        hi = c == 0xED ? 0x9F : hi; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
        lo = c == 0xF0 ? 0x90 : lo; /* overlong */
        hi = c == 0xF4 ? 0x8F : hi; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    return is_separator_cp(cp) ? 0 : len;
}

static inline size_t letter_len(const unsigned char *s, size_t n, int keep_digits)
{
    if (s[0] < 0x80)
        return is_ascii_letter(s[0]) || (keep_digits && is_ascii_digit(s[0]));
    return utf8_letter(s, n);
}

int vae_tokenize(const vae_tokenizer *t, const char *text, size_t n, vae_token_fn fn, void *ctx)
{
    int rc = vae_tokenizer_check(t);
    if (rc)
        return rc;
    const unsigned char *s = (const unsigned char *)text;
    int digits = t->keep_digits;
    char buf[4 * VAE_TOKEN_LEN_LIMIT];
    size_t i = 0;
    while (i < n) {
        size_t w = letter_len(s + i, n - i, digits);
        if (!w) {
            i++;
            continue;
        }
        size_t start = i, letters = 0;
        do {
            i += w;
            letters++;
        } while (i < n && (w = letter_len(s + i, n - i, digits)));
        if (letters < (size_t)t->min_len || letters > (size_t)t->max_len)
            continue;
        size_t len = i - start;
        for (size_t k = 0; k < len; k++)
            buf[k] = fold(s[start + k]);
        if (t->stopwords && vae_wordtab_find(t->stopwords, buf, len) >= 0)
            continue;
        rc = fn(ctx, buf, len);
        if (rc)
            return rc;
    }
    return VAE_OK;
}

int vae_bow_new(vae_bow **out, int64_t vocab_size)
{
    *out = NULL;
    vae_bow *b = calloc(1, sizeof *b);
    if (!b)
        return vae_fail(VAE_ERR_NOMEM, "out of memory creating a bag of words");
    b->vocab_size = vocab_size;
    b->ids = vae_malloc_array((size_t)vocab_size, sizeof *b->ids);
    b->counts = vae_malloc_array((size_t)vocab_size, sizeof *b->counts);
    b->dense = vae_calloc_array((size_t)vocab_size, sizeof *b->dense);
    b->seen = vae_calloc_array(((size_t)vocab_size + 63) / 64, sizeof *b->seen);
    if (!b->ids || !b->counts || !b->dense || !b->seen) {
        vae_bow_free(b);
        return VAE_ERR_NOMEM;
    }
    *out = b;
    return VAE_OK;
}

void vae_bow_free(vae_bow *b)
{
    if (!b)
        return;
    free(b->ids);
    free(b->counts);
    free(b->dense);
    free(b->seen);
    free(b);
}

void vae_bow_clear(vae_bow *b) { b->nnz = b->num_tokens = b->num_unknown = 0; }

/* ids collects each word's first occurrence; dense holds the counts until the document ends. */
int vae_bow_add(vae_bow *b, int64_t id, const char *token, size_t len)
{
    if (id < 0) {
        b->num_unknown++;
        return VAE_OK;
    }
    if (b->dense[id] == INT32_MAX)
        return vae_fail(VAE_ERR_ARG, "a document holds the word '%.*s' more than %d times",
                        (int)len, token, INT32_MAX);
    if (b->dense[id]++ == 0) {
        b->ids[b->nnz++] = (int32_t)id;
        b->seen[id >> 6] |= 1ull << (id & 63);
    }
    b->num_tokens++;
    return VAE_OK;
}

typedef struct {
    vae_bow *b;
    const vae_wordtab *vocab;
} bow_ctx;

static int bow_token(void *pctx, const char *token, size_t len)
{
    bow_ctx *c = pctx;
    return vae_bow_add(c->b, vae_wordtab_find(c->vocab, token, len), token, len);
}

/* Ids are distinct; an inline quicksort is several times faster than qsort's indirect calls here. */
static void sort_ids(int32_t *a, int64_t n)
{
    while (n > 16) {
        int32_t x = a[0], y = a[n / 2], z = a[n - 1];
        int32_t pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
        int64_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            int32_t t = a[i];
            a[i++] = a[j];
            a[j--] = t;
        }
        /* a[0..j] <= pivot <= a[j+1..n): recurse into the smaller part, loop on the larger */
        if (j + 1 < n - j - 1) {
            sort_ids(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            sort_ids(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int64_t i = 1; i < n; i++) {
        int32_t v = a[i];
        int64_t k = i;
        for (; k > 0 && a[k - 1] > v; k--)
            a[k] = a[k - 1];
        a[k] = v;
    }
}

/* Puts ids[0..nnz) in increasing order and clears seen: by reading the bitmap when that is
 * cheaper than sorting (many distinct words for the vocabulary's size), else by sorting. */
static void order_ids(vae_bow *b)
{
    int64_t words = (b->vocab_size + 63) / 64;
    if (words > 4 * b->nnz) {
        sort_ids(b->ids, b->nnz);
        for (int64_t k = 0; k < b->nnz; k++)
            b->seen[b->ids[k] >> 6] = 0;
        return;
    }
    int64_t k = 0;
    for (int64_t w = 0; w < words; w++) {
        for (uint64_t bits = b->seen[w]; bits; bits &= bits - 1)
            b->ids[k++] = (int32_t)(w * 64 + __builtin_ctzll(bits));
        b->seen[w] = 0;
    }
}

void vae_bow_finish(vae_bow *b)
{
    order_ids(b);
    for (int64_t k = 0; k < b->nnz; k++) {
        b->counts[k] = b->dense[b->ids[k]];
        b->dense[b->ids[k]] = 0;
    }
}

int vae_bow_from_text(vae_bow *b, const vae_tokenizer *t, const vae_wordtab *vocab, const char *text,
                      size_t n)
{
    if (vae_wordtab_size(vocab) != b->vocab_size)
        return vae_fail(VAE_ERR_ARG, "bag of words for %lld words used with a vocabulary of %lld",
                        (long long)b->vocab_size, (long long)vae_wordtab_size(vocab));
    vae_bow_clear(b);
    bow_ctx ctx = {b, vocab};
    int rc = vae_tokenize(t, text, n, bow_token, &ctx);
    vae_bow_finish(b);
    if (rc)
        b->nnz = b->num_tokens = 0;
    return rc;
}
