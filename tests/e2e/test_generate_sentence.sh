#!/usr/bin/env bash
# vae-infer on a sentence model end to end: a corpus of short sentences of a small grammar
# (vae-prep --sequences line), a model trained by vae-dist --model sentence, then generate (sampled,
# greedy, beam; reproducible by seed, different across seeds, --max-length, --json), reconstruct
# (training sentences given back, an empty line for a line without a token, <unk>), interpolate
# (its ends are the reconstructions of --from and --to), eval --iw-samples (the IW estimate below
# the bound, the same on 2 ranks), encode (a row a sequence), and the usage errors of flags that
# the checkpoint's family does not take.
source "${VAE_TESTS:?}/harness/lib.sh" gensent
infer="$bin/vae-infer"

$py - "$work/s.txt" <<'EOF'
import random, sys
r = random.Random(1)
subj = ["the cat", "a dog", "the bird", "my friend", "the teacher", "a child"]
verb = ["sees", "likes", "finds", "follows", "hears", "wants"]
obj = ["the ball", "a tree", "the river", "some bread", "the house", "a song"]
adv = ["today", "at night", "again", "slowly", "in the morning", ""]
with open(sys.argv[1], "w") as f:
    for _ in range(600):
        f.write(f"{r.choice(subj)} {r.choice(verb)} {r.choice(obj)} {r.choice(adv)}".strip() + "\n")
EOF
"$bin/vae-prep" --format lines --sequences line --valid-frac 0.1 --test-frac 0.1 --quiet -o "$work/s.h5" "$work/s.txt"
"$bin/vae-dist" --model sentence --corpus "$work/s.h5" --out "$work/run" --embedding 32 --hidden 64 --latent 8 \
  --max-steps 600 --batch-size 32 --lr 0.005 --beta 0.2 --word-dropout 0.3 --threads 1 --eval-every 0 --quiet
ck=$work/run
words=$($py -c "
import h5py, sys
print(' '.join(w.decode() for w in h5py.File(sys.argv[1], 'r')['vocab/words'][:]))" "$work/s.h5")

# ---- generate
"$infer" generate --checkpoint "$ck" --num 12 --seed 3 >"$work/g1"
"$infer" generate --checkpoint "$ck" --num 12 --seed 3 >"$work/g2"
"$infer" generate --checkpoint "$ck" --num 12 --seed 4 >"$work/g3"
[ "$(wc -l <"$work/g1")" = 12 ] || fail "generate --num 12 gave $(wc -l <"$work/g1") lines"
cmp -s "$work/g1" "$work/g2" || fail "generate is not reproducible for a seed"
! cmp -s "$work/g1" "$work/g3" || fail "generate gives the same sentences for seeds 3 and 4"
for w in $(cat "$work/g1" "$work/g3"); do
  case " $words <unk> " in *" $w "*) ;; *) fail "generate wrote '$w', not a word of the vocabulary" ;; esac
done
ok "generate: 12 sentences of the vocabulary, the same for a seed, others for another"

"$infer" generate --checkpoint "$ck" --num 12 --seed 3 --greedy >"$work/greedy"
"$infer" generate --checkpoint "$ck" --num 12 --seed 3 --beam 1 >"$work/beam1"
"$infer" generate --checkpoint "$ck" --num 12 --seed 3 --beam 4 --json >"$work/beam4.json"
cmp -s "$work/greedy" "$work/beam1" || fail "generate --beam 1 differs from --greedy"
$py - "$work/beam4.json" "$work/greedy" <<'EOF' || fail "generate --beam 4 --json is not one object a sentence"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["sentence"] for r in rows] == list(range(12)), rows
assert all(isinstance(r["words"], list) and r["words"] for r in rows), rows
assert len(open(sys.argv[2]).read().splitlines()) == 12
EOF
"$infer" generate --checkpoint "$ck" --num 20 --seed 5 --max-length 2 --temperature 3 >"$work/short"
awk 'NF > 2 { exit 1 }' "$work/short" || fail "generate --max-length 2 wrote a longer sentence"
ok "generate: --beam 1 is --greedy, --beam 4 --json, --max-length"

# ---- reconstruct: most training sentences come back; a line without a token gives an empty line
head -20 "$work/s.txt" >"$work/in.txt"
printf '\n... !!\nthe zebra sees the ball\n' >>"$work/in.txt"
"$infer" reconstruct --checkpoint "$ck" --text "$work/in.txt" >"$work/rec"
[ "$(wc -l <"$work/rec")" = 23 ] || fail "reconstruct gave $(wc -l <"$work/rec") lines for 23"
same=$(head -20 "$work/in.txt" | paste -d'|' - <(head -20 "$work/rec") | awk -F'|' '$1 == $2' | wc -l)
[ "$same" -ge 12 ] || fail "reconstruct gave back $same of 20 training sentences"
[ -z "$(sed -n 21p "$work/rec")" ] && [ -z "$(sed -n 22p "$work/rec")" ] ||
  fail "a line without a token did not give an empty line"
