/* Publishing a file whole or not at all, the one rule every writer of the product follows (corpus,
 * checkpoint, embeddings, run-folder files): write under a temporary name in the same folder,
 * flush it to disk, rename it over the final name, flush the folder. A failure removes the
 * temporary file, leaves any file under the final name as it was, and says which file and why. */
#ifndef VAE_FILES_H
#define VAE_FILES_H

#include <stddef.h>

/* The temporary name of path: "<path>.tmp.<pid>" (run folders clean up only names of this form). */
void vae_temp_path(const char *path, char *buf, size_t size);
/* Makes the finished file tmp durable as path: fsyncs tmp, renames it to path, fsyncs the folder.
 * On failure tmp is removed. */
int vae_publish_file(const char *tmp, const char *path);
/* Writes text to path by the rule above. */
int vae_write_file_atomic(const char *path, const char *text);

/* VAE_ERR_ARG naming both when writing output would replace input (what names it: a flag such as
 * "--corpus"): the same file, by device and inode, symbolic links followed. A missing file is no
 * other. */
int vae_check_not_input(const char *output, const char *input, const char *what);
/* Whether name is base's temporary name (vae_temp_path's "<base>.tmp.<digits>"). */
int vae_is_temp_of(const char *name, const char *base);

#endif
