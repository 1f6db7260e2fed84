/* Communication between ranks: with exchange.h, the only module that calls MPI. vae-infer sees
 * ranks, sums and agreement, the trainer also the gradient exchange (exchange.h) built on the
 * blocks and node-shared buffers below; a new transport replaces src/dist alone. Works as one
 * rank without mpirun (a singleton MPI process). */
#ifndef VAE_COMM_H
#define VAE_COMM_H

#include "vae/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vae_comm vae_comm;

/* MPI_Init (unless the caller initialized MPI already) with errors returned (not fatal), so a
 * failure on one rank can be agreed on and reported once instead of aborting the job with MPI's
 * noise. Every call below talks on a duplicate of MPI_COMM_WORLD of its own. The MPI library's
 * parameters are the program's to set beforehand (Open MPI reads them at MPI_Init). */
int vae_comm_init(vae_comm **out, int *argc, char ***argv);
/* vae_comm_init on a thread of its own, for a program whose first work needs no other rank: returns
 * at once, and MPI's start (0.2-0.35 s of Debian's Open MPI, nearly all of it waiting) overlaps
 * that work. Until vae_comm_wait, only vae_comm_launch, vae_comm_started, vae_comm_wait and
 * vae_comm_free may be called. */
int vae_comm_start(vae_comm **out);
/* The rank and size the launcher gave this process, without waiting for MPI: from the environment
 * of Open MPI's mpirun, hydra (MPICH, Intel MPI) or srun, and rank 0 of 1 with no launcher. 0 when
 * the environment does not tell. Before MPI is up it is the launcher's word, which the caller
 * checks against vae_comm_rank and vae_comm_size after vae_comm_wait; after, MPI's. */
int vae_comm_launch(const vae_comm *c, int *rank, int *size);
/* Whether MPI is up (or failed to start): vae_comm_wait would return at once. */
int vae_comm_started(const vae_comm *c);
/* Waits for MPI's start; its status is vae_comm_init's, and on success every call of this header
 * may follow. At once after vae_comm_init. */
int vae_comm_wait(vae_comm *c);
/* Frees the communicator (waiting for MPI's start first); MPI_Finalize when we called MPI_Init. */
void vae_comm_free(vae_comm *c);

int vae_comm_rank(const vae_comm *c);
int vae_comm_size(const vae_comm *c);
/* Ranks sharing this rank's machine. */
int vae_comm_local_size(const vae_comm *c);
/* Nodes of the run, and whether every node holds the same number of ranks (what the node-shared
 * exchange needs). */
int vae_comm_nodes(const vae_comm *c);
int vae_comm_nodes_even(const vae_comm *c);
/* This rank's node, 0 .. vae_comm_nodes - 1 in the nodes' order, when the nodes are even (else 0). */
int vae_comm_node_index(const vae_comm *c);
/* Collective, before any vae_comm_shared exists: k > 0 makes consecutive runs of k ranks count as
 * nodes (so that one machine can run the multi-node exchange); 0, the default, the machines. */
int vae_comm_set_ranks_per_node(vae_comm *c, int ranks_per_node);

/* In-place sums over all ranks (counts above INT_MAX are sent in pieces). */
int vae_comm_sum_floats(vae_comm *c, float *buf, size_t n);
int vae_comm_sum_doubles(vae_comm *c, double *buf, size_t n);
int vae_comm_sum_int64(vae_comm *c, int64_t *buf, size_t n);
/* In-place maxima over all ranks. */
int vae_comm_max_int64(vae_comm *c, int64_t *buf, size_t n);
int vae_comm_broadcast(vae_comm *c, void *buf, size_t bytes, int root);
/* Collective: root receives every rank's send[0..bytes) into recv, one after the other in rank
 * order; recv_bytes[r] (read on root only) is what rank r sends. Each count and their total must
 * stay below 2 GiB: callers gather in rounds (vae-infer encode). */
int vae_comm_gather(vae_comm *c, const void *send, size_t bytes, void *recv, const size_t *recv_bytes,
                    int root);

/* Collective: every rank sends send[displacement r .. + send_bytes[r]) to rank r, the blocks one
 * after the other in rank order; *recv (malloc'ed, the caller frees it; NULL when empty) receives
 * every rank's block for this one in rank order, recv_bytes[r] (an array of size entries) being
 * rank r's. A rank's total sent or received must stay below 2 GiB: past it every rank fails alike
 * (VAE_ERR_ARG), as they do when one cannot allocate. */
int vae_comm_alltoall(vae_comm *c, const void *send, const size_t *send_bytes, void **recv, size_t *recv_bytes);
/* Point to point, for streams of messages to one rank (vae-prep's pieces to its writer): a
 * blocking send of buf[0..bytes) (below 2 GiB) to rank dest under a tag, 0 .. vae_comm_tag_max;
 * the receipt of the next message with that tag from rank src (VAE_COMM_ANY_SOURCE: any) into
 * *buf (grown with realloc as needed, *cap its size), *bytes its length; and whether such a
 * message has arrived, without taking it. Messages of one tag from one rank arrive in order. */
#define VAE_COMM_ANY_SOURCE (-1)
int vae_comm_tag_max(const vae_comm *c);
int vae_comm_send(vae_comm *c, int dest, int tag, const void *buf, size_t bytes);
int vae_comm_recv(vae_comm *c, int src, int tag, void **buf, size_t *cap, size_t *bytes);
int vae_comm_arrived(vae_comm *c, int src, int tag, int *arrived);
/* The same send started, so that the sender can go on working while it travels: buf stays
 * untouched until vae_comm_send_wait, which waits for it (NULL: at once) and frees *s. */
