/* vae-dist's command line: its one option table (cli.h), made of the trainer's flags, whose
 * entries store into a vae_train_config filled by vae_train_config_default, and of --model and
 * every model family's settings (family.h), whose defaults, ranges and choices come from the
 * families, so that --help's defaults are the library's. Next to the trainer, so that its unit
 * test sees the very table the program runs. */
#ifndef VAE_TRAIN_CLI_H
#define VAE_TRAIN_CLI_H

#include "cli.h"
#include "vae/family.h"
#include "vae/train.h"

enum { TRAIN_CLI_MAX_SETTINGS = 32, TRAIN_CLI_MAX_FAMILIES = 16, TRAIN_CLI_MAX_ENTRIES = 80 };

/* What cli_run fills (its base): the configuration, then the text of --model and of each setting. */
typedef struct {
    vae_train_config config; /* first: the trainer's entries address it from the struct's start */
    const char *model;
    const char *setting[TRAIN_CLI_MAX_SETTINGS];
    int shard_optimizer; /* --shard-optimizer, the old name of --gradient-exchange sharded */
} train_cli_values;

/* The values of the on/off flags: "off" is 0, "on" 1. */
extern const char *const train_cli_off_on[];

typedef struct {
    train_cli_values v;
    cli_table table;
    int num_settings;
    const char *keys[TRAIN_CLI_MAX_SETTINGS]; /* every family's settings, each key once */
    char flags[TRAIN_CLI_MAX_SETTINGS][40];   /* their flags: the key with '-' for '_' */
    char helps[TRAIN_CLI_MAX_SETTINGS][160];
    char defaults[TRAIN_CLI_MAX_SETTINGS][96];
    const char *families[TRAIN_CLI_MAX_FAMILIES + 1];
    char model_help[320]; /* --model's, with each family's trainer defaults */
    cli_entry entries[TRAIN_CLI_MAX_ENTRIES];
} train_cli;

/* The library's defaults into t->v.config (threads: the caller's, computed at run time) and the
 * table of flags into t->table. */
void train_cli_init(train_cli *t, int threads);
/* After cli_run: the family --model names (its defaults) and the settings given, into
 * t->v.config.model; 2 after one message ("vae-dist: --latent: ...") when one is not the family's. */
int train_cli_model(train_cli *t, const cli_args *a);
/* After train_cli_model: when the family has trainer defaults of its own (family.h) for flags not
 * given, parses again (into t and a, freed and refilled) with them before argv's own flags; a
 * family's epochs are not taken when --max-steps is given. */
int train_cli_family_defaults(train_cli *t, cli_args *a, int argc, char **argv);

#endif
