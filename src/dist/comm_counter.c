/* A counter in each node's shared memory (include/vae/comm.h, vae_comm_counter): vae-prep's two
 * passes hand their pieces out with it, so that the rank on the faster core takes more of them. One
 * int64 on the node's first rank, in an MPI-3 shared window with a passive-target epoch open for
 * its whole life; the ranks add to it with the processor's atomic add, which needs no MPI call
 * (and so no MPI progress on any rank while they work). */
#include "comm_internal.h"

#include <stdlib.h>

struct vae_comm_counter {
    MPI_Win win;
    int64_t *value; /* the node's first rank's int64 */
};

int vae_comm_counter_new(vae_comm *c, vae_comm_counter **out)
{
    *out = NULL;
    vae_comm_counter *k = calloc(1, sizeof *k);
    /* A local failure is agreed on before the window, whose allocation every rank of a node joins. */
    int rc = vae_comm_agree(c, k ? VAE_OK : vae_fail(VAE_ERR_NOMEM, "out of memory"), NULL);
    if (rc != VAE_OK) {
        free(k);
        return rc;
    }
    int64_t *mine = NULL;
    k->win = MPI_WIN_NULL;
    rc = comm_mpi_status(MPI_Win_allocate_shared(c->node_rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0,
                                                 sizeof(int64_t), MPI_INFO_NULL, c->node, &mine, &k->win),
                         "MPI_Win_allocate_shared");
    if (rc == VAE_OK)
        rc = comm_mpi_status(MPI_Win_lock_all(MPI_MODE_NOCHECK, k->win), "MPI_Win_lock_all");
    MPI_Aint bytes;
    int unit;
    if (rc == VAE_OK)
        rc = comm_mpi_status(MPI_Win_shared_query(k->win, 0, &bytes, &unit, &k->value), "MPI_Win_shared_query");
    if (rc == VAE_OK && c->node_rank == 0)
        __atomic_store_n(k->value, 0, __ATOMIC_RELAXED);
    /* The zero reaches every rank of the node before any takes a value. */
    if (rc == VAE_OK)
        MPI_Win_sync(k->win);
    rc = vae_comm_agree(c, rc, NULL);
    if (rc == VAE_OK)
        MPI_Win_sync(k->win);
    if (rc != VAE_OK) {
        vae_comm_counter_free(k);
        return rc;
    }
    *out = k;
    return VAE_OK;
}

void vae_comm_counter_free(vae_comm_counter *k)
{
    if (!k)
        return;
    if (k->win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(k->win);
        MPI_Win_free(&k->win);
    }
    free(k);
}

int64_t vae_comm_counter_next(vae_comm_counter *k) { return __atomic_fetch_add(k->value, 1, __ATOMIC_RELAXED); }
