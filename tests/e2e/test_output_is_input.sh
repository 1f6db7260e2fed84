#!/usr/bin/env bash
# An output that is an input is refused, never overwritten: vae-prep -o onto an input text, a
# symbolic link to it, its --vocab-from corpus or its --stopwords file, and vae-infer encode -o
# onto its checkpoint or corpus, exit 1 naming both and leave the input as it was. An output inside
# an input folder is not read back as text: the output, any other name of it (a hard link) and
# the temporary files of killed runs are left out, so a second run writes the same corpus.
source "${VAE_TESTS:?}/harness/lib.sh" output-is-input

mkdir "$work/texts"
$py - "$work/texts/a.txt" "$work/texts/b.txt" <<'EOF'
import random, string, sys
r = random.Random(2)
words = [''.join(r.choice(string.ascii_lowercase) for _ in range(5)) for _ in range(400)]
for path in sys.argv[1:]:
    with open(path, 'w') as f:
        for _ in range(300):
            f.write(' '.join(r.choice(words) for _ in range(20)) + '\n')
EOF
text="$work/texts/a.txt"
printf 'the\nand\n' >"$work/stop.txt"
sum_of() { md5sum "$@" | cut -d' ' -f1; }

# refused WHAT NAMED... -- COMMAND...: exit 1, one message naming every NAMED; the inputs unchanged.
refused() {
  local what=$1 before named=()
  shift
  while [ "$1" != -- ]; do named+=("$1"); shift; done
  shift
  before=$(sum_of "$text" "$work/c.h5" "$ckpt" "$work/stop.txt")
  expect_status 1 "$@"
  [ "$(grep -c . "$work/err")" -eq 1 ] || fail "$what: not one message: $(cat "$work/err")"
  for n in "${named[@]}"; do
    grep -qF -- "$n" "$work/err" || fail "$what: the message does not name $n: $(cat "$work/err")"
  done
  grep -q "is the input" "$work/err" || fail "$what: the message does not say why: $(cat "$work/err")"
  [ "$(sum_of "$text" "$work/c.h5" "$ckpt" "$work/stop.txt")" = "$before" ] || fail "$what: an input changed"
  ls "$work" "$work/texts" | grep -q '\.tmp\.' && fail "$what: a temporary file was left"
  return 0
}

prep=("$bin/vae-prep" --format lines --quiet --min-df 1)
"${prep[@]}" -o "$work/c.h5" "$work/texts"
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" --max-steps 2 --batch-size 16 --eval-every 0 --quiet \
  --threads 1
ckpt=$(latest "$work/run")

refused "vae-prep -o INPUT" "$text" -- "${prep[@]}" -o "$text" "$text"
ln -s "$text" "$work/link.h5"
refused "vae-prep -o LINK-TO-INPUT" "$work/link.h5" "$text" -- "${prep[@]}" -o "$work/link.h5" "$text"
refused "vae-prep -o a folder's file" "$text" -- "${prep[@]}" -o "$text" "$work/texts"
refused "vae-prep -o --vocab-from" --vocab-from -- "$bin/vae-prep" --format lines --quiet --vocab-from "$work/c.h5" \
  -o "$work/c.h5" "$text"
refused "vae-prep -o --stopwords" --stopwords -- "${prep[@]}" --stopwords "$work/stop.txt" -o "$work/stop.txt" "$text"
ok "vae-prep refuses an output that is an input (a text, a link to it, --vocab-from, --stopwords)"

encode=("$bin/vae-infer" encode --checkpoint "$ckpt" --corpus "$work/c.h5" --split train)
refused "encode -o the checkpoint" "$ckpt" --checkpoint -- "${encode[@]}" -o "$ckpt"
refused "encode -o the corpus" "$work/c.h5" --corpus -- "${encode[@]}" -o "$work/c.h5"
ln -s "$work/c.h5" "$work/c-link.h5"
refused "encode -o a link to the corpus" "$work/c-link.h5" --corpus -- "${encode[@]}" -o "$work/c-link.h5"
valid "$ckpt" || fail "the checkpoint no longer validates"
"${encode[@]}" -o "$work/emb.h5" || fail "encode to another file failed"
ok "vae-infer encode refuses --checkpoint and --corpus (also through a link) as its output"

# The output inside the input folder: a second run, with the first run's output, a hard link to it
# and a killed run's temporary file beside the texts, writes what the first wrote.
"${prep[@]}" -o "$work/texts/out.h5" "$work/texts"
cp "$work/texts/out.h5" "$work/first.h5"
ln "$work/texts/out.h5" "$work/texts/hard-link.h5"
cp "$work/texts/out.h5" "$work/texts/out.h5.tmp.12345"
"${prep[@]}" -o "$work/texts/out.h5" "$work/texts"
h5diff "$work/first.h5" "$work/texts/out.h5" >/dev/null ||
  fail "the second run read its output or its temporary file: $(h5diff "$work/first.h5" "$work/texts/out.h5" | head -5)"
h5diff "$work/c.h5" "$work/first.h5" >/dev/null || fail "a corpus written inside the folder differs from one outside"
ok "an output inside an input folder is left out of the inputs, with its links and temporary files"
echo "$pass passed, 0 failed"
