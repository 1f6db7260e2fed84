#!/usr/bin/env bash
# The sentence family under mpirun: the global batch of sequences split by tokens, so 1, 2, 3 and 4
# ranks give the same parameters and moments within 1e-4 (with word dropout, free bits and the
# cyclical KL schedule too, and with a global batch smaller than the ranks, where a rank gets no
# sequence); resume is bitwise on the same ranks and within 1e-4 on another count; train lines carry
# seqs_per_s and tokens_per_s and eval lines the sentence figures; a corpus without sequences is
# refused naming the file and what to do.
source "${VAE_TESTS:?}/harness/lib.sh" train-sentence

"$bin/vae-synth" -o "$work/c.h5" --docs 240 --vocab 150 --topics 6 --sequences 3 --seq-length 6 --seed 4 \
  --quiet
common=(--corpus "$work/c.h5" --model sentence --embedding 16 --hidden 24 --latent 4 --batch-size 16
        --eval-every 0 --log-every 5 --quiet --threads 1 --seed 11)

for n in 1 2 3 4; do
  mpi "$n" "$bin/vae-dist" "${common[@]}" --out "$work/r$n" --max-steps 25
done
for n in 2 3 4; do
  $py "$tests/harness/ckpt_compare.py" "$(latest "$work/r1")" "$(latest "$work/r$n")" 1e-4 optimizer ||
    fail "1 vs $n ranks"
done
ok "parameters and moments agree across 1, 2, 3, 4 ranks"

reg=(--word-dropout 0.3 --free-bits 0.25 --kl-cycles 2)
mpi 1 "$bin/vae-dist" "${common[@]}" "${reg[@]}" --out "$work/g1" --max-steps 20
mpi 3 "$bin/vae-dist" "${common[@]}" "${reg[@]}" --out "$work/g3" --max-steps 20
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/g1")" "$(latest "$work/g3")" 1e-4 optimizer ||
  fail "word dropout, free bits and KL cycles: 1 vs 3 ranks"
ok "with word dropout, free bits and cyclical KL: 1 and 3 ranks agree"

mpi 1 "$bin/vae-dist" "${common[@]}" --batch-size 2 --out "$work/s1" --max-steps 12
mpi 3 "$bin/vae-dist" "${common[@]}" --batch-size 2 --out "$work/s3" --max-steps 12
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/s1")" "$(latest "$work/s3")" 1e-4 optimizer ||
  fail "a global batch of 2 on 3 ranks"
ok "a global batch of 2 sequences on 3 ranks (one rank gets none each step) trains as on 1"

mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/straight" --max-steps 40 --eval-every 20
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/split" --max-steps 20 --eval-every 20
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/split" --max-steps 40 --eval-every 20 --resume auto
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/straight")" "$(latest "$work/split")" exact optimizer ||
  fail "resume not bitwise"
cp -r "$work/r2" "$work/other"
mpi 3 "$bin/vae-dist" "${common[@]}" --out "$work/other" --max-steps 40 --resume auto
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/straight")" "$(latest "$work/other")" 1e-4 ||
  fail "resume on 3 ranks"
ok "resume: bitwise on the same ranks, within 1e-4 on 3 ranks"

$py - "$work/straight/summary.jsonl" <<'EOF2' || fail "summary lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
train = [l for l in lines if l.get("kind") == "train"]
evals = [l for l in lines if l.get("kind") == "eval"]
assert train and all(l["seqs_per_s"] > 0 and l["tokens_per_s"] > l["seqs_per_s"] for l in train), train[-1]
assert len(evals) == 2, evals
for e in evals:
    for k in ("nll", "ppl", "recon", "recon_mean", "kl", "active_units", "sequences", "tokens"):
        assert k in e, (k, e)
    assert e["ppl"] > 1 and e["tokens"] > e["sequences"] > 0, e
EOF2
ok "train lines carry seqs_per_s and tokens_per_s; eval lines the sentence figures"

"$bin/vae-synth" -o "$work/bags.h5" --docs 100 --vocab 50 --quiet
expect_status 1 mpi 2 "$bin/vae-dist" --corpus "$work/bags.h5" --model sentence --out "$work/bags" --quiet
grep -q "bags.h5: the sentence model trains on sequences" "$work/err" &&
  grep -q "vae-prep --sequences" "$work/err" || fail "message: $(cat "$work/err")"
[ "$(grep -c "sentence model trains on sequences" "$work/err")" = 1 ] || fail "more than one message"
ok "a corpus without sequences: exit 1, one message naming the file and vae-prep --sequences"
echo "$pass checks passed"
