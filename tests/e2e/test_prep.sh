#!/usr/bin/env bash
# vae-prep end to end: tokens and vocabulary rules on a made-up folder, jsonl and files formats,
# split determinism (input order, file names, seed), --vocab-from, the settings attributes, and the
# failures (bad flags exit 2, bad inputs exit 1, never an output file left behind). Every corpus
# written is read back by tests/interop/interop_corpus.py (h5py + scipy.sparse).
source "${VAE_TESTS:?}/harness/lib.sh" prep
# This script counts its failures and reports them all at the end, rather than stopping at the first.
set +e
BIN=$bin
PREP=$BIN/vae-prep
PY=$py
INTEROP=$tests/interop/interop_corpus.py
T=$work
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run_prep OUT ARGS...: runs vae-prep -o OUT ARGS, leaving its status in $rc and stderr in $T/err.
run_prep() {
    local out=$1
    shift
    rc=0
    "$PREP" -o "$out" "$@" >"$T/stdout" 2>"$T/err" || rc=$?
}

# prep_ok NAME ARGS...: vae-prep must succeed writing $T/NAME.h5, whose summary goes to $T/NAME.json.
prep_ok() {
    local name=$1
    shift
    run_prep "$T/$name.h5" "$@"
    if [ "$rc" -ne 0 ]; then
        fail "$name: vae-prep exited $rc: $(cat "$T/err")"
        return 1
    fi
    if ! "$PY" "$INTEROP" "$T/$name.h5" >"$T/$name.json" 2>"$T/interop_err"; then
        fail "$name: interop check: $(cat "$T/interop_err")"
        return 1
    fi
}

# q NAME EXPR [ARG...]: a Python expression over the summary s of $T/NAME.json (ARGs in sys.argv[3:]).
q() {
    local name=$1
    shift
    "$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$T/$name.json" "$@"
}

expect_eq() { # ACTUAL EXPECTED WHAT
    [ "$1" = "$2" ] || fail "$3: got '${1:0:400}', expected '${2:0:400}'"
}

expect_true() { # NAME EXPR [ARG...]
    [ "$(q "$@")" = "True" ] || fail "$1: expected $2"
}

# bags NAME: the documents of each split as sorted "split<TAB>bag" lines (doc ids left out).
bags() {
    "$PY" "$INTEROP" --bags "$T/$1.h5" | cut -f1,3 | LC_ALL=C sort
}

[ -x "$PREP" ] || { echo "FAIL: $PREP is missing" >&2; exit 1; }
"$PY" -c 'import h5py, scipy' || { echo "FAIL: $PY cannot import h5py and scipy (install python3-h5py python3-scipy)" >&2; exit 1; }

# ---- a made-up folder: tokens and vocabulary rules --------------------------------------------
C=$T/corpus
mkdir -p "$C/sub"
printf 'Apple banana the cherry\napple APPLE date 2024 abc123def\nthe of and 2024 x\ncafé naïve apple\n\t \nbanana cherry\n' >"$C/a.txt"
printf 'good\x80word broken\xc3\n' >"$C/c.txt"
printf 'crlfword banana\r\nlast line\r\n' >"$C/sub/b.txt"
printf 'hiddenword banana\n' >"$C/sub/.hidden.txt"
ALL=(--min-df 1 --max-df-frac 1 --valid-frac 0 --test-frac 0)

if prep_ok basic "${ALL[@]}" "$C"; then
    # df descending (apple 3: lines 1, 2, 4; banana 3; cherry 2), then the df-1 words bytewise:
    # stopwords, digits, 1-letter tokens, the hidden file and the CR of CRLF leave no trace
    expect_eq "$(q basic '" ".join(s["words"])')" \
        "apple banana cherry abc broken café crlfword date def good last line naïve word" "basic: vocabulary"
    expect_eq "$(q basic 's["doc_freq"][0], s["term_freq"][0]')" "(3, 4)" "basic: apple's df and tf"
    # 8 documents: 5 non-blank lines of a.txt, c.txt, 2 of sub/b.txt; "the of and 2024 x" is empty
    expect_eq "$(q basic 's["attrs"]["docs_read"], s["attrs"]["docs_dropped_empty"], s["attrs"]["docs_kept"]')" \
        "(8, 1, 7)" "basic: document counts"
    ids=$(q basic '" ".join(i.replace(sys.argv[3], "C") for i in s["splits"]["train"]["doc_ids"])' "$C")
    expect_eq "$ids" "C/a.txt:1 C/a.txt:2 C/a.txt:4 C/a.txt:6 C/c.txt:1 C/sub/b.txt:1 C/sub/b.txt:2" \
        "basic: doc ids (folder entries in name order, line numbers counting blank lines)"
    expect_eq "$(q basic 'sorted(s["splits"])')" "['train']" "basic: splits with --valid-frac 0 --test-frac 0"
    expect_eq "$(q basic 's["attrs"]["tokenizer"], s["attrs"]["tokenizer_min_len"], s["attrs"]["tokenizer_max_len"], s["attrs"]["tokenizer_keep_digits"], s["attrs"]["stopwords"]')" \
        "('letters-v1', 2, 50, 0, 'en')" "basic: tokenizer attributes"
    expect_eq "$(q basic 's["attrs"]["vocab_min_df"], s["attrs"]["vocab_max_df_frac"], s["attrs"]["vocab_size_requested"], s["attrs"]["split_seed"], s["attrs"]["valid_frac"], s["attrs"]["test_frac"]')" \
        "(1, '1', 10000, 0, '0', '0')" "basic: vocabulary and split attributes"
