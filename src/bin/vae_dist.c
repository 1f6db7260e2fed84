/* vae-dist: the distributed trainer. Parses flags (every rank alike, rank 0 speaks), sets BLAS
 * threads and the stop signals, runs the library's training loop, and turns its outcome into
 * SPEC's exit status: 0, 1 on failure, 2 on usage, 143 after SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "blas.h"
#include "threads.h"
#include "vae/comm.h"
#include "vae/family.h"
#include "vae/train.h"

static const char usage[] =
    "usage: vae-dist --corpus C.h5 --out DIR [options]\n"
    "Trains the bag-of-words VAE data-parallel: run it as `mpirun -np N vae-dist ...`, `srun vae-dist ...`\n"
    "or plainly as one rank. The global batch, the data order and the noise do not depend on N.\n"
    "\n"
    "  --corpus C.h5            corpus written by vae-prep (required)\n"
    "  --out DIR                run folder: config.json, summary.jsonl, checkpoints/ (required)\n"
    "  --epochs N               passes over the training split (default 10)\n"
    "  --max-steps N            stop after N steps in total (default: no limit)\n"
    "  --batch-size B           global batch, all ranks together (default 256)\n"
    "  --lr F                   learning rate (default 1e-3)\n"
    "  --model NAME             the model family (default bow, the bag-of-words VAE; the only one so far)\n"
    "  --latent N               latent units (default 32)\n"
    "  --encoder-hidden LIST    encoder layer sizes, e.g. 128,64 (default 128,64; at least one)\n"
    "  --decoder-hidden LIST    decoder layer sizes (default 64,128; empty: z straight to the output)\n"
    "  --activation A           relu|tanh|softplus (default relu)\n"
    "  --input-transform T      log1p|counts|l1 (default log1p)\n"
    "  --beta F                 KL weight (default 1)\n"
    "  --kl-warmup-steps N      beta rises linearly from 0 over N steps (default 0)\n"
    "  --optimizer O            adam|sgd (default adam; Adam betas 0.9, 0.999, eps 1e-8)\n"
    "  --clip-norm F            clip gradients to this global norm (default: off)\n"
    "  --latent-samples 0|1     1: z = mu + sigma * eps (default); 0: z = mu\n"
    "  --seed S                 seed of initialization, data order and noise (default 0)\n"
    "  --threads N              BLAS threads per rank (default: the cores this rank may use)\n"
    "  --eval-every N           evaluate on the valid split every N steps, and at the end (default 500; 0: end only)\n"
    "  --log-every N            train line in summary.jsonl every N steps (default 10)\n"
    "  --checkpoint-every N     checkpoint every N steps, and at the end (default 1000; 0: end only)\n"
    "  --keep-checkpoints K     keep the newest K checkpoints (default 3)\n"
    "  --resume auto|PATH       continue a run: auto resumes from checkpoints/latest when there is one\n"
    "  --init-from CKPT         start from a checkpoint's parameters with a fresh optimizer at step 0\n"
    "  --no-shuffle             visit documents in file order\n"
    "  --shard-optimizer        each rank updates only its block of the parameters, exchanged through\n"
    "                           shared memory within a node and among counterparts across nodes\n"
    "                           (instead of one allreduce): the same model, less update and exchange time\n"
    "  --config FILE            lines of `key = value` with these flags' names; the command line wins\n"
    "  --quiet                  no progress on stderr\n"
    "  --help, --version\n"
    "\n"
    "SIGUSR1 or SIGTERM: all ranks stop at the end of the step, rank 0 checkpoints; exit 0 after\n"
    "SIGUSR1, 143 after SIGTERM. Then `--resume auto` continues exactly.\n";

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

enum { MAX_OPTS = 40 };

/* --model (default: the family of the default configuration m holds) and the settings of its
 * family, each the option of its key with '-' for '_' (--latent, --encoder-hidden, ...), read by
 * the family itself; a setting of another family is refused. */
