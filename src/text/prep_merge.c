/* The vocabulary of a parallel vae-prep (prep_run.h): every rank counted the words of its share of
 * the training documents. Document and term frequencies add up over disjoint sets of documents, so
 * the words are spread over the ranks by a hash, each rank sums the counts of its words and keeps
 * the best max_words of them by the vocabulary's rules, and rank 0 chooses among those: the global
 * best max_words are among them, since the order (df, then the word) is total. Every rank holds
 * one word table at a time, about its share of the distinct words, never all of them. */
#include "prep_run.h"
#include "hash.h"

#include "vae/comm.h"
#include "vae/common.h"

#include <stdlib.h>
#include <string.h>

/* Not the word table's seed, whose low bits pick the slot: the owner's words would crowd. */
#define OWNER_SEED 0x6f776e6572ull

/* Adds the word records of data[0..n) to t, summing the frequencies of a word met twice. */
static int add_records(vae_wordtab *t, const char *data, size_t n)
{
    prep_cursor cur = {data, data + n};
    int rc = VAE_OK;
    while (!rc && cur.at < cur.end) {
        const char *w;
        uint32_t len;
        int64_t df, tf, id;
        rc = prep_get_word(&cur, &w, &len, &df, &tf);
        if (!rc)
            rc = vae_wordtab_add(t, w, len, &id);
        if (!rc)
            vae_wordtab_add_freq(t, id, df, tf);
    }
    return rc;
}

static int put_table(prep_buf *b, const vae_wordtab *t, int64_t first)
{
    const int64_t *df = vae_wordtab_doc_freq(t), *tf = vae_wordtab_term_freq(t);
    int rc = VAE_OK;
    for (int64_t id = first; !rc && id < vae_wordtab_size(t); id++) {
        const char *w = vae_wordtab_word(t, id);
        rc = prep_put_word(b, w, strlen(w), df[id], tf[id]);
    }
    return rc;
}

static int new_table(vae_wordtab **t, const prep *p)
{
    int rc = vae_wordtab_new(t);
    if (!rc)
        vae_wordtab_set_limit(*t, (size_t)p->o->word_table_mb << 20);
    return rc;
}

/* This rank's counted words in one block per owner, one after the other in send; the counting
 * table is freed. */
static int spread(prep *p, int size, prep_buf *send, size_t *send_bytes)
{
    prep_buf *to = calloc((size_t)size, sizeof *to);
    int rc = to ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory merging the word counts");
    const vae_wordtab *t = p->counts;
    const int64_t *df = vae_wordtab_doc_freq(t), *tf = vae_wordtab_term_freq(t);
    for (int64_t id = p->num_stopwords; !rc && id < vae_wordtab_size(t); id++) {
        const char *w = vae_wordtab_word(t, id);
        const size_t len = strlen(w);
        if (df[id] > 0)
            rc = prep_put_word(&to[vae_hash_bytes(OWNER_SEED, w, len) % (uint64_t)size], w, len, df[id], tf[id]);
    }
    vae_wordtab_free(p->counts);
    p->counts = NULL;
    for (int r = 0; to && r < size; r++) {
        send_bytes[r] = to[r].len;
        if (!rc)
            rc = prep_buf_put(send, to[r].data, to[r].len);
        prep_buf_free(&to[r]);
    }
    free(to);
    return rc;
}

/* The best max_words of this rank's words (the sums of their counts over the ranks), as records. */
static int best_of_share(prep *p, vae_comm *c, prep_buf *best)
{
    const int size = vae_comm_size(c);
    prep_buf send = {0};
    size_t *bytes = calloc((size_t)size * 2, sizeof *bytes);
    void *recv = NULL;
    vae_wordtab *share = NULL, *chosen = NULL;
    int rc = bytes ? spread(p, size, &send, bytes) : vae_fail(VAE_ERR_NOMEM, "out of memory merging the word counts");
    rc = vae_comm_agree(c, rc, NULL);
    if (!rc)
        rc = vae_comm_alltoall(c, send.data, bytes, &recv, bytes + size);
    prep_buf_free(&send);
    size_t total = 0;
    for (int r = 0; !rc && r < size; r++)
        total += bytes[size + r];
    if (!rc)
        rc = new_table(&share, p);
    if (!rc)
        rc = add_records(share, recv, total);
    free(recv);
    free(bytes);
    if (!rc)
        rc = vae_vocab_select(&chosen, share, p->train_docs, &p->o->rules);
    vae_wordtab_free(share);
    if (!rc)
        rc = put_table(best, chosen, 0);
    vae_wordtab_free(chosen);
    return rc;
}