fi

if prep_ok digits "${ALL[@]}" --keep-digits "$C"; then
    expect_true digits '"2024" in s["words"] and "abc123def" in s["words"] and "abc" not in s["words"]'
    expect_eq "$(q digits 's["attrs"]["docs_dropped_empty"], s["attrs"]["tokenizer_keep_digits"]')" "(0, 1)" "digits: counts"
fi

if prep_ok nostop "${ALL[@]}" --stopwords none --min-token-len 1 "$C"; then
    expect_true nostop '"the" in s["words"] and "x" in s["words"] and s["attrs"]["stopwords"] == "none"'
fi
printf 'Banana\n' >"$T/stop.txt"
if prep_ok filestop "${ALL[@]}" --stopwords "$T/stop.txt" "$C"; then
    expect_true filestop '"banana" not in s["words"] and "the" in s["words"]'
    expect_eq "$(q filestop 's["attrs"]["stopwords"]')" "$T/stop.txt" "filestop: stopwords attribute"
fi

if prep_ok shortmax "${ALL[@]}" --max-token-len 4 "$C"; then
    expect_true shortmax 'max(len(w) for w in s["words"]) == 4 and "café" in s["words"] and "apple" not in s["words"]'
fi

# 7 training documents hold a token (the empty line does not count): with --max-df-frac 0.4 the
# limit is 2.8, which removes apple and banana (df 3) and keeps cherry (df 2)
if prep_ok maxdf --min-df 1 --max-df-frac 0.4 --valid-frac 0 --test-frac 0 "$C"; then
    expect_true maxdf 's["words"][0] == "cherry" and "apple" not in s["words"] and "banana" not in s["words"]'
fi
if prep_ok mindf --min-df 2 --max-df-frac 1 --valid-frac 0 --test-frac 0 "$C"; then
    expect_eq "$(q mindf '" ".join(s["words"])')" "apple banana cherry" "mindf: vocabulary"
fi
# the cut at 4 falls among the df-1 words: the tie goes to the first by bytes
if prep_ok top4 "${ALL[@]}" --vocab-size 4 "$C"; then
    expect_eq "$(q top4 '" ".join(s["words"])')" "apple banana cherry abc" "top4: vocabulary"
fi

# ---- jsonl ---------------------------------------------------------------------------------
J=$T/json
mkdir -p "$J"
cat >"$J/a.jsonl" <<'EOF'
{"id": 1, "text": "caf\u00e9 na\u00efve \ud83d\ude00\ud83d\ude00 plain", "meta": {"tags": ["x", 2.5e3, true, null], "n": -0}}

{"text": "tab\tzone\nnewline \"quoted\" back\\slash \u00e9t\u00e9 lone\ud83dsurrogate", "text2": 5}
  {"title": "t", "text": "plain words extra plain"}  
EOF
if prep_ok json "${ALL[@]}" --format jsonl "$J/a.jsonl"; then
    expect_eq "$(q json '" ".join(sorted(s["words"]))')" \
        "back café extra lone naïve newline plain quoted slash surrogate tab words zone été 😀😀" \
        "json: vocabulary (a lone surrogate escape separates words)"
    expect_eq "$(q json 's["attrs"]["docs_read"]')" "3" "json: blank line is no document"
    ids=$(q json '" ".join(i.rsplit("/", 1)[1] for i in s["splits"]["train"]["doc_ids"])')
    expect_eq "$ids" "a.jsonl:1 a.jsonl:3 a.jsonl:4" "json: doc ids"
