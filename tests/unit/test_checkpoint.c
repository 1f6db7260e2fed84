/* The checkpoint file: exact round trips (tensors, moments, training position with a full 64-bit
 * seed, the model's family and settings, configuration, vocabulary, extra attributes) for two
 * architectures; a version 1 file (before model families) read as family bow; refusals at write (a
 * non-finite value, bad arguments) that leave no file behind; failures while writing (a missing
 * folder, a full disk simulated with RLIMIT_FSIZE) that leave an older file untouched; and at open,
 * truncated files, flipped bytes anywhere, and files edited to break one rule, each refused with a
 * message that names the file and what is wrong. */
#include <dirent.h>
#include <fcntl.h>
#include <float.h>
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

#include "h5util.h"
#include "vae/checkpoint.h"
#include "vae/family.h"

static char tmpdir[64];

/* What a checkpoint is written from, and what reading it back must give. */
typedef struct {
    vae_model_config cfg;
    vae_layout layout;
    float *params, *m, *v; /* m, v NULL without moments */
    char *words[64];
    const char *attrs[8];
    vae_checkpoint_state state;
    vae_checkpoint_data data;
} fixture;

static const float pad_sentinel = 777.0f;

/* Signed zero, subnormals and extremes first (all must survive bit for bit), then a smooth pattern;
 * v (set 2) non-negative, as Adam's is. */
static void fill(const vae_layout *l, float *x, int set)
{
    static const float special[] = {-0.0f, FLT_MIN / 4, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-30f};
    for (size_t i = 0; i < l->num_params; i++)
        x[i] = pad_sentinel;
    for (int t = 0; t < l->num_tensors; t++)
        for (size_t i = 0; i < l->tensors[t].size; i++) {
            float val = t == 0 && i < 6 ? special[i] : sinf(0.37f * (float)i + (float)(t + 10 * set));
            x[l->tensors[t].offset + i] = set == 2 ? fabsf(val) : val;
        }
}

static void fixture_init(fixture *f, const vae_model_config *cfg, int moments, int extras)
{
    static const char *const unicode[] = {"naïve", "日本語", "emoji😀", "x"};
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    assert_int_equal(vae_layout_compute(cfg, &f->layout), VAE_OK);
    float **sets[3] = {&f->params, &f->m, &f->v};
    for (int s = 0; s < (moments ? 3 : 1); s++) {
        *sets[s] = malloc(f->layout.num_params * sizeof(float));
        assert_non_null(*sets[s]);
        fill(&f->layout, *sets[s], s);
    }
    assert_true(cfg->vocab_size <= 64);
    for (int w = 0; w < cfg->vocab_size; w++) {
        char buf[32];
        if (w < 4)
            snprintf(buf, sizeof buf, "%s", unicode[w]);
        else
            snprintf(buf, sizeof buf, "word%d", w);
        f->words[w] = strdup(buf);
    }
    if (extras) {
        /* Not in key order, to see that order does not matter. */
        const char *kv[] = {"tokenizer_min_len", "2", "tokenizer_lowercase", "true", "a_note", "é", NULL};
        memcpy(f->attrs, kv, sizeof kv);
    }
    f->state.step = 1234;
    f->state.epoch = 3;
    f->state.step_in_epoch = 17;
    f->state.optim_t = 1234;
    f->state.seed = 0x8000DEADBEEF0001ull;
    f->state.config_json = "{\"lr\": 0.001, \"name\": \"caf\\u00e9\", \"encoder_hidden\": [128, 64]}";
    f->data.model = &f->cfg;
    f->data.layout = &f->layout;
    f->data.params = f->params;
    f->data.m = f->m;
    f->data.v = f->v;
    f->data.words = (const char *const *)f->words;
    f->data.attrs = extras ? f->attrs : NULL;
}

static void fixture_free(fixture *f)
{
    free(f->params);
    free(f->m);
    free(f->v);
    for (int w = 0; w < 64; w++)
        free(f->words[w]);
}

static void set(vae_model_config *c, const char *key, const char *text)
{
    if (vae_model_config_set(c, key, text) != VAE_OK)
        fail_msg("%s = '%s': %s", key, text, vae_error_message());
}

static void default_fixture(fixture *f)
{
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "bow", 40), VAE_OK);
    fixture_init(f, &cfg, 1, 1);
}

#define PATH_LEN 256

static void tmp_path(char *buf, const char *name)
{
    assert_true(snprintf(buf, PATH_LEN, "%s/%s", tmpdir, name) < PATH_LEN);
}

static int files_in_tmp(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Each test's teardown, so that a failed test leaves nothing to the next. */
static int clear_tmp(void **state)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            char p[PATH_LEN];
            tmp_path(p, e->d_name);
            unlink(p);
        }
    closedir(d);
    return 0;
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *buf = malloc(*size ? *size : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *size, fp), *size);
    fclose(fp);
    return buf;
}

