/* Tests of the data schedule (plan.h): the global batches of an epoch tile [0, D) in order, each of
 * batch_size documents but the last (smaller exactly when batch_size does not divide D); each is
 * split among the ranks into contiguous, disjoint parts whose sizes differ by at most one;
 * plan_max_rank_batch is the largest part; plan_doc is the identity without shuffling and a
 * permutation of [0, D) per epoch with it. With lengths (sequences), the parts are contiguous, tile
 * the batch in order, and hold tokens within one sequence of an even share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static train_plan make_plan(int64_t D, int64_t B, int R, uint64_t seed, int shuffle)
{
    train_plan p;
    memset(&p, 0, sizeof p);
    p.num_docs = D;
    p.batch_size = B;
    p.num_ranks = R;
    p.seed = seed;
    p.shuffle = shuffle;
    return p;
}

/* Checks every invariant of the schedule of one (D, B, R). */
static void check_schedule(int64_t D, int64_t B, int R)
{
    const train_plan p = make_plan(D, B, R, 1, 0);
    const int64_t steps = plan_steps_per_epoch(&p);
    assert_int_equal(steps, (D + B - 1) / B);
    assert_true(steps * B >= D && (steps - 1) * B < D);
    const int64_t maxpart = plan_max_rank_batch(&p);
    int64_t biggest = 0;
    int64_t next = 0; /* the first position the batches have not covered yet */
    char *covered = calloc((size_t)D, 1);
    assert_non_null(covered);
    for (int64_t k = 0; k < steps; k++) {
        int64_t glo = -1, ghi = -1;
        plan_global_batch(&p, k, &glo, &ghi);
        /* Batches follow one another in order, without gaps or overlaps. */
        assert_int_equal(glo, next);
        assert_true(ghi > glo);
        assert_true(ghi <= D);
        if (k < steps - 1)
            assert_int_equal(ghi - glo, B);
        else
            assert_int_equal(ghi - glo, D % B ? D % B : B); /* the last one is smaller iff B does not divide D */
        next = ghi;
        /* The ranks' parts: contiguous, in rank order, covering the batch, sizes within one. */
        int64_t at = glo, smallest = INT64_MAX, largest = -1, total = 0;
        for (int r = 0; r < R; r++) {
            int64_t lo = -1, hi = -1;
            plan_rank_batch(&p, 0, k, r, &lo, &hi);
            assert_int_equal(lo, at);
            assert_true(hi >= lo);
            assert_true(hi <= ghi);
            for (int64_t i = lo; i < hi; i++) {
                assert_int_equal(covered[i], 0);
                covered[i] = 1;
            }
            const int64_t size = hi - lo;
            smallest = size < smallest ? size : smallest;
            largest = size > largest ? size : largest;
            total += size;
            at = hi;
            assert_true(size <= maxpart);
        }
        assert_int_equal(at, ghi);
        assert_int_equal(total, ghi - glo);
        assert_true(largest - smallest <= 1);
        /* As even as possible: the sizes are floor(n/R) and ceil(n/R). */
        assert_int_equal(smallest, (ghi - glo) / R);
        assert_int_equal(largest, (ghi - glo + R - 1) / R);
        biggest = largest > biggest ? largest : biggest;
    }
    assert_int_equal(next, D);
    for (int64_t i = 0; i < D; i++)
        assert_int_equal(covered[i], 1);
    /* The capacity is the largest part of any step (not more than needed). */
    assert_int_equal(maxpart, biggest);
    free(covered);
}

static void test_schedule_small_grid(void **state)
{
    /* Every (D, B, R) with D in 1..40, B in 1..45, R in 1..5: includes D < R, B < R, B > D, B not
     * dividing D and B dividing D. */
    for (int64_t D = 1; D <= 40; D++)
        for (int64_t B = 1; B <= 45; B++)
            for (int R = 1; R <= 5; R++)
                check_schedule(D, B, R);
}

