#!/usr/bin/python3
"""Extractive summaries of Debian's manual pages, scored against their NAME lines.

usage: bench/manpages.py BUILD_DIR WORK_DIR [--man DIR,DIR...] [--test-docs N] [--steps N] [--k K]
                         [--seed S]

Each man(7) page of the folders (default /usr/share/man/man1,3,5,7,8; at most 20 pages of a family,
pages whose names share the part before the first - _ . or :, since 16 600 of man1's 18 100 pages
are gcloud's) with a NAME line and a DESCRIPTION becomes a document: the DESCRIPTION's prose,
roff stripped, one roff paragraph a line, ended by a period when it has no end punctuation, option
tags and examples left out. Its human-written summary is the NAME line's description ("ls - list
directory contents": "list directory contents"). A hash of the page's name sets aside a fifth of
the pages for the test; the model is trained by vae-dist (bow, latent 32, --steps steps, default
2000, batch 256, lr 0.002, --seed S (default 1), one thread) on the others, each page's DESCRIPTION and each of
its paragraphs a document (a model that has seen short units reads sentences better), vae-prep's
defaults but --vocab-size 8000; no summary is ever used. On the first --test-docs (500) test pages
of 3 to 40 candidate sentences, K sentences (default 1) are chosen by: vae-infer summarize
--sentences K; Lead-K (the first K, reported beside, since a manual page puts its summary first);
a tf-idf centroid (Radev et al. 2004: the sentence of highest cosine with the document's tf-idf
vector, idf from the training pages); TextRank (Mihalcea and Tarau 2004: PageRank, d = 0.85, over
the sentence graph weighed by word overlap / (log |s1| + log |s2|)); SumBasic (Nenkova and
Vanderwende 2005: the sentence of highest mean word probability, then each chosen word's
probability squared). Every method chooses among the same candidates: the sentences of the rule
sentences-v1 with at least one word of the vocabulary (vae-infer lists them with --sentences 1000
--json), and the baselines see the same words (lower-cased letter runs, the English stopwords of
vae-prep dropped). Prints the mean ROUGE-1, ROUGE-2 and ROUGE-L F1 (bench/rouge.py) of each, as a
Markdown table, and a few examples. The corpus and the run are kept in WORK_DIR and reused.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rouge  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- roff to text ----

ESCAPES = [
    (re.compile(r'\\".*$'), ""),                       # comment
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),       # font changes
    (re.compile(r"\\s[+-]?\d+"), ""),                  # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),      # strings
    (re.compile(r"\\\((aq|cq)"), "'"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\((em|en|hy|mi)"), "-"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),         # other special characters
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\[&|^%:]"), ""),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\(.)"), r"\1"),
]
FONT_MACROS = {"B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB"}
BREAKS = {"PP", "P", "LP", "HP", "IP", "TP", "sp", "br", "RS", "RE", "in", "ti", "SS"}


def unescape(line):
    for pat, rep in ESCAPES:
        line = pat.sub(rep, line)
    return line


def macro_args(rest):
    return [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', rest)]


def sections(lines):
    """{section name: [lines]} of a man(7) page."""
    out, name = {}, None
    for line in lines:
        if line.startswith(".SH"):
            name = " ".join(macro_args(line[3:])).upper()
            out.setdefault(name, [])
        elif name:
            out[name].append(line)
    return out


def prose(lines):
    """The paragraphs of a section's prose: text lines, font macros' arguments; option tags (the
    line after .TP, .IP's argument) and no-fill blocks (examples) left out."""
    paras, cur, skip_tag, nofill = [], [], False, False

    def close():
        if cur:
            paras.append(" ".join(cur))
            cur.clear()
    for line in lines:
        if line.startswith((".", "'")):
            parts = line[1:].split(None, 1)
            mac = parts[0] if parts else ""
            rest = parts[1] if len(parts) > 1 else ""
            if mac == "nf":
                close()
                nofill = True
            elif mac == "fi":
                nofill = False
            elif mac in BREAKS:
                close()
                skip_tag = mac == "TP"
            elif mac in FONT_MACROS and not nofill:
                text = unescape(("" if len(mac) == 2 else " ").join(macro_args(rest)))
                if skip_tag:
                    skip_tag = False
                elif text.strip():
                    cur.append(text.strip())
            continue
        if nofill:
            continue
        if skip_tag:
            skip_tag = False
            continue
        text = unescape(line).strip()
        if text:
            cur.append(text)
        else:
            close()
    close()
    out = []
    for p in paras:
        p = re.sub(r"\s+", " ", p).strip()
        if len(rouge.tokens(p)) < 3:
            continue
        if not re.search(r"[.!?][\"')\]]*$", p):
            p += "."
        out.append(p)
    return out


def read_page(path):
    """(name, reference, description paragraphs) or None."""
    try:
        with gzip.open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except (OSError, EOFError):
        return None
    lines = text.split("\n")
    if any(line.startswith((".so ", ".Dd", ".Sh")) for line in lines[:40]):
        return None
    sec = sections(lines)
    if "NAME" not in sec or "DESCRIPTION" not in sec:
        return None
    name_line = re.sub(r"\s+", " ", " ".join(unescape(line) for line in sec["NAME"] if not line.startswith("."))).strip()
    m = re.match(r"^(.*?)\s+-+\s+(.+)$", name_line)
    if not m:
        return None
    reference = m.group(2).strip()
    paras = prose(sec["DESCRIPTION"])
    if len(rouge.tokens(reference)) < 2 or not paras:
        return None
    return os.path.basename(path).split(".")[0], reference, paras


# Pages of one family (a folder's pages whose names share the part before the first - _ . or :)
# taken at most: 16 600 of man1's 18 100 pages are gcloud's, 140 of man3's are mlx5dv's.
FAMILY_PAGES = 20
END_MARKS = re.compile(r"[.!?][\"')\]]*(\s|$)")


def is_test(name):
    return int(hashlib.md5(name.encode()).hexdigest(), 16) % 5 == 0


# ---- baselines over the candidates' words ----

def stopwords():
    src = open(os.path.join(HERE, "..", "src", "text", "stopwords.c")).read()
    block = src[src.index("english[] = {"):]
    return set(re.findall(r'"([a-z]+)"', block[:block.index("};")]))


def words(text, stop):
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 2 and w not in stop]