static void write_all(const char *path, const unsigned char *buf, size_t size)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, size, fp), size);
    assert_int_equal(fclose(fp), 0);
}

/* Compares a set read back with what was written; the padding must keep the caller's values. */
static int same_set(const vae_layout *l, const float *want, const float *got)
{
    for (size_t i = 0; i < l->num_params; i++) {
        int in_tensor = 0;
        for (int t = 0; t < l->num_tensors; t++)
            in_tensor |= i >= l->tensors[t].offset && i < l->tensors[t].offset + l->tensors[t].size;
        if (in_tensor ? memcmp(&want[i], &got[i], sizeof(float)) != 0 : got[i] != pad_sentinel)
            return 0;
    }
    return 1;
}

/* Whether c holds exactly what f wrote. */
static int matches(vae_checkpoint *c, const fixture *f)
{
    const vae_model_config *m = vae_checkpoint_model(c);
    const vae_checkpoint_state *s = vae_checkpoint_state_of(c);
    const vae_model_config *w = &f->cfg;
    char why[256];
    int ok = vae_model_config_diff(m, w, why, sizeof why) == NULL;
    ok = ok && s->step == f->state.step && s->epoch == f->state.epoch &&
         s->step_in_epoch == f->state.step_in_epoch && s->optim_t == f->state.optim_t &&
         s->seed == f->state.seed && strcmp(s->config_json, f->state.config_json) == 0;
    ok = ok && vae_checkpoint_has_optimizer(c) == (f->m != NULL);
    float *buf[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        buf[i] = malloc(f->layout.num_params * sizeof(float));
        for (size_t k = 0; k < f->layout.num_params; k++)
            buf[i][k] = pad_sentinel;
    }
    ok = ok && vae_checkpoint_read_params(c, &f->layout, buf[0]) == VAE_OK && same_set(&f->layout, f->params, buf[0]);
    vae_layout none;
    ok = ok && vae_state_layout_compute(w, &none) == VAE_OK && none.num_tensors == 0 &&
         vae_checkpoint_read_state(c, &none, NULL) == VAE_OK;
    if (f->m)
        ok = ok && vae_checkpoint_read_optimizer(c, &f->layout, buf[1], buf[2]) == VAE_OK &&
             same_set(&f->layout, f->m, buf[1]) && same_set(&f->layout, f->v, buf[2]);
    for (int i = 0; i < 3; i++)
        free(buf[i]);
    const char *const *words = NULL;
    int64_t V = 0;
    ok = ok && vae_checkpoint_vocab(c, &words, &V) == VAE_OK && V == w->vocab_size;
    for (int64_t i = 0; ok && i < V; i++)
        ok = strcmp(words[i], f->words[i]) == 0;
    for (int i = 0; ok && f->data.attrs && f->attrs[i]; i += 2) {
        const char *got = vae_checkpoint_attr(c, f->attrs[i]);
        ok = got && strcmp(got, f->attrs[i + 1]) == 0;
    }
    /* Nothing but the extras is an extra: not the format's own attributes, not anything unknown. */
    return ok && vae_checkpoint_attr(c, "step") == NULL && vae_checkpoint_attr(c, "format") == NULL &&
           vae_checkpoint_attr(c, "no_such_key") == NULL;
}

static void write_ok(const fixture *f, const char *path)
{
    int rc = vae_checkpoint_write(path, &f->data, &f->state);
    if (rc != VAE_OK)
        fail_msg("write %s: %s", path, vae_error_message());
}

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

static void roundtrip(fixture *f)
{
    char path[PATH_LEN];
    tmp_path(path, "rt.h5");
    vae_checkpoint *c = NULL;
    write_ok(f, path);
    assert_int_equal(files_in_tmp(), 1); /* no temporary file left */
    if (vae_checkpoint_open(&c, path) != VAE_OK)
        fail_msg("open: %s", vae_error_message());
    assert_true(matches(c, f));
    vae_checkpoint_free(c);
}

static void test_roundtrip_default(void **state)
{
    fixture f;
    default_fixture(&f);
    roundtrip(&f);
    fixture_free(&f);
}

static void test_roundtrip_no_decoder_hidden(void **state)
{
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "bow", 23), VAE_OK);
    set(&cfg, "encoder_hidden", "16");
    set(&cfg, "decoder_hidden", "");
    set(&cfg, "latent", "5");
    set(&cfg, "activation", "softplus");
    set(&cfg, "input_transform", "l1");
    fixture f;
    fixture_init(&f, &cfg, 0, 0);
    f.state.seed = UINT64_MAX;
    f.state.optim_t = 0;
    roundtrip(&f);

    /* Without moments there are none to read. */
    char path[PATH_LEN];
    tmp_path(path, "nomoments.h5");
    vae_checkpoint *c = NULL;
    float *buf = calloc(f.layout.num_params, sizeof(float));
    write_ok(&f, path);
    assert_int_equal(vae_checkpoint_open(&c, path), VAE_OK);
    assert_int_equal(vae_checkpoint_read_optimizer(c, &f.layout, buf, buf), VAE_ERR_ARG);
    assert_non_null(strstr(vae_error_message(), path));
    vae_checkpoint_free(c);
    free(buf);
    fixture_free(&f);
}

