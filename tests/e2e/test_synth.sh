#!/usr/bin/env bash
# vae-synth end to end: exit statuses (SPEC.md: --help 0, usage errors 2 naming the option, other
# failures 1, no file left behind), determinism (the same flags give the same bytes and data,
# another seed other data), and the file as h5py and scipy read it (tests/interop/interop_synth.py:
# CSR matrices, num_tokens, frequencies, oracle perplexity below unigram perplexity); with
# --sequences, a version 2 file whose sequences interop_synth.py checks against their bags and the
# Markov chain, which the bag-of-words trainer reads too.
source "${VAE_TESTS:?}/harness/lib.sh" synth
synth="$bin/vae-synth"
interop=("$py" "$tests/interop/interop_synth.py")
tmp=$work

expect_status 0 "$synth" --help
grep -q "usage: vae-synth" "$tmp/out" || fail "--help prints no usage"
expect_status 0 "$synth" --version
grep -q "vae-synth " "$tmp/out" || fail "--version prints no version"
expect_status 2 "$synth" --bogus -o "$tmp/x.h5"
grep -q -- "--bogus" "$tmp/err" || fail "unknown option not named: $(cat "$tmp/err")"
expect_status 2 "$synth" --docs -5 -o "$tmp/x.h5"
grep -q -- "--docs" "$tmp/err" || fail "bad --docs not named"
expect_status 2 "$synth" --alpha abc -o "$tmp/x.h5"
grep -q -- "--alpha" "$tmp/err" || fail "bad --alpha not named"
expect_status 2 "$synth" --docs 100
grep -q -- "-o" "$tmp/err" || fail "missing -o not named"
expect_status 2 "$synth" -o "$tmp/x.h5" --topics 50 --vocab 10
expect_status 2 "$synth" -o "$tmp/x.h5" --valid-frac 0.6 --test-frac 0.5
expect_status 2 "$synth" -o "$tmp/x.h5" extra-argument
expect_status 1 "$synth" -o "$tmp/no-such-folder/x.h5"
grep -q "$tmp/no-such-folder/x.h5" "$tmp/err" || fail "failure does not name the file"
[ -z "$(ls -A "$tmp" | grep -v -x -e out -e err)" ] || fail "files left behind: $(ls "$tmp")"

flags=(--docs 600 --vocab 400 --topics 8 --doc-length 60 --alpha 0.2 --seed 11)
"$synth" "${flags[@]}" -o "$tmp/a.h5" >"$tmp/a.json"
"$synth" "${flags[@]}" --out="$tmp/b.h5" --quiet >"$tmp/b.json"
[ ! -s "$tmp/b.json" ] || fail "--quiet printed $(cat "$tmp/b.json")"
cmp -s "$tmp/a.h5" "$tmp/b.h5" || fail "the same flags gave different files"
for d in /train/indices /train/counts /test/indptr /synthetic/topics /synthetic/valid/oracle_nll; do
  h5dump -d "$d" "$tmp/a.h5" | tail -n +2 >"$tmp/a.txt"
  h5dump -d "$d" "$tmp/b.h5" | tail -n +2 >"$tmp/b.txt"
  cmp -s "$tmp/a.txt" "$tmp/b.txt" || fail "$d differs between two runs with the same flags"
done
"$synth" "${flags[@]}" --seed 12 -o "$tmp/c.h5" --quiet
h5dump -d /train/indices "$tmp/c.h5" | tail -n +2 >"$tmp/c.txt"
h5dump -d /train/indices "$tmp/a.h5" | tail -n +2 >"$tmp/a.txt"
! cmp -s "$tmp/a.txt" "$tmp/c.txt" || fail "another seed gave the same documents"
/usr/bin/python3 - "$tmp/a.json" <<'EOF' || fail "the printed summary is not the expected JSON"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["synthetic"]["topics"] == 8 and s["train"]["docs"] == 480 and s["valid"]["docs"] == 60
assert all(s[k]["oracle_ppl"] < s[k]["unigram_ppl"] for k in ("train", "valid", "test"))
EOF

"${interop[@]}" "$tmp/a.h5" 8
"$synth" -o "$tmp/defaults.h5" --quiet
"${interop[@]}" "$tmp/defaults.h5" 10
# No valid split when asked for none; a test split kept (empty) when rounding leaves it no document.
"$synth" -o "$tmp/small.h5" --docs 4 --valid-frac 0 --test-frac 0.1 --vocab 50 --topics 2 --quiet
"${interop[@]}" "$tmp/small.h5" 2
/usr/bin/python3 - "$tmp/small.h5" <<'EOF' || fail "small.h5 has the wrong splits"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert "valid" not in f and list(f["test/indptr"][:]) == [0] and f["test"].attrs["num_docs"] == 0
EOF
# Sequences: N a document, the same bytes for the same flags, checked by interop_synth.py.
expect_status 2 "$synth" -o "$tmp/x.h5" --sequences 3 --doc-length 40
grep -q -- "--doc-length" "$tmp/err" || fail "--doc-length with --sequences not named"
expect_status 2 "$synth" -o "$tmp/x.h5" --seq-length 5
expect_status 2 "$synth" -o "$tmp/x.h5" --sequences 65
seqflags=(--docs 200 --vocab 300 --topics 6 --sequences 5 --seq-length 9 --seed 4)
"$synth" "${seqflags[@]}" -o "$tmp/s1.h5" >"$tmp/s1.json"
"$synth" "${seqflags[@]}" -o "$tmp/s2.h5" --quiet
cmp -s "$tmp/s1.h5" "$tmp/s2.h5" || fail "the same --sequences flags gave different files"
"${interop[@]}" "$tmp/s1.h5" 6 >"$tmp/s1.check"
grep -q "train: 800 sequences" "$tmp/s1.check" || fail "no train sequences checked: $(cat "$tmp/s1.check")"
/usr/bin/python3 - "$tmp/s1.json" "$tmp/s1.h5" <<'EOF' || fail "the sequences summary or attributes are wrong"
import json, sys, h5py
s = json.load(open(sys.argv[1]))
assert s["synthetic"]["sequences"] == 5 and s["train"]["seqs"] == 800 and s["test"]["seqs"] == 100
assert all(s[k]["seq_oracle_ppl"] < s[k]["unigram_ppl"] for k in ("train", "valid", "test"))
f = h5py.File(sys.argv[2], "r")
assert f.attrs["version"] == 2 and f["train/seq"].attrs["max_length"] == 36
EOF
# A version 2 file is still a bag-of-words corpus.
"$bin/vae-dist" --corpus "$tmp/s1.h5" --out "$tmp/run" --max-steps 2 --batch-size 16 --quiet ||
  fail "vae-dist does not train on a corpus with sequences"
echo "test_synth: ok"
