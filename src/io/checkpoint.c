/* The checkpoint file of SPEC.md "Checkpoint file": written whole or not at all, sealed with a
 * checksum of the whole file, and read back only once the seal and every rule of the format hold. */
#include "vae/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus_internal.h"
#include "h5util.h"

/* Root attributes of the format (any other root attribute is an extra string attribute). */
enum {
    A_FORMAT,
    A_VERSION,
    A_STEP,
    A_EPOCH,
    A_STEP_IN_EPOCH,
    A_OPTIM_T,
    A_SEED,
    A_CONFIG_JSON,
    A_VOCAB_SIZE,
    A_LATENT,
    A_ENC_HIDDEN,
    A_DEC_HIDDEN,
    A_ACTIVATION,
    A_INPUT,
    NUM_ATTRS
};

static const struct {
    const char *name;
    int is_int;
} root_attrs[NUM_ATTRS] = {
    {"format", 0},           {"version", 1},          {"step", 1},
    {"epoch", 1},            {"step_in_epoch", 1},    {"optim_t", 1},
    {"seed", 1},             {"config_json", 0},      {"model_vocab_size", 1},
    {"model_latent", 1},     {"model_encoder_hidden", 0}, {"model_decoder_hidden", 0},
    {"model_activation", 0}, {"model_input_transform", 0},
};

/* The value of each root attribute: num[] for integers, str[] for strings. */
typedef struct {
    int64_t num[NUM_ATTRS];
    const char *str[NUM_ATTRS];
} root_values;

/* Tensor sets, by the group that holds each. */
enum { SET_PARAMS, SET_M, SET_V, NUM_SETS };
static const char *const set_group[NUM_SETS] = {"/params", "/optimizer/m", "/optimizer/v"};

struct vae_checkpoint {
    char *path;
    char *owned[NUM_ATTRS]; /* the string attributes */
    vae_checkpoint_state state;
    vae_model_config model;
    vae_layout layout;
    float *sets[NUM_SETS]; /* in layout's buffer form; m and v NULL without moments */
    int64_t num_words;
    char **words;          /* pointers into word_chars */
    char *word_chars;
    int num_attrs;
    char **attrs;          /* extra attributes: key, value, ... */
};

/* ---- The seal (see checkpoint.h): checked before HDF5 parses a byte, because HDF5 checksums
 * neither raw data nor its global heap, and crashes on some damaged heaps. */

#define SEAL_SIZE 512
#define SEAL_FORMAT "vae-checkpoint seal\nsize %llu\ncrc32 %lu\n"

/* CRC-32 with its table in the accumulator (1 KiB, built in microseconds), so that nothing shared
 * needs initialising across threads. */
typedef struct {
    uint32_t table[256];
    uint32_t crc;
} crc32_acc;

static void crc_init(crc32_acc *a)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t t = i;
        for (int k = 0; k < 8; k++)
            t = t & 1 ? 0xEDB88320u ^ (t >> 1) : t >> 1;
        a->table[i] = t;
    }
    a->crc = 0xFFFFFFFFu;
}

static void crc_bytes(crc32_acc *a, const unsigned char *p, size_t n)
{
    uint32_t c = a->crc;
    for (size_t i = 0; i < n; i++)
        c = a->table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    a->crc = c;
}

static unsigned long crc_value(const crc32_acc *a) { return a->crc ^ 0xFFFFFFFFu; }

static void seal_text(unsigned long long size, unsigned long crc, char text[SEAL_SIZE])
{
    memset(text, 0, SEAL_SIZE);
    snprintf(text, SEAL_SIZE, SEAL_FORMAT, size, crc);
}

/* The CRC-32 of fp's bytes after the seal and the size of the whole file, or an errno value. */
static int crc_after_seal(FILE *fp, unsigned long long *size, unsigned long *crc)
{
    const size_t chunk = (size_t)1 << 16;
    crc32_acc a;
    unsigned char *buf = NULL;
    size_t n;
    int err = 0;
    *size = SEAL_SIZE;
    *crc = 0;
    crc_init(&a);
    if (!(buf = malloc(chunk)) || fseek(fp, SEAL_SIZE, SEEK_SET) != 0) {
        err = buf ? errno : ENOMEM;
        goto cleanup;
    }
    while ((n = fread(buf, 1, chunk, fp)) > 0) {
        crc_bytes(&a, buf, n);
        *size += n;
    }
    if (ferror(fp))
        err = errno ? errno : EIO;
    *crc = crc_value(&a);
cleanup:
    free(buf);
    return err;
}

