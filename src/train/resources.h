/* What a run's settings ask of the machine, checked before anything that large is allocated, so
 * that absurd settings fail at once with the figure (VAE_ERR_LIMIT) instead of an allocation
 * failing deep inside, or the kernel killing a rank that touches memory it was promised. */
#ifndef VAE_TRAIN_RESOURCES_H
#define VAE_TRAIN_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

/* The bytes a rank needs at least for a model of num_params parameters whose decoder has V outputs,
 * on batches of up to batch output rows (units, or tokens for a family of sequences): the parameters, their gradients and the optimizer's two moments
 * (float32 each), and the decoder's outputs and their gradients. */
double train_memory_needed(size_t num_params, int64_t V, int64_t batch);
/* VAE_ERR_LIMIT when that exceeds the machine's memory, the message giving both figures. */
int train_check_memory(size_t num_params, int64_t V, int64_t batch);

#endif
