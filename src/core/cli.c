/* Command-line tables: parsing, --config, storing typed values and --help; see cli.h. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vae/common.h"

enum { HELP_WIDTH = 100, MAX_LIST = 64, NOT_FOUND = -1, IS_HELP = -2, IS_VERSION = -3, IS_CONFIG = -4 };

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
    return CLI_USAGE;
}

/* "prog: <message> (see --help)" */
static int usage(const cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const cli_args *a, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cli_say("%s: %s (see --help)\n", a->table->prog, msg);
}

/* ---- fields: integers and reals of the sizes C gives them, copied so that any type works ---- */

typedef union {
    int64_t i8;
    int32_t i4;
    double f8;
    float f4;
} number;

static number read_field(const char *field, size_t size)
{
    number v = {0};
    memcpy(&v, field, size);
    return v;
}

static int64_t get_int(const char *field, size_t size)
{
    const number v = read_field(field, size);
    return size == sizeof(int64_t) ? v.i8 : v.i4;
}

static void put_int(char *field, size_t size, int64_t x)
{
    number v;
    if (size == sizeof(int64_t))
        v.i8 = x;
    else
        v.i4 = (int32_t)x;
    memcpy(field, &v, size);
}

static int choice_index(const char *const *choices, const char *v)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], v) == 0)
            return i;
    return NOT_FOUND;
}

/* "a|b|c" into buf. */
static void join_choices(const char *const *choices, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; choices[i]; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "|" : "", choices[i]);
}

/* ---- parsing ---- */

static int find(const cli_table *t, const char *name, size_t len)
{
    for (int i = 0; i < t->num_entries; i++)
        if (t->entries[i].name && strlen(t->entries[i].name) == len && strncmp(t->entries[i].name, name, len) == 0)
            return i;
    if (len == 4 && strncmp(name, "help", 4) == 0)
        return IS_HELP;
    if (len == 7 && strncmp(name, "version", 7) == 0)
        return IS_VERSION;
    if (t->config && len == 6 && strncmp(name, "config", 6) == 0)
        return IS_CONFIG;
    return NOT_FOUND;
}

static int find_alias(const cli_table *t, const char *arg)
{
    for (int i = 0; i < t->num_entries; i++)
        if (t->entries[i].alias && strcmp(t->entries[i].alias, arg) == 0)
            return i;
    return strcmp(arg, "-h") == 0 ? IS_HELP : NOT_FOUND;
}

static int takes_value(const cli_table *t, int k)
{
    return k == IS_CONFIG || (k >= 0 && t->entries[k].kind != CLI_SWITCH);
}

static const char *entry_name(const cli_table *t, int k)
{
    return k == IS_HELP ? "help" : k == IS_VERSION ? "version" : k == IS_CONFIG ? "config" : t->entries[k].name;
}