static void seal_image(unsigned char *image, size_t size)
{
    crc32_acc a;
    crc_init(&a);
    crc_bytes(&a, image + SEAL_SIZE, size - SEAL_SIZE);
    seal_text(size, crc_value(&a), (char *)image);
}

/* Whether path is a whole, unaltered checkpoint file, before HDF5 parses it; *file_size is its size. */
static int check_seal(const char *path, unsigned long long *file_size)
{
    static const char hdf5_signature[8] = "\211HDF\r\n\032\n";
    char head[SEAL_SIZE], want[SEAL_SIZE];
    unsigned long long size = 0, actual;
    unsigned long crc = 0, actual_crc;
    int rc = VAE_OK, err;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rc = vae_fail(VAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    const size_t got = fread(head, 1, SEAL_SIZE, fp);
    if (got >= sizeof hdf5_signature && memcmp(head, hdf5_signature, sizeof hdf5_signature) == 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: an HDF5 file without the checkpoint seal: not a vae-checkpoint file", path);
        goto cleanup;
    }
    if (got < SEAL_SIZE || strncmp(head, SEAL_FORMAT, 20) != 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: not a vae-checkpoint file (it does not begin with the checkpoint "
                      "seal), or cut short", path);
        goto cleanup;
    }
    /* Parsed, then written again: any byte of the block that differs from its one form is damage. */
    if (!memchr(head, 0, SEAL_SIZE) || sscanf(head, SEAL_FORMAT, &size, &crc) != 2 ||
        (seal_text(size, crc, want), memcmp(head, want, SEAL_SIZE) != 0)) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: the checkpoint seal (the first %d bytes) is damaged", path, SEAL_SIZE);
        goto cleanup;
    }
    if ((err = crc_after_seal(fp, &actual, &actual_crc)) != 0)
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read: %s", path, strerror(err));
    else if (actual != size)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %llu bytes where the seal says %llu: the file was cut short or "
                      "damaged", path, actual, size);
    else if (actual_crc != crc)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: the bytes do not match the seal's crc32 (%lu, the seal says %lu): "
                      "the file is damaged or was altered", path, actual_crc, crc);
    else
        *file_size = actual;
cleanup:
    if (fp)
        fclose(fp);
    return rc;
}

/* ---- Rules shared by the writer and the reader, so the writer refuses what the reader would. */

/* Prefixes the message a callee recorded with path and what was being done. */
static int rewrap(int rc, const char *path, const char *context)
{
    char inner[768];
    snprintf(inner, sizeof inner, "%s", vae_error_message());
    return vae_fail(rc, "%s: %s: %s", path, context, inner);
}

static int is_reserved(const char *key)
{
    for (int i = 0; i < NUM_ATTRS; i++)
        if (strcmp(key, root_attrs[i].name) == 0)
            return 1;
    return 0;
}

/* What is wrong with a training position (in buf), or NULL when a run could have reached it. */
static const char *state_problem(const vae_checkpoint_state *s, char *buf, size_t size)
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

/* Where layout got differs from want (in buf), or NULL. */
static const char *layout_problem(const vae_layout *want, const vae_layout *got, char *buf, size_t size)
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

static const char *words_problem(const char *const *words, int64_t n, char *buf, size_t size)
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

/* Refuses the first non-finite value of a set, and for v a negative one: Adam's second moment is a
 * mean of squares. */
static int check_values(const char *path, const vae_layout *l, const float *x, int set, int status,
                        const char *consequence)
{
    for (int t = 0; t < l->num_tensors; t++) {
        const vae_tensor *tt = &l->tensors[t];
        const float *p = x + tt->offset;
        for (size_t i = 0; i < tt->size; i++)
            if (!isfinite(p[i]) || (set == SET_V && p[i] < 0)) {
                /* Named by its flat position in the file's [rows, cols] form, as h5py would index it. */
                const size_t at = tt->transposed ? i % (size_t)tt->rows * (size_t)tt->cols + i / (size_t)tt->rows : i;
                return vae_fail(status, "%s: %s/%s[%zu] is %g: %s", path, set_group[set] + 1, tt->name, at,
                                (double)p[i], consequence);
            }
    }
    return VAE_OK;
}

