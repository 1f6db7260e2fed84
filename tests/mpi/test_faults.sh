#!/usr/bin/env bash
# Faults: a rank killed with SIGKILL at random points (several seeds) ends the job, every
# checkpoint under its final name validates, and --resume auto finishes the run with the result of
# an uninterrupted one; a truncated or altered newest checkpoint is refused and auto falls back to
# the newest valid one, saying so.
source "${VAE_TESTS:?}/harness/lib.sh" faults

"$bin/vae-synth" -o "$work/c.h5" --docs 1200 --vocab 400 --topics 8 --seed 3 --quiet
steps=3000
common=(--corpus "$work/c.h5" --batch-size 32 --eval-every 0 --quiet --threads 1 --seed 5 --epochs 1000
        --max-steps $steps --checkpoint-every 100 --keep-checkpoints 2)
mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$work/ref" </dev/null

# SIGKILL one rank at a random moment, several seeds; then resume to the end.
for seed in 1 2 3; do
  run="$work/kill$seed"
  mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$run" </dev/null >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -s "$run/checkpoints/latest" ] && break; sleep 0.05; done
  sleep "0.$(( seed * 2 ))"
  victim=$(pgrep -f -- "--out $run" | grep -v "^$pid\$" | sed -n "$(( seed % 2 + 1 ))p")
  [ -n "$victim" ] || fail "seed $seed: the run ended before it could be killed"
  kill -KILL "$victim"
  set +e; wait $pid; rc=$?; set -e
  [ $rc -ne 0 ] || fail "seed $seed: mpirun exited 0 after a rank was killed"
  for f in "$run"/checkpoints/ckpt-*.h5; do valid "$f" || fail "seed $seed: $f does not validate"; done
  mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$run" --resume auto </dev/null
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/ref")" "$(latest "$run")" exact >/dev/null ||
    fail "seed $seed: resumed run differs from the uninterrupted one"
done
ok "SIGKILL of a rank (3 seeds): checkpoints valid, resume auto reaches the uninterrupted result"

# The newest checkpoint truncated, then altered: auto falls back to the older valid one.
for damage in truncate alter; do
  run="$work/$damage"
  mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --max-steps 250 --out "$run" </dev/null
  newest=$(latest "$run")
  if [ $damage = truncate ]; then
    truncate -s $(( $(stat -c %s "$newest") / 2 )) "$newest"
  else
    printf '\x55' | dd of="$newest" bs=1 seek=$(( $(stat -c %s "$newest") / 2 )) conv=notrunc status=none
  fi
  set +e; msg=$("$bin/vae-infer" eval --checkpoint "$newest" --corpus "$work/c.h5" 2>&1); rc=$?; set -e
  [ $rc -eq 1 ] && grep -qF "$newest" <<<"$msg" || fail "$damage: a damaged checkpoint was not refused: $msg"
  msg=$(mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --max-steps 300 --out "$run" --resume auto 2>&1 </dev/null)
  grep -q "missing or invalid" <<<"$msg" && grep -q "resuming from .*ckpt-00000200.h5" <<<"$msg" ||
    fail "$damage: resume auto did not fall back with a message: $msg"
  [ "$(basename "$(latest "$run")")" = ckpt-00000300.h5 ] || fail "$damage: the run did not finish"
done
ok "a truncated or altered newest checkpoint is refused; resume auto falls back to the previous one"
echo "$pass passed, 0 failed"
