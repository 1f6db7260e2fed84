/* Word tables (open addressing, linear probing) and the choice of vae-prep's vocabulary. Nothing
 * here depends on the table's hash or probe order, so results are the same on every machine. */
#include "vocab.h"
#include "hash.h"

#include "vae/common.h"

#include <stdlib.h>
#include <string.h>

/* Ids are int32 in the corpus file. */
#define MAX_WORDS INT32_MAX
#define MAX_WORD_BYTES (1u << 30)

/* A slot keeps the word's first 8 bytes and its length, so that finding a word of at most 8 bytes
 * (most of them) never touches the word arrays. */
typedef struct {
    uint64_t head; /* the word's first 8 bytes, zero-padded */
    uint32_t tag;  /* 24 bits of the hash, then the length (capped at 255) in the low byte */
    uint32_t id1;  /* id + 1; 0: an empty slot */
} slot;

struct vae_wordtab {
    slot *slots;
    size_t mask;
    int64_t n, cap;
    size_t *off;   /* [cap] offset of the word in arena */
    uint32_t *len; /* [cap] */
    int64_t *df, *tf, *last_doc;
    char *arena;
    size_t arena_len, arena_cap;
    size_t limit; /* bytes the table may take; 0: no limit */
};

/* Bytes a word holds in the arrays beside the arena. */
#define WORD_ARRAY_BYTES (sizeof(size_t) + sizeof(uint32_t) + 3 * sizeof(int64_t))

/* VAE_ERR_NOMEM when growing the table by more bytes would pass its limit. */
static int within_limit(const vae_wordtab *t, size_t more)
{
    const size_t now = (t->mask + 1) * sizeof(slot) + (size_t)t->cap * WORD_ARRAY_BYTES + t->arena_cap;
    if (!t->limit || now + more <= t->limit)
        return VAE_OK;
    return vae_fail(VAE_ERR_NOMEM, "the word table of %lld distinct words would pass its limit of %zu MB",
                    (long long)t->n, t->limit >> 20);
}

typedef struct {
    uint64_t hash, head;
    uint32_t tag;
} word_key;

static inline word_key key_of(const char *s, size_t n)
{
    word_key k = {.head = vae_load_le((const unsigned char *)s, n)};
    uint32_t len_byte = (uint32_t)(n < 255 ? n : 255);
    k.hash = vae_hash_bytes(0, s, n);
    /* the bits above those that pick the slot */
    k.tag = (uint32_t)(k.hash >> 40) << 8 | len_byte;
    return k;
}

static int64_t lookup(const vae_wordtab *t, const char *w, size_t len, const word_key *k)
{
    for (size_t i = k->hash & t->mask;; i = (i + 1) & t->mask) {
        const slot *s = &t->slots[i];
        if (!s->id1)
            return -1;
        if (s->tag == k->tag && s->head == k->head) {
            int64_t id = (int64_t)s->id1 - 1;
            if (len <= 8 || (t->len[id] == len && memcmp(t->arena + t->off[id] + 8, w + 8, len - 8) == 0))
                return id;
        }
    }
}

static void place(vae_wordtab *t, const word_key *k, int64_t id)
{
    size_t i = k->hash & t->mask;
    while (t->slots[i].id1)
        i = (i + 1) & t->mask;
    t->slots[i] = (slot){k->head, k->tag, (uint32_t)(id + 1)};
}

static int grow_slots(vae_wordtab *t)
{
    size_t nslots = (t->mask + 1) * 2;
    slot *slots = vae_calloc_array(nslots, sizeof *slots);
    if (!slots)
        return VAE_ERR_NOMEM;
    free(t->slots);
    t->slots = slots;
    t->mask = nslots - 1;
    for (int64_t id = 0; id < t->n; id++) {
        word_key k = key_of(t->arena + t->off[id], t->len[id]);
        place(t, &k, id);
    }
    return VAE_OK;
}