fi
printf '{"body": "alpha beta", "text": 3}\n' >"$J/b.jsonl"
if prep_ok jsonfield "${ALL[@]}" --format jsonl --text-field body "$J/b.jsonl"; then
    expect_eq "$(q jsonfield '" ".join(s["words"])')" "alpha beta" "jsonfield: vocabulary"
fi

# ---- files format --------------------------------------------------------------------------
if prep_ok files "${ALL[@]}" --format files "$C"; then
    expect_eq "$(q files 's["attrs"]["docs_read"]')" "3" "files: one document per file"
    ids=$(q files '" ".join(i.replace(sys.argv[3], "C") for i in s["splits"]["train"]["doc_ids"])' "$C")
    expect_eq "$ids" "C/a.txt C/c.txt C/sub/b.txt" "files: doc ids"
fi

# ---- a generated corpus: splits and determinism ----------------------------------------------
G=$T/gen
mkdir -p "$G" "$T/renamed"
"$PY" - "$G" <<'EOF'
import random, sys
rng = random.Random(12345)
syll = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "zu"]
words = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(2, 4))) for _ in range(400)})
weights = [1.0 / (i + 1) for i in range(len(words))]
for part in range(3):
    with open(f"{sys.argv[1]}/part{part + 1}.txt", "w") as f:
        for _ in range(300):
            f.write(" ".join(rng.choices(words, weights, k=rng.randint(5, 40))) + "\n")
EOF
cp "$G/part1.txt" "$T/renamed/z.txt"
cp "$G/part2.txt" "$T/renamed/m.txt"
cp "$G/part3.txt" "$T/renamed/a.txt"
SPLIT=(--valid-frac 0.1 --test-frac 0.1 --seed 7)
if prep_ok gen1 "${SPLIT[@]}" "$G/part1.txt" "$G/part2.txt" "$G/part3.txt" &&
    prep_ok gen2 "${SPLIT[@]}" "$G/part3.txt" "$G/part1.txt" "$G/part2.txt" &&
    prep_ok gen3 "${SPLIT[@]}" "$T/renamed" && prep_ok gen4 "${SPLIT[@]}" "$G" &&
    prep_ok gen5 --valid-frac 0.1 --test-frac 0.1 --seed 8 "$G"; then
    expect_true gen1 'all(s["splits"][n]["num_docs"] > 0 for n in ("train", "valid", "test"))'
    expect_true gen1 '0.05 <= s["splits"]["valid"]["num_docs"] / s["attrs"]["docs_read"] <= 0.15'
    expect_true gen1 '0.05 <= s["splits"]["test"]["num_docs"] / s["attrs"]["docs_read"] <= 0.15'
    expect_eq "$(q gen1 's["attrs"]["docs_read"]')" "900" "gen1: documents read"
    for other in gen2 gen3 gen4; do
        expect_eq "$(q $other 's["words"], s["doc_freq"], s["term_freq"]')" \
            "$(q gen1 's["words"], s["doc_freq"], s["term_freq"]')" "$other: same vocabulary as gen1"
        cmp -s <(bags gen1) <(bags $other) || fail "$other: documents of each split differ from gen1"
    done
    # the same inputs in the same order give the same file contents, doc ids included
    cmp -s <("$PY" "$INTEROP" --bags "$T/gen1.h5" | sed "s|$G|G|") \
        <("$PY" "$INTEROP" --bags "$T/gen4.h5" | sed "s|$G|G|") || fail "gen4: rerun differs from gen1"
    cmp -s <(bags gen1 | grep '^valid') <(bags gen5 | grep '^valid') && fail "gen5: another seed gave the same valid split"
    expect_eq "$(q gen5 's["attrs"]["split_seed"], s["attrs"]["valid_frac"], s["attrs"]["test_frac"]')" \
        "(8, '0.1', '0.1')" "gen5: split attributes"
fi

# --vocab-from: the same words in the same order, frequencies counted on this corpus's training split
if prep_ok reuse --vocab-from "$T/gen1.h5" "$G/part2.txt"; then
    expect_eq "$(q reuse 's["words"]')" "$(q gen1 's["words"]')" "reuse: vocabulary taken from gen1"
    expect_eq "$(q reuse 's["attrs"]["vocab_from"]')" "$T/gen1.h5" "reuse: vocab_from attribute"
    expect_true reuse 's["doc_freq"] != json.load(open(sys.argv[3]))["doc_freq"]' "$T/gen1.json"
    expect_true reuse 'sum(s["term_freq"]) == s["splits"]["train"]["num_tokens"]'
fi

