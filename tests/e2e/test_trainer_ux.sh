#!/usr/bin/env bash
# How a vae-dist run ends and what it keeps: --keep-best keeps and names (checkpoints/best) the
# checkpoint of the best valid ppl_doc, which rotation never removes; --early-stop N ends the run
# after N evaluations without a better one (exit 0), and a resumed run continues that count;
# --max-steps alone runs exactly its steps (past the default 10 epochs), with --epochs the first
# limit reached ends the run; the last line of stderr and of summary.jsonl says why.
source "${VAE_TESTS:?}/harness/lib.sh" trainer-ux

"$bin/vae-synth" -o "$work/c.h5" --docs 600 --vocab 200 --topics 5 --seed 3 --quiet
common=(--corpus "$work/c.h5" --batch-size 32 --threads 1 --seed 11 --eval-every 5 --log-every 5
        --checkpoint-every 5 --keep-checkpoints 2 --keep-best)

# end_line DIR REASON STEP: the last line of summary.jsonl is the end line of that reason and step.
end_line() {
  $py - "$1/summary.jsonl" "$2" "$3" <<'PY' || fail "end line of $1: $(tail -1 "$1/summary.jsonl")"
import json, sys
last = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert last["kind"] == "end" and last["reason"] == sys.argv[2] and last["step"] == int(sys.argv[3]), last
PY
}
# end_field DIR KEY: that member of the last line of summary.jsonl.
end_field() { $py -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' \
  "$1/summary.jsonl" "$2"; }
# ckpt_step FILE: the step a checkpoint holds.
ckpt_step() { $py -c 'import h5py, sys; print(int(h5py.File(sys.argv[1], "r").attrs["step"]))' "$1"; }

# A run in three parts on 2 ranks: 20 steps that learn, then with --lr 0 (the parameters stay as
# they are, so no evaluation is better than the one at step 20; evaluations on another number of
# ranks could differ in the last bits) 10 steps, and on with --early-stop one above the
# evaluations without improvement counted so far.
d=$work/run
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d" --lr 0.01 --max-steps 20 2>"$work/err"
end_line "$d" max_steps 20
tail -1 "$work/err" | grep -q "end at step 20 (epoch 1): reached --max-steps; best valid ppl_doc .* at step" ||
  fail "stderr's last line: $(tail -1 "$work/err")"
stale=$(end_field "$d" evals_without_improvement)
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d" --lr 0 --max-steps 30 --resume auto --quiet
end_line "$d" max_steps 30
[ "$(end_field "$d" evals_without_improvement)" = $((stale + 2)) ] || fail "the count did not go on over a resume"
set +e
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d" --lr 0 --early-stop $((stale + 3)) --resume auto 2>"$work/err"
rc=$?
set -e
[ $rc -eq 0 ] || fail "early stop: exit $rc: $(cat "$work/err")"
end_line "$d" early_stop 35
tail -1 "$work/err" | grep -q "end at step 35 (epoch 2): early stop: no better valid ppl_doc in $((stale + 3)) evaluations" ||
  fail "stderr's last line: $(tail -1 "$work/err")"
# The summary's evaluations, counted over the three parts, give the same best and stop.
best=$($py - "$d/summary.jsonl" $((stale + 3)) <<'PY'
import json, sys
evals = [json.loads(l) for l in open(sys.argv[1]) if '"kind": "eval"' in l]
best, at, stale = float("inf"), -1, 0
for e in evals:
    best, at, stale = (e["ppl_doc"], e["step"], 0) if e["ppl_doc"] < best else (best, at, stale + 1)
assert stale == int(sys.argv[2]) and evals[-1]["step"] == 35, (stale, evals[-1])
end = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert end["best_step"] == at and end["best_value"] == best, (end, at, best)
print(at)
PY
) || fail "the early stop does not follow the eval lines"
ok "--early-stop ends the run with exit 0 at the evaluation the count reaches, across resumes (best at step $best)"

# --keep-best: checkpoints/best names the best's checkpoint, kept beside the newest 2 (30 and 35).
name=$(printf 'ckpt-%08d.h5' "$best")
[ "$(cat "$d/checkpoints/best")" = "$name" ] || fail "best names $(cat "$d/checkpoints/best"), not $name"
[ "$(ckpt_step "$d/checkpoints/$name")" = "$best" ] || fail "the best checkpoint holds another step"
want=$(printf '%s\n' "$name" ckpt-00000030.h5 ckpt-00000035.h5 | sort)
[ "$(ls "$d/checkpoints" | grep '^ckpt-')" = "$want" ] || fail "checkpoints kept: $(ls "$d/checkpoints")"
valid "$d/checkpoints/$name" || fail "the best checkpoint does not evaluate"
# Resumed after its early stop, the run stays stopped.
mpi 1 "$bin/vae-dist" "${common[@]}" --out "$d" --lr 0 --early-stop $((stale + 3)) --resume auto --quiet
end_line "$d" early_stop 35
ok "--keep-best keeps the best checkpoint ($name) through the rotation, named by checkpoints/best"

# The limits: the train split has 480 documents, 15 steps of 32 an epoch, so the default 10 epochs
# are 150 steps.
limits=(--corpus "$work/c.h5" --batch-size 32 --threads 1 --eval-every 0 --log-every 0 --quiet)
run_limits() { # NAME WANT_STEP WANT_REASON FLAGS...
  local name=$1 step=$2 reason=$3
  shift 3
  mpi 1 "$bin/vae-dist" "${limits[@]}" --out "$work/$name" "$@"
  [ "$(ckpt_step "$(latest "$work/$name")")" = "$step" ] || fail "$*: stopped at $(ckpt_step "$(latest "$work/$name")")"
  end_line "$work/$name" "$reason" "$step"
}
run_limits max 157 max_steps --max-steps 157
run_limits none 150 epochs
run_limits epochs_first 30 epochs --epochs 2 --max-steps 100
run_limits steps_first 20 max_steps --epochs 10 --max-steps 20
run_limits equal 30 max_steps --epochs 2 --max-steps 30
$py -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(c["epochs"] != -1 or c["max_steps"] != 157)' \
  "$work/max/config.json" || fail "config.json of --max-steps alone: $(cat "$work/max/config.json")"
ok "--max-steps alone runs its steps past 10 epochs; with --epochs the first limit reached ends the run"

# Usage: --early-stop needs evaluations; --keep-best needs a valid split.
expect_status 2 "$bin/vae-dist" "${limits[@]}" --out "$work/bad" --early-stop 2
grep -q -- "--early-stop" "$work/err" || fail "--early-stop without evaluations: $(cat "$work/err")"
"$bin/vae-synth" -o "$work/novalid.h5" --docs 100 --vocab 50 --topics 2 --valid-frac 0 --quiet
expect_status 1 "$bin/vae-dist" --corpus "$work/novalid.h5" --out "$work/bad" --keep-best --quiet
grep -q "valid split" "$work/err" || fail "--keep-best without a valid split: $(cat "$work/err")"
ok "--early-stop without evaluations exits 2; --keep-best without a valid split exits 1, naming it"

echo "$pass passed, 0 failed"
