/* What the checkpoint's writer (checkpoint.c) and reader (checkpoint_read.c) share: the root
 * attributes and tensor sets of the format, and the rules on their values, so that the writer
 * refuses what the reader would. */
#ifndef VAE_CHECKPOINT_INTERNAL_H
#define VAE_CHECKPOINT_INTERNAL_H

#include "h5util.h"
#include "vae/checkpoint.h"
#include "vae/family.h"

/* Root attributes of the format besides the family's settings (model_<key>). */
enum {
    A_FORMAT,
    A_VERSION,
    A_MODEL, /* absent from version 1 */
    A_STEP,
    A_EPOCH,
    A_STEP_IN_EPOCH,
    A_OPTIM_T,
    A_SEED,
    A_CONFIG_JSON,
    A_VOCAB_SIZE,
    NUM_ATTRS
};

typedef struct {
    const char *name;
    int is_int;
} checkpoint_attr;

extern const checkpoint_attr checkpoint_attrs[NUM_ATTRS];

/* The value of each root attribute: num[] for integers, str[] for strings. */
typedef struct {
    int64_t num[NUM_ATTRS];
    const char *str[NUM_ATTRS];
} checkpoint_root;

/* Tensor sets, by the group that holds each: parameters and moments in the parameters' layout,
 * running statistics in the state layout. */
enum { SET_PARAMS, SET_M, SET_V, SET_STATE, NUM_SETS };
extern const char *const checkpoint_set_group[NUM_SETS];

/* "model_<key>": the root attribute of a family setting. */
void checkpoint_setting_attr(const vae_setting_spec *setting, char *buf, size_t size);
/* Whether an extra attribute may not be named key: a name of the format, or "model_" and more. */
int checkpoint_is_reserved(const char *key);

/* Prefixes the message a callee recorded with path and what was being done. */
int checkpoint_rewrap(int rc, const char *path, const char *context);
/* What is wrong (in buf), or NULL: a training position no run reaches; where layout got differs
 * from want; the first invalid word of words[0..n). */
const char *checkpoint_state_problem(const vae_checkpoint_state *s, char *buf, size_t size);
const char *checkpoint_layout_problem(const vae_layout *want, const vae_layout *got, char *buf, size_t size);
const char *checkpoint_words_problem(const char *const *words, int64_t n, char *buf, size_t size);
/* Refuses (with status) the first non-finite value of set x in layout l, and for v a negative one,
 * naming the tensor, the index in the file's form, and the consequence. */
int checkpoint_check_values(const char *path, const vae_layout *l, const float *x, int set, int status,
                            const char *consequence);

#endif
