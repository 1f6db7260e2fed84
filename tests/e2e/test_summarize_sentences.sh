#!/usr/bin/env bash
# vae-infer summarize --sentences K end to end, on a model trained on documents of four topics
# (each sentence of one topic, each document mostly of one): the sentence on the document's topic
# is chosen over off-topic ones; a near-duplicate of a chosen sentence is passed over; K larger
# than the document gives all its sentences; sentences with no known word never, a document
# without one gives none; unusual punctuation cut by sentences-v1 and printed as it stands; a very
# long paragraph; --json, stdin, determinism; --corpus with sequences printed as words, a corpus
# without them refused; --top with --sentences a usage error.
source "${VAE_TESTS:?}/harness/lib.sh" summ
infer="$bin/vae-infer"

$py - "$work" <<'EOF'
import random, sys
work = sys.argv[1]
random.seed(5)
topics = {
    "space": "rocket orbit planet launch astronaut moon satellite gravity telescope comet galaxy".split(),
    "food": "bread cheese recipe oven butter flour sugar bake kitchen soup pepper".split(),
    "music": "guitar piano song concert melody rhythm band singer album drum chorus".split(),
    "sport": "football goal team match player coach league score stadium ball referee".split(),
}
names = sorted(topics)
def sentence(t, n):
    s = " ".join(random.choice(topics[t]) for _ in range(n))
    return s[0].upper() + s[1:] + "."
with open(f"{work}/train.txt", "w") as f:
    for _ in range(3000):
        main = random.choice(names)
        sents = [sentence(main if random.random() < 0.7 else random.choice(names), random.randint(5, 9))
                 for _ in range(random.randint(3, 7))]
        f.write(" ".join(sents) + "\n")
# Documents whose topic one sentence repeats at length, the others short and each of another topic.
with open(f"{work}/topical.txt", "w") as f, open(f"{work}/topical.want", "w") as w:
    for d in range(30):
        main = names[d % 4]
        others = [t for t in names if t != main]
        sents = [sentence(t, 3) for t in others] + [sentence(main, 12)]
        random.shuffle(sents)
        at = [i for i, s in enumerate(sents) if s.split()[0].lower() in topics[main]
              and len(s.split()) == 12][0]
        f.write(" ".join(sents) + "\n\n")
        w.write(f"{at}\n")
# A duplicate: sentence 0 and 2 are one sentence; K = 2 must not take both.
with open(f"{work}/dup.txt", "w") as f:
    a = sentence("space", 10)
    f.write(f"{a} {sentence('space', 8)}\n{a}\n{sentence('food', 4)}\n")
EOF
"$bin/vae-prep" --format lines --sequences sentence --valid-frac 0.05 --test-frac 0.05 --quiet -o "$work/c.h5" \
  "$work/train.txt"
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" --max-steps 400 --batch-size 64 --lr 0.01 --latent 8 \
  --eval-every 0 --quiet --threads 1
ckpt=$(latest "$work/run")
sum=("$infer" summarize --checkpoint "$ckpt")

# The sentence that repeats the document's topic, among off-topic ones.
"${sum[@]}" --text "$work/topical.txt" --sentences 1 --json >"$work/topical.jsonl"
$py - "$work/topical.jsonl" "$work/topical.want" <<'EOF' || fail "the on-topic sentence is not chosen"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [int(l) for l in open(sys.argv[2])]
assert [g["doc"] for g in got] == list(range(30)) and all(len(g["sentences"]) == 1 for g in got)
right = sum(g["sentences"][0]["index"] == w for g, w in zip(got, want))
assert right >= 28, f"{right} of 30 right"
EOF
ok "K = 1 picks the sentence on the document's topic (at least 28 of 30)"

"${sum[@]}" --text "$work/dup.txt" --sentences 2 --json >"$work/dup.jsonl"
$py - "$work/dup.jsonl" <<'EOF' || fail "a near-duplicate was chosen twice: $(cat "$work/dup.jsonl")"
import json, sys
d = json.loads(open(sys.argv[1]).read())
idx = [s["index"] for s in d["sentences"]]
assert len(idx) == 2 and not {0, 2} <= set(idx) and idx == sorted(idx), idx
EOF
"${sum[@]}" --text "$work/dup.txt" --sentences 4 --json >"$work/dup4.jsonl"
$py -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit([s['index'] for s in d['sentences']] != [0,1,2,3])" \
  "$work/dup4.jsonl" || fail "K = 4 over 4 sentences did not give all of them, the duplicate last"
ok "a near-duplicate is passed over while another sentence is left, and taken when none is"

# K larger than the document, sentences without a known word, a document without one, punctuation
# and line breaks, printed as they stand, blank lines between documents.
cat >"$work/odd.txt" <<'EOF'
Dr. Smith's rocket reached orbit (the moon, e.g. its far side)! Zzzz qqqq xxxx. "Bread, cheese
and butter?!" said the oven… Then: the band's song.

   	
...!!! ???

