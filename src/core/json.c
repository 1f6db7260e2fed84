/* JSON object writer; see json.h. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(json_buf *j) { memset(j, 0, sizeof *j); }

void json_free(json_buf *j)
{
    free(j->buf);
    json_init(j);
}

static void append(json_buf *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *b = realloc(j->buf, cap);
        if (!b) {
            j->failed = 1;
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void appendf(json_buf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(json_buf *j, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    append(j, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void json_append_string(json_buf *j, const char *s)
{
    append(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': append(j, "\\\"", 2); break;
        case '\\': append(j, "\\\\", 2); break;
        case '\n': append(j, "\\n", 2); break;
        case '\r': append(j, "\\r", 2); break;
        case '\t': append(j, "\\t", 2); break;
        default:
            if (*p < 0x20)
                appendf(j, "\\u%04x", *p);
            else
                append(j, (const char *)p, 1);
        }
    }
    append(j, "\"", 1);
}

static void key(json_buf *j, const char *k)
{
    if (j->count++)
        append(j, ", ", 2);
    json_append_string(j, k);
    append(j, ": ", 2);
}

void json_begin(json_buf *j)
{
    j->len = 0;
    j->count = 0;
    j->failed = 0;
    append(j, "{", 1);
}

void json_end(json_buf *j) { append(j, "}", 1); }

void json_str(json_buf *j, const char *k, const char *value)
{
    key(j, k);
    json_append_string(j, value);
}

void json_int(json_buf *j, const char *k, int64_t value)
{
    key(j, k);
    appendf(j, "%lld", (long long)value);
}

static void number(json_buf *j, const char *k, double value, const char *fmt)
{
    key(j, k);
    if (isfinite(value))
        appendf(j, fmt, value);
    else
        append(j, "null", 4);
}

void json_num(json_buf *j, const char *k, double value) { number(j, k, value, "%.10g"); }

void json_float(json_buf *j, const char *k, float value) { number(j, k, value, "%.7g"); }

void json_figures(json_buf *j, const vae_figures *f)
{
    for (int i = 0; i < f->count; i++)
        if (f->of[i].integer)
            json_int(j, f->of[i].name, (int64_t)f->of[i].value);
        else
            json_num(j, f->of[i].name, f->of[i].value);
}

void json_raw(json_buf *j, const char *k, const char *value)
{
    key(j, k);
    append(j, value, strlen(value));
}