static void test_schedule_larger_cases(void **state)
{
    const int64_t cases[][3] = {
        {1000, 256, 3}, {1024, 256, 4}, {1025, 256, 4}, {100003, 256, 5}, {100000, 1000, 7},
        {257, 256, 8}, {3, 256, 8}, {5000, 1, 3}, {12345, 97, 16}, {7, 7, 7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        check_schedule(cases[c][0], cases[c][1], (int)cases[c][2]);
}

/* The sizes of the R parts of step k, in rank order. */
static void part_sizes(const train_plan *p, int64_t k, int64_t *sizes)
{
    for (int r = 0; r < p->num_ranks; r++) {
        int64_t lo, hi;
        plan_rank_batch(p, 0, k, r, &lo, &hi);
        sizes[r] = hi - lo;
    }
}

static int count_size(const int64_t *sizes, int n, int64_t size)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += sizes[i] == size;
    return c;
}

static void test_hand_worked_split(void **state)
{
    /* D = 10, B = 4, R = 3: batches [0,4) [4,8) [8,10); [0,4) splits into parts of 2, 1, 1 (in
     * some rank order) starting at 0; [8,10) into 1, 1, 0 starting at 8. The capacity is 2. */
    const train_plan p = make_plan(10, 4, 3, 0, 0);
    assert_int_equal(plan_steps_per_epoch(&p), 3);
    int64_t lo, hi, sizes[5];
    plan_global_batch(&p, 0, &lo, &hi);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 4);
    plan_global_batch(&p, 1, &lo, &hi);
    assert_int_equal(lo, 4);
    assert_int_equal(hi, 8);
    plan_global_batch(&p, 2, &lo, &hi);
    assert_int_equal(lo, 8);
    assert_int_equal(hi, 10);
    part_sizes(&p, 0, sizes);
    assert_int_equal(count_size(sizes, 3, 2), 1);
    assert_int_equal(count_size(sizes, 3, 1), 2);
    plan_rank_batch(&p, 0, 0, 0, &lo, &hi);
    assert_int_equal(lo, 0);
    part_sizes(&p, 2, sizes);
    assert_int_equal(count_size(sizes, 3, 1), 2);
    assert_int_equal(count_size(sizes, 3, 0), 1);
    plan_rank_batch(&p, 0, 2, 0, &lo, &hi);
    assert_int_equal(lo, 8);
    plan_rank_batch(&p, 0, 2, 2, &lo, &hi);
    assert_int_equal(hi, 10);
    assert_int_equal(plan_max_rank_batch(&p), 2);
    /* D = 2 < R = 5 (and B > D): two ranks get one document, three get none; the capacity is 1. */
    const train_plan q = make_plan(2, 256, 5, 0, 0);
    assert_int_equal(plan_steps_per_epoch(&q), 1);
    assert_int_equal(plan_max_rank_batch(&q), 1);
    part_sizes(&q, 0, sizes);
    assert_int_equal(count_size(sizes, 5, 1), 2);
    assert_int_equal(count_size(sizes, 5, 0), 3);
    /* D = 1000, B = 256, R = 3: batches of 256, 256, 256, 232; capacity ceil(256 / 3) = 86. */
    const train_plan t = make_plan(1000, 256, 3, 0, 0);
    assert_int_equal(plan_steps_per_epoch(&t), 4);
    plan_global_batch(&t, 3, &lo, &hi);
    assert_int_equal(lo, 768);
    assert_int_equal(hi, 1000);
    assert_int_equal(plan_max_rank_batch(&t), 86);
}

static void test_doc_identity_without_shuffle(void **state)
{
    const int64_t Ds[] = {1, 2, 7, 100, 4097};
    for (size_t k = 0; k < sizeof Ds / sizeof Ds[0]; k++) {
        const train_plan p = make_plan(Ds[k], 16, 3, 12345, 0);
        for (int64_t e = 0; e < 4; e++)
            for (int64_t i = 0; i < Ds[k]; i++)
                assert_int_equal(plan_doc(&p, e, i), i);
    }
}

static void epoch_order(const train_plan *p, int64_t e, int64_t *order)
{
    char *seen = calloc((size_t)p->num_docs, 1);
    assert_non_null(seen);
    for (int64_t i = 0; i < p->num_docs; i++) {
        const int64_t d = plan_doc(p, e, i);
        assert_in_range(d, 0, p->num_docs - 1);
        assert_int_equal(seen[d], 0);
        seen[d] = 1;
        order[i] = d;
    }
    free(seen);
}

static void test_doc_shuffle_is_permutation_per_epoch(void **state)
{
    const int64_t Ds[] = {1, 2, 3, 7, 10, 100, 1000, 4097};
    enum { E = 5 };
    for (size_t k = 0; k < sizeof Ds / sizeof Ds[0]; k++) {
        const int64_t D = Ds[k];
        const train_plan p = make_plan(D, 32, 4, 987654321, 1);
        int64_t *ord[E];
        for (int e = 0; e < E; e++) {
            ord[e] = malloc((size_t)D * sizeof(int64_t));
            assert_non_null(ord[e]);
            epoch_order(&p, e, ord[e]);
            /* Deterministic: the same epoch again gives the same order. */
            for (int64_t i = 0; i < D; i++)
                assert_int_equal(plan_doc(&p, e, i), ord[e][i]);
        }
        if (D >= 7) {
            /* Epochs differ from one another and from the identity. */
            for (int a = 0; a < E; a++) {
                int64_t fixed = 0;
                for (int64_t i = 0; i < D; i++)
                    fixed += ord[a][i] == i;
                assert_true(fixed < D);
                for (int b = a + 1; b < E; b++)
                    assert_memory_not_equal(ord[a], ord[b], (size_t)D * sizeof(int64_t));
            }
            /* Another seed, another order. */
            const train_plan q = make_plan(D, 32, 4, 987654322, 1);
            int64_t *other = malloc((size_t)D * sizeof(int64_t));
            assert_non_null(other);
            epoch_order(&q, 0, other);
            assert_memory_not_equal(ord[0], other, (size_t)D * sizeof(int64_t));
            free(other);
        }
        for (int e = 0; e < E; e++)
            free(ord[e]);
    }
}

