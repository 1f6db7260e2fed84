/* This rank's units (documents, or sequences for a family of them) for the steps ahead (SPEC.md
 * "Training semantics": each rank reads only the units it trains on): read a window of up to a whole
 * epoch's shard at once, so that each compressed chunk of the corpus is decompressed once per epoch,
 * and a step copies its rows. */
#include <string.h>

#include "trainer.h"

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
        plan_rank_batch(&t->plan, t->epoch, first + s, t->rank, &lo, &hi);
        t->win_row[s] = n;
        for (int64_t pos = lo; pos < hi; pos++)
            t->doc_list[n++] = plan_doc(&t->plan, t->epoch, pos);
    }
    t->win_row[steps] = n;
    t->win_epoch = t->epoch;
    t->win_first = first;
    t->win_steps = steps;
    if (t->lengths)
        return vae_corpus_read_seqs(t->corpus, "train", t->doc_list, n, &t->seq_window);
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
    if (t->lengths)
        return vae_seqs_copy(&t->seq_batch, &t->seq_window, t->win_row[s], t->win_row[s + 1]);
    return vae_docs_copy(&t->batch, &t->window, t->win_row[s], t->win_row[s + 1]);
}
