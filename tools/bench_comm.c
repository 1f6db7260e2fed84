/* Benchmark of the ways of the gradient exchange (exchange.h; not a test): one in-place allreduce
 * (--gradient-exchange allreduce) against the sharded exchange's: comm.c's ring reduce-scatter
 * followed by an allgather over all ranks, and, when every node holds the same number of ranks,
 * the node-shared exchange: on one node a barrier, each rank's block summed straight from every
 * rank's gradient (as the update's pass reads it; the sum is kept in L1, not written back) and the
 * collective that ends the step (no allgather); across nodes (--ranks-per-node K emulates nodes of
 * K ranks) the node sums, a reduce-scatter and an allgather among counterparts, then that
 * collective. A buffer the size of a model's gradient, through the library's comm module exactly
 * as exchange.c calls it. Between repetitions a 64 MB buffer is rewritten, so that, as in
 * training, the gradient is not left in cache by the previous repetition. Prints rank 0's medians.
 * Open MPI's single-copy transport is off, as vae-dist's default (--shm-single-copy off), unless
 * the environment sets OMPI_MCA_btl_vader_single_copy_mechanism (=cma measures it on).
 * usage: mpirun -np N vae-bench-comm [--floats N] [--reps R] [--ranks-per-node K] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "vae/comm.h"
#include "vae/optim.h"

enum { EVICT_BYTES = 64 << 20 };

typedef struct {
    int64_t floats, reps, ranks_per_node;
} bench_opts;

static const cli_entry entries[] = {
    {"floats", "N", "floats in the buffer (the default: the default model's gradient at V = 10000)", CLI_INT,
     CLI_AT(bench_opts, floats), .min = 16, .max = (int64_t)1 << 30},
    {"reps", "R", "timed repetitions", CLI_INT, CLI_AT(bench_opts, reps), .min = 1, .max = 100000},
    {"ranks-per-node", "K", "count runs of K consecutive ranks as nodes (default 0: the machines)", CLI_INT,
     CLI_AT(bench_opts, ranks_per_node), .min = 0, .max = 1 << 20},
};

static const cli_table table = {
    .prog = "vae-bench-comm",
    .usage = "usage: mpirun -np N vae-bench-comm [options]\n"
             "Times the ways of combining a gradient across the ranks; prints rank 0's medians.\n\n",
    CLI_ENTRIES(entries),
};

int main(int argc, char **argv)
{
    vae_comm *comm = NULL;
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    if (vae_comm_init(&comm, &argc, &argv) != VAE_OK) {
        fprintf(stderr, "vae-bench-comm: %s\n", vae_error_message());
        return 1;
    }
    bench_opts b = {.floats = 2592976, .reps = 40};
    cli_args a;
    cli_set_silent(vae_comm_rank(comm) != 0);
    const int status = cli_run(&a, &table, &b, argc, argv, 1);
    cli_free(&a);
    if (status != 0) {
        vae_comm_free(comm);
        return status == CLI_EXIT ? 0 : status;
    }
    const int64_t n = b.floats, reps = b.reps;
    float *g = malloc(sizeof *g * (size_t)n);
    char *evict = malloc(EVICT_BYTES);
    double *t_all = malloc(sizeof(double) * (size_t)reps), *t_rs = malloc(sizeof(double) * (size_t)reps),
           *t_ag = malloc(sizeof(double) * (size_t)reps);
    double *t_shm = malloc(sizeof(double) * (size_t)reps);
    int rc = vae_comm_set_ranks_per_node(comm, (int)b.ranks_per_node);
    if (rc == VAE_OK && !(g && evict && t_all && t_rs && t_ag && t_shm))
        rc = VAE_ERR_NOMEM;
    vae_comm_shared *shared = NULL;
    const int use_shared = vae_comm_nodes_even(comm), nodes = vae_comm_nodes(comm);
    const float **terms = NULL;
    if (rc == VAE_OK && use_shared && (rc = vae_comm_shared_new(comm, (size_t)n, (size_t)n, &shared)) == VAE_OK &&
        !(terms = malloc(sizeof *terms * (size_t)vae_comm_shared_size(shared))))
        rc = VAE_ERR_NOMEM;
    size_t lo = 0, hi = 0;
    vae_comm_shard(comm, (size_t)n, vae_comm_rank(comm), &lo, &hi);
    for (int64_t r = -3; r < reps && rc == VAE_OK; r++) {
        double t[4] = {0};
        for (int way = 0; way < 2 && rc == VAE_OK; way++) {
            memset(evict, (int)r, EVICT_BYTES);
            for (int64_t i = 0; i < n; i++)
                g[i] = (float)(i % 1000);
            vae_comm_agree(comm, VAE_OK, NULL);
            t[2 * way] = vae_wtime();
            if (way == 0) {
                rc = vae_comm_sum_floats(comm, g, (size_t)n);
                t[1] = vae_wtime();
            } else {
                rc = vae_comm_reduce_scatter_floats(comm, g, (size_t)n);
                t[3] = vae_wtime();
                if (rc == VAE_OK)
                    rc = vae_comm_allgather_floats(comm, g, (size_t)n);
                if (r >= 0)
                    t_ag[r] = vae_wtime() - t[3];
            }
        }
        if (r >= 0) {
            t_all[r] = t[1] - t[0];
            t_rs[r] = t[3] - t[2];
        }
        if (shared && rc == VAE_OK) {
            float *mine = vae_comm_shared_grads(shared);
            double t0;
            memset(evict, (int)r, EVICT_BYTES);
            for (int64_t i = 0; i < n; i++)
                mine[i] = (float)(i % 1000);
            vae_comm_agree(comm, VAE_OK, NULL);
            t0 = vae_wtime();
            rc = vae_comm_shared_sync(shared, NULL, 0);
            int num_terms = 1;
            terms[0] = mine + lo;
            if (rc == VAE_OK && nodes > 1)
                rc = vae_comm_shared_reduce_scatter(shared);
            else
                for (num_terms = 0; num_terms < vae_comm_shared_size(shared); num_terms++)
                    terms[num_terms] = vae_comm_shared_all_grads(shared)[num_terms] + lo;
            double sum_squares = rc == VAE_OK ? vae_grad_sum_squares(terms, num_terms, hi - lo) : 0.0;
            if (rc == VAE_OK && nodes > 1)
                rc = vae_comm_shared_allgather(shared);
            if (rc == VAE_OK)
                rc = vae_comm_shared_sync(shared, &sum_squares, 1);
            if (r >= 0)
                t_shm[r] = vae_wtime() - t0;
        }
    }
    if (rc == VAE_OK && vae_comm_rank(comm) == 0) {
        const double all = bench_median(t_all, (int)reps), rs = bench_median(t_rs, (int)reps),
                     ag = bench_median(t_ag, (int)reps);
        printf("%d ranks, %lld floats (%.1f MB), medians of %lld\n", vae_comm_size(comm), (long long)n,
               4e-6 * (double)n, (long long)reps);
        printf("allreduce (in place):              %.3f ms\n", 1e3 * all);
        printf("reduce-scatter (ring) + allgather: %.3f ms (%.3f + %.3f)\n", 1e3 * (rs + ag), 1e3 * rs, 1e3 * ag);
        if (shared && nodes == 1)
            printf("node-shared memory (barrier, sum, barrier): %.3f ms\n", 1e3 * bench_median(t_shm, (int)reps));
        else if (shared)
            printf("node-shared memory, %d nodes (barrier, node sums, reduce-scatter and allgather across nodes, "
                   "barrier): %.3f ms\n", nodes, 1e3 * bench_median(t_shm, (int)reps));
    }
    if (rc != VAE_OK)
        fprintf(stderr, "vae-bench-comm: %s\n", vae_error_message());
    free(g);
    free(evict);
    free(t_all);
    free(t_rs);
    free(t_ag);
    free(t_shm);
    free(terms);
    vae_comm_shared_free(shared);
    vae_comm_free(comm);
    return rc == VAE_OK ? 0 : 1;
}
