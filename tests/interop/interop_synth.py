#!/usr/bin/python3
"""Reads a vae-synth corpus the way users do (h5py, scipy.sparse) and checks it against SPEC.md's
corpus format and vae-synth's own figures; for a corpus of sequences (--sequences N, version 2),
also that each document's bag is its sequences', that N sequences of at most max_length come from
each document, and that the sequence oracle is the Markov chain's likelihood given theta, recomputed
here, with successors (w + 1 mod V) about as frequent as the chain makes them.
Usage: interop_synth.py CORPUS.h5 [TOPICS]"""
import json
import math
import sys

import h5py
import numpy as np
import scipy.sparse


def check(cond, what):
    if not cond:
        sys.exit(f"interop_synth: {what}")


def check_sequences(g, s, m, theta, phi, N, stay, split):
    """The split's sequences against its bags and the chain; returns each document's oracle NLL."""
    q = g["seq"]
    indptr, tokens, doc = q["indptr"][:], q["tokens"][:], q["doc"][:]
    D, V = m.shape
    L = int(q.attrs["max_length"])
    check(q.attrs["unit"] == "sentence" and int(q.attrs["num_seqs"]) == D * N == len(doc), f"{split}: seq attributes")
    check((doc == np.repeat(np.arange(D), N)).all(), f"{split}: seq/doc is not {N} sequences a document")
    lens = np.diff(indptr)
    check(lens.min() >= 1 and lens.max() <= L, f"{split}: sequence lengths outside [1, {L}]")
    # document d's tokens are those of its sequences d N .. d N + N - 1
    bags = scipy.sparse.csr_matrix((np.ones(len(tokens)), tokens, indptr[::N]), shape=(D, V))
    check(D == 0 or (bags != m).nnz == 0, f"{split}: a document's bag is not its sequences'")
    logphi, th = np.log(phi.astype(np.float64)), theta.astype(np.float64)
    nll = np.zeros(D * N)
    follows = total = 0
    for k in range(D * N):
        t = tokens[indptr[k]:indptr[k + 1]].astype(np.int64)
        succ = t[1:] == (t[:-1] + 1) % V
        follows, total = follows + succ.sum(), total + len(succ)
        lp = np.log(th[doc[k]]) + logphi[:, t[0]]
        lp = lp + np.log(stay * succ[None, :] + (1 - stay) * phi[:, t[1:]].astype(np.float64)).sum(axis=1)
        top = lp.max()
        nll[k] = -(top + math.log(np.exp(lp - top).sum()))
    given = s["seq_oracle_nll"][:]
    check(np.allclose(given, nll / lens, rtol=1e-4), f"{split}: seq_oracle_nll is not the chain's")
    check(total == 0 or abs(follows / total - stay) < 0.1, f"{split}: successors {follows}/{total}, expected ~{stay}")
    oracle = math.exp(nll.sum() / lens.sum())
    check(math.isclose(oracle, float(s["seq_oracle_ppl"][0]), rel_tol=1e-4), f"{split}: seq_oracle_ppl")
    print(f"{split}: {D * N} sequences, successors {follows}/{total}, sequence oracle ppl {oracle:.2f}")
    return nll.reshape(D, N).sum(axis=1) if D else np.zeros(0)


