/* Command lines (SPEC.md "Command lines"): a program describes its flags once, in a table of
 * cli_entry, and that table is the single source of its --help text, its parsing and validation
 * and the defaults it shows. Each entry names the field of the program's options struct that
 * receives the value; the caller fills that struct with the library's defaults first, parsing
 * writes only the fields of the flags given, and --help prints the defaults read from the same
 * struct, so the defaults shown, the defaults used and the library's cannot disagree.
 *
 * Rules: `--name value` and `--name=value` both work, the last of a repeated flag wins, "--" ends
 * the flags, an unknown or malformed flag is a usage error (exit status 2) with a one-line message
 * naming it, and `--config FILE` lines of `key = value` fill the flags the command line did not
 * give. --help, -h and --version are built in. */
#ifndef VAE_CLI_H
#define VAE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CLI_HEADING, /* not a flag: its help is a line of --help (a section title, a note) */
    CLI_SWITCH,  /* no value: the integer field gets `on` when given */
    CLI_INT,     /* int or int64_t (or an unsigned or enum of that size) in [min, max] */
    CLI_REAL,    /* double or float in [lo, hi], or (lo, hi] with open_lo */
    CLI_STRING,  /* const char *: points into argv or the config file's text (cli_args owns it);
                    with choices, it must be one of them and points to that choice */
    CLI_CHOICE,  /* an integer (or enum) field gets the index of the value among choices */
    CLI_LIST     /* comma-separated positive integers into an int array of `size` bytes; the int
                    at count_offset gets how many; at least min of them; "" is the empty list */
} cli_kind;

typedef struct {
    const char *name;  /* long name without the dashes, e.g. "batch-size"; NULL for a heading */
    const char *meta;  /* the value's placeholder in --help ("N"); a choice's NULL shows a|b|c */
    const char *help;  /* one paragraph; --help wraps it */
    cli_kind kind;
    size_t offset, size; /* the field in the options struct: CLI_AT fills both */
    int64_t min, max;    /* CLI_INT's range; CLI_LIST's least number of entries (min) */
    double lo, hi;       /* CLI_REAL's range */
    int open_lo;         /* CLI_REAL: the value must be above lo */
    int64_t on;          /* CLI_SWITCH: what the field gets when the switch is given */
    const char *const *choices; /* CLI_CHOICE, CLI_STRING: the values allowed, NULL-terminated */
    size_t count_offset;        /* CLI_LIST: the int field that gets the number of entries */
    const char *alias;          /* a short spelling, e.g. "-o" */
    int required;
    /* What --help says of the default when the field's value is not what a user gives (a
     * default computed at run time, a "no limit" sentinel): printed in its place, in the
     * parentheses. NULL: "default <the field's value>" (none for switches, empty strings and
     * required flags). */
    const char *default_text;
} cli_entry;

/* The field of an options struct: `{"seed", "S", "...", CLI_INT, CLI_AT(opts, seed), ...}`. */
#define CLI_AT(type, field) .offset = offsetof(type, field), .size = sizeof(((type *)0)->field)
/* A table's entries: `.entries` and `.num_entries` of a static array. */
#define CLI_ENTRIES(array) .entries = (array), .num_entries = (int)(sizeof(array) / sizeof((array)[0]))

typedef struct {
    const char *prog;       /* "vae-dist": names the messages */
    const char *usage;      /* --help's text before the flags: the synopsis and what it does */
    const char *epilog;     /* after the flags, or NULL */
    const cli_entry *entries;
    int num_entries;
    int config;             /* takes --config FILE */
    const char *positional; /* what arguments that are not flags are ("INPUT"); NULL: none allowed */
} cli_table;

/* What a parse found, for the checks that span several flags (cli_given) and for the arguments
 * that are not flags. The values stored point into argv and config_text, so a cli_args lives as
 * long as the options struct is used. */
typedef struct {
    const cli_table *table;
    const char **values;   /* [num_entries]: the text given, NULL when not given */
    unsigned char *from_cli; /* [num_entries]: given on the command line (beats the config file) */
    const char *config_path;
    char *config_text;     /* the config file's text, owned here */
    char **positional;     /* the arguments that are not flags, in order (argv's strings) */
    int num_positional;
    int help, version;
} cli_args;

/* The usage status, and cli_run's status after printing --help or --version (exit status 0). */
enum { CLI_USAGE = 2, CLI_EXIT = -1 };

/* Silences every message and --help (ranks other than 0 parse quietly); cli_say prints like
 * fprintf(stderr) unless silenced and returns CLI_USAGE, for a program's own usage errors. */
void cli_set_silent(int on);
int cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses argv[first..argc) by t and stores every value given into the struct at opts (filled
 * with the defaults beforehand). --help prints cli_help and --version "prog <version>" on stdout
 * and return CLI_EXIT with opts untouched. Otherwise reads --config FILE, then checks the
 * positional arguments, the required flags and each value (in the table's order), storing as it
 * goes. Returns 0; CLI_USAGE after "prog: <what is wrong> (see --help)" on stderr; 1 when the
 * config file cannot be read or memory runs out. cli_free(a) in every case. */
int cli_run(cli_args *a, const cli_table *t, void *opts, int argc, char **argv, int first);
void cli_free(cli_args *a);
/* Whether the flag was given (on the command line or in the config file). */
int cli_given(const cli_args *a, const char *name);

/* --help: t's usage, a line for each entry (its help, its choices, its default read from opts),
 * --config, --help and --version, then the epilog. */
void cli_help(const cli_table *t, const void *opts, FILE *out);
/* The flags of t as a synopsis, "--checkpoint C --corpus F [--split S] [--json]" (required ones
 * bare), for a program that lists several commands. */
void cli_synopsis(const cli_table *t, FILE *out);
/* The entries' lines alone, indented by indent columns. */
void cli_help_entries(const cli_table *t, const void *opts, int indent, FILE *out);
/* text wrapped as --help wraps, each line indented by indent columns, and a newline. */
void cli_paragraph(FILE *out, int indent, const char *text);

#endif
