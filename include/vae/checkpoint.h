/* The checkpoint file (SPEC.md "Checkpoint file", format vae-checkpoint version 2): parameters,
 * running statistics and Adam moments by name, the vocabulary, the model's family and settings,
 * the resolved configuration, and the training position, so that a run resumes exactly and a
 * checkpoint alone serves inference. Written under a temporary name, flushed to disk and renamed,
 * so a file under its final name is always whole. Version 1 files (written before model families,
 * without the attribute model) are read as family bow.
 *
 * Root attributes: format = "vae-checkpoint", version = 2, model (the family's name), step, epoch,
 * step_in_epoch, optim_t, seed (int64 holding the uint64's bits), config_json, model_vocab_size;
 * the family's settings as model_<key> (family.h: an integer, or the setting's text form such as
 * "128,64", "" for an empty list); and the caller's extra string attributes under their own keys
 * (never "model" or a name beginning "model_"). Integers are int64, strings scalar variable-length
 * UTF-8. Datasets: /params/<name> float32 [rows, cols] or [rows] (PyTorch's layout and names),
 * /state/<name> for a family with running statistics (and no /state otherwise),
 * /optimizer/m/<name> and /optimizer/v/<name> (all or none), /vocab/words (variable-length UTF-8,
 * [V]).
 *
 * The seal: HDF5 checksums neither raw data nor variable-length strings, and HDF5 1.10 can crash
 * on a damaged file, so the file begins with a 512-byte user block (HDF5, h5py and h5dump skip it)
 * holding the text "vae-checkpoint seal\nsize <bytes in the file>\ncrc32 <CRC-32>\n" padded with
 * NULs, where the CRC-32 is Python's zlib.crc32(data[512:]). Opening checks it before HDF5 reads
 * anything, so a truncated, damaged or edited file is refused, never half-read. */
#ifndef VAE_CHECKPOINT_H
#define VAE_CHECKPOINT_H

#include "vae/common.h"
#include "vae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VAE_CHECKPOINT_FORMAT "vae-checkpoint"
#define VAE_CHECKPOINT_VERSION 2

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

/* What a checkpoint holds besides the state. params (and m, v) in the buffer form of layout, the
 * model's; state in that of the model's state layout (NULL for a family without one). m and v may
 * be NULL (no optimizer moments saved: then the file has no /optimizer group). Words are the
 * vocabulary, words[V]. Extra string attributes (tokenizer settings, say) are given as
 * NULL-terminated key/value pairs, may be NULL. */
typedef struct {
    const vae_model_config *model;
    const vae_layout *layout;
    const float *params, *m, *v, *state;
    const char *const *words;
    const char *const *attrs; /* {"key", "value", ..., NULL} */
} vae_checkpoint_data;

/* Writes path whole or not at all: the file is built in memory (about twice its size in memory
 * while writing), sealed, written to "<path>.tmp.<pid>" in the same folder, fsynced, renamed over
 * path, and the folder fsynced. On failure (disk full, say) the temporary file is removed, any file
 * already at path is left untouched, and the message names path and what failed. Refuses what
 * vae_checkpoint_open would refuse: VAE_ERR_NUMERIC for a non-finite value in params, m, v or state
 * (or a negative v), naming the tensor and index; VAE_ERR_ARG for a layout other than the model's,
 * missing running statistics, a state with a negative count, step_in_epoch or optim_t above step,
 * or an empty config_json, an invalid word, or an extra attribute that is empty, given twice or
 * named like one of the format. */
int vae_checkpoint_write(const char *path, const vae_checkpoint_data *data, const vae_checkpoint_state *state);

typedef struct vae_checkpoint vae_checkpoint;

/* Opens and validates: the seal, format and version attributes, the state attributes (the rules
 * above), the model attributes (a known family, each of its settings, together an architecture
 * vae_layout_compute accepts, and no other model_* attribute), every /params (and /state) tensor
 * present, float32, with the shape the architecture implies and finite values, and no other
 * member; the optimizer's moments complete or absent; /vocab/words of model_vocab_size valid words.
 * Memory stays bounded by the file's size: a model whose parameters (float32, stored contiguous)
 * could not fit in the file is refused before anything is allocated for it, and a tensor's shape is
 * checked before its data is read.
 * Everything is read here (the file is closed on return), so a truncated or altered file is
 * refused at open with a message naming path and the first problem. path may also be a run
 * folder or its checkpoints/ folder (the checkpoint that checkpoints/latest names) or a pointer file
 * (latest, best: the checkpoint it names). */
int vae_checkpoint_open(vae_checkpoint **out, const char *path);
void vae_checkpoint_free(vae_checkpoint *c);

/* The model's family and settings (family bow for a version 1 file). */
const vae_model_config *vae_checkpoint_model(const vae_checkpoint *c);
/* step, epoch, step_in_epoch, optim_t, seed and config_json (owned by c). */
const vae_checkpoint_state *vae_checkpoint_state_of(const vae_checkpoint *c);
int vae_checkpoint_has_optimizer(const vae_checkpoint *c);
/* Copies the parameters (and moments, when present) into buffers of the layout's size, tensor by
 * tensor: the padding between tensors is left as it was. VAE_ERR_ARG when layout is not the
 * checkpoint's, or (read_optimizer) when the checkpoint holds no moments. */
int vae_checkpoint_read_params(vae_checkpoint *c, const vae_layout *layout, float *params);
int vae_checkpoint_read_optimizer(vae_checkpoint *c, const vae_layout *layout, float *m, float *v);
/* The running statistics into a buffer of the model's state layout (nothing for a family without). */
int vae_checkpoint_read_state(vae_checkpoint *c, const vae_layout *state_layout, float *state);
/* The vocabulary, words[V], owned by c. */
int vae_checkpoint_vocab(vae_checkpoint *c, const char *const **words, int64_t *V);
/* An extra string attribute (never one of the format's); NULL when absent. Owned by c. */
const char *vae_checkpoint_attr(vae_checkpoint *c, const char *key);

#ifdef __cplusplus
}
#endif
#endif