static int parse_argv(cli_args *a, int argc, char **argv, int first)
{
    const cli_table *t = a->table;
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
        const char *eq = NULL;
        int k = find_alias(t, arg);
        if (k == NOT_FOUND && arg[1] == '-') {
            eq = strchr(arg + 2, '=');
            k = find(t, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
        }
        if (k == NOT_FOUND)
            return usage(a, "unknown option %s", arg);
        const char *value = "1";
        if (!takes_value(t, k)) {
            if (eq)
                return usage(a, "option --%s takes no value", entry_name(t, k));
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage(a, "option --%s needs a value", entry_name(t, k));
        }
        if (k == IS_HELP)
            a->help = 1;
        else if (k == IS_VERSION)
            a->version = 1;
        else if (k == IS_CONFIG && a->config_path)
            return usage(a, "--config given twice (%s, then %s): one config file a run", a->config_path, value);
        else if (k == IS_CONFIG)
            a->config_path = value;
        else {
            a->values[k] = value;
            a->from_cli[k] = 1;
        }
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

/* The value of a config line after its '=': in quotes ("..." or '...', which are stripped, and may
 * hold '#' and white space) or bare up to a comment, which starts at a '#' after white space (so
 * that a value such as a#b stays whole); NULL when a quote is not closed or text follows it. */
static char *config_value(char *v)
{
    v = trim(v);
    if (*v == '"' || *v == '\'') {
        char *close = strchr(v + 1, *v);
        if (!close)
            return NULL;
        char *rest = trim(close + 1);
        if (*rest && *rest != '#')
            return NULL;
        *close = '\0';
        return v + 1;
    }
    for (char *p = v; *p; p++)
        if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
            *p = '\0';
            break;
        }
    return trim(v);
}

/* `key = value` lines (comments, blank lines) into the flags the command line did not give. */
static int load_config(cli_args *a, const char *path)
{
    const char *prog = a->table->prog;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_say("%s: --config %s: cannot open: %s\n", prog, path, strerror(errno));
        return 1;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || size > (1L << 24) || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        cli_say("%s: --config %s: not a readable file of at most 16 MiB\n", prog, path);
        return 1;
    }
    a->config_text = malloc((size_t)size + 1);
    if (!a->config_text || fread(a->config_text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        cli_say("%s: --config %s: cannot read\n", prog, path);
        return 1;
    }
    fclose(f);
    a->config_text[size] = '\0';
    int lineno = 0;
    for (char *line = a->config_text; line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = trim(line);
        line = next;
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            cli_say("%s: --config %s: line %d: expected key = value\n", prog, path, lineno);
            return CLI_USAGE;
        }
        *eq = '\0';
        char *key = trim(s), *value = config_value(eq + 1);
        if (!value) {
            cli_say("%s: --config %s: line %d: a quote is not closed, or text follows it\n", prog, path, lineno);
            return CLI_USAGE;
        }
        if (key[0] == '-' && key[1] == '-')
            key += 2;
        const int k = find(a->table, key, strlen(key));
        if (k == IS_HELP || k == IS_VERSION || k == IS_CONFIG) {
            cli_say("%s: --config %s: line %d: '%s' is a command-line flag, not a setting of a config file\n",
                    prog, path, lineno, key);
            return CLI_USAGE;
        }
        if (k < 0) {
            cli_say("%s: --config %s: line %d: unknown key '%s'\n", prog, path, lineno, key);
            return CLI_USAGE;
        }
        if (a->from_cli[k])
            continue;
        if (a->table->entries[k].kind == CLI_SWITCH) {
            const int yes = strcmp(value, "true") == 0 || strcmp(value, "1") == 0;
            if (!yes && strcmp(value, "false") && strcmp(value, "0")) {
                cli_say("%s: --config %s: line %d: %s takes true or false\n", prog, path, lineno, key);
                return CLI_USAGE;
            }
            a->values[k] = yes ? "1" : NULL;
        } else {
            a->values[k] = value;
        }
    }
    return 0;
}

/* ---- typed values ---- */

static int store_int(cli_args *a, const cli_entry *e, const char *v, char *field)
{
    char *end;
    errno = 0;
    const long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0')
        return usage(a, "--%s: '%s' is not an integer", e->name, v);
    if (x < e->min || x > e->max)
        return usage(a, "--%s: %lld is out of range [%lld, %lld]", e->name, x, (long long)e->min, (long long)e->max);
    put_int(field, e->size, x);
    return 0;
}

static int store_real(cli_args *a, const cli_entry *e, const char *v, char *field)
{
    char *end;
    errno = 0;
    const double x = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !isfinite(x))
        return usage(a, "--%s: '%s' is not a finite number", e->name, v);
    if (x < e->lo || x > e->hi || (e->open_lo && x == e->lo))
        return usage(a, "--%s: %g is out of range %c%g, %g]", e->name, x, e->open_lo ? '(' : '[', e->lo, e->hi);
    number n;
    if (e->size == sizeof(double))
        n.f8 = x;
    else
        n.f4 = (float)x;
    memcpy(field, &n, e->size);
    return 0;
}

static int store_choice(cli_args *a, const cli_entry *e, const char *v, char *field)
{
    const int k = choice_index(e->choices, v);
    if (k == NOT_FOUND) {
        char allowed[256];
        join_choices(e->choices, allowed, sizeof allowed);
        return usage(a, "--%s: '%s' is not one of %s", e->name, v, allowed);
    }
    if (e->kind == CLI_CHOICE)
        put_int(field, e->size, k);
    else
        memcpy(field, &e->choices[k], sizeof(const char *));
    return 0;
}

static int store_list(cli_args *a, const cli_entry *e, const char *v, char *base)
{
    const int max = (int)(e->size / sizeof(int));
    int list[MAX_LIST], n = 0;
    for (const char *s = v; *s;) {
        char *end;
        errno = 0;
        const long x = strtol(s, &end, 10);
        if (errno || end == s || x <= 0 || x > (1L << 24) || (*end && *end != ','))
            return usage(a, "--%s: '%s' is not a comma-separated list of positive integers", e->name, v);
        if (n == max || n == MAX_LIST)
            return usage(a, "--%s: at most %d entries", e->name, max);
        list[n++] = (int)x;
        if (*end == ',' && end[1] == '\0')
            return usage(a, "--%s: '%s' ends with a comma", e->name, v);
        s = *end ? end + 1 : end;
    }
    if (n < e->min)
        return usage(a, "--%s: needs at least %lld entr%s", e->name, (long long)e->min, e->min == 1 ? "y" : "ies");
    memcpy(base + e->offset, list, sizeof(int) * (size_t)n);
    memcpy(base + e->count_offset, &n, sizeof n);
    return 0;
}

