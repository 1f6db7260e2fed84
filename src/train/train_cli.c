/* vae-dist's option table; see train_cli.h. The help texts say what a flag does; the defaults,
 * ranges and choices that --help shows come from vae_train_config_default, the name arrays and
 * the families' setting specs. */
#include "train_cli.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "best.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

typedef vae_train_config C;
static const int64_t BIG = INT64_MAX / 2;

const char *const train_cli_off_on[] = {"off", "on", NULL};

/* The trainer's flags before the model's (--model and the families' settings). */
static const cli_entry head[] = {
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
};

/* The trainer's flags after the model's. */
static const cli_entry tail[] = {
    {"beta", "F", "KL weight", CLI_REAL, CLI_AT(C, beta), .lo = 0, .hi = 1e6},
    {"kl-warmup-steps", "N", "beta rises linearly from 0 over N steps", CLI_INT, CLI_AT(C, kl_warmup_steps),
     .min = 0, .max = BIG},
    {"kl-cycles", "C", "cyclical KL annealing: the run's steps in C equal cycles, beta rising linearly from 0 over the "
     "first half of each and holding (not with --kl-warmup-steps); 0: none", CLI_INT, CLI_AT(C, kl_cycles), .min = 0,
     .max = BIG},
    {"free-bits", "L", "free bits: the loss's KL of each latent unit is at least L nats (its mean over the global "
     "batch); 0: none", CLI_REAL, CLI_AT(C, free_bits), .lo = 0, .hi = 1e6},
    {"optimizer", NULL, "the update rule (config.json records Adam's betas and eps)", CLI_CHOICE, CLI_AT(C, optim.kind),
     .choices = vae_optim_names},
    {"adam-beta1", "F", "Adam's first-moment decay", CLI_REAL, CLI_AT(C, optim.beta1), .lo = 0, .hi = 0.999999},
    {"clip-norm", "F", "clip gradients to this global norm; 0: no clipping", CLI_REAL, CLI_AT(C, optim.clip_norm),
     .lo = 0, .hi = 1e30},
    {"latent-samples", "0|1", "1: z = mu + sigma * eps; 0: z = mu", CLI_INT, CLI_AT(C, latent_samples), .min = 0,
     .max = 1},
    {"seed", "S", "seed of initialization, data order and noise", CLI_INT, CLI_AT(C, seed), .min = 0,
     .max = INT64_MAX},
    {"threads", "N", "BLAS threads per rank", CLI_INT, CLI_AT(C, threads), .min = 1, .max = 1024,
     .default_text = "default: the cores this rank may use"},
    {"precision", NULL, "the matrix products' precision: bf16 takes bfloat16 inputs with float32 sums (the "
     "sentence model's output layer and GRUs; on a CPU with AVX512-BF16 or AMX, through oneDNN), parameters and "
     "checkpoints stay float32", CLI_CHOICE, CLI_AT(C, precision), .choices = vae_precision_names},
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
    {"init-from", "CKPT", "start from a checkpoint's parameters with a fresh optimizer at step 0 (with --resume "
     "auto: when the run folder has no checkpoint yet)", CLI_STRING,
     CLI_AT(C, init_from)},
    {"no-shuffle", NULL, "visit documents in file order", CLI_SWITCH, CLI_AT(C, shuffle), .on = 0},
    {"gradient-exchange", NULL,
     "how the ranks combine the gradient, the same model either way: sharded (each rank updates only its block "
     "of the parameters, exchanged through shared memory within a node and among counterparts across nodes) or "
     "allreduce (one allreduce, then every rank updates all of them)",
     CLI_CHOICE, CLI_AT(C, exchange.kind), .choices = vae_exchange_kind_names},
    {"shard-optimizer", NULL, "the same as --gradient-exchange sharded (kept for old scripts)", CLI_SWITCH,
     CLI_AT(train_cli_values, shard_optimizer), .on = 1},
    {"shared-memory", NULL,
     "sharded: through node-shared memory where every node holds the same number of ranks (off: MPI's "
     "reduce-scatter + allgather over all ranks)",
     CLI_CHOICE, CLI_AT(C, exchange.shared_memory), .choices = train_cli_off_on},
    {"ranks-per-node", "K",
     "count runs of K consecutive ranks as nodes, so that one machine runs the multi-node exchange (tests)",
     CLI_INT, CLI_AT(C, exchange.ranks_per_node), .min = 1, .max = 1 << 20, .default_text = "default: the machines"},
    {"shm-single-copy", NULL,
     "Open MPI's single-copy transport between the ranks of a node (off: copies through shared buffers, "
     "measured faster; the environment's OMPI_MCA_btl_vader_single_copy_mechanism wins over it)",
     CLI_CHOICE, CLI_AT(C, shm_single_copy), .choices = train_cli_off_on},
    {"quiet", NULL, "no progress on stderr", CLI_SWITCH, CLI_AT(C, quiet), .on = 1},
};

