/* Tests of the run folder's checkpoint names (src/train/rundir.c): past step 99 999 999 the names
 * grow a digit, and rotation and `latest` still follow step order, not the order of the names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rundir.h"
#include "vae/common.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vae-test-rundir-XXXXXX");
    return mkdtemp(dir) && rundir_prepare(dir) == VAE_OK ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* The entries of dir/checkpoints, sorted, joined by spaces. */
static void listing(char *out, size_t size)
{
    char sub[128], *names[16];
    int n = 0;
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    DIR *d = opendir(sub);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.' && n < 16)
            names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
}

static void test_names_past_eight_digits_rotate_in_step_order(void **state)
{
    (void)state;
    const int64_t steps[] = {99999998, 99999999, 100000000, 100000001};
    char path[256], latest[256], text[64] = "";
    for (int i = 0; i < 4; i++) {
        rundir_checkpoint_path(dir, steps[i], path, sizeof path);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
        assert_int_equal(rundir_commit_checkpoint(dir, path, 2, NULL), VAE_OK);
    }
    rundir_checkpoint_path(dir, 100000000, path, sizeof path);
    assert_non_null(strstr(path, "/checkpoints/ckpt-100000000.h5"));
    char got[512];
    listing(got, sizeof got);
    assert_string_equal(got, "ckpt-100000000.h5 ckpt-100000001.h5 latest");
    snprintf(latest, sizeof latest, "%s/checkpoints/latest", dir);
    FILE *f = fopen(latest, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "ckpt-100000001.h5\n");
    assert_true(rundir_has_checkpoints(dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_past_eight_digits_rotate_in_step_order),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
