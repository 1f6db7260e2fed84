/* vae-prep's inputs: listing the files (folders recursed in name order) and streaming their
 * documents in the lines, files and jsonl formats. Rules in prep_input.h. */
#include "prep_input.h"

#include "files.h"
#include "vae/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper than any real corpus; reached by a symbolic link that loops back to a folder above it. */
#define MAX_DEPTH 64
#define READ_CHUNK (1 << 20)
/* Read past the end of a range to finish its last line, a piece at a time. */
#define RANGE_TAIL (16 << 10)

/* ---- listing ---- */

/* A listing under way, and the output it leaves out of folders. */
typedef struct {
    vae_input_list *l;
    int64_t cap;
    const char *output;
    struct stat out, out_dir; /* valid when out_exists, out_dir_exists */
    int out_exists, out_dir_exists;
    char out_base[256];
} lister;

static int append_path(vae_input_list *l, int64_t *cap, const char *path, int64_t size)
{
    if (l->n == *cap) {
        int64_t ncap = *cap ? *cap * 2 : 64;
        char **p = realloc(l->paths, (size_t)ncap * sizeof *p);
        int64_t *starts = realloc(l->starts, (size_t)(ncap + 1) * sizeof *starts);
        if (p)
            l->paths = p;
        if (starts)
            l->starts = starts;
        if (!p || !starts)
            return vae_fail(VAE_ERR_NOMEM, "out of memory listing the inputs");
        *cap = ncap;
    }
    l->starts[l->n] = l->total_bytes;
    l->starts[l->n + 1] = l->total_bytes + size;
    l->paths[l->n] = strdup(path);
    if (!l->paths[l->n])
        return vae_fail(VAE_ERR_NOMEM, "out of memory listing the inputs");
    l->n++;
    l->total_bytes += size;
    return VAE_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entries of folder path, sorted; *names is malloc'ed, as is each name. */
static int read_folder(const char *path, char ***names, int64_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return vae_fail(VAE_ERR_IO, "%s: cannot open the folder: %s", path, strerror(errno));
    int64_t cap = 0;
    int rc = VAE_OK;
    struct dirent *e;
    while (!rc && (errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(*names, (size_t)cap * sizeof *p);
            if (!p) {
                rc = vae_fail(VAE_ERR_NOMEM, "out of memory listing %s", path);
                break;
            }
            *names = p;
        }
        (*names)[*n] = strdup(e->d_name);
        rc = (*names)[*n] ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory listing %s", path);
        *n += !rc;
    }
    if (!rc && errno)
        rc = vae_fail(VAE_ERR_IO, "%s: cannot read the folder: %s", path, strerror(errno));
    closedir(d);
    if (!rc && *n > 0)
        qsort(*names, (size_t)*n, sizeof **names, by_name);
    return rc;
}

static int add_input(lister *ls, const char *path, int depth);

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether entry name of folder path is a temporary file of the output (one a killed run left),
 * which a folder holding the output must not feed back as text. */
static int is_output_temp(const lister *ls, const char *path, const char *name)
{
    struct stat dir;
    return ls->out_dir_exists && vae_is_temp_of(name, ls->out_base) && stat(path, &dir) == 0 &&
           same_file(&dir, &ls->out_dir);
}

/* Whether the file at path starts with HDF5's signature: an earlier run's output, not a text. */
static int is_hdf5(const char *path)
{
    static const char signature[8] = "\x89HDF\r\n\x1a\n";
    char head[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    const int is = fd >= 0 && read(fd, head, sizeof head) == (ssize_t)sizeof head &&
                   memcmp(head, signature, sizeof head) == 0;
    if (fd >= 0)
        close(fd);
    return is;
}

static int add_folder(lister *ls, const char *path, int depth)
{
    if (depth >= MAX_DEPTH)
        return vae_fail(VAE_ERR_IO, "%s: folders nested more than %d deep (a symbolic link loop?)",
                        path, MAX_DEPTH);
    char **names;
    int64_t n;
    int rc = read_folder(path, &names, &n);
    size_t plen = strlen(path);
    int slash = plen > 0 && path[plen - 1] == '/';
    for (int64_t i = 0; !rc && i < n; i++) {
        char *child = malloc(plen + strlen(names[i]) + 2);
        if (!child) {
            rc = vae_fail(VAE_ERR_NOMEM, "out of memory listing %s", path);
            break;
        }
        sprintf(child, "%s%s%s", path, slash ? "" : "/", names[i]);
        if (!is_output_temp(ls, path, names[i]))
            rc = add_input(ls, child, depth + 1);
        free(child);
    }
    for (int64_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* depth 0: named on the command line, where anything but a file or a folder is an error. */
static int add_input(lister *ls, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot read the input: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return add_folder(ls, path, depth);
    /* The output found in a folder (under its name or a link's) is left out when it is an earlier
     * run's corpus; a text is an input that the output would destroy. */
    if (S_ISREG(st.st_mode) && ls->out_exists && same_file(&st, &ls->out))
        return depth > 0 && is_hdf5(path) ? VAE_OK : vae_check_not_input(ls->output, path, "INPUT");
    if (S_ISREG(st.st_mode))
        return append_path(ls->l, &ls->cap, path, (int64_t)st.st_size);
    if (depth == 0)
        return vae_fail(VAE_ERR_IO, "%s: not a file or a folder", path);
    return VAE_OK;
}

int vae_input_list_new(vae_input_list **out, const char *const *inputs, int num, const char *output)
{
    *out = NULL;
    vae_input_list *l = calloc(1, sizeof *l);
    if (!l)
        return vae_fail(VAE_ERR_NOMEM, "out of memory listing the inputs");
    lister ls = {.l = l, .output = output};
    char dir[4096];
    int rc = VAE_OK;
    if (output && strlen(output) < sizeof dir) {
        ls.out_exists = stat(output, &ls.out) == 0;
        strcpy(dir, output);
        snprintf(ls.out_base, sizeof ls.out_base, "%s", basename(dir));
        strcpy(dir, output);
        ls.out_dir_exists = stat(dirname(dir), &ls.out_dir) == 0;
    }
    for (int i = 0; !rc && i < num; i++)
        rc = add_input(&ls, inputs[i], 0);
    if (rc)
        vae_input_list_free(l);
    else
        *out = l;
    return rc;
}

void vae_input_list_free(vae_input_list *l)
{
    if (!l)
        return;
    for (int64_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    free(l->starts);
    free(l);
}

/* ---- reading ---- */

struct vae_doc_reader {
    const vae_input_list *files;
    vae_input_format format;
    const char *text_field;
    int64_t next_file;
    const char *path; /* of the open file */
    int fd;           /* -1: none open */
    int eof;
    int64_t line;
    char *buf; /* bytes [pos, end) not yet taken; a line never spans a refill, so buf grows to the longest */
    size_t pos, end, cap;
    char *text, *key; /* decoded jsonl value and key, each as large as the line */
    size_t text_cap, key_cap;
    int64_t bytes;
    /* A range (vae_doc_reader_range): documents starting in [lo, hi) of the inputs taken as one
     * stream; buf_off is the open file's offset of buf[0], limit the offset in it where the range
     * ends (INT64_MAX: the whole file, as without a range). */
    int ranged;
    int64_t lo, hi, line_base, buf_off, limit;
};

int vae_doc_reader_new(vae_doc_reader **out, const vae_input_list *files, vae_input_format format,
                       const char *text_field)
{
    *out = NULL;
    vae_doc_reader *r = calloc(1, sizeof *r);
    if (!r)
        return vae_fail(VAE_ERR_NOMEM, "out of memory creating the input reader");
    r->files = files;
    r->format = format;
    r->text_field = text_field;
    r->fd = -1;
    r->limit = INT64_MAX;
    r->cap = READ_CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        vae_doc_reader_free(r);
        return vae_fail(VAE_ERR_NOMEM, "out of memory creating the input reader");
    }
    *out = r;
    return VAE_OK;
}

void vae_doc_reader_free(vae_doc_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->text);
    free(r->key);
    free(r);
}

int64_t vae_doc_reader_bytes(const vae_doc_reader *r) { return r->bytes; }

static int grow_buffer(char **buf, size_t *cap, size_t need, const char *path)
{
    if (need <= *cap)
        return VAE_OK;
    size_t ncap = *cap ? *cap : READ_CHUNK;
    while (ncap < need)
        ncap *= 2;
    char *p = realloc(*buf, ncap);
    if (!p)
        return vae_fail(VAE_ERR_NOMEM, "%s: out of memory holding a document of %zu bytes", path, need);
    *buf = p;
    *cap = ncap;
    return VAE_OK;
}

/* Reads more of the open file after the bytes not yet taken, which move to the buffer's start. */
static int refill(vae_doc_reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->buf_off += (int64_t)r->pos;
        r->pos = 0;
    }
    int rc = grow_buffer(&r->buf, &r->cap, r->end + READ_CHUNK, r->path);
    if (rc)
        return rc;
    /* In a range, no further than its end and a little more, where its last line ends. */
    size_t want = r->cap - r->end;
    const int64_t left = r->limit - (r->buf_off + (int64_t)r->end);
    if (r->limit != INT64_MAX && (left < 0 || (uint64_t)left < want - RANGE_TAIL))
        want = (left > 0 ? (size_t)left : 0) + RANGE_TAIL;
    ssize_t k;
    do
        k = read(r->fd, r->buf + r->end, want);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return vae_fail(VAE_ERR_IO, "%s: read error: %s", r->path, strerror(errno));
    r->eof = k == 0;
    r->end += (size_t)k;
    r->bytes += k;
    return VAE_OK;
}

static int next_line(vae_doc_reader *r, char **line, size_t *len, int *got);

/* In a range, skips the files in which no document starts in it; 0 when none is left. */
static int next_file_in_range(vae_doc_reader *r)
{
    const int64_t *at = r->files->starts;
    const int whole_files = r->format == VAE_INPUT_FILES;
    while (r->next_file < r->files->n &&
           (whole_files ? at[r->next_file] < r->lo : at[r->next_file + 1] <= r->lo || at[r->next_file + 1] == at[r->next_file]))
        r->next_file++;
    return r->next_file < r->files->n && at[r->next_file] < r->hi;
}

/* A range that starts inside the file: the line under way at its start belongs to the range
 * before, so reading starts after the first LF at or past the byte before it. */
static int seek_range_start(vae_doc_reader *r, int64_t start)
{
    const int64_t from = r->lo - start - 1;
    unsigned char magic[2];
    if (pread(r->fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return vae_fail(VAE_ERR_FORMAT, "%s: gzip-compressed input is not supported (decompress it first)",
                        r->path);
    if (lseek(r->fd, (off_t)from, SEEK_SET) < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot seek: %s", r->path, strerror(errno));
    r->buf_off = from;
    char *line;
    size_t len;
    int got;
    int rc = next_line(r, &line, &len, &got);
    r->line = r->line_base;
    return rc;
}

static int open_next(vae_doc_reader *r)
{
    const int64_t start = r->ranged ? r->files->starts[r->next_file] : 0;
    r->path = r->files->paths[r->next_file++];
    r->fd = open(r->path, O_RDONLY);
    if (r->fd < 0)
        return vae_fail(VAE_ERR_IO, "%s: cannot open: %s", r->path, strerror(errno));
    r->pos = r->end = 0;
    r->eof = 0;
    r->line = 0;
    r->buf_off = 0;
    r->limit = r->ranged && r->format != VAE_INPUT_FILES ? r->hi - start : INT64_MAX;
    if (r->ranged && r->format != VAE_INPUT_FILES && r->lo > start)
        return seek_range_start(r, start);
    int rc = refill(r);
    if (!rc && r->end >= 2 && (unsigned char)r->buf[0] == 0x1f && (unsigned char)r->buf[1] == 0x8b)
        rc = vae_fail(VAE_ERR_FORMAT, "%s: gzip-compressed input is not supported (decompress it first)",
                      r->path);
    return rc;
}

static void close_file(vae_doc_reader *r)
{
    close(r->fd);
    r->fd = -1;
}

void vae_doc_reader_range(vae_doc_reader *r, int64_t lo, int64_t hi, int64_t line_base)
{
    if (r->fd >= 0)
        close_file(r);
    r->ranged = 1;
    r->lo = lo;
    r->hi = hi;
    r->line_base = line_base;
    /* the first file that ends past lo (files: starts at or past it), by bisection */
    const int64_t *at = r->files->starts;
    const int whole_files = r->format == VAE_INPUT_FILES;
    int64_t first = 0, past = r->files->n;
    while (first < past) {
        int64_t mid = first + (past - first) / 2;
        if (whole_files ? at[mid] < lo : at[mid + 1] <= lo)
            first = mid + 1;
        else
            past = mid;
    }
    r->next_file = first;
    r->line = 0;
}

int64_t vae_doc_reader_line(const vae_doc_reader *r) { return r->line; }

/* The next line of the open file without its LF or CRLF; *got = 0 at the end of the file. */
static int next_line(vae_doc_reader *r, char **line, size_t *len, int *got)
{
    size_t scanned = r->pos;
    if (r->buf_off + (int64_t)r->pos >= r->limit) { /* the line starts past the range */
        *got = 0;
        return VAE_OK;
    }
    for (;;) {
        char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
        if (nl || (r->eof && r->pos < r->end)) {
            *line = r->buf + r->pos;
            *len = (nl ? (size_t)(nl - r->buf) : r->end) - r->pos;
            r->pos = nl ? (size_t)(nl - r->buf) + 1 : r->end;
            if (*len > 0 && (*line)[*len - 1] == '\r')
                (*len)--;
            *got = 1;
            r->line++;
            return VAE_OK;
        }
        if (r->eof) {
            *got = 0;
            return VAE_OK;
        }
        scanned = r->end - r->pos; /* where the search goes on once refill moved the bytes */
        int rc = refill(r);
        if (rc)
            return rc;
    }
}

static int read_whole_file(vae_doc_reader *r)
{
    int rc = VAE_OK;
    while (!rc && !r->eof)
        rc = refill(r);
    return rc;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\f' && s[i] != '\v' && s[i] != '\r')
            return 0;
    return 1;
}

static int json_text(vae_doc_reader *r, const char *line, size_t len, vae_input_doc *doc);

int vae_doc_reader_next(vae_doc_reader *r, vae_input_doc *doc)
{
    memset(doc, 0, sizeof *doc);
    for (;;) {
        int rc = VAE_OK;
        if (r->fd < 0) {
            if (r->ranged ? !next_file_in_range(r) : r->next_file == r->files->n)
                return VAE_OK;
            rc = open_next(r);
            if (rc)
                return rc;
        }
        doc->path = r->path;
        if (r->format == VAE_INPUT_FILES) {
            rc = read_whole_file(r);
            close_file(r);
            doc->text = r->buf;
            doc->len = r->end;
            return rc;
        }
        char *line;
        size_t len;
        int got;
        rc = next_line(r, &line, &len, &got);
        if (rc || !got) {
            close_file(r);
            if (rc)
                return rc;
            continue;
        }
        if (is_blank(line, len))
            continue;
        doc->line = r->line;
        if (r->format == VAE_INPUT_JSONL)
            return json_text(r, line, len, doc);
        doc->text = line;
        doc->len = len;
        return VAE_OK;
    }
}

/* ---- jsonl: one JSON object a line (RFC 8259), of which one string member is the document ---- */

#define JSON_MAX_DEPTH 256

typedef struct {
    const char *s, *p, *end;
    const char *err; /* what is wrong, at p */
} json_cur;

static void json_ws(json_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int json_fail(json_cur *c, const char *what)
{
    c->err = what;
    return VAE_ERR_FORMAT;
}

static int json_expect(json_cur *c, char ch, const char *what)
{
    json_ws(c);
    if (c->p == c->end || *c->p != ch)
        return json_fail(c, what);
    c->p++;
    return VAE_OK;
}

static int hex4(json_cur *c, uint32_t *v)
{
    if (c->end - c->p < 4)
        return json_fail(c, "truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char h = *c->p++;
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                              : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0)
            return json_fail(c, "bad hex digit in a \\u escape");
        *v = *v << 4 | (uint32_t)d;
    }
    return VAE_OK;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* After "\u" and its four digits v: a high surrogate joins the low one escaped right after it. */
static int json_unicode(json_cur *c, uint32_t v, uint32_t *cp)
{
    *cp = v;
    if (v >= 0xDC00 && v <= 0xDFFF)
        *cp = 0xFFFD;
    if (v < 0xD800 || v > 0xDBFF)
        return VAE_OK;
    *cp = 0xFFFD;
    if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u')
        return VAE_OK;
    json_cur look = *c;
    look.p += 2;
    uint32_t lo;
    if (hex4(&look, &lo) != VAE_OK || lo < 0xDC00 || lo > 0xDFFF)
        return VAE_OK; /* a lone high surrogate; what follows is read on its own */
    *c = look;
    *cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
    return VAE_OK;
}

static int json_escape(json_cur *c, char *out, size_t *n)
{
    if (c->p == c->end)
        return json_fail(c, "unterminated string");
    char e = *c->p++;
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = e ? strchr(from, e) : NULL;
    if (hit) {
        if (out)
            out[*n] = to[hit - from];
        (*n)++;
        return VAE_OK;
    }
    if (e != 'u')
        return json_fail(c, "bad escape in a string");
    uint32_t v, cp;
    int rc = hex4(c, &v);
    if (!rc)
        rc = json_unicode(c, v, &cp);
    if (!rc) {
        char tmp[4];
        *n += put_utf8(out ? out + *n : tmp, cp);
    }
    return rc;
}

/* A string at p, decoded into out (at most as many bytes as it takes in the line) when out is set. */
static int json_string(json_cur *c, char *out, size_t *n)
{
    *n = 0;
    int rc = json_expect(c, '"', "expected a string");
    while (!rc) {
        if (c->p == c->end)
            return json_fail(c, "unterminated string");
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            break;
        if (ch < 0x20) {
            c->p--;
            return json_fail(c, "control character in a string");
        }
        if (ch == '\\') {
            rc = json_escape(c, out, n);
        } else {
            if (out)
                out[*n] = (char)ch;
            (*n)++;
        }
    }
    return rc;
}

static int json_digits(json_cur *c)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > start ? VAE_OK : json_fail(c, "bad number");
}

static int json_number(json_cur *c)
{
    if (*c->p == '-')
        c->p++;
    int rc = VAE_OK;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else
        rc = json_digits(c);
    if (!rc && c->p < c->end && *c->p == '.') {
        c->p++;
        rc = json_digits(c);
    }
    if (!rc && c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        rc = json_digits(c);
    }
    return rc;
}

static int json_literal(json_cur *c)
{
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(c->end - c->p) >= n && memcmp(c->p, words[i], n) == 0) {
            c->p += n;
            return VAE_OK;
        }
    }
    return json_fail(c, "expected a value");
}

static int json_skip(json_cur *c, int depth);

/* The rest of an object or array after its opening bracket. */
static int json_skip_members(json_cur *c, int depth, char close, int keyed)
{
    json_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return VAE_OK;
    }
    for (;;) {
        size_t n;
        int rc = keyed ? json_string(c, NULL, &n) : VAE_OK;
        if (!rc && keyed)
            rc = json_expect(c, ':', "expected ':'");
        if (!rc)
            rc = json_skip(c, depth + 1);
        if (!rc)
            json_ws(c);
        if (rc || c->p == c->end)
            return rc ? rc : json_fail(c, "unterminated object or array");
        char ch = *c->p++;
        if (ch == close)
            return VAE_OK;
        if (ch != ',') {
            c->p--;
            return json_fail(c, "expected ',' or a closing bracket");
        }
    }
}

static int json_skip(json_cur *c, int depth)
{
    json_ws(c);
    if (depth > JSON_MAX_DEPTH)
        return json_fail(c, "nested too deeply");
    if (c->p == c->end)
        return json_fail(c, "expected a value");
    size_t n;
    switch (*c->p) {
    case '{':
        c->p++;
        return json_skip_members(c, depth, '}', 1);
    case '[':
        c->p++;
        return json_skip_members(c, depth, ']', 0);
    case '"':
        return json_string(c, NULL, &n);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return json_number(c);
    default:
        return json_literal(c);
    }
}

/* One member of the top-level object: the field's string value goes to r->text. */
static int json_member(vae_doc_reader *r, json_cur *c, int *found, size_t *text_len)
{
    size_t klen, flen = strlen(r->text_field);
    int rc = json_string(c, r->key, &klen);
    if (!rc)
        rc = json_expect(c, ':', "expected ':'");
    if (rc)
        return rc;
    if (klen != flen || memcmp(r->key, r->text_field, flen) != 0)
        return json_skip(c, 1);
    json_ws(c);
    if (c->p == c->end || *c->p != '"')
        return json_fail(c, "the text field is not a string");
    *found = 1;
    return json_string(c, r->text, text_len);
}

static int json_object(vae_doc_reader *r, json_cur *c, int *found, size_t *text_len)
{
    int rc = json_expect(c, '{', "expected an object");
    json_ws(c);
    if (!rc && c->p < c->end && *c->p == '}') {
        c->p++;
        return VAE_OK;
    }
    while (!rc) {
        rc = json_member(r, c, found, text_len);
        if (!rc)
            json_ws(c);
        if (rc || c->p == c->end)
            return rc ? rc : json_fail(c, "unterminated object");
        char ch = *c->p++;
        if (ch == '}')
            return VAE_OK;
        if (ch != ',') {
            c->p--;
            rc = json_fail(c, "expected ',' or '}'");
        }
    }
    return rc;
}

static int json_text(vae_doc_reader *r, const char *line, size_t len, vae_input_doc *doc)
{
    int rc = grow_buffer(&r->text, &r->text_cap, len + 1, r->path);
    if (!rc)
        rc = grow_buffer(&r->key, &r->key_cap, len + 1, r->path);
    if (rc)
        return rc;
    json_cur c = {line, line, line + len, NULL};
    int found = 0;
    size_t text_len = 0;
    rc = json_object(r, &c, &found, &text_len);
    if (!rc) {
        json_ws(&c);
        if (c.p != c.end)
            rc = json_fail(&c, "text after the object");
    }
    if (rc)
        return vae_fail(VAE_ERR_FORMAT, "%s:%lld: malformed JSON at byte %lld: %s", r->path,
                        (long long)r->line, (long long)(c.p - c.s + 1), c.err);
    if (!found)
        return vae_fail(VAE_ERR_FORMAT, "%s:%lld: no string member \"%s\" (see --text-field)",
                        r->path, (long long)r->line, r->text_field);
    doc->text = r->text;
    doc->len = text_len;
    return VAE_OK;
}
