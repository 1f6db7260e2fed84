/* The data schedule; see plan.h. */
#include "plan.h"

#include "vae/rng.h"

int64_t plan_steps_per_epoch(const train_plan *p)
{
    return (p->num_docs + p->batch_size - 1) / p->batch_size;
}

void plan_global_batch(const train_plan *p, int64_t k, int64_t *lo, int64_t *hi)
{
    *lo = k * p->batch_size;
    *hi = *lo + p->batch_size < p->num_docs ? *lo + p->batch_size : p->num_docs;
}

/* The token split: unit j of the batch goes to the rank whose share of the batch's tokens holds
 * the midpoint of j's tokens, rank floor(R (c_j + c_{j+1}) / 2T) with c_j the tokens before j, so
 * that parts are contiguous and differ from T/R by at most a unit's tokens. Exact in integers. */
static void token_part(const train_plan *p, int64_t epoch, int64_t glo, int64_t ghi, int rank, int64_t *lo,
                       int64_t *hi)
{
    const int64_t R = p->num_ranks;
    int64_t total = 0, before = 0;
    for (int64_t pos = glo; pos < ghi; pos++)
        total += (int64_t)p->lengths[plan_doc(p, epoch, pos)] + 1;
    *lo = *hi = ghi;
    for (int64_t pos = glo; pos < ghi; pos++) {
        const int64_t len = (int64_t)p->lengths[plan_doc(p, epoch, pos)] + 1;
        int64_t owner = R * (2 * before + len) / (2 * total);
        owner = owner < R ? owner : R - 1;
        if (owner == rank && *lo == ghi)
            *lo = pos;
        if (owner > rank) {
            *hi = pos;
            break;
        }
        before += len;
    }
    if (*lo == ghi)
        *lo = *hi = ghi;
}

void plan_rank_batch(const train_plan *p, int64_t epoch, int64_t k, int rank, int64_t *lo, int64_t *hi)
{
    int64_t glo, ghi;
    plan_global_batch(p, k, &glo, &ghi);
    if (p->lengths) {
        token_part(p, epoch, glo, ghi, rank, lo, hi);
        return;
    }
    const int64_t n = ghi - glo, base = n / p->num_ranks, extra = n % p->num_ranks;
    *lo = glo + rank * base + (rank < extra ? rank : extra);
    *hi = *lo + base + (rank < extra ? 1 : 0);
}

int64_t plan_max_rank_batch(const train_plan *p)
{
    const int64_t b = p->batch_size < p->num_docs ? p->batch_size : p->num_docs;
    /* A token split may give one rank all but the R - 1 longest units. */
    const int64_t m = p->lengths ? b : (b + p->num_ranks - 1) / p->num_ranks;
    return m > 0 ? m : 1;
}

int64_t plan_doc(const train_plan *p, int64_t epoch, int64_t pos)
{
    return p->shuffle ? vae_permute(p->seed, (uint64_t)epoch, p->num_docs, pos) : pos;
}
