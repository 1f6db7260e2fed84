/* The corpus reader's access to its 1-D datasets: opening one with its type checked, reading a
 * range, reading strings, and the message that names the file and dataset. */
#include "corpus_file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int corpus_fail(const vae_corpus *c, int status, const char *what, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vae_fail(status, "%s: %s: %s", c->path, what, msg);
}

static const char *class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_INTEGER: return "integers";
    case H5T_FLOAT: return "floats";
    case H5T_STRING: return "strings";
    default: return "another type";
    }
}

void corpus_column_init(column *col)
{
    col->dset = col->space = col->str_type = H5I_INVALID_HID;
    col->len = 0;
    col->path[0] = '\0';
}

void corpus_column_close(column *col)
{
    vae_h5_close(&col->str_type);
    vae_h5_close(&col->space);
    vae_h5_close(&col->dset);
}

/* Opens the 1-D dataset at path with elements of class cls (strings: variable-length). A missing
 * one is an error unless optional (then col->dset stays invalid). */
int corpus_open_column(vae_corpus *c, const char *path, H5T_class_t cls, int optional, column *col)
{
    hid_t type = H5I_INVALID_HID;
    hsize_t dim;
    int rc = VAE_OK;
    snprintf(col->path, sizeof col->path, "%s", path);
    /* H5Lexists fails (< 0) when a group on the way is missing: that is missing too. */
    if (H5Lexists(c->file, path, H5P_DEFAULT) <= 0) {
        if (!optional)
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "missing");
        goto cleanup;
    }
    col->dset = H5Dopen2(c->file, path, H5P_DEFAULT);
    col->space = col->dset >= 0 ? H5Dget_space(col->dset) : H5I_INVALID_HID;
    type = col->dset >= 0 ? H5Dget_type(col->dset) : H5I_INVALID_HID;
    if (col->space < 0 || type < 0) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "not a readable dataset");
        goto cleanup;
    }
    if ((rc = vae_h5_check_filters(col->dset, c->path, path)) != VAE_OK)
        goto cleanup;
    if (H5Tget_class(type) != cls) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "holds %s, expected %s", class_name(H5Tget_class(type)),
                         class_name(cls));
        goto cleanup;
    }
    if (H5Sget_simple_extent_ndims(col->space) != 1) {
        rc = corpus_fail(c, VAE_ERR_FORMAT, path, "has %d dimensions, expected 1",
                         H5Sget_simple_extent_ndims(col->space));
        goto cleanup;
    }
    H5Sget_simple_extent_dims(col->space, &dim, NULL);
    col->len = (int64_t)dim;
    if (cls == H5T_STRING) {
        if (H5Tis_variable_str(type) <= 0) {
            rc = corpus_fail(c, VAE_ERR_FORMAT, path, "holds fixed-length strings, expected variable-length");
            goto cleanup;
        }
        /* HDF5 does not convert between character sets: read in the file's own. */
        col->str_type = H5Tcopy(H5T_C_S1);
        if (col->str_type < 0 || H5Tset_size(col->str_type, H5T_VARIABLE) < 0 ||
            H5Tset_cset(col->str_type, H5Tget_cset(type)) < 0)
            rc = corpus_fail(c, VAE_ERR_IO, path, "cannot make its string type");
    }
cleanup:
    vae_h5_close(&type);
    return rc;
}

/* Reads entries [first, end) of col into buf as memory type mtype: one contiguous selection,
 * which HDF5 reads fast (unions of many blocks cost it time quadratic in their number). */
int corpus_read_range(vae_corpus *c, const column *col, hid_t mtype, int64_t first, int64_t end, void *buf)
{
    hsize_t start = (hsize_t)first, count = (hsize_t)(end - first);
    hid_t mspace = H5I_INVALID_HID;
    int rc = VAE_OK;
    if (end <= first)
        return VAE_OK;
    mspace = H5Screate_simple(1, &count, NULL);
    if (mspace < 0 || H5Sselect_hyperslab(col->space, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        H5Dread(col->dset, mtype, mspace, col->space, c->dxpl, buf) < 0)
        rc = corpus_fail(c, VAE_ERR_IO, col->path, "cannot read entries %lld..%lld", (long long)first,
                         (long long)end - 1);
    vae_h5_close(&mspace);
    return rc;
}

/* Frees the n strings HDF5 allocated into buf for a string column. */
void corpus_reclaim_strings(const column *col, int64_t n, char **buf)
{
    hsize_t dim = (hsize_t)n;
    hid_t space = n > 0 ? H5Screate_simple(1, &dim, NULL) : H5I_INVALID_HID;
    if (space >= 0)
        H5Dvlen_reclaim(col->str_type, space, H5P_DEFAULT, buf);
    vae_h5_close(&space);
}

/* Reads entry i of a string column into a malloc'ed copy. */
int corpus_read_string(vae_corpus *c, const column *col, int64_t i, char **out)
{
    char *s = NULL;
    int rc = corpus_read_range(c, col, col->str_type, i, i + 1, &s);
    if (rc == VAE_OK && !(*out = strdup(s ? s : "")))
        rc = vae_fail(VAE_ERR_NOMEM, "out of memory");
    if (s)
        corpus_reclaim_strings(col, 1, &s);
    return rc;
}

int corpus_split_index(const char *name)
{
    for (int i = 0; i < VAE_NUM_SPLITS; i++)
        if (strcmp(name, vae_split_names[i]) == 0)
            return i;
    return -1;
}

/* The split called name, which must be in the file. */
int corpus_present_split(vae_corpus *c, const char *name, split **s)
{
    int i = corpus_split_index(name);
    if (i < 0)
        return vae_fail(VAE_ERR_ARG, "%s: unknown split '%s' (train, valid or test)", c->path, name);
    if (!c->splits[i].present)
        return vae_fail(VAE_ERR_ARG, "%s: the file has no split '%s'", c->path, name);
    *s = &c->splits[i];
    return VAE_OK;
}

int corpus_indptr_at(indptr_cursor *cur, int64_t pos, int64_t *value)
{
    if (pos < cur->first || pos >= cur->first + cur->n) {
        int64_t end = pos + WINDOW < cur->col->len ? pos + WINDOW : cur->col->len;
        int rc = corpus_read_range(cur->c, cur->col, H5T_NATIVE_INT64, pos, end, cur->buf);
        if (rc != VAE_OK)
            return rc;
        cur->first = pos;
        cur->n = end - pos;
    }
    *value = cur->buf[pos - cur->first];
    return VAE_OK;
}

int corpus_cursor_init(indptr_cursor *cur, vae_corpus *c, const column *col)
{
    cur->c = c;
    cur->col = col;
    cur->first = cur->n = 0;
    cur->buf = vae_malloc_array(WINDOW, sizeof *cur->buf);
    return cur->buf ? VAE_OK : VAE_ERR_NOMEM;
}