static int resize_array(void *pp, int64_t used, int64_t cap, size_t size)
{
    void **p = (void **)pp;
    void *q = vae_malloc_array((size_t)cap, size);
    if (!q)
        return VAE_ERR_NOMEM;
    if (used)
        memcpy(q, *p, (size_t)used * size);
    free(*p);
    *p = q;
    return VAE_OK;
}

static int resize_words(vae_wordtab *t, int64_t cap)
{
    int rc = resize_array(&t->off, t->n, cap, sizeof *t->off);
    if (!rc)
        rc = resize_array(&t->len, t->n, cap, sizeof *t->len);
    if (!rc)
        rc = resize_array(&t->df, t->n, cap, sizeof *t->df);
    if (!rc)
        rc = resize_array(&t->tf, t->n, cap, sizeof *t->tf);
    if (!rc)
        rc = resize_array(&t->last_doc, t->n, cap, sizeof *t->last_doc);
    if (!rc)
        t->cap = cap;
    return rc;
}

static int reserve_arena(vae_wordtab *t, size_t more)
{
    if (t->arena_len + more <= t->arena_cap)
        return VAE_OK;
    size_t cap = t->arena_cap * 2;
    while (cap < t->arena_len + more)
        cap *= 2;
    char *a = realloc(t->arena, cap);
    if (!a)
        return vae_fail(VAE_ERR_NOMEM, "out of memory growing the word table to %zu bytes", cap);
    t->arena = a;
    t->arena_cap = cap;
    return VAE_OK;
}

/* Adds a word known to be absent. */
static int insert(vae_wordtab *t, const char *w, size_t len, const word_key *k, int64_t *id)
{
    if (t->n == MAX_WORDS)
        return vae_fail(VAE_ERR_NOMEM, "word table: more than %d distinct words", MAX_WORDS);
    if (len >= MAX_WORD_BYTES)
        return vae_fail(VAE_ERR_ARG, "word table: a word of %zu bytes is too long", len);
    int rc = VAE_OK;
    if ((size_t)(t->n + 1) * 2 > t->mask + 1 && !(rc = within_limit(t, (t->mask + 1) * sizeof(slot))))
        rc = grow_slots(t);
    if (!rc && t->n == t->cap && !(rc = within_limit(t, (size_t)t->cap * WORD_ARRAY_BYTES)))
        rc = resize_words(t, t->cap * 2);
    if (!rc && t->arena_len + len + 1 > t->arena_cap && !(rc = within_limit(t, t->arena_cap + len + 1)))
        rc = reserve_arena(t, len + 1);
    if (rc)
        return rc;
    int64_t i = t->n++;
    t->off[i] = t->arena_len;
    t->len[i] = (uint32_t)len;
    t->df[i] = t->tf[i] = 0;
    t->last_doc[i] = -1;
    memcpy(t->arena + t->arena_len, w, len);
    t->arena[t->arena_len + len] = '\0';
    t->arena_len += len + 1;
    place(t, k, i);
    *id = i;
    return VAE_OK;
}

void vae_wordtab_set_limit(vae_wordtab *t, size_t bytes) { t->limit = bytes; }

int vae_wordtab_new(vae_wordtab **out)
{
    *out = NULL;
    vae_wordtab *t = calloc(1, sizeof *t);
    if (!t)
        return vae_fail(VAE_ERR_NOMEM, "out of memory creating a word table");
    t->mask = 1023;
    t->arena_cap = 4096;
    t->slots = vae_calloc_array(t->mask + 1, sizeof *t->slots);
    t->arena = malloc(t->arena_cap);
    int rc = t->slots && t->arena ? VAE_OK : VAE_ERR_NOMEM;
    if (!rc)
        rc = resize_words(t, 256);
    if (rc) {
        vae_wordtab_free(t);
        return vae_fail(VAE_ERR_NOMEM, "out of memory creating a word table");
    }
    *out = t;
    return VAE_OK;
}

