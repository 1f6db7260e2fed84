#!/usr/bin/python3
"""Reads a vae-corpus file the way a Python user would (h5py, scipy.sparse) and checks it against
SPEC.md "Corpus file" (version 2: version 1 plus sequences, which interop_sequences.py checks); for
files written by vae-prep, also its own promises (the vocabulary's
frequencies match the training split, no empty documents, the settings attributes, the order of
the vocabulary). Used by tests/test_prep.sh.

  interop_corpus.py OUT.h5          check, then print a JSON summary (attributes, words, splits)
  interop_corpus.py --bags OUT.h5   check, then print each document as
                                    "split<TAB>doc_id<TAB>word:count word:count ..." (words sorted)

Exits 1 with a message naming the dataset and position on the first problem; a missing h5py or
scipy is a failure too, never a silent skip."""
import json
import sys

try:
    import h5py
    import numpy as np
    import scipy.sparse
except ImportError as e:
    sys.exit(f"interop_corpus.py: cannot import {e.name}: install python3-h5py and python3-scipy")

SPLITS = ("train", "valid", "test")
PREP_ATTRS_INT = ("tokenizer_min_len", "tokenizer_max_len", "tokenizer_keep_digits", "split_seed",
                  "docs_read", "docs_dropped_empty", "docs_kept")
PREP_ATTRS_STR = ("tokenizer", "stopwords", "valid_frac", "test_frac")


def fail(msg):
    sys.exit(f"interop_corpus.py: {msg}")


def check(cond, msg):
    if not cond:
        fail(msg)


