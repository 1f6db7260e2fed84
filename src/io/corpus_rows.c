/* Reading any set of a split's rows (vae_corpus_read_docs) with few HDF5 reads: requests sorted
 * and deduplicated, neighbouring rows coalesced into windows, every row validated as it arrives;
 * the scan that validates a whole split; and the optional document names. */
#include "corpus_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The distinct rows of a request in increasing order, and which of them each position reads. */
typedef struct {
    int64_t n_rows;
    int64_t *rows; /* [n_rows] */
    int64_t *which; /* [n] */
} row_plan;

typedef struct {
    int64_t row, pos;
} request;

static int cmp_request(const void *a, const void *b)
{
    const request *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void plan_free(row_plan *p)
{
    vae_free_ptr(&p->rows);
    vae_free_ptr(&p->which);
}

/* Sorts the requested rows of s (each checked to be in the split) into a row_plan. */
static int plan_rows(vae_corpus *c, const char *name, const split *s, const int64_t *doc_index, int64_t n,
                     row_plan *p)
{
    request *req = NULL;
    int rc = VAE_OK;
    memset(p, 0, sizeof *p);
    if (n < 0)
        return vae_fail(VAE_ERR_ARG, "%s: split %s: cannot read %lld documents", c->path, name, (long long)n);
    if (!(req = vae_malloc_array((size_t)n, sizeof *req)) ||
        !(p->rows = vae_malloc_array((size_t)n, sizeof *p->rows)) ||
        !(p->which = vae_malloc_array((size_t)n, sizeof *p->which))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int64_t i = 0; i < n; i++) {
        if (doc_index[i] < 0 || doc_index[i] >= s->num_docs) {
            rc = vae_fail(VAE_ERR_ARG,
                          "%s: split %s: document %lld (position %lld of the request) is not in [0, %lld)",
                          c->path, name, (long long)doc_index[i], (long long)i, (long long)s->num_docs);
            goto cleanup;
        }
        req[i].row = doc_index[i];
        req[i].pos = i;
    }
    qsort(req, (size_t)n, sizeof *req, cmp_request);
    for (int64_t i = 0; i < n; i++) {
        if (p->n_rows == 0 || p->rows[p->n_rows - 1] != req[i].row)
            p->rows[p->n_rows++] = req[i].row;
        p->which[req[i].pos] = p->n_rows - 1;
    }
cleanup:
    free(req);
    if (rc != VAE_OK)
        plan_free(p);
    return rc;
}

/* The intervals of a gather, one per distinct requested row (sorted), and the windows that read
 * them: one allocation. */
typedef struct {
    int64_t *block;
    int64_t n; /* intervals */
    int64_t *start, *end; /* [n] */
    int64_t *at; /* [n] where interval k lands in the packed buffer */
    int64_t *wstart, *wend, *wfirst; /* [n] windows (see vae_coalesce) */
    int64_t nw;
    int64_t len; /* the intervals' total length: the packed buffer's */
} gather_plan;

static int gather_init(gather_plan *q, int64_t n)
{
    memset(q, 0, sizeof *q);
    if ((uint64_t)n > SIZE_MAX / 6 / sizeof(int64_t))
        return vae_fail(VAE_ERR_NOMEM, "request of %lld documents too large", (long long)n);
    if (!(q->block = vae_malloc_array((size_t)n * 6, sizeof *q->block)))
        return VAE_ERR_NOMEM;
    q->n = n;
    q->start = q->block;
    q->end = q->start + n;
    q->at = q->end + n;
    q->wstart = q->at + n;
    q->wend = q->wstart + n;
    q->wfirst = q->wend + n;
    return VAE_OK;
}

/* Packs the intervals (start/end filled in) one after another and groups them into windows. */
static void gather_windows(gather_plan *q)
{
    q->len = 0;
    for (int64_t k = 0; k < q->n; k++) {
        q->at[k] = q->len;
        q->len += q->end[k] - q->start[k];
    }
    q->nw = vae_coalesce(q->start, q->end, q->n, VAE_CORPUS_GAP, WINDOW, q->wstart, q->wend, q->wfirst);
}

/* Receives elements [from, from + len) of interval k, which lie at data. */
typedef int (*piece_fn)(void *ctx, int64_t k, int64_t from, const void *data, int64_t len);

/* Reads q's windows of col into c->window as mtype (elements of size bytes), a window longer than
 * the buffer (one long interval) in pieces, and hands each interval's elements to take. String
 * windows are reclaimed once take has seen them. */
static int gather(vae_corpus *c, const column *col, hid_t mtype, size_t size, const gather_plan *q,
                  piece_fn take, void *ctx)
{
    int rc = VAE_OK;
    if (!c->window && !(c->window = vae_malloc_array(WINDOW, sizeof(int64_t))))
        return VAE_ERR_NOMEM;
    for (int64_t w = 0; w < q->nw && rc == VAE_OK; w++) {
        int64_t last = w + 1 < q->nw ? q->wfirst[w + 1] : q->n;
        for (int64_t pos = q->wstart[w]; pos < q->wend[w] && rc == VAE_OK; pos += WINDOW) {
            int64_t stop = q->wend[w] - pos < WINDOW ? q->wend[w] : pos + WINDOW;
            if ((rc = corpus_read_range(c, col, mtype, pos, stop, c->window)) != VAE_OK)
                break;
            for (int64_t k = q->wfirst[w]; k < last && rc == VAE_OK; k++) {
                int64_t lo = q->start[k] > pos ? q->start[k] : pos, hi = q->end[k] < stop ? q->end[k] : stop;
                if (lo < hi)
                    rc = take(ctx, k, lo - q->start[k], (const char *)c->window + (size_t)(lo - pos) * size,
                              hi - lo);
            }
            if (col->str_type >= 0)
                corpus_reclaim_strings(col, stop - pos, c->window);
        }
    }
    return rc;
}

/* gather's consumer for numbers: into the packed buffer dst. */
typedef struct {
    char *dst;
    const int64_t *at;
    size_t size;
} pack_ctx;

static int pack_piece(void *ctx, int64_t k, int64_t from, const void *data, int64_t len)
{
    const pack_ctx *p = ctx;
    memcpy(p->dst + (size_t)(p->at[k] + from) * p->size, data, (size_t)len * p->size);
    return VAE_OK;
}

/* Gathers q's intervals of col (numbers, elements of size bytes) packed into dst. */
static int gather_packed(vae_corpus *c, const column *col, hid_t mtype, size_t size, const gather_plan *q,
                         void *dst)
{
    pack_ctx p = {dst, q->at, size};
    return gather(c, col, mtype, size, q, pack_piece, &p);
}

static int row_fail(vae_corpus *c, const split *s, const vae_row_fault *fault, int64_t row, int64_t entry)
{
    return corpus_fail(c, VAE_ERR_FORMAT, fault->in_counts ? s->counts.path : s->indices.path,
                       "row %lld, entry %lld: %s", (long long)row, (long long)entry, fault->why);
}

/* Copies the planned rows (validated, packed in ids/cnt) into out in the requested order. */
static int place_rows(const row_plan *p, const gather_plan *q, const int32_t *ids, const int32_t *cnt,
                      const int64_t *doc_index, int64_t n, vae_docs *out)
{
    int64_t total = 0, at = 0;
    for (int64_t i = 0; i < n; i++)
        if (__builtin_add_overflow(total, q->end[p->which[i]] - q->start[p->which[i]], &total))
            return vae_fail(VAE_ERR_NOMEM, "the requested documents have more than 2^63 entries");
    int rc = vae_docs_reserve(out, n, total);
    if (rc != VAE_OK)
        return rc;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = p->which[i], len = q->end[k] - q->start[k];
        if (len > 0) {
            memcpy(out->indices + at, ids + q->at[k], (size_t)len * sizeof *ids);
            memcpy(out->counts + at, cnt + q->at[k], (size_t)len * sizeof *cnt);
        }
        at += len;
        out->indptr[i + 1] = at;
        out->doc_index[i] = doc_index[i];
    }
    out->num_docs = n;
    out->nnz = total;
    return VAE_OK;
}

