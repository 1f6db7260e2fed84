/* HDF5 helpers shared by the corpus and checkpoint modules (see h5util.h). */
#include "h5util.h"

#include "vae/common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Chunk of whole 1-D datasets written at once: 64Ki elements. */
#define WHOLE_CHUNK 65536

void vae_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* HDF5 1.10 cannot close a file whose final flush failed (a full disk): H5Fclose fails and keeps
 * the id, and the library's clean-up at exit, closing it again, crashes the program after its
 * error message. So that clean-up never runs (H5dont_atexit works only before HDF5 starts, hence
 * at load): every file this library opens it closes itself, and what a failed close leaves is
 * memory returned at exit. */
__attribute__((constructor)) static void no_clean_up_at_exit(void) { H5dont_atexit(); }

void vae_h5_close(hid_t *id)
{
    /* The close function of the id's kind, never H5Idec_ref: when a close fails (a dataset whose
     * cached chunks cannot be flushed to a full disk), H5Dclose and its kin still free the id,
     * whereas H5Idec_ref keeps it, and HDF5's clean-up at exit then crashes closing it again. */
    if (*id < 0)
        return;
    switch (H5Iget_type(*id)) {
    case H5I_FILE: H5Fclose(*id); break;
    case H5I_GROUP: H5Gclose(*id); break;
    case H5I_DATASET: H5Dclose(*id); break;
    case H5I_DATASPACE: H5Sclose(*id); break;
    case H5I_DATATYPE: H5Tclose(*id); break;
    case H5I_ATTR: H5Aclose(*id); break;
    case H5I_GENPROP_LST: H5Pclose(*id); break;
    default: H5Idec_ref(*id); break;
    }
    *id = H5I_INVALID_HID;
}

/* Keeps the first system error number that HDF5's file driver recorded on the error stack. */
static herr_t find_errno(unsigned n, const H5E_error2_t *err, void *found)
{
    (void)n;
    const char *at = err->desc ? strstr(err->desc, ", errno = ") : NULL;
    if (at && *(int *)found == 0)
        *(int *)found = atoi(at + strlen(", errno = "));
    return 0;
}

const char *vae_h5_why(void)
{
    int found = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_errno, &found);
    return found > 0 ? strerror(found) : "HDF5 error";
}

int vae_h5_check_filters(hid_t dset, const char *file, const char *path)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    const int n = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
    int rc = VAE_OK;
    for (int i = 0; i < n && rc == VAE_OK; i++) {
        char name[64] = "";
        unsigned flags, config;
        size_t num_values = 0;
        const H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &num_values, NULL, sizeof name, name,
                                               &config);
        if (id >= 0 && H5Zfilter_avail(id) <= 0)
            rc = vae_fail(VAE_ERR_FORMAT, "%s: %s: compressed with HDF5 filter %d ('%s'), which this HDF5 lacks: "
                          "rewrite the file with gzip (h5py: compression='gzip')", file, path, (int)id, name);
    }
    vae_h5_close(&dcpl);
    return rc;
}

int vae_h5_flush(hid_t file, const char *path, const char *tmp)
{
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot write %s: %s", path, tmp, vae_h5_why());
    return VAE_OK;
}

const char *vae_h5_name(hid_t obj, char *buf, size_t size)
{
    if (H5Iget_name(obj, buf, size) <= 0)
        snprintf(buf, size, "?");
    return buf;
}

/* "root attribute 'x'" or "attribute 'x' of /group", the way messages name an attribute. */
static const char *attr_where(hid_t obj, const char *name, char *buf, size_t size)
{
    char path[256];
    vae_h5_name(obj, path, sizeof path);
    if (strcmp(path, "/") == 0)
        snprintf(buf, size, "root attribute '%s'", name);
    else
        snprintf(buf, size, "attribute '%s' of %s", name, path);
    return buf;
}

