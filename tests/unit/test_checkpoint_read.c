/* The checkpoint reader's refusals: truncated files, flipped bytes anywhere, and files edited to
 * break one rule, each refused with a message that names the file and what is wrong; the seal as
 * checkpoint.h describes it; a version 1 file (before model families) read as family bow, and a
 * file from before a setting existed read with the setting's value of that time. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <hdf5.h>

#include "checkpoint_fixture.h"
#include "h5util.h"
#include "vae/family.h"

/* Opening path must fail with a message naming path and containing what (when not NULL). */
static void assert_refused(const char *path, const char *what)
{
    vae_checkpoint *c = NULL;
    vae_error_clear();
    int rc = vae_checkpoint_open(&c, path);
    if (rc == VAE_OK)
        fail_msg("%s was accepted (expected a message with '%s')", path, what ? what : "");
    assert_null(c);
    const char *msg = vae_error_message();
    if (!strstr(msg, path) || (what && !strstr(msg, what)))
        fail_msg("message '%s' should name %s and '%s'", msg, path, what ? what : "");
}

static void test_truncated_refused(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    char path[CKPT_PATH_LEN], cut[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "whole.h5");
    ckpt_tmp_path(cut, "cut.h5");
    size_t size;
    ckpt_write_ok(&f, path);
    unsigned char *bytes = ckpt_read_all(path, &size);
    const size_t sizes[] = {0, 100, size / 2, size - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        ckpt_write_all(cut, bytes, sizes[i]);
        assert_refused(cut, NULL);
    }
    /* And cuts all along the file. */
    for (size_t n = 1; n < size; n += size / 97 + 1) {
        ckpt_write_all(cut, bytes, n);
        assert_refused(cut, NULL);
    }
    free(bytes);
    ckpt_fixture_free(&f);
}

/* The byte offset of dataset name's raw data in path. */
static size_t data_offset(const char *path, const char *name)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    assert_true(d >= 0);
    haddr_t off = H5Dget_offset(d);
    assert_true(off != HADDR_UNDEF);
    H5Dclose(d);
    H5Fclose(file);
    return (size_t)off;
}

static size_t find_bytes(const unsigned char *hay, size_t n, const char *needle)
{
    const size_t len = strlen(needle);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(hay + i, needle, len) == 0)
            return i;
    fail_msg("'%s' not found in the file", needle);
    return 0;
}

static void test_flipped_bytes_refused(void **state)
{
    /* Small, so that every byte of the file can take its turn. */
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "bow", 12), VAE_OK);
    ckpt_set(&cfg, "encoder_hidden", "8,7");
    ckpt_set(&cfg, "decoder_hidden", "6,5");
    ckpt_set(&cfg, "latent", "4");
    ckpt_fixture f;
    ckpt_fixture_init(&f, &cfg, 1, 1);
    char path[CKPT_PATH_LEN], bad[CKPT_PATH_LEN];
    ckpt_tmp_path(path, "whole.h5");
    ckpt_tmp_path(bad, "flipped.h5");
    size_t size;
    ckpt_write_ok(&f, path);
    unsigned char *bytes = ckpt_read_all(path, &size);
    const vae_tensor *out = vae_layout_find(&f.layout, "dec.out.weight");

    /* In the middle of a tensor (HDF5 would read it happily), in a word of the vocabulary, and in
     * the configuration (both in HDF5's unchecked global heap). */
    const size_t at[] = {data_offset(path, "/params/dec.out.weight") + out->size * 2,
                         find_bytes(bytes, size, "word7") + 1, find_bytes(bytes, size, "caf") + 1};
    for (int i = 0; i < 3; i++) {
        bytes[at[i]] ^= 0x10;
        ckpt_write_all(bad, bytes, size);
        bytes[at[i]] ^= 0x10;
        assert_refused(bad, "the seal's crc32");
    }

    /* Every byte, the seal's own included, flipped in place and back. */
    ckpt_write_all(bad, bytes, size);
    int fd = open(bad, O_WRONLY);
    assert_true(fd >= 0);
    for (size_t i = 0; i < size; i++) {
        const unsigned char flipped = bytes[i] ^ 0xA5;
        assert_int_equal(pwrite(fd, &flipped, 1, (off_t)i), 1);
        assert_refused(bad, NULL);
        assert_int_equal(pwrite(fd, &bytes[i], 1, (off_t)i), 1);
    }
    close(fd);
    free(bytes);
    ckpt_fixture_free(&f);
}

