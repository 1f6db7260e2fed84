/* vae-dist: the distributed trainer. Parses flags by the library's option table (train_cli.c;
 * every rank alike, rank 0 speaks), sets BLAS threads and the stop signals, runs the library's
 * training loop, and turns its outcome into SPEC's exit status: 0, 1 on failure, 2 on usage, 143
 * after SIGTERM. The model family and its settings come from --model and the family itself. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "threads.h"
#include "vae/comm.h"
#include "train_cli.h"

/* --threads above this many a core is refused. */
#define MAX_THREADS_PER_CORE 4

static volatile sig_atomic_t stop_signal, stop_heeded;

/* A first SIGTERM or SIGUSR1 asks the trainer to stop after the current step with a checkpoint. A
 * second SIGTERM, or one while no step will read it (start-up, the end), ends the process now,
 * without a checkpoint, by the signal itself (status 143): `timeout` or a batch system's grace
 * can always stop a rank stuck before or inside a long step. */
static void on_stop(int sig)
{
    if (sig == SIGTERM && (!stop_heeded || stop_signal == SIGTERM)) {
        signal(SIGTERM, SIG_DFL);
        raise(SIGTERM);
        return;
    }
    stop_signal = sig;
}

/* The checks that span several flags, after the table's own; 2 after one message. */
static int check_flags(train_cli_values *v)
{
    vae_train_config *c = &v->config;
    if (v->shard_optimizer && c->exchange.kind != VAE_EXCHANGE_SHARDED)
        return cli_say("vae-dist: --shard-optimizer means --gradient-exchange sharded, not %s (see --help)\n",
                       vae_exchange_kind_names[c->exchange.kind]);
    /* --init-from with --resume auto starts from its parameters only when the folder has no
     * checkpoint yet, so that a requeued job (jobs/train.sbatch adds --resume auto) resumes. */
    if (c->resume && strcmp(c->resume, "auto") != 0 && c->init_from)
        return cli_say("vae-dist: --resume PATH and --init-from exclude each other (see --help)\n");
    if (c->kl_cycles > 0 && c->kl_warmup_steps > 0)
        return cli_say("vae-dist: --kl-cycles and --kl-warmup-steps are two KL schedules: give one (see --help)\n");
    if (c->early_stop > 0 && c->eval_every <= 0)
        return cli_say("vae-dist: --early-stop counts the evaluations of --eval-every, which is 0 (see --help)\n");
    /* More threads than that only slow every step down (a typo's extra digit, most likely). */
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0 && c->threads > MAX_THREADS_PER_CORE * cores)
        return cli_say("vae-dist: --threads %d is far above the %ld cores of this machine (at most %ld, %d a core; "
                       "see --help)\n", c->threads, cores, MAX_THREADS_PER_CORE * cores, MAX_THREADS_PER_CORE);
    return 0;
}

/* Open MPI reads its parameters at MPI_Init, so --shm-single-copy (from the command line or
 * --config) is read before vae_comm_init, silently: the parse after it reports any mistake once,
 * from rank 0. Off, a message between the ranks of a node goes through the pipelined copy through
 * shared buffers, which stays in cache, instead of CMA's one kernel copy of the whole message: a
 * 10.4 MB in-place allreduce at 2 ranks took 0.85 ms against 1.37 ms (vae-bench-comm, median of
 * 40). A setting of the parameter in the environment wins. */
static void set_shm_single_copy(train_cli *scan, int argc, char **argv)
{
    cli_args a;
    train_cli_init(scan, 1);
    cli_set_silent(1);
    const int on = cli_run(&a, &scan->table, &scan->v, argc, argv, 1) == 0 && scan->v.config.shm_single_copy;
    cli_free(&a);
    if (!on)
        setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
}

int main(int argc, char **argv)
{
    /* Large (the help texts of every family's settings): static, not on the stack. */
    static train_cli t;
    vae_comm *comm = NULL;
    /* A write past the file size limit (ulimit -f, a batch system's quota) then fails with EFBIG,
     * which the checkpoint writer reports naming the file, instead of killing the rank mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    /* First of all, so that a USR1 of a batch system during start-up stops the run after its first
     * step rather than kill the rank (a SIGTERM then ends it, as no step reads it yet). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    set_shm_single_copy(&t, argc, argv);
    if (vae_comm_init(&comm, &argc, &argv) != VAE_OK) {
        fprintf(stderr, "vae-dist: %s\n", vae_error_message());
        return 1;
    }
    const int rank = vae_comm_rank(comm);
    /* Every rank parses the same arguments and reaches the same verdict; only rank 0 speaks. */
    cli_set_silent(rank != 0);
    train_cli_init(&t, vae_default_threads(vae_comm_local_size(comm)));
    vae_train_config *c = &t.v.config;
    cli_args a;
    int status = cli_run(&a, &t.table, &t.v, argc, argv, 1);
    if (status == 0)
        status = train_cli_model(&t, &a);
    if (status == 0)
        status = train_cli_family_defaults(&t, &a, argc, argv);
    if (status == 0)
        status = check_flags(&t.v);
    if (status != 0) {
        cli_free(&a);
        vae_comm_free(comm);
        return status == CLI_EXIT ? 0 : status;
    }
    vae_set_blas_threads(c->threads);
    c->stop_signal = &stop_signal;
    c->stop_heeded = &stop_heeded;

    int stopped_by = 0, who = 0;
    int rc = vae_train_run(c, comm, &stopped_by, &who);
    if (rc != VAE_OK && rank == who)
        fprintf(stderr, "vae-dist: %s\n", vae_error_message());
    cli_free(&a);
    vae_comm_free(comm);
    if (rc != VAE_OK)
        return rc == VAE_ERR_LIMIT ? 2 : 1;
    return stopped_by == SIGTERM ? 143 : 0;
}
