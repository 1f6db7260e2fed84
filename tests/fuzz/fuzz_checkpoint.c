/* libFuzzer harness: the checkpoint reader (vae_checkpoint_open and every read) over arbitrary
 * files.
 *
 * A checkpoint begins with a 512-byte seal holding its size and the CRC-32 of the rest
 * (checkpoint.h), so a mutated file is nearly always refused at the seal. To get mutations past it,
 * the harness reseals most inputs itself (computing the CRC as src/io/checkpoint_seal.c does); the
 * others, chosen by a hash of the bytes after the seal, go in as they are and exercise the seal's
 * own checks. Checked: a failure names the file; a checkpoint that opens describes a model whose
 * layout its tensors fill, with finite parameters, non-negative second moments, V valid words, a
 * consistent position, and running statistics when its family keeps any; reading into a layout
 * other than its own is refused. The seeds (tests/fuzz/seeds/checkpoint/) are small checkpoints
 * written by vae_checkpoint_write. */
#include "fuzz_common.h"
#include "fuzz_harnesses.h"

#include <math.h>

#include "corpus_internal.h"
#include "vae/checkpoint.h"
#include "vae/model.h"

#define FUZZ_SEAL_SIZE 512

/* CRC-32 (zlib's), bitwise as in src/io/checkpoint_seal.c's table. */
static uint32_t fuzz_crc32(const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t t = i;
            for (int k = 0; k < 8; k++)
                t = t & 1 ? 0xEDB88320u ^ (t >> 1) : t >> 1;
            table[i] = t;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* Whether to reseal: 15 inputs in 16, by a cheap hash of the body. */
static int want_reseal(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = FUZZ_SEAL_SIZE; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return (h & 15) != 0;
}

static void check_open(vae_checkpoint *c)
{
    const vae_model_config *m = vae_checkpoint_model(c);
    const vae_checkpoint_state *s = vae_checkpoint_state_of(c);
    vae_layout layout, state_layout;
    FUZZ_CHECK(vae_layout_compute(m, &layout) == VAE_OK && vae_state_layout_compute(m, &state_layout) == VAE_OK,
               "the model of an open checkpoint: %s", vae_error_message());
    FUZZ_CHECK(s->step >= 0 && s->epoch >= 0 && s->step_in_epoch >= 0 && s->optim_t >= 0 &&
                   s->step_in_epoch <= s->step && s->optim_t <= s->step,
               "position step %lld epoch %lld", (long long)s->step, (long long)s->epoch);
    FUZZ_CHECK(s->config_json && *s->config_json, "empty config_json");
    const char *const *words;
    int64_t V = 0;
    FUZZ_CHECK(vae_checkpoint_vocab(c, &words, &V) == VAE_OK && V == m->vocab_size, "vocabulary of %lld words",
               (long long)V);
    for (int64_t w = 0; w < V; w++)
        FUZZ_CHECK(words[w] && vae_word_problem(words[w]) == NULL, "word %lld", (long long)w);
    const size_t n = layout.num_params;
    float *p = calloc(n, sizeof *p), *mm = calloc(n, sizeof *mm), *v = calloc(n, sizeof *v);
    FUZZ_CHECK(p && mm && v, "out of memory for %zu parameters", n);
    FUZZ_CHECK(vae_checkpoint_read_params(c, &layout, p) == VAE_OK, "%s", vae_error_message());
    float *state = calloc(state_layout.num_params + 1, sizeof *state);
    FUZZ_CHECK(state && vae_checkpoint_read_state(c, &state_layout, state) == VAE_OK, "%s", vae_error_message());
    for (size_t i = 0; i < state_layout.num_params; i++)
        FUZZ_CHECK(isfinite(state[i]), "statistic %zu is %g", i, (double)state[i]);
    free(state);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(isfinite(p[i]), "parameter %zu is %g", i, (double)p[i]);
    if (vae_checkpoint_has_optimizer(c)) {
        FUZZ_CHECK(vae_checkpoint_read_optimizer(c, &layout, mm, v) == VAE_OK, "%s", vae_error_message());
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isfinite(mm[i]) && isfinite(v[i]) && v[i] >= 0, "moments %zu: %g %g", i, (double)mm[i],
                       (double)v[i]);
    } else {
        FUZZ_CHECK(vae_checkpoint_read_optimizer(c, &layout, mm, v) == VAE_ERR_ARG, "moments read from none");
    }
    /* Another architecture's layout is refused, never copied. */
    vae_model_config other = *m;
    other.vocab_size = m->vocab_size == 1 ? 2 : m->vocab_size - 1;
    vae_layout wrong;
    if (vae_layout_compute(&other, &wrong) == VAE_OK && wrong.num_params <= n)
        FUZZ_CHECK(vae_checkpoint_read_params(c, &wrong, p) == VAE_ERR_ARG, "another layout accepted");
    (void)vae_checkpoint_attr(c, "tokenizer");
    (void)vae_checkpoint_attr(c, "format");
    free(p);
    free(mm);
    free(v);
}

int fuzz_checkpoint_one(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL, "out of memory");
    if (size)
        memcpy(copy, data, size);
    if (size > FUZZ_SEAL_SIZE && want_reseal(data, size)) {
        memset(copy, 0, FUZZ_SEAL_SIZE);
        snprintf((char *)copy, FUZZ_SEAL_SIZE, "vae-checkpoint seal\nsize %llu\ncrc32 %lu\n",
                 (unsigned long long)size, (unsigned long)fuzz_crc32(copy + FUZZ_SEAL_SIZE, size - FUZZ_SEAL_SIZE));
    }
    const char *path = fuzz_write_temp(1, copy, size);
    free(copy);
    vae_checkpoint *c = NULL;
    const int rc = vae_checkpoint_open(&c, path);
    if (rc == VAE_OK)
        check_open(c);
    else
        FUZZ_CHECK_NAMES_FILE(rc, path);
    vae_checkpoint_free(c);
    return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_checkpoint_one(data, size); }
#endif