[ -n "$(sed -n 23p "$work/rec")" ] || fail "a line with an unknown word gave nothing"
"$infer" reconstruct --checkpoint "$ck" --text - --beam 3 <"$work/in.txt" >"$work/rec3"
[ "$(wc -l <"$work/rec3")" = 23 ] || fail "reconstruct --beam 3 from standard input gave $(wc -l <"$work/rec3") lines"
"$infer" reconstruct --checkpoint "$ck" --text "$work/in.txt" --json >"$work/rec.json"
$py - "$work/rec.json" "$work/rec" <<'EOF' || fail "reconstruct --json differs from its lines"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
lines = open(sys.argv[2]).read().splitlines()
assert [r["sentence"] for r in rows] == list(range(23)), rows
assert [" ".join(r["words"]) for r in rows] == lines and rows[20]["words"] == [], rows[20]
EOF
ok "reconstruct: $same of 20 training sentences given back, one line a line (--json alike)"

# ---- interpolate: z_0 = mu_A, z_1 = mu_B exactly, so its ends are reconstruct's
a=$(sed -n 1p "$work/s.txt") b=$(sed -n 2p "$work/s.txt")
"$infer" interpolate --checkpoint "$ck" --from "$a" --to "$b" --steps 4 >"$work/interp"
[ "$(wc -l <"$work/interp")" = 5 ] || fail "interpolate --steps 4 gave $(wc -l <"$work/interp") lines"
[ "$(sed -n 1p "$work/interp")" = "$(sed -n 1p "$work/rec")" ] &&
  [ "$(sed -n 5p "$work/interp")" = "$(sed -n 2p "$work/rec")" ] || fail "interpolate's ends are not reconstruct's"
expect_status 1 "$infer" interpolate --checkpoint "$ck" --from "..." --to "$b"
grep -q -- "--from" "$work/err" || fail "an empty --from is not named: $(cat "$work/err")"
ok "interpolate: 5 lines from the reconstruction of --from to that of --to"

# ---- eval --iw-samples, encode
"$infer" eval --checkpoint "$ck" --corpus "$work/s.h5" --split valid --samples 16 --iw-samples 16 >"$work/e1.json"
mpi 2 "$infer" eval --checkpoint "$ck" --corpus "$work/s.h5" --split valid --samples 16 --iw-samples 16 >"$work/e2.json"
$py - "$work/e1.json" "$work/e2.json" <<'EOF' || fail "eval --iw-samples: $(cat "$work/e1.json")"
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["iw_samples"] == 16 and a["sequences"] == 53, a
assert a["nll_iw"] <= a["nll"] * 1.01, (a["nll_iw"], a["nll"])
assert abs(a["ppl_iw"] - math.exp(a["nll_iw"] * a["sequences"] / a["tokens"])) <= 1e-6 * a["ppl_iw"], a
for k in ("nll", "ppl", "nll_iw", "ppl_iw", "recon_mean"):
    assert abs(a[k] - b[k]) <= 1e-6 * abs(a[k]), (k, a[k], b[k])
EOF
"$infer" encode --checkpoint "$ck" --corpus "$work/s.h5" --split valid -o "$work/enc.h5"
$py -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
assert f['mu'].shape == (53, 8) and f['logvar'].shape == (53, 8), f['mu'].shape" "$work/enc.h5" ||
  fail "encode of sequences is not a row a sequence"
mpi 2 "$infer" encode --checkpoint "$ck" --corpus "$work/s.h5" --split valid -o "$work/enc2.h5"
$py -c "
import h5py, sys
import numpy as np
a, b = (h5py.File(p, 'r') for p in sys.argv[1:3])
# the ranks' batches differ, and so does the GEMMs' rounding
for k in ('mu', 'logvar'):
    assert np.allclose(a[k][:], b[k][:], rtol=1e-5, atol=1e-5), k" \
  "$work/enc.h5" "$work/enc2.h5" || fail "encode of sequences on 2 ranks differs from 1 rank"
ok "eval --iw-samples: nll_iw below nll, the same on 2 ranks; encode: a row a sequence, the same on 2 ranks"

# ---- usage errors: flags the family does not take
"$bin/vae-synth" -o "$work/x.h5" --docs 200 --vocab 50 --topics 3 --seed 1 --quiet
"$bin/vae-dist" --corpus "$work/x.h5" --out "$work/bow" --max-steps 3 --threads 1 --eval-every 0 --quiet
# each case: the word the message must hold (the flag, or "sentences" for a command), then the arguments
while read -r named args; do
  expect_status 2 "$infer" $args --checkpoint "$work/bow"
  grep -q "bow" "$work/err" && grep -q -- "$named" "$work/err" ||
    fail "vae-infer $args on a bow checkpoint: $(cat "$work/err")"
done <<CASES
--beam generate --beam 3
--greedy generate --greedy
--max-length generate --max-length 5
sentences reconstruct --text $work/in.txt
sentences interpolate --from a --to b
--iw-samples eval --corpus $work/x.h5 --iw-samples 4
CASES
expect_status 2 "$infer" generate --checkpoint "$ck" --length 5
grep -q -- "--length" "$work/err" || fail "generate --length on a sentence model: $(cat "$work/err")"
expect_status 2 "$infer" generate --checkpoint "$ck" --greedy --beam 2
expect_status 2 "$infer" generate --checkpoint "$ck" --beam 2 --temperature 0.5
expect_status 2 "$infer" generate --checkpoint "$ck" --beam 0
expect_status 2 "$infer" reconstruct --checkpoint "$ck"
ok "usage errors (exit 2) name the flag the checkpoint's family does not take"
echo "$pass checks passed"