int vae_h5_open_read(const char *path, hid_t *file)
{
    *file = H5I_INVALID_HID;
    vae_h5_quiet();
    FILE *f = fopen(path, "rb");
    if (!f)
        return vae_fail(VAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    if (H5Fis_hdf5(path) <= 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: not an HDF5 file", path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return vae_fail(VAE_ERR_IO, "%s: HDF5 cannot open it", path);
    return VAE_OK;
}

int vae_h5_create(const char *path, hid_t *file)
{
    vae_h5_quiet();
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    *file = H5I_INVALID_HID;
    errno = 0;
    if (fcpl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0)
        *file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    vae_h5_close(&fcpl);
    if (*file < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot create: %s", path, errno ? strerror(errno) : "HDF5 error");
    return VAE_OK;
}

hid_t vae_h5_dcpl(int rank, const hsize_t *chunk, int shuffle)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0 || H5Pset_obj_track_times(p, 0) < 0)
        goto fail;
    if (chunk &&
        (H5Pset_chunk(p, rank, chunk) < 0 || (shuffle && H5Pset_shuffle(p) < 0) || H5Pset_deflate(p, 1) < 0))
        goto fail;
    return p;
fail:
    vae_h5_close(&p);
    return H5I_INVALID_HID;
}

hid_t vae_h5_gcpl(void)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0)
        vae_h5_close(&p);
    return p;
}

hid_t vae_h5_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0))
        vae_h5_close(&t);
    return t;
}

static H5T_conv_ret_t flag_out_of_range(H5T_conv_except_t kind, hid_t src, hid_t dst, void *src_buf,
                                        void *dst_buf, void *user)
{
    if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW)
        return H5T_CONV_UNHANDLED;
    if (H5Tget_size(dst) == sizeof(int32_t)) {
        int32_t v = INT32_MIN;
        memcpy(dst_buf, &v, sizeof v);
    } else {
        int64_t v = INT64_MIN;
        memcpy(dst_buf, &v, sizeof v);
    }
    return H5T_CONV_HANDLED;
}

hid_t vae_h5_int_dxpl(void)
{
    hid_t p = H5Pcreate(H5P_DATASET_XFER);
    if (p >= 0 && H5Pset_type_conv_cb(p, flag_out_of_range, NULL) < 0)
        vae_h5_close(&p);
    return p;
}

/* Opens attribute name of obj after checking that it exists, has type class cls and one value. */
static int open_attr(hid_t obj, const char *name, H5T_class_t cls, const char *what, const char *file,
                     hid_t *attr, hid_t *type)
{
    char where[320];
    hid_t space = H5I_INVALID_HID;
    int rc = VAE_OK;
    attr_where(obj, name, where, sizeof where);
    if (H5Aexists(obj, name) <= 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s is missing", file, where);
        goto cleanup;
    }
    *attr = H5Aopen(obj, name, H5P_DEFAULT);
    *type = *attr >= 0 ? H5Aget_type(*attr) : H5I_INVALID_HID;
    space = *attr >= 0 ? H5Aget_space(*attr) : H5I_INVALID_HID;
    if (*type < 0 || space < 0) {
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read %s", file, where);
        goto cleanup;
    }
    if (H5Tget_class(*type) != cls) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s is not %s", file, where, what);
        goto cleanup;
    }
    if (H5Sget_simple_extent_npoints(space) != 1)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s holds %lld values, expected one", file, where,
                      (long long)H5Sget_simple_extent_npoints(space));
cleanup:
    vae_h5_close(&space);
    return rc;
}

int vae_h5_attr_get_int(hid_t obj, const char *name, int64_t *value, const char *file)
{
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID;
    int rc = open_attr(obj, name, H5T_INTEGER, "an integer", file, &attr, &type);
    if (rc == VAE_OK && H5Aread(attr, H5T_NATIVE_INT64, value) < 0) {
        char where[320];
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read %s", file, attr_where(obj, name, where, sizeof where));
    }
    vae_h5_close(&type);
    vae_h5_close(&attr);
    return rc;
}