Guitar piano song。Football goal team
EOF
"${sum[@]}" --text "$work/odd.txt" --sentences 10 >"$work/odd.out"
cat >"$work/odd.want" <<'EOF'
Dr. Smith's rocket reached orbit (the moon, e.g. its far side)!
"Bread, cheese and butter?!"
said the oven…
Then: the band's song.


Guitar piano song。
Football goal team
EOF
cmp "$work/odd.out" "$work/odd.want" || fail "sentences of odd.txt: $(diff "$work/odd.out" "$work/odd.want")"
"${sum[@]}" --text - --sentences 10 --json <"$work/odd.txt" >"$work/odd.jsonl"
$py - "$work/odd.jsonl" <<'EOF' || fail "--json of odd.txt: $(cat "$work/odd.jsonl")"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
assert [d["doc"] for d in docs] == [0, 1, 2]
assert [s["index"] for s in docs[0]["sentences"]] == [0, 2, 3, 4]   # 1 has no known word
assert docs[1]["sentences"] == []
assert docs[2]["sentences"][1]["text"] == "Football goal team"
# by the decoder a score is a share of the weight of the words over a length of at least 3
assert all(0 < s["score"] <= 1 / 3 for d in docs for s in d["sentences"])
EOF
ok "K above the sentences gives them all; unknown-word sentences never; punctuation and line breaks as they stand"

# A very long paragraph: 3000 sentences, a line each, no blank line.
$py -c "
import random; random.seed(2)
w = 'rocket orbit planet bread cheese guitar song goal team zzz'.split()
print('\n'.join(' '.join(random.choice(w) for _ in range(8)) + '.' for _ in range(3000)))" >"$work/long.txt"
"${sum[@]}" --text "$work/long.txt" --sentences 3 >"$work/long.out"
"${sum[@]}" --text "$work/long.txt" --sentences 3 >"$work/long2.out"
[ "$(wc -l <"$work/long.out")" = 3 ] || fail "a 3000-sentence paragraph gave $(wc -l <"$work/long.out") lines"
cmp -s "$work/long.out" "$work/long2.out" || fail "two runs differ"
grep -qxFf "$work/long.out" "$work/long.txt" || fail "a chosen sentence is not in the input"
ok "a paragraph of 3000 sentences gives 3, the same each run"

# --corpus: the split's sequences, printed as their words.
"${sum[@]}" --corpus "$work/c.h5" --split test --sentences 2 --json >"$work/corpus.jsonl"
"${sum[@]}" --corpus "$work/c.h5" --split test --sentences 2 >"$work/corpus.txt"
$py - "$work/c.h5" "$work/corpus.jsonl" "$work/corpus.txt" <<'EOF' || fail "summarize --corpus --sentences"
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
words = [w.decode() for w in f["vocab/words"][:]] + ["<unk>"]
g = f["test/seq"]
indptr, tokens, doc = g["indptr"][:], g["tokens"][:], g["doc"][:]
sents = {}
for s in range(len(doc)):
    sents.setdefault(int(doc[s]), []).append(" ".join(words[t] for t in tokens[indptr[s]:indptr[s + 1]]))
docs = [json.loads(l) for l in open(sys.argv[2])]
assert [d["doc"] for d in docs] == list(range(f["test"].attrs["num_docs"]))
plain = []
for d in docs:
    assert len(d["sentences"]) == min(2, len(sents[d["doc"]]))
    assert [s["index"] for s in d["sentences"]] == sorted(s["index"] for s in d["sentences"])
    for s in d["sentences"]:
        assert s["text"] == sents[d["doc"]][s["index"]]
    plain.append("\n".join(s["text"] for s in d["sentences"]))
assert open(sys.argv[3]).read() == "\n\n".join(plain) + "\n"
EOF
ok "--corpus: the chosen sequences as words, in document order, a blank line between documents"

# Refusals: a corpus without sequences (exit 1, naming it), --top with --sentences (exit 2).
"$bin/vae-prep" --format lines --vocab-from "$work/c.h5" --quiet -o "$work/plain.h5" "$work/train.txt"
expect_status 1 "${sum[@]}" --corpus "$work/plain.h5" --split train --sentences 1
grep -q "plain.h5.*no sequences" "$work/err" || fail "no sequences: $(cat "$work/err")"
expect_status 2 "${sum[@]}" --text "$work/odd.txt" --sentences 1 --top 3
grep -q -- "--top.*--sentences" "$work/err" || fail "--top with --sentences: $(cat "$work/err")"
expect_status 1 "${sum[@]}" --text "$work/missing.txt" --sentences 1
grep -q "missing.txt" "$work/err" || fail "missing --text: $(cat "$work/err")"
ok "refusals: a corpus without sequences, --top with --sentences, a missing --text"
echo "$pass checks passed"