/* On rank 0: the vocabulary from every rank's best, as records. */
static int choose_at_root(prep *p, vae_comm *c, const prep_buf *best, prep_buf *vocab)
{
    const int size = vae_comm_size(c), root = vae_comm_rank(c) == 0;
    uint64_t mine = best->len, *lens = root ? calloc((size_t)size, sizeof *lens) : NULL;
    size_t *eight = root ? calloc((size_t)size, sizeof *eight) : NULL;
    int rc = !root || (lens && eight) ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory merging the word counts");
    for (int r = 0; eight && r < size; r++)
        eight[r] = sizeof mine;
    rc = vae_comm_agree(c, rc, NULL);
    if (!rc)
        rc = vae_comm_gather(c, &mine, sizeof mine, lens, eight, 0);
    size_t total = 0, *counts = eight; /* reused for the byte counts */
    for (int r = 0; root && !rc && r < size; r++)
        total += counts[r] = (size_t)lens[r];
    char *all = root && total ? malloc(total) : NULL;
    if (!rc && root && total && !all)
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory merging the word counts");
    rc = vae_comm_agree(c, rc, NULL);
    if (!rc)
        rc = vae_comm_gather(c, best->data, best->len, all, counts, 0);
    vae_wordtab *union_ = NULL, *chosen = NULL;
    if (!rc && root) {
        rc = new_table(&union_, p);
        if (!rc)
            rc = add_records(union_, all, total);
        if (!rc)
            rc = vae_vocab_select(&chosen, union_, p->train_docs, &p->o->rules);
        if (!rc)
            rc = put_table(vocab, chosen, 0);
    }
    vae_wordtab_free(union_);
    vae_wordtab_free(chosen);
    free(all);
    free(lens);
    free(eight);
    return rc;
}

/* With --vocab-from every rank counted the same words: their sums. */
static int sum_fixed_vocab(prep *p, vae_comm *c)
{
    vae_wordtab *t = p->counts;
    const int64_t n = vae_wordtab_size(t);
    int64_t *sums = vae_malloc_array((size_t)n * 2 + 1, sizeof *sums);
    int rc = vae_comm_agree(c, sums ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory summing the word counts"), NULL);
    if (!rc) {
        memcpy(sums, vae_wordtab_doc_freq(t), (size_t)n * sizeof *sums);
        memcpy(sums + n, vae_wordtab_term_freq(t), (size_t)n * sizeof *sums);
        rc = vae_comm_sum_int64(c, sums, (size_t)n * 2);
    }
    for (int64_t id = 0; !rc && id < n; id++)
        vae_wordtab_add_freq(t, id, sums[id] - vae_wordtab_doc_freq(t)[id], sums[n + id] - vae_wordtab_term_freq(t)[id]);
    free(sums);
    p->vocab = p->counts;
    p->counts = NULL;
    return rc;
}

int prep_merge_vocab(prep *p)
{
    vae_comm *c = p->o->comm;
    if (p->o->vocab_from)
        return sum_fixed_vocab(p, c);
    prep_buf best = {0}, vocab = {0};
    int rc = best_of_share(p, c, &best);
    rc = vae_comm_agree(c, rc, NULL);
    if (!rc)
        rc = choose_at_root(p, c, &best, &vocab);
    prep_buf_free(&best);
    rc = vae_comm_agree(c, rc, NULL);
    uint64_t len = vocab.len;
    if (!rc)
        rc = vae_comm_broadcast(c, &len, sizeof len, 0);
    if (!rc && vae_comm_rank(c) != 0) {
        vocab.data = len ? malloc(len) : NULL;
        rc = !len || vocab.data ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory for the vocabulary");
        vocab.len = vocab.cap = vocab.data ? len : 0;
    }
    rc = vae_comm_agree(c, rc, NULL);
    if (!rc && len)
        rc = vae_comm_broadcast(c, vocab.data, len, 0);
    if (!rc)
        rc = vae_wordtab_new(&p->vocab);
    if (!rc)
        rc = add_records(p->vocab, vocab.data, len);
    prep_buf_free(&vocab);
    return vae_comm_agree(c, rc, NULL);
}