int vae_h5_attr_get_str(hid_t obj, const char *name, char **value, const char *file)
{
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID;
    char *vlen = NULL;
    char where[320];
    *value = NULL;
    int rc = open_attr(obj, name, H5T_STRING, "a string", file, &attr, &type);
    if (rc != VAE_OK)
        goto cleanup;
    int variable = H5Tis_variable_str(type) > 0;
    size_t size = H5Tget_size(type);
    /* The memory type keeps the file's character set: HDF5 does not convert between sets. */
    mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0 || H5Tset_cset(mtype, H5Tget_cset(type)) < 0 ||
        H5Tset_size(mtype, variable ? H5T_VARIABLE : size + 1) < 0) {
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read %s", file, attr_where(obj, name, where, sizeof where));
        goto cleanup;
    }
    if (variable) {
        space = H5Aget_space(attr);
        if (space < 0 || H5Aread(attr, mtype, &vlen) < 0) {
            rc = vae_fail(VAE_ERR_IO, "%s: cannot read %s", file, attr_where(obj, name, where, sizeof where));
            goto cleanup;
        }
        *value = strdup(vlen ? vlen : "");
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &vlen);
    } else {
        *value = vae_calloc_array(size + 1, 1);
        if (*value && H5Aread(attr, mtype, *value) < 0) {
            vae_free_ptr(value);
            rc = vae_fail(VAE_ERR_IO, "%s: cannot read %s", file, attr_where(obj, name, where, sizeof where));
            goto cleanup;
        }
    }
    if (!*value)
        rc = vae_fail(VAE_ERR_NOMEM, "%s: out of memory reading %s", file,
                      attr_where(obj, name, where, sizeof where));
cleanup:
    vae_h5_close(&space);
    vae_h5_close(&mtype);
    vae_h5_close(&type);
    vae_h5_close(&attr);
    return rc;
}

/* Creates attribute name of obj with file type ftype, replacing one of that name, and writes
 * *value (memory type mtype). */
static int put_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *value,
                    const char *file)
{
    hid_t space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
    int rc = VAE_OK;
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    if (space >= 0)
        attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mtype, value) < 0) {
        char where[320];
        const char *why = vae_h5_why();
        rc = vae_fail(VAE_ERR_IO, "%s: cannot write %s: %s", file, attr_where(obj, name, where, sizeof where), why);
    }
    vae_h5_close(&attr);
    vae_h5_close(&space);
    return rc;
}

int vae_h5_attr_put_int(hid_t obj, const char *name, int64_t value, const char *file)
{
    return put_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, file);
}

int vae_h5_attr_put_str(hid_t obj, const char *name, const char *value, const char *file)
{
    hid_t type = vae_h5_str_type();
    int rc = type < 0 ? vae_fail(VAE_ERR_IO, "%s: cannot make a string type", file)
                      : put_attr(obj, name, type, type, &value, file);
    vae_h5_close(&type);
    return rc;
}

/* Creates the groups on the way to path (not its last component) that do not exist yet, with the
 * same creation properties as every other object (no modification times). */
