/* Vocabulary words: what makes one valid, their one hash, and a set that finds duplicates among
 * them without keeping the words (the corpus and checkpoint readers check /vocab/words with it). */
#include "words.h"

#include <string.h>

#include "hash.h"
#include "vae/common.h"

/* The table starts with room for at most this many words, however many a file declares. */
#define WORDSET_FIRST_SIZE 65536

/* White space of ASCII and Unicode (the spaces the tokenizer separates at), and control characters:
 * they would split a word in the programs' word lists (topics, summarize) or garble a terminal. */
static const char *code_problem(uint32_t c)
{
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
        (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
        return "holds white space";
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
        return "holds a control character";
    return NULL;
}

const char *vae_word_problem(const char *word)
{
    static const uint32_t min_code[4] = {0, 0x80, 0x800, 0x10000};
    const unsigned char *p = (const unsigned char *)word;
    if (!*p)
        return "is empty";
    while (*p) {
        unsigned lead = *p;
        int more;
        uint32_t code;
        if (lead < 0x80) {
            if (code_problem(lead))
                return code_problem(lead);
            p++;
            continue;
        }
        if ((lead & 0xE0) == 0xC0) {
            more = 1;
            code = lead & 0x1F;
        } else if ((lead & 0xF0) == 0xE0) {
            more = 2;
            code = lead & 0x0F;
        } else if ((lead & 0xF8) == 0xF0) {
            more = 3;
            code = lead & 0x07;
        } else {
            return "is not valid UTF-8";
        }
        /* Stops at the first byte that is not a continuation, so never past the terminator. */
        for (int k = 1; k <= more; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return "is not valid UTF-8";
            code = code << 6 | (p[k] & 0x3F);
        }
        if (code < min_code[more] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return "is not valid UTF-8";
        if (code_problem(code))
            return code_problem(code);
        p += more + 1;
    }
    return NULL;
}

uint64_t vae_word_hash(const char *word) { return vae_hash_bytes(0, word, strlen(word)); }

/* A table of cap slots (a power of two), all empty. */
static int wordset_alloc(vae_wordset *s, uint64_t cap)
{
    s->hash = vae_malloc_array(cap, sizeof *s->hash);
    s->index = vae_malloc_array(cap, sizeof *s->index);
    if (!s->hash || !s->index) {
        vae_wordset_free(s);
        return VAE_ERR_NOMEM;
    }
    memset(s->index, 0xff, cap * sizeof *s->index);
    s->mask = cap - 1;
    return VAE_OK;
}

/* Sized for at most WORDSET_FIRST_SIZE words at first, however many n announces (a file may declare far more
 * words than it holds: the table must not be sized by the declaration), then doubled as words
 * arrive, so that at most half of the slots are taken. */
int vae_wordset_init(vae_wordset *s, int64_t n)
{
    uint64_t cap = 16;
    memset(s, 0, sizeof *s);
    while (cap < 2 * (uint64_t)(n < WORDSET_FIRST_SIZE ? n : WORDSET_FIRST_SIZE))
        cap <<= 1;
    return wordset_alloc(s, cap);
}

static int wordset_grow(vae_wordset *s)
{
    vae_wordset old = *s;
    if (old.mask + 1 >= (1ULL << 40))
        return vae_fail(VAE_ERR_NOMEM, "too many words for the table of unique words");
    int rc = wordset_alloc(s, 2 * (old.mask + 1));
    if (rc != VAE_OK) {
        *s = old;
        return rc;
    }
    s->count = old.count;
    for (uint64_t k = 0; k <= old.mask; k++)
        if (old.index[k] >= 0) {
            uint64_t slot = old.hash[k] & s->mask;
            while (s->index[slot] >= 0)
                slot = (slot + 1) & s->mask;
            s->hash[slot] = old.hash[k];
            s->index[slot] = old.index[k];
        }
    vae_wordset_free(&old);
    return VAE_OK;
}

int vae_wordset_add(vae_wordset *s, uint64_t hash, int64_t i, vae_same_word_fn same, void *ctx, int64_t *dup)
{
    *dup = -1;
    if (2 * ((uint64_t)s->count + 1) > s->mask + 1) {
        int rc = wordset_grow(s);
        if (rc != VAE_OK)
            return rc;
    }
    uint64_t slot = hash & s->mask;
    for (; s->index[slot] >= 0; slot = (slot + 1) & s->mask) {
        int equal = 0;
        if (s->hash[slot] != hash)
            continue;
        int rc = same(ctx, s->index[slot], i, &equal);
        if (rc != VAE_OK)
            return rc;
        if (equal) {
            *dup = s->index[slot];
            return VAE_OK;
        }
    }
    s->hash[slot] = hash;
    s->index[slot] = i;
    s->count++;
    return VAE_OK;
}

void vae_wordset_free(vae_wordset *s)
{
    vae_free_ptr(&s->hash);
    vae_free_ptr(&s->index);
}
