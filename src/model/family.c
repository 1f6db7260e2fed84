/* The registry of model families and their configurations: a family by name, its settings read
 * from their text form (options, checkpoint attributes) and written back, checked against the
 * family's own rules before a layout is computed. */
#include "vae/family.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const vae_family vae_family_bow, vae_family_topic, vae_family_sentence;

/* The registry: one line per family. */
static const vae_family *const families[] = {
    &vae_family_bow,
    &vae_family_topic,
    &vae_family_sentence,
};
enum { NUM_FAMILIES = sizeof families / sizeof families[0] };

const char *const vae_unit_names[] = {"docs", "seqs", NULL};

const vae_family *vae_family_at(int i) { return i >= 0 && i < NUM_FAMILIES ? families[i] : NULL; }

int vae_family_find(const char *name, const vae_family **out)
{
    char known[256] = "";
    *out = NULL;
    for (int i = 0; i < NUM_FAMILIES; i++) {
        if (strcmp(families[i]->name, name) == 0) {
            *out = families[i];
            return VAE_OK;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? "|" : "", families[i]->name);
    }
    return vae_fail(VAE_ERR_ARG, "no model family is named '%s' (the families are %s)", name, known);
}

static int setting_index(const vae_family *f, const char *key)
{
    for (int i = 0; i < f->num_settings; i++)
        if (strcmp(f->settings[i].key, key) == 0)
            return i;
    return -1;
}

/* A decimal integer and nothing else (strtoll alone would take leading blanks and a '+'). */
static int parse_int(const char *s, int64_t *v)
{
    char *end;
    if (!(*s == '-' || isdigit((unsigned char)*s)))
        return -1;
    errno = 0;
    const long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* "128,64": integers separated by single commas, no blanks, no signs; "" is the empty list. */
static int parse_list(const char *s, const vae_setting_spec *sp, vae_setting_value *v)
{
    while (*s) {
        const char *start = s;
        int64_t x = 0;
        while (isdigit((unsigned char)*s) && x <= sp->hi && x <= (INT64_MAX - 9) / 10)
            x = 10 * x + (*s++ - '0');
        if (s == start || x < sp->lo || x > sp->hi || v->num == sp->max_count || (*s && (*s != ',' || !s[1])))
            return -1;
        v->list[v->num++] = x;
        s += *s == ',';
    }
    return v->num < sp->min_count ? -1 : 0;
}

static int parse_value(const vae_setting_spec *sp, const char *text, vae_setting_value *v)
{
    memset(v, 0, sizeof *v);
    char allowed[256] = "";
    switch (sp->kind) {
    case VAE_SETTING_INT:
        if (parse_int(text, &v->num) == 0 && v->num >= sp->lo && v->num <= sp->hi)
            return VAE_OK;
        return vae_fail(VAE_ERR_ARG, "'%s' is not an integer in [%lld, %lld]", text, (long long)sp->lo,
                        (long long)sp->hi);
    case VAE_SETTING_LIST:
        if (parse_list(text, sp, v) == 0)
            return VAE_OK;
        return vae_fail(VAE_ERR_ARG, "'%s' is not a comma-separated list of %d to %d integers in [%lld, %lld]",
                        text, sp->min_count, sp->max_count, (long long)sp->lo, (long long)sp->hi);
    case VAE_SETTING_REAL: {
        char *end;
        errno = 0;
        v->real = strtod(text, &end);
        if (*text && !isspace((unsigned char)*text) && !errno && !*end && v->real >= sp->real_lo &&
            v->real <= sp->real_hi)
            return VAE_OK;
        return vae_fail(VAE_ERR_ARG, "'%s' is not a number in [%g, %g]", text, sp->real_lo, sp->real_hi);
    }
    case VAE_SETTING_CHOICE:
        for (int i = 0; sp->choices[i]; i++) {
            if (strcmp(sp->choices[i], text) == 0) {
                v->num = i;
                return VAE_OK;
            }
            snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s", i ? "|" : "",
                     sp->choices[i]);
        }
        return vae_fail(VAE_ERR_ARG, "'%s' is not one of %s", text, allowed);
    }
    return vae_fail(VAE_ERR_ARG, "setting %s is of no known kind", sp->key);
}

int vae_model_config_init(vae_model_config *c, const char *family, int64_t V)
{
    memset(c, 0, sizeof *c);
    int rc = vae_family_find(family, &c->family);
    for (int i = 0; rc == VAE_OK && i < c->family->num_settings; i++)
        rc = parse_value(&c->family->settings[i], c->family->settings[i].default_text, &c->values[i]);
    c->vocab_size = V;
    return rc;
}

int vae_model_config_set(vae_model_config *c, const char *key, const char *text)
{
    const int i = setting_index(c->family, key);
    if (i < 0)
        return vae_fail(VAE_ERR_ARG, "the %s model has no setting '%s'", c->family->name, key);
    vae_setting_value v;
    const int rc = parse_value(&c->family->settings[i], text, &v);
    if (rc == VAE_OK)
        c->values[i] = v;
    return rc;
}

