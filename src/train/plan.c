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

void plan_rank_batch(const train_plan *p, int64_t k, int rank, int64_t *lo, int64_t *hi)
{
    int64_t glo, ghi;
    plan_global_batch(p, k, &glo, &ghi);
    const int64_t n = ghi - glo, base = n / p->num_ranks, extra = n % p->num_ranks;
    *lo = glo + rank * base + (rank < extra ? rank : extra);
    *hi = *lo + base + (rank < extra ? 1 : 0);
}

int64_t plan_max_rank_batch(const train_plan *p)
{
    const int64_t b = p->batch_size < p->num_docs ? p->batch_size : p->num_docs;
    const int64_t m = (b + p->num_ranks - 1) / p->num_ranks;
    return m > 0 ? m : 1;
}

int64_t plan_doc(const train_plan *p, int64_t epoch, int64_t pos)
{
    return p->shuffle ? vae_permute(p->seed, (uint64_t)epoch, p->num_docs, pos) : pos;
}
