/* The checkpoint tests' shared fixture: see checkpoint_fixture.h. */
#include "checkpoint_fixture.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[64];

const float ckpt_pad_sentinel = 777.0f;

void ckpt_fill(const vae_layout *l, float *x, int set)
{
    static const float special[] = {-0.0f, FLT_MIN / 4, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-30f};
    for (size_t i = 0; i < l->num_params; i++)
        x[i] = ckpt_pad_sentinel;
    for (int t = 0; t < l->num_tensors; t++)
        for (size_t i = 0; i < l->tensors[t].size; i++) {
            float val = t == 0 && i < 6 ? special[i] : sinf(0.37f * (float)i + (float)(t + 10 * set));
            x[l->tensors[t].offset + i] = set == 2 ? fabsf(val) : val;
        }
}

void ckpt_fixture_init(ckpt_fixture *f, const vae_model_config *cfg, int moments, int extras)
{
    static const char *const unicode[] = {"naïve", "日本語", "emoji😀", "x"};
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    assert_int_equal(vae_layout_compute(cfg, &f->layout), VAE_OK);
    float **sets[3] = {&f->params, &f->m, &f->v};
    for (int s = 0; s < (moments ? 3 : 1); s++) {
        *sets[s] = malloc(f->layout.num_params * sizeof(float));
        assert_non_null(*sets[s]);
        ckpt_fill(&f->layout, *sets[s], s);
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

void ckpt_fixture_free(ckpt_fixture *f)
{
    free(f->params);
    free(f->m);
    free(f->v);
    for (int w = 0; w < 64; w++)
        free(f->words[w]);
}

void ckpt_set(vae_model_config *c, const char *key, const char *text)
{
    if (vae_model_config_set(c, key, text) != VAE_OK)
        fail_msg("%s = '%s': %s", key, text, vae_error_message());
}

void ckpt_fixture_default(ckpt_fixture *f)
{
    vae_model_config cfg;
    assert_int_equal(vae_model_config_init(&cfg, "bow", 40), VAE_OK);
    ckpt_fixture_init(f, &cfg, 1, 1);
}

void ckpt_tmp_path(char *buf, const char *name)
{
    assert_true(snprintf(buf, CKPT_PATH_LEN, "%s/%s", tmpdir, name) < CKPT_PATH_LEN);
}

int ckpt_files_in_tmp(void)
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
int ckpt_clear_tmp(void **state)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            char p[CKPT_PATH_LEN];
            ckpt_tmp_path(p, e->d_name);
            unlink(p);
        }
    closedir(d);
    return 0;
}

unsigned char *ckpt_read_all(const char *path, size_t *size)
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

void ckpt_write_all(const char *path, const unsigned char *buf, size_t size)
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
        if (in_tensor ? memcmp(&want[i], &got[i], sizeof(float)) != 0 : got[i] != ckpt_pad_sentinel)
            return 0;
    }
    return 1;
}

int ckpt_matches(vae_checkpoint *c, const ckpt_fixture *f)
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
            buf[i][k] = ckpt_pad_sentinel;
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

void ckpt_write_ok(const ckpt_fixture *f, const char *path)
{
    int rc = vae_checkpoint_write(path, &f->data, &f->state);
    if (rc != VAE_OK)
        fail_msg("write %s: %s", path, vae_error_message());
}
int ckpt_tmp_setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vae-ckpt-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int ckpt_tmp_teardown(void **state)
{
    ckpt_clear_tmp(state);
    return rmdir(tmpdir);
}