typedef struct vae_comm_sending vae_comm_sending;
int vae_comm_send_start(vae_comm *c, int dest, int tag, const void *buf, size_t bytes, vae_comm_sending **s);
int vae_comm_send_wait(vae_comm_sending *s);

/* A buffer of n floats split into one block per rank: rank's block is [lo, hi) (near-equal, 64-byte
 * aligned starts). In rank order on one node; across nodes, the blocks of the ranks at one place on
 * every node are adjacent (see vae_comm_shared). The sharded optimizer updates only its own block. */
void vae_comm_shard(const vae_comm *c, size_t n, int rank, size_t *lo, size_t *hi);
/* Collective, in place: afterwards this rank's block of buf[0..n) holds the sum over ranks of that
 * block (other blocks hold partial sums). With vae_comm_allgather_floats, the bytes of one
 * allreduce. n < 2^31. */
int vae_comm_reduce_scatter_floats(vae_comm *c, float *buf, size_t n);
/* Collective, in place: each rank's block of buf[0..n) is copied to every rank. n < 2^31. */
int vae_comm_allgather_floats(vae_comm *c, float *buf, size_t n);
/* Buffers shared by the ranks of each node (MPI-3 shared memory) for the sharded optimizer: one
 * parameter buffer per node, and each rank's gradient buffer readable by the others on its node.
 * On one node a rank sums its block straight from the others' gradients and no allgather is
 * needed. Across nodes the exchange is hierarchical: the ranks at place p on each node own one
 * stretch of the buffer (their "node block"); each sums it over its node in shared memory, then
 * the counterparts reduce-scatter it among themselves (a ring over the nodes, not over every rank)
 * and later allgather the updated blocks into their node's parameters. vae_comm_shared_new is
 * collective, with the same status on every rank; VAE_ERR_ARG when the nodes hold different
 * numbers of ranks (use the flat reduce-scatter then). Both buffers start zeroed. */
/* A counter of each node, in memory its ranks share (MPI-3): work handed out as the node's ranks
 * ask, without a message, so that a rank that runs faster takes more. Collective to create (at 0)
 * and to free. */
typedef struct vae_comm_counter vae_comm_counter;
int vae_comm_counter_new(vae_comm *c, vae_comm_counter **out);
void vae_comm_counter_free(vae_comm_counter *k);
/* The node's next value: 0, 1, 2, ..., each to one rank of the node. No MPI call (an atomic add),
 * so a rank may take one while the others work outside MPI. */
int64_t vae_comm_counter_next(vae_comm_counter *k);

typedef struct vae_comm_shared vae_comm_shared;
int vae_comm_shared_new(vae_comm *c, size_t num_params, size_t num_grads, vae_comm_shared **out);
void vae_comm_shared_free(vae_comm_shared *s);
float *vae_comm_shared_params(vae_comm_shared *s);
float *vae_comm_shared_grads(vae_comm_shared *s); /* this rank's */
/* Every rank's gradient buffer on this node, in node order (vae_comm_shared_size of them): read
 * another rank's only between two vae_comm_shared_sync calls that bracket its writes. */
const float *const *vae_comm_shared_all_grads(vae_comm_shared *s);
int vae_comm_shared_size(vae_comm_shared *s);
/* Collective over every rank: afterwards every rank's writes to its node's shared buffers are
 * visible on the node. n = 0: a barrier of the node; n > 0: also sums x[0..n) over all ranks in
 * place, so a step's sums ride on the collective that ends it. */
int vae_comm_shared_sync(vae_comm_shared *s, double *x, int n);
/* Collective: rank 0's n parameters (n < 2^31) into every node's buffer, visible on return. */
int vae_comm_shared_spread_params(vae_comm_shared *s, size_t n);
/* Across nodes, collective, once the node's gradients are synced: this rank's block (vae_comm_shard)
 * of its own gradient becomes the sum over all ranks, summed within the node in node order, then
 * across nodes. Its node block is rewritten; the rest of the buffer, which other ranks of the node
 * read meanwhile, is not. */
int vae_comm_shared_reduce_scatter(vae_comm_shared *s);
/* Across nodes, collective: every counterpart's block of the parameters copied into this node's
 * parameter buffer (sync the node afterwards). */
int vae_comm_shared_allgather(vae_comm_shared *s);
/* Collective: every rank passes its local status; all get the same answer. Returns VAE_OK when
 * every rank is fine, else the status of the lowest failing rank, whose rank is put in *who (may
 * be NULL), and its message becomes every rank's vae_error_message(). That rank alone should
 * print it, so the user reads one clear error. */
int vae_comm_agree(vae_comm *c, int status, int *who);
/* The same, where the failure that wins is the one of lowest key (ties: of lowest rank), e.g. the
 * position in the input of what failed, so that the message is the one a single process would
 * have met first. key in [0, INT_MAX). */
int vae_comm_agree_first(vae_comm *c, int status, int key, int *who);

double vae_wtime(void);

/* The MPI library's version line (for config.json). */
const char *vae_comm_library_version(void);

#ifdef __cplusplus
}
#endif
#endif
