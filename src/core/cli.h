/* Command-line options shared by the three programs (SPEC.md "Command lines"): `--name value` and
 * `--name=value` both work, the last of a repeated option wins, an unknown or malformed option is a
 * usage error (exit status 2) with a one-line message naming it, and `--config FILE` lines of
 * `key = value` fill the options the command line did not give. */
#ifndef VAE_CLI_H
#define VAE_CLI_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;   /* long name without the dashes, e.g. "batch-size" */
    int takes_value;    /* 0: a switch (value becomes "1" when given) */
    const char *value;  /* NULL until given; points into argv or the config's storage */
    int from_cli;       /* given on the command line (beats the config file) */
} cli_opt;

typedef struct {
    const char *prog;
    cli_opt *opts;
    int num_opts;
    char **positional;  /* arguments that are not options, in order; malloc'ed, argv's strings */
    int num_positional;
    char *config_storage; /* the config file's text, owned here */
} cli_args;

/* Silences every message (ranks other than 0 parse quietly); cli_say prints like fprintf(stderr)
 * unless silenced and returns 2, the usage exit status. */
void cli_set_silent(int on);
int cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses argv[first..argc). Returns 0, or 2 after printing "prog: <what is wrong>" on stderr.
 * "--" ends the options. */
int cli_parse(cli_args *a, const char *prog, cli_opt *opts, int num_opts, int argc, char **argv,
              int first);
/* Reads `key = value` lines (# comments, blank lines) into the options not given on the command
 * line. Returns 0, 1 when the file cannot be read, 2 for an unknown key or a malformed line. */
int cli_load_config(cli_args *a, const char *path);
void cli_free(cli_args *a);

cli_opt *cli_find(cli_args *a, const char *name);
int cli_given(cli_args *a, const char *name);

/* Typed getters: the option's value (or def when not given) checked against [lo, hi]. A malformed
 * or out-of-range value prints "prog: --name: ..." and returns 2. */
int cli_get_int(cli_args *a, const char *name, int64_t def, int64_t lo, int64_t hi, int64_t *out);
int cli_get_double(cli_args *a, const char *name, double def, double lo, double hi, double *out);
const char *cli_get_str(cli_args *a, const char *name, const char *def);
/* Chooses the value among choices[0..n) (NULL-terminated list), returning its index in *out. */
int cli_get_choice(cli_args *a, const char *name, const char *const *choices, int def, int *out);
/* A comma-separated list of positive integers, "" meaning none; at most max entries. */
int cli_get_int_list(cli_args *a, const char *name, const char *def, int *out, int max, int *count);

#endif
