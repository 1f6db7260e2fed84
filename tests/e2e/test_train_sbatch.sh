#!/usr/bin/env bash
# jobs/train.sbatch's decisions, run as Slurm runs it (SLURM_JOB_ID set, USR1 to the script) but
# without Slurm, with an `scontrol` of our own on PATH that records what it is asked
# (tests/e2e/test_slurm.sh runs the script under a real Slurm): it requeues only when the ranks
# stopped cleanly on USR1; a stop whose checkpoint fails, a failure and a usage error are the
# job's exit status, never a requeue; requeues stop at VAE_MAX_REQUEUES; a failed run ends at once
# (mpirun is given no kill grace, which it would wait out); --init-from goes through the script.
source "${VAE_TESTS:?}/harness/lib.sh" train-sbatch
root=$(cd "$tests/.." && pwd)

mkdir -p "$work/fakebin"
cat >"$work/fakebin/scontrol" <<EOF
#!/bin/sh
echo "\$*" >>"$work/scontrol.log"
EOF
chmod +x "$work/fakebin/scontrol"
export PATH=$work/fakebin:$PATH VAE_DIST_BIN=$bin SLURM_JOB_ID=4242 SLURM_NTASKS_PER_NODE=2 SLURM_CPUS_PER_TASK=1
unset SLURM_RESTART_COUNT VAE_MAX_REQUEUES OMPI_MCA_odls_base_sigkill_timeout
"$bin/vae-synth" -o "$work/c.h5" --docs 300 --vocab 100 --topics 4 --seed 3 --quiet
train=(--corpus "$work/c.h5" --batch-size 16 --eval-every 0 --checkpoint-every 0 --log-every 1 --quiet --seed 5)

# job OUT [FLAGS...]: the script in the background (pid in $job, log $work/job.log), once its run
# has logged a step; then stop_job sends it USR1 as Slurm's --signal=B:USR1 does, and waits.
job() {
  local d=$1
  shift
  : >"$work/scontrol.log"
  bash "$root/jobs/train.sbatch" "${train[@]}" --out "$d" --max-steps 1000000 "$@" </dev/null >"$work/job.log" 2>&1 &
  job=$!
  for _ in $(seq 600); do [ -s "$d/summary.jsonl" ] && return; sleep 0.05; done
  fail "the job's run logged no step: $(cat "$work/job.log")"
}
stop_job() {
  sleep 0.5
  kill -USR1 $job
  set +e; wait $job; status=$?; set -e
}

# A clean stop: exit 0, a requeue, a valid checkpoint.
job "$work/a"
stop_job
[ $status -eq 0 ] || fail "clean stop: exit $status: $(cat "$work/job.log")"
[ "$(cat "$work/scontrol.log")" = "requeue 4242" ] || fail "clean stop: scontrol got '$(cat "$work/scontrol.log")'"
grep -q "requeueing job 4242 (requeue 1 of at most 10)" "$work/job.log" || fail "clean stop: $(cat "$work/job.log")"
valid "$(latest "$work/a")" || fail "clean stop: no valid checkpoint"
ok "a clean stop on USR1: exit 0, requeued"

# The stop's checkpoint cannot be written (checkpoints/ replaced by a file): exit 1, no requeue.
job "$work/b"
mv "$work/b/checkpoints" "$work/b/moved" && touch "$work/b/checkpoints"
stop_job
[ $status -eq 1 ] || fail "failed stop: exit $status: $(cat "$work/job.log")"
[ ! -s "$work/scontrol.log" ] || fail "failed stop: scontrol got '$(cat "$work/scontrol.log")'"
grep -q "did not stop cleanly on the signal (exit 1): not requeueing" "$work/job.log" ||
  fail "failed stop: $(cat "$work/job.log")"
ok "a stop whose checkpoint fails: exit 1, no requeue"

# The cap: the 3rd requeue asked with VAE_MAX_REQUEUES=2 is refused, exit 1.
SLURM_RESTART_COUNT=2 VAE_MAX_REQUEUES=2 job "$work/cap"
stop_job
[ $status -eq 1 ] || fail "cap: exit $status: $(cat "$work/job.log")"
[ ! -s "$work/scontrol.log" ] || fail "cap: scontrol got '$(cat "$work/scontrol.log")'"
grep -q "has been requeued 2 times (VAE_MAX_REQUEUES=2): not requeueing" "$work/job.log" || fail "cap: $(cat "$work/job.log")"
ok "requeues stop at VAE_MAX_REQUEUES: exit 1"

# A failure and a usage error: their status, at once, no requeue.
printf 'not a corpus' >"$work/bad.h5"
: >"$work/scontrol.log"
t0=$SECONDS
expect_status 1 timeout 100 bash "$root/jobs/train.sbatch" --corpus "$work/bad.h5" --out "$work/c" --quiet
[ $((SECONDS - t0)) -lt 30 ] || fail "a failed run took $((SECONDS - t0)) s to end"
expect_status 2 timeout 100 bash "$root/jobs/train.sbatch" "${train[@]}" --out "$work/c" --no-such-flag
[ ! -s "$work/scontrol.log" ] || fail "failure: scontrol got '$(cat "$work/scontrol.log")'"
ok "a failure exits 1 in $((SECONDS - t0)) s, a usage error 2; no requeue"

# --init-from through the script: the first run starts from the checkpoint's parameters, a
# requeued one resumes its own.
expect_status 0 timeout 100 bash "$root/jobs/train.sbatch" "${train[@]}" --out "$work/d" --max-steps 5 \
  --init-from "$(latest "$work/a")"
[ "$(cat "$work/d/checkpoints/latest")" = ckpt-00000005.h5 ] || fail "--init-from: did not finish: $(cat "$work/out")"
first=$(head -1 "$work/d/summary.jsonl")
expect_status 0 timeout 100 bash "$root/jobs/train.sbatch" "${train[@]}" --out "$work/d" --max-steps 8 \
  --init-from "$(latest "$work/a")"
[ "$(cat "$work/d/checkpoints/latest")" = ckpt-00000008.h5 ] || fail "--init-from, requeued: did not finish"
# A resume keeps the first run's lines (a start from --init-from again would rewrite them).
[ "$(head -1 "$work/d/summary.jsonl")" = "$first" ] || fail "--init-from, requeued: started again instead of resuming"
ok "--init-from through the script; the next run resumes"
echo "$pass passed, 0 failed"