static void test_other_layout_refused(void **state)
{
    fixture f;
    default_fixture(&f);
    char path[PATH_LEN];
    tmp_path(path, "layout.h5");
    write_ok(&f, path);
    vae_model_config other = f.cfg;
    set(&other, "latent", "31");
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
    fixture_free(&f);
}

/* A write that must be refused before touching the disk: status, message, and no file at all. */
static void assert_write_refused(const fixture *f, int status, const char *what)
{
    char path[PATH_LEN];
    tmp_path(path, "refused.h5");
    vae_error_clear();
    assert_int_equal(vae_checkpoint_write(path, &f->data, &f->state), status);
    if (!strstr(vae_error_message(), path) || !strstr(vae_error_message(), what))
        fail_msg("message '%s' should name %s and '%s'", vae_error_message(), path, what);
    assert_int_equal(files_in_tmp(), 0);
}

static void test_nonfinite_refused(void **state)
{
    fixture f;
    default_fixture(&f);
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
    fixture_free(&f);
}

static void test_bad_arguments_refused(void **state)
{
    fixture f;
    default_fixture(&f);
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
    fixture_free(&f);
}

static void test_failed_write_keeps_old_file(void **state)
{
    fixture f;
    default_fixture(&f);
    char path[PATH_LEN];
    tmp_path(path, "keep.h5");
    write_ok(&f, path);
    size_t old_size, now_size;
    unsigned char *old = read_all(path, &old_size);

    /* Replacing works, and leaves only the file, even over the temporary file of a crashed run that
     * had the same process id. */
    char stale[PATH_LEN + 32];
    snprintf(stale, sizeof stale, "%s.tmp.%ld", path, (long)getpid());
    write_all(stale, (const unsigned char *)"garbage", 7);
    f.state.step = f.state.optim_t = 2000;
    write_ok(&f, path);
    assert_int_equal(files_in_tmp(), 1);
    free(old);
    old = read_all(path, &old_size);

    /* A folder that does not exist: the message names the path. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-folder/ckpt.h5", tmpdir);
    vae_error_clear();
    assert_int_equal(vae_checkpoint_write(missing, &f.data, &f.state), VAE_ERR_IO);
    assert_non_null(strstr(vae_error_message(), missing));
    assert_int_equal(files_in_tmp(), 1);

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
    assert_int_equal(files_in_tmp(), 1);
    unsigned char *now = read_all(path, &now_size);
    assert_int_equal(now_size, old_size);
    assert_memory_equal(now, old, old_size);
    vae_checkpoint *c = NULL;
    assert_int_equal(vae_checkpoint_open(&c, path), VAE_OK);
    assert_int_equal(vae_checkpoint_state_of(c)->step, 2000);
    vae_checkpoint_free(c);
    free(now);
    free(old);
    fixture_free(&f);
}

static void test_truncated_refused(void **state)
{
    fixture f;
    default_fixture(&f);
    char path[PATH_LEN], cut[PATH_LEN];
    tmp_path(path, "whole.h5");
    tmp_path(cut, "cut.h5");
    size_t size;
    write_ok(&f, path);
    unsigned char *bytes = read_all(path, &size);
    const size_t sizes[] = {0, 100, size / 2, size - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        write_all(cut, bytes, sizes[i]);
        assert_refused(cut, NULL);
    }
    /* And cuts all along the file. */
    for (size_t n = 1; n < size; n += size / 97 + 1) {
        write_all(cut, bytes, n);
        assert_refused(cut, NULL);
    }
    free(bytes);
    fixture_free(&f);
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
    set(&cfg, "encoder_hidden", "8,7");
    set(&cfg, "decoder_hidden", "6,5");
    set(&cfg, "latent", "4");
    fixture f;
    fixture_init(&f, &cfg, 1, 1);
    char path[PATH_LEN], bad[PATH_LEN];
    tmp_path(path, "whole.h5");
    tmp_path(bad, "flipped.h5");
    size_t size;
    write_ok(&f, path);
    unsigned char *bytes = read_all(path, &size);
    const vae_tensor *out = vae_layout_find(&f.layout, "dec.out.weight");

    /* In the middle of a tensor (HDF5 would read it happily), in a word of the vocabulary, and in
     * the configuration (both in HDF5's unchecked global heap). */
    const size_t at[] = {data_offset(path, "/params/dec.out.weight") + out->size * 2,
                         find_bytes(bytes, size, "word7") + 1, find_bytes(bytes, size, "caf") + 1};
    for (int i = 0; i < 3; i++) {
        bytes[at[i]] ^= 0x10;
        write_all(bad, bytes, size);
        bytes[at[i]] ^= 0x10;
        assert_refused(bad, "the seal's crc32");
    }

    /* Every byte, the seal's own included, flipped in place and back. */
    write_all(bad, bytes, size);
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
    fixture_free(&f);
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
    unsigned char *bytes = read_all(path, &size);
    assert_true(size > 512);
    memset(bytes, 0, 512);
    snprintf((char *)bytes, 512, "vae-checkpoint seal\nsize %zu\ncrc32 %lu\n", size,
             crc32_bitwise(bytes + 512, size - 512));
    write_all(path, bytes, size);
    free(bytes);
}

