/* The corpus format's rules that the reader (corpus.c), the writer (corpus_write.c) and the
 * checkpoint reader share (corpus_internal.h): a row's entries, a sequence's tokens and document,
 * and coalescing rows into reads. */
#include "corpus_internal.h"

#include <stdio.h>
#include <string.h>

const char *const vae_split_names[VAE_NUM_SPLITS] = {"train", "valid", "test"};
const char *const vae_seq_units[VAE_NUM_SEQ_UNITS] = {"sentence", "line", "document"};

int vae_seq_unit_index(const char *unit)
{
    for (int i = 0; unit && i < VAE_NUM_SEQ_UNITS; i++)
        if (strcmp(unit, vae_seq_units[i]) == 0)
            return i;
    return -1;
}

/* INT32_MIN is also what a wider value that does not fit int32 reads as (vae_h5_int_dxpl). */
static const char beyond[] = " (or a value beyond the int32 range)";

int64_t vae_row_check(const int32_t *ids, const int32_t *counts, int64_t n, int64_t V, int32_t *prev,
                      int64_t *tokens, vae_row_fault *fault)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t sum;
        fault->in_counts = 0;
        if (ids[i] < 0 || ids[i] >= V) {
            snprintf(fault->why, sizeof fault->why, "word id %d not in [0, %lld)%s", ids[i], (long long)V,
                     ids[i] == INT32_MIN ? beyond : "");
            return i;
        }
        if (ids[i] <= *prev) {
            snprintf(fault->why, sizeof fault->why,
                     "word id %d after %d: ids must increase strictly within a document", ids[i], *prev);
            return i;
        }
        fault->in_counts = 1;
        if (counts[i] <= 0) {
            snprintf(fault->why, sizeof fault->why, "count %d is not positive%s", counts[i],
                     counts[i] == INT32_MIN ? beyond : "");
            return i;
        }
        if (__builtin_add_overflow(*tokens, (int64_t)counts[i], &sum)) {
            snprintf(fault->why, sizeof fault->why, "the sum of the counts overflows int64");
            return i;
        }
        *tokens = sum;
        *prev = ids[i];
    }
    return -1;
}

int64_t vae_seq_check(const int32_t *tokens, int64_t n, int64_t V, vae_row_fault *fault)
{
    fault->in_counts = 0;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] > V) {
            snprintf(fault->why, sizeof fault->why, "token id %d not in [0, %lld]%s", tokens[i], (long long)V,
                     tokens[i] == INT32_MIN ? beyond : "");
            return i;
        }
    return -1;
}

int vae_seq_doc_check(int64_t doc, int64_t prev, int64_t num_docs, vae_row_fault *fault)
{
    fault->in_counts = 0;
    if (doc < 0 || doc >= num_docs)
        snprintf(fault->why, sizeof fault->why, "document %lld not in [0, %lld), the split's documents%s",
                 (long long)doc, (long long)num_docs, doc == INT64_MIN ? " (or a value beyond the int64 range)" : "");
    else if (doc < prev)
        snprintf(fault->why, sizeof fault->why,
                 "document %lld after document %lld: the documents of sequences must not decrease", (long long)doc,
                 (long long)prev);
    else
        return 0;
    return -1;
}

int64_t vae_coalesce(const int64_t *start, const int64_t *end, int64_t n, int64_t max_gap, int64_t max_len,
                     int64_t *wstart, int64_t *wend, int64_t *wfirst)
{
    int64_t nw = 0;
    for (int64_t i = 0; i < n; i++) {
        if (end[i] <= start[i])
            continue;
        if (nw > 0 && start[i] - wend[nw - 1] <= max_gap) {
            int64_t stretched = end[i] > wend[nw - 1] ? end[i] : wend[nw - 1];
            if (stretched - wstart[nw - 1] <= max_len) {
                wend[nw - 1] = stretched;
                continue;
            }
        }
        wstart[nw] = start[i];
        wend[nw] = end[i];
        wfirst[nw++] = i;
    }
    return nw;
}