def top_k(scores, k):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(order[:k])


def centroid(sents, k, idf):
    vecs = [{w: c * idf.get(w, 0.0) for w, c in Counter(s).items()} for s in sents]
    cen = Counter()
    for v in vecs:
        cen.update(v)
    norm_c = math.sqrt(sum(x * x for x in cen.values())) or 1.0

    def cos(v):
        n = math.sqrt(sum(x * x for x in v.values()))
        return sum(x * cen[w] for w, x in v.items()) / (n * norm_c) if n else 0.0
    return top_k([cos(v) for v in vecs], k)


def textrank(sents, k, d=0.85, iters=50):
    n = len(sents)
    sets = [set(s) for s in sents]
    w = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j and len(sents[i]) > 1 and len(sents[j]) > 1:
                w[i][j] = len(sets[i] & sets[j]) / (math.log(len(sents[i])) + math.log(len(sents[j])))
    out = [sum(row) for row in w]
    score = [1.0] * n
    for _ in range(iters):
        score = [(1 - d) + d * sum(w[j][i] / out[j] * score[j] for j in range(n) if out[j] > 0) for i in range(n)]
    return top_k(score, k)


def sumbasic(sents, k):
    counts = Counter(w for s in sents for w in s)
    total = sum(counts.values()) or 1
    p = {w: c / total for w, c in counts.items()}
    chosen = []
    while len(chosen) < min(k, len(sents)):
        best = max((i for i in range(len(sents)) if i not in chosen and sents[i]),
                   key=lambda i: (sum(p[w] for w in sents[i]) / len(sents[i]), -i), default=None)
        if best is None:
            break
        chosen.append(best)
        for w in sents[best]:
            p[w] = p[w] ** 2
    return sorted(chosen)


# ---- the run ----

def run(cmd, **kw):
    t = time.time()
    r = subprocess.run(cmd, check=True, **kw)
    return r, time.time() - t


def manual_pages(folders):
    """(train pages, test pages) of the folders, at most FAMILY_PAGES of a family."""
    pages, per_family = [], Counter()
    for d in folders:
        for f in sorted(os.listdir(d)):
            family = (d, re.split(r"[-_.:]", f)[0])
            if f.endswith(".gz") and per_family[family] < FAMILY_PAGES:
                page = read_page(os.path.join(d, f))
                per_family[family] += page is not None
                pages += [page] if page else []
    return [p for p in pages if not is_test(p[0])], [p for p in pages if is_test(p[0])]


def summarize(build, ckpt, texts, k):
    """vae-infer summarize --sentences k --json of each text: its chosen sentences, and the seconds."""
    out, secs = run([f"{build}/vae-infer", "summarize", "--checkpoint", ckpt, "--text", "-", "--sentences", str(k),
                     "--json"], input="\n\n".join(texts) + "\n", capture_output=True, text=True)
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(docs) == len(texts), (len(docs), len(texts))
    return [d["sentences"] for d in docs], secs


