/* The communicator's state, shared by comm.c (the calls between ranks) and comm_init.c (bringing MPI
 * up and down). Private to src/dist. */
#ifndef VAE_COMM_INTERNAL_H
#define VAE_COMM_INTERNAL_H

#include "vae/comm.h"

#include <mpi.h>
#include <pthread.h>

/* RING_PIECE: floats of one piece of the ring; MESSAGE_BYTES: what vae_error_message holds (common.c). */
enum { RING_PIECE = 65536, MESSAGE_BYTES = 1024 };
/* vae_comm_start's states */
enum { STARTING, UP, FAILED };
/* The naps of a stream's waits (vae_comm_send, vae_comm_recv), doubling from the first to the
 * longest: short beside the handling of a message. */
#define STREAM_NAP_NS 20000
#define STREAM_NAP_MAX_NS 1000000

struct vae_comm {
    MPI_Comm world;   /* ours: MPI_COMM_WORLD duplicated */
    int finalize_mpi; /* MPI_Init was ours, so MPI_Finalize is too */
    /* vae_comm_start's: the thread that runs MPI_Init_thread and the set-up below, then waits for
     * vae_comm_free to call MPI_Finalize, which MPI wants on the thread that initialized it. Every
     * other MPI call is the caller's, after vae_comm_wait (hence MPI_THREAD_SERIALIZED). */
    pthread_t thread;
    int has_thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int state;   /* STARTING, UP or FAILED: set under lock; vae_comm_started reads it atomically */
    int closing; /* vae_comm_free's word to the thread */
    int start_rc;
    char start_message[MESSAGE_BYTES];
    int launch_known, launch_rank, launch_size; /* vae_comm_launch's, from the environment */
    /* The ranks of this rank's node (vae_comm_set_ranks_per_node(k): consecutive runs of k ranks
     * stand for nodes, so that one machine can test the multi-node exchange); and, when every node
     * holds the same number of ranks, the ranks at this rank's place on each node, one per node,
     * ordered as the nodes are (else MPI_COMM_NULL). */
    MPI_Comm node, cross;
    int ranks_per_node;
    int shared_alive; /* vae_comm_shared objects built on the present layout */
    int rank, size, local_size;
    int node_rank, node_size, num_nodes, node_index;
    int *block_of;        /* [size]: where each rank's block lies among the blocks of a buffer */
    int *counts, *displs; /* [size]: a gather's layout at its root, allocated once so that a gather
                             cannot fail on one rank for memory and leave the others waiting */
    float *piece;         /* [RING_PIECE]: the reduce-scatter's receive buffer, allocated once too */
};

/* MPI's error code as our status, naming what failed (VAE_OK for MPI_SUCCESS). */
int comm_mpi_status(int err, const char *what);
/* The nodes and the blocks' order (see comm.c); collective. */
int comm_node_layout(vae_comm *c, int ranks_per_node);
void comm_free_node_comms(vae_comm *c);

#endif