static int store(cli_args *a, const cli_entry *e, const char *v, char *base)
{
    char *field = base + e->offset;
    switch (e->kind) {
    case CLI_SWITCH:
        put_int(field, e->size, e->on);
        return 0;
    case CLI_INT:
        return store_int(a, e, v, field);
    case CLI_REAL:
        return store_real(a, e, v, field);
    case CLI_STRING:
        if (e->choices)
            return store_choice(a, e, v, field);
        memcpy(field, &v, sizeof v);
        return 0;
    case CLI_CHOICE:
        return store_choice(a, e, v, field);
    case CLI_LIST:
        return store_list(a, e, v, base);
    case CLI_HEADING:
        break;
    }
    return 0;
}

int cli_run(cli_args *a, const cli_table *t, void *opts, int argc, char **argv, int first)
{
    memset(a, 0, sizeof *a);
    a->table = t;
    a->values = calloc((size_t)t->num_entries + 1, sizeof *a->values);
    a->from_cli = calloc((size_t)t->num_entries + 1, 1);
    a->positional = calloc((size_t)(argc > 0 ? argc : 1), sizeof *a->positional);
    if (!a->values || !a->from_cli || !a->positional) {
        cli_say("%s: out of memory\n", t->prog);
        return 1;
    }
    int rc = parse_argv(a, argc, argv, first);
    if (rc != 0)
        return rc;
    if (a->help) {
        if (!silent)
            cli_help(t, opts, stdout);
        return CLI_EXIT;
    }
    if (a->version) {
        if (!silent)
            printf("%s %s\n", t->prog, vae_version());
        return CLI_EXIT;
    }
    if (a->config_path && (rc = load_config(a, a->config_path)) != 0)
        return rc;
    if (!t->positional && a->num_positional > 0)
        return usage(a, "unexpected argument '%s'", a->positional[0]);
    for (int i = 0; i < t->num_entries; i++) {
        const cli_entry *e = &t->entries[i];
        if (e->required && !a->values[i])
            return e->alias ? usage(a, "--%s (%s) is required", e->name, e->alias)
                            : usage(a, "--%s is required", e->name);
    }
    for (int i = 0; i < t->num_entries; i++)
        if (a->values[i] && (rc = store(a, &t->entries[i], a->values[i], opts)) != 0)
            return rc;
    return 0;
}

void cli_free(cli_args *a)
{
    free(a->values);
    free(a->from_cli);
    free(a->positional);
    free(a->config_text);
    memset(a, 0, sizeof *a);
}

int cli_given(const cli_args *a, const char *name)
{
    const int k = find(a->table, name, strlen(name));
    return k >= 0 && a->values[k] != NULL;
}

/* ---- --help ---- */

/* Writes text's words from column *col on, wrapping at HELP_WIDTH to column indent; whole: text
 * is one word (a short parenthesis is not split). */
static void wrap(FILE *out, int *col, int indent, const char *text, int whole)
{
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        const size_t n = whole ? strlen(p) : strcspn(p, " ");
        if (n == 0)
            break;
        if (*col > indent && *col + 1 + (int)n > HELP_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            *col = indent;
        } else if (*col > indent) {
            fputc(' ', out);
            (*col)++;
        }
        fwrite(p, 1, n, out);
        *col += (int)n;
        p += n;
    }
}

/* "--name META" ("-o, --name META" with an alias; a choice without a placeholder shows its
 * choices); in a synopsis, as users type it: the alias alone when there is one. */
static void flag_text(const cli_entry *e, int synopsis, char *buf, size_t size)
{
    char choices[256] = "";
    if (e->choices && !e->meta)
        join_choices(e->choices, choices, sizeof choices);
    const char *value = e->kind == CLI_SWITCH ? "" : e->meta ? e->meta : choices, *space = *value ? " " : "";
    if (synopsis && e->alias)
        snprintf(buf, size, "%s%s%s", e->alias, space, value);
    else
        snprintf(buf, size, "%s%s--%s%s%s", e->alias ? e->alias : "", e->alias ? ", " : "", e->name, space, value);
}

