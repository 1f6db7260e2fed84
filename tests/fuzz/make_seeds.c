/* Writes the fuzzers' seed inputs: `fuzz_make_seeds DIR` fills DIR/tokenize, DIR/corpus and
 * DIR/checkpoint (folders that must exist). Corpora come from the library's corpus writer and
 * checkpoints from vae_checkpoint_write, small enough (a few KB) to mutate fast; tokenizer seeds
 * are texts behind the harness's two settings bytes. tests/fuzz/seeds/ holds its output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae/checkpoint.h"
#include "vae/corpus.h"
#include "vae/model.h"

static const char *dir;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, vae_error_message());
    exit(1);
}

static void put_text(const char *name, unsigned char b0, unsigned char b1, const char *text, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenize/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(b0, f) == EOF || fputc(b1, f) == EOF || fwrite(text, 1, n, f) != n || fclose(f) != 0)
        die(path);
}

#define TEXT(name, b0, b1, s) put_text(name, b0, b1, s, sizeof s - 1)

static void tokenizer_seeds(void)
{
    TEXT("ascii", 0x01, 48, "Hello, WORLD! mIxEd-case words: the cat and the dog, the end.\n");
    TEXT("digits", 0x04, 20, "year 2024 vs y2k and 3d4 x86_64 9\tTAB\r\nCRLF");
    TEXT("stopwords", 0x09, 30, "The naive na\xC3\xAFve of AND the ab abc \xE6\x97\xA5\xE6\x9C\xAC \xE6\x97\xA5 the");
    TEXT("utf8", 0x20, 40,
         "caf\xC3\xA9 \xC3\x9C" "ber stra\xC3\x9F" "e \xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0 "
         "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x80\x81\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80" "emoji "
         "a\xE2\x80\x94" "b zero\xE2\x80\x8Cwidth \xC2\xA0nbsp\xC2\xBF \xEF\xBC\x81" "full");
    TEXT("invalid", 0x12, 63,
         "bad\xC0\xAFoverlong \xED\xA0\x80surrogate \xF4\x90\x80\x80" "big \xF8\x88\x80\x80\x80 \xE2\x82 cut"
         "\x80\x80 lone \xFF\xFE bom\xEF\xBB\xBFin nul\0byte end\xC3");
    TEXT("long", 0x80, 0, "a aa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                          "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9 b");
    TEXT("padded", 0x71, 10, "one two three two one four five six seven eight nine ten eleven one");
}

static vae_corpus_writer *corpus_begin(const char *name, const char *const *words, int64_t V)
{
    char path[4096];
    vae_corpus_writer *w = NULL;
    int64_t df[16], tf[16];
    for (int64_t i = 0; i < V; i++)
        df[i] = tf[i] = i + 1;
    snprintf(path, sizeof path, "%s/corpus/%s", dir, name);
    if (vae_corpus_writer_new(&w, path) != VAE_OK || vae_corpus_writer_set_vocab(w, words, df, tf, V) != VAE_OK)
        die(path);
    return w;
}

static void add(vae_corpus_writer *w, const char *split, const int32_t *ids, const int32_t *cnt, int64_t n,
                const char *name)
{
    if (vae_corpus_writer_add_doc(w, split, ids, cnt, n, name) != VAE_OK)
        die(split);
}

static void corpus_seeds(void)
{
    static const char *const words[6] = {"apple", "na\xC3\xAFve", "cat", "dog", "egg", "\xE6\x97\xA5\xE6\x9C\xAC"};
    static const int32_t ids[6] = {0, 1, 2, 3, 4, 5}, cnt[6] = {1, 2, 1, 3, 5, 1};
    static const float topics[2][6] = {{.5f, .5f, 0, 0, 0, 0}, {0, 0, .25f, .25f, .25f, .25f}};

    /* train with names, a test split, attributes and floats */
    vae_corpus_writer *w = corpus_begin("small.h5", words, 6);
    add(w, "train", ids, cnt, 2, "a.txt:1");
    add(w, "train", ids + 2, cnt + 2, 0, "a.txt:2");
    add(w, "train", ids + 1, cnt + 1, 4, "b.txt:1");
    add(w, "test", ids + 4, cnt + 4, 2, NULL);
    add(w, "test", ids, cnt, 1, NULL);
    if (vae_corpus_writer_set_attr_str(w, "tokenizer", "letters-v1") != VAE_OK ||
        vae_corpus_writer_set_attr_int(w, "tokenizer_min_len", 2) != VAE_OK ||
        vae_corpus_writer_put_floats(w, "/synthetic/topics", &topics[0][0], 2, 6) != VAE_OK ||
        vae_corpus_writer_commit(w) != VAE_OK)
        die("small.h5");
    vae_corpus_writer_free(w);

    /* three splits, valid empty, no names */
    w = corpus_begin("splits.h5", words, 4);
    for (int d = 0; d < 5; d++)
        add(w, "train", ids + d % 3, cnt + d % 2, 1 + d % 2, NULL);
    add(w, "test", ids, cnt, 4, NULL);
    if (vae_corpus_writer_add_split(w, "valid") != VAE_OK || vae_corpus_writer_commit(w) != VAE_OK)
        die("splits.h5");
    vae_corpus_writer_free(w);

    /* sequences (version 2): ids up to V = 6 (unknown), a document without any, a cut at 3 */
    static const int32_t toks[7] = {0, 6, 2, 5, 1, 1, 3};
    w = corpus_begin("seqs.h5", words, 6);
    if (vae_corpus_writer_set_sequences(w, "sentence", 3) != VAE_OK)
        die("seqs.h5");
    add(w, "train", ids, cnt, 3, "a.txt:1");
    add(w, "train", ids + 3, cnt + 3, 1, "a.txt:2");
    add(w, "train", ids + 1, cnt + 1, 2, "a.txt:3");
    add(w, "valid", ids + 2, cnt + 2, 2, "b.txt:1");
    if (vae_corpus_writer_add_seq(w, "train", 0, toks, 3) != VAE_OK ||
        vae_corpus_writer_add_seq(w, "train", 0, toks + 3, 1) != VAE_OK ||
        vae_corpus_writer_add_seq(w, "train", 2, toks + 4, 2) != VAE_OK ||
        vae_corpus_writer_add_seq(w, "valid", 0, toks + 6, 1) != VAE_OK ||
        vae_corpus_writer_set_attr_str(w, "tokenizer", "letters-v1") != VAE_OK || vae_corpus_writer_commit(w) != VAE_OK)
        die("seqs.h5");
    vae_corpus_writer_free(w);

    /* one word, one document */
    static const char *const one[1] = {"x"};
    w = corpus_begin("tiny.h5", one, 1);
    add(w, "train", ids, cnt + 3, 1, "only");
    if (vae_corpus_writer_commit(w) != VAE_OK)
        die("tiny.h5");
    vae_corpus_writer_free(w);
}