/* Copies the good file to copy and opens the copy for editing. */
static hid_t edit_copy(const char *good, const char *copy)
{
    size_t size;
    unsigned char *bytes = read_all(good, &size);
    write_all(copy, bytes, size);
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
    fixture f;
    default_fixture(&f);
    char good[PATH_LEN], copy[PATH_LEN];
    tmp_path(good, "good.h5");
    tmp_path(copy, "copy.h5");
    write_ok(&f, good);
    size_t size, resealed_size;
    unsigned char *bytes = read_all(good, &size);

    /* The seal is what checkpoint.h says, computed here independently. */
    write_all(copy, bytes, size);
    reseal(copy);
    unsigned char *resealed = read_all(copy, &resealed_size);
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
    write_all(copy, (const unsigned char *)"hello\n", 6);
    assert_refused(copy, "not a vae-checkpoint file");
    tmp_path(copy, "no-such-file.h5");
    assert_refused(copy, "cannot open");
    free(resealed);
    free(bytes);
    fixture_free(&f);
}

static void test_broken_rules_refused(void **state)
{
    fixture f;
    default_fixture(&f);
    char good[PATH_LEN], edited[PATH_LEN];
    tmp_path(good, "good.h5");
    tmp_path(edited, "edited.h5");
    write_ok(&f, good);
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
    fixture_free(&f);
}

/* The format's attributes as h5py sees them: version 2, the family in model, each setting under
 * model_<key> (integers as integers, lists and choices as their text). */
static void test_model_attributes(void **state)
{
    fixture f;
    default_fixture(&f);
    set(&f.cfg, "decoder_hidden", "");
    set(&f.cfg, "activation", "tanh");
    assert_int_equal(vae_layout_compute(&f.cfg, &f.layout), VAE_OK);
    for (int s = 0; s < 3; s++)
        fill(&f.layout, s == 0 ? f.params : s == 1 ? f.m : f.v, s);
    char path[PATH_LEN];
    tmp_path(path, "attrs.h5");
    write_ok(&f, path);
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
    assert_true(matches(c, &f));
    vae_checkpoint_free(c);
    fixture_free(&f);
}

/* A version 1 file, as written before model families (no attribute model), is read as family bow,
 * with everything else as before. */
static void test_version_1_reads_as_bow(void **state)
{
    fixture f;
    default_fixture(&f);
    char good[PATH_LEN], old[PATH_LEN];
    tmp_path(good, "good.h5");
    tmp_path(old, "v1.h5");
    write_ok(&f, good);
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
    assert_true(matches(c, &f));
    assert_null(vae_checkpoint_attr(c, "model"));
    vae_checkpoint_free(c);
    fixture_free(&f);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vae-ckpt-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    clear_tmp(state);
    return rmdir(tmpdir);
}

int main(void)
{
    vae_h5_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_roundtrip_default, clear_tmp),
        cmocka_unit_test_teardown(test_roundtrip_no_decoder_hidden, clear_tmp),
        cmocka_unit_test_teardown(test_other_layout_refused, clear_tmp),
        cmocka_unit_test_teardown(test_nonfinite_refused, clear_tmp),
        cmocka_unit_test_teardown(test_bad_arguments_refused, clear_tmp),
        cmocka_unit_test_teardown(test_failed_write_keeps_old_file, clear_tmp),
        cmocka_unit_test_teardown(test_truncated_refused, clear_tmp),
        cmocka_unit_test_teardown(test_flipped_bytes_refused, clear_tmp),
        cmocka_unit_test_teardown(test_seal, clear_tmp),
        cmocka_unit_test_teardown(test_broken_rules_refused, clear_tmp),
        cmocka_unit_test_teardown(test_model_attributes, clear_tmp),
        cmocka_unit_test_teardown(test_version_1_reads_as_bow, clear_tmp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
