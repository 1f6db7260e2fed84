#!/usr/bin/env bash
# vae-dist against PyTorch on the SpamAssassin email corpus (a benchmark, not a test).
# Prepares the corpus (tools/fetch_emails.sh when data/emails.jsonl is missing, then vae-prep to
# data/emails.h5), then runs, alternated, --repeats times, with the same layers (128,64 / 32 /
# 64,128), global batch 256, Adam lr 1e-3 and --epochs epochs:
#   vae-dist  2 ranks x 1 thread   (mpirun -np 2 --bind-to core ... --threads 1), with one allreduce
#             and with --shard-optimizer
#   vae-dist  1 rank x 2 threads   (plain process, --threads 2)
#   PyTorch   one process, T = 1 and T = 2 (bench/pytorch_vae.py), and T = 2 with
#             OMP_WAIT_POLICY=passive (a tuned variant: see docs/PERFORMANCE.md)
#   PyTorch   DistributedDataParallel over gloo, 2 processes x 1 thread
# Repeat r uses seed r-1 for every form, so the perplexities' spread includes the seed's.
# docs/s: per run, the median of the per-10-step intervals with the first dropped (vae-dist: its
# summary.jsonl train lines); then the median over the repeats. Peak RSS per process: /usr/bin/time -v
# on each vae-dist rank, ru_maxrss in PyTorch. Valid ppl_doc / ppl_corpus with S = 1 (vae-infer eval
# for vae-dist). Then the table, the ratios, and vae-bench-step's GEMM-bound limit at 2 threads
# (run once a repeat: it moves with the load as much as the rates do; the median is used).
# --blas-core CORE sets OPENBLAS_CORETYPE for every form (auto: unset, vae-dist's own choice, which
# restarts on AVX-512 kernels where OpenBLAS's detection falls back to Prescott); by default the
# environment's setting stands. PyTorch runs on the kernels vae-dist ran (config.json's blas_core),
# so every form uses the same OpenBLAS and kernels.
# usage: bench/compare_pytorch.sh [--repeats K] [--epochs E] [--vocab V] [--blas-core CORE|auto]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=3 epochs=5 vocab=10000 bin=${VAE_DIST_BIN:-build} py=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift ;; --epochs) epochs=$2; shift ;; --vocab) vocab=$2; shift ;;
    --blas-core) if [ "$2" = auto ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$2; fi; shift ;;
    --help|-h) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_pytorch.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

need=()
$py -c 'import torch' 2>/dev/null || need+=(python3-torch)
$py -c 'import h5py' 2>/dev/null || need+=(python3-h5py)
$py -c 'import numpy, scipy' 2>/dev/null || need+=(python3-numpy python3-scipy)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "compare_pytorch: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
    { echo "compare_pytorch: cannot install ${need[*]}" >&2; exit 1; }
fi
for p in vae-prep vae-dist vae-infer vae-bench-step; do
  [ -x "$bin/$p" ] || { echo "compare_pytorch: $bin/$p is missing (build the project first)" >&2; exit 1; }
done

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p data
if [ ! -s data/emails.jsonl ]; then
  tools/fetch_emails.sh data/emails.jsonl ||
    { echo "compare_pytorch: the email corpus cannot be fetched (npm registry)" >&2; exit 1; }
fi
"$bin/vae-prep" --format jsonl --vocab-size "$vocab" --quiet -o data/emails.h5 data/emails.jsonl
corpus=data/emails.h5

work=$(mktemp -d /tmp/vae-vs-pytorch.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl core=""
model=(--epochs "$epochs" --batch-size 256 --lr 1e-3 --latent 32 --encoder-hidden 128,64 --decoder-hidden 64,128)

# vae-dist: $1 label, $2 ranks, $3 threads per rank, $4 seed, then more vae-dist flags
run_vae() {
  local label=$1 np=$2 thr=$3 seed=$4 out=$work/run
  shift 4
  rm -rf "$out" "$work"/time.*
  local args=(--corpus "$corpus" --out "$out" "${model[@]}" --seed "$seed" --threads "$thr"
              --log-every 10 --eval-every 0 --checkpoint-every 0 --quiet "$@")
  if [ "$np" -gt 1 ]; then
    # each rank under its own /usr/bin/time -v, written to time.<rank>
    mpirun -np "$np" --oversubscribe --bind-to core \
      bash -c 'exec /usr/bin/time -v -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$work/time" \
      "$bin/vae-dist" "${args[@]}" </dev/null
  else
    /usr/bin/time -v -o "$work/time.0" "$bin/vae-dist" "${args[@]}" </dev/null
  fi
  core=$($py -c 'import json, sys; print(json.load(open(sys.argv[1]))["blas_core"])' "$out/config.json")
  "$bin/vae-infer" eval --checkpoint "$out/checkpoints/$(cat "$out/checkpoints/latest")" \
    --corpus "$corpus" --split valid >"$work/eval.json"
  $py - "$label" "$out/summary.jsonl" "$work/eval.json" "$work"/time.* >>"$results" <<'PY'
import json, re, statistics, sys
label, summary, evalf, times = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
train = [json.loads(l) for l in open(summary) if '"kind": "train"' in l][1:]
ev = json.load(open(evalf))
rss = []
for t in sorted(times, key=lambda p: int(p.rsplit(".", 1)[1])):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(t).read())
    rss.append(int(m.group(1)) / 1024.0)
print(json.dumps({"form": label, "docs_per_s": statistics.median(r["docs_per_s"] for r in train),
                  "intervals": len(train), "peak_rss_mb_per_process": rss,
                  "ppl_doc": ev["ppl_doc"], "ppl_corpus": ev["ppl_corpus"]}))
PY
}

