/* The checkpoint tests' shared fixture (tests/unit/test_checkpoint.c, the writer, and
 * test_checkpoint_read.c, the reader): what a checkpoint is written from and what reading it back
 * must give, and the temporary folder its files go to. CMocka assertions: for tests only. */
#ifndef CHECKPOINT_FIXTURE_H
#define CHECKPOINT_FIXTURE_H

#include <stddef.h>

#include "vae/checkpoint.h"

/* What a checkpoint is written from, and what reading it back must give. */
typedef struct {
    vae_model_config cfg;
    vae_layout layout;
    float *params, *m, *v; /* m, v NULL without moments */
    char *words[64];
    const char *attrs[8];
    vae_checkpoint_state state;
    vae_checkpoint_data data;
} ckpt_fixture;

/* What the padding between tensors holds in a fixture's sets, and must still hold after a read. */
extern const float ckpt_pad_sentinel;

/* Signed zero, subnormals and extremes first (all must survive bit for bit), then a smooth pattern;
 * set 2 (v) non-negative, as Adam's is. */
void ckpt_fill(const vae_layout *l, float *x, int set);
/* A fixture of the architecture cfg (V <= 64 words, some of them non-ASCII), with moments and
 * extra attributes or without. */
void ckpt_fixture_init(ckpt_fixture *f, const vae_model_config *cfg, int moments, int extras);
/* The default bow model over 40 words, with moments and extra attributes. */
void ckpt_fixture_default(ckpt_fixture *f);
void ckpt_fixture_free(ckpt_fixture *f);
/* vae_model_config_set, failing the test when refused. */
void ckpt_set(vae_model_config *c, const char *key, const char *text);

/* Whether c holds exactly what f wrote. */
int ckpt_matches(vae_checkpoint *c, const ckpt_fixture *f);
/* Writes f to path, failing the test with the message when refused. */
void ckpt_write_ok(const ckpt_fixture *f, const char *path);

#define CKPT_PATH_LEN 256

/* The group set-up and tear-down (a fresh folder under /tmp, removed at the end), each test's
 * tear-down (the folder emptied), a path in it, and how many files it holds. */
int ckpt_tmp_setup(void **state);
int ckpt_tmp_teardown(void **state);
int ckpt_clear_tmp(void **state);
void ckpt_tmp_path(char *buf, const char *name);
int ckpt_files_in_tmp(void);

unsigned char *ckpt_read_all(const char *path, size_t *size);
void ckpt_write_all(const char *path, const unsigned char *buf, size_t size);

#endif
