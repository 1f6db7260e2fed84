/* The checkpoint file of SPEC.md "Checkpoint file": the format's names and rules, shared with the
 * reader (checkpoint_read.c), and the writer, which builds the file in memory, seals it
 * (checkpoint_seal.c) and puts it under its final name whole or not at all. */
#include "checkpoint_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_seal.h"
#include "corpus_internal.h"

const checkpoint_attr checkpoint_attrs[NUM_ATTRS] = {
    [A_FORMAT] = {"format", 0},        [A_VERSION] = {"version", 1},
    [A_MODEL] = {"model", 0},          [A_STEP] = {"step", 1},
    [A_EPOCH] = {"epoch", 1},          [A_STEP_IN_EPOCH] = {"step_in_epoch", 1},
    [A_OPTIM_T] = {"optim_t", 1},      [A_SEED] = {"seed", 1},
    [A_CONFIG_JSON] = {"config_json", 0}, [A_VOCAB_SIZE] = {"model_vocab_size", 1},
};

const char *const checkpoint_set_group[NUM_SETS] = {"/params", "/optimizer/m", "/optimizer/v", "/state"};

/* ---- Rules shared by the writer and the reader */

int checkpoint_rewrap(int rc, const char *path, const char *context)
{
    char inner[768];
    snprintf(inner, sizeof inner, "%s", vae_error_message());
    return vae_fail(rc, "%s: %s: %s", path, context, inner);
}

void checkpoint_setting_attr(const vae_setting_spec *setting, char *buf, size_t size)
{
    snprintf(buf, size, "model_%s", setting->key);
}

int checkpoint_is_reserved(const char *key)
{
    for (int i = 0; i < NUM_ATTRS; i++)
        if (strcmp(key, checkpoint_attrs[i].name) == 0)
            return 1;
    return strncmp(key, "model_", 6) == 0;
}

const char *checkpoint_state_problem(const vae_checkpoint_state *s, char *buf, size_t size)
{
    if (!s->config_json || !*s->config_json)
        snprintf(buf, size, "config_json is empty");
    else if (s->step < 0 || s->epoch < 0 || s->step_in_epoch < 0 || s->optim_t < 0)
        snprintf(buf, size, "step %lld, epoch %lld, step_in_epoch %lld, optim_t %lld: all must be >= 0",
                 (long long)s->step, (long long)s->epoch, (long long)s->step_in_epoch,
                 (long long)s->optim_t);
    else if (s->step_in_epoch > s->step || s->optim_t > s->step)
        snprintf(buf, size, "step_in_epoch %lld and optim_t %lld cannot exceed step %lld",
                 (long long)s->step_in_epoch, (long long)s->optim_t, (long long)s->step);
    else
        return NULL;
    return buf;
}

const char *checkpoint_layout_problem(const vae_layout *want, const vae_layout *got, char *buf, size_t size)
{
    const int n = want->num_tensors < got->num_tensors ? want->num_tensors : got->num_tensors;
    for (int t = 0; t < n; t++) {
        const vae_tensor *a = &want->tensors[t], *b = &got->tensors[t];
        if (strcmp(a->name, b->name) != 0 || a->rows != b->rows || a->cols != b->cols ||
            a->offset != b->offset || a->size != b->size) {
            snprintf(buf, size, "tensor %d is %s [%lld, %lld] at %zu, expected %s [%lld, %lld] at %zu", t,
                     b->name, (long long)b->rows, (long long)b->cols, b->offset, a->name,
                     (long long)a->rows, (long long)a->cols, a->offset);
            return buf;
        }
    }
    if (want->num_tensors == got->num_tensors && want->num_params == got->num_params)
        return NULL;
    snprintf(buf, size, "%d tensors in %zu floats, expected %d in %zu", got->num_tensors, got->num_params,
             want->num_tensors, want->num_params);
    return buf;
}

const char *checkpoint_words_problem(const char *const *words, int64_t n, char *buf, size_t size)
{
    for (int64_t i = 0; i < n; i++) {
        const char *why = words[i] ? vae_word_problem(words[i]) : "is missing";
        if (why) {
            snprintf(buf, size, "word %lld %s", (long long)i, why);
            return buf;
        }
    }
    return NULL;
}

