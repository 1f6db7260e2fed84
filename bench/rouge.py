"""ROUGE-1, ROUGE-2 and ROUGE-L F1 (Lin 2004) for bench/manpages.py, small enough to check by hand
(tests/e2e/test_rouge.sh does). Tokens are the lower-cased runs of ASCII letters and digits, as in
Google's rouge-score without stemming; n-gram matches are clipped counts; ROUGE-L is the longest
common subsequence. An empty candidate or reference scores 0."""
import re
from collections import Counter

TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text):
    return TOKEN.findall(text.lower())


def f1(matches, n_cand, n_ref):
    if matches == 0 or n_cand == 0 or n_ref == 0:
        return 0.0
    p, r = matches / n_cand, matches / n_ref
    return 2 * p * r / (p + r)


def ngrams(toks, n):
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def rouge_n(cand, ref, n):
    c, r = ngrams(cand, n), ngrams(ref, n)
    return f1(sum((c & r).values()), sum(c.values()), sum(r.values()))


def lcs(a, b):
    """Length of the longest common subsequence, one row at a time."""
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b):
            row.append(prev[j] + 1 if x == y else max(prev[j + 1], row[j]))
        prev = row
    return prev[-1]


def rouge_l(cand, ref):
    return f1(lcs(cand, ref), len(cand), len(ref))


def scores(candidate, reference):
    """{"rouge1", "rouge2", "rougeL"} F1 of two texts."""
    c, r = tokens(candidate), tokens(reference)
    return {"rouge1": rouge_n(c, r, 1), "rouge2": rouge_n(c, r, 2), "rougeL": rouge_l(c, r)}
