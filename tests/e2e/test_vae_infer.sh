#!/usr/bin/env bash
# vae-infer end to end on a planted-topics corpus (vae-synth) and a small text corpus (vae-prep):
# eval against the trainer's own final eval line and across rank counts, topics against the
# planted topics, summarize keywords from their document and its dominant topic, --text tokenized
# with the checkpoint's tokenizer settings, generate reproducible by seed, encode's shapes and active
# units against eval, a checkpoint of another vocabulary refused, and exit statuses.
source "${VAE_TESTS:?}/harness/lib.sh" infer
infer="$bin/vae-infer"

train=(--batch-size 64 --lr 0.01 --eval-every 0 --quiet --threads 1 --epochs 1000)
"$bin/vae-synth" -o "$work/x.h5" --docs 1500 --vocab 300 --topics 6 --seed 1 --quiet
"$bin/vae-dist" --corpus "$work/x.h5" --out "$work/run" --max-steps 300 "${train[@]}"
ckpt=$(latest "$work/run")

# eval on valid equals the trainer's final eval line (both S = 1, the fixed evaluation seed).
"$infer" eval --checkpoint "$ckpt" --corpus "$work/x.h5" --split valid >"$work/eval1.json"
grep '"kind": "eval"' "$work/run/summary.jsonl" | tail -1 >"$work/trainer_eval.json"
compare() { # compare A.json B.json REL: every figure of A equal in B within REL (counts exactly)
  $py - "$@" <<'EOF'
import json, sys
a, b, rel = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
for k in ["docs", "empty_docs", "active_units"]:
    assert a[k] == b[k], (k, a[k], b[k])
for k in ["recon", "kl", "elbo", "recon_mean", "ppl_doc", "ppl_corpus"]:
    assert abs(a[k] - b[k]) <= rel * abs(b[k]), (k, a[k], b[k])
EOF
}
compare "$work/eval1.json" "$work/trainer_eval.json" 1e-4 || fail "eval differs from the trainer's eval line"
$py -c "
import json, sys
e = json.load(open('$work/eval1.json'))
want = ['split', 'docs', 'empty_docs', 'tokens', 'recon', 'kl', 'elbo', 'recon_mean', 'ppl_doc', 'ppl_corpus', 'active_units']
sys.exit(not (all(k in e for k in want) and e['split'] == 'valid' and e['docs'] == 150))
" || fail "eval lacks a figure: $(cat "$work/eval1.json")"
ok "eval on valid matches the trainer's final eval line"

mpi 2 "$infer" eval --checkpoint "$ckpt" --corpus "$work/x.h5" --split valid >"$work/eval2.json"
[ "$(wc -l <"$work/eval2.json")" = 1 ] || fail "eval under mpirun printed $(wc -l <"$work/eval2.json") lines"
compare "$work/eval2.json" "$work/eval1.json" 1e-6 || fail "eval on 2 ranks differs from 1 rank"
mpi 3 "$infer" eval --checkpoint "$ckpt" --corpus "$work/x.h5" --split test --samples 4 >"$work/eval3.json"
"$infer" eval --checkpoint "$ckpt" --corpus "$work/x.h5" --split test --samples 4 >"$work/eval3b.json"
compare "$work/eval3.json" "$work/eval3b.json" 1e-6 || fail "eval --samples 4 on 3 ranks differs from 1 rank"
ok "eval under mpirun -np 2 and 3 equals eval on one rank"

# topics: each planted topic's top 10 words overlap some unit's top 10 far above chance (0.33).
"$infer" topics --checkpoint "$ckpt" --top 10 --json >"$work/topics.jsonl"
"$infer" topics --checkpoint "$ckpt" --top 10 --corpus "$work/x.h5" >"$work/topics.txt"
$py - "$work/x.h5" "$work/topics.jsonl" "$work/topics.txt" "$ckpt" <<'EOF' || fail "topics do not recover the planted topics"
import h5py, json, re, sys
import numpy as np
f = h5py.File(sys.argv[1], "r")
planted = f["synthetic/topics"][:]
words = [w.decode() for w in f["vocab/words"][:]]
units = [json.loads(line) for line in open(sys.argv[2])]
assert len(units) == 32 and [u["topic"] for u in units] == list(range(32))
# The same ranking recomputed with numpy from the checkpoint file's [out, in] decoder weights
# (SPEC's rise of p(w | z) from z = -2 e_u to +2 e_u): the file's layout is the SPEC's, whatever
# the trainer holds in memory. The leading 3 words, clear of float near-ties.
ck = h5py.File(sys.argv[4], "r")["params"]
lin = lambda h, n: h @ ck[n + ".weight"][:].astype(np.float64).T + ck[n + ".bias"][:]
def p_w(z):
    h = np.maximum(lin(np.maximum(lin(z, "dec.0"), 0), "dec.1"), 0)
    logits = lin(h, "dec.out")
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
rise = p_w(2 * np.eye(32)) - p_w(-2 * np.eye(32))
for u in range(32):
    want = [words[i] for i in np.argsort(-rise[u], kind="stable")[:3]]
    assert units[u]["words"][:3] == want, (u, units[u]["words"][:3], want)
