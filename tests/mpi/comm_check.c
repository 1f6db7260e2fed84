/* The comm layer (include/vae/comm.h) and the gradient exchange (exchange.h) on 2-4 ranks, run by
 * tests/mpi/test_comm.sh under mpirun: sums, broadcast, gather, the blocks of a sharded buffer,
 * reduce-scatter and allgather, emulated nodes, the node's counter, agreement on failure (also by a
 * key), int64 sums and maxima, the all-to-all of bytes and the point-to-point stream (vae-prep's),
 * and every way of the exchange giving the same update as the allreduce. The gradients hold small integers, so that
 * every order of summation gives the same sums and the ways must agree bit for bit. MPI is
 * initialized here, before vae_comm_init, to check that the comm leaves it to its owner; with
 * --start, by vae_comm_start instead (see check_start). Every rank checks; the ranks agree on the
 * verdict, which rank 0 prints. */
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vae/comm.h"
#include "vae/exchange.h"

static int failures, rank, ranks;

#define CHECK(ok, ...) check((ok), __LINE__, __VA_ARGS__)

static void check(int ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(int ok, int line, const char *fmt, ...)
{
    if (ok)
        return;
    failures++;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "rank %d of %d: line %d: %s\n", rank, ranks, line, msg); /* one write: lines stay whole */
}

static void sums_and_broadcast(vae_comm *c)
{
    enum { N = 1000 };
    float f[N];
    double d[N];
    for (int i = 0; i < N; i++) {
        f[i] = (float)(rank + i);
        d[i] = 0.5 * rank + i;
    }
    CHECK(vae_comm_sum_floats(c, f, N) == VAE_OK && vae_comm_sum_doubles(c, d, N) == VAE_OK, "sums");
    const double base = ranks * (ranks - 1) / 2.0;
    for (int i = 0; i < N; i++)
        if (f[i] != (float)(base + (double)ranks * i) || d[i] != 0.5 * base + (double)ranks * i) {
            CHECK(0, "sum of element %d: %g and %g", i, f[i], d[i]);
            break;
        }
    char bytes[300];
    const int root = ranks - 1;
    for (int i = 0; i < (int)sizeof bytes; i++)
        bytes[i] = (char)(rank == root ? i % 127 : -1);
    CHECK(vae_comm_broadcast(c, bytes, sizeof bytes, root) == VAE_OK, "broadcast");
    for (int i = 0; i < (int)sizeof bytes; i++)
        if (bytes[i] != (char)(i % 127)) {
            CHECK(0, "broadcast byte %d is %d", i, bytes[i]);
            break;
        }
}

/* Rank r sends r + 1 bytes of value r; the root gets them one after the other in rank order. */
static void gather(vae_comm *c)
{
    const int root = ranks - 1;
    char send[8], recv[64];
    size_t recv_bytes[8];
    memset(send, rank, sizeof send);
    memset(recv, -1, sizeof recv);
    for (int r = 0; r < ranks; r++)
        recv_bytes[r] = (size_t)r + 1;
    CHECK(vae_comm_gather(c, send, (size_t)rank + 1, recv, recv_bytes, root) == VAE_OK, "gather");
    if (rank != root)
        return;
    int at = 0;
    for (int r = 0; r < ranks; r++)
        for (int k = 0; k <= r; k++, at++)
            CHECK(recv[at] == r, "gathered byte %d is %d, not %d", at, recv[at], r);
    CHECK(recv[at] == -1, "gather wrote past its %d bytes", at);
}

/* The blocks of every rank tile [0, n) without overlap, each starting on a 64-byte boundary: their
 * lengths add up to n, and from 0 a walk over adjacent non-empty blocks reaches n. */