def main():
    path = sys.argv[1]
    topics = int(sys.argv[2]) if len(sys.argv) > 2 else None
    with h5py.File(path, "r") as f:
        check(f.attrs["format"] == "vae-corpus", f"format attribute is {f.attrs['format']!r}")
        meta = json.loads(f.attrs["synthetic"])
        N = meta.get("sequences", 0)
        check(int(f.attrs["version"]) == (2 if N else 1), f"version attribute is {f.attrs['version']}")
        V = int(f.attrs["vocab_size"])
        words = [w.decode("utf-8") for w in f["vocab/words"][:]]
        check(len(words) == V and len(set(words)) == V and all(words), "vocab/words: not V unique names")
        check(f["vocab/doc_freq"].dtype == np.int64 and f["vocab/term_freq"].dtype == np.int64,
              "vocab frequencies are not int64")
        phi = f["synthetic/topics"][:]
        check(phi.dtype == np.float32 and phi.shape[1] == V, f"synthetic/topics has shape {phi.shape}")
        check(topics is None or phi.shape[0] == topics, f"{phi.shape[0]} topics, expected {topics}")
        check(np.allclose(phi.sum(axis=1), 1.0, atol=1e-4), "topics do not sum to 1")
        train_tf = None
        for split in ("train", "valid", "test"):
            if split not in f:
                check(split != "train", "no train split")
                continue
            g = f[split]
            indptr, indices, counts = g["indptr"][:], g["indices"][:], g["counts"][:]
            check(indptr.dtype == np.int64 and indices.dtype == np.int32 and counts.dtype == np.int32,
                  f"{split}: dtypes {indptr.dtype} {indices.dtype} {counts.dtype}")
            D = len(indptr) - 1
            m = scipy.sparse.csr_matrix((counts, indices, indptr), shape=(D, V))
            m.check_format(full_check=True)
            check(m.has_sorted_indices, f"{split}: ids not sorted within documents")
            check(indptr[0] == 0 and indptr[-1] == len(indices) == len(counts), f"{split}: indptr ends")
            check((counts > 0).all(), f"{split}: a count is not positive")
            check(int(g.attrs["num_docs"]) == D, f"{split}: num_docs")
            check(int(g.attrs["num_tokens"]) == int(m.sum()), f"{split}: num_tokens {g.attrs['num_tokens']} != {m.sum()}")
            check(len(g["doc_ids"]) == D if "doc_ids" in g else D == 0, f"{split}: doc_ids")
            tf = np.asarray(m.sum(axis=0)).ravel()
            if split == "train":
                train_tf = tf
                check((f["vocab/term_freq"][:] == tf).all(), "vocab/term_freq is not train's")
                check((f["vocab/doc_freq"][:] == np.diff(m.tocsc().indptr)).all(), "vocab/doc_freq is not train's")
            if D == 0:
                continue
            s = f["synthetic"][split]
            nll, theta = s["oracle_nll"][:], s["theta"][:]
            check(nll.shape == (D,) and theta.shape == (D, phi.shape[0]), f"{split}: synthetic shapes")
            check(np.allclose(theta.sum(axis=1), 1.0, atol=1e-4), f"{split}: theta rows do not sum to 1")
            n_d = np.asarray(m.sum(axis=1)).ravel()
            if N:
                nll_again = check_sequences(g, s, m, theta, phi, N, meta["stay"], split) / n_d
            else:
                # The oracle: each document's own mixture of the topics.
                p = theta.astype(np.float64) @ phi.astype(np.float64)
                nll_again = -np.asarray(m.multiply(np.log(p)).sum(axis=1)).ravel() / n_d
            check(np.allclose(nll, nll_again, rtol=1e-3), f"{split}: oracle_nll does not match theta and topics")
            oracle = math.exp(float((n_d * nll).sum()) / n_d.sum())
            unigram_p = (train_tf + 1.0) / (train_tf.sum() + V)
            unigram = math.exp(-float((tf * np.log(unigram_p)).sum()) / tf.sum())
            check(math.isclose(oracle, float(s["oracle_ppl"][0]), rel_tol=1e-4),
                  f"{split}: oracle_ppl {s['oracle_ppl'][0]} != {oracle}")
            check(math.isclose(unigram, float(s["unigram_ppl"][0]), rel_tol=1e-4),
                  f"{split}: unigram_ppl {s['unigram_ppl'][0]} != {unigram}")
            check(oracle < unigram, f"{split}: oracle perplexity {oracle} is not below unigram {unigram}")
            print(f"{split}: {D} docs, {int(n_d.sum())} tokens, oracle ppl {oracle:.1f} < unigram {unigram:.1f}")


main()