int vae_corpus_read_docs(vae_corpus *c, const char *name, const int64_t *doc_index, int64_t n, vae_docs *out)
{
    split *s = NULL;
    row_plan p = {0};
    gather_plan q = {0};
    int64_t *ptr = NULL;
    int32_t *ids = NULL, *cnt = NULL;
    int rc;
    /* Until the end, out holds no rows: a failure returns none, never a part. */
    out->num_docs = out->nnz = 0;
    if ((rc = vae_docs_reserve(out, 0, 0)) != VAE_OK || (rc = corpus_present_split(c, name, &s)) != VAE_OK ||
        (rc = plan_rows(c, name, s, doc_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK)
        goto cleanup;
    /* First each row's indptr pair (row, row + 1), then the rows' entries. */
    for (int64_t k = 0; k < p.n_rows; k++) {
        q.start[k] = p.rows[k];
        q.end[k] = p.rows[k] + 2;
    }
    gather_windows(&q);
    if (!(ptr = vae_malloc_array((size_t)q.len, sizeof *ptr))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = gather_packed(c, &s->indptr, H5T_NATIVE_INT64, sizeof *ptr, &q, ptr)) != VAE_OK)
        goto cleanup;
    for (int64_t k = 0; k < p.n_rows; k++) {
        q.start[k] = ptr[2 * k];
        q.end[k] = ptr[2 * k + 1];
    }
    gather_windows(&q);
    if (!(ids = vae_malloc_array((size_t)q.len, sizeof *ids)) ||
        !(cnt = vae_malloc_array((size_t)q.len, sizeof *cnt))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = gather_packed(c, &s->indices, H5T_NATIVE_INT32, sizeof *ids, &q, ids)) != VAE_OK ||
        (rc = gather_packed(c, &s->counts, H5T_NATIVE_INT32, sizeof *cnt, &q, cnt)) != VAE_OK)
        goto cleanup;
    for (int64_t k = 0; k < p.n_rows; k++) {
        int32_t prev = -1;
        int64_t tokens = 0;
        vae_row_fault fault;
        int64_t bad =
            vae_row_check(ids + q.at[k], cnt + q.at[k], q.end[k] - q.start[k], c->V, &prev, &tokens, &fault);
        if (bad >= 0) {
            rc = row_fail(c, s, &fault, p.rows[k], bad);
            goto cleanup;
        }
    }
    rc = place_rows(&p, &q, ids, cnt, doc_index, n, out);
cleanup:
    free(ptr);
    free(ids);
    free(cnt);
    free(q.block);
    plan_free(&p);
    return rc;
}

