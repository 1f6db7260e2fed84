#!/usr/bin/env bash
# The benchmark programs build and run, and print the figures the docs quote (no time is asserted:
# benchmarks measure, tests check): vae-bench-step on one and two threads, vae-bench-comm on 1 and
# 2 ranks, tools/bench_scaling.sh on a small corpus, and the cost model tools/scaling_model.py.
source "${VAE_TESTS:?}/harness/lib.sh" benchmarks

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
mpi 2 "$bin/vae-bench-comm" --floats 100000 --reps 3 --ranks-per-node 1 >"$work/comm-nodes" &&
  grep -q "^node-shared memory, 2 nodes (.*): *[0-9.]* ms" "$work/comm-nodes" ||
  fail "vae-bench-comm on 2 emulated nodes: $(cat "$work/comm-nodes")"
for prog in vae-bench-comm vae-bench-step; do
  set +e; "$bin/$prog" --reps 0 >/dev/null 2>"$work/err"; rc=$?; set -e
  [ $rc -eq 2 ] && grep -q -- "--reps" "$work/err" || fail "$prog --reps 0: exit $rc: $(cat "$work/err")"
done
for prog in vae-bench-comm vae-bench-step; do
  "$bin/$prog" --help >"$work/help" && grep -q "^usage: .*$prog" "$work/help" || fail "$prog --help"
done
ok "vae-bench-comm prints all three ways on 1 and 2 ranks, and the exchange across 2 (emulated) nodes; --help, and a bad flag exits 2 naming it (both programs)"

echo "$pass passed, 0 failed"

VAE_DIST_BIN="$bin" "$tests/../tools/bench_scaling.sh" --vocab 300 --docs 3000 --steps 30 --repeats 1 >"$work/scaling" ||
  fail "bench_scaling.sh: $(cat "$work/scaling")"
for tag in 1 2s 2a 2f; do
  grep -q "^$tag rank(s): median [0-9]* docs/s over [0-9]* train lines; communication [0-9.]*% of step time" "$work/scaling" ||
    fail "bench_scaling.sh: no line for $tag in: $(cat "$work/scaling")"
done
[ "$(grep -c "^strong-scaling efficiency at 2[saf] ranks: [0-9.]*$" "$work/scaling")" -eq 3 ] &&
  [ "$(grep -c "^speed-up at 2[saf] ranks over 1: [0-9.]*x$" "$work/scaling")" -eq 3 ] ||
  fail "bench_scaling.sh: efficiencies or speed-ups missing in: $(cat "$work/scaling")"
ok "bench_scaling.sh prints docs/s, communication share, efficiency and speed-up for 1, 2s (default), 2a and 2f"

"$py" "$tests/../tools/scaling_model.py" >"$work/model" || fail "scaling_model.py: $(cat "$work/model")"
for R in 2 8 16 64 256 1024; do
  grep -q "^| $R | [0-9.]* | .* | [0-9.]* / [0-9.]* / [0-9.]* |$" "$work/model" || fail "scaling_model.py: no row for $R ranks"
done
grep -q "^R = 1024: [0-9.]* / [0-9.]* / [0-9.]*$" "$work/model" || fail "scaling_model.py: no weak-scaling line"
ok "scaling_model.py prints the strong-scaling rows and the weak-scaling efficiencies"