void vae_model_config_text(const vae_model_config *c, int i, char *buf, size_t size)
{
    const vae_setting_spec *sp = &c->family->settings[i];
    const vae_setting_value *v = &c->values[i];
    buf[0] = '\0';
    if (sp->kind == VAE_SETTING_INT)
        snprintf(buf, size, "%lld", (long long)v->num);
    else if (sp->kind == VAE_SETTING_REAL)
        /* The shortest text that reads back as the same double: 0.2, not 0.20000000000000001. */
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(buf, size, "%.*g", digits, v->real);
            if (strtod(buf, NULL) == v->real)
                break;
        }
    else if (sp->kind == VAE_SETTING_CHOICE)
        snprintf(buf, size, "%s", sp->choices[v->num]);
    else
        for (int64_t k = 0; k < v->num && strlen(buf) + 1 < size; k++)
            snprintf(buf + strlen(buf), size - strlen(buf), k ? ",%lld" : "%lld", (long long)v->list[k]);
}

const char *vae_model_config_diff(const vae_model_config *a, const vae_model_config *b, char *buf, size_t size)
{
    if (a->family != b->family) {
        snprintf(buf, size, "model %s against %s", a->family->name, b->family->name);
        return buf;
    }
    if (a->vocab_size != b->vocab_size) {
        snprintf(buf, size, "vocab_size %lld against %lld", (long long)a->vocab_size, (long long)b->vocab_size);
        return buf;
    }
    for (int i = 0; i < a->family->num_settings; i++) {
        const vae_setting_value *x = &a->values[i], *y = &b->values[i];
        int same = x->num == y->num && x->real == y->real;
        for (int64_t k = 0; same && a->family->settings[i].kind == VAE_SETTING_LIST && k < x->num; k++)
            same = x->list[k] == y->list[k];
        if (!same) {
            char ta[256], tb[256];
            vae_model_config_text(a, i, ta, sizeof ta);
            vae_model_config_text(b, i, tb, sizeof tb);
            snprintf(buf, size, "%s %s against %s", a->family->settings[i].key, ta, tb);
            return buf;
        }
    }
    return NULL;
}

/* Each value within its setting's rules: a configuration filled in by hand, not by set, too. */
static int check_values(const vae_model_config *c)
{
    if (!c->family)
        return vae_fail(VAE_ERR_ARG, "the model configuration names no family");
    for (int i = 0; i < c->family->num_settings; i++) {
        const vae_setting_spec *sp = &c->family->settings[i];
        const vae_setting_value *v = &c->values[i];
        const char *name = c->family->name;
        int choices = 0;
        while (sp->kind == VAE_SETTING_CHOICE && sp->choices[choices])
            choices++;
        if (sp->kind == VAE_SETTING_CHOICE && (v->num < 0 || v->num >= choices))
            return vae_fail(VAE_ERR_ARG, "the %s model's %s is choice %lld of %d", name, sp->key,
                            (long long)v->num, choices);
        if (sp->kind == VAE_SETTING_REAL && !(v->real >= sp->real_lo && v->real <= sp->real_hi))
            return vae_fail(VAE_ERR_ARG, "the %s model's %s is %g, not in [%g, %g]", name, sp->key, v->real,
                            sp->real_lo, sp->real_hi);
        if (sp->kind == VAE_SETTING_INT && (v->num < sp->lo || v->num > sp->hi))
            return vae_fail(VAE_ERR_ARG, "the %s model's %s is %lld, not in [%lld, %lld]", name, sp->key,
                            (long long)v->num, (long long)sp->lo, (long long)sp->hi);
        if (sp->kind != VAE_SETTING_LIST)
            continue;
        if (v->num < sp->min_count || v->num > sp->max_count)
            return vae_fail(VAE_ERR_ARG, "the %s model's %s has %lld entries, not %d to %d", name, sp->key,
                            (long long)v->num, sp->min_count, sp->max_count);
        for (int64_t k = 0; k < v->num; k++)
            if (v->list[k] < sp->lo || v->list[k] > sp->hi)
                return vae_fail(VAE_ERR_ARG, "the %s model's %s: entry %lld is %lld, not in [%lld, %lld]", name,
                                sp->key, (long long)k, (long long)v->list[k], (long long)sp->lo,
                                (long long)sp->hi);
    }
    return VAE_OK;
}

int vae_layout_compute(const vae_model_config *c, vae_layout *layout)
{
    vae_layout state;
    int rc = check_values(c);
    return rc == VAE_OK ? c->family->layout(c, layout, &state) : rc;
}

int vae_state_layout_compute(const vae_model_config *c, vae_layout *layout)
{
    vae_layout params;
    int rc = check_values(c);
    return rc == VAE_OK ? c->family->layout(c, &params, layout) : rc;
}
