/* The checkpoint writer and round trips: exact round trips (tensors, moments, training position
 * with a full 64-bit seed, the model's family and settings, configuration, vocabulary, extra
 * attributes) for two architectures; the format's attributes as h5py reads them; refusals at write
 * (a non-finite value, bad arguments) that leave no file behind; and failures while writing (a
 * missing folder, a full disk simulated with RLIMIT_FSIZE) that leave an older file untouched. The
 * reader's refusals are test_checkpoint_read.c's. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>
#include <hdf5.h>

#include "checkpoint_fixture.h"
#include "h5util.h"
#include "vae/family.h"

static void roundtrip(ckpt_fixture *f)
{
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "rt.h5");
    vae_checkpoint *c = NULL;
    ckpt_write_ok(f, path);
    assert_int_equal(ckpt_files_in_tmp(), 1); /* no temporary file left */
    if (vae_checkpoint_open(&c, path) != VAE_OK)
        fail_msg("open: %s", vae_error_message());
    assert_true(ckpt_matches(c, f));
    vae_checkpoint_free(c);
}

static void test_roundtrip_default(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    roundtrip(&f);
    ckpt_fixture_free(&f);
}

static void test_roundtrip_no_decoder_hidden(void **state)
{
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "bow", 23), VAE_OK);
    ckpt_set(&cfg, "encoder_hidden", "16");
    ckpt_set(&cfg, "decoder_hidden", "");
    ckpt_set(&cfg, "latent", "5");
    ckpt_set(&cfg, "activation", "softplus");
    ckpt_set(&cfg, "input_transform", "l1");
    ckpt_fixture f;
    ckpt_fixture_init(&f, &cfg, 0, 0);
    f.state.seed = UINT64_MAX;
    f.state.optim_t = 0;
    roundtrip(&f);

    /* Without moments there are none to read. */
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "nomoments.h5");
    vae_checkpoint *c = NULL;
    float *buf = calloc(f.layout.num_params, sizeof(float));
    ckpt_write_ok(&f, path);
    assert_int_equal(vae_checkpoint_open(&c, path), VAE_OK);
    assert_int_equal(vae_checkpoint_read_optimizer(c, &f.layout, buf, buf), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), path));
    vae_checkpoint_free(c);
    free(buf);
    ckpt_fixture_free(&f);
}

static void test_other_layout_refused(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "layout.h5");
    ckpt_write_ok(&f, path);
    vae_model_config other = f.cfg;
    ckpt_set(&other, "latent", "31");
    vae_layout l;
    assert_int_equal(vae_layout_compute(&other, &l), VAE_OK);
    float *buf = calloc(l.num_params + f.layout.num_params, sizeof(float));
    vae_checkpoint *c = NULL;
    assert_int_equal(vae_checkpoint_open(&c, path), VAE_OK);
    assert_int_equal(vae_checkpoint_read_params(c, &l, buf), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), "enc.mu.weight"));
    assert_int_equal(vae_checkpoint_read_optimizer(c, &l, buf, buf), VAE_ERR_ARG);
    vae_checkpoint_free(c);
    free(buf);
    ckpt_fixture_free(&f);
}

/* A write that must be refused before touching the disk: status, message, and no file at all. */
static void assert_write_refused(const ckpt_fixture *f, int status, const char *what)
{
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "refused.h5");
    vae_error_clear();
    assert_int_equal(vae_checkpoint_write(path, &f->data, &f->state), status);
    if (!strstr(vae_error_message(), path) || !strstr(vae_error_message(), what))
        fail_msg("message '%s' should name %s and '%s'", vae_error_message(), path, what);
    assert_int_equal(ckpt_files_in_tmp(), 0);
}

static void test_nonfinite_refused(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    const vae_tensor *out = vae_layout_find(&f.layout, "dec.out.weight");
    const vae_tensor *mu = vae_layout_find(&f.layout, "enc.mu.bias");
    /* Named by its flat position in the file's [V, last] form, wherever the layout holds it. */
    f.params[vae_tensor_index(out, 1, 7)] = NAN;
    char want[64];
    snprintf(want, sizeof want, "params/dec.out.weight[%lld]", (long long)out->cols + 7);
    assert_write_refused(&f, VAE_ERR_NUMERIC, want);
    f.params[vae_tensor_index(out, 1, 7)] = 0.5f;
    f.m[mu->offset + 3] = -INFINITY;
    assert_write_refused(&f, VAE_ERR_NUMERIC, "optimizer/m/enc.mu.bias[3]");
    f.m[mu->offset + 3] = 0.5f;
    f.v[mu->offset] = -1.0f;
    assert_write_refused(&f, VAE_ERR_NUMERIC, "optimizer/v/enc.mu.bias[0]");
    ckpt_fixture_free(&f);
}

static void test_bad_arguments_refused(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    f.state.step = -1;
    assert_write_refused(&f, VAE_ERR_ARG, ">= 0");
    f.state.step = 10;
    assert_write_refused(&f, VAE_ERR_ARG, "cannot exceed step"); /* step_in_epoch 17 */
    f.state.step = 1234;
    f.state.config_json = "";
    assert_write_refused(&f, VAE_ERR_ARG, "config_json");
    f.state.config_json = "{}";
    const char *reserved[] = {"model_latent", "1", NULL};
    f.data.attrs = reserved;
    assert_write_refused(&f, VAE_ERR_ARG, "model_latent");
    const char *family[] = {"model", "topic", NULL};
    f.data.attrs = family;
    assert_write_refused(&f, VAE_ERR_ARG, "'model'");
    const char *future[] = {"model_embedding", "256", NULL};
    f.data.attrs = future;
    assert_write_refused(&f, VAE_ERR_ARG, "'model_embedding'");
    const char *twice[] = {"k", "1", "k", "2", NULL};
    f.data.attrs = twice;
    assert_write_refused(&f, VAE_ERR_ARG, "'k'");
    f.data.attrs = NULL;
    char *saved = f.words[5];
    f.words[5] = (char *)"";
    assert_write_refused(&f, VAE_ERR_ARG, "word 5");
    f.words[5] = saved;
    vae_layout other = f.layout;
    other.tensors[2].rows++;
    f.data.layout = &other;
    assert_write_refused(&f, VAE_ERR_ARG, "layout");
    f.data.layout = &f.layout;
    f.data.v = NULL;
    assert_write_refused(&f, VAE_ERR_ARG, "m and v");
    ckpt_fixture_free(&f);
}

