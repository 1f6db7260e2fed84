#!/usr/bin/env bash
# Out of disk while writing a checkpoint: a resumed run whose rank may not write a file as large as
# a checkpoint (RLIMIT_FSIZE, `ulimit -f`) fails its next checkpoint with exit 1 and one message
# naming the checkpoint's path and the error; the previous checkpoint and `latest` stay whole and
# valid (vae-infer eval works on them), nothing under a final name is cut short, no temporary file
# is left, and a later run with room resumes from the previous checkpoint and finishes.
#
# vae-dist must ignore SIGXFSZ (src/bin/vae_dist.c), else the kernel kills the rank mid-write with
# a half-written temporary file and no message. The limit is set inside mpirun, on the rank only
# (`mpirun -np 1 bash -c 'ulimit -f N; exec vae-dist ...'`): run as a plain singleton, vae-dist's
# MPI_Init starts Open MPI's daemon, which inherits the limit and cannot create its own
# shared-memory files, so MPI_Init itself would fail.
source "${VAE_TESTS:?}/harness/lib.sh" disk-full

"$bin/vae-synth" -o "$work/c.h5" --docs 600 --vocab 400 --topics 4 --seed 3 --quiet
run="$work/run"
common=(--corpus "$work/c.h5" --out "$run" --batch-size 32 --eval-every 0 --quiet --threads 1 --seed 5
        --checkpoint-every 10 --keep-checkpoints 3)
mpirun -np 1 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --max-steps 20 </dev/null
ckpt=$(stat -c %s "$run/checkpoints/ckpt-00000020.h5")
[ "$(cat "$run/checkpoints/latest")" = ckpt-00000020.h5 ] || fail "the first run did not finish"
before=$(md5sum "$run/checkpoints/ckpt-00000010.h5" "$run/checkpoints/ckpt-00000020.h5" "$run/checkpoints/latest")

# Room for config.json and summary.jsonl, not for a checkpoint (ulimit -f counts KiB).
limit=$((ckpt / 1024 / 2))
set +e
msg=$(mpirun -np 1 "${mpi_flags[@]}" bash -c "ulimit -f $limit; exec \"\$0\" \"\$@\"" "$bin/vae-dist" \
        "${common[@]}" --max-steps 40 --resume auto 2>&1 </dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || fail "out of room: exit $rc, expected 1: $msg"
grep -q "signal 25\|File size limit" <<<"$msg" && fail "the rank was killed by SIGXFSZ: $msg"
line=$(grep '^vae-dist:' <<<"$msg" || true)
[ "$(grep -c . <<<"$line")" -eq 1 ] || fail "not one vae-dist message: $msg"
grep -qF "$run/checkpoints/ckpt-00000030.h5" <<<"$line" || fail "the message does not name the checkpoint: $line"
grep -q "File too large" <<<"$line" || fail "the message does not say what failed: $line"
ok "a checkpoint that does not fit: exit 1, one message: ${line#vae-dist: }"

[ "$(cat "$run/checkpoints/latest")" = ckpt-00000020.h5 ] || fail "latest moved: $(cat "$run/checkpoints/latest")"
[ "$(md5sum "$run/checkpoints/ckpt-00000010.h5" "$run/checkpoints/ckpt-00000020.h5" "$run/checkpoints/latest")" = "$before" ] ||
  fail "the previous checkpoints or latest changed"
[ ! -e "$run/checkpoints/ckpt-00000030.h5" ] || fail "a checkpoint under its final name was written"
leftover=$(ls "$run/checkpoints" | grep '\.tmp\.' || true)
[ -z "$leftover" ] || fail "temporary files left: $leftover"
ls "$run" | grep -q '\.tmp\.' && fail "temporary files left in the run folder: $(ls "$run")"
for f in "$run"/checkpoints/ckpt-*.h5; do
  valid "$f" || fail "$f does not validate"
  [ "$(stat -c %s "$f")" -eq "$ckpt" ] || fail "$f has another size than a whole checkpoint"
done
valid "$run/checkpoints/$(cat "$run/checkpoints/latest")" || fail "latest does not validate"
$py -c "import json,sys; json.load(open('$run/config.json'))" || fail "config.json is not whole"
ok "the previous checkpoint and latest are untouched and valid, nothing cut short, no temporary file"

# A real full disk (ENOSPC), where the system lets root mount a small tmpfs: room for two
# checkpoints and a half, so the third of one run fails.
disk="$work/disk"
mkdir "$disk"
if mount -t tmpfs -o size=$((ckpt * 5 / 2)) tmpfs "$disk" 2>/dev/null; then
  trap 'umount "$disk" 2>/dev/null || true; rm -rf "$work"' EXIT
  set +e
  msg=$(mpirun -np 1 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$disk/run" --max-steps 40 2>&1 </dev/null)
  rc=$?
  set -e
  line=$(grep '^vae-dist:' <<<"$msg" || true)
  [ $rc -eq 1 ] && grep -qF "$disk/run/checkpoints/ckpt-00000030.h5" <<<"$line" && grep -q "No space left" <<<"$line" ||
    fail "full disk: exit $rc, message: $msg"
  [ "$(cat "$disk/run/checkpoints/latest")" = ckpt-00000020.h5 ] || fail "full disk: latest is not the previous checkpoint"
  [ "$(ls "$disk/run/checkpoints")" = "$(printf 'ckpt-00000010.h5\nckpt-00000020.h5\nlatest')" ] ||
    fail "full disk: the folder holds $(ls "$disk/run/checkpoints")"
  valid "$disk/run/checkpoints/ckpt-00000020.h5" && valid "$disk/run/checkpoints/ckpt-00000010.h5" ||
    fail "full disk: the previous checkpoints do not validate"
  umount "$disk"
  ok "a full disk (tmpfs): exit 1 naming the checkpoint, previous checkpoints and latest valid, no temporary file"
else
  echo "ok - # SKIP a real full disk: cannot mount a tmpfs here (the ulimit -f case above stands in)"
fi

# With room again, --resume auto continues from step 20 and finishes.
msg=$(mpirun -np 1 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --max-steps 40 --resume auto 2>&1 </dev/null |
      grep -v '^$' || true)
[ "$(cat "$run/checkpoints/latest")" = ckpt-00000040.h5 ] || fail "the run did not finish after the failure: $msg"
valid "$run/checkpoints/ckpt-00000040.h5" || fail "the final checkpoint does not validate"
mpirun -np 1 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$work/ref" --max-steps 40 </dev/null
$py "$tests/harness/ckpt_compare.py" "$work/ref/checkpoints/ckpt-00000040.h5" "$run/checkpoints/ckpt-00000040.h5" exact >/dev/null ||
  fail "the resumed run differs from an uninterrupted one"
ok "with room again, --resume auto finishes with the uninterrupted result"
echo "$pass passed, 0 failed"
