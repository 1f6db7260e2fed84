/* Batches of documents (CSR rows) and of sequences: growing and freeing the buffers that readers
 * fill. */
#include "vae/batch.h"

#include <stdlib.h>
#include <string.h>

void vae_docs_init(vae_docs *d) { memset(d, 0, sizeof *d); }

/* realloc to n elements of size bytes (at least one, so that the result is never NULL when it
 * succeeds); NULL with a message when it fails, p then unchanged. */
static void *resize(void *p, int64_t n, size_t size)
{
    void *q = NULL;
    if ((uint64_t)n > SIZE_MAX / size)
        vae_fail(VAE_ERR_NOMEM, "%lld documents or entries do not fit in memory", (long long)n);
    else if (!(q = realloc(p, (size_t)(n > 0 ? n : 1) * size)))
        vae_fail(VAE_ERR_NOMEM, "out of memory for %lld documents or entries", (long long)n);
    return q;
}

int vae_docs_reserve(vae_docs *d, int64_t num_docs, int64_t nnz)
{
    int64_t docs = d->cap_docs, entries = d->cap_nnz;
    if (num_docs < 0 || nnz < 0 || num_docs == INT64_MAX)
        return vae_fail(VAE_ERR_ARG, "cannot reserve %lld documents of %lld entries", (long long)num_docs,
                        (long long)nnz);
    /* Growing by half again at least keeps repeated reserves linear in total. */
    if (num_docs > docs)
        docs = num_docs > docs + docs / 2 ? num_docs : docs + docs / 2;
    if (nnz > entries)
        entries = nnz > entries + entries / 2 ? nnz : entries + entries / 2;
    /* Each array is replaced as soon as it has grown, so that a failure leaks nothing; the
     * capacities only count once all of their arrays have grown. */
    if (docs != d->cap_docs || !d->indptr) {
        int64_t *indptr = resize(d->indptr, docs + 1, sizeof *indptr), *doc_index = NULL;
        if (indptr)
            d->indptr = indptr;
        if (!indptr || !(doc_index = resize(d->doc_index, docs, sizeof *doc_index)))
            return VAE_ERR_NOMEM;
        d->doc_index = doc_index;
        d->cap_docs = docs;
    }
    if (entries != d->cap_nnz || !d->indices) {
        int32_t *indices = resize(d->indices, entries, sizeof *indices), *counts = NULL;
        if (indices)
            d->indices = indices;
        if (!indices || !(counts = resize(d->counts, entries, sizeof *counts)))
            return VAE_ERR_NOMEM;
        d->counts = counts;
        d->cap_nnz = entries;
    }
    if (d->num_docs == 0)
        d->indptr[0] = 0;
    return VAE_OK;
}

void vae_docs_free(vae_docs *d)
{
    if (!d)
        return;
    free(d->indptr);
    free(d->indices);
    free(d->counts);
    free(d->doc_index);
    vae_docs_init(d);
}

void vae_seqs_init(vae_seqs *s) { memset(s, 0, sizeof *s); }

int vae_seqs_reserve(vae_seqs *s, int64_t num_seqs, int64_t num_tokens)
{
    int64_t seqs = s->cap_seqs, tokens = s->cap_tokens;
    if (num_seqs < 0 || num_tokens < 0 || num_seqs == INT64_MAX)
        return vae_fail(VAE_ERR_ARG, "cannot reserve %lld sequences of %lld tokens", (long long)num_seqs,
                        (long long)num_tokens);
    if (num_seqs > seqs)
        seqs = num_seqs > seqs + seqs / 2 ? num_seqs : seqs + seqs / 2;
    if (num_tokens > tokens)
        tokens = num_tokens > tokens + tokens / 2 ? num_tokens : tokens + tokens / 2;
    if (seqs != s->cap_seqs || !s->indptr) {
        int64_t *indptr = resize(s->indptr, seqs + 1, sizeof *indptr), *index = NULL, *doc = NULL;
        if (indptr)
            s->indptr = indptr;
        if (!indptr || !(index = resize(s->seq_index, seqs, sizeof *index)))
            return VAE_ERR_NOMEM;
        s->seq_index = index;
        if (!(doc = resize(s->doc, seqs, sizeof *doc)))
            return VAE_ERR_NOMEM;
        s->doc = doc;
        s->cap_seqs = seqs;
    }
    if (tokens != s->cap_tokens || !s->tokens) {
        int32_t *t = resize(s->tokens, tokens, sizeof *t);
        if (!t)
            return VAE_ERR_NOMEM;
        s->tokens = t;
        s->cap_tokens = tokens;
    }
    if (s->num_seqs == 0)
        s->indptr[0] = 0;
    return VAE_OK;
}

void vae_seqs_free(vae_seqs *s)
{
    if (!s)
        return;
    free(s->indptr);
    free(s->tokens);
    free(s->seq_index);
    free(s->doc);
    vae_seqs_init(s);
}

int vae_docs_copy(vae_docs *dst, const vae_docs *src, int64_t a, int64_t b)
{
    const int64_t base = src->indptr[a], nnz = src->indptr[b] - base;
    int rc = vae_docs_reserve(dst, b - a, nnz);
    if (rc != VAE_OK)
        return rc;
    for (int64_t r = a; r <= b; r++)
        dst->indptr[r - a] = src->indptr[r] - base;
    memcpy(dst->indices, src->indices + base, sizeof(int32_t) * (size_t)nnz);
    memcpy(dst->counts, src->counts + base, sizeof(int32_t) * (size_t)nnz);
    memcpy(dst->doc_index, src->doc_index + a, sizeof(int64_t) * (size_t)(b - a));
    dst->num_docs = b - a;
    dst->nnz = nnz;
    return VAE_OK;
}

int vae_seqs_copy(vae_seqs *dst, const vae_seqs *src, int64_t a, int64_t b)
{
    const int64_t base = src->indptr[a], n = src->indptr[b] - base;
    int rc = vae_seqs_reserve(dst, b - a, n);
    if (rc != VAE_OK)
        return rc;
    for (int64_t s = a; s <= b; s++)
        dst->indptr[s - a] = src->indptr[s] - base;
    memcpy(dst->tokens, src->tokens + base, sizeof(int32_t) * (size_t)n);
    memcpy(dst->seq_index, src->seq_index + a, sizeof(int64_t) * (size_t)(b - a));
    memcpy(dst->doc, src->doc + a, sizeof(int64_t) * (size_t)(b - a));
    dst->num_seqs = b - a;
    dst->num_tokens = n;
    return VAE_OK;
}
