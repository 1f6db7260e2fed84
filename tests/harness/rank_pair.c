/* See rank_pair.h. */
#include "rank_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* The reducer: both ranks' buffers summed in place once both have arrived. */
static int pair_sum(double *buf, size_t n, void *ctx)
{
    rank_run *r = ctx;
    r->calls++;
    r->p->slot[r->me] = buf;
    pthread_barrier_wait(&r->p->barrier);
    if (r->me == 0)
        for (size_t i = 0; i < n; i++)
            r->p->slot[0][i] = r->p->slot[1][i] = r->p->slot[0][i] + r->p->slot[1][i];
    pthread_barrier_wait(&r->p->barrier);
    return VAE_OK;
}

static void *run_rank(void *arg)
{
    rank_run *r = arg;
    if (vae_model_forward(r->m, r->b, &r->o, &r->sums) == VAE_OK)
        vae_model_backward(r->m, r->b, &r->o);
    return NULL;
}

void rank_pair_run(rank_run r[2])
{
    rank_pair p;
    pthread_t tid[2];
    pthread_barrier_init(&p.barrier, NULL, 2);
    for (int i = 0; i < 2; i++) {
        r[i].p = &p;
        r[i].me = i;
        r[i].calls = 0;
        r[i].o.reduce = pair_sum;
        r[i].o.reduce_ctx = &r[i];
        assert_int_equal(pthread_create(&tid[i], NULL, run_rank, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&p.barrier);
}
