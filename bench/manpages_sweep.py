#!/usr/bin/python3
"""Sweeps the constants of vae-infer summarize --sentences 1 on bench/manpages.py's pages (a benchmark).

usage: bench/manpages_sweep.py BUILD_DIR WORK_DIR [--lo N] [--hi N]

WORK_DIR is one that bench/manpages.py has filled (its train.h5 and trained run/). The same
candidate sentences as manpages.py (vae-infer lists them), test cases [lo, hi) of them (default the
first 500, manpages.py's set; --lo 500 --hi 2000 the others). A numpy copy of the bow model (relu,
log1p input, the checkpoint's tensors) encodes each document and decodes its mean z_d, and each
word weighs q(w) = (1 - share) n_w / N + share p(w | z_d); a sentence scores q(its distinct words)
/ (its words + prior). The words are manpages.py's (lower-cased letter runs, stopwords dropped)
that are in the vocabulary, so figures come within a few 1e-3 of vae-infer's own. Prints ROUGE-1,
ROUGE-2 and ROUGE-L F1 and the mean length of the chosen sentences for each (share, prior), then for
the document's lift-weighted frequencies n_w (p(w | z_d) / p(w | z = 0))^g and for the present
method of vae-infer before 2026-12-03 (the mean log p(w | z_S) of the document's words).
"""
import os
import sys
from collections import Counter

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manpages as mp  # noqa: E402
import rouge  # noqa: E402


class Model:
    def __init__(self, ckpt):
        with h5py.File(ckpt, "r") as f:
            self.p = {k: f["params/" + k][()] for k in f["params"]}
        self.latent = self.p["enc.mu.bias"].shape[0]
        self.logp0 = self.logp(np.zeros((1, self.latent)))[0]

    def layer(self, x, name, relu=True):
        y = x @ self.p[name + ".weight"].T + self.p[name + ".bias"]
        return np.maximum(y, 0) if relu else y

    def mu(self, counts):
        h = self.layer(self.layer(np.log1p(counts), "enc.0"), "enc.1")
        return self.layer(h, "enc.mu", relu=False)

    def logp(self, z):
        l = self.layer(self.layer(self.layer(z, "dec.0"), "dec.1"), "dec.out", relu=False)
        l -= l.max(1, keepdims=True)
        return l - np.log(np.exp(l).sum(1, keepdims=True))


def main():
    ap = mp.arguments(__doc__.split("\n")[0])
    ap.add_argument("--lo", type=int, default=0)
    ap.add_argument("--hi", type=int, default=500)
    a = ap.parse_args()
    run = os.path.join(a.work, "run", "checkpoints")
    ckpt = os.path.join(run, open(os.path.join(run, "latest")).read().strip())
    _, test = mp.manual_pages(a.man.split(","))
    cases = mp.candidates(a.build, ckpt, test, a.hi)[a.lo:]
    with h5py.File(os.path.join(a.work, "train.h5"), "r") as f:
        vocab = {w: i for i, w in enumerate(f["vocab/words"].asstr()[()])}
    model, stop = Model(ckpt), mp.stopwords()

    def weighted(share, prior):
        return lambda d, ids, lp: [(1 - share) * d / d.sum() + share * np.exp(lp), prior]

    def lifted(g, prior):
        return lambda d, ids, lp: [d / d.sum() * np.exp(g * (lp - model.logp0)), prior]
    methods = {f"share {s} prior {k}": weighted(s, k) for s in (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
               for k in (1, 2, 3, 4, 6, 10)}
    methods.update({f"lift^{g} prior 2": lifted(g, 2) for g in (0.25, 0.5, 1.0)})
    methods["mean log p(w | z_S) of the document's words"] = None
    totals, lengths = {m: Counter() for m in methods}, {m: 0 for m in methods}
    for (_, ref, _), cands in cases:
        ids = [[vocab[w] for w in mp.words(s, stop) if w in vocab] for s in cands]
        x = np.zeros((len(cands) + 1, len(vocab)))
        for i, t in enumerate(ids):
            np.add.at(x[i], t, 1)
        x[-1] = x[:-1].sum(0)
        lp = model.logp(model.mu(x))
        for m, weigh in methods.items():
            if weigh is None:
                scores = [(lp[i] * x[-1]).sum() for i in range(len(cands))]
            else:
                q, prior = weigh(x[-1], ids, lp[-1])
                scores = [q[list(set(t))].sum() / (len(t) + prior) if t else -1.0 for t in ids]
            best = max(range(len(cands)), key=lambda i: (scores[i], -i))
            totals[m].update(rouge.scores(cands[best], ref))
            lengths[m] += len(ids[best])
    n = len(cases)
    print(f"{n} test pages [{a.lo}, {a.lo + n}) of {a.man}; {ckpt}\n")
    print("| score | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 | words chosen |\n| --- | --- | --- | --- | --- |")
    for m in methods:
        t = totals[m]
        print(f"| {m} | {t['rouge1'] / n:.4f} | {t['rouge2'] / n:.4f} | {t['rougeL'] / n:.4f} | {lengths[m] / n:.1f} |")


if __name__ == "__main__":
    main()
