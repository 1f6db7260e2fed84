/* HDF5 helpers shared by the modules that read and write HDF5 files (the corpus, checkpoints).
 * Every failure records one message through vae_fail that names the file and the object, and
 * HDF5's own error printing is switched off so that this message is the only one. */
#ifndef VAE_H5UTIL_H
#define VAE_H5UTIL_H

#include <hdf5.h>

#include "files.h"
#include <stddef.h>
#include <stdint.h>

/* Switches off HDF5's automatic error-stack printing (idempotent). */
void vae_h5_quiet(void);

/* Closes any HDF5 id (file, group, dataset, dataspace, datatype, property list, attribute) and sets
 * it to H5I_INVALID_HID; an invalid id is left alone. */
void vae_h5_close(hid_t *id);

/* Why the HDF5 call that just failed failed, for its message: the system's reason that HDF5's file
 * driver recorded ("No space left on device" for a full disk), or "HDF5 error". Call it before any
 * other HDF5 call, which clears the record. */
const char *vae_h5_why(void);

/* Writes what HDF5 caches for file and its open objects (path: the final name, tmp: the file being
 * written, both named by the message). A writer calls it before closing its objects: their closes
 * write what is cached too, but a failure there (a full disk) cannot be told, and a file cut short
 * would be published. */
int vae_h5_flush(hid_t file, const char *path, const char *tmp);

/* VAE_ERR_FORMAT naming the filter when dataset path of file is stored with a filter this HDF5
 * does not have (h5py's LZF), which would otherwise fail at the first read with no reason. */
int vae_h5_check_filters(hid_t dset, const char *file, const char *path);

/* Opens path read-only: VAE_ERR_IO when it cannot be opened, VAE_ERR_FORMAT when it is not HDF5. */
int vae_h5_open_read(const char *path, hid_t *file);
/* Creates (truncates) path for writing; object modification times are not recorded, so that the
 * same content gives the same bytes. */
int vae_h5_create(const char *path, hid_t *file);

/* A group or dataset creation property list that records no modification times (for the same
 * reason); with chunk > 0, chunked by chunk elements along the first dimension, deflate level 1,
 * and with shuffle when shuffle is set. The caller closes it. */
hid_t vae_h5_dcpl(int rank, const hsize_t *chunk, int shuffle);
hid_t vae_h5_gcpl(void);

/* The variable-length UTF-8 string type (the caller closes it). */
hid_t vae_h5_str_type(void);

/* A dataset transfer property list for integer reads: a value that does not fit the memory type
 * becomes INT32_MIN or INT64_MIN (by its size) instead of being clipped, so that the caller's range
 * checks catch it at its position. */
hid_t vae_h5_int_dxpl(void);

/* Attributes of obj (a file, group or dataset). Writing replaces an attribute of the same name;
 * integers are written as int64, strings as scalar variable-length UTF-8. Reading accepts any
 * integer type (one element) and fixed or variable-length strings; a missing attribute or one of
 * the wrong class is VAE_ERR_FORMAT naming it. get_str returns a malloc'ed copy. */
int vae_h5_attr_put_int(hid_t obj, const char *name, int64_t value, const char *file);
int vae_h5_attr_put_str(hid_t obj, const char *name, const char *value, const char *file);
int vae_h5_attr_get_int(hid_t obj, const char *name, int64_t *value, const char *file);
int vae_h5_attr_get_str(hid_t obj, const char *name, char **value, const char *file);

/* Whole float32 datasets of rank 1 or 2 at path under loc (intermediate groups created on write).
 * get_floats accepts any float type, allocates *data and fills dims[0..*rank). */
int vae_h5_put_floats(hid_t loc, const char *path, const float *data, int rank, const hsize_t *dims,
                      const char *file);
int vae_h5_get_floats(hid_t loc, const char *path, float **data, int *rank, hsize_t dims[2],
                      const char *file);

/* Whole 1-D datasets at path (chunked and compressed): strings[0..n) as variable-length UTF-8,
 * data[0..n) as int64. */
int vae_h5_put_strings(hid_t loc, const char *path, const char *const *strings, hsize_t n, const char *file);
int vae_h5_put_int64s(hid_t loc, const char *path, const int64_t *data, hsize_t n, const char *file);

/* The object's path inside its file, for messages ("?" when unknown). */
const char *vae_h5_name(hid_t obj, char *buf, size_t size);


#endif
