/* Replays the fuzzers' inputs in every build, through the harnesses' own entry points (the
 * harnesses of tests/fuzz/, built into the test harness library without their libFuzzer entry): each seed (tests/fuzz/seeds/<harness>/)
 * and each saved crash (tests/fuzz/regressions/<harness>/, inputs that once crashed or broke an
 * invariant, kept after the fix). A harness aborts with its message when an invariant breaks, and
 * under the sanitizer build any memory error is fatal, so this test fails the way the fuzzer did.
 * Found bugs, one file each in regressions/:
 *   checkpoint/tensor-declared-huge: a checkpoint (resealed) whose /params tensor declares a huge
 *     dataspace; the reader allocated the declared size before checking the shape.
 *   checkpoint/model-larger-than-file: root attributes describing a model of billions of
 *     parameters in a 20 KB file; the reader allocated for all of them before reading any. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_harnesses.h"
#include "vae/checkpoint.h"
#include "vae/corpus.h"

typedef int (*harness_fn)(const uint8_t *data, size_t size);

/* tests/fuzz: from $VAE_TESTS (set by ctest), else next to this source file. */
static void fuzz_dir(char *buf, size_t size)
{
    const char *tests = getenv("VAE_TESTS");
    if (tests && *tests) {
        snprintf(buf, size, "%s/fuzz", tests);
    } else {
        char here[4096];
        snprintf(here, sizeof here, "%s", __FILE__);
        snprintf(buf, size, "%s/fuzz", dirname(here));
    }
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    const long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* Runs every file of tests/fuzz/<kind>/<harness>/ through fn; returns how many. */
static int replay(const char *kind, const char *harness, harness_fn fn)
{
    char dir[4096], base[2048];
    fuzz_dir(base, sizeof base);
    snprintf(dir, sizeof dir, "%s/%s/%s", base, kind, harness);
    DIR *d = opendir(dir);
    if (!d && strcmp(kind, "regressions") == 0)
        return 0; /* none saved for this harness (git keeps no empty folder) */
    if (!d) {
        print_error("cannot list %s\n", dir);
        fail();
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[8300];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        size_t size = 0;
        uint8_t *data = slurp(path, &size);
        print_message("replaying %s/%s/%s (%zu bytes)\n", kind, harness, e->d_name, size);
        assert_int_equal(fn(data, size), 0);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

static void test_tokenize_inputs(void **state)
{
    assert_true(replay("seeds", "tokenize", fuzz_tokenize_one) > 0);
    replay("regressions", "tokenize", fuzz_tokenize_one);
}

static void test_corpus_inputs(void **state)
{
    assert_true(replay("seeds", "corpus", fuzz_corpus_one) > 0);
    replay("regressions", "corpus", fuzz_corpus_one);
}

static void test_checkpoint_inputs(void **state)
{
    assert_true(replay("seeds", "checkpoint", fuzz_checkpoint_one) > 0);
    replay("regressions", "checkpoint", fuzz_checkpoint_one);
}

/* The seeds are whole: each opens (a seed that no longer opens would fuzz nothing but the first
 * check), so the replay above went through the readers, not just their refusals. */
static void test_seeds_open(void **state)
{
    char base[2048], path[4096];
    fuzz_dir(base, sizeof base);
    static const char *const corpora[] = {"small.h5", "splits.h5", "tiny.h5"};
    for (int i = 0; i < 3; i++) {
        vae_corpus *c = NULL;
        snprintf(path, sizeof path, "%s/seeds/corpus/%s", base, corpora[i]);
        if (vae_corpus_open(&c, path) != VAE_OK)
            print_error("%s\n", vae_error_message());
        assert_non_null(c);
        assert_int_equal(vae_corpus_validate_split(c, "train"), VAE_OK);
        vae_corpus_free(c);
    }
    static const char *const checkpoints[] = {"adam.h5", "no_moments.h5"};
    for (int i = 0; i < 2; i++) {
        vae_checkpoint *c = NULL;
        snprintf(path, sizeof path, "%s/seeds/checkpoint/%s", base, checkpoints[i]);
        if (vae_checkpoint_open(&c, path) != VAE_OK)
            print_error("%s\n", vae_error_message());
        assert_non_null(c);
        assert_int_equal(vae_checkpoint_has_optimizer(c), i == 0);
        vae_checkpoint_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds_open),
        cmocka_unit_test(test_tokenize_inputs),
        cmocka_unit_test(test_corpus_inputs),
        cmocka_unit_test(test_checkpoint_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
