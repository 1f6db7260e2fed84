#!/usr/bin/env bash
# Strong scaling of vae-dist on this machine (a benchmark, not a test): the same corpus and global
# batch at 1 and 2 ranks (1 BLAS thread each), alternated several times. Prints for each layout the
# median docs/s of the train lines (the first line of a run, which includes start-up, is dropped),
# the share of step time spent in the gradient exchange, the speed-up rate(2) / rate(1) and the
# strong-scaling efficiency rate(2) / (2 * rate(1)). Each layout of more than one rank runs three
# times: with the default exchange ("2s": sharded, through node-shared memory on this one node), with
# --gradient-exchange allreduce ("2a": one allreduce of the gradient) and with the sharded exchange
# over MPI's flat reduce-scatter + allgather ("2f": --shared-memory off, the exchange of uneven
# nodes).
# usage: tools/bench_scaling.sh [--vocab V] [--docs N] [--steps S] [--repeats K] [--ranks "1 2"]
set -euo pipefail
cd "$(dirname "$0")/.."
vocab=10000 docs=20000 steps=120 repeats=3 ranks="1 2" bin=${VAE_DIST_BIN:-build}
while [ $# -gt 0 ]; do
  case "$1" in
    --vocab) vocab=$2; shift ;; --docs) docs=$2; shift ;; --steps) steps=$2; shift ;;
    --repeats) repeats=$2; shift ;; --ranks) ranks=$2; shift ;;
    *) echo "bench_scaling.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/vae-bench-scaling.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bin/vae-synth" -o "$work/c.h5" --docs "$docs" --vocab "$vocab" --topics 50 --doc-length 120 --seed 1 --quiet
for rep in $(seq "$repeats"); do
  for n in $ranks; do
    modes=(default)
    [ "$n" -gt 1 ] && modes+=(allreduce flat)
    for mode in "${modes[@]}"; do
      rm -rf "$work/run"
      extra=() tag=$n
      [ "$mode" = default ] && [ "$n" -gt 1 ] && tag=${n}s
      [ "$mode" = allreduce ] && extra=(--gradient-exchange allreduce) tag=${n}a
      [ "$mode" = flat ] && extra=(--shared-memory off) tag=${n}f
      mpirun -np "$n" --oversubscribe --bind-to core "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" \
        --max-steps "$steps" --batch-size 256 --threads 1 --eval-every 0 --checkpoint-every 0 --log-every 10 \
        --quiet "${extra[@]}" </dev/null
      grep '"kind": "train"' "$work/run/summary.jsonl" | tail -n +2 | sed "s/^/$tag /" >>"$work/lines"
    done
  done
done
/usr/bin/python3 - "$work/lines" "$vocab" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    tag, obj = line.split(" ", 1)
    rows.setdefault(tag, []).append(json.loads(obj))
ranks = lambda tag: int(tag.rstrip("saf"))
print(f"V={sys.argv[2]}, global batch 256, 1 BLAS thread per rank ('s': the default exchange, sharded through "
      f"node-shared memory; 'a': --gradient-exchange allreduce; 'f': --shared-memory off, the sharded exchange "
      f"through MPI's reduce-scatter + allgather)")
rate = {}
for tag, rs in sorted(rows.items(), key=lambda kv: (ranks(kv[0]), kv[0])):
    rate[tag] = statistics.median(r["docs_per_s"] for r in rs)
    comm = sum(r["allreduce_s"] for r in rs)
    total = sum(r["allreduce_s"] + r["compute_s"] + r["data_s"] for r in rs)
    data = sum(r["data_s"] for r in rs)
    print(f"{tag} rank(s): median {rate[tag]:.0f} docs/s over {len(rs)} train lines; "
          f"communication {100 * comm / total:.1f}% of step time, data reading {100 * data / total:.1f}%")
base = min(rate, key=ranks)
for tag in sorted(rate, key=lambda t: (ranks(t), t)):
    if ranks(tag) != ranks(base):
        print(f"strong-scaling efficiency at {tag} ranks: "
              f"{rate[tag] / (ranks(tag) / ranks(base) * rate[base]):.3f}")
        print(f"speed-up at {tag} ranks over {base}: {rate[tag] / rate[base]:.2f}x")
PY
