#!/usr/bin/env bash
# What a resume continues and what it keeps (SPEC.md "Training semantics", "A training run's
# folder"): a resume whose --batch-size, training documents or order differ from the checkpoint's
# (batch up, batch down, fewer documents, more documents, --no-shuffle) is refused on every rank
# with exit 1 naming what changed, leaving the folder as it was; --resume auto over checkpoints of
# which none opens stops with exit 1 naming them and removes nothing; the checkpoint resumed from
# is never rotated out; after a rollback (--resume of an older checkpoint of the folder) the later
# checkpoints are moved aside, not removed, and latest, best and rotation follow the new branch.
source "${VAE_TESTS:?}/harness/lib.sh" resume-rules

"$bin/vae-synth" -o "$work/c.h5" --docs 300 --vocab 100 --topics 4 --seed 3 --quiet
"$bin/vae-synth" -o "$work/fewer.h5" --docs 150 --vocab 100 --topics 4 --seed 3 --quiet
"$bin/vae-synth" -o "$work/more.h5" --docs 600 --vocab 100 --topics 4 --seed 3 --quiet
common=(--batch-size 16 --eval-every 0 --quiet --threads 1 --seed 5)
# folder_state DIR: every file's name and checksum but the lock's (its holder's pid), for "left as it was".
folder_state() { (cd "$1" && find . -type f ! -name lock -print0 | sort -z | xargs -0 md5sum); }

# 1. Changed position: the run is at step 10 of epoch 0 in batches of 16 over 240 training documents.
d=$work/pos
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 10 --checkpoint-every 5
before=$(folder_state "$d")
refused() {  # refused WHAT PATTERN FLAGS...: 2 ranks exit 1 with one message matching PATTERN
  local what=$1 pattern=$2
  shift 2
  expect_status 1 timeout 60 mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" --out "$d" --eval-every 0 --quiet \
    --threads 1 --seed 5 --max-steps 40 --resume auto "$@"
  grep -q "Segmentation\|signal" "$work/err" && fail "$what: a rank crashed: $(cat "$work/err")"
  [ "$(grep -c '^vae-dist:' "$work/err")" -eq 1 ] || fail "$what: not one message: $(cat "$work/err")"
  grep -q -- "$pattern" "$work/err" || fail "$what: the message does not say what changed: $(cat "$work/err")"
  [ "$(folder_state "$d")" = "$before" ] || fail "$what: the run folder changed"
  ok "$what: exit 1: $(grep '^vae-dist:' "$work/err" | cut -c1-150)..."
}
refused "batch size up" "was trained with --batch-size 16, not 64" --corpus "$work/c.h5" --batch-size 64
refused "batch size down" "was trained with --batch-size 16, not 8" --corpus "$work/c.h5" --batch-size 8
refused "fewer documents" "trained on 240 training documents, and the train split of $work/fewer.h5 has 120" \
  --corpus "$work/fewer.h5" --batch-size 16
refused "more documents" "trained on 240 training documents, and the train split of $work/more.h5 has 480" \
  --corpus "$work/more.h5" --batch-size 16
refused "another order" "was trained in shuffled order, and this run has --no-shuffle" --corpus "$work/c.h5" \
  --batch-size 16 --no-shuffle
# The same flags resume (and --init-from takes the parameters with another batch size).
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 20 --checkpoint-every 5 --resume auto
[ "$(cat "$d/checkpoints/latest")" = ckpt-00000020.h5 ] || fail "the unchanged resume did not finish"
mpi 2 "$bin/vae-dist" --corpus "$work/fewer.h5" --out "$work/init" --eval-every 0 --quiet --threads 1 \
  --batch-size 64 --max-steps 5 --init-from "$(latest "$d")"
ok "an unchanged resume continues; --init-from takes the parameters under other flags"

# 2. --resume auto over checkpoints of which none opens: exit 1 naming them, nothing removed.
d=$work/damaged
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 15 --checkpoint-every 5
for f in "$d"/checkpoints/ckpt-*.h5; do head -c 2000 "$f" >"$f.cut" && mv "$f.cut" "$f"; done
before=$(folder_state "$d")
expect_status 1 timeout 60 mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" \
  "${common[@]}" --max-steps 30 --checkpoint-every 5 --resume auto
