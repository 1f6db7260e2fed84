/* A model family (SPEC.md "Model families"): one module behind one table of functions, found by
 * name in the registry (src/model/family.c, one line per family). The programs, the trainer, the
 * checkpoint file and vae-infer reach a family only through this table and model.h, so a new
 * family is new files and one registry line.
 *
 * A family's architecture is a list of settings; each is at once the command-line option
 * --<key with '-' for '_'>, the member <key> of config.json and of a checkpoint's config_json, and
 * the checkpoint's root attribute model_<key> (an integer for VAE_SETTING_INT, else a string of its
 * text form, for a REAL the shortest that reads back as the same double), so that options,
 * configuration files and checkpoints need no code of the family. */
#ifndef VAE_FAMILY_H
#define VAE_FAMILY_H

#include "vae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a batch's units are: documents (bags of words, vae_batch.docs) or sequences (vae_batch.seqs). */
typedef enum { VAE_UNIT_DOCS, VAE_UNIT_SEQS } vae_unit;
extern const char *const vae_unit_names[]; /* "docs", "seqs": the prefix of docs_per_s, seqs_per_s */

typedef enum {
    VAE_SETTING_INT,    /* an integer in [lo, hi] */
    VAE_SETTING_LIST,   /* min_count to max_count integers, each in [lo, hi]: "128,64", "" for none */
    VAE_SETTING_CHOICE, /* one of choices */
    VAE_SETTING_REAL    /* a number in [real_lo, real_hi] (a probability, a prior's concentration) */
} vae_setting_kind;

typedef struct {
    const char *key;            /* "encoder_hidden" */
    vae_setting_kind kind;
    const char *default_text;   /* its value when not set, in text form */
    const char *absent_text;    /* its value in a checkpoint written before it existed; NULL: required */
    int64_t lo, hi;
    int min_count, max_count;   /* LIST; max_count <= VAE_MAX_LIST */
    const char *const *choices; /* CHOICE: NULL-terminated */
    double real_lo, real_hi;    /* REAL */
} vae_setting_spec;

struct vae_family {
    const char *name; /* --model's value, the checkpoint's root attribute model */
    vae_unit unit;
    const vae_setting_spec *settings;
    int num_settings; /* <= VAE_MAX_SETTINGS */
    /* Checks c (settings together, vocab_size) and computes both layouts. */
    int (*layout)(const vae_model_config *c, vae_layout *params, vae_layout *state);
    /* Allocates the family's model, which begins with the header of src/model/model_base.h (zeroed
     * but for latent, which create sets), and its activations for max_batch units; the generic code
     * fills the rest of the header. destroy frees what create allocated. */
    int (*create)(vae_model **out, const vae_model_config *c, int max_batch);
    void (*destroy)(vae_model *m);
    /* The initial parameters (and running statistics, for a family with any) from seed. */
    void (*init_params)(vae_model *m, uint64_t seed);
    /* The batch is checked first: it holds the family's unit, at most max_batch of them. */
    int (*forward)(vae_model *m, const vae_batch *b, const vae_step_opts *o, vae_loss_sums *s);
    void (*backward)(vae_model *m, const vae_batch *b, const vae_step_opts *o);
    size_t (*eval_sums_len)(const vae_model *m);
    int (*eval)(vae_model *m, const vae_batch *b, int samples, uint64_t eval_seed, double *sums);
    void (*figures)(const vae_model *m, const double *sums, vae_figures *f);
    int (*encode)(vae_model *m, const vae_batch *b, float *mu, float *logvar);
    /* NULL for a family without one distribution over the words per z. */
    int (*decode)(vae_model *m, const float *z, int n, float *logp);
    /* NULL but for a family whose topics are a matrix (model.h's vae_model_topic_words). */
    int (*topic_words)(vae_model *m, float *weight);
    /* NULL-terminated pairs of a vae-dist flag (no leading --) and its value, which a run of the
     * family takes when the flag is not given: the family's own learning rate, epochs...; NULL for
     * none. */
    const char *const *train_defaults;
    /* NULL but for a family whose latent vector maps to topic proportions (vae_model_theta). */
    int (*theta)(vae_model *m, const float *z, int n, float *theta);
    /* Families of sequences (NULL for those of documents): activations resized for max_tokens
     * tokens a batch (create sizes them for 64 a unit); model.h's decoding functions; seq_classes
     * NULL for a family that decodes no sequences. */
    int (*reserve_tokens)(vae_model *m, int64_t max_tokens);
    int64_t (*seq_classes)(const vae_model *m);
    int (*seq_state_size)(const vae_model *m);
    int (*seq_start)(vae_model *m, const float *z, int n, float *h);
    int (*seq_step)(vae_model *m, const float *z, const int32_t *prev, const float *h, int n, float *h_next,
                    float *logp);
    /* 1 when forward honours vae_step_opts.free_bits (a run of another family refuses --free-bits). */
    int free_bits;
    /* NULL for a family without importance weights (model.h's vae_model_log_weights). */
    int (*log_weights)(vae_model *m, const vae_batch *b, int K, uint64_t eval_seed, double *logw);
    /* NULL for a family whose products are float32 only (model.h's vae_model_set_precision). */
    int (*set_precision)(vae_model *m, vae_precision p);
};

/* The family of that name; VAE_ERR_ARG naming it, and the known ones, when there is none. */
int vae_family_find(const char *name, const vae_family **out);
/* The registry's families in order, i = 0, 1, ...; NULL past the last. */
const vae_family *vae_family_at(int i);

#ifdef __cplusplus
}
#endif
#endif
