#!/usr/bin/env bash
# bench/rouge.py, the ROUGE of bench/manpages.py, on cases worked out by hand: clipped n-gram
# counts, the longest common subsequence (order matters for it, not for ROUGE-1), case and
# punctuation ignored, empty texts.
source "${VAE_TESTS:?}/harness/lib.sh" rouge
$py - "$tests/../bench" <<'PY' || fail "ROUGE differs from the hand-worked figures"
import sys
sys.path.insert(0, sys.argv[1])
from rouge import scores
def check(cand, ref, r1, r2, rl):
    got = scores(cand, ref)
    want = {"rouge1": r1, "rouge2": r2, "rougeL": rl}
    assert all(abs(got[k] - want[k]) < 1e-12 for k in want), (cand, ref, got, want)
# 5 of 6 unigrams (the twice), 3 of 5 bigrams (the cat, on the, the mat), LCS 5 of 6.
check("the cat sat on the mat", "the cat is on the mat", 5 / 6, 3 / 5, 5 / 6)
# Clipped: "the" matches once; P = 1/3, R = 1/2, F1 = 0.4; no bigram in common; LCS 1.
check("the the the", "the cat", 0.4, 0.0, 0.4)
# All unigrams in reversed order: ROUGE-1 is 1, no bigram, LCS 1 of 4 (F1 0.25).
check("mat the on cat", "cat on the mat", 1.0, 0.0, 0.25)
# Case and punctuation do not count; digits are tokens.
check("Print, or CHECK! BLAKE2", "print or check blake2", 1.0, 1.0, 1.0)
check("", "list directory contents", 0.0, 0.0, 0.0)
check("list files", "", 0.0, 0.0, 0.0)
PY
ok "ROUGE-1, -2 and -L F1 on hand-worked cases"
