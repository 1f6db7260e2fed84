/* A training run's folder (SPEC.md "A training run's folder"): creating it, writing small files
 * atomically, naming, rotating and finding checkpoints, and choosing the one to resume from. */
#ifndef VAE_RUNDIR_H
#define VAE_RUNDIR_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p DIR and DIR/checkpoints. */
int rundir_prepare(const char *dir);
/* Removes what an interrupted writer left in DIR/checkpoints: files named "<name>.tmp.<pid>" (a
 * checkpoint or `latest` being written when its process was killed; never under a final name).
 * Rank 0 calls it at start, before any checkpoint is written. *removed counts them. */
int rundir_remove_stale_temps(const char *dir, int *removed);
/* DIR/checkpoints/ckpt-<step, 8 digits>.h5 */
void rundir_checkpoint_path(const char *dir, int64_t step, char *buf, size_t size);
/* Writes text to path through a temporary file, fsync and rename: never a partial file. */
int rundir_write_atomic(const char *path, const char *text);
/* Points DIR/checkpoints/<pointer> ("latest", "best") at the checkpoint's file name: a one-line
 * file holding that name, replaced atomically. */
int rundir_point(const char *dir, const char *pointer, const char *ckpt_path);
/* Points `latest` at the checkpoint, then removes all but the newest `keep` checkpoints, never the
 * one just written nor the one `best` names. */
int rundir_commit_checkpoint(const char *dir, const char *ckpt_path, int keep);
/* 1 when DIR/checkpoints holds any checkpoint or a latest pointer. */
int rundir_has_checkpoints(const char *dir);
/* The checkpoint `--resume auto` continues from: the one `latest` names when it opens and
 * validates, else the newest valid one (saying on stderr that latest was unusable). *found = 0
 * when there is none (a fresh start). */
int rundir_find_resume(const char *dir, char *path, size_t size, int *found);

#endif
