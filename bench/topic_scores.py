"""Scores topics of any model alike (bench/compare_lda.sh; a benchmark tool, not a test).

usage: topic_scores.py CORPUS.h5 TOPICS.json
TOPICS.json: {"topics": [[word, ...], ...]} (each topic's words, best first, at least 25).
Prints one JSON object: npmi_mean and npmi_median (each topic's mean NPMI over the pairs of its
top 10 words, by document co-occurrence in the corpus's train split, a pair never together
scoring -1 and one together in every document 1) and diversity (distinct words among every
topic's top 25 over 25 x topics). The same definitions as vae-infer topics."""
import json
import sys

import h5py
import numpy as np

NPMI_WORDS, DIVERSITY_WORDS = 10, 25


def npmi(n_i, n_j, n_ij, n):
    if n_ij == 0:
        return -1.0
    if n_ij >= n:
        return 1.0
    p_ij, p_i, p_j = n_ij / n, n_i / n, n_j / n
    return np.log(p_ij / (p_i * p_j)) / -np.log(p_ij)


def main():
    corpus, topics_path = sys.argv[1:3]
    topics = json.load(open(topics_path))["topics"]
    with h5py.File(corpus, "r") as f:
        words = f["vocab/words"].asstr()[()].tolist()
        indptr, indices = f["train/indptr"][()], f["train/indices"][()]
    wid = {w: i for i, w in enumerate(words)}
    ids = [[wid[w] for w in t] for t in topics]
    wanted = sorted({w for t in ids for w in t[:NPMI_WORDS]})
    col = {w: k for k, w in enumerate(wanted)}
    n = len(indptr) - 1
    # Document-by-word presence of the wanted words only: [D, W] booleans.
    present = np.zeros((n, len(wanted)), dtype=bool)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    keep = np.isin(indices, wanted)
    present[rows[keep], [col[w] for w in indices[keep]]] = True
    counts = present.astype(np.float64)
    df, pair = counts.sum(axis=0), counts.T @ counts
    scores = []
    for t in ids:
        top = [col[w] for w in t[:NPMI_WORDS]]
        s = [npmi(df[a], df[b], pair[a, b], n) for i, a in enumerate(top) for b in top[i + 1:]]
        scores.append(float(np.mean(s)))
    flat = [w for t in ids for w in t[:DIVERSITY_WORDS]]
    print(json.dumps({"npmi_mean": float(np.mean(scores)), "npmi_median": float(np.median(scores)),
                      "diversity": len(set(flat)) / len(flat), "topics": len(ids)}))


main()
