#!/usr/bin/env bash
# vae-prep end to end: tokens and vocabulary rules on a made-up folder, jsonl and files formats,
# split determinism (input order, file names, seed), --vocab-from, the settings attributes, and the
# failures (bad flags exit 2, bad inputs exit 1, never an output file left behind). Every corpus
# written is read back by tests/interop/interop_corpus.py (h5py + scipy.sparse). --sequences: exact
# sequences, ids, doc mapping and attributes of a hand-worked input, the language-model defaults
# and the flags that override them; every sequences corpus is rebuilt by
# tests/interop/interop_sequences.py from its own tokenizer and sentence splitter.
source "${VAE_TESTS:?}/harness/lib.sh" prep
# This script counts its failures and reports them all at the end, rather than stopping at the first.
set +e
BIN=$bin
PREP=$BIN/vae-prep
PY=$py
INTEROP=$tests/interop/interop_corpus.py
SEQS=$tests/interop/interop_sequences.py
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

# ---- sequences ---------------------------------------------------------------------------------
# seq_ok NAME FORMAT ARGS...: prep_ok, then the sequences rebuilt by interop_sequences.py ($T/NAME.seq).
seq_ok() {
    local name=$1 format=$2
    shift 2
    prep_ok "$name" --format "$format" "$@" || return 1
    "$PY" "$SEQS" "$T/$name.h5" "$format" >"$T/$name.seq" 2>"$T/interop_err" ||
        { fail "$name: sequences: $(cat "$T/interop_err")"; return 1; }
}
# dump NAME SPLIT: the split's seq datasets and attributes, and the file's, one line each.
dump() {
    "$PY" - "$T/$1.h5" "$2" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
s = f[sys.argv[2]]["seq"]
print(" ".join(map(str, s["indptr"][()])))
print(" ".join(map(str, s["tokens"][()])))
print(" ".join(map(str, s["doc"][()])))
a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in s.attrs.items()}
print(a["num_seqs"], a["num_tokens"], a["unit"], a["max_length"])
print(f.attrs["version"], f.attrs["docs_read"], f.attrs["docs_dropped_empty"], f.attrs["seqs_written"],
      f.attrs["units_cut"], f.attrs.get("sentence_rule", "-"))
print(" ".join(w.decode() for w in f["vocab/words"][()]))
EOF
}
S=$T/seq
mkdir -p "$S"
printf '%s\n' 'The cat sat. Mr. Smith ran! "Why?" I asked.' 'A cat, e.g. Tom, and the dog (big). Ok' \
    'the the the the the cat' 'Zebra qux.' >"$S/s.txt"
# By hand: every document is train; df: cat 3, the 3 (0.75 of the 4 documents with a token: kept
# only because --max-df-frac becomes 1), the rest 1 (below --min-df 2): V = 2, cat = 0, the = 1,
# unknown = 2. Sentences: 'The cat sat.' 'Mr. Smith ran!' '"Why?"' 'I asked.' | 'A cat, e.g. Tom,
# and the dog (big).' (9 tokens: cut 4 + 4 + 1) 'Ok' | 'the the the the the cat' (cut 4 + 2);
# 'Zebra qux.' has no vocabulary word: its document is dropped.
if seq_ok hand lines --sequences sentence --max-length 4 --valid-frac 0 --test-frac 0 "$S/s.txt"; then
    expect_eq "$(dump hand train)" "0 3 6 7 9 13 17 18 19 23 25
1 0 2 2 2 2 2 2 2 2 0 2 2 2 2 1 2 2 2 1 1 1 1 1 0
0 0 0 0 1 1 1 1 2 2
10 25 sentence 4
2 4 1 10 2 sentences-v1
cat the" "hand: sequences, ids, documents and attributes"
    expect_eq "$(q hand 's["attrs"]["stopwords"], s["attrs"]["tokenizer_min_len"], s["attrs"]["vocab_max_df_frac"]')" \
        "('none', 1, '1')" "hand: the defaults of --sequences"
    expect_eq "$(q hand '[s["splits"]["train"]["num_docs"], s["splits"]["train"]["num_tokens"]]')" "[3, 10]" \
        "hand: the bags (the words of the vocabulary only)"
fi
# Lines and whole documents (one file, one document); units without a token ('...') are left out.
printf 'the cat\n...\n\nthe dog. the cat\n' >"$S/l.txt"
if seq_ok lines files --sequences line --min-df 1 --valid-frac 0 --test-frac 0 "$S/l.txt"; then
    expect_eq "$(dump lines train | sed -n '1p;3,4p')" "0 2 6
0 0
2 6 line 64" "lines: one sequence a line with a token"
fi
if seq_ok whole files --sequences document --max-length 5 --min-df 1 --valid-frac 0 --test-frac 0 "$S/l.txt"; then
    expect_eq "$(dump whole train | sed -n '1p;4,5p')" "0 5 6
2 6 document 5
2 1 0 2 1 -" "whole: one document of 6 tokens cut in 5 + 1"
fi
# Flags given win over the defaults of --sequences; stopwords are dropped from the sequences too.
if seq_ok given lines --sequences sentence --min-token-len 2 --min-df 1 --max-df-frac 0.9 \
    --valid-frac 0 --test-frac 0 "$S/s.txt"; then
    expect_eq "$(q given 's["attrs"]["tokenizer_min_len"], s["attrs"]["vocab_max_df_frac"], "i" in s["words"]')" \
        "(2, '0.9', False)" "given: flags win over the defaults of --sequences"
fi
printf 'the\n' >"$T/stop-the.txt"
if seq_ok stopped lines --sequences line --stopwords "$T/stop-the.txt" --min-df 1 --valid-frac 0 --test-frac 0 \
    "$S/s.txt"; then
    expect_true stopped '"the" not in s["words"]'
fi
# Splits are drawn per document, so no document's sequences are in two splits (interop_sequences.py
# rebuilds each row from its own text); a mixed input with UTF-8 and broken bytes.
"$PY" - "$S/mixed.txt" <<'EOF'
import random, sys
rng = random.Random(7)
words = ["alpha", "Beta", "gamma", "d\u00e9lta", "\u65e5\u672c", "x", "I", "a", "the", "Dr.", "e.g.", "U.S."]
ends = [". ", "! ", "? ", "... ", ".\u201d ", "\u3002", " ", " ", ", ", " (", ") ", "\t\t"]
with open(sys.argv[1], "wb") as f:
    for _ in range(400):
        text = "".join(rng.choice(words) + rng.choice(ends) for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.1:
            text += "broken\udcc3 byte"
        f.write(text.encode("utf-8", "surrogateescape") + b"\n")
EOF
if seq_ok mixed lines --sequences sentence --max-length 6 --vocab-size 6 --valid-frac 0.2 --test-frac 0.2 \
    --seed 3 "$S/mixed.txt"; then
    expect_true mixed 'all(s["splits"][n]["num_docs"] > 0 for n in ("train", "valid", "test"))'
    expect_eq "$("$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["unknown"] > 0, s["cut"] > 0)' \
        "$T/mixed.seq")" "True True" "mixed: unknown words and cut units"
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
expect_failure 2 --sequences --sequences paragraph "$C"
expect_failure 2 --max-length --max-length 8 "$C"
expect_failure 2 --max-length --sequences line --max-length 0 "$C"
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
    seed quiet min-token-len max-token-len keep-digits sequences max-length help version; do
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