static void test_epoch_docs_covered_once_across_ranks(void **state)
{
    /* Through the whole schedule with shuffling: the documents that all ranks train on in an epoch
     * are each document of [0, D) exactly once. */
    const int64_t cases[][3] = {{97, 10, 3}, {64, 64, 5}, {5, 8, 7}, {1000, 33, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const train_plan p = make_plan(cases[c][0], cases[c][1], (int)cases[c][2], 5, 1);
        for (int64_t e = 0; e < 3; e++) {
            int *hits = calloc((size_t)p.num_docs, sizeof *hits);
            assert_non_null(hits);
            for (int64_t k = 0; k < plan_steps_per_epoch(&p); k++)
                for (int r = 0; r < p.num_ranks; r++) {
                    int64_t lo, hi;
                    plan_rank_batch(&p, 0, k, r, &lo, &hi);
                    for (int64_t i = lo; i < hi; i++)
                        hits[plan_doc(&p, e, i)]++;
                }
            for (int64_t d = 0; d < p.num_docs; d++)
                assert_int_equal(hits[d], 1);
            free(hits);
        }
    }
}

/* Lengths 9, 1, 1, 1 (costs T_s + 1 = 10, 2, 2, 2; T = 16) on 2 ranks: the midpoints 5, 11, 13, 15
 * of the sequences' tokens fall in [0, 8) once and in [8, 16) three times. */
static void test_token_split_hand_worked(void **state)
{
    (void)state;
    static const int32_t lengths[] = {9, 1, 1, 1};
    train_plan p = make_plan(4, 4, 2, 0, 0);
    p.lengths = lengths;
    int64_t lo, hi;
    plan_rank_batch(&p, 0, 0, 0, &lo, &hi);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 1);
    plan_rank_batch(&p, 0, 0, 1, &lo, &hi);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 4);
    /* One long sequence and 3 ranks: two ranks get nothing, and their empty part is empty. */
    static const int32_t one[] = {30};
    train_plan q = make_plan(1, 4, 3, 0, 0);
    q.lengths = one;
    int64_t got = 0;
    for (int r = 0; r < 3; r++) {
        plan_rank_batch(&q, 0, 0, r, &lo, &hi);
        assert_true(lo <= hi);
        got += hi - lo;
    }
    assert_int_equal(got, 1);
}

/* Random lengths, shuffled epochs, 1 to 5 ranks: parts tile the global batch in rank order, and
 * each holds within one sequence's tokens of T / R. */
static void test_token_split_invariants(void **state)
{
    (void)state;
    enum { D = 500 };
    static int32_t lengths[D];
    srand(7);
    for (int d = 0; d < D; d++)
        lengths[d] = 1 + rand() % 64;
    for (int R = 1; R <= 5; R++) {
        train_plan p = make_plan(D, 64, R, 99, 1);
        p.lengths = lengths;
        for (int64_t e = 0; e < 2; e++)
            for (int64_t k = 0; k < plan_steps_per_epoch(&p); k++) {
                int64_t glo, ghi, next, total = 0;
                plan_global_batch(&p, k, &glo, &ghi);
                for (int64_t pos = glo; pos < ghi; pos++)
                    total += lengths[plan_doc(&p, e, pos)] + 1;
                next = glo;
                for (int r = 0; r < R; r++) {
                    int64_t lo, hi, tokens = 0;
                    plan_rank_batch(&p, e, k, r, &lo, &hi);
                    if (lo == hi)
                        continue;
                    assert_int_equal(lo, next);
                    assert_true(hi - lo <= plan_max_rank_batch(&p));
                    for (int64_t pos = lo; pos < hi; pos++)
                        tokens += lengths[plan_doc(&p, e, pos)] + 1;
                    assert_true(llabs(R * tokens - total) <= (int64_t)R * 65);
                    next = hi;
                }
                assert_int_equal(next, ghi);
            }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_small_grid),
        cmocka_unit_test(test_schedule_larger_cases),
        cmocka_unit_test(test_hand_worked_split),
        cmocka_unit_test(test_doc_identity_without_shuffle),
        cmocka_unit_test(test_doc_shuffle_is_permutation_per_epoch),
        cmocka_unit_test(test_epoch_docs_covered_once_across_ranks),
        cmocka_unit_test(test_token_split_hand_worked),
        cmocka_unit_test(test_token_split_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
