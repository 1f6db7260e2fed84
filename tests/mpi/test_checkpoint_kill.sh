#!/usr/bin/env bash
# Rank 0 killed (SIGKILL) in the middle of writing a checkpoint, i.e. while
# checkpoints/ckpt-*.h5.tmp.<pid> exists (a 60 MB checkpoint: --vocab 20000): the previous
# checkpoint and `latest` are valid, nothing under a final name is cut short, and --resume auto
# removes the stale temporary file at start (rank 0, src/rundir.c rundir_remove_stale_temps),
# saying so, and finishes with the result of an uninterrupted run. Also: stale temporary files of
# both kinds (a checkpoint's, latest's) are removed at start, and nothing else is.
source "${VAE_TESTS:?}/harness/lib.sh" ckpt-kill

"$bin/vae-synth" -o "$work/c.h5" --docs 400 --vocab 20000 --topics 4 --seed 3 --quiet
steps=24
common=(--corpus "$work/c.h5" --batch-size 16 --eval-every 0 --threads 1 --seed 5 --epochs 1000
        --checkpoint-every 4 --keep-checkpoints 2)
mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --quiet --max-steps $steps --out "$work/ref" </dev/null

# Up to 5 tries: the kill must land while the temporary file exists (it does for the write and the
# fsync of 60 MB; a kill that comes after the rename is a try lost, not a failure).
caught=""
for try in 1 2 3 4 5; do
  run="$work/kill$try"
  mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --quiet --max-steps 100000 --out "$run" \
    </dev/null >"$work/kill$try.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -s "$run/checkpoints/latest" ] && break; sleep 0.05; done
  [ -s "$run/checkpoints/latest" ] || fail "try $try: no first checkpoint"
  tmp=""
  for _ in $(seq 20000); do
    tmp=$(compgen -G "$run/checkpoints/ckpt-*.h5.tmp.*" | head -1 || true)
    [ -n "$tmp" ] && break
  done
  [ -n "$tmp" ] || fail "try $try: never saw a checkpoint being written"
  kill -KILL "${tmp##*.tmp.}" 2>/dev/null || true
  set +e; wait $pid; rc=$?; set -e
  [ $rc -ne 0 ] || fail "try $try: mpirun exited 0 after rank 0 was killed"
  if [ -e "$tmp" ]; then caught=$run; break; fi
  echo "# try $try: the kill came after the rename; again"
done
[ -n "$caught" ] || fail "in 5 tries, rank 0 was never killed while writing a checkpoint"
run=$caught
stale=$(basename "$tmp")
ok "rank 0 killed while writing $(basename "$tmp") ($(stat -c %s "$tmp") bytes written)"

latest=$(cat "$run/checkpoints/latest")
valid "$run/checkpoints/$latest" || fail "latest ($latest) does not validate"
for f in "$run"/checkpoints/ckpt-*.h5; do valid "$f" || fail "$f does not validate"; done
[ "$run/checkpoints/${stale%.tmp.*}" != "$run/checkpoints/$latest" ] || fail "latest names the checkpoint being written"
[ ! -e "$run/checkpoints/${stale%.tmp.*}" ] || fail "the checkpoint being written exists under its final name"
ok "the previous checkpoint ($latest) and latest are valid; nothing under the final name"

# Two more stale files, and files that only look like them (kept).
touch "$run/checkpoints/latest.tmp.4242" "$run/checkpoints/notes.tmp.txt" "$run/checkpoints/x.tmp."
msg=$(mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --max-steps $steps --out "$run" --resume auto 2>&1 </dev/null)
grep -q "removed 2 stale temporary files from $run/checkpoints" <<<"$msg" || fail "no word of the stale files: $msg"
left=$(ls "$run/checkpoints" | grep '\.tmp\.' | sort | tr '\n' ' ')
[ "$left" = "notes.tmp.txt x.tmp. " ] || fail "after the resume, temporary-looking files: '$left'"
grep -q "resuming from .*$latest" <<<"$msg" || fail "did not resume from $latest: $msg"
[ "$(cat "$run/checkpoints/latest")" = "$(printf 'ckpt-%08d.h5' $steps)" ] || fail "the resumed run did not finish"
$py "$tests/harness/ckpt_compare.py" "$work/ref/checkpoints/$(cat "$work/ref/checkpoints/latest")" \
  "$run/checkpoints/$(cat "$run/checkpoints/latest")" exact >/dev/null || fail "the resumed run differs from the uninterrupted one"
ok "--resume auto removes the stale temporary files, keeps the rest, and finishes with the uninterrupted result"
echo "$pass passed, 0 failed"
