/* The checkpoint reader (see checkpoint.h): the seal first, then every rule of the format, the
 * family's settings read through the model interface, so that a file that opens is whole and
 * describes a model its tensors fill. Versions 1 (before model families: family bow) and 2. */
#include "checkpoint_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_seal.h"
#include "corpus_internal.h"

/* The version that first named the family (earlier ones hold family bow). */
#define VERSION_WITH_MODEL 2

struct vae_checkpoint {
    char *path;
    char *owned[NUM_ATTRS]; /* the string attributes */
    vae_checkpoint_state state;
    vae_model_config model;
    vae_layout layout, state_layout;
    float *sets[NUM_SETS]; /* in their layout's buffer form; m and v NULL without moments, state
                            * NULL for a family without running statistics */
    int64_t num_words;
    char **words;          /* pointers into word_chars */
    char *word_chars;
    int num_attrs;
    char **attrs;          /* extra attributes: key, value, ... */
};

/* "[3, 4]" */
static const char *format_shape(int rank, const hsize_t *dims, char *buf, size_t size)
{
    if (rank == 1)
        snprintf(buf, size, "[%llu]", (unsigned long long)dims[0]);
    else
        snprintf(buf, size, "[%llu, %llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
    return buf;
}


static int read_root(vae_checkpoint *c, hid_t file, checkpoint_root *r)
{
    int rc = VAE_OK;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < NUM_ATTRS && rc == VAE_OK; i++) {
        const char *name = checkpoint_attrs[i].name;
        if (i == A_MODEL && r->num[A_VERSION] < VERSION_WITH_MODEL)
            continue;
        if (checkpoint_attrs[i].is_int) {
            rc = vae_h5_attr_get_int(file, name, &r->num[i], c->path);
        } else {
            rc = vae_h5_attr_get_str(file, name, &c->owned[i], c->path);
            r->str[i] = c->owned[i];
        }
        /* Another kind of file (a corpus, say) is named as such, not by the attributes it lacks. */
        if (rc == VAE_OK && i == A_FORMAT && strcmp(r->str[i], VAE_CHECKPOINT_FORMAT) != 0)
            rc = vae_fail(VAE_ERR_FORMAT, "%s: root attribute 'format' is '%s', not '%s'", c->path,
                          r->str[i], VAE_CHECKPOINT_FORMAT);
        if (rc == VAE_OK && i == A_VERSION && (r->num[i] < 1 || r->num[i] > VAE_CHECKPOINT_VERSION))
            rc = vae_fail(VAE_ERR_FORMAT, "%s: root attribute 'version' is %lld; this program reads versions 1 to %d",
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

/* Whether name is one of the format's fixed attributes or the root attribute of a setting of c. */
static int is_format_attr(const vae_model_config *c, const char *name)
{
    char attr[64];
    for (int i = 0; i < NUM_ATTRS; i++)
        if (strcmp(name, checkpoint_attrs[i].name) == 0)
            return 1;
    for (int i = 0; i < c->family->num_settings; i++) {
        checkpoint_setting_attr(&c->family->settings[i], attr, sizeof attr);
        if (strcmp(name, attr) == 0)
            return 1;
    }
    return 0;
}

/* A model_* attribute that the family does not have: another architecture, or a damaged file. */
static herr_t reserved_name(extras_walk *w, const char *name)
{
    w->rc = vae_fail(VAE_ERR_FORMAT, "%s: root attribute '%s' is not a setting of the %s model", w->c->path, name,
                     w->c->model.family->name);
    return -1;
}

static herr_t collect_extra(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    extras_walk *w = op;
    vae_checkpoint *c = w->c;
    if (checkpoint_is_reserved(name))
        return is_format_attr(&c->model, name) ? 0 : reserved_name(w, name);
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

/* Every root attribute that the format does not name is an extra string attribute (read once the
 * family is known, whose settings the format names too). */
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

/* Setting i of the family from its root attribute model_<key>, read as any source of its text. */
static int read_setting(vae_checkpoint *c, hid_t file, int i)
{
    const vae_setting_spec *sp = &c->model.family->settings[i];
    char name[64], number[32];
    char *text = NULL;
    int64_t num = 0;
    checkpoint_setting_attr(sp, name, sizeof name);
    const int absent = sp->absent_text && H5Aexists(file, name) == 0;
    int rc = absent                           ? VAE_OK
             : sp->kind == VAE_SETTING_INT ? vae_h5_attr_get_int(file, name, &num, c->path)
                                           : vae_h5_attr_get_str(file, name, &text, c->path);
    snprintf(number, sizeof number, "%lld", (long long)num);
    const char *value = absent ? sp->absent_text : text ? text : number;
    if (rc == VAE_OK && vae_model_config_set(&c->model, sp->key, value) != VAE_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vae_error_message());
        rc = vae_fail(VAE_ERR_FORMAT, "%s: root attribute '%s' is '%s', which describes no %s model: %s", c->path,
                      name, value, c->model.family->name, why);
    }
    free(text);
    return rc;
}

/* The family (bow in a version 1 file), its settings and the layouts they imply. */
static int model_from(vae_checkpoint *c, hid_t file, const checkpoint_root *r)
{
    const char *family = r->num[A_VERSION] < VERSION_WITH_MODEL ? "bow" : r->str[A_MODEL];
    int rc = vae_model_config_init(&c->model, family, r->num[A_VOCAB_SIZE]);
    if (rc != VAE_OK)
        return checkpoint_rewrap(VAE_ERR_FORMAT, c->path, "root attribute 'model'");
    for (int i = 0; i < c->model.family->num_settings && rc == VAE_OK; i++)
        rc = read_setting(c, file, i);
    if (rc == VAE_OK && ((rc = vae_layout_compute(&c->model, &c->layout)) != VAE_OK ||
                         (rc = vae_state_layout_compute(&c->model, &c->state_layout)) != VAE_OK))
        rc = checkpoint_rewrap(VAE_ERR_FORMAT, c->path, "root attributes model_* describe no model");
    return rc;
}

/* Parameters are stored contiguous and uncompressed (vae_h5_put_floats), so a file of size bytes
 * holds at most size / 4 of them: a model described as larger is refused before anything is
 * allocated for it (a few edited attributes could otherwise ask for terabytes). */
static int check_model_size(const vae_checkpoint *c, unsigned long long size)
{
    const size_t n = c->layout.num_params + c->state_layout.num_params;
    if (n <= size / sizeof(float))
        return VAE_OK;
    return vae_fail(VAE_ERR_FORMAT, "%s: root attributes model_* describe %zu parameters, more than a file of "
                    "%llu bytes holds", c->path, n, size);
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
    if ((rc = vae_h5_check_filters(dset, c->path, name)) != VAE_OK)
        goto cleanup;
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

static const vae_layout *layout_of(const vae_checkpoint *c, int set)
{
    return set == SET_STATE ? &c->state_layout : &c->layout;
}

static int read_set(vae_checkpoint *c, hid_t file, int set)
{
    const vae_layout *l = layout_of(c, set);
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
        snprintf(name, sizeof name, "%s/%s", checkpoint_set_group[set], tt->name);
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
    return rc == VAE_OK ? check_members(file, checkpoint_set_group[set], names, l->num_tensors, c->path) : rc;
}

/* /params always; the optimizer's moments all or nothing; /state when, and only when, the family
 * keeps running statistics. */
static int read_tensors(vae_checkpoint *c, hid_t file)
{
    static const char *const moment_groups[] = {"m", "v"};
    const int moments = H5Lexists(file, "/optimizer", H5P_DEFAULT) > 0;
    const int stats = c->state_layout.num_tensors > 0;
    int rc = VAE_OK;
    if (!stats && H5Lexists(file, "/state", H5P_DEFAULT) > 0)
        return vae_fail(VAE_ERR_FORMAT, "%s: /state: the %s model keeps no running statistics", c->path,
                        c->model.family->name);
    for (int set = 0; set < NUM_SETS && rc == VAE_OK; set++)
        if (set == SET_PARAMS || (set == SET_STATE ? stats : moments))
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
    if (checkpoint_state_problem(&c->state, why, sizeof why))
        return vae_fail(VAE_ERR_FORMAT, "%s: %s", c->path, why);
    if (checkpoint_words_problem((const char *const *)c->words, c->num_words, why, sizeof why))
        return vae_fail(VAE_ERR_FORMAT, "%s: /vocab/words: %s", c->path, why);
    for (int set = 0; set < NUM_SETS && rc == VAE_OK; set++)
        if (c->sets[set])
            rc = checkpoint_check_values(c->path, layout_of(c, set), c->sets[set], set, VAE_ERR_FORMAT,
                                         "no run saves such a value");
    return rc;
}

/* The checkpoint that a pointer file (latest, best: one file name of its folder) names, into buf. */
static int follow_pointer(const char *pointer, char *buf, size_t size)
{
    char name[512] = "";
    FILE *f = fopen(pointer, "r");
    if (!f)
        return vae_fail(VAE_ERR_IO, "%s: cannot open: %s", pointer, strerror(errno));
    if (!fgets(name, (int)sizeof name, f))
        name[0] = '\0';
    fclose(f);
    name[strcspn(name, "\r\n")] = '\0';
    if (!name[0] || strchr(name, '/'))
        return vae_fail(VAE_ERR_FORMAT, "%s: does not hold the name of a checkpoint of its folder", pointer);
    const char *slash = strrchr(pointer, '/');
    const int dir = slash ? (int)(slash - pointer + 1) : 0;
    if ((size_t)snprintf(buf, size, "%.*s%s", dir, pointer, name) >= size)
        return vae_fail(VAE_ERR_ARG, "%s: path too long", pointer);
    return VAE_OK;
}

/* What path stands for: a run folder or its checkpoints folder, the checkpoint their latest names;
 * a pointer file (latest, best), the checkpoint it names; anything else, itself. */
static int checkpoint_file(const char *path, char *buf, size_t size)
{
    struct stat st;
    char pointer[4200];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(pointer, sizeof pointer, "%s/checkpoints/latest", path);
        if (access(pointer, F_OK) != 0)
            snprintf(pointer, sizeof pointer, "%s/latest", path);
        if (access(pointer, F_OK) != 0)
            return vae_fail(VAE_ERR_ARG, "%s: a folder without checkpoints/latest: name a run folder, or a "
                            "checkpoint file (checkpoints/ckpt-<step>.h5)", path);
        return follow_pointer(pointer, buf, size);
    }
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (strcmp(base, "latest") == 0 || strcmp(base, "best") == 0))
        return follow_pointer(path, buf, size);
    if ((size_t)snprintf(buf, size, "%s", path) >= size)
        return vae_fail(VAE_ERR_ARG, "%s: path too long", path);
    return VAE_OK;
}

int vae_checkpoint_open(vae_checkpoint **out, const char *given)
{
    vae_checkpoint *c = NULL;
    hid_t file = H5I_INVALID_HID;
    checkpoint_root r;
    unsigned long long file_size = 0;
    char path[4200];
    int rc = checkpoint_file(given, path, sizeof path);
    *out = NULL;
    if (rc != VAE_OK)
        return rc;
    if (!(c = vae_calloc_array(1, sizeof *c)) || !(c->path = strdup(path))) {
        rc = vae_fail(VAE_ERR_NOMEM, "%s: out of memory opening the checkpoint", path);
        goto cleanup;
    }
    if ((rc = checkpoint_check_seal(path, &file_size)) != VAE_OK || (rc = vae_h5_open_read(path, &file)) != VAE_OK ||
        (rc = read_root(c, file, &r)) != VAE_OK || (rc = model_from(c, file, &r)) != VAE_OK ||
        (rc = read_extras(c, file)) != VAE_OK || (rc = check_model_size(c, file_size)) != VAE_OK ||
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
    if (checkpoint_layout_problem(layout_of(c, set), layout, why, sizeof why))
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

int vae_checkpoint_read_state(vae_checkpoint *c, const vae_layout *state_layout, float *state)
{
    return copy_set(c, state_layout, SET_STATE, state);
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
