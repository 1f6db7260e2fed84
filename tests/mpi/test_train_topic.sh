#!/usr/bin/env bash
# The topic family (ProdLDA) under mpirun: its batch normalizations take the global batch's
# statistics, so 1, 2 and 3 ranks give the same parameters, running statistics and moments within
# 1e-4; resume is bitwise on the same ranks and within 1e-4 on another count; vae-infer reads the
# running statistics: topics ranked by relevance at theta = e_k (--json with the weights), encode with
# /theta = softmax(/mu), eval and summarize.
source "${VAE_TESTS:?}/harness/lib.sh" train-topic

"$bin/vae-synth" -o "$work/c.h5" --docs 1200 --vocab 400 --topics 8 --seed 3 >/dev/null
common=(--corpus "$work/c.h5" --model topic --latent 8 --batch-size 64 --eval-every 0 --log-every 10 --quiet
        --threads 1 --seed 11)

for n in 1 2 3; do
  mpi "$n" "$bin/vae-dist" "${common[@]}" --out "$work/r$n" --max-steps 30
done
for n in 2 3; do
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/r1")" "$(latest "$work/r$n")" 1e-4 optimizer ||
    fail "1 vs $n ranks"
done
$py - "$(latest "$work/r1")" <<'EOF' || fail "running statistics not kept"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["model"] == "topic", f.attrs["model"]
    names = sorted(f["state"].keys())
    assert names == sorted(f"{p}.running_{s}" for p in ("dec.bn", "enc.logvar_bn", "enc.mu_bn")
                           for s in ("mean", "var")), names
    assert f["state/dec.bn.running_var"].shape == (400,) and f["state/enc.mu_bn.running_mean"].shape == (8,)
    # 30 steps from mean 0, variance 1: they moved.
    assert np.abs(f["state/enc.mu_bn.running_mean"][()]).max() > 1e-3
    assert np.abs(f["state/dec.bn.running_var"][()] - 1).max() > 1e-3
EOF
ok "parameters, running statistics and moments agree across 1, 2, 3 ranks"

mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/straight" --max-steps 60
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/split" --max-steps 30
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/split" --max-steps 60 --resume auto
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/straight")" "$(latest "$work/split")" exact optimizer ||
  fail "resume not bitwise"
cp -r "$work/r2" "$work/other"
mpi 3 "$bin/vae-dist" "${common[@]}" --out "$work/other" --max-steps 60 --resume auto
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/straight")" "$(latest "$work/other")" 1e-4 ||
  fail "resume on 3 ranks"
ok "resume: bitwise on the same ranks, within 1e-4 on 3 ranks"

ck=$(latest "$work/straight")
expect_status 0 "$bin/vae-infer" topics --checkpoint "$ck" --top 5 --json
$py - "$ck" "$work/out" <<'EOF' || fail "topics are not ranked by their relevance"
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    w = f["params/dec.topics.weight"][()].astype(np.float64)
    shift = f["params/dec.bn.bias"][()].astype(np.float64)
    mean = f["state/dec.bn.running_mean"][()].astype(np.float64)
    var = f["state/dec.bn.running_var"][()].astype(np.float64)
    words = [x.decode() for x in f["vocab/words"][()]]
# The relevance 0.6 log p(v | k) + 0.4 log(p(v | k) / p(v)) at the running statistics, from the
# checkpoint's tensors alone: p(v | k) the decoder's at theta = e_k, p(v) = softmax(dec.bn.bias).
def log_softmax(y):
    top = y.max(axis=0)
    return y - top - np.log(np.exp(y - top).sum(axis=0))
logp = log_softmax((w - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) + shift[:, None])
logp = logp - 0.4 * log_softmax(shift)[:, None]
lines = [json.loads(l) for l in open(sys.argv[2])]
assert len(lines) == w.shape[1], len(lines)
for t in lines:
    col = logp[:, t["topic"]]
    want = sorted(range(len(col)), key=lambda v: (-col[v], v))[:5]
    assert t["words"] == [words[v] for v in want], (t, want)
    assert np.allclose(t["weights"], col[want], rtol=1e-4, atol=1e-4), (t["weights"], col[want])
EOF
expect_status 0 "$bin/vae-infer" topics --checkpoint "$ck" --top 10 --corpus "$work/c.h5"
grep -q "^diversity=" "$work/out" && [ "$(grep -c ' npmi=' "$work/out")" = 8 ] || fail "topics with npmi: $(cat "$work/out")"
ok "topics rank words by relevance (lambda 0.6) at the running statistics, with weights in --json, npmi and diversity"

mpi 2 "$bin/vae-infer" encode --checkpoint "$ck" --corpus "$work/c.h5" --split test -o "$work/e.h5" >/dev/null
$py - "$work/e.h5" <<'EOF' || fail "encode's /theta"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    mu, theta = f["mu"][()].astype(np.float64), f["theta"][()].astype(np.float64)
    assert mu.shape == theta.shape == f["logvar"].shape and mu.shape[1] == 8
    e = np.exp(mu - mu.max(axis=1, keepdims=True))
    assert np.allclose(theta, e / e.sum(axis=1, keepdims=True), atol=1e-6)
EOF
expect_status 0 "$bin/vae-infer" eval --checkpoint "$ck" --corpus "$work/c.h5" --split valid
$py -c 'import json,sys; f=json.load(open(sys.argv[1])); assert f["docs"] > 0 and f["ppl_doc"] > 1 and f["kl"] > 0, f' \
  "$work/out" || fail "eval: $(cat "$work/out")"
expect_status 0 "$bin/vae-infer" summarize --checkpoint "$ck" --corpus "$work/c.h5" --split test --top 3
[ "$(wc -l <"$work/out")" -gt 0 ] || fail "summarize printed nothing"
ok "encode writes /theta = softmax(/mu); eval and summarize --top read the running statistics"
# --adam-beta1 (ProdLDA trains with 0.99): recorded in config.json, and the second update differs
# from the default's (the first, bias-corrected, does not depend on it); 1 is out of range.
mpi 1 "$bin/vae-dist" "${common[@]}" --out "$work/b1_default" --max-steps 2
mpi 1 "$bin/vae-dist" "${common[@]}" --out "$work/b1" --max-steps 2 --adam-beta1 0.99
$py -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["adam_beta1"] != 0.99)' "$work/b1/config.json" ||
  fail "config.json does not record --adam-beta1 0.99"
! $py "$tests/harness/ckpt_compare.py" "$(latest "$work/b1_default")" "$(latest "$work/b1")" 1e-7 >/dev/null ||
  fail "--adam-beta1 0.99 changed nothing"
expect_status 2 "$bin/vae-dist" "${common[@]}" --out "$work/b1_bad" --max-steps 1 --adam-beta1 1
grep -q -- "--adam-beta1" "$work/err" || fail "--adam-beta1 1: $(cat "$work/err")"
ok "--adam-beta1 is recorded and used; 1 is refused"
echo "$pass checks passed"
