/* Helpers of the tests of command-line tables (test_cli.c, test_train_cli.c): a command line run
 * through a table, and --help's text and the lines of one flag in it. Included after cmocka.h. */
#ifndef VAE_TEST_CLI_HELP_H
#define VAE_TEST_CLI_HELP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){NULL})

/* Parses {"prog", args..., NULL} from index 1 by t into the struct at o. */
static __attribute__((unused)) int run_table(const cli_table *t, cli_args *a, void *o, const char *const *args)
{
    static char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"prog";
    for (int i = 0; args[i]; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    return cli_run(a, t, o, argc, argv, 1);
}

/* cli_help of t with the defaults in o, in a buffer the caller frees. */
static __attribute__((unused)) char *help_text(const cli_table *t, const void *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli_help(t, o, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* The lines of --help that document --name, joined. */
static __attribute__((unused)) const char *help_line(const char *help, const char *name, char *line, size_t size)
{
    char flag[80];
    snprintf(flag, sizeof flag, "--%s ", name);
    const char *p = strstr(help, flag);
    if (!p) {
        snprintf(flag, sizeof flag, "--%s\n", name);
        p = strstr(help, flag);
    }
    assert_non_null(p);
    const char *start = p, *end = p;
    while (start > help && start[-1] != '\n')
        start--;
    /* The entry may continue on lines indented past the flag column. */
    for (end = strchr(p, '\n'); end && end[1] == ' ' && end[2] == ' ' && end[3] == ' '; end = strchr(end + 1, '\n'))
        ;
    /* Its words, each separated by one space (as wrapped lines join). */
    size_t n = 0;
    for (const char *q = start; q < (end ? end : start + strlen(start)) && n + 1 < size; q++)
        if (!(*q == ' ' || *q == '\n') || (n > 0 && line[n - 1] != ' '))
            line[n++] = *q == '\n' ? ' ' : *q;
    line[n] = '\0';
    return line;
}

#endif
