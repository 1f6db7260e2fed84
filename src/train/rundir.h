/* A training run's folder (SPEC.md "A training run's folder"): creating it, writing small files
 * atomically, naming, rotating and finding checkpoints, and choosing the one to resume from. */
#ifndef VAE_RUNDIR_H
#define VAE_RUNDIR_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p DIR and DIR/checkpoints. */
int rundir_prepare(const char *dir);
/* Takes the run folder's lock, DIR/lock, for the life of the run: a POSIX record lock (fcntl
 * F_SETLK, which NFS serves through lockd, unlike flock; the kernel releases it when the process
 * dies), with "host H pid P" written in the file. Fails at once, naming the holder, when another
 * process holds it. *fd is the lock's descriptor, for rundir_unlock (closing any other descriptor
 * of that file in this process would release the lock: nothing else opens it). */
int rundir_lock(const char *dir, int *fd);
void rundir_unlock(int fd);
/* Removes what an interrupted writer left in DIR/checkpoints: files named "<name>.tmp.<pid>" (a
 * checkpoint or `latest` being written when its process was killed; never under a final name).
 * Rank 0 calls it at start, holding the lock, before any checkpoint is written. *removed counts them. */
int rundir_remove_stale_temps(const char *dir, int *removed);
/* DIR/checkpoints/ckpt-<step, 8 digits>.h5 */
void rundir_checkpoint_path(const char *dir, int64_t step, char *buf, size_t size);
/* Points DIR/checkpoints/<pointer> ("latest", "best") at the checkpoint's file name: a one-line
 * file holding that name, replaced atomically. */
int rundir_point(const char *dir, const char *pointer, const char *ckpt_path);
/* Points `latest` at the checkpoint, then removes all but the newest `keep` checkpoints, never the
 * one just written, the one `best` names, nor resumed_from (the path of the checkpoint the run
 * resumed from, when it lies in the folder; NULL or "" when none). */
int rundir_commit_checkpoint(const char *dir, const char *ckpt_path, int keep, const char *resumed_from);
/* After resuming from the checkpoint `resumed` at step: the run's branch is what lies at or
 * before step. Checkpoints of DIR/checkpoints past it (a branch abandoned by a rollback, or not
 * valid) are moved, never removed, into a new folder DIR/checkpoints/abandoned-after-<step>[-k]
 * (aside, "" when none; *moved counts them), so that rotation and the next names never touch
 * them; `latest` then names `resumed` when it lies in the folder (else, when a checkpoint was set
 * aside, is removed), and a `best` that named one set aside names the checkpoint of best_step
 * when the folder has it (else is removed). */
int rundir_follow_branch(const char *dir, const char *resumed, int64_t step, int64_t best_step, char *aside,
                         size_t size, int *moved);
/* 1 when DIR/checkpoints holds any checkpoint or a latest pointer. */
int rundir_has_checkpoints(const char *dir);
/* The checkpoint `--resume auto` continues from: the one `latest` names when it opens and
 * validates, else the newest valid one (saying on stderr that latest was unusable and why each
 * one is). *found = 0 when the folder has neither checkpoints nor latest (a fresh start); when it
 * has some and none opens, fails naming them, having changed nothing. */
int rundir_find_resume(const char *dir, char *path, size_t size, int *found);

#endif