static int resolve_model(cli_args *a, vae_model_config *m)
{
    if (vae_model_config_init(m, cli_get_str(a, "model", m->family->name), 0) != VAE_OK)
        return cli_say("vae-dist: --model: %s (see --help)\n", vae_error_message());
    for (int f = 0; vae_family_at(f); f++)
        for (int i = 0; i < vae_family_at(f)->num_settings; i++) {
            const char *key = vae_family_at(f)->settings[i].key;
            char flag[64];
            snprintf(flag, sizeof flag, "%s", key);
            for (char *p = flag; *p; p++)
                *p = *p == '_' ? '-' : *p;
            if (cli_given(a, flag) && vae_model_config_set(m, key, cli_get_str(a, flag, NULL)) != VAE_OK)
                return cli_say("vae-dist: --%s: %s (see --help)\n", flag, vae_error_message());
        }
    return 0;
}

/* The typed values of the parsed options into c; 2 (after one message) when one is bad. */
static int resolve(cli_args *a, vae_train_config *c, int local_ranks)
{
    int rc;
    if (a->num_positional > 0)
        return cli_say("vae-dist: unexpected argument '%s' (see --help)\n", a->positional[0]);
    int64_t v;
    double d;
    int choice;
    c->corpus = cli_get_str(a, "corpus", NULL);
    c->out_dir = cli_get_str(a, "out", NULL);
    if (!c->corpus || !c->out_dir)
        return cli_say("vae-dist: --%s is required (see --help)\n", c->corpus ? "out" : "corpus");
    if ((rc = cli_get_int(a, "epochs", c->epochs, 1, INT64_MAX / 2, &c->epochs)) ||
        (rc = cli_get_int(a, "max-steps", -1, 0, INT64_MAX / 2, &c->max_steps)) ||
        (rc = cli_get_int(a, "batch-size", c->batch_size, 1, 1 << 24, &c->batch_size)) ||
        (rc = cli_get_double(a, "lr", c->optim.lr, 0, 1e6, &d)))
        return rc;
    c->optim.lr = (float)d;
    if ((rc = resolve_model(a, &c->model)))
        return rc;
    if ((rc = cli_get_double(a, "beta", 1.0, 0, 1e6, &c->beta)) ||
        (rc = cli_get_int(a, "kl-warmup-steps", 0, 0, INT64_MAX / 2, &c->kl_warmup_steps)) ||
        (rc = cli_get_choice(a, "optimizer", vae_optim_names, 0, &choice)))
        return rc;
    c->optim.kind = (vae_optim_kind)choice;
    if ((rc = cli_get_double(a, "clip-norm", 0, 0, 1e30, &d)))
        return rc;
    c->optim.clip_norm = (float)d;
    if ((rc = cli_get_int(a, "latent-samples", 1, 0, 1, &v)))
        return rc;
    c->latent_samples = (int)v;
    if ((rc = cli_get_int(a, "seed", 0, 0, INT64_MAX, &v)))
        return rc;
    c->seed = (uint64_t)v;
    if ((rc = cli_get_int(a, "threads", vae_default_threads(local_ranks), 1, 1024, &v)))
        return rc;
    c->threads = (int)v;
    if ((rc = cli_get_int(a, "eval-every", c->eval_every, 0, INT64_MAX / 2, &c->eval_every)) ||
        (rc = cli_get_int(a, "log-every", c->log_every, 0, INT64_MAX / 2, &c->log_every)) ||
        (rc = cli_get_int(a, "checkpoint-every", c->checkpoint_every, 0, INT64_MAX / 2, &c->checkpoint_every)) ||
        (rc = cli_get_int(a, "keep-checkpoints", c->keep_checkpoints, 1, 1 << 20, &v)))
        return rc;
    c->keep_checkpoints = (int)v;
    c->resume = cli_get_str(a, "resume", NULL);
    c->init_from = cli_get_str(a, "init-from", NULL);
    if (c->resume && c->init_from)
        return cli_say("vae-dist: --resume and --init-from exclude each other (see --help)\n");
    c->shuffle = !cli_given(a, "no-shuffle");
    c->shard_optimizer = cli_given(a, "shard-optimizer");
    c->quiet = cli_given(a, "quiet");
    return 0;
}

