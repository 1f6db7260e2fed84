#!/usr/bin/env bash
# The sentence family against its PyTorch reference (bench/pytorch_sentence.py; a benchmark, not a
# test). Prepares a small corpus from the texts of /usr/share/common-licenses (one paragraph a
# document, vae-prep --sequences sentence --max-length 40), trains vae-dist --model sentence on it,
# then:
#   parity   pytorch_sentence.py check: recon at z = mu over the valid split, computed by PyTorch in
#            double precision from the checkpoint's /params, against vae-infer eval's recon_mean
#            (exit 1 unless within 1e-4 relative);
#   sgd      one SGD step (z = mu, beta 1) from the trained weights on the first 64 training
#            sequences, by vae-dist and by PyTorch: each tensor's update within 1e-3 (exit 1 if not);
#   quality  the test split's nll, ppl (and nll_iw, ppl_iw with --iw-samples 16 for vae-dist) of the
#            same architecture trained by vae-dist and by PyTorch (Adam, the same batch, lr, epochs);
#   speed    sequences/s of training: per run, the median of the intervals of 10 steps, the first
#            dropped (vae-dist: its summary.jsonl train lines; PyTorch: the same intervals).
# usage: bench/compare_pytorch_sentence.sh [--epochs E] [--threads T] [--embedding E] [--hidden H]
#        [--latent L] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=3 threads=1 emb=64 hidden=128 latent=16 keep="" bin=${VAE_DIST_BIN:-build} py=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift ;; --threads) threads=$2; shift ;; --embedding) emb=$2; shift ;;
    --hidden) hidden=$2; shift ;; --latent) latent=$2; shift ;; --keep) keep=$2; shift ;;
    --help|-h) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_pytorch_sentence.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for p in vae-prep vae-dist vae-infer; do
  [ -x "$bin/$p" ] || { echo "compare_pytorch_sentence: $bin/$p is missing (build the project first)" >&2; exit 1; }
done
$py -c 'import torch, h5py, numpy' 2>/dev/null ||
  { echo "compare_pytorch_sentence: $py lacks torch, h5py or numpy (apt-get install python3-torch python3-h5py)" >&2; exit 1; }

if [ -n "$keep" ]; then work=$keep; mkdir -p "$work"; else
  work=$(mktemp -d /tmp/vae-sentence-vs-pytorch.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
$py bench/license_paragraphs.py "$work/paragraphs.txt"
corpus=$work/corpus.h5
"$bin/vae-prep" --format lines --sequences sentence --max-length 40 --valid-frac 0.1 --test-frac 0.1 --seed 1 \
  --quiet -o "$corpus" "$work/paragraphs.txt"
model=(--embedding "$emb" --hidden "$hidden" --latent "$latent")
echo "compare_pytorch_sentence: $epochs epochs, embedding $emb, hidden $hidden, latent $latent, $threads threads;" \
  "$(date -u '+%F %T UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

rm -rf "$work/run"
# The same settings as PyTorch's plain run: the family's KL cycles and free bits off.
"$bin/vae-dist" --model sentence --corpus "$corpus" --out "$work/run" "${model[@]}" --epochs "$epochs" \
  --batch-size 64 --lr 1e-3 --kl-cycles 0 --free-bits 0 --threads "$threads" --seed 1 --log-every 10 \
  --eval-every 0 --quiet </dev/null
"$bin/vae-infer" eval --checkpoint "$work/run" --corpus "$corpus" --split test --iw-samples 16 >"$work/vae_test.json"

echo "compare_pytorch_sentence: parity check (valid split)" >&2
$py bench/pytorch_sentence.py check "$work/run" "$corpus" --split valid --vae-infer "$bin/vae-infer" \
  --threads "$threads" | tee "$work/parity.json"

echo "compare_pytorch_sentence: one SGD step from the trained weights, vae-dist against PyTorch" >&2
"$bin/vae-dist" --model sentence --corpus "$corpus" --out "$work/sgd" "${model[@]}" --init-from "$work/run" \
  --optimizer sgd --lr 0.1 --max-steps 1 --no-shuffle --latent-samples 0 --kl-cycles 0 --free-bits 0 \
  --batch-size 64 --threads "$threads" --eval-every 0 --quiet </dev/null
$py bench/pytorch_sentence.py sgd "$work/run" "$work/sgd" "$corpus" --batch-size 64 --lr 0.1 | tee "$work/sgd.json"

# PyTorch runs on the same OpenBLAS: it gets the kernels vae-dist ran (which vae-dist chooses itself
# where OpenBLAS would fall back to its generic ones), so that both sides multiply alike.
OPENBLAS_CORETYPE=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["blas_core"])' "$work/run/config.json")
export OPENBLAS_CORETYPE
echo "compare_pytorch_sentence: PyTorch training" >&2
$py bench/pytorch_sentence.py train "$corpus" --epochs "$epochs" --batch-size 64 --lr 1e-3 \
  --embedding "$emb" --hidden "$hidden" --latent "$latent" --threads "$threads" --seed 1 --log-every 10 \
  >"$work/torch.json"

$py - "$work/run/summary.jsonl" "$work/vae_test.json" "$work/torch.json" "$work/parity.json" <<'PY'
import json, statistics, sys
train = [json.loads(l) for l in open(sys.argv[1]) if '"kind": "train"' in l][1:]
vae, torch_, parity = (json.load(open(p)) for p in sys.argv[2:5])
rate = statistics.median(r["seqs_per_s"] for r in train)
print(f"\nparity: recon_mean over {parity['sequences']} valid sequences, PyTorch {parity['recon_mean_pytorch']:.6f}"
      f" vs vae-infer {parity['recon_mean_vae_infer']:.6f} (relative {parity['relative_difference']:.2g})\n")
print("| trainer | seqs/s | test nll | test ppl | test kl | test nll_iw | test ppl_iw |")
print("| --- | --- | --- | --- | --- | --- | --- |")
print(f"| vae-dist | {rate:,.0f} | {vae['nll']:.2f} | {vae['ppl']:.1f} | {vae['kl']:.2f} | {vae['nll_iw']:.2f} | "
      f"{vae['ppl_iw']:.1f} |")
print(f"| PyTorch {torch_['torch']} | {torch_['seqs_per_s']:,.0f} | {torch_['test_nll']:.2f} | {torch_['test_ppl']:.1f} "
      f"| {torch_['test_kl']:.2f} | | |")
print(f"\nseqs/s ratio vae-dist / PyTorch: {rate / torch_['seqs_per_s']:.2f}; test ppl ratio: "
      f"{vae['ppl'] / torch_['test_ppl']:.3f}")
PY
