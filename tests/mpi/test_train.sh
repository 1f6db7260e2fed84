#!/usr/bin/env bash
# vae-dist end to end under mpirun: rank-count independence (1-4 ranks), exact resume (bitwise on
# the same ranks, 1e-4 on another count), both gradient exchanges (sharded, the default, in each of
# its ways, and allreduce), SIGUSR1 mid-run, uneven shards and a corpus smaller than the number of
# ranks, non-finite loss, bad flags, and learning on a planted-topics corpus.
source "${VAE_TESTS:?}/harness/lib.sh" train

"$bin/vae-synth" -o "$work/c.h5" --docs 1200 --vocab 400 --topics 8 --seed 3 >/dev/null
common=(--corpus "$work/c.h5" --batch-size 64 --eval-every 0 --log-every 5 --quiet --threads 1 --seed 11)

# Rank-count independence, with the default exchange (r: sharded) and with the allreduce (a).
allreduce=(--gradient-exchange allreduce)
for n in 1 2 3 4; do
  mpi "$n" "$bin/vae-dist" "${common[@]}" --out "$work/r$n" --max-steps 30
  mpi "$n" "$bin/vae-dist" "${common[@]}" --out "$work/a$n" --max-steps 30 "${allreduce[@]}"
done
for n in 2 3 4; do
  for x in r a; do
    $py "$tests/harness/ckpt_compare.py" "$(latest "$work/r1")" "$(latest "$work/$x$n")" 1e-4 || fail "1 vs $n ranks ($x)"
  done
done
ppl() { grep '"kind": "eval"' "$1/summary.jsonl" | tail -1 | $py -c 'import json,sys; print(json.loads(sys.stdin.read())["ppl_doc"])'; }
for n in 2 3 4; do
  $py -c "import sys; a,b=$(ppl "$work/r1"),$(ppl "$work/r$n"); sys.exit(abs(a-b) > 1e-4*a)" || fail "valid perplexity 1 vs $n ranks"
done
ok "parameters and valid perplexity agree across 1, 2, 3, 4 ranks, sharded and allreduce"

# Exact resume: 60 straight vs 30 + 30, on 2 ranks (bitwise) and resumed on 3 ranks (1e-4), with
# either exchange.
for x in "" allreduce; do
  flags=(${x:+--gradient-exchange $x})
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/straight$x" --max-steps 60 "${flags[@]}"
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/split$x" --max-steps 30 "${flags[@]}"
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/split$x" --max-steps 60 --resume auto "${flags[@]}"
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/straight$x")" "$(latest "$work/split$x")" exact ||
    fail "resume not bitwise ${x:-sharded}"
  cp -r "$work/r2" "$work/other$x"
  mpi 3 "$bin/vae-dist" "${common[@]}" --out "$work/other$x" --max-steps 60 --resume auto "${flags[@]}"
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/straight$x")" "$(latest "$work/other$x")" 1e-4 ||
    fail "resume on 3 ranks ${x:-sharded}"
done
ok "resume: bitwise on the same ranks, within 1e-4 on another rank count (sharded and allreduce)"