static void shard_blocks(vae_comm *c, size_t n)
{
    size_t covered = 0, at = 0, lo, hi;
    for (int r = 0; r < ranks; r++) {
        vae_comm_shard(c, n, r, &lo, &hi);
        CHECK(lo % 16 == 0 && lo <= hi && hi <= n, "n %zu: block of rank %d is [%zu, %zu)", n, r, lo, hi);
        covered += hi - lo;
    }
    for (int k = 0; k < ranks; k++)
        for (int r = 0; r < ranks; r++) {
            vae_comm_shard(c, n, r, &lo, &hi);
            if (lo == at && hi > lo) {
                at = hi;
                break;
            }
        }
    CHECK(at == n && covered == n, "n %zu: the blocks cover %zu of it, up to %zu", n, covered, at);
}

/* Past one piece of the ring (65536 floats), so that a block travels in several. */
static void reduce_scatter_allgather(vae_comm *c)
{
    const size_t n = 150001;
    float *buf = malloc(n * sizeof *buf);
    size_t lo, hi;
    vae_comm_shard(c, n, rank, &lo, &hi);
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)(i % 97 + (size_t)rank);
    CHECK(vae_comm_reduce_scatter_floats(c, buf, n) == VAE_OK, "reduce-scatter");
    const float base = (float)(ranks * (ranks - 1) / 2);
    for (size_t i = lo; i < hi; i++)
        if (buf[i] != (float)ranks * (float)(i % 97) + base) {
            CHECK(0, "reduce-scatter: element %zu of the block [%zu, %zu) is %g", i, lo, hi, buf[i]);
            break;
        }
    for (size_t i = 0; i < n; i++)
        buf[i] = i >= lo && i < hi ? (float)(i % 101) : -1.0f;
    CHECK(vae_comm_allgather_floats(c, buf, n) == VAE_OK, "allgather");
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (float)(i % 101)) {
            CHECK(0, "allgather: element %zu is %g", i, buf[i]);
            break;
        }
    free(buf);
}

static void emulated_nodes(vae_comm *c)
{
    CHECK(vae_comm_nodes(c) == 1 && vae_comm_nodes_even(c), "one machine: %d nodes", vae_comm_nodes(c));
    CHECK(vae_comm_set_ranks_per_node(c, 1) == VAE_OK && vae_comm_nodes(c) == ranks && vae_comm_nodes_even(c),
          "a node per rank: %d nodes", vae_comm_nodes(c));
    shard_blocks(c, 1000);
    CHECK(vae_comm_set_ranks_per_node(c, 2) == VAE_OK && vae_comm_nodes(c) == (ranks + 1) / 2 &&
              vae_comm_nodes_even(c) == (ranks % 2 == 0), "nodes of 2 ranks: %d nodes, even %d", vae_comm_nodes(c),
          vae_comm_nodes_even(c));
    if (ranks % 2 == 0) {
        vae_comm_shared *s = NULL;
        CHECK(vae_comm_shared_new(c, 100, 100, &s) == VAE_OK, "node-shared buffers");
        CHECK(vae_comm_set_ranks_per_node(c, 1) == VAE_ERR_ARG, "the nodes changed under node-shared buffers");
        vae_comm_shared_free(s);
    } else {
        vae_comm_shared *s = NULL;
        CHECK(vae_comm_shared_new(c, 100, 100, &s) == VAE_ERR_ARG && !s, "node-shared buffers on uneven nodes");
    }
    CHECK(vae_comm_set_ranks_per_node(c, 0) == VAE_OK && vae_comm_nodes(c) == 1, "back to the machine's nodes");
}

/* The node's counter hands out 0, 1, 2, ... each once among its ranks, on the machine's node and
 * on emulated nodes of 2 ranks (each node its own counter), while the ranks draw at once; and the
 * maxima over ranks. */
