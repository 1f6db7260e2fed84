#!/usr/bin/env bash
# The benchmark programs build and run, and print the figures the docs quote (no time is asserted:
# benchmarks measure, tests check): vae-bench-step on one and two threads, vae-bench-comm on 1 and
# 2 ranks.
source "${VAE_TESTS:?}/lib.sh" benchmarks

for t in 1 2; do
  "$bin/vae-bench-step" --vocab 600 --batch 32 --nnz-per-doc 20 --threads "$t" --reps 2 >"$work/step$t" ||
    fail "vae-bench-step --threads $t"
  for want in "OpenBLAS core: " "step (median of 2)" "docs/s: [0-9]" "GEMM-bound limit: [0-9]"; do
    grep -q "$want" "$work/step$t" || fail "vae-bench-step --threads $t: no '$want' in: $(cat "$work/step$t")"
  done
done
ok "vae-bench-step prints its step, docs/s and GEMM-bound limit"

for n in 1 2; do
  mpi "$n" "$bin/vae-bench-comm" --floats 100000 --reps 3 >"$work/comm$n" || fail "vae-bench-comm on $n ranks"
  grep -q "^$n ranks, 100000 floats" "$work/comm$n" && grep -q "^allreduce (in place): *[0-9.]* ms" "$work/comm$n" &&
    grep -q "^reduce-scatter (ring) + allgather: *[0-9.]* ms" "$work/comm$n" &&
    grep -q "^node-shared memory (barrier, sum, barrier): *[0-9.]* ms" "$work/comm$n" ||
    fail "vae-bench-comm on $n ranks: $(cat "$work/comm$n")"
done
for prog in vae-bench-comm vae-bench-step; do
  set +e; "$bin/$prog" --reps 0 >/dev/null 2>"$work/err"; rc=$?; set -e
  [ $rc -eq 2 ] && grep -q -- "--reps" "$work/err" || fail "$prog --reps 0: exit $rc: $(cat "$work/err")"
done
for prog in vae-bench-comm vae-bench-step; do
  "$bin/$prog" --help >"$work/help" && grep -q "^usage: .*$prog" "$work/help" || fail "$prog --help"
done
ok "vae-bench-comm prints all three ways on 1 and 2 ranks; --help, and a bad flag exits 2 naming it (both programs)"

echo "$pass passed, 0 failed"
