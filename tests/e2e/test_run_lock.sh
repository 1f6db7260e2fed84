#!/usr/bin/env bash
# The lock on a run folder (SPEC.md "A training run's folder"): while a trainer runs in --out DIR,
# a second one in DIR, fresh or with --resume auto, on 1 or 2 ranks, exits 1 at once naming the
# holder's host and pid, and touches nothing of the first (its temporary checkpoint, its summary):
# the first run then finishes whole. The kernel releases the lock when its holder dies (SIGKILL),
# and the next run takes it and cleans the dead run's temporary files.
source "${VAE_TESTS:?}/harness/lib.sh" run-lock

# A 60 MB checkpoint (--vocab 20000), so that the first run is often inside a checkpoint write.
"$bin/vae-synth" -o "$work/c.h5" --docs 300 --vocab 20000 --topics 4 --seed 3 --quiet
d=$work/run
common=(--corpus "$work/c.h5" --out "$d" --batch-size 16 --eval-every 0 --log-every 1 --threads 1 --seed 5
        --checkpoint-every 2 --keep-checkpoints 2)
# The first run, a single process (its pid is the holder's), long enough to be stopped by USR1.
"$bin/vae-dist" "${common[@]}" --quiet --max-steps 100000 </dev/null >"$work/first.log" 2>&1 &
first=$!
for _ in $(seq 600); do [ -s "$d/checkpoints/latest" ] && break; sleep 0.05; done
[ -s "$d/checkpoints/latest" ] || fail "the first run wrote no checkpoint: $(cat "$work/first.log")"
[ "$(cat "$d/lock")" = "host $(hostname) pid $first" ] || fail "the lock file holds '$(cat "$d/lock")'"

second() {  # second WHAT RANKS FLAGS...: exits 1 within 30 s, one message naming the holder
  local what=$1 n=$2
  shift 2
  local t0=$SECONDS
  expect_status 1 timeout 60 mpirun -np "$n" "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --quiet --max-steps 100000 "$@"
  [ $((SECONDS - t0)) -lt 30 ] || fail "$what: took $((SECONDS - t0)) s"
  [ "$(grep -c '^vae-dist:' "$work/err")" -eq 1 ] || fail "$what: not one message: $(cat "$work/err")"
  grep -q "^vae-dist: $d is in use: another trainer holds its lock $d/lock (host $(hostname) pid $first)" "$work/err" ||
    fail "$what: the message does not name the holder: $(cat "$work/err")"
  kill -0 $first 2>/dev/null || fail "$what: the first run died: $(cat "$work/first.log")"
}
# --resume auto while the first run writes checkpoints: it would have removed their temporary files.
for i in 1 2 3; do second "--resume auto on 1 rank" 1 --resume auto; done
second "--resume auto on 2 ranks" 2 --resume auto
second "a fresh run" 1
ok "a second trainer in the folder exits 1 at once naming host and pid $first; the first runs on"

kill -USR1 $first
set +e; wait $first; rc=$?; set -e
[ $rc -eq 0 ] || fail "the first run, stopped by USR1, exited $rc: $(cat "$work/first.log")"
valid "$(latest "$d")" || fail "the first run's last checkpoint does not validate"
$py - "$d/summary.jsonl" <<'PY' || fail "the first run's summary is not one run's lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
steps = [l["step"] for l in lines if l["kind"] == "train"]
assert steps == list(range(1, len(steps) + 1)) and lines[-1]["kind"] == "end", steps[-5:]
PY
[ -z "$(compgen -G "$d/checkpoints/*.tmp.*")" ] || fail "temporary files left: $(ls "$d/checkpoints")"
ok "the first run ends whole: its checkpoint valid, its summary its own"

# A holder killed outright: its lock goes with it; the next run takes it and removes the stale files.
"$bin/vae-dist" "${common[@]}" --quiet --max-steps 100000 --resume auto </dev/null >"$work/third.log" 2>&1 &
third=$!
for _ in $(seq 600); do grep -q "pid $third" "$d/lock" 2>/dev/null && break; sleep 0.05; done
sleep 1
kill -KILL $third
set +e; wait $third 2>/dev/null; set -e
touch "$d/checkpoints/ckpt-99999999.h5.tmp.$third"
# Ten steps past wherever the killed run got (a loaded machine or a sanitized build moves it).
last=$(sed 's/^ckpt-0*\([0-9]\)/\1/; s/\.h5$//' "$d/checkpoints/latest")
target=$((last + 10))
expect_status 0 timeout 120 "$bin/vae-dist" "${common[@]}" --max-steps "$target" --resume auto
grep -q "removed [0-9]* stale temporary file" "$work/err" || fail "no word of the stale files: $(cat "$work/err")"
[ ! -e "$d/checkpoints/ckpt-99999999.h5.tmp.$third" ] || fail "the dead run's temporary file is left"
[ "$(cat "$d/checkpoints/latest")" = "$(printf 'ckpt-%08d.h5' "$target")" ] || fail "the run after the kill did not finish"
ok "the lock of a killed run is released; the next holder cleans its temporary files"
echo "$pass passed, 0 failed"