/* "128,64" ("" for none), the form of --encoder-hidden. */
static void format_sizes(const int *sizes, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, i ? ",%d" : "%d", sizes[i]);
}

/* The inverse of format_sizes: -1 for anything else (spaces, signs, empty items, too many). The
 * sizes themselves are for vae_layout_compute to judge. */
static int parse_sizes(const char *s, int *sizes, int *n)
{
    *n = 0;
    while (*s) {
        const char *start = s;
        long v = 0;
        while (*s >= '0' && *s <= '9' && v <= INT_MAX / 10)
            v = 10 * v + (*s++ - '0');
        if (s == start || v > INT_MAX || *n == VAE_MAX_HIDDEN || (*s && (*s != ',' || !s[1])))
            return -1;
        sizes[(*n)++] = (int)v;
        s += *s == ',';
    }
    return 0;
}

static int lookup(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* Orders flat {key, value} pairs by key. */
static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "[3, 4]" */
static const char *format_shape(int rank, const hsize_t *dims, char *buf, size_t size)
{
    if (rank == 1)
        snprintf(buf, size, "[%llu]", (unsigned long long)dims[0]);
    else
        snprintf(buf, size, "[%llu, %llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
    return buf;
}

/* ---- Writing */

/* Everything the reader checks, before anything touches the disk. */
static int check_data(const char *path, const vae_checkpoint_data *d, const vae_checkpoint_state *s,
                      vae_layout *layout)
{
    char why[512];
    int rc;
    if (!d || !s || !d->model || !d->layout || !d->params || !d->words || !d->m != !d->v)
        return vae_fail(VAE_ERR_ARG, "%s: checkpoint data needs a model, its layout, parameters, words, "
                        "and m and v both or neither", path);
    if ((rc = vae_layout_compute(d->model, layout)) != VAE_OK)
        return rewrap(rc, path, "cannot write");
    if (layout_problem(layout, d->layout, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: the layout does not match the model: %s", path, why);
    if (state_problem(s, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: cannot write: %s", path, why);
    if (words_problem(d->words, d->model->vocab_size, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: cannot write the vocabulary: %s", path, why);
    const float *sets[NUM_SETS] = {d->params, d->m, d->v};
    for (int set = 0; set < NUM_SETS; set++)
        if (sets[set] && (rc = check_values(path, layout, sets[set], set, VAE_ERR_NUMERIC,
                                            "not written")) != VAE_OK)
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
        if (!*kv[2 * i] || is_reserved(kv[2 * i]) || (i > 0 && strcmp(kv[2 * i - 2], kv[2 * i]) == 0)) {
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

static void values_of(const vae_checkpoint_data *d, const vae_checkpoint_state *s, char *enc, char *dec,
                      size_t size, root_values *r)
{
    const vae_model_config *m = d->model;
    memset(r, 0, sizeof *r);
    format_sizes(m->enc_hidden, m->num_enc, enc, size);
    format_sizes(m->dec_hidden, m->num_dec, dec, size);
    r->str[A_FORMAT] = VAE_CHECKPOINT_FORMAT;
    r->num[A_VERSION] = VAE_CHECKPOINT_VERSION;
    r->num[A_STEP] = s->step;
    r->num[A_EPOCH] = s->epoch;
    r->num[A_STEP_IN_EPOCH] = s->step_in_epoch;
    r->num[A_OPTIM_T] = s->optim_t;
    /* HDF5 has no portable uint64 attribute for h5py users: the bits travel as int64. */
    memcpy(&r->num[A_SEED], &s->seed, sizeof s->seed);
    r->str[A_CONFIG_JSON] = s->config_json;
    r->num[A_VOCAB_SIZE] = m->vocab_size;
    r->num[A_LATENT] = m->latent;
    r->str[A_ENC_HIDDEN] = enc;
    r->str[A_DEC_HIDDEN] = dec;
    r->str[A_ACTIVATION] = vae_activation_names[m->activation];
    r->str[A_INPUT] = vae_input_transform_names[m->input];
}

static int write_contents(hid_t file, const char *path, const vae_checkpoint_data *d,
                          const vae_checkpoint_state *s, const vae_layout *l, const char *const *kv,
                          int num_kv)
{
    char enc[VAE_MAX_HIDDEN * 12], dec[VAE_MAX_HIDDEN * 12];
    root_values r;
    const float *const sets[NUM_SETS] = {d->params, d->m, d->v};
    const int64_t V = d->model->vocab_size;
    int rc = VAE_OK;
    values_of(d, s, enc, dec, sizeof enc, &r);
    for (int i = 0; i < NUM_ATTRS && rc == VAE_OK; i++)
        rc = root_attrs[i].is_int ? vae_h5_attr_put_int(file, root_attrs[i].name, r.num[i], path)
                                  : vae_h5_attr_put_str(file, root_attrs[i].name, r.str[i], path);
    for (int i = 0; i < num_kv && rc == VAE_OK; i++)
        rc = vae_h5_attr_put_str(file, kv[2 * i], kv[2 * i + 1], path);
    if (rc == VAE_OK)
        rc = vae_h5_put_strings(file, "/vocab/words", d->words, (hsize_t)V, path);
    for (int set = 0; set < NUM_SETS && rc == VAE_OK; set++)
        for (int t = 0; sets[set] && t < l->num_tensors && rc == VAE_OK; t++) {
            const vae_tensor *tt = &l->tensors[t];
            const hsize_t dims[2] = {(hsize_t)tt->rows, (hsize_t)tt->cols};
            char name[64];
            snprintf(name, sizeof name, "%s/%s", set_group[set], tt->name);
            if (!tt->transposed) {
                rc = vae_h5_put_floats(file, name, sets[set] + tt->offset, tt->cols ? 2 : 1, dims, path);
                continue;
            }
            float *rows = vae_calloc_array(tt->size, sizeof *rows);
            if (!rows)
                return vae_fail(VAE_ERR_NOMEM, "%s: out of memory writing %s", path, name);
            vae_tensor_to_rows(tt, sets[set], rows);
            rc = vae_h5_put_floats(file, name, rows, 2, dims, path);
            free(rows);
        }
    return rc;
}

/* The core driver grows its buffer by this much: a guess at the whole file keeps that to one or two
 * allocations rather than a copy of the file per megabyte. */
static size_t image_increment(const vae_checkpoint_data *d, const vae_layout *l)
{
    size_t bytes = ((size_t)1 << 20) + l->num_params * sizeof(float) * (d->m ? 3 : 1);
    for (int64_t i = 0; i < d->model->vocab_size; i++)
        bytes += strlen(d->words[i]) + 32;
    return bytes;
}

/* The file built in memory by HDF5's core driver. HDF5 never meets the disk, so a full disk cannot
 * leave it holding objects whose close failed (it keeps them open, and may crash at exit), and the
 * image is sealed before a byte is written. Costs a second copy of the file in memory meanwhile. */
static int build_image(const char *name, const char *path, const vae_checkpoint_data *d,
                       const vae_checkpoint_state *s, const vae_layout *l, const char *const *kv,
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
        H5Pset_userblock(fcpl, SEAL_SIZE) < 0 || H5Pset_obj_track_times(fcpl, 0) < 0 ||
        (file = H5Fcreate(name, H5F_ACC_TRUNC, fcpl, fapl)) < 0) {
        rc = vae_fail(VAE_ERR_NOMEM, "%s: HDF5 cannot create the file in memory", path);
        goto cleanup;
    }
    if ((rc = write_contents(file, path, d, s, l, kv, num_kv)) != VAE_OK)
        goto cleanup;
    /* The image that HDF5 hands over starts after the user block. */
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0 || (n = H5Fget_file_image(file, NULL, 0)) <= 0 ||
        !(*image = vae_calloc_array((size_t)n + SEAL_SIZE, 1)) ||
        H5Fget_file_image(file, *image + SEAL_SIZE, (size_t)n) != n) {
        vae_free_ptr(image);
        rc = vae_fail(VAE_ERR_NOMEM, "%s: HDF5 cannot hand over the file it built in memory", path);
        goto cleanup;
    }
    *size = (size_t)n + SEAL_SIZE;
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
    vae_layout layout;
    const char **kv = NULL;
    int num_kv = 0;
    char *tmp = NULL;
    unsigned char *image = NULL;
    size_t image_size = 0;
    int rc = check_data(path, d, s, &layout);
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
    if ((rc = build_image(tmp, path, d, s, &layout, kv, num_kv, &image, &image_size)) != VAE_OK)
        goto cleanup;
    seal_image(image, image_size);
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

/* ---- Reading */

static int read_root(vae_checkpoint *c, hid_t file, root_values *r)
{
    int rc = VAE_OK;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < NUM_ATTRS && rc == VAE_OK; i++) {
        const char *name = root_attrs[i].name;
        if (root_attrs[i].is_int) {
            rc = vae_h5_attr_get_int(file, name, &r->num[i], c->path);
        } else {
            rc = vae_h5_attr_get_str(file, name, &c->owned[i], c->path);
            r->str[i] = c->owned[i];
        }
        /* Another kind of file (a corpus, say) is named as such, not by the attributes it lacks. */
        if (rc == VAE_OK && i == A_FORMAT && strcmp(r->str[i], VAE_CHECKPOINT_FORMAT) != 0)
            rc = vae_fail(VAE_ERR_FORMAT, "%s: root attribute 'format' is '%s', not '%s'", c->path,
                          r->str[i], VAE_CHECKPOINT_FORMAT);
        if (rc == VAE_OK && i == A_VERSION && r->num[i] != VAE_CHECKPOINT_VERSION)
            rc = vae_fail(VAE_ERR_FORMAT, "%s: root attribute 'version' is %lld; this program reads version %d",
                          c->path, (long long)r->num[i], VAE_CHECKPOINT_VERSION);
    }
    if (rc != VAE_OK)
        return rc;
    c->state.step = r->num[A_STEP];
    c->state.epoch = r->num[A_EPOCH];
    c->state.step_in_epoch = r->num[A_STEP_IN_EPOCH];
    c->state.optim_t = r->num[A_OPTIM_T];
    memcpy(&c->state.seed, &r->num[A_SEED], sizeof c->state.seed);
    c->state.config_json = c->owned[A_CONFIG_JSON];
    return VAE_OK;
}

typedef struct {
    vae_checkpoint *c;
    int rc;
} extras_walk;

static herr_t collect_extra(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    extras_walk *w = op;
    vae_checkpoint *c = w->c;
    if (is_reserved(name))
        return 0;
    char **grown = realloc(c->attrs, 2 * ((size_t)c->num_attrs + 1) * sizeof *grown);
    if (grown)
        c->attrs = grown;
    char *key = grown ? strdup(name) : NULL;
    if (!key) {
        w->rc = vae_fail(VAE_ERR_NOMEM, "%s: out of memory listing attributes", c->path);
        return -1;
    }
    c->attrs[2 * c->num_attrs] = key;
    c->attrs[2 * c->num_attrs + 1] = NULL;
    c->num_attrs++;
    return 0;
}

/* Every root attribute that the format does not name is an extra string attribute. */
static int read_extras(vae_checkpoint *c, hid_t file)
{
    extras_walk w = {c, VAE_OK};
    if (H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_extra, &w) < 0)
        return w.rc != VAE_OK ? w.rc : vae_fail(VAE_ERR_FORMAT, "%s: cannot list the root attributes", c->path);
    int rc = VAE_OK;
    for (int i = 0; i < c->num_attrs && rc == VAE_OK; i++)
        rc = vae_h5_attr_get_str(file, c->attrs[2 * i], &c->attrs[2 * i + 1], c->path);
    return rc;
}

static int model_from(vae_checkpoint *c, const root_values *r)
{
    vae_model_config *m = &c->model;
    int bad = -1;
    memset(m, 0, sizeof *m);
    m->vocab_size = r->num[A_VOCAB_SIZE];
    const int act = lookup(vae_activation_names, r->str[A_ACTIVATION]);
    const int input = lookup(vae_input_transform_names, r->str[A_INPUT]);
    if (parse_sizes(r->str[A_ENC_HIDDEN], m->enc_hidden, &m->num_enc) != 0)
        bad = A_ENC_HIDDEN;
    else if (parse_sizes(r->str[A_DEC_HIDDEN], m->dec_hidden, &m->num_dec) != 0)
        bad = A_DEC_HIDDEN;
    else if (act < 0)
        bad = A_ACTIVATION;
    else if (input < 0)
        bad = A_INPUT;
    if (bad >= 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: root attribute '%s' is '%s', which describes no model", c->path,
                        root_attrs[bad].name, r->str[bad]);
    if (r->num[A_LATENT] < 1 || r->num[A_LATENT] > INT_MAX)
        return vae_fail(VAE_ERR_FORMAT, "%s: root attribute 'model_latent' is %lld, which describes no model",
                        c->path, (long long)r->num[A_LATENT]);
    m->latent = (int)r->num[A_LATENT];
    m->activation = (vae_activation)act;
    m->input = (vae_input_transform)input;
    int rc = vae_layout_compute(m, &c->layout);
    return rc == VAE_OK ? VAE_OK : rewrap(VAE_ERR_FORMAT, c->path, "root attributes model_* describe no model");
}

/* Parameters are stored contiguous and uncompressed (vae_h5_put_floats), so a file of size bytes
 * holds at most size / 4 of them: a model described as larger is refused before anything is
 * allocated for it (a few edited attributes could otherwise ask for terabytes). */
static int check_model_size(const vae_checkpoint *c, unsigned long long size)
{
    if (c->layout.num_params <= size / sizeof(float))
        return VAE_OK;
    return vae_fail(VAE_ERR_FORMAT, "%s: root attributes model_* describe %zu parameters, more than a file of "
                    "%llu bytes holds", c->path, c->layout.num_params, size);
}

/* /vocab/words: a 1-D variable-length string dataset of model_vocab_size entries, copied into one
 * block so that HDF5's allocations are given back at once. */
static int read_words(vae_checkpoint *c, hid_t file)
{
    static const char *const name = "/vocab/words";
    hid_t dset = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t mtype = H5I_INVALID_HID;
    char **raw = NULL;
    int rc = VAE_OK;
    if (H5Lexists(file, "/vocab", H5P_DEFAULT) <= 0 || H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s: no such dataset", c->path, name);
        goto cleanup;
    }
    dset = H5Dopen2(file, name, H5P_DEFAULT);
    type = dset >= 0 ? H5Dget_type(dset) : H5I_INVALID_HID;
    space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    if (type < 0 || space < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0 ||
        H5Sget_simple_extent_ndims(space) != 1) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s is not a 1-D dataset of variable-length strings", c->path, name);
        goto cleanup;
    }
    const int64_t n = (int64_t)H5Sget_simple_extent_npoints(space);
    if (n != c->model.vocab_size) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s holds %lld words, model_vocab_size is %lld", c->path, name,
                      (long long)n, (long long)c->model.vocab_size);
        goto cleanup;
    }
    mtype = H5Tcopy(H5T_C_S1);
    if (!(raw = vae_calloc_array((size_t)n, sizeof *raw))) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Tset_cset(mtype, H5Tget_cset(type)) < 0 ||
        H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        rc = vae_fail(VAE_ERR_FORMAT, "%s: %s: cannot read", c->path, name);
        goto cleanup;
    }
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
        total += (raw[i] ? strlen(raw[i]) : 0) + 1;
    c->words = vae_malloc_array((size_t)n, sizeof *c->words);
    c->word_chars = vae_malloc_array(total, 1);
    if (!c->words || !c->word_chars) {
        rc = VAE_ERR_NOMEM;
        goto cleanup;
    }
    char *p = c->word_chars;
    for (int64_t i = 0; i < n; i++) {
        const size_t len = raw[i] ? strlen(raw[i]) : 0;
        c->words[i] = p;
        memcpy(p, raw[i] ? raw[i] : "", len + 1);
        p += len + 1;
    }
    c->num_words = n;
cleanup:
    if (raw && mtype >= 0 && space >= 0)
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
    free(raw);
    vae_h5_close(&mtype);
    vae_h5_close(&space);
    vae_h5_close(&type);
    vae_h5_close(&dset);
    return rc;
}

/* The first member of group that is none of names: with every tensor already found, one more means
 * another architecture or a damaged file. */
static int check_members(hid_t file, const char *group, const char *const *names, int n, const char *path)
{
    H5G_info_t info;
    if (H5Gget_info_by_name(file, group, &info, H5P_DEFAULT) < 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: %s: cannot list the group", path, group);
    for (hsize_t k = 0; k < info.nlinks; k++) {
        char member[64];
        const ssize_t len = H5Lget_name_by_idx(file, group, H5_INDEX_NAME, H5_ITER_INC, k, member,
                                               sizeof member, H5P_DEFAULT);
        if (len < 0)
            return vae_fail(VAE_ERR_FORMAT, "%s: %s: cannot list the group", path, group);
        int known = 0;
        for (int i = 0; i < n && !known; i++)
            known = (size_t)len < sizeof member && strcmp(member, names[i]) == 0;
        if (!known)
            return vae_fail(VAE_ERR_FORMAT, "%s: %s/%s is not part of the model", path, group, member);
    }
    return VAE_OK;
}

/* Whether dataset name stores 4-byte floats (vae_h5_get_floats converts any float type). */
static int check_float32(hid_t file, const char *name, const char *path)
{
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t type = dset >= 0 ? H5Dget_type(dset) : H5I_INVALID_HID;
    const size_t size = type >= 0 ? H5Tget_size(type) : 0;
    vae_h5_close(&type);
    vae_h5_close(&dset);
    if (size != sizeof(float))
        return vae_fail(VAE_ERR_FORMAT, "%s: %s has %zu-byte floats, expected float32", path, name, size);
    return VAE_OK;
}

/* The rank (1 or 2) and dimensions of dataset name, read without its data: 0 when it is missing or
 * of another rank (vae_h5_get_floats then says what is wrong). */
static int dataset_shape(hid_t file, const char *name, int *rank, hsize_t dims[2])
{
    hid_t dset = H5Lexists(file, name, H5P_DEFAULT) > 0 ? H5Dopen2(file, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    const int r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    int known = (r == 1 || r == 2) && H5Sget_simple_extent_dims(space, dims, NULL) == r;
    if (known)
        *rank = r;
    vae_h5_close(&space);
    vae_h5_close(&dset);
    return known;
}

static int read_set(vae_checkpoint *c, hid_t file, int set)
{
    const vae_layout *l = &c->layout;
    const char *names[VAE_MAX_TENSORS];
    float *x = NULL;
    int rc = VAE_OK;
    if (!(c->sets[set] = vae_calloc_array(l->num_params, sizeof(float))))
        return VAE_ERR_NOMEM;
    for (int t = 0; t < l->num_tensors && rc == VAE_OK; t++) {
        const vae_tensor *tt = &l->tensors[t];
        const int rank = tt->cols ? 2 : 1;
        const hsize_t want[2] = {(hsize_t)tt->rows, (hsize_t)tt->cols};
        hsize_t dims[2] = {0, 0};
        int got = 0;
        char name[64], shape[2][64];
        snprintf(name, sizeof name, "%s/%s", set_group[set], tt->name);
        names[t] = tt->name;
        /* The shape first: the data is read (and memory given to it) only once it is the expected one. */
        if (dataset_shape(file, name, &got, dims) && (got != rank || dims[0] != want[0] ||
                                                      (rank == 2 && dims[1] != want[1]))) {
            rc = vae_fail(VAE_ERR_FORMAT, "%s: %s has shape %s, expected %s", c->path, name,
                          format_shape(got, dims, shape[0], sizeof shape[0]),
                          format_shape(rank, want, shape[1], sizeof shape[1]));
            break;
        }
        if ((rc = vae_h5_get_floats(file, name, &x, &got, dims, c->path)) != VAE_OK)
            break;
        if (got != rank || dims[0] != want[0] || (rank == 2 && dims[1] != want[1]))
            rc = vae_fail(VAE_ERR_FORMAT, "%s: %s has shape %s, expected %s", c->path, name,
                          format_shape(got, dims, shape[0], sizeof shape[0]),
                          format_shape(rank, want, shape[1], sizeof shape[1]));
        else if ((rc = check_float32(file, name, c->path)) == VAE_OK)
            vae_tensor_from_rows(tt, x, c->sets[set]);
        vae_free_ptr(&x);
    }
    return rc == VAE_OK ? check_members(file, set_group[set], names, l->num_tensors, c->path) : rc;
}

/* /params always; the optimizer's moments all or nothing. */
static int read_tensors(vae_checkpoint *c, hid_t file)
{
    static const char *const moment_groups[] = {"m", "v"};
    const int moments = H5Lexists(file, "/optimizer", H5P_DEFAULT) > 0;
    int rc = VAE_OK;
    for (int set = 0; set < NUM_SETS && rc == VAE_OK; set++)
        if (set == SET_PARAMS || moments)
            rc = read_set(c, file, set);
    if (rc == VAE_OK && moments)
        rc = check_members(file, "/optimizer", moment_groups, 2, c->path);
    return rc;
}

/* The rules on values. */
static int check_content(vae_checkpoint *c)
{
    char why[512];
    int rc = VAE_OK;
    if (state_problem(&c->state, why, sizeof why))
        return vae_fail(VAE_ERR_FORMAT, "%s: %s", c->path, why);
    if (words_problem((const char *const *)c->words, c->num_words, why, sizeof why))
        return vae_fail(VAE_ERR_FORMAT, "%s: /vocab/words: %s", c->path, why);
    for (int set = 0; set < NUM_SETS && rc == VAE_OK; set++)
        if (c->sets[set])
            rc = check_values(c->path, &c->layout, c->sets[set], set, VAE_ERR_FORMAT,
                              "no run saves such a value");
    return rc;
}

int vae_checkpoint_open(vae_checkpoint **out, const char *path)
{
    vae_checkpoint *c = NULL;
    hid_t file = H5I_INVALID_HID;
    root_values r;
    unsigned long long file_size = 0;
    int rc = VAE_OK;
    *out = NULL;
    if (!(c = vae_calloc_array(1, sizeof *c)) || !(c->path = strdup(path))) {
        rc = vae_fail(VAE_ERR_NOMEM, "%s: out of memory opening the checkpoint", path);
        goto cleanup;
    }
    if ((rc = check_seal(path, &file_size)) != VAE_OK || (rc = vae_h5_open_read(path, &file)) != VAE_OK ||
        (rc = read_root(c, file, &r)) != VAE_OK || (rc = read_extras(c, file)) != VAE_OK ||
        (rc = model_from(c, &r)) != VAE_OK || (rc = check_model_size(c, file_size)) != VAE_OK ||
        (rc = read_words(c, file)) != VAE_OK ||
        (rc = read_tensors(c, file)) != VAE_OK || (rc = check_content(c)) != VAE_OK)
        goto cleanup;
    *out = c;
    c = NULL;
cleanup:
    vae_h5_close(&file);
    vae_checkpoint_free(c);
    return rc;
}

void vae_checkpoint_free(vae_checkpoint *c)
{
    if (!c)
        return;
    for (int i = 0; i < NUM_ATTRS; i++)
        free(c->owned[i]);
    for (int s = 0; s < NUM_SETS; s++)
        free(c->sets[s]);
    for (int i = 0; i < 2 * c->num_attrs; i++)
        free(c->attrs[i]);
    free(c->attrs);
    free(c->words);
    free(c->word_chars);
    free(c->path);
    free(c);
}

const vae_model_config *vae_checkpoint_model(const vae_checkpoint *c) { return &c->model; }
const vae_checkpoint_state *vae_checkpoint_state_of(const vae_checkpoint *c) { return &c->state; }
int vae_checkpoint_has_optimizer(const vae_checkpoint *c) { return c->sets[SET_M] != NULL; }

/* Copies set into dst, tensor by tensor: the padding between tensors is the caller's. */
static int copy_set(const vae_checkpoint *c, const vae_layout *layout, int set, float *dst)
{
    char why[512];
    if (layout_problem(&c->layout, layout, why, sizeof why))
        return vae_fail(VAE_ERR_ARG, "%s: the model's layout differs from the checkpoint's: %s", c->path, why);
    for (int t = 0; t < layout->num_tensors; t++) {
        const vae_tensor *tt = &layout->tensors[t];
        memcpy(dst + tt->offset, c->sets[set] + tt->offset, tt->size * sizeof *dst);
    }
    return VAE_OK;
}

int vae_checkpoint_read_params(vae_checkpoint *c, const vae_layout *layout, float *params)
{
    return copy_set(c, layout, SET_PARAMS, params);
}

int vae_checkpoint_read_optimizer(vae_checkpoint *c, const vae_layout *layout, float *m, float *v)
{
    if (!vae_checkpoint_has_optimizer(c))
        return vae_fail(VAE_ERR_ARG, "%s: the checkpoint holds no optimizer moments", c->path);
    int rc = copy_set(c, layout, SET_M, m);
    return rc == VAE_OK ? copy_set(c, layout, SET_V, v) : rc;
}

int vae_checkpoint_vocab(vae_checkpoint *c, const char *const **words, int64_t *V)
{
    *words = (const char *const *)c->words;
    *V = c->num_words;
    return VAE_OK;
}

const char *vae_checkpoint_attr(vae_checkpoint *c, const char *key)
{
    for (int i = 0; i < c->num_attrs; i++)
        if (strcmp(c->attrs[2 * i], key) == 0)
            return c->attrs[2 * i + 1];
    return NULL;
}