static int make_parents(hid_t loc, const char *path, const char *file)
{
    char buf[512];
    hid_t gcpl = H5I_INVALID_HID;
    int rc = VAE_OK;
    if (strlen(path) >= sizeof buf)
        return vae_fail(VAE_ERR_ARG, "%s: dataset path '%s' is too long", file, path);
    strcpy(buf, path);
    gcpl = vae_h5_gcpl();
    for (char *slash = strchr(buf + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) {
            hid_t g = gcpl < 0 ? H5I_INVALID_HID : H5Gcreate2(loc, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            if (g < 0) {
                rc = vae_fail(VAE_ERR_IO, "%s: cannot create group %s: %s", file, buf, vae_h5_why());
                goto cleanup;
            }
            vae_h5_close(&g);
        }
        *slash = '/';
    }
cleanup:
    vae_h5_close(&gcpl);
    return rc;
}

/* Creates dataset path under loc (parents included) and writes data (memory type mtype) whole. */
static int put_dataset(hid_t loc, const char *path, hid_t ftype, hid_t mtype, const void *data, int rank,
                       const hsize_t *dims, hid_t dcpl, const char *file)
{
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    int rc = make_parents(loc, path, file);
    if (rc != VAE_OK)
        return rc;
    space = H5Screate_simple(rank, dims, NULL);
    if (space >= 0 && dcpl >= 0)
        dset = H5Dcreate2(loc, path, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0) {
        rc = vae_fail(VAE_ERR_IO, "%s: %s: cannot create the dataset (does it exist already?): %s", file, path,
                      vae_h5_why());
        goto cleanup;
    }
    if (H5Sget_simple_extent_npoints(space) > 0 &&
        H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = vae_fail(VAE_ERR_IO, "%s: %s: cannot write: %s", file, path, vae_h5_why());
cleanup:
    vae_h5_close(&dset);
    vae_h5_close(&space);
    return rc;
}

int vae_h5_put_floats(hid_t loc, const char *path, const float *data, int rank, const hsize_t *dims,
                      const char *file)
{
    hid_t dcpl = vae_h5_dcpl(rank, NULL, 0);
    int rc = put_dataset(loc, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, rank, dims, dcpl, file);
    vae_h5_close(&dcpl);
    return rc;
}

/* Creation properties of a 1-D dataset of n elements: chunked and compressed unless empty. */
static hid_t dcpl_1d(hsize_t n, int shuffle)
{
    hsize_t chunk = n < WHOLE_CHUNK ? n : WHOLE_CHUNK;
    return vae_h5_dcpl(1, chunk ? &chunk : NULL, shuffle);
}

int vae_h5_put_strings(hid_t loc, const char *path, const char *const *strings, hsize_t n, const char *file)
{
    hid_t type = vae_h5_str_type();
    hid_t dcpl = dcpl_1d(n, 0);
    int rc = type < 0 ? vae_fail(VAE_ERR_IO, "%s: cannot make a string type", file)
                      : put_dataset(loc, path, type, type, strings, 1, &n, dcpl, file);
    vae_h5_close(&dcpl);
    vae_h5_close(&type);
    return rc;
}

int vae_h5_put_int64s(hid_t loc, const char *path, const int64_t *data, hsize_t n, const char *file)
{
    hid_t dcpl = dcpl_1d(n, 1);
    int rc = put_dataset(loc, path, H5T_STD_I64LE, H5T_NATIVE_INT64, data, 1, &n, dcpl, file);
    vae_h5_close(&dcpl);
    return rc;
}

int vae_h5_get_floats(hid_t loc, const char *path, float **data, int *rank, hsize_t dims[2], const char *file)
{
    hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    int rc = VAE_OK;
    *data = NULL;
    if (H5Lexists(loc, path, H5P_DEFAULT) <= 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s: no such dataset", file, path);
        goto cleanup;
    }
    dset = H5Dopen2(loc, path, H5P_DEFAULT);
    space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    type = dset >= 0 ? H5Dget_type(dset) : H5I_INVALID_HID;
    if (space < 0 || type < 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s: not a readable dataset", file, path);
        goto cleanup;
    }
    if ((rc = vae_h5_check_filters(dset, file, path)) != VAE_OK)
        goto cleanup;
    *rank = H5Sget_simple_extent_ndims(space);
    if (H5Tget_class(type) != H5T_FLOAT || *rank < 1 || *rank > 2) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s: expected a 1-D or 2-D float dataset", file, path);
        goto cleanup;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    hsize_t n = (hsize_t)H5Sget_simple_extent_npoints(space);
    *data = vae_malloc_array(n, sizeof **data);
    if (!*data) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if (n > 0 && H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0) {
        vae_free_ptr(data);
        rc = vae_fail(VAE_ERR_IO, "%s: %s: cannot read", file, path);
    }
cleanup:
    vae_h5_close(&type);
    vae_h5_close(&space);
    vae_h5_close(&dset);
    return rc;
}