# The sharded exchange (each rank updates its block of the parameters) gives the model of the
# allreduce through each of its ways: node-shared memory (all ranks on one node: the default);
# hierarchical across nodes (node-shared sums, then counterparts across nodes: --ranks-per-node 1
# makes every rank a node of its own); and reduce-scatter + allgather over all ranks (what runs
# when nodes are uneven; --shared-memory off forces it here).
# Bitwise at 2 ranks (a sum of two is the same in either order), moments included; within 1e-4 of
# 1 rank on 3 and 4; clipping by the global norm assembled from the blocks; resume bitwise with
# the moments gathered into the checkpoint, and the allreduce resumes from it.
exchange() { $py -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["gradient_exchange_kind"] + ": " + c["gradient_exchange"])' "$1/config.json"; }
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/clip" --max-steps 30 --clip-norm 0.5 "${allreduce[@]}"
for via in shm nodes mpi; do
  case $via in
    shm) way=() want="sharded: node-shared memory" ;;
    nodes) way=(--ranks-per-node 1) want="sharded: node-shared memory, reduce-scatter + allgather across nodes" ;;
    mpi) way=(--shared-memory off) want="sharded: reduce-scatter + allgather" ;;
  esac
  d="$work/$via"
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d-sh2" --max-steps 30 "${way[@]}"
  [ "$(exchange "$d-sh2")" = "$want" ] || fail "$via: gradient exchange is $(exchange "$d-sh2")"
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/a2")" "$(latest "$d-sh2")" exact optimizer || fail "$via: sharded 2 ranks"
  for n in 3 4; do
    mpi "$n" "$bin/vae-dist" "${common[@]}" --out "$d-sh$n" --max-steps 30 "${way[@]}"
    $py "$tests/harness/ckpt_compare.py" "$(latest "$work/r1")" "$(latest "$d-sh$n")" 1e-4 optimizer || fail "$via: sharded $n ranks vs 1"
  done
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d-clip_sh" --max-steps 30 --clip-norm 0.5 "${way[@]}"
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/clip")" "$(latest "$d-clip_sh")" 1e-5 || fail "$via: sharded clipping"
  ! $py "$tests/harness/ckpt_compare.py" "$(latest "$d-sh2")" "$(latest "$d-clip_sh")" 1e-3 >/dev/null || fail "$via: clipping had no effect"
  mpi 3 "$bin/vae-dist" "${common[@]}" --out "$d-sh_straight" --max-steps 60 "${way[@]}"
  cp -r "$d-sh3" "$d-sh_split"
  mpi 3 "$bin/vae-dist" "${common[@]}" --out "$d-sh_split" --max-steps 60 --resume auto "${way[@]}"
  $py "$tests/harness/ckpt_compare.py" "$(latest "$d-sh_straight")" "$(latest "$d-sh_split")" exact optimizer || fail "$via: sharded resume"
  cp -r "$d-sh3" "$d-sh_plain"
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d-sh_plain" --max-steps 60 --resume auto "${allreduce[@]}"
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/straightallreduce")" "$(latest "$d-sh_plain")" 1e-4 optimizer || fail "$via: allreduce resume from sharded"
done
[ "$(exchange "$work/a2")" = "allreduce: allreduce" ] || fail "--gradient-exchange allreduce: $(exchange "$work/a2")"
[ "$(exchange "$work/r1")" = "sharded: allreduce" ] || fail "one rank: $(exchange "$work/r1")"
# Two nodes of two ranks: sums within each node, then across; three ranks in nodes of two and one
# are uneven, so they take the flat exchange.
nodes=(--ranks-per-node 2)
d="$work/2x2"
mpi 4 "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps 30 "${nodes[@]}"
[ "$(exchange "$d")" = "sharded: node-shared memory, reduce-scatter + allgather across nodes" ] || fail "2x2: gradient exchange is $(exchange "$d")"
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/r1")" "$(latest "$d")" 1e-4 optimizer || fail "2x2 nodes vs 1 rank"
mpi 4 "$bin/vae-dist" "${common[@]}" --out "$d-clip" --max-steps 30 --clip-norm 0.5 "${nodes[@]}"
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/clip")" "$(latest "$d-clip")" 1e-4 || fail "2x2 nodes, clipping"
mpi 4 "$bin/vae-dist" "${common[@]}" --out "$d-straight" --max-steps 60 "${nodes[@]}"
cp -r "$d" "$d-split"
mpi 4 "$bin/vae-dist" "${common[@]}" --out "$d-split" --max-steps 60 --resume auto "${nodes[@]}"
$py "$tests/harness/ckpt_compare.py" "$(latest "$d-straight")" "$(latest "$d-split")" exact optimizer || fail "2x2 nodes, resume"
mpi 3 "$bin/vae-dist" "${common[@]}" --out "$work/uneven" --max-steps 30 "${nodes[@]}"
[ "$(exchange "$work/uneven")" = "sharded: reduce-scatter + allgather" ] || fail "uneven nodes: gradient exchange is $(exchange "$work/uneven")"
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/r1")" "$(latest "$work/uneven")" 1e-4 optimizer || fail "uneven nodes vs 1 rank"
# --shard-optimizer, the old name of the default, still works; config.json records the flags.
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/old_flag" --max-steps 30 --shard-optimizer --shm-single-copy on
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/r2")" "$(latest "$work/old_flag")" exact optimizer || fail "--shard-optimizer"
$py - "$work/old_flag/config.json" "$work/2x2/config.json" <<'PY' || fail "config.json does not record the exchange's flags"
import json, sys
old, nodes = (json.load(open(p)) for p in sys.argv[1:])
assert (old["gradient_exchange_kind"], old["shared_memory"], old["ranks_per_node"], old["shm_single_copy"]) == ("sharded", "on", 0, "on"), old
assert (nodes["ranks_per_node"], nodes["shm_single_copy"]) == (2, "off"), nodes
PY
ok "sharded exchange: node-shared memory, hierarchical across nodes (1x2..4, 2x2) and reduce-scatter + allgather: bitwise at 2 ranks, 1e-4 on 3 and 4, clipping, resume exact and across exchanges; --shard-optimizer"