int main(int argc, char **argv)
{
    cli_opt opts[] = {
        {.name = "corpus", .takes_value = 1}, {.name = "out", .takes_value = 1}, {.name = "epochs", .takes_value = 1}, {.name = "max-steps", .takes_value = 1}, {.name = "batch-size", .takes_value = 1}, {.name = "lr", .takes_value = 1}, {.name = "model", .takes_value = 1},
        {.name = "latent", .takes_value = 1}, {.name = "encoder-hidden", .takes_value = 1}, {.name = "decoder-hidden", .takes_value = 1}, {.name = "activation", .takes_value = 1},
        {.name = "input-transform", .takes_value = 1}, {.name = "beta", .takes_value = 1}, {.name = "kl-warmup-steps", .takes_value = 1}, {.name = "optimizer", .takes_value = 1}, {.name = "clip-norm", .takes_value = 1},
        {.name = "latent-samples", .takes_value = 1}, {.name = "seed", .takes_value = 1}, {.name = "threads", .takes_value = 1}, {.name = "eval-every", .takes_value = 1}, {.name = "log-every", .takes_value = 1},
        {.name = "checkpoint-every", .takes_value = 1}, {.name = "keep-checkpoints", .takes_value = 1}, {.name = "resume", .takes_value = 1}, {.name = "init-from", .takes_value = 1},
        {.name = "no-shuffle", .takes_value = 0}, {.name = "shard-optimizer", .takes_value = 0}, {.name = "config", .takes_value = 1}, {.name = "quiet", .takes_value = 0}, {.name = "help", .takes_value = 0}, {.name = "version", .takes_value = 0},
    };
    const int nopts = (int)(sizeof opts / sizeof opts[0]);
    vae_comm *comm = NULL;
    /* A write past the file size limit (ulimit -f, a batch system's quota) then fails with EFBIG,
     * which the checkpoint writer reports naming the file, instead of killing the rank mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    if (vae_comm_init(&comm, &argc, &argv) != VAE_OK) {
        fprintf(stderr, "vae-dist: %s\n", vae_error_message());
        return 1;
    }
    const int rank = vae_comm_rank(comm);
    /* Every rank parses the same arguments and reaches the same verdict; only rank 0 speaks. */
    cli_set_silent(rank != 0);
    cli_args a;
    vae_train_config c;
    vae_train_config_default(&c);
    int status = cli_parse(&a, "vae-dist", opts, nopts, argc, argv, 1);
    if (status == 0 && cli_given(&a, "help")) {
        if (rank == 0)
            fputs(usage, stdout);
        status = -1;
    } else if (status == 0 && cli_given(&a, "version")) {
        if (rank == 0)
            printf("vae-dist %s\n", vae_version());
        status = -1;
    }
    if (status == 0 && cli_given(&a, "config"))
        status = cli_load_config(&a, cli_get_str(&a, "config", NULL));
    if (status == 0)
        status = resolve(&a, &c, vae_comm_local_size(comm));
    if (status != 0) {
        cli_free(&a);
        vae_comm_free(comm);
        return status < 0 ? 0 : status;
    }
    vae_set_blas_threads(c.threads);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    c.stop_signal = &stop_signal;

    int stopped_by = 0, who = 0;
    int rc = vae_train_run(&c, comm, &stopped_by, &who);
    if (rc != VAE_OK && rank == who)
        fprintf(stderr, "vae-dist: %s\n", vae_error_message());
    if (rc == VAE_OK && stopped_by && rank == 0 && !c.quiet)
        fprintf(stderr, "vae-dist: stopped on signal %d after a checkpoint; rerun with --resume auto to continue\n",
                stopped_by);
    cli_free(&a);
    vae_comm_free(comm);
    if (rc != VAE_OK)
        return 1;
    return stopped_by == SIGTERM ? 143 : 0;
}