def candidates(build, ckpt, test, n):
    """The first n test pages of 3 to 40 candidates, as (page, [sentence text]): every sentence with a
    known word, as vae-infer cuts and prints them (listing them all costs a square of their number,
    so pages of too many end marks are left out first)."""
    test = [p for p in test if 3 <= len(END_MARKS.findall(" ".join(p[2]))) <= 50][:n * 2]
    listed, _ = summarize(build, ckpt, ["\n".join(p[2]) for p in test], 1000)
    return [(p, [s["text"] for s in c]) for p, c in zip(test, listed) if 3 <= len(c) <= 40][:n]


def arguments(description):
    """A parser of the arguments every script over these pages takes: BUILD_DIR WORK_DIR [--man]."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("--man", default=",".join(f"/usr/share/man/man{i}" for i in (1, 3, 5, 7, 8)))
    return ap


def main():
    ap = arguments(__doc__.split("\n")[1])
    ap.add_argument("--test-docs", type=int, default=500)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    train, test = manual_pages(a.man.split(","))
    print(f"pages: {len(train) + len(test)} with NAME and DESCRIPTION; {len(train)} to train on, {len(test)} "
          "test pages", file=sys.stderr)
    corpus, run_dir = os.path.join(a.work, "train.h5"), os.path.join(a.work, "run")
    with open(os.path.join(a.work, "train.jsonl"), "w") as f:
        for name, _, paras in train:
            f.write(json.dumps({"text": "\n".join(paras)}) + "\n")
            for p in paras:
                f.write(json.dumps({"text": p}) + "\n")
    if not os.path.exists(corpus):
        run([f"{a.build}/vae-prep", "--format", "jsonl", "--vocab-size", "8000", "--quiet", "-o", corpus,
             os.path.join(a.work, "train.jsonl")])
    if not os.path.exists(os.path.join(run_dir, "checkpoints", "latest")):
        _, secs = run([f"{a.build}/vae-dist", "--corpus", corpus, "--out", run_dir, "--max-steps", str(a.steps),
                       "--epochs", "100000", "--batch-size", "256", "--lr", "0.002", "--latent", "32",
                       "--eval-every", "0", "--quiet", "--threads", "1", "--seed", str(a.seed)])
        print(f"vae-dist: {a.steps} steps in {secs:.0f} s", file=sys.stderr)
    ckpt = os.path.join(run_dir, "checkpoints", open(os.path.join(run_dir, "checkpoints", "latest")).read().strip())

    cases = candidates(a.build, ckpt, test, a.test_docs)
    print(f"test documents: {len(cases)} of 3 to 40 candidate sentences", file=sys.stderr)
    picked, secs = summarize(a.build, ckpt, ["\n".join(p[2]) for p, _ in cases], a.k)
    stop = stopwords()
    df = Counter(w for _, _, paras in train for w in set(words(" ".join(paras), stop)))
    idf = {w: math.log(len(train) / c) for w, c in df.items()}
    methods = {
        "vae-infer --sentences": lambda i, sents: [],
        "Lead-K": lambda i, sents: list(range(min(a.k, len(sents)))),
        "tf-idf centroid": lambda i, sents: centroid(sents, a.k, idf),
        "TextRank": lambda i, sents: textrank(sents, a.k),
        "SumBasic": lambda i, sents: sumbasic(sents, a.k),
    }
    totals = {m: Counter() for m in methods}
    examples = []
    for i, ((name, ref, _), cands) in enumerate(cases):
        sents = [words(s, stop) for s in cands]
        by_text = {s["text"]: s for s in picked[i]}
        for m, choose in methods.items():
            text = " ".join(s["text"] for s in picked[i]) if m.startswith("vae") else \
                " ".join(cands[j] for j in choose(i, sents))
            totals[m].update(rouge.scores(text, ref))
            if i < a.examples:
                examples.append((name, ref, m, text))
        assert all(t in cands for t in by_text)
    n = len(cases)
    print(f"\nK = {a.k}, {n} test pages of {a.man}; vae-infer: {secs:.1f} s for them\n")
    print("| method | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 |\n| --- | --- | --- | --- |")
    for m in methods:
        t = totals[m]
        print(f"| {m} | {t['rouge1'] / n:.4f} | {t['rouge2'] / n:.4f} | {t['rougeL'] / n:.4f} |")
    for name, ref, m, text in examples:
        if m.startswith("vae"):
            print(f"\n{name}: NAME says \"{ref}\"")
        print(f"  {m}: {text}")


if __name__ == "__main__":
    main()