# The train lines, of either exchange: one every --log-every steps, with the rates and the
# time split of the steps since the previous line (wall_s counts from the start of the run, so an
# interval is the difference of two lines; it holds 5 steps of at most 64 documents).
for run in r1:1 a2:2 r2:2 nodes-sh3:3 mpi-sh3:3 2x2:4; do
  $py - "$work/${run%%:*}/summary.jsonl" "${run##*:}" <<'PY' || fail "train lines of ${run%%:*}"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"kind": "train"' in l]
ranks = int(sys.argv[2])
assert [l["step"] for l in lines] == [5, 10, 15, 20, 25, 30], [l["step"] for l in lines]
prev = 0.0
for l in lines:
    interval = l["wall_s"] - prev
    prev = l["wall_s"]
    docs = l["docs_per_s"] * interval
    assert interval > 0 and 5 <= docs <= 5 * 64 + 1e-3 and abs(docs - round(docs)) < 1e-3 * docs, (docs, l)
    assert l["tokens_per_s"] > l["docs_per_s"], l
    assert l["compute_s"] > 0 and l["data_s"] >= 0 and l["allreduce_s"] >= 0 and (ranks == 1 or l["allreduce_s"] > 0), l
    assert l["compute_s"] + l["allreduce_s"] + l["data_s"] <= 1.001 * interval + 1e-6, l
    assert abs(l["loss"] - (l["recon"] + l["beta"] * l["kl"])) <= 1e-4 * abs(l["loss"]), l
PY
done
ok "train lines every --log-every steps with rates, loss terms and the time split"