static void checkpoint_seed(const char *name, const char *const *settings, int moments, const char *const *attrs)
{
    static const char *const words[5] = {"apple", "na\xC3\xAFve", "cat", "dog", "\xE6\x97\xA5\xE6\x9C\xAC"};
    char path[4096];
    vae_model_config mc;
    vae_layout l;
    int ok = vae_model_config_init(&mc, "bow", 5) == VAE_OK;
    for (int i = 0; ok && settings[i]; i += 2)
        ok = vae_model_config_set(&mc, settings[i], settings[i + 1]) == VAE_OK;
    if (!ok || vae_layout_compute(&mc, &l) != VAE_OK)
        die(name);
    const vae_model_config *m = &mc;
    float *p = calloc(l.num_params, sizeof *p), *mm = calloc(l.num_params, sizeof *mm),
          *v = calloc(l.num_params, sizeof *v);
    if (!p || !mm || !v)
        die("out of memory");
    for (size_t i = 0; i < l.num_params; i++) {
        p[i] = (float)((int)(i * 7 % 13) - 6) / 8.0f;
        mm[i] = p[i] / 100;
        v[i] = p[i] * p[i] / 1000;
    }
    vae_checkpoint_data d = {.model = m, .layout = &l, .params = p, .m = moments ? mm : NULL,
                             .v = moments ? v : NULL, .words = words, .attrs = attrs};
    vae_checkpoint_state s = {.step = 12, .epoch = 3, .step_in_epoch = 2, .optim_t = 12, .seed = 7,
                              .config_json = "{\"batch_size\": 4, \"lr\": 0.001}"};
    snprintf(path, sizeof path, "%s/checkpoint/%s", dir, name);
    if (vae_checkpoint_write(path, &d, &s) != VAE_OK)
        die(path);
    free(p);
    free(mm);
    free(v);
}

static void checkpoint_seeds(void)
{
    static const char *const attrs[] = {"tokenizer", "letters-v1", "tokenizer_min_len", "2", NULL};
    static const char *const small[] = {"latent", "2", "encoder_hidden", "3", "decoder_hidden", "", NULL};
    static const char *const deeper[] = {"latent", "1", "encoder_hidden", "3,2", "decoder_hidden", "3",
                                         "activation", "tanh", "input_transform", "l1", NULL};
    checkpoint_seed("adam.h5", small, 1, attrs);
    checkpoint_seed("no_moments.h5", deeper, 0, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds DIR (with DIR/tokenize, DIR/corpus, DIR/checkpoint)\n");
        return 2;
    }
    dir = argv[1];
    tokenizer_seeds();
    corpus_seeds();
    checkpoint_seeds();
    return 0;
}