static void test_failed_write_keeps_old_file(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "keep.h5");
    ckpt_write_ok(&f, path);
    size_t old_size, now_size;
    unsigned char *old = ckpt_read_all(path, &old_size);

    /* Replacing works, and leaves only the file, even over the temporary file of a crashed run that
     * had the same process id. */
    char stale[CKPT_PATH_LEN + 32];
    snprintf(stale, sizeof stale, "%s.tmp.%ld", path, (long)getpid());
    ckpt_write_all(stale, (const unsigned char *)"garbage", 7);
    f.state.step = f.state.optim_t = 2000;
    ckpt_write_ok(&f, path);
    assert_int_equal(ckpt_files_in_tmp(), 1);
    free(old);
    old = ckpt_read_all(path, &old_size);

    /* A folder that does not exist: the message names the path. */
    char missing[CKPT_PATH_LEN];
    ckpt_tmp_path(missing, "no-such-folder/ckpt.h5");
    vae_error_clear();
    assert_int_equal(vae_checkpoint_write(missing, &f.data, &f.state), VAE_ERR_IO);
    assert_non_null(strstr(vae_error_message(), missing));
    assert_int_equal(ckpt_files_in_tmp(), 1);

    /* A full disk, simulated by a file size limit: the write fails, nothing else changes. */
    struct rlimit saved, small = {8192, 0};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small.rlim_max = saved.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    f.state.step = f.state.optim_t = 3000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    vae_error_clear();
    int rc = vae_checkpoint_write(path, &f.data, &f.state);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, VAE_ERR_IO);
    if (!strstr(vae_error_message(), path) || !strstr(vae_error_message(), "writing"))
        fail_msg("message '%s' should name %s and the failing step", vae_error_message(), path);
    assert_int_equal(ckpt_files_in_tmp(), 1);
    unsigned char *now = ckpt_read_all(path, &now_size);
    assert_int_equal(now_size, old_size);
    assert_memory_equal(now, old, old_size);
    vae_checkpoint *c = NULL;
    assert_int_equal(vae_checkpoint_open(&c, path), VAE_OK);
    assert_int_equal(vae_checkpoint_state_of(c)->step, 2000);
    vae_checkpoint_free(c);
    free(now);
    free(old);
    ckpt_fixture_free(&f);
}

/* The format's attributes as h5py sees them: version 2, the family in model, each setting under
 * model_<key> (integers as integers, lists and choices as their text). */
static void test_model_attributes(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    ckpt_set(&f.cfg, "decoder_hidden", "");
    ckpt_set(&f.cfg, "activation", "tanh");
    assert_int_equal(vae_layout_compute(&f.cfg, &f.layout), VAE_OK);
    for (int s = 0; s < 3; s++)
        ckpt_fill(&f.layout, s == 0 ? f.params : s == 1 ? f.m : f.v, s);
    char path[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "attrs.h5");
    ckpt_write_ok(&f, path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    int64_t version, latent, V;
    char *model = NULL, *enc = NULL, *dec = NULL, *act = NULL;
    assert_int_equal(vae_h5_attr_get_int(file, "version", &version, path), VAE_OK);
    assert_int_equal(vae_h5_attr_get_str(file, "model", &model, path), VAE_OK);
    assert_int_equal(vae_h5_attr_get_int(file, "model_vocab_size", &V, path), VAE_OK);
    assert_int_equal(vae_h5_attr_get_int(file, "model_latent", &latent, path), VAE_OK);
    assert_int_equal(vae_h5_attr_get_str(file, "model_encoder_hidden", &enc, path), VAE_OK);
    assert_int_equal(vae_h5_attr_get_str(file, "model_decoder_hidden", &dec, path), VAE_OK);
    assert_int_equal(vae_h5_attr_get_str(file, "model_activation", &act, path), VAE_OK);
    assert_true(H5Lexists(file, "/state", H5P_DEFAULT) == 0);
    H5Fclose(file);
    assert_int_equal(version, 2);
    assert_string_equal(model, "bow");
    assert_int_equal(V, 40);
    assert_int_equal(latent, 32);
    assert_string_equal(enc, "128,64");
    assert_string_equal(dec, "");
    assert_string_equal(act, "tanh");
    free(model), free(enc), free(dec), free(act);
    vae_checkpoint *c = NULL;
    assert_int_equal(vae_checkpoint_open(&c, path), VAE_OK);
    assert_string_equal(vae_checkpoint_model(c)->family->name, "bow");
    assert_true(ckpt_matches(c, &f));
    vae_checkpoint_free(c);
    ckpt_fixture_free(&f);
}

int main(void)
{
    vae_h5_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_roundtrip_default, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_roundtrip_no_decoder_hidden, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_model_attributes, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_other_layout_refused, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_nonfinite_refused, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_bad_arguments_refused, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_failed_write_keeps_old_file, ckpt_clear_tmp),
    };
    return cmocka_run_group_tests(tests, ckpt_tmp_setup, ckpt_tmp_teardown);
}
