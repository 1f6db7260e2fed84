/* This rank's documents for the steps ahead (SPEC.md "Training semantics": each rank reads only the
 * documents it trains on): read a window of up to a whole epoch's shard at once, so that each
 * compressed chunk of the corpus is decompressed once per epoch, and a step copies its rows. */
#include <string.h>

#include "trainer.h"

/* Copies rows [a, b) of src into dst with dst's own indptr starting at 0. */
static int copy_rows(vae_docs *dst, const vae_docs *src, int64_t a, int64_t b)
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

/* Reads this rank's documents for the steps from step_in_epoch on (up to window_steps, never past
 * the epoch) in one call, so that neighbouring rows coalesce into few HDF5 reads. */
static int read_window(trainer *t)
{
    const int64_t per_epoch = plan_steps_per_epoch(&t->plan);
    const int64_t first = t->step_in_epoch;
    const int64_t steps = per_epoch - first < t->window_steps ? per_epoch - first : t->window_steps;
    int64_t n = 0;
    for (int64_t s = 0; s < steps; s++) {
        int64_t lo, hi;
        plan_rank_batch(&t->plan, first + s, t->rank, &lo, &hi);
        t->win_row[s] = n;
        for (int64_t pos = lo; pos < hi; pos++)
            t->doc_list[n++] = plan_doc(&t->plan, t->epoch, pos);
    }
    t->win_row[steps] = n;
    t->win_epoch = t->epoch;
    t->win_first = first;
    t->win_steps = steps;
    return vae_corpus_read_docs(t->corpus, "train", t->doc_list, n, &t->window);
}

int trainer_load_step_batch(trainer *t)
{
    const int in_window = t->win_steps > 0 && t->win_epoch == t->epoch && t->step_in_epoch >= t->win_first &&
                          t->step_in_epoch < t->win_first + t->win_steps;
    if (!in_window) {
        int rc = read_window(t);
        if (rc != VAE_OK) {
            t->win_steps = 0;
            return rc;
        }
    }
    const int64_t s = t->step_in_epoch - t->win_first;
    return copy_rows(&t->batch, &t->window, t->win_row[s], t->win_row[s + 1]);
}