static const char usage[] =
    "usage: vae-dist --corpus C.h5 --out DIR [options]\n"
    "Trains a VAE of a model family (--model) data-parallel: run it as `mpirun -np N vae-dist ...`,\n"
    "`srun vae-dist ...` or plainly as one rank. The global batch, the data order and the noise do not\n"
    "depend on N.\n"
    "\n";

static const char epilog[] =
    "\n"
    "The run ends at --epochs or --max-steps, whichever it reaches first, or at --early-stop; its last\n"
    "line on stderr and in summary.jsonl ({\"kind\": \"end\", \"reason\": \"epochs\", \"max_steps\",\n"
    "\"early_stop\" or \"signal\"}) says which.\n"
    "SIGUSR1 or SIGTERM: all ranks stop at the end of the step, rank 0 checkpoints; exit 0 after\n"
    "SIGUSR1, 143 after SIGTERM. Then `--resume auto` continues exactly.\n";

/* Help of the families' settings known here; the others say whose they are. */
static const struct {
    const char *key, *meta, *help;
} setting_help[] = {
    {"latent", "N", "latent units"},
    {"encoder_hidden", "LIST", "encoder layer sizes (e.g. 128,64)"},
    {"decoder_hidden", "LIST", "decoder layer sizes (none: z straight to the output)"},
    {"activation", "A", "activation of the hidden layers"},
    {"input_transform", "T", "what the encoder reads of a document's counts"},
    {"dirichlet_alpha", "A", "concentration of the Dirichlet prior over topics (Laplace-approximated)"},
    {"dropout", "P", "dropout on the topic proportions in training"},
    {"word_counts", NULL, "presence: read a document as its distinct words, each once; counts: as counted"},
};

/* Setting i (key) of the families: its entry, with help, range and default from the first family
 * that has it (the default family first). */
static cli_entry setting_entry(train_cli *t, int i, const vae_setting_spec *spec, const vae_family *family)
{
    const vae_model_config *m = &t->v.config.model;
    const char *meta = spec->kind == VAE_SETTING_INT ? "N" : spec->kind == VAE_SETTING_LIST ? "LIST" : NULL;
    const char *help = NULL;
    for (size_t k = 0; k < sizeof setting_help / sizeof setting_help[0]; k++)
        if (strcmp(setting_help[k].key, spec->key) == 0)
            meta = setting_help[k].meta, help = setting_help[k].help;
    char range[96] = "";
    if (spec->kind == VAE_SETTING_INT)
        snprintf(range, sizeof range, ", %lld to %lld", (long long)spec->lo, (long long)spec->hi);
    else if (spec->kind == VAE_SETTING_REAL)
        snprintf(range, sizeof range, ", %g to %g", spec->real_lo, spec->real_hi);
    else if (spec->kind == VAE_SETTING_LIST)
        snprintf(range, sizeof range, ": %d to %d of them, each %lld to %lld", spec->min_count, spec->max_count,
                 (long long)spec->lo, (long long)spec->hi);
    if (help)
        snprintf(t->helps[i], sizeof t->helps[i], "%s%s", help, range);
    else
        snprintf(t->helps[i], sizeof t->helps[i], "a setting of the %s family%s", family->name, range);
    if (family == m->family) {
        for (int k = 0; k < family->num_settings; k++)
            if (strcmp(family->settings[k].key, spec->key) == 0)
                vae_model_config_text(m, k, t->defaults[i] + snprintf(t->defaults[i], 9, "default "),
                                      sizeof t->defaults[i] - 8);
    } else {
        snprintf(t->defaults[i], sizeof t->defaults[i], "%s family: default %s", family->name, spec->default_text);
    }
    if (strcmp(t->defaults[i], "default ") == 0)
        snprintf(t->defaults[i], sizeof t->defaults[i], "default none");
    /* A key that later families share with their own default says theirs too ("default 32; topic
     * family: 20"), so that the help of --latent is true of every --model. */
    for (int k = 0; vae_family_at(k); k++) {
        const vae_family *other = vae_family_at(k);
        if (other == family)
            continue;
        for (int s = 0; s < other->num_settings; s++) {
            const char *d = other->settings[s].default_text;
            const size_t used = strlen(t->defaults[i]);
            if (strcmp(other->settings[s].key, spec->key) == 0 && d && strcmp(d, spec->default_text) != 0)
                snprintf(t->defaults[i] + used, sizeof t->defaults[i] - used, "; %s family: %s", other->name, d);
        }
    }
    for (size_t k = 0; k < sizeof t->flags[i] - 1 && spec->key[k]; k++)
        t->flags[i][k] = spec->key[k] == '_' ? '-' : spec->key[k];
    return (cli_entry){.name = t->flags[i], .meta = meta, .help = t->helps[i], .kind = CLI_STRING,
                       .offset = offsetof(train_cli_values, setting) + (size_t)i * sizeof(const char *),
                       .size = sizeof(const char *), .choices = spec->choices, .default_text = t->defaults[i]};
}

