/* The checkpoint file (SPEC.md "Checkpoint file", format vae-checkpoint version 1): parameters and
 * Adam moments by name, the vocabulary, the resolved configuration, and the training position, so
 * that a run resumes exactly and a checkpoint alone serves inference. Written under a temporary
 * name, flushed to disk and renamed, so a file under its final name is always whole. */
#ifndef VAE_CHECKPOINT_H
#define VAE_CHECKPOINT_H

#include "vae/common.h"
#include "vae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VAE_CHECKPOINT_FORMAT "vae-checkpoint"
#define VAE_CHECKPOINT_VERSION 1

/* Where training stands: `step` updates done in all; the next step is step `step_in_epoch` of
 * epoch `epoch` (0-based), whose document order is the permutation drawn from (seed, epoch). */
typedef struct {
    int64_t step;
    int64_t epoch;
    int64_t step_in_epoch;
    int64_t optim_t;         /* the optimizer's update count (Adam's bias correction) */
    uint64_t seed;
    const char *config_json; /* the whole resolved configuration */
} vae_checkpoint_state;

/* What a checkpoint holds besides the state. m and v may be NULL (no optimizer moments saved:
 * then the file has no /optimizer group). Words are the vocabulary, words[V]. Extra string
 * attributes (tokenizer settings, say) are given as NULL-terminated key/value pairs, may be NULL. */
typedef struct {
    const vae_model_config *model;
    const vae_layout *layout;
    const float *params, *m, *v;
    const char *const *words;
    const char *const *attrs; /* {"key", "value", ..., NULL} */
} vae_checkpoint_data;

/* Writes path whole or not at all: a temporary file in the same folder, fsync, rename, fsync of
 * the folder. On failure (disk full, say) the temporary file is removed, any file already at path
 * is left untouched, and the message names path and what failed. Refuses non-finite parameters. */
int vae_checkpoint_write(const char *path, const vae_checkpoint_data *data, const vae_checkpoint_state *state);

typedef struct vae_checkpoint vae_checkpoint;

/* Opens and validates: format and version attributes, the state attributes, the model attributes
 * (architecture), every /params tensor present with the shape the architecture implies and finite
 * values, /vocab/words of the right length. The whole file is checked here, so a truncated or
 * altered file is refused at open with a message naming path and the first problem. */
int vae_checkpoint_open(vae_checkpoint **out, const char *path);
void vae_checkpoint_free(vae_checkpoint *c);

const vae_model_config *vae_checkpoint_model(const vae_checkpoint *c);
/* step, epoch, step_in_epoch, optim_t, seed and config_json (owned by c). */
const vae_checkpoint_state *vae_checkpoint_state_of(const vae_checkpoint *c);
int vae_checkpoint_has_optimizer(const vae_checkpoint *c);
/* Copies the parameters (and moments, when present) into buffers of the layout's size. */
int vae_checkpoint_read_params(vae_checkpoint *c, const vae_layout *layout, float *params);
int vae_checkpoint_read_optimizer(vae_checkpoint *c, const vae_layout *layout, float *m, float *v);
/* The vocabulary, words[V], owned by c. */
int vae_checkpoint_vocab(vae_checkpoint *c, const char *const **words, int64_t *V);
/* An extra string attribute; NULL when absent. Owned by c. */
const char *vae_checkpoint_attr(vae_checkpoint *c, const char *key);

#ifdef __cplusplus
}
#endif
#endif