static void counters(vae_comm *c)
{
    enum { DRAWS = 3000 };
    for (int per_node = 0; per_node <= 2; per_node += 2) {
        CHECK(vae_comm_set_ranks_per_node(c, per_node) == VAE_OK, "nodes of %d ranks", per_node);
        const int node_ranks = per_node == 0 ? ranks : (rank / 2 * 2 + 2 <= ranks ? 2 : ranks - rank / 2 * 2);
        /* seen[m * stride + v]: how often node m drew value v, summed over the ranks */
        const size_t stride = (size_t)DRAWS * (size_t)ranks, cells = stride * (size_t)ranks;
        int64_t *seen = calloc(cells, sizeof *seen), v;
        if (!seen) {
            fprintf(stderr, "comm_check: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        vae_comm_counter *k = NULL;
        CHECK(vae_comm_counter_new(c, &k) == VAE_OK && k, "a counter on nodes of %d ranks", per_node);
        if (!k) { /* a failure every rank agreed on */
            free(seen);
            continue;
        }
        while ((v = vae_comm_counter_next(k)) < (int64_t)DRAWS * node_ranks)
            seen[(size_t)(per_node ? rank / 2 : 0) * stride + (size_t)v]++;
        vae_comm_counter_free(k);
        CHECK(vae_comm_sum_int64(c, seen, cells) == VAE_OK, "the draws' sum");
        const int nodes = per_node ? (ranks + 1) / 2 : 1;
        for (int m = 0; m < nodes; m++) {
            const int in_node = per_node ? (2 * m + 2 <= ranks ? 2 : 1) : ranks;
            for (int64_t x = 0; x < (int64_t)DRAWS * in_node; x++)
                if (seen[(size_t)m * stride + (size_t)x] != 1) {
                    CHECK(0, "node %d of %d: value %lld drawn %lld times", m, nodes, (long long)x,
                          (long long)seen[(size_t)m * stride + (size_t)x]);
                    break;
                }
        }
        free(seen);
    }
    CHECK(vae_comm_set_ranks_per_node(c, 0) == VAE_OK, "back to the machine's nodes");
    int64_t m[2] = {rank, -rank};
    CHECK(vae_comm_max_int64(c, m, 2) == VAE_OK && m[0] == ranks - 1 && m[1] == 0, "maxima %lld %lld",
          (long long)m[0], (long long)m[1]);
}

/* The lowest failing rank's status and message reach every rank. */
static void agreement(vae_comm *c)
{
    int who = -1;
    CHECK(vae_comm_agree(c, VAE_OK, &who) == VAE_OK && who == -1, "all fine: agreed failure of rank %d", who);
    const int mine = rank == 0 ? VAE_OK : vae_fail(rank % 2 ? VAE_ERR_IO : VAE_ERR_FORMAT, "rank %d failed", rank);
    const int agreed = vae_comm_agree(c, mine, &who);
    CHECK(agreed == VAE_ERR_IO && who == 1 && strcmp(vae_error_message(), "rank 1 failed") == 0,
          "agreed on status %d of rank %d: '%s'", agreed, who, vae_error_message());
    const int last = vae_comm_agree(c, rank == ranks - 1 ? vae_fail(VAE_ERR_NOMEM, "the last") : VAE_OK, &who);
    CHECK(last == VAE_ERR_NOMEM && who == ranks - 1, "the last rank's failure: status %d of rank %d", last, who);
}

/* The failure of lowest key wins, whichever rank has it; ties go to the lowest rank. */
static void agreement_by_key(vae_comm *c)
{
    int who = -1;
    /* rank r fails with key ranks - r: the last rank has the lowest */
    int agreed = vae_comm_agree_first(c, vae_fail(VAE_ERR_IO, "rank %d at %d", rank, ranks - rank), ranks - rank, &who);
    char want[64];
    snprintf(want, sizeof want, "rank %d at 1", ranks - 1);
    CHECK(agreed == VAE_ERR_IO && who == ranks - 1 && strcmp(vae_error_message(), want) == 0,
          "lowest key: status %d of rank %d: '%s'", agreed, who, vae_error_message());
    agreed = vae_comm_agree_first(c, rank > 0 ? vae_fail(VAE_ERR_FORMAT, "tie %d", rank) : VAE_OK, 7, &who);
    CHECK(ranks == 1 ? agreed == VAE_OK : agreed == VAE_ERR_FORMAT && who == 1, "a tie: status %d of rank %d", agreed, who);
    CHECK(vae_comm_agree_first(c, VAE_OK, 0, &who) == VAE_OK, "all fine by key");
}

/* int64 sums past 2^53 (where doubles would round); the all-to-all: rank r sends rank q (q + 1) * (r + 1)
 * bytes of value r * 16 + q, an empty block to itself when r is even. */
static void int64_alltoall(vae_comm *c)
{
    if (ranks > 8) {
        CHECK(0, "the all-to-all check is written for at most 8 ranks");
        return;
    }
    int64_t big[2] = {(int64_t)1 << 60, rank + 1};
    CHECK(vae_comm_sum_int64(c, big, 2) == VAE_OK && big[0] == ((int64_t)1 << 60) * ranks &&
          big[1] == (int64_t)ranks * (ranks + 1) / 2, "int64 sums: %lld %lld", (long long)big[0], (long long)big[1]);
    size_t send_bytes[8], recv_bytes[8], total = 0;
    for (int q = 0; q < ranks; q++)
        total += send_bytes[q] = q == rank && rank % 2 == 0 ? 0 : (size_t)(q + 1) * (size_t)(rank + 1);
    unsigned char *send = malloc(total ? total : 1), *at = send;
    for (int q = 0; q < ranks; q++) {
        memset(at, rank * 16 + q, send_bytes[q]);
        at += send_bytes[q];
    }
    void *recv = NULL;
    CHECK(vae_comm_alltoall(c, send, send_bytes, &recv, recv_bytes) == VAE_OK, "alltoall: %s", vae_error_message());
    const unsigned char *got = recv;
    for (int r = 0; r < ranks; r++) {
        const size_t want = r == rank && rank % 2 == 0 ? 0 : (size_t)(rank + 1) * (size_t)(r + 1);
        CHECK(recv_bytes[r] == want, "alltoall: %zu bytes from rank %d, not %zu", recv_bytes[r], r, want);
        for (size_t i = 0; i < recv_bytes[r] && i < want; i++)
            if (got[i] != (unsigned char)(r * 16 + rank)) {
                CHECK(0, "alltoall: byte %zu from rank %d is %d", i, r, got[i]);
                break;
            }
        got += recv_bytes[r];
    }
    free(recv);
    free(send);
}

/* The streams: every rank sends rank 0 messages of growing sizes under tag 0, which arrive whole
 * and in order from each; then messages under tags 1 .. TAGGED dealt in turn to ranks 1, 2, ...,
 * each rank sending its own in reverse order, which rank 0 takes in tag order from any source; and
 * a message that has arrived, seen without being taken, then received. */
static void streams(vae_comm *c)
{
    enum { MESSAGES = 5, TAGGED = 12, LATE_TAG = 77 };
    CHECK(vae_comm_tag_max(c) >= 32767, "the largest tag is %d", vae_comm_tag_max(c));
    if (rank == 0) {
        void *buf = NULL;
        size_t cap = 0, bytes = 0;
        for (int k = 0; k < MESSAGES; k++)
            for (int r = 1; r < ranks; r++) {
                const size_t want = (size_t)1 << (4 * k);
                CHECK(vae_comm_recv(c, r, 0, &buf, &cap, &bytes) == VAE_OK && bytes == want && cap >= want &&
                      ((unsigned char *)buf)[0] == (unsigned char)(r * 16 + k) &&
                      ((unsigned char *)buf)[want - 1] == (unsigned char)(r * 16 + k),
                      "message %d of rank %d: %zu bytes, not %zu", k, r, bytes, want);
            }
        free(buf);
    } else {
        for (int k = 0; k < MESSAGES; k++) {
            const size_t n = (size_t)1 << (4 * k);
            unsigned char *m = malloc(n);
            memset(m, rank * 16 + k, n);
            CHECK(vae_comm_send(c, 0, 0, m, n) == VAE_OK, "send %d: %s", k, vae_error_message());
            free(m);
        }
    }
    if (ranks < 2)
        return;
    if (rank == 0) {
        void *buf = NULL;
        size_t cap = 0, bytes = 0;
        int arrived = 1;
        CHECK(vae_comm_arrived(c, VAE_COMM_ANY_SOURCE, LATE_TAG, &arrived) == VAE_OK && !arrived,
              "a message not yet sent has arrived");
        CHECK(vae_comm_agree(c, VAE_OK, NULL) == VAE_OK, "agreed before the tagged sends");
        for (int t = 1; t <= TAGGED; t++) {
            CHECK(vae_comm_recv(c, VAE_COMM_ANY_SOURCE, t, &buf, &cap, &bytes) == VAE_OK && bytes == 2 &&
                  ((unsigned char *)buf)[0] == t && ((unsigned char *)buf)[1] == 1 + (t - 1) % (ranks - 1),
                  "tag %d: %zu bytes, %d from rank %d", t, bytes, bytes ? ((unsigned char *)buf)[0] : -1,
                  bytes > 1 ? ((unsigned char *)buf)[1] : -1);
        }
        CHECK(vae_comm_agree(c, VAE_OK, NULL) == VAE_OK, "agreed after the late send");
        for (int tries = 0; !arrived && tries < 10000; tries++) {
            CHECK(vae_comm_arrived(c, 1, LATE_TAG, &arrived) == VAE_OK, "looking for the late message");
            if (!arrived)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        CHECK(arrived, "the late message has not arrived in 10 s");
        CHECK(vae_comm_arrived(c, VAE_COMM_ANY_SOURCE, LATE_TAG, &arrived) == VAE_OK && arrived,
              "the late message was taken by looking at it");
        CHECK(vae_comm_recv(c, 1, LATE_TAG, &buf, &cap, &bytes) == VAE_OK && bytes == 2 &&
              ((unsigned char *)buf)[0] == LATE_TAG, "the late message: %zu bytes", bytes);
        free(buf);
    } else {
        unsigned char m[TAGGED + 1][2];
        vae_comm_sending *s[TAGGED + 1] = {0};
        CHECK(vae_comm_agree(c, VAE_OK, NULL) == VAE_OK, "agreed before the tagged sends");
        for (int t = TAGGED; t >= 1; t--)
            if (1 + (t - 1) % (ranks - 1) == rank) {
                m[t][0] = (unsigned char)t;
                m[t][1] = (unsigned char)rank;
                CHECK(vae_comm_send_start(c, 0, t, m[t], 2, &s[t]) == VAE_OK, "send of tag %d", t);
            }
        for (int t = 1; t <= TAGGED; t++)
            CHECK(vae_comm_send_wait(s[t]) == VAE_OK, "the send of tag %d", t);
        const unsigned char late[2] = {LATE_TAG, 1};
        if (rank == 1)
            CHECK(vae_comm_send(c, 0, LATE_TAG, late, 2) == VAE_OK, "the late send");
        CHECK(vae_comm_agree(c, VAE_OK, NULL) == VAE_OK, "agreed after the late send");
    }
}

enum { NUM_PARAMS = 70001, NUM_SUMS = 3, STEPS = 2 };

typedef struct {
    float params[NUM_PARAMS], m[NUM_PARAMS], v[NUM_PARAMS];
} state;

static void fill_gradient(float *g, int step)
{
    for (size_t i = 0; i < NUM_PARAMS; i++)
        g[i] = (float)((i * 7 + (size_t)rank * 3 + (size_t)step) % 11) - 5.0f;
}

/* From rank 0's start, STEPS Adam steps clipped by the global norm, then the moments gathered;
 * then a non-finite gradient on the last rank, which every rank must report. Into *out, this
 * rank's copy of the result. */
static void run_exchange(vae_comm *c, const vae_exchange_config *cfg, const char *want_name, state *out)
{
    vae_exchange *ex = NULL;
    vae_optim *o = NULL;
    const vae_optim_config oc = {.kind = VAE_OPTIM_ADAM, .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                 .clip_norm = 100.0f};
    int rc = vae_exchange_new(&ex, c, cfg, NUM_PARAMS, NUM_SUMS);
    CHECK(rc == VAE_OK, "%s: vae_exchange_new: %s", want_name, vae_error_message());
    if (rc != VAE_OK)
        return;
    CHECK(strcmp(vae_exchange_name(ex), want_name) == 0, "the way is '%s', not '%s'", vae_exchange_name(ex), want_name);
    CHECK(vae_optim_new(&o, &oc, NUM_PARAMS) == VAE_OK, "optimizer");
    float *params = vae_exchange_params(ex), *grads = vae_exchange_grads(ex);
    if (rank == 0) {
        for (size_t i = 0; i < NUM_PARAMS; i++) {
            params[i] = (float)(i % 13) * 0.25f;
            o->m[i] = 0.01f * (float)(i % 3);
        }
        o->t = 5;
    }
    CHECK(vae_exchange_spread_start(ex, o) == VAE_OK && o->t == 5 && o->m[NUM_PARAMS - 1] == 0.01f * (float)((NUM_PARAMS - 1) % 3) &&
              params[NUM_PARAMS - 1] == (float)((NUM_PARAMS - 1) % 13) * 0.25f, "%s: the start spread", want_name);
    vae_exchange_times times = {0};
    for (int step = 0; step < STEPS; step++) {
        fill_gradient(grads, step);
        double sums[NUM_SUMS] = {rank + 1, 0.5, rank * step};
        CHECK(vae_exchange_step(ex, o, sums, &times) == VAE_OK, "%s: step %d: %s", want_name, step, vae_error_message());
        CHECK(sums[0] == ranks * (ranks + 1) / 2 && sums[1] == 0.5 * ranks && sums[2] == step * ranks * (ranks - 1) / 2,
              "%s: step %d: sums %g %g %g", want_name, step, sums[0], sums[1], sums[2]);
    }
    CHECK(times.comm_s >= 0 && times.update_s > 0, "%s: times %g %g", want_name, times.comm_s, times.update_s);
    CHECK(vae_exchange_gather_moments(ex, o) == VAE_OK, "%s: moments gathered", want_name);
    memcpy(out->params, params, sizeof out->params);
    memcpy(out->m, o->m, sizeof out->m);
    memcpy(out->v, o->v, sizeof out->v);
    for (int clip = 1; clip >= 0; clip--) {
        o->cfg.clip_norm = clip ? 100.0f : 0.0f;
        fill_gradient(grads, 0);
        if (rank == ranks - 1)
            grads[NUM_PARAMS / 2] = NAN;
        double sums[NUM_SUMS] = {0};
        const int bad = vae_exchange_step(ex, o, sums, &times);
        CHECK(bad == VAE_ERR_NUMERIC, "%s: a non-finite gradient (clipping %d) gave status %d", want_name, clip, bad);
    }
    vae_optim_free(o);
    vae_exchange_free(ex);
}

static void same_state(const state *a, const state *b, const char *name)
{
    CHECK(memcmp(a->params, b->params, sizeof a->params) == 0, "%s: parameters differ from the allreduce's", name);
    CHECK(memcmp(a->m, b->m, sizeof a->m) == 0 && memcmp(a->v, b->v, sizeof a->v) == 0,
          "%s: moments differ from the allreduce's", name);
}

static void exchanges(vae_comm *c)
{
    static state reference, other;
    vae_exchange_config cfg;
    vae_exchange_config_default(&cfg);
    CHECK(cfg.kind == VAE_EXCHANGE_SHARDED && cfg.shared_memory && cfg.ranks_per_node == 0, "the defaults");
    cfg.kind = VAE_EXCHANGE_ALLREDUCE;
    run_exchange(c, &cfg, "allreduce", &reference);
    const char *across = "node-shared memory, reduce-scatter + allgather across nodes";
    const struct {
        int shared_memory, ranks_per_node;
        const char *name;
    } ways[] = {
        {1, 0, "node-shared memory"},
        {0, 0, "reduce-scatter + allgather"},
        {1, 1, across},
        {0, 1, "reduce-scatter + allgather"},
        {1, 2, ranks == 2 ? "node-shared memory" : ranks % 2 ? "reduce-scatter + allgather" : across},
    };
    for (size_t k = 0; k < sizeof ways / sizeof ways[0]; k++) {
        vae_exchange_config_default(&cfg);
        cfg.shared_memory = ways[k].shared_memory;
        cfg.ranks_per_node = ways[k].ranks_per_node;
        run_exchange(c, &cfg, ways[k].name, &other);
        same_state(&reference, &other, ways[k].name);
    }
    CHECK(vae_comm_set_ranks_per_node(c, 0) == VAE_OK, "back to the machine's nodes");
}

/* comm_check --start exact|unknown: MPI started by vae_comm_start, on its thread. Before it is up,
 * vae_comm_launch gives the launcher's rank and size, which must be MPI's ("exact": mpirun's or no
 * launcher's environment), or says it does not know ("unknown": a launcher's environment without a
 * rank and size); after, MPI's own. The verdict goes through the comm, before vae_comm_free ends
 * MPI. */
static int check_start(const char *expect)
{
    vae_comm *c = NULL;
    if (vae_comm_start(&c) != VAE_OK) {
        fprintf(stderr, "comm_check: %s\n", vae_error_message());
        return 1;
    }
    int guess_rank = -1, guess_size = -1;
    const int known = vae_comm_launch(c, &guess_rank, &guess_size);
    if (vae_comm_wait(c) != VAE_OK) {
        fprintf(stderr, "comm_check: %s\n", vae_error_message());
        vae_comm_free(c);
        return 1;
    }
    rank = vae_comm_rank(c);
    ranks = vae_comm_size(c);
    CHECK(vae_comm_started(c), "vae_comm_wait returned before MPI was up");
    if (strcmp(expect, "exact") == 0)
        CHECK(known && guess_rank == rank && guess_size == ranks, "the launcher's word: %s rank %d of %d",
              known ? "known," : "unknown,", guess_rank, guess_size);
    else
        CHECK(!known, "the launcher's word is rank %d of %d, where the environment tells none", guess_rank,
              guess_size);
    int r = -1, n = -1;
    CHECK(vae_comm_launch(c, &r, &n) && r == rank && n == ranks, "vae_comm_launch after the start: %d of %d", r, n);
    sums_and_broadcast(c);
    int64_t total = failures;
    CHECK(vae_comm_sum_int64(c, &total, 1) == VAE_OK, "the verdict's sum");
    if (rank == 0)
        printf("comm_check --start %s on %d ranks: %s (%lld failed checks)\n", expect, ranks,
               total ? "FAILED" : "passed", (long long)total);
    vae_comm_free(c);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
        fprintf(stderr, "comm_check: vae_comm_free left the MPI it started running\n");
        return 1;
    }
    return total != 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--start") == 0)
        return check_start(argv[2]);
    MPI_Init(&argc, &argv);
    vae_comm *c = NULL;
    if (vae_comm_init(&c, &argc, &argv) != VAE_OK) {
        fprintf(stderr, "comm_check: %s\n", vae_error_message());
        return 1;
    }
    rank = vae_comm_rank(c);
    ranks = vae_comm_size(c);
    sums_and_broadcast(c);
    gather(c);
    for (size_t n = 1; n < 200000; n = n * 7 + 3)
        shard_blocks(c, n);
    reduce_scatter_allgather(c);
    emulated_nodes(c);
    counters(c);
    agreement(c);
    agreement_by_key(c);
    int64_alltoall(c);
    streams(c);
    exchanges(c);
    vae_comm_free(c);
    /* MPI was ours: still initialized, and a second comm lives on it. */
    int finalized = 1;
    MPI_Finalized(&finalized);
    CHECK(!finalized, "vae_comm_free finalized the caller's MPI");
    CHECK(vae_comm_init(&c, &argc, &argv) == VAE_OK && vae_comm_size(c) == ranks, "a second comm");
    vae_comm_free(c);
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("comm_check on %d ranks: %s (%d failed checks)\n", ranks, total ? "FAILED" : "passed", total);
    MPI_Finalize();
    return total != 0;
}
