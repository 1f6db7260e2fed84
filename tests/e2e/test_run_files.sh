#!/usr/bin/env bash
# The run's log, summary.jsonl (SPEC.md "A training run's folder"): a line that cannot be written
# (here the rank may not write past a file size, RLIMIT_FSIZE, that a checkpoint fits in and the
# log outgrows) stops the run with exit 1 after a checkpoint, with one message naming the file and
# the error; the resumed run cuts the half line off and goes on, so every line is whole JSON and
# no step is logged twice. A rollback (--resume of an older checkpoint) and a half line left by a
# killed run are cut back the same way.
source "${VAE_TESTS:?}/harness/lib.sh" run-files

"$bin/vae-synth" -o "$work/c.h5" --docs 200 --vocab 50 --topics 3 --seed 3 --quiet
common=(--corpus "$work/c.h5" --batch-size 16 --latent 2 --encoder-hidden 8 --decoder-hidden "" --eval-every 0
        --log-every 1 --quiet --threads 1 --seed 5)
# one_history FILE LAST [GAP]: every line whole JSON, in step order, train lines at steps 1..LAST
# once each, but for the steps GAP (a list: those whose lines could not be written).
one_history() {
  $py - "$1" "$2" "${3:-}" <<'PY' || fail "$1 is not one history of steps 1..$2 (without ${3:-none}): $(tail -c 300 "$1")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
gap = [int(g) for g in sys.argv[3].split()]
steps = [l["step"] for l in lines if l["kind"] == "train"]
assert steps == [s for s in range(1, int(sys.argv[2]) + 1) if s not in gap], steps
at = [l["step"] for l in lines]
assert at == sorted(at), at
PY
}

# 1. The log outgrows the file size limit; checkpoints (about 30 KB) fit.
d=$work/full
mpirun -np 1 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps 1 </dev/null
limit=$(( $(stat -c %s "$d/checkpoints/ckpt-00000001.h5") / 1024 + 12 ))
rm -rf "$d"
set +e
msg=$(timeout 300 mpirun -np 1 "${mpi_flags[@]}" bash -c "ulimit -f $limit; exec \"\$0\" \"\$@\"" "$bin/vae-dist" \
        "${common[@]}" --out "$d" --max-steps 5000 --checkpoint-every 0 2>&1 </dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || fail "a log that cannot be written: exit $rc, expected 1: ${msg:0:400}"
line=$(grep '^vae-dist:' <<<"$msg" || true)
[ "$(grep -c . <<<"$line")" -eq 1 ] || fail "not one vae-dist message: $msg"
grep -q "^vae-dist: $d/summary.jsonl: cannot write: File too large; stopped at step [0-9]* after a checkpoint: $d/checkpoints/ckpt-" <<<"$line" ||
  fail "the message does not name the log, the error and the checkpoint: $line"
stopped=$(sed -E 's/.*stopped at step ([0-9]+) .*/\1/' <<<"$line")
[ "$stopped" -lt 1000 ] || fail "the run went on to step $stopped after the log failed"
[ "$(latest "$d")" = "$d/checkpoints/$(printf 'ckpt-%08d.h5' "$stopped")" ] || fail "latest is not the stop's checkpoint"
valid "$(latest "$d")" || fail "the stop's checkpoint does not validate"
ok "a log that cannot be written: exit 1 at step $stopped after a checkpoint: ${line#vae-dist: }"
mpirun -np 1 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps $((stopped + 20)) \
  --checkpoint-every 0 --resume auto </dev/null
# The lines of the step whose line failed (cut, half) and of the stop's step (never written) are missing.
one_history "$d/summary.jsonl" $((stopped + 20)) "$((stopped - 1)) $stopped"
ok "the resumed run cut the half line, logged each step once, and goes on from step $((stopped + 1))"

# 2. A rollback cuts the abandoned branch's lines; a half line left by a killed run is cut.
d=$work/rollback
mpi 1 "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps 20 --checkpoint-every 10
mpi 1 "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps 20 --checkpoint-every 10 \
  --resume "$d/checkpoints/ckpt-00000010.h5"
one_history "$d/summary.jsonl" 20
[ "$(grep -c '"kind": "end"' "$d/summary.jsonl")" -eq 1 ] || fail "the abandoned branch's end line is kept"
printf '{"kind": "train", "step": 21, "epo' >>"$d/summary.jsonl"
mpi 1 "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps 25 --checkpoint-every 10 --resume auto
one_history "$d/summary.jsonl" 25
ok "a rollback and a half line: the log cut back to the starting step, each step once"
echo "$pass passed, 0 failed"