/* CRC-32 bit by bit: independent of the library's table. */
static unsigned long crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* Seals path as checkpoint.h describes it, so that an edited file reaches the rules behind the seal. */
static void reseal(const char *path)
{
    size_t size;
    unsigned char *bytes = ckpt_read_all(path, &size);
    assert_true(size > 512);
    memset(bytes, 0, 512);
    snprintf((char *)bytes, 512, "vae-checkpoint seal\nsize %zu\ncrc32 %lu\n", size,
             crc32_bitwise(bytes + 512, size - 512));
    ckpt_write_all(path, bytes, size);
    free(bytes);
}

/* Copies the good file to copy and opens the copy for editing. */
static hid_t edit_copy(const char *good, const char *copy)
{
    size_t size;
    unsigned char *bytes = ckpt_read_all(good, &size);
    ckpt_write_all(copy, bytes, size);
    free(bytes);
    hid_t file = H5Fopen(copy, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    return file;
}

static void end_edit(hid_t file, const char *path)
{
    assert_true(H5Fclose(file) >= 0);
    reseal(path);
}

static void replace_floats(hid_t file, const char *name, const float *x, hsize_t n)
{
    assert_true(H5Ldelete(file, name, H5P_DEFAULT) >= 0);
    assert_int_equal(vae_h5_put_floats(file, name, x, 1, &n, "edited"), VAE_OK);
}

static void test_seal(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    char good[CKPT_PATH_LEN], copy[CKPT_PATH_LEN];
    ckpt_tmp_path(good, "good.h5");
    ckpt_tmp_path(copy, "copy.h5");
    ckpt_write_ok(&f, good);
    size_t size, resealed_size;
    unsigned char *bytes = ckpt_read_all(good, &size);

    /* The seal is what checkpoint.h says, computed here independently. */
    ckpt_write_all(copy, bytes, size);
    reseal(copy);
    unsigned char *resealed = ckpt_read_all(copy, &resealed_size);
    assert_int_equal(resealed_size, size);
    assert_memory_equal(resealed, bytes, size);

    /* An edit through HDF5 without resealing. */
    hid_t file = edit_copy(good, copy);
    assert_int_equal(vae_h5_attr_put_int(file, "step", 1235, "edited"), VAE_OK);
    H5Fclose(file);
    assert_refused(copy, "seal");

    /* HDF5 files that are not checkpoints, and other files. */
    assert_int_equal(vae_h5_create(copy, &file), VAE_OK);
    H5Fclose(file);
    assert_refused(copy, "without the checkpoint seal");
    ckpt_write_all(copy, (const unsigned char *)"hello\n", 6);
    assert_refused(copy, "not a vae-checkpoint file");
    ckpt_tmp_path(copy, "no-such-file.h5");
    assert_refused(copy, "cannot open");
    free(resealed);
    free(bytes);
    ckpt_fixture_free(&f);
}

static void test_broken_rules_refused(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    char good[CKPT_PATH_LEN], edited[CKPT_PATH_LEN];
    ckpt_tmp_path(good, "good.h5");
    ckpt_tmp_path(edited, "edited.h5");
    ckpt_write_ok(&f, good);
    hid_t file;

    static const char *const required[] = {"format", "version", "model", "step", "epoch", "step_in_epoch",
                                           "optim_t", "seed", "config_json", "model_vocab_size",
                                           "model_latent", "model_encoder_hidden", "model_decoder_hidden",
                                           "model_activation", "model_input_transform"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        file = edit_copy(good, edited);
        assert_true(H5Adelete(file, required[i]) >= 0);
        end_edit(file, edited);
        char what[64];
        snprintf(what, sizeof what, "'%s' is missing", required[i]);
        assert_refused(edited, what);
    }

    /* Attributes of the wrong value or kind. */
    static const struct {
        const char *name, *value, *what;
    } strs[] = {
        {"format", "vae-corpus", "'format' is 'vae-corpus'"},
        {"model_encoder_hidden", "128,,64", "'model_encoder_hidden' is '128,,64'"},
        {"model_decoder_hidden", "64, 128", "'model_decoder_hidden' is '64, 128'"},
        {"model_activation", "gelu", "'model_activation' is 'gelu'"},
        {"model_input_transform", "tfidf", "'model_input_transform'"},
        {"config_json", "", "config_json is empty"},
        {"step", "12", "'step' is not an integer"},
        {"model", "nosuch", "root attribute 'model': no model family is named 'nosuch'"},
        {"model_latent", "32", "'model_latent' is not an integer"},
        {"model_embedding", "256", "root attribute 'model_embedding' is not a setting of the bow model"},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        file = edit_copy(good, edited);
        assert_int_equal(vae_h5_attr_put_str(file, strs[i].name, strs[i].value, "edited"), VAE_OK);
        end_edit(file, edited);
        assert_refused(edited, strs[i].what);
    }
    static const struct {
        const char *name;
        int64_t value;
        const char *what;
    } ints[] = {
        {"version", 3, "'version' is 3"},
        {"version", 0, "'version' is 0"},
        {"step", -1, "must be >= 0"},
        {"step_in_epoch", 1235, "cannot exceed step"},
        {"model_latent", 0, "model_latent"},
        {"model_vocab_size", 41, "/vocab/words holds 40 words, model_vocab_size is 41"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        file = edit_copy(good, edited);
        assert_int_equal(vae_h5_attr_put_int(file, ints[i].name, ints[i].value, "edited"), VAE_OK);
        end_edit(file, edited);
        assert_refused(edited, ints[i].what);
    }

    /* Tensors of the wrong shape or type, missing, one too many, or holding what no run holds. */
    const vae_tensor *mu = vae_layout_find(&f.layout, "enc.mu.bias");
    float values[64];
    memcpy(values, f.params + mu->offset, sizeof values);
    file = edit_copy(good, edited);
    replace_floats(file, "/params/enc.mu.bias", values, (hsize_t)mu->rows + 1);
    end_edit(file, edited);
    assert_refused(edited, "/params/enc.mu.bias has shape [33], expected [32]");

    file = edit_copy(good, edited);
    assert_true(H5Ldelete(file, "/params/enc.mu.bias", H5P_DEFAULT) >= 0);
    hsize_t n = (hsize_t)mu->rows;
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(file, "/params/enc.mu.bias", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
    H5Dclose(d);
    H5Sclose(space);
    end_edit(file, edited);
    assert_refused(edited, "/params/enc.mu.bias has 8-byte floats, expected float32");

    values[5] = NAN;
    file = edit_copy(good, edited);
    replace_floats(file, "/params/enc.mu.bias", values, n);
    end_edit(file, edited);
    assert_refused(edited, "params/enc.mu.bias[5] is nan");

    for (int i = 0; i < 64; i++)
        values[i] = fabsf(values[i]);
    values[5] = -1.0f;
    file = edit_copy(good, edited);
    replace_floats(file, "/optimizer/v/enc.mu.bias", values, n);
    end_edit(file, edited);
    assert_refused(edited, "optimizer/v/enc.mu.bias[5] is -1");

    file = edit_copy(good, edited);
    assert_true(H5Ldelete(file, "/optimizer/v/dec.out.bias", H5P_DEFAULT) >= 0);
    end_edit(file, edited);
    assert_refused(edited, "/optimizer/v/dec.out.bias: no such dataset");

    file = edit_copy(good, edited);
    assert_true(H5Ldelete(file, "/optimizer/v", H5P_DEFAULT) >= 0);
    end_edit(file, edited);
    assert_refused(edited, "/optimizer/v/enc.0.weight: no such dataset");

    file = edit_copy(good, edited);
    assert_int_equal(vae_h5_put_floats(file, "/params/dec.2.weight", values, 1, &n, "edited"), VAE_OK);
    end_edit(file, edited);
    assert_refused(edited, "/params/dec.2.weight is not part of the model");

    file = edit_copy(good, edited);
    assert_int_equal(vae_h5_put_floats(file, "/optimizer/w/x", values, 1, &n, "edited"), VAE_OK);
    end_edit(file, edited);
    assert_refused(edited, "/optimizer/w is not part of the model");

    /* Running statistics for a family that keeps none. */
    file = edit_copy(good, edited);
    assert_int_equal(vae_h5_put_floats(file, "/state/enc.0.mean", values, 1, &n, "edited"), VAE_OK);
    end_edit(file, edited);
    assert_refused(edited, "/state: the bow model keeps no running statistics");

    /* Without moments altogether, the file is whole. */
    file = edit_copy(good, edited);
    assert_true(H5Ldelete(file, "/optimizer", H5P_DEFAULT) >= 0);
    end_edit(file, edited);
    vae_checkpoint *c = NULL;
    assert_int_equal(vae_checkpoint_open(&c, edited), VAE_OK);
    assert_false(vae_checkpoint_has_optimizer(c));
    vae_checkpoint_free(c);

    /* A vocabulary of the wrong length, or with a word that no corpus has. */
    file = edit_copy(good, edited);
    assert_true(H5Ldelete(file, "/vocab/words", H5P_DEFAULT) >= 0);
    assert_int_equal(vae_h5_put_strings(file, "/vocab/words", (const char *const *)f.words, 39, "edited"),
                     VAE_OK);
    end_edit(file, edited);
    assert_refused(edited, "/vocab/words holds 39 words, model_vocab_size is 40");

    file = edit_copy(good, edited);
    assert_true(H5Ldelete(file, "/vocab/words", H5P_DEFAULT) >= 0);
    free(f.words[9]);
    f.words[9] = strdup("");
    assert_int_equal(vae_h5_put_strings(file, "/vocab/words", (const char *const *)f.words, 40, "edited"),
                     VAE_OK);
    end_edit(file, edited);
    assert_refused(edited, "/vocab/words: word 9 is empty");
    ckpt_fixture_free(&f);
}

/* A version 1 file, as written before model families (no attribute model), is read as family bow,
 * with everything else as before. */
static void test_version_1_reads_as_bow(void **state)
{
    ckpt_fixture f;
    ckpt_fixture_default(&f);
    char good[CKPT_PATH_LEN], old[CKPT_PATH_LEN];
    ckpt_tmp_path(good, "good.h5");
    ckpt_tmp_path(old, "v1.h5");
    ckpt_write_ok(&f, good);
    hid_t file = edit_copy(good, old);
    assert_true(H5Adelete(file, "model") >= 0);
    assert_int_equal(vae_h5_attr_put_int(file, "version", 1, "edited"), VAE_OK);
    end_edit(file, old);
    vae_checkpoint *c = NULL;
    if (vae_checkpoint_open(&c, old) != VAE_OK)
        fail_msg("version 1: %s", vae_error_message());
    const vae_family *bow = NULL;
    assert_int_equal(vae_family_find("bow", &bow), VAE_OK);
    assert_ptr_equal(vae_checkpoint_model(c)->family, bow);
    assert_true(ckpt_matches(c, &f));
    assert_null(vae_checkpoint_attr(c, "model"));
    vae_checkpoint_free(c);
    ckpt_fixture_free(&f);
}

/* A topic checkpoint written before the setting word_counts existed (no model_word_counts) is of a
 * model that read the counts, and reads back so; the attribute present must be a value of it. */
static void test_setting_absent_from_old_file(void **state)
{
    (void)state;
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "topic", 40), VAE_OK);
    vae_model *m = NULL; /* the running statistics' room */
    assert_int_equal(vae_model_new(&m, &cfg, 1), VAE_OK);
    vae_model_init_params(m, 1);
    ckpt_fixture f;
    ckpt_fixture_init(&f, &cfg, 0, 0);
    f.data.state = vae_model_state(m);
    char good[CKPT_PATH_LEN], old[CKPT_PATH_LEN];
    ckpt_tmp_path(good, "topic.h5");
    ckpt_tmp_path(old, "old.h5");
    ckpt_write_ok(&f, good);
    hid_t file = edit_copy(good, old);
    assert_true(H5Adelete(file, "model_word_counts") >= 0);
    end_edit(file, old);
    vae_checkpoint *c = NULL;
    if (vae_checkpoint_open(&c, old) != VAE_OK)
        fail_msg("before word_counts: %s", vae_error_message());
    char why[256];
    assert_non_null(vae_model_config_diff(vae_checkpoint_model(c), &cfg, why, sizeof why));
    assert_string_equal(why, "word_counts counts against presence");
    ckpt_set(&cfg, "word_counts", "counts");
    assert_null(vae_model_config_diff(vae_checkpoint_model(c), &cfg, why, sizeof why));
    vae_checkpoint_free(c);
    file = edit_copy(good, old);
    assert_int_equal(vae_h5_attr_put_str(file, "model_word_counts", "sometimes", "edited"), VAE_OK);
    end_edit(file, old);
    assert_refused(old, "root attribute 'model_word_counts' is 'sometimes'");
    ckpt_fixture_free(&f);
    vae_model_free(m);
}

int main(void)
{
    vae_h5_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_truncated_refused, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_flipped_bytes_refused, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_seal, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_broken_rules_refused, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_version_1_reads_as_bow, ckpt_clear_tmp),
        cmocka_unit_test_teardown(test_setting_absent_from_old_file, ckpt_clear_tmp),
    };
    return cmocka_run_group_tests(tests, ckpt_tmp_setup, ckpt_tmp_teardown);
}
