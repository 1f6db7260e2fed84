#!/usr/bin/env bash
# Training speed of the sentence family against PyTorch on the same corpus and cores (a benchmark,
# not a test). Side by side, alternated --rounds times, each run --steps steps of the family's
# default model (E = H = 256, latent 16) at batch 64, Adam:
#   vae-dist     mpirun -np 2, one thread a rank, --precision fp32 and, where the CPU and the build
#                have it, bf16 (its train lines' seqs_per_s, the median after the first interval);
#   PyTorch      bench/pytorch_sentence.py train (nn.GRU on packed sequences, Adam) at 1 and 2 threads
#                (OMP_WAIT_POLICY=passive), float32 and under bf16 autocast (its own median of
#                intervals), on the OpenBLAS kernels vae-dist ran (config.json's blas_core);
# then the medians over the rounds, each side's best form, the ratios at each precision, every
# process's peak RSS (/usr/bin/time), and the share of a step in GEMMs (vae-bench-step at each
# precision: the step's GEMM FLOPs at the output layer's measured GEMM rate over the step's time).
# usage: bench/speed_sentence.sh [--corpus C.h5 (default: the common-licenses texts' sentences)]
#        [--steps S (default 60)] [--rounds R (default 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="" steps=60 rounds=2 bin=${VAE_DIST_BIN:-build} py=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --corpus) corpus=$2; shift ;; --steps) steps=$2; shift ;; --rounds) rounds=$2; shift ;;
    --help|-h) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "speed_sentence.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for p in vae-prep vae-dist vae-bench-step; do
  [ -x "$bin/$p" ] || { echo "speed_sentence: $bin/$p is missing (build the project first)" >&2; exit 1; }
done
$py -c 'import torch, h5py, numpy' 2>/dev/null ||
  { echo "speed_sentence: $py lacks torch, h5py or numpy (apt-get install python3-torch python3-h5py)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "speed_sentence: GNU time is missing (apt-get install time)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/vae-speed-sentence.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -z "$corpus" ]; then
  $py bench/license_paragraphs.py "$work/paragraphs.txt"
  corpus=$work/corpus.h5
  "$bin/vae-prep" --format lines --sequences sentence --max-length 40 --quiet -o "$corpus" "$work/paragraphs.txt"
fi
precisions=(fp32)
if "$bin/vae-bench-step" --model sentence --batch 8 --reps 1 --precision bf16 >/dev/null 2>&1; then
  precisions+=(bf16)
else
  echo "speed_sentence: no bf16 here ($("$bin/vae-bench-step" --model sentence --batch 8 --reps 1 --precision bf16 2>&1 | tail -1)); fp32 only" >&2
fi
echo "speed_sentence: $(basename "$corpus"), $steps steps a run, $rounds rounds, $(nproc) cores" \
  "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# vae_run PRECISION ROUND: one vae-dist run; appends "vae-dist PRECISION seqs/s rss0 rss1" to results.
vae_run() {
  local out=$work/run-$1-$2
  mpirun -np 2 --bind-to none bash -c \
    '/usr/bin/time -f "%M" -o "$0/rss$OMPI_COMM_WORLD_RANK" "$@"' "$work" "$bin/vae-dist" --model sentence \
    --corpus "$corpus" --out "$out" --threads 1 --max-steps "$steps" --log-every 10 --eval-every 0 --quiet \
    --precision "$1"
  core=$($py -c 'import json, sys; print(json.load(open(sys.argv[1]))["blas_core"])' "$out/config.json")
  $py - "$out/summary.jsonl" "$1" "$(cat "$work/rss0")" "$(cat "$work/rss1")" >>"$work/results" <<'PY'
import json, statistics, sys
rates = [r["seqs_per_s"] for r in map(json.loads, open(sys.argv[1])) if r.get("kind") == "train"]
print("vae-dist", sys.argv[2], statistics.median(rates[1:]), sys.argv[3], sys.argv[4])
PY
  rm -rf "$out"
}

# torch_run THREADS AUTOCAST(0|1): one PyTorch run; appends "pytorch fp32|bf16-autocast/T seqs/s rss".
torch_run() {
  local extra=() label=fp32
  [ "$2" = 1 ] && extra=(--autocast) label=bf16
  OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 OMP_WAIT_POLICY=passive \
    /usr/bin/time -f "%M" -o "$work/rss_torch" $py bench/pytorch_sentence.py train "$corpus" --max-steps "$steps" \
    --threads "$1" "${extra[@]}" >"$work/torch.json"
  $py - "$work/torch.json" "$label/$1" "$(cat "$work/rss_torch")" >>"$work/results" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("pytorch", sys.argv[2], r["seqs_per_s"], sys.argv[3], "-")
PY
}

core=""
for round in $(seq 1 "$rounds"); do
  for p in "${precisions[@]}"; do vae_run "$p" "$round"; done
  for t in 1 2; do
    torch_run "$t" 0
    [ "${#precisions[@]}" -gt 1 ] && torch_run "$t" 1
  done
done
echo "OpenBLAS kernels: $core (both sides)"
$py - "$work/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, form, rate, rss0, rss1 = line.split()
    runs.setdefault((who, form), []).append((float(rate), int(rss0), rss1))
print("| side | form | seqs/s (median over rounds) | each round | peak RSS a process |")
print("| --- | --- | --- | --- | --- |")
med = {}
for (who, form), rs in runs.items():
    med[(who, form)] = statistics.median(r[0] for r in rs)
    rss = max(r[1] for r in rs) / 1024 if who == "pytorch" else max(max(r[1], int(r[2])) for r in rs) / 1024
    name = ("2 ranks x 1 thread, --precision " + form) if who == "vae-dist" else \
           (form.split("/")[0].replace("bf16", "bf16 autocast") + ", " + form.split("/")[1] + " thread(s)")
    print(f"| {who} | {name} | {med[(who, form)]:.0f} | {', '.join(f'{r[0]:.0f}' for r in rs)} | {rss:.0f} MB |")
for p, peers in (("fp32", ["fp32/1", "fp32/2"]), ("bf16", ["bf16/1", "bf16/2"])):
    if ("vae-dist", p) not in med:
        continue
    best = max(peers, key=lambda f: med[("pytorch", f)])
    fp_best = max(["fp32/1", "fp32/2"], key=lambda f: med[("pytorch", f)])
    print(f"vae-dist {p}: x{med[('vae-dist', p)] / med[('pytorch', best)]:.2f} PyTorch's best {p} form "
          f"({best}: {med[('pytorch', best)]:.0f} seqs/s)" +
          ("" if p == "fp32" else f"; x{med[('vae-dist', p)] / med[('pytorch', fp_best)]:.2f} its best fp32 form"))
PY
for p in "${precisions[@]}"; do
  echo "GEMMs in a step at $p ($bin/vae-bench-step --model sentence --batch 64 --precision $p):"
  "$bin/vae-bench-step" --model sentence --batch 64 --reps 10 --precision "$p" | grep -E "seqs/s|limit" | sed 's/^/  /'
done
