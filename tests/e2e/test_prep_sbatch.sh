#!/usr/bin/env bash
# jobs/prep.sbatch run as Slurm runs it (SLURM_NTASKS set) but without Slurm
# (tests/e2e/test_slurm.sh runs it under a real one with one task): one task runs vae-prep alone,
# two run it under mpirun over both tasks (the script says so), and both jobs write the corpus of
# a plain run, dataset for dataset; a failure is the job's exit status, with one message.
source "${VAE_TESTS:?}/harness/lib.sh" prep-sbatch
root=$(cd "$tests/.." && pwd)
# mpirun is the launcher here (srun needs a real Slurm: test_slurm.sh), whatever the caller chose.
unset VAE_LAUNCHER
export VAE_DIST_BIN=$bin SLURM_JOB_ID=4343
words=(apple banana cherry grape lemon mango melon peach pear plum river mountain forest valley ocean)
for i in $(seq 3000); do
  echo "${words[i % 15]} ${words[i % 7]} ${words[(i / 3) % 15]} ${words[(i * 7) % 11]} ${words[(i / 5) % 13]}"
done >"$work/in.txt"
"$bin/vae-prep" --quiet -o "$work/plain.h5" "$work/in.txt"
for tasks in 1 2; do
  SLURM_NTASKS=$tasks bash "$root/jobs/prep.sbatch" --quiet -o "$work/job$tasks.h5" "$work/in.txt" \
    </dev/null 2>"$work/log$tasks" || fail "$tasks tasks: exit $?: $(cat "$work/log$tasks")"
  $py "$tests/harness/h5_identical.py" "$work/plain.h5" "$work/job$tasks.h5" || fail "$tasks tasks: another corpus"
done
[ ! -s "$work/log1" ] || fail "one task said: $(cat "$work/log1")"
grep -q "^prep.sbatch: job 4343 on 2 tasks: mpirun -np 2 .*vae-prep --quiet" "$work/log2" || fail "two tasks: $(cat "$work/log2")"
ok "one task runs vae-prep alone, two run it under mpirun; both write a plain run's corpus"
set +e
SLURM_NTASKS=2 bash "$root/jobs/prep.sbatch" --quiet -o "$work/bad.h5" "$work/missing.txt" </dev/null 2>"$work/log-bad"
rc=$?
set -e
[ $rc -eq 1 ] && [ "$(grep -c '^vae-prep:' "$work/log-bad")" -eq 1 ] && [ ! -e "$work/bad.h5" ] ||
  fail "a missing input on two tasks: exit $rc: $(cat "$work/log-bad")"
ok "a missing input on two tasks: exit 1, one message, no file"
echo "$pass passed, 0 failed"
