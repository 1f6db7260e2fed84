#!/usr/bin/env bash
# The comm layer and the gradient exchange (tests/mpi/comm_check.c) under mpirun on 2, 3 and 4
# ranks: one machine, emulated nodes of 1 and 2 ranks, even and uneven.
source "${VAE_TESTS:?}/harness/lib.sh" comm
check=${VAE_COMM_CHECK:?the comm_check program (tests/CMakeLists.txt sets it)}
for n in 2 3 4; do
  out=$(timeout 120 mpirun -np "$n" "${mpi_flags[@]}" "$check" 2>&1) || fail "$n ranks: $out"
  grep -q "^comm_check on $n ranks: passed" <<<"$out" || fail "$n ranks: $out"
  ok "sums, broadcast, gather, blocks, reduce-scatter/allgather, nodes, agreement and every exchange on $n ranks"
done
echo "$pass passed, 0 failed"
