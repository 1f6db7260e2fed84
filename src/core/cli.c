/* Option parsing shared by vae-prep, vae-dist and vae-infer; see cli.h for the rules. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int silent;

void cli_set_silent(int on) { silent = on; }

int cli_say(const char *fmt, ...)
{
    if (!silent) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    return 2;
}

static int usage_error(const cli_args *a, const char *fmt, const char *what, const char *detail)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, what, detail);
    return cli_say("%s: %s (see --help)\n", a->prog, msg);
}

cli_opt *cli_find(cli_args *a, const char *name)
{
    for (int i = 0; i < a->num_opts; i++)
        if (strcmp(a->opts[i].name, name) == 0)
            return &a->opts[i];
    return NULL;
}

int cli_given(cli_args *a, const char *name)
{
    cli_opt *o = cli_find(a, name);
    return o && o->value;
}

static cli_opt *find_len(cli_args *a, const char *name, size_t len)
{
    for (int i = 0; i < a->num_opts; i++)
        if (strlen(a->opts[i].name) == len && strncmp(a->opts[i].name, name, len) == 0)
            return &a->opts[i];
    return NULL;
}

int cli_parse(cli_args *a, const char *prog, cli_opt *opts, int num_opts, int argc, char **argv,
              int first)
{
    memset(a, 0, sizeof *a);
    a->prog = prog;
    a->opts = opts;
    a->num_opts = num_opts;
    a->positional = calloc((size_t)(argc > 0 ? argc : 1), sizeof *a->positional);
    if (!a->positional) {
        cli_say("%s: out of memory\n", prog);
        return 1;
    }
    int only_positional = 0;
    for (int i = first; i < argc; i++) {
        char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            a->positional[a->num_positional++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (arg[1] != '-')
            return usage_error(a, "unknown option %s%s", arg, "");
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = find_len(a, name, len);
        if (!o)
            return usage_error(a, "unknown option %s%s", arg, "");
        if (!o->takes_value) {
            if (eq)
                return usage_error(a, "option --%s takes no value%s", o->name, "");
            o->value = "1";
        } else if (eq) {
            o->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return usage_error(a, "option --%s needs a value%s", o->name, "");
            o->value = argv[++i];
        }
        o->from_cli = 1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int cli_load_config(cli_args *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_say("%s: --config %s: cannot open: %s\n", a->prog, path, strerror(errno));
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 0 || size > (1L << 24)) {
        fclose(f);
        cli_say("%s: --config %s: not a readable file of at most 16 MiB\n", a->prog, path);
        return 1;
    }
    if (a->config_storage) {
        cli_say("%s: --config given twice\n", a->prog);
        return 2;
    }
    a->config_storage = malloc((size_t)size + 1);
    if (!a->config_storage || fread(a->config_storage, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        cli_say("%s: --config %s: cannot read\n", a->prog, path);
        return 1;
    }
    fclose(f);
    a->config_storage[size] = '\0';
    int lineno = 0;
    for (char *line = a->config_storage; line; ) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        line = next;
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            cli_say("%s: --config %s: line %d: expected key = value\n", a->prog, path, lineno);
            return 2;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        if (key[0] == '-' && key[1] == '-')
            key += 2;
        cli_opt *o = cli_find(a, key);
        if (!o || strcmp(key, "config") == 0) {
            cli_say("%s: --config %s: line %d: unknown key '%s'\n", a->prog, path, lineno, key);
            return 2;
        }
        if (o->from_cli)
            continue;
        if (!o->takes_value) {
            if (strcmp(value, "true") && strcmp(value, "1") && strcmp(value, "false") && strcmp(value, "0")) {
                cli_say("%s: --config %s: line %d: %s takes true or false\n", a->prog, path,
                        lineno, key);
                return 2;
            }
            o->value = (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) ? "1" : NULL;
        } else {
            o->value = value;
        }
    }
    return 0;
}

void cli_free(cli_args *a)
{
    free(a->positional);
    free(a->config_storage);
    a->positional = NULL;
    a->config_storage = NULL;
}

int cli_get_int(cli_args *a, const char *name, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    cli_opt *o = cli_find(a, name);
    if (!o || !o->value) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(o->value, &end, 10);
    if (errno || end == o->value || *end != '\0')
        return usage_error(a, "--%s: '%s' is not an integer", name, o->value);
    if (v < lo || v > hi) {
        cli_say("%s: --%s: %lld is out of range [%lld, %lld] (see --help)\n", a->prog, name,
                v, (long long)lo, (long long)hi);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_get_double(cli_args *a, const char *name, double def, double lo, double hi, double *out)
{
    cli_opt *o = cli_find(a, name);
    if (!o || !o->value) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(o->value, &end);
    if (errno || end == o->value || *end != '\0' || !isfinite(v))
        return usage_error(a, "--%s: '%s' is not a finite number", name, o->value);
    if (v < lo || v > hi) {
        cli_say("%s: --%s: %g is out of range [%g, %g] (see --help)\n", a->prog, name, v, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

const char *cli_get_str(cli_args *a, const char *name, const char *def)
{
    cli_opt *o = cli_find(a, name);
    return o && o->value ? o->value : def;
}

int cli_get_choice(cli_args *a, const char *name, const char *const *choices, int def, int *out)
{
    cli_opt *o = cli_find(a, name);
    if (!o || !o->value) {
        *out = def;
        return 0;
    }
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], o->value) == 0) {
            *out = i;
            return 0;
        }
    char allowed[256] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(allowed, i ? "|" : "", sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, choices[i], sizeof allowed - strlen(allowed) - 1);
    }
    cli_say("%s: --%s: '%s' is not one of %s (see --help)\n", a->prog, name, o->value, allowed);
    return 2;
}

int cli_get_int_list(cli_args *a, const char *name, const char *def, int *out, int max, int *count)
{
    const char *s = cli_get_str(a, name, def);
    *count = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v <= 0 || v > (1L << 24) || (*end && *end != ','))
            return usage_error(a, "--%s: '%s' is not a comma-separated list of positive integers",
                               name, cli_get_str(a, name, def));
        if (*count == max) {
            cli_say("%s: --%s: at most %d entries\n", a->prog, name, max);
            return 2;
        }
        out[(*count)++] = (int)v;
        if (*end == ',' && end[1] == '\0')
            return usage_error(a, "--%s: '%s' ends with a comma", name, cli_get_str(a, name, def));
        s = *end ? end + 1 : end;
    }
    return 0;
}