/* Adds the settings of family f not seen yet. */
static void add_settings(train_cli *t, const vae_family *f, int *n)
{
    for (int s = 0; s < f->num_settings; s++) {
        int seen = 0;
        for (int i = 0; i < t->num_settings; i++)
            seen |= strcmp(t->keys[i], f->settings[s].key) == 0;
        if (seen || t->num_settings == TRAIN_CLI_MAX_SETTINGS || *n == TRAIN_CLI_MAX_ENTRIES)
            continue;
        t->keys[t->num_settings] = f->settings[s].key;
        t->entries[(*n)++] = setting_entry(t, t->num_settings, &f->settings[s], f);
        t->num_settings++;
    }
}

void train_cli_init(train_cli *t, int threads)
{
    memset(t, 0, sizeof *t);
    vae_train_config_default(&t->v.config);
    t->v.config.threads = threads;
    const vae_family *first = t->v.config.model.family;
    t->v.model = first->name;
    int n = 0, f = 0;
    for (; f < TRAIN_CLI_MAX_FAMILIES && vae_family_at(f); f++)
        t->families[f] = vae_family_at(f)->name;
    t->families[f] = NULL;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        t->entries[n++] = head[i];
    /* With each family's own trainer defaults: "...; topic's: --epochs 16, --batch-size 64". */
    snprintf(t->model_help, sizeof t->model_help, "the model family, whose settings follow");
    for (int k = 0; vae_family_at(k); k++) {
        const vae_family *fam = vae_family_at(k);
        for (const char *const *d = fam->train_defaults; d && d[0]; d += 2) {
            char *end = t->model_help + strlen(t->model_help);
            const size_t room = sizeof t->model_help - (size_t)(end - t->model_help);
            if (d == fam->train_defaults)
                snprintf(end, room, "; %s's: --%s %s", fam->name, d[0], d[1]);
            else
                snprintf(end, room, ", --%s %s", d[0], d[1]);
        }
    }
    t->entries[n++] = (cli_entry){.name = "model", .help = t->model_help, .kind = CLI_STRING,
                                  CLI_AT(train_cli_values, model), .choices = t->families};
    add_settings(t, first, &n);
    for (int k = 0; vae_family_at(k); k++)
        add_settings(t, vae_family_at(k), &n);
    for (size_t i = 0; i < sizeof tail / sizeof tail[0] && n < TRAIN_CLI_MAX_ENTRIES; i++)
        t->entries[n++] = tail[i];
    t->table = (cli_table){.prog = "vae-dist", .usage = usage, .epilog = epilog, .entries = t->entries,
                           .num_entries = n, .config = 1};
}

/* A family's default of flag yields to another flag given that would clash with it or make it a
 * second limit: --max-steps to --epochs, --kl-warmup-steps (the other KL schedule) to --kl-cycles. */
static int family_default_yields(const cli_args *a, const char *flag)
{
    static const char *const yields_to[][2] = {{"epochs", "max-steps"}, {"kl-cycles", "kl-warmup-steps"}};
    for (size_t i = 0; i < sizeof yields_to / sizeof yields_to[0]; i++)
        if (strcmp(flag, yields_to[i][0]) == 0 && cli_given(a, yields_to[i][1]))
            return 1;
    return 0;
}

int train_cli_family_defaults(train_cli *t, cli_args *a, int argc, char **argv)
{
    const char *const *d = t->v.config.model.family->train_defaults;
    static char flags[16][40];
    static char *args[256];
    int n = 0, k = 0;
    args[n++] = argv[0];
    for (; d && d[0] && k < 16 && n + 2 + argc < 256; d += 2)
        if (!cli_given(a, d[0]) && !family_default_yields(a, d[0])) {
            snprintf(flags[k], sizeof flags[k], "--%s", d[0]);
            args[n++] = flags[k++];
            args[n++] = (char *)d[1];
        }
    if (k == 0)
        return 0;
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    const int threads = t->v.config.threads;
    cli_free(a);
    train_cli_init(t, threads);
    int status = cli_run(a, &t->table, &t->v, n, args, 1);
    return status == 0 ? train_cli_model(t, a) : status;
}

int train_cli_model(train_cli *t, const cli_args *a)
{
    vae_model_config *m = &t->v.config.model;
    if (cli_given(a, "model") && vae_model_config_init(m, t->v.model, 0) != VAE_OK)
        return cli_say("vae-dist: --model: %s (see --help)\n", vae_error_message());
    for (int i = 0; i < t->num_settings; i++)
        if (cli_given(a, t->flags[i]) && vae_model_config_set(m, t->keys[i], t->v.setting[i]) != VAE_OK)
            return cli_say("vae-dist: --%s: %s (see --help)\n", t->flags[i], vae_error_message());
    return 0;
}
