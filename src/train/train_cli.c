/* vae-dist's option table; see train_cli.h. The help texts say what a flag does; the defaults
 * and choices that --help shows come from vae_train_config_default and the name arrays. */
#include "train_cli.h"

#include <stdint.h>

#include "best.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

typedef vae_train_config C;
static const int64_t BIG = INT64_MAX / 2;

static const cli_entry entries[] = {
    {"corpus", "C.h5", "corpus written by vae-prep", CLI_STRING, CLI_AT(C, corpus), .required = 1},
    {"out", "DIR", "run folder: config.json, summary.jsonl, checkpoints/", CLI_STRING, CLI_AT(C, out_dir),
     .required = 1},
    {"epochs", "N", "passes over the training split", CLI_INT, CLI_AT(C, epochs), .min = 1, .max = BIG,
     .default_text = "default " STR(VAE_DEFAULT_EPOCHS) " without --max-steps, no limit with it"},
    {"max-steps", "N", "stop after N steps in total; with --epochs, at whichever comes first", CLI_INT,
     CLI_AT(C, max_steps), .min = 0, .max = BIG, .default_text = "default: no limit"},
    {"batch-size", "B", "global batch, all ranks together", CLI_INT, CLI_AT(C, batch_size), .min = 1,
     .max = 1 << 24},
    {"lr", "F", "learning rate", CLI_REAL, CLI_AT(C, optim.lr), .lo = 0, .hi = 1e6},
    {"latent", "N", "latent units", CLI_INT, CLI_AT(C, model.latent), .min = 1, .max = 65536},
    {"encoder-hidden", "LIST", "encoder layer sizes, at least one, e.g. 128,64", CLI_LIST,
     CLI_AT(C, model.enc_hidden), .min = 1, .count_offset = offsetof(C, model.num_enc)},
    {"decoder-hidden", "LIST", "decoder layer sizes; empty: z straight to the output", CLI_LIST,
     CLI_AT(C, model.dec_hidden), .count_offset = offsetof(C, model.num_dec)},
    {"activation", "A", "activation of the hidden layers", CLI_CHOICE, CLI_AT(C, model.activation),
     .choices = vae_activation_names},
    {"input-transform", "T", "what the encoder reads of a document's counts", CLI_CHOICE, CLI_AT(C, model.input),
     .choices = vae_input_transform_names},
    {"beta", "F", "KL weight", CLI_REAL, CLI_AT(C, beta), .lo = 0, .hi = 1e6},
    {"kl-warmup-steps", "N", "beta rises linearly from 0 over N steps", CLI_INT, CLI_AT(C, kl_warmup_steps),
     .min = 0, .max = BIG},
    {"optimizer", NULL, "the update rule (config.json records Adam's betas and eps)", CLI_CHOICE, CLI_AT(C, optim.kind),
     .choices = vae_optim_names},
    {"clip-norm", "F", "clip gradients to this global norm; 0: no clipping", CLI_REAL, CLI_AT(C, optim.clip_norm),
     .lo = 0, .hi = 1e30},
    {"latent-samples", "0|1", "1: z = mu + sigma * eps; 0: z = mu", CLI_INT, CLI_AT(C, latent_samples), .min = 0,
     .max = 1},
    {"seed", "S", "seed of initialization, data order and noise", CLI_INT, CLI_AT(C, seed), .min = 0,
     .max = INT64_MAX},
    {"threads", "N", "BLAS threads per rank", CLI_INT, CLI_AT(C, threads), .min = 1, .max = 1024,
     .default_text = "default: the cores this rank may use"},
    {"eval-every", "N", "evaluate on the valid split every N steps, and at the end; 0: at the end only", CLI_INT,
     CLI_AT(C, eval_every), .min = 0, .max = BIG},
    {"log-every", "N", "a train line in summary.jsonl every N steps; 0: none", CLI_INT, CLI_AT(C, log_every),
     .min = 0, .max = BIG},
    {"checkpoint-every", "N", "checkpoint every N steps, and at the end; 0: at the end only", CLI_INT,
     CLI_AT(C, checkpoint_every), .min = 0, .max = BIG},
    {"keep-checkpoints", "K", "keep the newest K checkpoints", CLI_INT, CLI_AT(C, keep_checkpoints), .min = 1,
     .max = 1 << 20},
    {"keep-best", NULL,
     "keep the checkpoint of the best valid " TRAIN_BEST_FIGURE " as well, named by checkpoints/best, never "
     "rotated away while it is the best (a checkpoint is written at each evaluation that improves it)",
     CLI_SWITCH, CLI_AT(C, keep_best), .on = 1},
    {"early-stop", "N",
     "end the run after N evaluations in a row without a better valid " TRAIN_BEST_FIGURE " (exit 0); 0: never",
     CLI_INT, CLI_AT(C, early_stop), .min = 0, .max = BIG},
    {"resume", "auto|PATH", "continue a run: auto resumes from checkpoints/latest when there is one", CLI_STRING,
     CLI_AT(C, resume)},
    {"init-from", "CKPT", "start from a checkpoint's parameters with a fresh optimizer at step 0", CLI_STRING,
     CLI_AT(C, init_from)},
    {"no-shuffle", NULL, "visit documents in file order", CLI_SWITCH, CLI_AT(C, shuffle), .on = 0},
    {"shard-optimizer", NULL,
     "each rank updates only its block of the parameters, exchanged through shared memory within a node and "
     "among counterparts across nodes (instead of one allreduce): the same model, less update and exchange time",
     CLI_SWITCH, CLI_AT(C, shard_optimizer), .on = 1},
    {"quiet", NULL, "no progress on stderr", CLI_SWITCH, CLI_AT(C, quiet), .on = 1},
};

const cli_table vae_train_cli = {
    .prog = "vae-dist",
    .usage = "usage: vae-dist --corpus C.h5 --out DIR [options]\n"
             "Trains the bag-of-words VAE data-parallel: run it as `mpirun -np N vae-dist ...`, `srun vae-dist ...`\n"
             "or plainly as one rank. The global batch, the data order and the noise do not depend on N.\n"
             "\n",
    .epilog = "\n"
              "The run ends at --epochs or --max-steps, whichever it reaches first, or at --early-stop; its last\n"
              "line on stderr and in summary.jsonl ({\"kind\": \"end\", \"reason\": \"epochs\", \"max_steps\",\n"
              "\"early_stop\" or \"signal\"}) says which.\n"
              "SIGUSR1 or SIGTERM: all ranks stop at the end of the step, rank 0 checkpoints; exit 0 after\n"
              "SIGUSR1, 143 after SIGTERM. Then `--resume auto` continues exactly.\n",
    CLI_ENTRIES(entries),
    .config = 1,
};