unit_sets = [set(u["words"]) for u in units]
for k, row in enumerate(planted):
    top = {words[i] for i in np.argsort(-row)[:10]}
    best = max(len(top & u) for u in unit_sets)
    assert best >= 3, (k, best)
lines = open(sys.argv[3]).read().splitlines()
assert len(lines) == 33 and re.fullmatch(r"diversity=[0-9.]+", lines[-1]), lines[-1]
for u, line in enumerate(lines[:-1]):
    m = re.fullmatch(r"topic (\d+): ((?:\S+ ){10})npmi=(-?[0-9.]+)", line)
    assert m and int(m.group(1)) == u and m.group(2).split() == units[u]["words"], line
    assert -1 <= float(m.group(3)) <= 1
diversity = float(lines[-1].split("=")[1])
assert 0 < diversity <= 1
EOF
ok "topics recover the planted topics and match numpy's decoder from the file; npmi and diversity in range"

# summarize: keywords come from their document and mostly from its dominant planted topic's block.
"$infer" summarize --checkpoint "$ckpt" --corpus "$work/x.h5" --split test --top 5 --json >"$work/sum.jsonl"
"$infer" summarize --checkpoint "$ckpt" --corpus "$work/x.h5" --split test --top 5 >"$work/sum.txt"
$py - "$work/x.h5" "$work/sum.jsonl" "$work/sum.txt" <<'EOF' || fail "summarize keywords"
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
V, K = int(f.attrs["vocab_size"]), f["synthetic/topics"].shape[0]
theta = f["synthetic/test/theta"][:]
indptr, indices = f["test/indptr"][:], f["test/indices"][:]
words = [w.decode() for w in f["vocab/words"][:]]
wid = {w: i for i, w in enumerate(words)}
lines = [json.loads(line) for line in open(sys.argv[2])]
plain = open(sys.argv[3]).read().splitlines()
assert len(lines) == len(plain) == len(theta) == 150
in_doc = in_topic = total = doc_in_topic = doc_total = 0
for r, (o, p) in enumerate(zip(lines, plain)):
    assert o["doc"] == r and p.split() == o["keywords"] and len(o["keywords"]) == 5
    doc = set(indices[indptr[r]:indptr[r + 1]])
    kw = [wid[w] for w in o["keywords"]]
    block = lambda w: w * K // V == theta[r].argmax()
    in_doc += sum(w in doc for w in kw)
    in_topic += sum(block(w) for w in kw)
    total += len(kw)
    doc_in_topic += sum(block(w) for w in doc)
    doc_total += len(doc)
chance = doc_total / len(lines) / V
assert in_doc == total, "a keyword is not in its document (chance %.2f)" % chance
assert in_topic / total > 0.6 and in_topic / total > doc_in_topic / doc_total + 0.1, \
    (in_topic / total, doc_in_topic / doc_total)
EOF
ok "summarize keywords come from the document and its dominant topic"