/* v is Adam's second moment, a mean of squares: never negative. */
int checkpoint_check_values(const char *path, const vae_layout *l, const float *x, int set, int status,
                            const char *consequence)
{
    for (int t = 0; t < l->num_tensors; t++) {
        const vae_tensor *tt = &l->tensors[t];
        const float *p = x + tt->offset;
        for (size_t i = 0; i < tt->size; i++)
            if (!isfinite(p[i]) || (set == SET_V && p[i] < 0)) {
                /* Named by its flat position in the file's [rows, cols] form, as h5py would index it. */
                const size_t at = tt->transposed ? i % (size_t)tt->rows * (size_t)tt->cols + i / (size_t)tt->rows : i;
                return vae_fail(status, "%s: %s/%s[%zu] is %g: %s", path, checkpoint_set_group[set] + 1, tt->name, at,
                                (double)p[i], consequence);
            }
    }
    return VAE_OK;
}

/* Orders flat {key, value} pairs by key. */
static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}


/* ---- Writing */

/* The layouts of the sets: the parameters' for params, m and v; the state layout for state. */
typedef struct {
    vae_layout params, state;
} set_layouts;

static const vae_layout *layout_of(const set_layouts *l, int set) { return set == SET_STATE ? &l->state : &l->params; }

/* Everything the reader checks, before anything touches the disk. */
static int check_data(const char *path, const vae_checkpoint_data *d, const vae_checkpoint_state *s,
                      set_layouts *layouts)
{
    char why[512];
    int rc;
    if (!d || !s || !d->model || !d->layout || !d->params || !d->words || !d->m != !d->v)
        return vae_fail(VAE_ERR_ARG, "%s: checkpoint data needs a model, its layout, parameters, words, "
                        "and m and v both or neither", path);
    if ((rc = vae_layout_compute(d->model, &layouts->params)) != VAE_OK ||
        (rc = vae_state_layout_compute(d->model, &layouts->state)) != VAE_OK)
        return checkpoint_rewrap(rc, path, "cannot write");
    if (checkpoint_layout_problem(&layouts->params, d->layout, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: the layout does not match the model: %s", path, why);
    if (layouts->state.num_tensors > 0 && !d->state)
        return vae_fail(VAE_ERR_ARG, "%s: the %s model's running statistics are missing", path,
                        d->model->family->name);
    if (checkpoint_state_problem(s, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: cannot write: %s", path, why);
    if (checkpoint_words_problem(d->words, d->model->vocab_size, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: cannot write the vocabulary: %s", path, why);
    const float *sets[NUM_SETS] = {d->params, d->m, d->v, d->state};
    for (int set = 0; set < NUM_SETS; set++)
        if (sets[set] && (rc = checkpoint_check_values(path, layout_of(layouts, set), sets[set], set,
                                                       VAE_ERR_NUMERIC, "not written")) != VAE_OK)
            return rc;
    return VAE_OK;
}

/* The extra attributes as {key, value} pairs sorted by key (which finds a key given twice, and
 * makes the bytes of the file independent of the caller's order), none shadowing the format's. */
static int sorted_extras(const char *path, const char *const *attrs, const char ***out, int *num)
{
    const char **kv = NULL;
    int n = 0, rc = VAE_OK;
    *out = NULL;
    *num = 0;
    for (; attrs && attrs[2 * n]; n++)
        if (!attrs[2 * n + 1]) {
            rc = vae_fail(VAE_ERR_ARG, "%s: extra attribute '%s' has no value", path, attrs[2 * n]);
            goto cleanup;
        }
    if (!(kv = vae_malloc_array(2 * (size_t)n, sizeof *kv))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if (n > 0)
        memcpy(kv, attrs, 2 * (size_t)n * sizeof *kv);
    qsort(kv, (size_t)n, 2 * sizeof *kv, cmp_key);
    for (int i = 0; i < n; i++)
        if (!*kv[2 * i] || checkpoint_is_reserved(kv[2 * i]) || (i > 0 && strcmp(kv[2 * i - 2], kv[2 * i]) == 0)) {
            rc = vae_fail(VAE_ERR_ARG, "%s: extra attribute '%s' is empty, reserved or given twice", path,
                          kv[2 * i]);
            goto cleanup;
        }
    *out = kv;
    *num = n;
    kv = NULL;
cleanup:
    free(kv);
    return rc;
}

static void values_of(const vae_checkpoint_data *d, const vae_checkpoint_state *s, checkpoint_root *r)
{
    memset(r, 0, sizeof *r);
    r->str[A_FORMAT] = VAE_CHECKPOINT_FORMAT;
    r->num[A_VERSION] = VAE_CHECKPOINT_VERSION;
    r->str[A_MODEL] = d->model->family->name;
    r->num[A_STEP] = s->step;
    r->num[A_EPOCH] = s->epoch;
    r->num[A_STEP_IN_EPOCH] = s->step_in_epoch;
    r->num[A_OPTIM_T] = s->optim_t;
    /* HDF5 has no portable uint64 attribute for h5py users: the bits travel as int64. */
    memcpy(&r->num[A_SEED], &s->seed, sizeof s->seed);
    r->str[A_CONFIG_JSON] = s->config_json;
    r->num[A_VOCAB_SIZE] = d->model->vocab_size;
}

/* The family's settings as root attributes model_<key>: integers as such, the rest as text. */
static int write_settings(hid_t file, const char *path, const vae_model_config *c)
{
    int rc = VAE_OK;
    for (int i = 0; i < c->family->num_settings && rc == VAE_OK; i++) {
        const vae_setting_spec *sp = &c->family->settings[i];
        char name[64], text[256];
        checkpoint_setting_attr(sp, name, sizeof name);
        vae_model_config_text(c, i, text, sizeof text);
        rc = sp->kind == VAE_SETTING_INT ? vae_h5_attr_put_int(file, name, c->values[i].num, path)
                                         : vae_h5_attr_put_str(file, name, text, path);
    }
    return rc;
}

/* Each tensor of a set in its [rows, cols] form. */
static int write_set(hid_t file, const char *path, const vae_layout *l, int set, const float *x)
{
    int rc = VAE_OK;
    for (int t = 0; t < l->num_tensors && rc == VAE_OK; t++) {
        const vae_tensor *tt = &l->tensors[t];
        const hsize_t dims[2] = {(hsize_t)tt->rows, (hsize_t)tt->cols};
        char name[64];
        snprintf(name, sizeof name, "%s/%s", checkpoint_set_group[set], tt->name);
        if (!tt->transposed) {
            rc = vae_h5_put_floats(file, name, x + tt->offset, tt->cols ? 2 : 1, dims, path);
            continue;
        }
        float *rows = vae_calloc_array(tt->size, sizeof *rows);
        if (!rows)
            return vae_fail(VAE_ERR_NOMEM, "%s: out of memory writing %s", path, name);
        vae_tensor_to_rows(tt, x, rows);
        rc = vae_h5_put_floats(file, name, rows, 2, dims, path);
        free(rows);
    }
    return rc;
}

static int write_contents(hid_t file, const char *path, const vae_checkpoint_data *d,
                          const vae_checkpoint_state *s, const set_layouts *l, const char *const *kv,
                          int num_kv)
{
    checkpoint_root r;
    const float *const sets[NUM_SETS] = {d->params, d->m, d->v, d->state};
    const int64_t V = d->model->vocab_size;
    int rc = VAE_OK;
    values_of(d, s, &r);
    for (int i = 0; i < NUM_ATTRS && rc == VAE_OK; i++)
        rc = checkpoint_attrs[i].is_int ? vae_h5_attr_put_int(file, checkpoint_attrs[i].name, r.num[i], path)
                                        : vae_h5_attr_put_str(file, checkpoint_attrs[i].name, r.str[i], path);
    if (rc == VAE_OK)
        rc = write_settings(file, path, d->model);
    for (int i = 0; i < num_kv && rc == VAE_OK; i++)
        rc = vae_h5_attr_put_str(file, kv[2 * i], kv[2 * i + 1], path);
    if (rc == VAE_OK)
        rc = vae_h5_put_strings(file, "/vocab/words", d->words, (hsize_t)V, path);
    for (int set = 0; set < NUM_SETS && rc == VAE_OK; set++)
        if (sets[set] && layout_of(l, set)->num_tensors > 0)
            rc = write_set(file, path, layout_of(l, set), set, sets[set]);
    return rc;
}

/* The core driver grows its buffer by this much: a guess at the whole file keeps that to one or two
 * allocations rather than a copy of the file per megabyte. */
static size_t image_increment(const vae_checkpoint_data *d, const set_layouts *l)
{
    size_t bytes = ((size_t)1 << 20) + (l->params.num_params * (d->m ? 3 : 1) + l->state.num_params) * sizeof(float);
    for (int64_t i = 0; i < d->model->vocab_size; i++)
        bytes += strlen(d->words[i]) + 32;
    return bytes;
}

/* The file built in memory by HDF5's core driver. HDF5 never meets the disk, so a full disk cannot
 * leave it holding objects whose close failed (it keeps them open, and may crash at exit), and the
 * image is sealed before a byte is written. Costs a second copy of the file in memory meanwhile. */
static int build_image(const char *name, const char *path, const vae_checkpoint_data *d,
                       const vae_checkpoint_state *s, const set_layouts *l, const char *const *kv,
                       int num_kv, unsigned char **image, size_t *size)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t file = H5I_INVALID_HID;
    ssize_t n = -1;
    int rc = VAE_OK;
    *image = NULL;
    vae_h5_quiet();
    /* Modification times are left out, so that the same content gives the same bytes. */
    if (fapl < 0 || fcpl < 0 || H5Pset_fapl_core(fapl, image_increment(d, l), 0) < 0 ||
        H5Pset_userblock(fcpl, CHECKPOINT_SEAL_SIZE) < 0 || H5Pset_obj_track_times(fcpl, 0) < 0 ||
        (file = H5Fcreate(name, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
        rc = vae_fail(VAE_ERR_NOMEM, "%s: HDF5 cannot create the file in memory", path);
        goto cleanup;
    }
    if ((rc = write_contents(file, path, d, s, l, kv, num_kv)) != VAE_OK)
        goto cleanup;
    /* The image that HDF5 hands over starts after the user block. */
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0 || (n = H5Fget_file_image(file, NULL, 0)) <= 0 ||
        !(*image = vae_calloc_array((size_t)n + CHECKPOINT_SEAL_SIZE, 1)) ||
        H5Fget_file_image(file, *image + CHECKPOINT_SEAL_SIZE, (size_t)n) != n) {
        vae_free_ptr(image);
        rc = vae_fail(VAE_ERR_NOMEM, "%s: HDF5 cannot hand over the file it built in memory", path);
        goto cleanup;
    }
    *size = (size_t)n + CHECKPOINT_SEAL_SIZE;
cleanup:
    vae_h5_close(&file);
    vae_h5_close(&fcpl);
    vae_h5_close(&fapl);
    return rc;
}

static int write_file(const char *tmp, const char *path, const unsigned char *image, size_t size)
{
    size_t done = 0;
    int rc = VAE_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = vae_fail(VAE_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        goto cleanup;
    }
    while (done < size) {
        const ssize_t n = write(fd, image + done, size - done);
        if (n < 0 && errno != EINTR) {
            rc = vae_fail(VAE_ERR_IO, "%s: writing %s: %s", path, tmp, strerror(errno));
            goto cleanup;
        }
        done += n > 0 ? (size_t)n : 0;
    }
cleanup:
    if (fd >= 0 && close(fd) != 0 && rc == VAE_OK)
        rc = vae_fail(VAE_ERR_IO, "%s: writing %s: %s", path, tmp, strerror(errno));
    return rc;
}

int vae_checkpoint_write(const char *path, const vae_checkpoint_data *d, const vae_checkpoint_state *s)
{
    set_layouts layouts;
    const char **kv = NULL;
    int num_kv = 0;
    char *tmp = NULL;
    unsigned char *image = NULL;
    size_t image_size = 0;
    int rc = check_data(path, d, s, &layouts);
    if (rc == VAE_OK)
        rc = sorted_extras(path, d->attrs, &kv, &num_kv);
    if (rc != VAE_OK)
        goto cleanup;
    const size_t size = strlen(path) + 32;
    if (!(tmp = vae_malloc_array(size, 1))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid());
    if ((rc = build_image(tmp, path, d, s, &layouts, kv, num_kv, &image, &image_size)) != VAE_OK)
        goto cleanup;
    checkpoint_seal_image(image, image_size);
    if ((rc = write_file(tmp, path, image, image_size)) != VAE_OK)
        goto cleanup;
    rc = vae_publish_file(tmp, path);
cleanup:
    if (rc != VAE_OK && tmp)
        unlink(tmp);
    free(image);
    free(tmp);
    free(kv);
    return rc;
}