int vae_corpus_validate_split(vae_corpus *c, const char *name)
{
    split *s = NULL;
    indptr_cursor cur = {0};
    int32_t *ids = NULL, *cnt = NULL, prev = -1;
    int64_t row = 0, row_start = 0, row_end = 0, tokens = 0;
    int rc;
    if ((rc = corpus_present_split(c, name, &s)) != VAE_OK || (rc = corpus_cursor_init(&cur, c, &s->indptr)) != VAE_OK)
        goto cleanup;
    if (!(ids = vae_malloc_array(WINDOW, sizeof *ids)) || !(cnt = vae_malloc_array(WINDOW, sizeof *cnt))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if (s->num_docs > 0 && (rc = corpus_indptr_at(&cur, 1, &row_end)) != VAE_OK)
        goto cleanup;
    /* Entries stream by in chunks that cut rows anywhere; a row's check resumes after prev. */
    for (int64_t first = 0; first < s->nnz; first += WINDOW) {
        int64_t end = s->nnz - first < WINDOW ? s->nnz : first + WINDOW;
        if ((rc = corpus_read_range(c, &s->indices, H5T_NATIVE_INT32, first, end, ids)) != VAE_OK ||
            (rc = corpus_read_range(c, &s->counts, H5T_NATIVE_INT32, first, end, cnt)) != VAE_OK)
            goto cleanup;
        for (int64_t at = first; at < end;) {
            while (row_end == at) {
                row++;
                row_start = row_end;
                prev = -1;
                if ((rc = corpus_indptr_at(&cur, row + 1, &row_end)) != VAE_OK)
                    goto cleanup;
            }
            int64_t stop = row_end < end ? row_end : end;
            vae_row_fault fault;
            int64_t bad = vae_row_check(ids + (at - first), cnt + (at - first), stop - at, c->V, &prev,
                                        &tokens, &fault);
            if (bad >= 0) {
                rc = row_fail(c, s, &fault, row, at - row_start + bad);
                goto cleanup;
            }
            at = stop;
        }
    }
    if (tokens != s->num_tokens)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->path, "attribute num_tokens is %lld, but %s sums to %lld",
                         (long long)s->num_tokens, s->counts.path, (long long)tokens);
cleanup:
    free(cur.buf);
    free(ids);
    free(cnt);
    return rc;
}

static int copy_name(void *ctx, int64_t k, int64_t from, const void *data, int64_t len)
{
    char **names = ctx;
    const char *name = *(char *const *)data;
    return (names[k] = strdup(name ? name : "")) ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory");
}

int vae_corpus_read_doc_ids(vae_corpus *c, const char *name, const int64_t *doc_index, int64_t n,
                            char **names)
{
    split *s = NULL;
    row_plan p = {0};
    gather_plan q = {0};
    char **distinct = NULL;
    int rc;
    for (int64_t i = 0; i < n; i++)
        names[i] = NULL;
    if ((rc = corpus_present_split(c, name, &s)) != VAE_OK)
        goto cleanup;
    if (s->doc_ids.dset < 0) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->doc_ids.path, "missing (the split has no document names)");
        goto cleanup;
    }
    if ((rc = plan_rows(c, name, s, doc_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK)
        goto cleanup;
    if (!(distinct = vae_calloc_array((size_t)p.n_rows, sizeof *distinct))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int64_t k = 0; k < p.n_rows; k++) {
        q.start[k] = p.rows[k];
        q.end[k] = p.rows[k] + 1;
    }
    gather_windows(&q);
    if ((rc = gather(c, &s->doc_ids, s->doc_ids.str_type, sizeof(char *), &q, copy_name, distinct)) != VAE_OK)
        goto cleanup;
    for (int64_t i = 0; i < n && rc == VAE_OK; i++)
        if (!(names[i] = strdup(distinct[p.which[i]])))
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
cleanup:
    if (rc != VAE_OK)
        for (int64_t i = 0; i < n; i++)
            vae_free_ptr(&names[i]);
    for (int64_t k = 0; distinct && k < p.n_rows; k++)
        free(distinct[k]);
    free(distinct);
    free(q.block);
    plan_free(&p);
    return rc;
}