# Without --resume, a folder that holds checkpoints is refused, and nothing in it is touched.
before=$(ls "$work/straight/checkpoints")
set +e; msg=$(mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/straight" --max-steps 5 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "already holds checkpoints" <<<"$msg" || fail "existing run not refused (rc $rc): $msg"
[ "$(ls "$work/straight/checkpoints")" = "$before" ] || fail "existing checkpoints changed"
ok "an existing run folder is not overwritten"

# SIGUSR1 mid-run: exit 0, a whole checkpoint, and resume completes with the uninterrupted result;
# with either exchange (the sharded one's step sums, the stop flag among them, travel after the
# update). mpirun itself in the background (not through a function), so that $! is mpirun, which
# forwards the signal to every rank.
for x in sharded allreduce; do
  shard="--gradient-exchange $x"
  d="$work/sig$x"
  mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps 100000 --epochs 100000 \
    --checkpoint-every 0 $shard &
  pid=$!
  for _ in $(seq 100); do [ -s "$d/summary.jsonl" ] && break; sleep 0.1; done
  sleep 0.5
  kill -USR1 $pid
  set +e; wait $pid; rc=$?; set -e
  [ $rc -eq 0 ] || fail "SIGUSR1 $shard: exit $rc"
  $py -c 'import json,sys; l=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(l["reason"] != "signal" or l["signal"] != 10)' \
    "$d/summary.jsonl" || fail "SIGUSR1 $shard: the end line is $(tail -1 "$d/summary.jsonl")"
  ck=$(latest "$d")
  step=$($py -c "import h5py; print(int(h5py.File('$ck','r').attrs['step']))")
  [ "$step" -gt 0 ] && [ "$step" -lt 100000 ] || fail "SIGUSR1 $shard: checkpoint at step $step"
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d" --max-steps $((step + 10)) --epochs 100000 --resume auto $shard
  mpi 2 "$bin/vae-dist" "${common[@]}" --out "$d-ref" --max-steps $((step + 10)) --epochs 100000 $shard
  $py "$tests/harness/ckpt_compare.py" "$(latest "$d-ref")" "$(latest "$d")" exact || fail "resume after SIGUSR1 $shard"
done
ok "SIGUSR1 stops with exit 0, checkpoint whole, resume exact (sharded and allreduce; last at step $step)"

# SIGTERM: a plain process exits 143 after a checkpoint. Under mpirun the ranks are signalled
# directly, as Slurm does at a time limit: all stop after the same step with one checkpoint.
"$bin/vae-dist" "${common[@]}" --out "$work/term" --max-steps 100000 --epochs 100000 --checkpoint-every 0 &
pid=$!
for _ in $(seq 100); do [ -s "$work/term/summary.jsonl" ] && break; sleep 0.1; done
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc"
[ -f "$(latest "$work/term")" ] || fail "SIGTERM: no checkpoint"
mpirun -np 2 "${mpi_flags[@]}" "$bin/vae-dist" "${common[@]}" --out "$work/term2" --max-steps 100000 --epochs 100000 --checkpoint-every 0 &
pid=$!
for _ in $(seq 100); do [ -s "$work/term2/summary.jsonl" ] && break; sleep 0.1; done
pkill -TERM -f -- "--out $work/term2" || true
set +e; wait $pid; set -e
[ "$(ls "$work/term2/checkpoints" | grep -c '^ckpt-')" -eq 1 ] || fail "SIGTERM under mpirun: not exactly one checkpoint"
$py -c "import h5py; h5py.File('$(latest "$work/term2")', 'r')['params/dec.out.weight'][()]" || fail "SIGTERM checkpoint unreadable"
ok "SIGTERM: exit 143 after a checkpoint; ranks under mpirun stop together"

# Uneven shards and a rank with nothing to do: batch 5 on 4 ranks; a corpus of 3 training
# documents on 4 ranks.
mpi 1 "$bin/vae-dist" "${common[@]}" --batch-size 5 --out "$work/u1" --max-steps 12
mpi 4 "$bin/vae-dist" "${common[@]}" --batch-size 5 --out "$work/u4" --max-steps 12
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/u1")" "$(latest "$work/u4")" 1e-4 || fail "uneven shards"
"$bin/vae-synth" -o "$work/tiny.h5" --docs 4 --vocab 50 --topics 2 --seed 1 --valid-frac 0 --test-frac 0.25 >/dev/null
mpi 1 "$bin/vae-dist" --corpus "$work/tiny.h5" --out "$work/t1" --epochs 3 --quiet --threads 1
mpi 4 "$bin/vae-dist" --corpus "$work/tiny.h5" --out "$work/t4" --epochs 3 --quiet --threads 1
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/t1")" "$(latest "$work/t4")" 1e-4 || fail "corpus smaller than ranks"
ok "uneven shards and a corpus smaller than the number of ranks"

# A huge learning rate: stops naming the step, exit 1, keeps the last good checkpoint, writes no NaN;
# with either exchange.
for shard in --gradient-exchange=sharded --gradient-exchange=allreduce; do
  set +e
  msg=$(mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/nan$shard" --lr 1e5 --optimizer sgd --max-steps 200 \
        --checkpoint-every 1 $shard 2>&1)
  rc=$?
  set -e
  [ $rc -eq 1 ] || fail "huge lr $shard: exit $rc"
  grep -q "non-finite .* at step [0-9]" <<<"$msg" || fail "huge lr message $shard: $msg"
  [ "$(grep -c 'non-finite' <<<"$msg")" -eq 1 ] || fail "message printed more than once $shard: $msg"
  if [ -f "$work/nan$shard/checkpoints/latest" ]; then
    $py -c "
import h5py, numpy as np, sys
f = h5py.File('$(latest "$work/nan$shard")', 'r')
sys.exit(not all(np.isfinite(f['params'][k][()]).all() for k in f['params']))" || fail "NaN in a checkpoint $shard"
  fi
done
ok "non-finite loss stops cleanly: $(grep -o 'non-finite[^:]*' <<<"$msg" | head -1)"

# Bad flags: exit 2 with one line naming the flag, from every rank count; nothing created.
for args in "--batch-size 0" "--bogus 1" "--activation gelu" "--lr abc" "--encoder-hidden 5,x" "--model nosuch" \
            "--ranks-per-node 0" "--ranks-per-node two" "--shared-memory no" "--gradient-exchange ring" \
            "--shm-single-copy yes" "--shard-optimizer --gradient-exchange allreduce"; do
  set +e; msg=$(mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/bad" $args 2>&1); rc=$?; set -e
  [ $rc -eq 2 ] || fail "'$args': exit $rc"
  # mpirun adds its own report of a non-zero exit; ours is the one vae-dist line.
  [ "$(grep -c '^vae-dist:' <<<"$msg")" -eq 1 ] || fail "'$args': not one message: $msg"
  flag=${args%% *}
  grep '^vae-dist:' <<<"$msg" | grep -q -- "$flag" || fail "'$args': message does not name $flag: $msg"
done
[ ! -e "$work/bad" ] || fail "a bad flag created the run folder"
set +e; msg=$(mpi 2 "$bin/vae-dist" --corpus "$work/missing.h5" --out "$work/bad" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "missing.h5" <<<"$msg" || fail "missing corpus: exit $rc: $msg"
ok "bad flags exit 2 naming the flag; a missing corpus exits 1 naming it"

# --config: file values apply, the command line wins.
printf 'batch-size = 32\nlr = 0.003\n# a comment\nmax-steps = 4\n' >"$work/cfg"
mpi 1 "$bin/vae-dist" --config "$work/cfg" --corpus "$work/c.h5" --out "$work/cfgrun" --max-steps 6 --quiet
grep -q '"batch_size": 32' "$work/cfgrun/config.json" || fail "--config batch-size not applied"
[ "$(basename "$(latest "$work/cfgrun")")" = "ckpt-00000006.h5" ] || fail "command line did not win over --config"
ok "--config applies, the command line wins"

# config.json records the OpenBLAS kernels in use (OPENBLAS_CORETYPE chooses them; they differ
# twofold in speed, so a run's figures need them).
OPENBLAS_CORETYPE=Zen "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/core_zen" --max-steps 1 --quiet
$py -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["blas_core"] != "Zen")' "$work/core_zen/config.json" ||
  fail "config.json blas_core is not the OPENBLAS_CORETYPE in use"
ok "config.json names the OpenBLAS kernels in use"

# Left to itself, OpenBLAS 0.3.21 runs its generic SSE3 kernels ("Prescott") on CPUs newer than it,
# a fifth of the speed: vae-dist (and vae-infer) then start again with the kernels of the CPU's
# instructions, under mpirun too.
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  (unset OPENBLAS_CORETYPE; mpi 2 "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/core_auto" --max-steps 1 --quiet)
  core=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["blas_core"])' "$work/core_auto/config.json")
  [ "$core" != Prescott ] || fail "an AVX2 CPU runs OpenBLAS's Prescott kernels"
  ok "an AVX2 CPU runs OpenBLAS kernels of its instructions ($core), not the generic ones"
fi

echo "$pass passed, 0 failed"