/* The default, read from the entry's field, into buf ("" when there is none to show). */
static void default_text(const cli_entry *e, const void *opts, char *buf, size_t size)
{
    const char *field = (const char *)opts + e->offset;
    const char *s = NULL;
    buf[0] = '\0';
    if (e->default_text) {
        snprintf(buf, size, "%s", e->default_text);
        return;
    }
    if (e->required)
        return;
    switch (e->kind) {
    case CLI_INT:
        snprintf(buf, size, "default %lld", (long long)get_int(field, e->size));
        break;
    case CLI_REAL:
        snprintf(buf, size, "default %g", e->size == sizeof(double) ? read_field(field, e->size).f8
                                                                     : read_field(field, e->size).f4);
        break;
    case CLI_STRING:
        memcpy(&s, field, sizeof s);
        if (s && *s)
            snprintf(buf, size, "default %s", s);
        break;
    case CLI_CHOICE: {
        const int64_t k = get_int(field, e->size);
        int n = 0;
        while (e->choices[n])
            n++;
        if (k >= 0 && k < n)
            snprintf(buf, size, "default %s", e->choices[k]);
        break;
    }
    case CLI_LIST: {
        int n, list[MAX_LIST];
        memcpy(&n, (const char *)opts + e->count_offset, sizeof n);
        n = n < 0 ? 0 : n > MAX_LIST ? MAX_LIST : n;
        memcpy(list, field, sizeof(int) * (size_t)n);
        snprintf(buf, size, "default %s", n ? "" : "none");
        for (int i = 0; i < n; i++)
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%d", i ? "," : "", list[i]);
        break;
    }
    case CLI_SWITCH:
    case CLI_HEADING:
        break;
    }
}

/* The column where the help texts start: past the longest flag of reasonable length. */
static int help_column(const cli_table *t, int indent)
{
    int col = indent + (int)strlen("--help, --version") + 2;
    for (int i = 0; i < t->num_entries; i++) {
        char flag[320];
        if (!t->entries[i].name)
            continue;
        flag_text(&t->entries[i], 0, flag, sizeof flag);
        const int w = indent + (int)strlen(flag) + 2;
        col = w > col && w <= indent + 28 ? w : col;
    }
    return col;
}

static void entry_line(FILE *out, int indent, int column, const char *flag, const char *help, const char *paren)
{
    int col = fprintf(out, "%*s%s", indent, "", flag);
    if (col + 1 > column) {
        fputc('\n', out);
        col = 0;
    }
    fprintf(out, "%*s", column - col, "");
    col = column;
    wrap(out, &col, column, help, 0);
    if (paren[0]) {
        char text[600];
        snprintf(text, sizeof text, "(%s)", paren);
        wrap(out, &col, column, text, strlen(text) <= 24);
    }
    fputc('\n', out);
}

void cli_help_entries(const cli_table *t, const void *opts, int indent, FILE *out)
{
    const int column = help_column(t, indent);
    for (int i = 0; i < t->num_entries; i++) {
        const cli_entry *e = &t->entries[i];
        if (e->kind == CLI_HEADING) {
            cli_paragraph(out, 0, e->help);
            continue;
        }
        char flag[320], paren[512] = "", def[256];
        flag_text(e, 0, flag, sizeof flag);
        if (e->choices && e->meta)
            join_choices(e->choices, paren, sizeof paren);
        default_text(e, opts, def, sizeof def);
        if (def[0])
            snprintf(paren + strlen(paren), sizeof paren - strlen(paren), "%s%s", paren[0] ? "; " : "", def);
        entry_line(out, indent, column, flag, e->help ? e->help : "", paren);
    }
}

void cli_paragraph(FILE *out, int indent, const char *text)
{
    int col = fprintf(out, "%*s", indent, "");
    wrap(out, &col, indent, text, 0);
    fputc('\n', out);
}

void cli_help(const cli_table *t, const void *opts, FILE *out)
{
    const int column = help_column(t, 2);
    fputs(t->usage, out);
    cli_help_entries(t, opts, 2, out);
    if (t->config)
        entry_line(out, 2, column, "--config FILE", "lines of `key = value` with these flags' names (switches: true or "
                   "false; a value may be quoted; '#' at the start of a line or after white space starts a comment), "
                   "for the flags the command line does not give; once", "");
    entry_line(out, 2, column, "--help, --version", "this text; the version", "");
    if (t->epilog)
        fputs(t->epilog, out);
}

void cli_synopsis(const cli_table *t, FILE *out)
{
    for (int i = 0, first = 1; i < t->num_entries; i++) {
        const cli_entry *e = &t->entries[i];
        if (!e->name)
            continue;
        char flag[320];
        flag_text(e, 1, flag, sizeof flag);
        fprintf(out, "%s%s%s%s", first ? "" : " ", e->required ? "" : "[", flag, e->required ? "" : "]");
        first = 0;
    }
}