# generate: reproducible by seed, another seed differs, only vocabulary words, N lines of L words.
"$infer" generate --checkpoint "$ckpt" --num 20 --length 30 --seed 7 >"$work/gen7a.txt"
"$infer" generate --checkpoint "$ckpt" --num 20 --length 30 --seed 7 >"$work/gen7b.txt"
"$infer" generate --checkpoint "$ckpt" --num 20 --length 30 --seed 8 >"$work/gen8.txt"
"$infer" generate --checkpoint "$ckpt" --num 20 --length 30 --seed 7 --temperature 0.5 --json >"$work/gen7t.jsonl"
cmp -s "$work/gen7a.txt" "$work/gen7b.txt" || fail "generate is not reproducible by seed"
cmp -s "$work/gen7a.txt" "$work/gen8.txt" && fail "generate gives the same documents for seeds 7 and 8"
$py - "$work/x.h5" "$work/gen7a.txt" "$work/gen8.txt" "$work/gen7t.jsonl" <<'EOF' || fail "generated words"
import h5py, json, sys
vocab = {w.decode() for w in h5py.File(sys.argv[1], "r")["vocab/words"][:]}
for path in sys.argv[2:4]:
    lines = open(path).read().splitlines()
    assert len(lines) == 20 and all(len(l.split()) == 30 and set(l.split()) <= vocab for l in lines)
docs = [json.loads(l) for l in open(sys.argv[4])]
assert [d["doc"] for d in docs] == list(range(20)) and all(len(d["words"]) == 30 and set(d["words"]) <= vocab for d in docs)
EOF
ok "generate: reproducible by seed, vocabulary words only"

# encode: shapes, doc_ids, the same rows on 2 ranks, and eval's active units from mu.
"$infer" encode --checkpoint "$ckpt" --corpus "$work/x.h5" --split valid -o "$work/enc1.h5"
mpi 2 "$infer" encode --checkpoint "$ckpt" --corpus "$work/x.h5" --split valid -o "$work/enc2.h5"
ls "$work" | grep -q '\.tmp\.' && fail "encode left a temporary file"
$py - "$work/x.h5" "$work/enc1.h5" "$work/enc2.h5" "$work/eval1.json" "$ckpt" <<'EOF' || fail "encode output"
import h5py, json, sys
import numpy as np
corpus = h5py.File(sys.argv[1], "r")
# The encoder recomputed with numpy from the checkpoint file's [out, in] weights (SPEC's model:
# log1p input, ReLU, 128,64 hidden) matches encode's mu and logvar: the file's layout is the SPEC's,
# whatever the trainer's in-memory layout.
ck, v = h5py.File(sys.argv[5], "r")["params"], corpus["valid"]
V = ck["enc.0.weight"].shape[1]
x = np.zeros((v["indptr"].shape[0] - 1, V))
ip, ix, ct = v["indptr"][:], v["indices"][:], v["counts"][:]
for d in range(x.shape[0]):
    x[d, ix[ip[d]:ip[d + 1]]] = ct[ip[d]:ip[d + 1]]
lin = lambda h, n: h @ ck[n + ".weight"][:].astype(np.float64).T + ck[n + ".bias"][:]
h = np.maximum(lin(np.log1p(x), "enc.0"), 0)
h = np.maximum(lin(h, "enc.1"), 0)
enc = h5py.File(sys.argv[2], "r")
assert np.allclose(enc["mu"][:], lin(h, "enc.mu"), rtol=1e-4, atol=1e-4)
assert np.allclose(enc["logvar"][:], lin(h, "enc.logvar"), rtol=1e-4, atol=1e-4)
a, b = h5py.File(sys.argv[2], "r"), h5py.File(sys.argv[3], "r")
for f in (a, b):
    assert f["mu"].shape == f["logvar"].shape == (150, 32) and f["mu"].dtype == np.float32
    assert list(f["doc_ids"][:]) == list(corpus["valid/doc_ids"][:])
assert np.allclose(a["mu"][:], b["mu"][:], rtol=1e-5, atol=1e-5)
assert np.allclose(a["logvar"][:], b["logvar"][:], rtol=1e-5, atol=1e-5)
mu = a["mu"][:].astype(np.float64)
active = int((mu.var(axis=0) > 0.01).sum())
assert active == json.load(open(sys.argv[4]))["active_units"], active
EOF
ok "encode: [D, latent] float32 with doc_ids, same on 2 ranks, numpy's encoder from the file, active units as eval"

