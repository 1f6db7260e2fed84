#!/usr/bin/python3
"""Rebuilds every sequence of a vae-prep --sequences corpus with h5py/numpy and checks it against
this script's own reading of the inputs: its own tokenizer (letters-v1, tokenize.h) and its own
sentence splitter (sentences-v1, docs/SPEC.md), written from the rules, not from the C code.
Used by tests/e2e/test_prep.sh.

  interop_sequences.py CORPUS.h5 lines|files

For every document (found through doc_ids) its units are tokenized, mapped to ids (V for a word
outside the vocabulary), cut at max_length and compared with the file's sequences of that row; the
row's bag must be the count of its sequences' known ids; seqs_written, units_cut and the seq
attributes must agree. Prints one JSON line of totals. Exits 1 naming the split, row and sequence
of the first difference."""
import json
import re
import sys

import h5py
import numpy as np

WS = " \t\n\v\f\r"
ENDS = set(".!?\u2026")
CJK_ENDS = set("\u3002\uff01\uff1f")
CLOSERS = set("\"')]}\u2019\u201d\u00bb\u203a\u300d\u300f\uff09")
OPENERS = "\"'([{\u2018\u201c\u00ab\u2039\u300c\u300e\uff08"
ABBREVIATIONS = set("""mr mrs ms mx dr prof rev fr sr jr st mt gen col lt sgt capt gov sen rep hon vs cf viz al
approx fig figs vol pp ed eds dept est jan feb mar apr jun jul aug sep sept oct nov dec""".split())
INITIALS = re.compile(r"[A-Za-z](\.[A-Za-z])*")


def fail(msg):
    sys.exit(f"interop_sequences.py: {msg}")


def separator(cp):
    """Code points that are no letters (tokenize.h), surrogates (undecodable bytes) included."""
    return (cp <= 0xBF or cp in (0xD7, 0xF7) or 0xD800 <= cp <= 0xDFFF
            or (0x2000 <= cp <= 0x206F and cp not in (0x200C, 0x200D)) or 0x2E00 <= cp <= 0x2E7F
            or 0x3000 <= cp <= 0x3003 or 0x3008 <= cp <= 0x3011 or 0x3014 <= cp <= 0x301F or cp == 0xFEFF
            or 0xFF01 <= cp <= 0xFF0F or 0xFF1A <= cp <= 0xFF20 or 0xFF3B <= cp <= 0xFF40
            or 0xFF5B <= cp <= 0xFF65 or 0xFFF0 <= cp <= 0xFFFF)


def tokens(text, min_len, max_len, digits, stop):
    out, word = [], []

    def flush():
        if min_len <= len(word) <= max_len:
            w = "".join(word)
            if w not in stop:
                out.append(w)
        word.clear()

    for ch in text:
        cp = ord(ch)
        if ("a" <= ch <= "z") or (digits and "0" <= ch <= "9"):
            word.append(ch)
        elif "A" <= ch <= "Z":
            word.append(ch.lower())
        elif cp >= 0x80 and not separator(cp):
            word.append(ch)
        else:
            flush()
    flush()
    return out


def abbreviation(word):
    word = word.lstrip(OPENERS)
    low = "".join(c.lower() if c.isascii() else c for c in word)
    return bool(INITIALS.fullmatch(word)) or low in ABBREVIATIONS


def sentences(text):
    """sentences-v1: paragraphs at blank lines, then ends of punctuation runs (see the module doc)."""
    out = []
    for para in re.split(r"\n[ \t\r\v\f]*\n", text):
        start, i, n = 0, 0, len(para)
        while i < n:
            if para[i] not in ENDS and para[i] not in CJK_ENDS:
                i += 1
                continue
            k, cjk = i, False
            while k < n and (para[k] in ENDS or para[k] in CJK_ENDS):
                cjk = cjk or para[k] in CJK_ENDS
                k += 1
            lone_dot = k == i + 1 and para[i] == "."
            while k < n and para[k] in CLOSERS:
                k += 1
            word = para[start:i].lstrip(WS)
            word = word[max(word.rfind(c) for c in WS) + 1:]
            if (cjk or k == n or para[k] in WS) and not (lone_dot and abbreviation(word)):
                out.append(para[start:k])
                start = k
            i = k
        out.append(para[start:])
    return out


def units(text, unit):
    if unit == "sentence":
        return sentences(text)
    return text.split("\n") if unit == "line" else [text]


