/* The encode output file (see embeddings_write.h): datasets created whole at the start, rows
 * written as hyperslabs as their blocks arrive, the file published by rename once complete. */
#include "embeddings_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "vae/common.h"

/* Elements per chunk: big enough for deflate to pay, small enough to write a block at a time. */
#define CHUNK_ELEMS 65536

struct vae_embeddings_writer {
    char *path, *tmp;
    hid_t file, mu, logvar, theta, doc_ids, str_type;
    int64_t rows;
    int latent, committed;
};

/* Dataset name of rank 2 (cols > 0) or 1 (cols = 0) and rows elements along the first axis;
 * chunked and compressed unless empty. */
static int create_dataset(vae_embeddings_writer *w, const char *name, hid_t type, int64_t cols, hid_t *dset)
{
    const int rank = cols ? 2 : 1;
    const hsize_t dims[2] = {(hsize_t)w->rows, (hsize_t)cols};
    const hsize_t per_row = cols ? (hsize_t)cols : 1, chunk_rows = CHUNK_ELEMS / per_row ? CHUNK_ELEMS / per_row : 1;
    const hsize_t chunk[2] = {dims[0] < chunk_rows ? dims[0] : chunk_rows, dims[1]};
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = vae_h5_dcpl(rank, dims[0] ? chunk : NULL, 0);
    int rc = VAE_OK;
    if (space >= 0 && dcpl >= 0)
        *dset = H5Dcreate2(w->file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (*dset < 0)
        rc = vae_fail(VAE_ERR_IO, "%s: cannot create dataset %s in %s: %s", w->path, name, w->tmp, vae_h5_why());
    vae_h5_close(&dcpl);
    vae_h5_close(&space);
    return rc;
}

int vae_embeddings_writer_new(vae_embeddings_writer **out, const char *path, int64_t rows, int latent,
                              int with_theta, int with_doc_ids)
{
    *out = NULL;
    int rc = VAE_OK;
    vae_embeddings_writer *w = calloc(1, sizeof *w);
    if (!w)
        return vae_fail(VAE_ERR_NOMEM, "%s: out of memory", path);
    w->file = w->mu = w->logvar = w->theta = w->doc_ids = w->str_type = H5I_INVALID_HID;
    w->rows = rows;
    w->latent = latent;
    const size_t tmp_size = strlen(path) + 32;
    if (!(w->path = strdup(path)) || !(w->tmp = malloc(tmp_size))) {
        rc = vae_fail(VAE_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    vae_temp_path(path, w->tmp, tmp_size);
    if ((rc = vae_h5_create(w->tmp, &w->file)) != VAE_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vae_error_message());
        rc = vae_fail(rc, "%s: %s", path, why);
        goto cleanup;
    }
    if ((rc = create_dataset(w, "mu", H5T_IEEE_F32LE, latent, &w->mu)) != VAE_OK ||
        (rc = create_dataset(w, "logvar", H5T_IEEE_F32LE, latent, &w->logvar)) != VAE_OK ||
        (with_theta && (rc = create_dataset(w, "theta", H5T_IEEE_F32LE, latent, &w->theta)) != VAE_OK))
        goto cleanup;
    if (with_doc_ids) {
        if ((w->str_type = vae_h5_str_type()) < 0) {
            rc = vae_fail(VAE_ERR_IO, "%s: cannot make a string type", path);
            goto cleanup;
        }
        if ((rc = create_dataset(w, "doc_ids", w->str_type, 0, &w->doc_ids)) != VAE_OK)
            goto cleanup;
    }
    *out = w;
    w = NULL;
cleanup:
    vae_embeddings_writer_free(w);
    return rc;
}

/* Rows [first, first + n) of dset from data (memory type mtype, cols values a row; 0 for 1-D). */
static int put_rows(vae_embeddings_writer *w, hid_t dset, hid_t mtype, int64_t first, int64_t n, int64_t cols,
                    const void *data, const char *name)
{
    const int rank = cols ? 2 : 1;
    const hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, (hsize_t)cols};
    hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(rank, count, NULL);
    int rc = VAE_OK;
    if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(dset, mtype, mspace, fspace, H5P_DEFAULT, data) < 0)
        rc = vae_fail(VAE_ERR_IO, "%s: cannot write rows %lld to %lld of %s in %s: %s", w->path, (long long)first,
                      (long long)(first + n - 1), name, w->tmp, vae_h5_why());
    vae_h5_close(&mspace);
    vae_h5_close(&fspace);
    return rc;
}

int vae_embeddings_writer_put(vae_embeddings_writer *w, int64_t first, int64_t n, const float *mu,
                              const float *logvar, const float *theta, const char *const *doc_ids)
{
    if (first < 0 || n < 0 || first > w->rows - n)
        return vae_fail(VAE_ERR_ARG, "%s: rows %lld to %lld are outside [0, %lld)", w->path, (long long)first,
                        (long long)(first + n - 1), (long long)w->rows);
    if (n == 0)
        return VAE_OK;
    int rc = put_rows(w, w->mu, H5T_NATIVE_FLOAT, first, n, w->latent, mu, "/mu");
    if (rc == VAE_OK)
        rc = put_rows(w, w->logvar, H5T_NATIVE_FLOAT, first, n, w->latent, logvar, "/logvar");
    if (rc == VAE_OK && w->theta >= 0)
        rc = put_rows(w, w->theta, H5T_NATIVE_FLOAT, first, n, w->latent, theta, "/theta");
    if (rc == VAE_OK && w->doc_ids >= 0)
        rc = put_rows(w, w->doc_ids, w->str_type, first, n, 0, doc_ids, "/doc_ids");
    return rc;
}

int vae_embeddings_writer_commit(vae_embeddings_writer *w)
{
    int rc = vae_h5_flush(w->file, w->path, w->tmp);
    if (rc != VAE_OK)
        return rc;
    vae_h5_close(&w->mu);
    vae_h5_close(&w->logvar);
    vae_h5_close(&w->theta);
    vae_h5_close(&w->doc_ids);
    const herr_t closed = H5Fclose(w->file);
    w->file = H5I_INVALID_HID;
    if (closed < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot finish writing %s: %s", w->path, w->tmp, vae_h5_why());
    rc = vae_publish_file(w->tmp, w->path);
    w->committed = rc == VAE_OK;
    return rc;
}

void vae_embeddings_writer_free(vae_embeddings_writer *w)
{
    if (!w)
        return;
    vae_h5_close(&w->mu);
    vae_h5_close(&w->logvar);
    vae_h5_close(&w->theta);
    vae_h5_close(&w->doc_ids);
    vae_h5_close(&w->str_type);
    vae_h5_close(&w->file);
    if (w->tmp && !w->committed)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}
