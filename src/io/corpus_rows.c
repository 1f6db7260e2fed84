/* Reading any set of a split's rows (vae_corpus_read_docs) or sequences (vae_corpus_read_seqs)
 * with few HDF5 reads: requests sorted and deduplicated, neighbours coalesced into windows, every
 * row or sequence validated as it arrives; the scan that validates a whole split; and the optional
 * document names. Rows and sequences are alike: a pointer dataset (indptr) into entries. */
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

/* Sorts the requested rows index[0..n) (each checked to be in [0, count); what names them, e.g.
 * "document") into a row_plan. */
static int plan_rows(vae_corpus *c, const char *name, int64_t count, const char *what, const int64_t *index,
                     int64_t n, row_plan *p)
{
    request *req = NULL;
    int rc = VAE_OK;
    memset(p, 0, sizeof *p);
    if (n < 0)
        return vae_fail(VAE_ERR_ARG, "%s: split %s: cannot read %lld %ss", c->path, name, (long long)n, what);
    if (!(req = vae_malloc_array((size_t)n, sizeof *req)) ||
        !(p->rows = vae_malloc_array((size_t)n, sizeof *p->rows)) ||
        !(p->which = vae_malloc_array((size_t)n, sizeof *p->which))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    for (int64_t i = 0; i < n; i++) {
        if (index[i] < 0 || index[i] >= count) {
            rc = vae_fail(VAE_ERR_ARG, "%s: split %s: %s %lld (position %lld of the request) is not in [0, %lld)",
                          c->path, name, what, (long long)index[i], (long long)i, (long long)count);
            goto cleanup;
        }
        req[i].row = index[i];
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
        return vae_fail(VAE_ERR_NOMEM, "request of %lld rows too large", (long long)n);
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

/* Sets q's intervals to [row, row + width) of each row that p plans, grouped into windows. */
static void gather_rows(gather_plan *q, const row_plan *p, int64_t width)
{
    for (int64_t k = 0; k < p->n_rows; k++) {
        q->start[k] = p->rows[k];
        q->end[k] = p->rows[k] + width;
    }
    gather_windows(q);
}

/* Reads each planned row's pointers (ptr[row], ptr[row + 1]) and sets q's intervals to the rows'
 * entries, grouped into windows. */
static int gather_entries(vae_corpus *c, const column *ptr, const row_plan *p, gather_plan *q)
{
    int64_t *pairs = NULL;
    int rc;
    gather_rows(q, p, 2);
    if (!(pairs = vae_malloc_array((size_t)q->len, sizeof *pairs)))
        return VAE_ERR_NOMEM;
    if ((rc = gather_packed(c, ptr, H5T_NATIVE_INT64, sizeof *pairs, q, pairs)) == VAE_OK) {
        for (int64_t k = 0; k < p->n_rows; k++) {
            q->start[k] = pairs[2 * k];
            q->end[k] = pairs[2 * k + 1];
        }
        gather_windows(q);
    }
    free(pairs);
    return rc;
}

/* The number of entries of the requested positions (a row asked twice counts twice). */
static int request_total(const row_plan *p, const gather_plan *q, int64_t n, int64_t *total)
{
    *total = 0;
    for (int64_t i = 0; i < n; i++)
        if (__builtin_add_overflow(*total, q->end[p->which[i]] - q->start[p->which[i]], total))
            return vae_fail(VAE_ERR_NOMEM, "the requested rows have more than 2^63 entries");
    return VAE_OK;
}

/* Lays the planned rows' entries (packed in src) out in dst in the requested order, and their
 * pointers in indptr[1..n] when indptr is not NULL. */
static void place_packed(const row_plan *p, const gather_plan *q, int64_t n, const int32_t *src, int32_t *dst,
                         int64_t *indptr)
{
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = p->which[i], len = q->end[k] - q->start[k];
        if (len > 0)
            memcpy(dst + at, src + q->at[k], (size_t)len * sizeof *src);
        at += len;
        if (indptr)
            indptr[i + 1] = at;
    }
}

static int row_fail(vae_corpus *c, const split *s, const vae_row_fault *fault, int64_t row, int64_t entry)
{
    return corpus_fail(c, VAE_ERR_FORMAT, fault->in_counts ? s->counts.path : s->indices.path,
                       "row %lld, entry %lld: %s", (long long)row, (long long)entry, fault->why);
}

int vae_corpus_read_docs(vae_corpus *c, const char *name, const int64_t *doc_index, int64_t n, vae_docs *out)
{
    split *s = NULL;
    row_plan p = {0};
    gather_plan q = {0};
    int32_t *ids = NULL, *cnt = NULL;
    int64_t total = 0;
    int rc;
    /* Until the end, out holds no rows: a failure returns none, never a part. */
    out->num_docs = out->nnz = 0;
    if ((rc = vae_docs_reserve(out, 0, 0)) != VAE_OK || (rc = corpus_present_split(c, name, &s)) != VAE_OK ||
        (rc = plan_rows(c, name, s->num_docs, "document", doc_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK || (rc = gather_entries(c, &s->indptr, &p, &q)) != VAE_OK)
        goto cleanup;
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
    if ((rc = request_total(&p, &q, n, &total)) != VAE_OK || (rc = vae_docs_reserve(out, n, total)) != VAE_OK)
        goto cleanup;
    place_packed(&p, &q, n, ids, out->indices, out->indptr);
    place_packed(&p, &q, n, cnt, out->counts, NULL);
    memcpy(out->doc_index, doc_index, (size_t)n * sizeof *doc_index);
    out->num_docs = n;
    out->nnz = total;
cleanup:
    free(ids);
    free(cnt);
    free(q.block);
    plan_free(&p);
    return rc;
}

/* The split called name, which must be in the file and hold sequences. */
static int seq_split(vae_corpus *c, const char *name, split **s)
{
    int rc = corpus_present_split(c, name, s);
    if (rc == VAE_OK && !(*s)->has_seqs)
        rc = corpus_fail(c, VAE_ERR_FORMAT, (*s)->path,
                         "no sequences (no %s/seq group): prepare it with vae-prep --sequences", (*s)->path);
    return rc;
}

static int seq_fail(vae_corpus *c, const column *col, const vae_row_fault *fault, int64_t seq, int64_t token)
{
    if (token < 0)
        return corpus_fail(c, VAE_ERR_FORMAT, col->path, "sequence %lld: %s", (long long)seq, fault->why);
    return corpus_fail(c, VAE_ERR_FORMAT, col->path, "sequence %lld, token %lld: %s", (long long)seq,
                       (long long)token, fault->why);
}

/* The planned sequences' documents (doc[k] of p->rows[k]), checked: in the split, and not
 * decreasing along the rows, which are in increasing order. */
static int gather_seq_docs(vae_corpus *c, const split *s, const row_plan *p, gather_plan *q, int64_t *doc)
{
    vae_row_fault fault;
    gather_rows(q, p, 1);
    int rc = gather_packed(c, &s->seq_doc, H5T_NATIVE_INT64, sizeof *doc, q, doc);
    for (int64_t k = 0; rc == VAE_OK && k < p->n_rows; k++)
        if (vae_seq_doc_check(doc[k], k > 0 ? doc[k - 1] : -1, s->num_docs, &fault) != 0)
            rc = seq_fail(c, &s->seq_doc, &fault, p->rows[k], -1);
    return rc;
}

int vae_corpus_read_seqs(vae_corpus *c, const char *name, const int64_t *seq_index, int64_t n, vae_seqs *out)
{
    split *s = NULL;
    row_plan p = {0};
    gather_plan q = {0};
    int32_t *tokens = NULL;
    int64_t *doc = NULL, total = 0;
    int rc;
    /* Until the end, out holds no sequences: a failure returns none, never a part. */
    out->num_seqs = out->num_tokens = 0;
    if ((rc = vae_seqs_reserve(out, 0, 0)) != VAE_OK || (rc = seq_split(c, name, &s)) != VAE_OK ||
        (rc = plan_rows(c, name, s->num_seqs, "sequence", seq_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK)
        goto cleanup;
    if (!(doc = vae_malloc_array((size_t)p.n_rows, sizeof *doc))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = gather_seq_docs(c, s, &p, &q, doc)) != VAE_OK ||
        (rc = gather_entries(c, &s->seq_indptr, &p, &q)) != VAE_OK)
        goto cleanup;
    if (!(tokens = vae_malloc_array((size_t)q.len, sizeof *tokens))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = gather_packed(c, &s->seq_tokens, H5T_NATIVE_INT32, sizeof *tokens, &q, tokens)) != VAE_OK)
        goto cleanup;
    for (int64_t k = 0; k < p.n_rows; k++) {
        vae_row_fault fault;
        int64_t bad = vae_seq_check(tokens + q.at[k], q.end[k] - q.start[k], c->V, &fault);
        if (bad >= 0) {
            rc = seq_fail(c, &s->seq_tokens, &fault, p.rows[k], bad);
            goto cleanup;
        }
    }
    if ((rc = request_total(&p, &q, n, &total)) != VAE_OK || (rc = vae_seqs_reserve(out, n, total)) != VAE_OK)
        goto cleanup;
    place_packed(&p, &q, n, tokens, out->tokens, out->indptr);
    for (int64_t i = 0; i < n; i++) {
        out->seq_index[i] = seq_index[i];
        out->doc[i] = doc[p.which[i]];
    }
    out->num_seqs = n;
    out->num_tokens = total;
cleanup:
    free(tokens);
    free(doc);
    free(q.block);
    plan_free(&p);
    return rc;
}

int vae_corpus_read_seq_lengths(vae_corpus *c, const char *name, int32_t *lengths)
{
    enum { BLOCK = 1 << 16 };
    split *s = NULL;
    int64_t *ptr = NULL;
    int rc = seq_split(c, name, &s);
    if (rc == VAE_OK && !(ptr = vae_malloc_array(BLOCK + 1, sizeof *ptr)))
        rc = VAE_ERR_NOMEM;
    for (int64_t a = 0; rc == VAE_OK && a < s->num_seqs; a += BLOCK) {
        const int64_t n = s->num_seqs - a < BLOCK ? s->num_seqs - a : BLOCK;
        if ((rc = corpus_read_range(c, &s->seq_indptr, H5T_NATIVE_INT64, a, a + n + 1, ptr)) != VAE_OK)
            break;
        for (int64_t k = 0; k < n; k++) {
            const int64_t len = ptr[k + 1] - ptr[k];
            if (len < 1 || len > s->max_length) {
                rc = corpus_fail(c, VAE_ERR_FORMAT, s->seq_indptr.path, "sequence %lld has %lld tokens (1 to "
                                 "max_length %lld)", (long long)(a + k), (long long)len, (long long)s->max_length);
                break;
            }
            lengths[a + k] = (int32_t)len;
        }
    }
    free(ptr);
    return rc;
}

/* A forward walk over the rows of a pointer dataset: the row that holds a given entry. */
typedef struct {
    indptr_cursor cur;
    int64_t row, start, end; /* the row's entries are [start, end) */
} row_walk;

static int walk_init(row_walk *w, vae_corpus *c, const column *ptr)
{
    int rc = corpus_cursor_init(&w->cur, c, ptr);
    w->row = w->start = w->end = 0;
    if (rc == VAE_OK && ptr->len > 1)
        rc = corpus_indptr_at(&w->cur, 1, &w->end);
    return rc;
}

/* Moves w forward to the row that holds entry at (< the pointers' last value), passing empty
 * rows; *moved tells whether it left the row it was on. */
static int walk_to(row_walk *w, int64_t at, int *moved)
{
    int rc = VAE_OK;
    *moved = 0;
    while (rc == VAE_OK && w->end <= at) {
        w->row++;
        w->start = w->end;
        *moved = 1;
        rc = corpus_indptr_at(&w->cur, w->row + 1, &w->end);
    }
    return rc;
}

/* Every row's entries, and num_tokens against the sum of the counts. */
static int validate_rows(vae_corpus *c, const split *s)
{
    row_walk w;
    int32_t *ids = NULL, *cnt = NULL, prev = -1;
    int64_t tokens = 0;
    int moved, rc;
    if ((rc = walk_init(&w, c, &s->indptr)) != VAE_OK)
        goto cleanup;
    if (!(ids = vae_malloc_array(WINDOW, sizeof *ids)) || !(cnt = vae_malloc_array(WINDOW, sizeof *cnt))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    /* Entries stream by in chunks that cut rows anywhere; a row's check resumes after prev. */
    for (int64_t first = 0; first < s->nnz; first += WINDOW) {
        int64_t end = s->nnz - first < WINDOW ? s->nnz : first + WINDOW;
        if ((rc = corpus_read_range(c, &s->indices, H5T_NATIVE_INT32, first, end, ids)) != VAE_OK ||
            (rc = corpus_read_range(c, &s->counts, H5T_NATIVE_INT32, first, end, cnt)) != VAE_OK)
            goto cleanup;
        for (int64_t at = first; at < end;) {
            if ((rc = walk_to(&w, at, &moved)) != VAE_OK)
                goto cleanup;
            prev = moved ? -1 : prev;
            int64_t stop = w.end < end ? w.end : end;
            vae_row_fault fault;
            int64_t bad = vae_row_check(ids + (at - first), cnt + (at - first), stop - at, c->V, &prev,
                                        &tokens, &fault);
            if (bad >= 0) {
                rc = row_fail(c, s, &fault, w.row, at - w.start + bad);
                goto cleanup;
            }
            at = stop;
        }
    }
    if (tokens != s->num_tokens)
        rc = corpus_fail(c, VAE_ERR_FORMAT, s->path, "attribute num_tokens is %lld, but %s sums to %lld",
                         (long long)s->num_tokens, s->counts.path, (long long)tokens);
cleanup:
    free(w.cur.buf);
    free(ids);
    free(cnt);
    return rc;
}

/* Every sequence's tokens and document (its indptr was checked at open). */
static int validate_seqs(vae_corpus *c, const split *s)
{
    row_walk w;
    int64_t *buf = NULL, prev = -1;
    vae_row_fault fault;
    int moved, rc;
    if ((rc = walk_init(&w, c, &s->seq_indptr)) != VAE_OK)
        goto cleanup;
    if (!(buf = vae_malloc_array(WINDOW, sizeof *buf))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    int32_t *tokens = (int32_t *)buf;
    for (int64_t first = 0; first < s->num_seq_tokens; first += WINDOW) {
        int64_t end = s->num_seq_tokens - first < WINDOW ? s->num_seq_tokens : first + WINDOW;
        if ((rc = corpus_read_range(c, &s->seq_tokens, H5T_NATIVE_INT32, first, end, tokens)) != VAE_OK)
            goto cleanup;
        for (int64_t at = first; at < end;) {
            if ((rc = walk_to(&w, at, &moved)) != VAE_OK)
                goto cleanup;
            int64_t stop = w.end < end ? w.end : end;
            int64_t bad = vae_seq_check(tokens + (at - first), stop - at, c->V, &fault);
            if (bad >= 0) {
                rc = seq_fail(c, &s->seq_tokens, &fault, w.row, at - w.start + bad);
                goto cleanup;
            }
            at = stop;
        }
    }
    for (int64_t first = 0; first < s->num_seqs; first += WINDOW) {
        int64_t end = s->num_seqs - first < WINDOW ? s->num_seqs : first + WINDOW;
        if ((rc = corpus_read_range(c, &s->seq_doc, H5T_NATIVE_INT64, first, end, buf)) != VAE_OK)
            goto cleanup;
        for (int64_t i = first; i < end; prev = buf[i - first], i++)
            if (vae_seq_doc_check(buf[i - first], prev, s->num_docs, &fault) != 0) {
                rc = seq_fail(c, &s->seq_doc, &fault, i, -1);
                goto cleanup;
            }
    }
cleanup:
    free(w.cur.buf);
    free(buf);
    return rc;
}

int vae_corpus_validate_split(vae_corpus *c, const char *name)
{
    split *s = NULL;
    int rc = corpus_present_split(c, name, &s);
    if (rc == VAE_OK)
        rc = validate_rows(c, s);
    if (rc == VAE_OK && s->has_seqs)
        rc = validate_seqs(c, s);
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
    if ((rc = plan_rows(c, name, s->num_docs, "document", doc_index, n, &p)) != VAE_OK ||
        (rc = gather_init(&q, p.n_rows)) != VAE_OK)
        goto cleanup;
    if (!(distinct = vae_calloc_array((size_t)p.n_rows, sizeof *distinct))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    gather_rows(&q, &p, 1);
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
