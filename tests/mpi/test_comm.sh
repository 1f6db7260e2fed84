#!/usr/bin/env bash
# The comm layer and the gradient exchange (tests/mpi/comm_check.c) under mpirun on 2, 3 and 4
# ranks: one machine, emulated nodes of 1 and 2 ranks, even and uneven; MPI started on a thread
# (vae_comm_start) alone and on 3 ranks. And vae-prep, which learns
# its rank from MPI: under mpirun the ranks share the preparation (tests/mpi/test_prep_parallel.sh)
# and write one file, byte for byte a plain run's, with one summary line, and one message for a bad
# flag from 3 ranks.
source "${VAE_TESTS:?}/harness/lib.sh" comm
check=${VAE_COMM_CHECK:?the comm_check program (tests/CMakeLists.txt sets it)}
for n in 2 3 4; do
  out=$(timeout 120 mpirun -np "$n" "${mpi_flags[@]}" "$check" 2>&1) || fail "$n ranks: $out"
  grep -q "^comm_check on $n ranks: passed" <<<"$out" || fail "$n ranks: $out"
  ok "sums, broadcast, gather, blocks, reduce-scatter/allgather, nodes, counters, agreement, all-to-all, the tagged streams and every exchange on $n ranks"
done
# MPI started on a thread of its own (vae_comm_start): the launcher's rank and size, known before
# MPI is up, are MPI's, under mpirun and alone; unknown where a PMIx launcher's environment holds
# no rank and size of ours.
for n in 1 3; do
  if [ "$n" -eq 1 ]; then out=$("$check" --start exact 2>&1); else out=$(mpi "$n" "$check" --start exact 2>&1); fi ||
    fail "--start on $n ranks: $out"
  grep -q "^comm_check --start exact on $n ranks: passed" <<<"$out" || fail "--start on $n ranks: $out"
done
out=$(mpi 2 env -u OMPI_COMM_WORLD_RANK -u OMPI_COMM_WORLD_SIZE "$check" --start unknown 2>&1) ||
  fail "--start without mpirun's rank variables: $out"
grep -q "^comm_check --start unknown on 2 ranks: passed" <<<"$out" || fail "--start without mpirun's rank variables: $out"
ok "vae_comm_start: the launcher's rank and size before MPI is up, MPI's after, alone and on 3 ranks; unknown without them"
for i in $(seq 60); do echo "document $i: the cat sat on mat $((i % 5)) while dog $((i % 3)) barked"; done >"$work/in.txt"
prep=(--min-df 1 --max-df-frac 1 --stopwords none "$work/in.txt")
"$bin/vae-prep" -o "$work/plain.h5" "${prep[@]}" 2>/dev/null || fail "vae-prep without mpirun"
msg=$(mpi 3 "$bin/vae-prep" -o "$work/ranks.h5" "${prep[@]}" 2>&1) || fail "vae-prep on 3 ranks: $msg"
[ "$(grep -c '^vae-prep: wrote' <<<"$msg")" -eq 1 ] || fail "vae-prep on 3 ranks: not one summary: $msg"
cmp -s "$work/plain.h5" "$work/ranks.h5" || fail "vae-prep on 3 ranks wrote another file than one process"
set +e; msg=$(mpi 3 "$bin/vae-prep" --bogus -o "$work/bad.h5" "${prep[@]}" 2>&1); set -e
[ "$(grep -c '^vae-prep:' <<<"$msg")" -eq 1 ] && [ ! -e "$work/bad.h5" ] || fail "vae-prep --bogus on 3 ranks: $msg"
ok "vae-prep under mpirun: 3 ranks write the file of a plain run byte for byte, and report a bad flag once"
echo "$pass passed, 0 failed"