def plain(value):
    """An attribute as a JSON-friendly value."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_vocab(f):
    for name in ("vocab/words", "vocab/doc_freq", "vocab/term_freq"):
        check(name in f, f"/{name} is missing")
    words = f["vocab/words"].asstr()[()].tolist()
    df, tf = f["vocab/doc_freq"][()], f["vocab/term_freq"][()]
    V = len(words)
    check(int(f.attrs["vocab_size"]) == V, f"vocab_size {f.attrs['vocab_size']} != {V} words")
    check(df.dtype == np.int64 and df.shape == (V,), f"/vocab/doc_freq: {df.dtype} {df.shape}")
    check(tf.dtype == np.int64 and tf.shape == (V,), f"/vocab/term_freq: {tf.dtype} {tf.shape}")
    check(all(words), "/vocab/words: an empty word")
    check(len(set(words)) == V, "/vocab/words: a repeated word")
    return words, df, tf


def read_split(f, name, V):
    g = f[name]
    indptr, indices, counts = g["indptr"][()], g["indices"][()], g["counts"][()]
    D = len(indptr) - 1
    check(indptr.dtype == np.int64, f"/{name}/indptr is {indptr.dtype}, not int64")
    check(indices.dtype == np.int32, f"/{name}/indices is {indices.dtype}, not int32")
    check(counts.dtype == np.int32, f"/{name}/counts is {counts.dtype}, not int32")
    check(D >= 0 and indptr[0] == 0, f"/{name}/indptr[0] is not 0")
    bad = np.nonzero(np.diff(indptr) < 0)[0]
    check(len(bad) == 0, f"/{name}/indptr decreases at {bad[0] + 1 if len(bad) else 0}")
    check(indptr[-1] == len(indices) == len(counts), f"/{name}: indptr[D] != nnz")
    check(len(indices) == 0 or (indices.min() >= 0 and indices.max() < V), f"/{name}/indices out of [0, V)")
    check(len(counts) == 0 or counts.min() > 0, f"/{name}/counts: a count <= 0")
    same_row = np.ones(len(indices), dtype=bool)
    same_row[indptr[:-1][indptr[:-1] < len(indices)]] = False
    rising = np.diff(indices.astype(np.int64)) > 0
    bad = np.nonzero(~rising & same_row[1:])[0]
    check(len(bad) == 0, f"/{name}/indices not increasing within a row at {bad[0] + 1 if len(bad) else 0}")
    m = scipy.sparse.csr_matrix((counts, indices, indptr), shape=(D, V))
    check(m.has_sorted_indices, f"/{name}: scipy finds the indices unsorted")
    check(int(g.attrs["num_docs"]) == D, f"/{name}: num_docs {g.attrs['num_docs']} != {D}")
    check(int(g.attrs["num_tokens"]) == int(m.sum()), f"/{name}: num_tokens {g.attrs['num_tokens']} != {m.sum()}")
    doc_ids = None
    if "doc_ids" in g:
        doc_ids = g["doc_ids"].asstr()[()].tolist()
        check(len(doc_ids) == D, f"/{name}/doc_ids has {len(doc_ids)} entries for {D} documents")
    return m, doc_ids


def check_prep(attrs, words, df, tf, mats):
    """vae-prep's own promises."""
    for a in PREP_ATTRS_INT + PREP_ATTRS_STR:
        check(a in attrs, f"root attribute {a} is missing")
    for a in PREP_ATTRS_INT:
        check(isinstance(attrs[a], int), f"root attribute {a} is not an integer")
    check(attrs["tokenizer"] == "letters-v1", f"tokenizer is {attrs['tokenizer']}")
    kept = sum(m.shape[0] for m in mats.values())
    check(attrs["docs_kept"] == kept, f"docs_kept {attrs['docs_kept']} != {kept} rows")
    check(attrs["docs_read"] == kept + attrs["docs_dropped_empty"], "docs_read != kept + dropped")
    for name, m in mats.items():
        empty = np.nonzero(np.diff(m.indptr) == 0)[0]
        check(len(empty) == 0, f"/{name}: document {empty[0] if len(empty) else 0} is empty")
    train = mats.get("train")
    check(train is not None, "no train split")
    col_df = np.asarray((train > 0).sum(axis=0)).ravel()
    col_tf = np.asarray(train.sum(axis=0)).ravel()
    bad = np.nonzero(col_df != df)[0]
    check(len(bad) == 0, f"/vocab/doc_freq[{bad[0] if len(bad) else 0}] != documents of train holding the word")
    bad = np.nonzero(col_tf != tf)[0]
    check(len(bad) == 0, f"/vocab/term_freq[{bad[0] if len(bad) else 0}] != the word's count in train")
    if "vocab_from" not in attrs:
        check(len(words) <= attrs["vocab_size_requested"], "more words than --vocab-size")
        keys = [(-int(d), w.encode()) for d, w in zip(df, words)]
        bad = [i for i in range(1, len(keys)) if keys[i - 1] >= keys[i]]
        check(not bad, f"/vocab: word {bad[0] if bad else 0} breaks the order (df descending, then word)")


def main():
    args = sys.argv[1:]
    bags = args[:1] == ["--bags"]
    if bags:
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    with h5py.File(args[0], "r") as f:
        attrs = {k: plain(v) for k, v in f.attrs.items()}
        check(attrs.get("format") == "vae-corpus", f"format is {attrs.get('format')}")
        seqs = any(name in f and "seq" in f[name] for name in SPLITS)
        check(attrs.get("version") == (2 if seqs else 1),
              f"version is {attrs.get('version')}, expected {2 if seqs else 1} (sequences: {seqs})")
        words, df, tf = read_vocab(f)
        mats, ids = {}, {}
        for name in SPLITS:
            if name in f:
                mats[name], ids[name] = read_split(f, name, len(words))
    if "tokenizer" in attrs:
        check_prep(attrs, words, df, tf, mats)
    if bags:
        for name, m in mats.items():
            for r in range(m.shape[0]):
                row = m.getrow(r)
                bag = " ".join(sorted(f"{words[i]}:{c}" for i, c in zip(row.indices, row.data)))
                print(f"{name}\t{ids[name][r] if ids[name] else ''}\t{bag}")
        return
    summary = {
        "attrs": attrs,
        "words": words,
        "doc_freq": df.tolist(),
        "term_freq": tf.tolist(),
        "splits": {n: {"num_docs": m.shape[0], "num_tokens": int(m.sum()), "nnz": m.nnz,
                       "doc_ids": ids[n]} for n, m in mats.items()},
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