def documents(paths, fmt):
    """doc_id -> text, as vae-prep reads the inputs (undecodable bytes kept as surrogates)."""
    docs = {}
    for path in paths:
        data = open(path, "rb").read()
        if fmt == "files":
            docs[path] = data.decode("utf-8", "surrogateescape")
            continue
        for number, line in enumerate(data.split(b"\n"), 1):
            line = line[:-1] if line.endswith(b"\r") else line
            if line.strip(b" \t\f\v\r"):
                docs[f"{path}:{number}"] = line.decode("utf-8", "surrogateescape")
    return docs


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("lines", "files"):
        sys.exit(__doc__)
    fmt = sys.argv[2]
    with h5py.File(sys.argv[1], "r") as f:
        a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        if int(a["version"]) != 2:
            fail(f"version is {a['version']}, expected 2")
        stop = set()
        if a["stopwords"] == "en":
            fail("stopwords 'en': this checker knows no built-in list")
        if a["stopwords"] != "none":
            stop = {w.strip().lower() for w in open(a["stopwords"]) if w.strip() and not w.startswith("#")}
        words = f["vocab/words"].asstr()[()].tolist()
        V = len(words)
        ids = {w: i for i, w in enumerate(words)}
        opts = (int(a["tokenizer_min_len"]), int(a["tokenizer_max_len"]), int(a["tokenizer_keep_digits"]), stop)
        totals = {"seqs": 0, "tokens": 0, "unknown": 0, "cut": 0, "docs": 0}
        seen_paths = set()
        per_split = {}
        for name in ("train", "valid", "test"):
            if name not in f:
                continue
            g, s = f[name], f[name]["seq"]
            per_split[name] = s
            if s["indptr"].dtype != np.int64 or s["tokens"].dtype != np.int32 or s["doc"].dtype != np.int64:
                fail(f"/{name}/seq: dtypes {s['indptr'].dtype} {s['tokens'].dtype} {s['doc'].dtype}")
            for path in g["doc_ids"].asstr()[()]:
                seen_paths.add(path if fmt == "files" else path.rsplit(":", 1)[0])
        docs = documents(sorted(seen_paths), fmt)
        unit = max_length = None
        for name, s in per_split.items():
            g = f[name]
            indptr, toks, doc = s["indptr"][()], s["tokens"][()], s["doc"][()]
            unit, max_length = s.attrs["unit"], int(s.attrs["max_length"])
            unit = unit.decode() if isinstance(unit, bytes) else unit
            if int(s.attrs["num_seqs"]) != len(doc) or int(s.attrs["num_tokens"]) != len(toks):
                fail(f"/{name}/seq: num_seqs or num_tokens disagree with the datasets")
            rows = np.searchsorted(doc, np.arange(g["indptr"].shape[0]))  # first sequence of each row
            csr_ptr, csr_ids, csr_cnt = g["indptr"][()], g["indices"][()], g["counts"][()]
            for r, doc_id in enumerate(g["doc_ids"].asstr()[()]):
                want = []
                for u in units(docs[doc_id], unit):
                    t = [ids.get(w, V) for w in tokens(u, *opts)]
                    totals["cut"] += len(t) > max_length
                    want += [t[k:k + max_length] for k in range(0, len(t), max_length)]
                got = [toks[indptr[q]:indptr[q + 1]].tolist() for q in range(rows[r], rows[r + 1])]
                if got != want:
                    bad = next(q for q in range(max(len(got), len(want)))
                               if q >= len(got) or q >= len(want) or got[q] != want[q])
                    fail(f"/{name} row {r} ({doc_id}), its sequence {bad}: file has "
                         f"{got[bad] if bad < len(got) else None}, expected {want[bad] if bad < len(want) else None}")
                known = np.concatenate([np.array(q, dtype=np.int64) for q in got]) if got else np.zeros(0, np.int64)
                known = known[known < V]
                bag = np.bincount(known, minlength=V)
                row = np.zeros(V, np.int64)
                row[csr_ids[csr_ptr[r]:csr_ptr[r + 1]]] = csr_cnt[csr_ptr[r]:csr_ptr[r + 1]]
                if (bag != row).any():
                    fail(f"/{name} row {r} ({doc_id}): the bag is not the count of its sequences' known ids")
                totals["docs"] += 1
                totals["seqs"] += len(got)
                totals["tokens"] += sum(map(len, got))
                totals["unknown"] += sum(q.count(V) for q in got)
        if int(a["seqs_written"]) != totals["seqs"] or int(a["units_cut"]) != totals["cut"]:
            fail(f"seqs_written {a['seqs_written']} / units_cut {a['units_cut']}, counted {totals}")
    print(json.dumps(dict(totals, unit=unit, max_length=max_length, V=V)))


if __name__ == "__main__":
    main()