# A checkpoint trained on another vocabulary is refused, naming the corpus.
"$bin/vae-synth" -o "$work/y.h5" --docs 300 --vocab 200 --topics 4 --seed 2 --quiet
"$bin/vae-dist" --corpus "$work/y.h5" --out "$work/runy" --max-steps 5 "${train[@]}"
expect_status 1 "$infer" eval --checkpoint "$(latest "$work/runy")" --corpus "$work/x.h5"
grep -q "x.h5" "$work/err" || fail "vocabulary refusal does not name the corpus: $(cat "$work/err")"
expect_status 1 "$infer" encode --checkpoint "$(latest "$work/runy")" --corpus "$work/x.h5" --split test -o "$work/no.h5"
[ ! -e "$work/no.h5" ] || fail "a refused encode left its output"
set +e; msg=$(mpi 2 "$infer" eval --checkpoint "$(latest "$work/runy")" --corpus "$work/x.h5" 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && [ "$(grep -c "vocabulary" <<<"$msg")" = 1 ] || fail "refusal under mpirun (rc $rc): $msg"
ok "a checkpoint of another vocabulary is refused, once, naming the corpus"

# summarize --text: tokenized with the settings the checkpoint records (here --keep-digits, so
# "aword07" is one token; ASCII folded), one output line per input line.
$py - "$work/text.txt" <<'EOF'
import random, sys
rng = random.Random(5)
with open(sys.argv[1], "w") as out:
    for _ in range(600):
        k = rng.randrange(3)
        words = ["%sword%02d" % ("abc"[k] if rng.random() < 0.9 else rng.choice("abc"), rng.randrange(30))
                 for _ in range(20)]
        out.write(" ".join(words) + "\n")
EOF
"$bin/vae-prep" --format lines --keep-digits --stopwords none --min-df 2 --max-df-frac 1 --quiet \
  -o "$work/t.h5" "$work/text.txt"
"$bin/vae-dist" --corpus "$work/t.h5" --out "$work/runt" --max-steps 60 "${train[@]}"
printf 'AWORD01 aword02, aword03 bword01 aword04\n\nnothing known here\naword05 aword05\n' >"$work/query.txt"
"$infer" summarize --checkpoint "$(latest "$work/runt")" --text "$work/query.txt" --top 3 >"$work/qsum.txt"
$py - "$work/qsum.txt" <<'EOF' || fail "summarize --text: $(cat "$work/qsum.txt")"
import sys
lines = open(sys.argv[1]).read().split("\n")
assert len(lines) == 5 and lines[4] == "", lines
first = lines[0].split()
assert len(first) == 3 and set(first) <= {"aword01", "aword02", "aword03", "bword01", "aword04"}, first
assert lines[1] == "" and lines[2] == "" and lines[3] == "aword05", lines
EOF
ok "summarize --text tokenizes with the checkpoint's settings, a line per line"

# Exit statuses.
expect_status 0 "$infer" --help
for cmd in eval topics generate summarize encode; do grep -q "^  $cmd " "$work/out" || fail "--help lacks $cmd"; done
expect_status 0 "$infer" topics --help
expect_status 0 "$infer" --version
grep -q "^vae-infer " "$work/out" || fail "--version"
expect_status 2 "$infer"
expect_status 2 "$infer" bogus --checkpoint "$ckpt"
grep -q "bogus" "$work/err" || fail "unknown command not named"
expect_status 2 "$infer" topics --checkpoint "$ckpt" --bogus
grep -q -- "--bogus" "$work/err" || fail "unknown option not named"
expect_status 2 "$infer" topics --checkpoint "$ckpt" --top zero
grep -q -- "--top" "$work/err" || fail "malformed --top not named"
expect_status 2 "$infer" generate --checkpoint "$ckpt" --temperature -1
expect_status 2 "$infer" eval --checkpoint "$ckpt"
grep -q -- "--corpus" "$work/err" || fail "missing --corpus not named"
expect_status 2 "$infer" eval --checkpoint "$ckpt" --corpus "$work/x.h5" --split dev
expect_status 2 "$infer" summarize --checkpoint "$ckpt" --corpus "$work/x.h5" --text "$work/query.txt"
expect_status 2 "$infer" encode --checkpoint "$ckpt" --corpus "$work/x.h5" --split test
expect_status 1 "$infer" topics --checkpoint "$work/missing.h5"
grep -q "missing.h5" "$work/err" || fail "missing checkpoint not named: $(cat "$work/err")"
expect_status 1 "$infer" eval --checkpoint "$ckpt" --corpus "$work/missing-corpus.h5"
grep -q "missing-corpus.h5" "$work/err" || fail "missing corpus not named"
expect_status 1 "$infer" summarize --checkpoint "$ckpt" --text "$work/missing.txt"
grep -q "missing.txt" "$work/err" || fail "missing --text file not named"
ok "exit statuses: 0 help/version, 2 usage, 1 failures naming the file"
