#!/usr/bin/env bash
# The model learns: on a planted-topics corpus, a few hundred steps on one process bring the valid
# perplexity far below the unigram perplexity and close to the oracle's (the perplexity of each
# document under its own true topic mixture), both computed by vae-synth.
source "${VAE_TESTS:?}/harness/lib.sh" learn

"$bin/vae-synth" -o "$work/c.h5" --docs 3000 --vocab 500 --topics 10 --seed 5 --quiet
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" --epochs 12 --batch-size 64 --lr 0.005 \
  --eval-every 100 --threads 1 --quiet
$py - "$work" <<'PY'
import json, sys
import h5py
work = sys.argv[1]
with h5py.File(f"{work}/c.h5", "r") as f:
    oracle = float(f["synthetic/valid/oracle_ppl"][0])
    unigram = float(f["synthetic/valid/unigram_ppl"][0])
evals = [json.loads(l) for l in open(f"{work}/run/summary.jsonl") if '"eval"' in l]
first, last = evals[0]["ppl_corpus"], evals[-1]["ppl_corpus"]
print(f"valid perplexity: first eval {first:.1f}, last {last:.1f}; unigram {unigram:.1f}, oracle {oracle:.1f}")
assert last < first, "perplexity did not fall"
assert last < 0.5 * unigram, "not well below the unigram perplexity"
assert last < 1.5 * oracle, "not close to the oracle perplexity"
assert last > 0.9 * oracle, "better than the oracle: the figures are wrong"
print("1 passed, 0 failed")
PY