# PyTorch: $1 label, $2 seed, then environment assignments and pytorch_vae.py's options; on the
# OpenBLAS kernels of the last vae-dist run ($core)
run_torch() {
  local label=$1 seed=$2
  shift 2
  local envs=(OPENBLAS_CORETYPE="$core")
  while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
  env "${envs[@]}" $py bench/pytorch_vae.py --corpus "$corpus" "${model[@]}" --seed "$seed" --label "$label" "$@" \
    </dev/null >>"$results"
}

echo "compare_pytorch: $repeats repeats x $epochs epochs on $corpus (V = $vocab); $(date -u '+%F %T UTC');" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}" >&2
for rep in $(seq "$repeats"); do
  seed=$((rep - 1))
  echo "compare_pytorch: repeat $rep/$repeats (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  run_vae   "vae-dist 2 ranks x 1 thread"  2 1 "$seed"
  run_vae   "vae-dist 2 ranks x 1 thread, sharded optimizer"  2 1 "$seed" --shard-optimizer
  run_torch "PyTorch 1 process, T=1" "$seed" --threads 1
  run_vae   "vae-dist 1 rank x 2 threads"  1 2 "$seed"
  run_torch "PyTorch 1 process, T=2" "$seed" --threads 2
  run_torch "PyTorch DDP gloo 2 x 1 thread" "$seed" --ddp 2 --threads 1
  run_torch "PyTorch 1 process, T=2, OMP passive" "$seed" OMP_WAIT_POLICY=passive --threads 2
  # the GEMM-bound limit moves with the machine's load as much as the rates do: once a repeat
  "$bin/vae-bench-step" --threads 2 | grep '^GEMM-bound limit' >>"$work/bench_step.txt"
done

echo "compare_pytorch: done (load average $(cut -d' ' -f1-3 /proc/loadavg)); OpenBLAS kernels: $core (both sides)" >&2
$py - "$results" "$work/bench_step.txt" "$repeats" "$epochs" <<'PY'
import json, re, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bench = open(sys.argv[2]).read()
def label(r): return r.get("label") or r["form"]
forms = []
for r in rows:
    if label(r) not in forms:
        forms.append(label(r))
med = {}
print(f"\n{sys.argv[3]} repeats x {sys.argv[4]} epochs, global batch 256, Adam lr 1e-3; "
      "medians over the repeats (ppl: [min-max] over the repeats' seeds)\n")
print(f"| form | docs/s | peak RSS per process (MB) | valid ppl_doc | valid ppl_corpus |")
print(f"| --- | --- | --- | --- | --- |")
for f in forms:
    rs = [r for r in rows if label(r) == f]
    d = statistics.median(r["docs_per_s"] for r in rs)
    nproc = len(rs[0]["peak_rss_mb_per_process"])
    rss = [statistics.median(r["peak_rss_mb_per_process"][i] for r in rs) for i in range(nproc)]
    pd = [r["ppl_doc"] for r in rs]
    pc = [r["ppl_corpus"] for r in rs]
    med[f] = dict(docs=d, rss=max(rss), ppl_doc=statistics.median(pd), ppl_corpus=statistics.median(pc))
    rates = ", ".join(f"{r['docs_per_s']:.0f}" for r in rs)
    print(f"| {f} | {d:,.0f} ({rates}) | {' / '.join(f'{x:.0f}' for x in rss)} | "
          f"{med[f]['ppl_doc']:.1f} [{min(pd):.1f}-{max(pd):.1f}] | "
          f"{med[f]['ppl_corpus']:.1f} [{min(pc):.1f}-{max(pc):.1f}] |")
vae = {f: m for f, m in med.items() if f.startswith("vae-dist")}
pt = {f: m for f, m in med.items() if f.startswith("PyTorch")}
bv = max(vae, key=lambda f: vae[f]["docs"])
bp = max(pt, key=lambda f: pt[f]["docs"])
bp_plain = max((f for f in pt if "passive" not in f), key=lambda f: pt[f]["docs"])
print(f"\nbest vae-dist layout: {bv}; best PyTorch form: {bp}" +
      (f" (untuned: {bp_plain})" if bp_plain != bp else ""))
ratio = vae[bv]["docs"] / pt[bp]["docs"]
print(f"docs/s ratio vae-dist / PyTorch: {ratio:.2f} (goal >= 4)" +
      (f"; against the untuned {bp_plain}: {vae[bv]['docs'] / pt[bp_plain]['docs']:.2f}" if bp_plain != bp else ""))
for k in ("ppl_doc", "ppl_corpus"):
    print(f"{k} ratio vae-dist / PyTorch: {vae[bv][k] / pt[bp][k]:.3f} (goal within 2%)")
print(f"peak RSS per process: vae-dist {vae[bv]['rss']:.0f} MB (largest rank) vs PyTorch {pt[bp]['rss']:.0f} MB "
      f"(largest process; smallest of all PyTorch forms {min(m['rss'] for m in pt.values()):.0f} MB)")
lines = [l for l in bench.splitlines() if l.startswith("GEMM-bound limit")]
limits = [int(re.search(r"GEMM-bound limit: (\d+) docs/s", l).group(1)) for l in lines]
print("\nvae-bench-step --threads 2, once a repeat:")
for l in lines:
    print(f"  {l}")
two = max((f for f in vae if "2 ranks" in f), key=lambda f: vae[f]["docs"], default=bv)
if limits:
    lim = statistics.median(limits)
    print(f"{two}: {vae[two]['docs']:,.0f} docs/s = {vae[two]['docs'] / lim:.0%} of the median GEMM-bound limit "
          f"{lim:,.0f} docs/s (goal >= 60%)")
PY
