/* vae-dist's command line: its one option table (cli.h), whose entries store into a
 * vae_train_config filled by vae_train_config_default, so that --help's defaults are the
 * library's. Next to the trainer, so that its unit test sees the very table the program runs. */
#ifndef VAE_TRAIN_CLI_H
#define VAE_TRAIN_CLI_H

#include "cli.h"
#include "vae/train.h"

extern const cli_table vae_train_cli;

#endif