grep -q "holds ckpt-00000005.h5, ckpt-00000010.h5, ckpt-00000015.h5, and none of them opens" "$work/err" ||
  fail "damaged: the message does not name the checkpoints: $(cat "$work/err")"
[ "$(folder_state "$d")" = "$before" ] || fail "damaged: the run folder changed"
[ "$(grep -c '"step"' "$d/summary.jsonl")" -gt 0 ] || fail "damaged: the summary was emptied"
ok "--resume auto with no checkpoint that opens: exit 1 naming them, the folder as it was"

# 3. The checkpoint resumed from is never rotated out; the folder keeps the newest --keep-checkpoints
# besides it.
d=$work/keep
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 10 --checkpoint-every 5 \
  --keep-checkpoints 1
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 30 --checkpoint-every 5 \
  --keep-checkpoints 1 --resume auto
[ "$(ls "$d/checkpoints" | grep '^ckpt' | tr '\n' ' ')" = "ckpt-00000010.h5 ckpt-00000030.h5 " ] ||
  fail "rotation after a resume left: $(ls "$d/checkpoints" | tr '\n' ' ')"
ok "the checkpoint resumed from stays through rotation"

# 4. Rollback: a run to 30 (checkpoints 10, 20, 30, best at 30 or before), resumed from 10 with
# checkpoints every 5: 20 and 30 are moved aside whole, latest names 10 at once, then the new
# branch's 15 and 20; the old files are untouched.
d=$work/rollback
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 30 --checkpoint-every 10 \
  --eval-every 10 --keep-best
old20=$(md5sum <"$d/checkpoints/ckpt-00000020.h5") old30=$(md5sum <"$d/checkpoints/ckpt-00000030.h5")
mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 20 \
  --checkpoint-every 5 --eval-every 10 --keep-best --resume "$d/checkpoints/ckpt-00000010.h5" 2>"$work/err"
aside=$d/checkpoints/abandoned-after-00000010
grep -q "holds 2 checkpoints past step 10, which this run does not continue: moved to $aside" "$work/err" ||
  fail "rollback: no word of the checkpoints set aside: $(cat "$work/err")"
[ "$(md5sum <"$aside/ckpt-00000020.h5")" = "$old20" ] && [ "$(md5sum <"$aside/ckpt-00000030.h5")" = "$old30" ] ||
  fail "rollback: the abandoned branch's checkpoints were changed"
[ "$(ls "$d/checkpoints" | grep '^ckpt' | tr '\n' ' ')" = "ckpt-00000010.h5 ckpt-00000015.h5 ckpt-00000020.h5 " ] ||
  fail "rollback: the folder holds $(ls "$d/checkpoints" | tr '\n' ' ')"
[ "$(cat "$d/checkpoints/latest")" = ckpt-00000020.h5 ] || fail "rollback: latest is $(cat "$d/checkpoints/latest")"
valid "$(latest "$d")" || fail "rollback: latest does not validate"
best=$(cat "$d/checkpoints/best")
[ -f "$d/checkpoints/$best" ] && [ "${best:5:8}" -le 20 ] || fail "rollback: best names '$best'"
[ "$(md5sum <"$d/checkpoints/ckpt-00000020.h5")" != "$old20" ] || fail "rollback: 20 is the old branch's"
ok "rollback: the later checkpoints moved aside unchanged, latest and best on the new branch"
# Rotation of the new branch never reaches what was set aside.
mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$d" "${common[@]}" --max-steps 40 --checkpoint-every 5 \
  --keep-checkpoints 1 --resume auto
[ -f "$aside/ckpt-00000030.h5" ] && [ "$(md5sum <"$aside/ckpt-00000030.h5")" = "$old30" ] ||
  fail "rotation removed or changed the set-aside checkpoints"
ok "rotation leaves the set-aside checkpoints alone"
echo "$pass passed, 0 failed"
