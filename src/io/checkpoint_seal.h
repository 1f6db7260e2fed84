/* The seal of a checkpoint file (see checkpoint.h and checkpoint_seal.c). */
#ifndef VAE_CHECKPOINT_SEAL_H
#define VAE_CHECKPOINT_SEAL_H

#include <stddef.h>

/* The user block that holds the seal: HDF5, h5py and h5dump skip it. */
#define CHECKPOINT_SEAL_SIZE 512

/* Writes the seal of image[0..size) into its first CHECKPOINT_SEAL_SIZE bytes. */
void checkpoint_seal_image(unsigned char *image, size_t size);
/* Whether path is a whole, unaltered checkpoint file, before HDF5 parses it; *file_size is its size.
 * The message names path and what is wrong. */
int checkpoint_check_seal(const char *path, unsigned long long *file_size);

#endif
