#!/usr/bin/env bash
# Stop signals (SPEC.md "Training semantics"): one SIGTERM mid-run stops after the current step
# with a checkpoint and status 143; a second SIGTERM while that long step runs ends the process at
# once (143, no checkpoint), and so does one during start-up (here a rank blocked opening its
# corpus, a FIFO no one writes, as on a hung file system), so `timeout` or a batch system's grace
# can always stop a stuck rank.
source "${VAE_TESTS:?}/harness/lib.sh" signals

# Steps of seconds: a large vocabulary, wide layers, one thread.
"$bin/vae-synth" -o "$work/c.h5" --docs 1000 --vocab 20000 --topics 4 --seed 3 --quiet
common=(--corpus "$work/c.h5" --batch-size 256 --encoder-hidden 1024 --decoder-hidden 1024 --eval-every 0
        --log-every 1 --checkpoint-every 0 --threads 1 --seed 5 --quiet --max-steps 100000)

# run_until_step DIR N: starts a run (pid in $run), returns once summary.jsonl has N lines.
run_until_step() {
  "$bin/vae-dist" "${common[@]}" --out "$1" </dev/null >"$1.log" 2>&1 &
  run=$!
  for _ in $(seq 1200); do [ "$(cat "$1/summary.jsonl" 2>/dev/null | wc -l)" -ge "$2" ] && return; sleep 0.1; done
  fail "no $2 steps in 120 s: $(cat "$1.log")"
}
# finish PID SECONDS: its exit status, or a failure when it runs longer.
finish() {
  local i
  for i in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && { kill -KILL "$1"; fail "still running $2 s after the signal"; }
  set +e; wait "$1"; status=$?; set -e
}
# ended_at_once WHAT DIR: the run of $run in DIR ends within 2 s by the signal (143), no checkpoint.
ended_at_once() {
  finish $run 2
  [ $status -eq 143 ] || fail "$1: exit $status: $(cat "$2.log")"
  [ ! -e "$2/checkpoints/latest" ] || fail "$1: a checkpoint was written"
}

# One SIGTERM: the step ends, rank 0 checkpoints, 143.
run_until_step "$work/one" 1
kill -TERM $run
finish $run 120
[ $status -eq 143 ] || fail "one SIGTERM: exit $status: $(cat "$work/one.log")"
valid "$(latest "$work/one")" || fail "one SIGTERM: no valid checkpoint"
ok "one SIGTERM: a checkpoint at step $(cat "$work/one/checkpoints/latest"), exit 143"

# Two SIGTERMs inside a step: gone within 2 s, no checkpoint, 143.
t0=$(date +%s%N)
run_until_step "$work/two" 1
step_ns=$(( ($(date +%s%N) - t0) ))
sleep 0.2
kill -TERM $run
sleep 0.2
kill -TERM $run
ended_at_once "two SIGTERMs" "$work/two"
ok "two SIGTERMs: ended at once (start-up and the first step took $((step_ns / 1000000)) ms here), no checkpoint, exit 143"

# One SIGTERM during start-up.
mkfifo "$work/fifo.h5"
"$bin/vae-dist" --corpus "$work/fifo.h5" --out "$work/start" --quiet --threads 1 </dev/null >"$work/start.log" 2>&1 &
run=$!
sleep 1.5
kill -TERM $run
ended_at_once "SIGTERM in start-up" "$work/start"
ok "a SIGTERM during start-up ends the rank at once, exit 143"
echo "$pass passed, 0 failed"