int vae_wordtab_from_words(vae_wordtab **out, const char *const *words, int64_t n)
{
    vae_wordtab *t = NULL;
    int rc = vae_wordtab_new(&t);
    for (int64_t i = 0; !rc && i < n; i++) {
        int64_t id;
        rc = vae_wordtab_add(t, words[i], strlen(words[i]), &id);
        if (!rc && id != i)
            rc = vae_fail(VAE_ERR_FORMAT, "word '%s' appears twice (ids %lld and %lld)", words[i],
                          (long long)id, (long long)i);
    }
    if (rc) {
        vae_wordtab_free(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

void vae_wordtab_free(vae_wordtab *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->off);
    free(t->len);
    free(t->df);
    free(t->tf);
    free(t->last_doc);
    free(t->arena);
    free(t);
}

int64_t vae_wordtab_size(const vae_wordtab *t) { return t->n; }

int64_t vae_wordtab_find(const vae_wordtab *t, const char *word, size_t len)
{
    word_key k = key_of(word, len);
    return lookup(t, word, len, &k);
}

int vae_wordtab_add(vae_wordtab *t, const char *word, size_t len, int64_t *id)
{
    word_key k = key_of(word, len);
    int64_t found = lookup(t, word, len, &k);
    int rc = found >= 0 ? VAE_OK : insert(t, word, len, &k, &found);
    if (id)
        *id = found;
    return rc;
}

const char *vae_wordtab_word(const vae_wordtab *t, int64_t id) { return t->arena + t->off[id]; }

int vae_wordtab_word_list(const vae_wordtab *t, const char ***words)
{
    *words = vae_malloc_array((size_t)t->n, sizeof **words);
    if (!*words)
        return VAE_ERR_NOMEM;
    for (int64_t i = 0; i < t->n; i++)
        (*words)[i] = t->arena + t->off[i];
    return VAE_OK;
}

void vae_wordtab_count(vae_wordtab *t, int64_t id, int64_t doc)
{
    t->tf[id]++;
    if (t->last_doc[id] != doc) {
        t->last_doc[id] = doc;
        t->df[id]++;
    }
}

const int64_t *vae_wordtab_doc_freq(const vae_wordtab *t) { return t->df; }
const int64_t *vae_wordtab_term_freq(const vae_wordtab *t) { return t->tf; }

void vae_wordtab_add_freq(vae_wordtab *t, int64_t id, int64_t df, int64_t tf)
{
    t->df[id] += df;
    t->tf[id] += tf;
}

typedef struct {
    int64_t df;
    const char *word;
    int64_t id;
} candidate;

static int by_df_then_word(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->df != b->df)
        return a->df > b->df ? -1 : 1;
    return strcmp(a->word, b->word); /* compares as unsigned char: bytewise */
}

/* The product is rounded; the small margin keeps df == max_df_frac * num_docs in, as the rule says. */
static int within_rules(int64_t df, int64_t num_docs, const vae_vocab_rules *r)
{
    return df >= r->min_df && (double)df <= r->max_df_frac * (double)num_docs * (1.0 + 1e-12);
}

int vae_vocab_select(vae_wordtab **out, const vae_wordtab *counts, int64_t num_docs,
                     const vae_vocab_rules *rules)
{
    *out = NULL;
    vae_wordtab *v = NULL;
    candidate *c = vae_malloc_array((size_t)counts->n, sizeof *c);
    int rc = c ? vae_wordtab_new(&v) : VAE_ERR_NOMEM;
    int64_t nc = 0;
    for (int64_t id = 0; !rc && id < counts->n; id++)
        if (within_rules(counts->df[id], num_docs, rules))
            c[nc++] = (candidate){counts->df[id], vae_wordtab_word(counts, id), id};
    if (!rc)
        qsort(c, (size_t)nc, sizeof *c, by_df_then_word);
    for (int64_t i = 0; !rc && i < nc && i < rules->max_words; i++) {
        int64_t id;
        rc = vae_wordtab_add(v, c[i].word, counts->len[c[i].id], &id);
        if (!rc) {
            v->df[id] = counts->df[c[i].id];
            v->tf[id] = counts->tf[c[i].id];
        }
    }
    free(c);
    if (rc)
        vae_wordtab_free(v);
    else
        *out = v;
    return rc;
}