# ---- failures: exit 2 for the command line, 1 for the rest, nothing left in the output folder --
O=$T/out
mkdir -p "$O"
expect_failure() { # STATUS WORD_IN_MESSAGE ARGS...
    local status=$1 word=$2
    shift 2
    run_prep "$O/x.h5" "$@"
    [ "$rc" -eq "$status" ] || fail "vae-prep $*: exit $rc, expected $status"
    grep -qF -- "$word" "$T/err" || fail "vae-prep $*: message does not name '$word': $(cat "$T/err")"
    [ "$status" -ne 2 ] || [ "$(wc -l <"$T/err")" -eq 1 ] || fail "vae-prep $*: usage error is not one line"
    [ -z "$(ls -A "$O")" ] || fail "vae-prep $*: left $(ls -A "$O") behind"
    rm -f "$O"/* "$O"/.[!.]* 2>/dev/null || true
}
expect_failure 2 --bogus --bogus "$C"
expect_failure 2 --vocab-size --vocab-size abc "$C"
expect_failure 2 --vocab-size --vocab-size=0 "$C"
expect_failure 2 --format --format xml "$C"
expect_failure 2 --max-df-frac --max-df-frac 0 "$C"
expect_failure 2 --valid-frac --valid-frac 0.6 --test-frac 0.5 "$C"
expect_failure 2 --min-token-len --min-token-len 5 --max-token-len 3 "$C"
expect_failure 2 --seed --seed -1 "$C"
expect_failure 2 --vocab-from --vocab-from "$T/gen1.h5" --min-df 3 "$C"
expect_failure 2 --quiet --quiet=1 "$C"
expect_failure 2 INPUT
expect_failure 1 "$T/missing.txt" "$C" "$T/missing.txt"
expect_failure 1 "$T/stop-missing" --stopwords "$T/stop-missing" "$C"
printf 'hello world\n' | gzip >"$T/packed.txt.gz"
expect_failure 1 "$T/packed.txt.gz" "$T/packed.txt.gz"
mkdir -p "$T/empty"
expect_failure 1 "no documents" "$T/empty"
expect_failure 1 "vocabulary rules" --min-df 100 "$C"
expect_failure 1 "$T/gen1.h5x" --vocab-from "$T/gen1.h5x" "$C"
printf '{"text": "fine"}\n{"text": "unterminated}\n' >"$J/bad1.jsonl"
printf '{"other": "x"}\n' >"$J/bad2.jsonl"
printf '{"text": 5}\n' >"$J/bad3.jsonl"
printf '{"text": "a"} x\n' >"$J/bad4.jsonl"
printf '{"text": "\\q"}\n' >"$J/bad5.jsonl"
printf '{"text": "a",}\n' >"$J/bad6.jsonl"
expect_failure 1 "bad1.jsonl:2" --format jsonl "$J/bad1.jsonl"
for k in 2 3 4 5 6; do
    expect_failure 1 "bad$k.jsonl:1" --format jsonl "$J/bad$k.jsonl"
done
run_prep /nonexistent-folder/x.h5 "$C"
[ "$rc" -eq 1 ] && grep -q /nonexistent-folder "$T/err" || fail "unwritable output: exit $rc, $(cat "$T/err")"

# a failed run leaves a file already under the output name as it was
printf 'precious\n' >"$O/keep.h5"
run_prep "$O/keep.h5" --format jsonl "$J/bad1.jsonl"
[ "$rc" -eq 1 ] && [ "$(cat "$O/keep.h5")" = precious ] || fail "failed run touched an existing output"
[ "$(ls -A "$O")" = keep.h5 ] || fail "failed run left $(ls -A "$O")"

# ---- help, version, quiet ---------------------------------------------------------------------
rc=0
"$PREP" --help >"$T/help" 2>&1 || rc=$?
expect_eq "$rc" 0 "--help exit status"
for flag in format text-field vocab-size min-df max-df-frac stopwords vocab-from valid-frac test-frac \
    seed quiet min-token-len max-token-len keep-digits help version; do
    grep -q -- "--$flag" "$T/help" || fail "--help does not mention --$flag"
done
rc=0
version=$("$PREP" --version) || rc=$?
expect_eq "$rc" 0 "--version exit status"
[[ "$version" =~ ^vae-prep\ [0-9] ]] || fail "--version printed '$version'"
run_prep "$T/quiet.h5" --quiet "$C"
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] || fail "--quiet: exit $rc, stderr: $(cat "$T/err")"
run_prep "$T/loud.h5" "$C"
grep -q "wrote $T/loud.h5" "$T/err" || fail "no summary on stderr without --quiet"

if [ "$failures" -ne 0 ]; then
    echo "test_prep: $failures failure(s)" >&2
    exit 1
fi
echo "test_prep: all passed"
