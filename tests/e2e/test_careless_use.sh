#!/usr/bin/env bash
# The smaller traps of issue 21 (item 9), each refused up front with a message that says what to
# change: a corpus whose training documents are all empty, a corpus compressed with a filter this
# HDF5 lacks (h5py's LZF), --threads far above the cores, model sizes whose buffers cannot fit in
# memory (exit 2 with the figure), vae-prep's table of distinct tokens past --word-table-mb, a
# resume onto a corpus of another vocabulary (which blames the corpus); none of them, nor a --resume
# that fails, leaves a run folder behind. And a run folder, its checkpoints folder or `latest` is
# understood where a checkpoint is asked for.
source "${VAE_TESTS:?}/harness/lib.sh" careless

"$bin/vae-synth" -o "$work/c.h5" --docs 400 --vocab 300 --topics 4 --seed 3 --quiet
train=(--max-steps 2 --batch-size 16 --eval-every 0 --quiet --threads 1)

# refused STATUS WHAT TEXT... -- COMMAND...: exits STATUS, one message holding every TEXT, no run folder.
refused() {
  local want=$1 what=$2 texts=()
  shift 2
  while [ "$1" != -- ]; do texts+=("$1"); shift; done
  shift
  rm -rf "$work/run"
  expect_status "$want" "$@"
  [ "$(grep -c . "$work/err")" -eq 1 ] || fail "$what: not one message: $(cat "$work/err")"
  for t in "${texts[@]}"; do
    grep -qF -- "$t" "$work/err" || fail "$what: the message does not say '$t': $(cat "$work/err")"
  done
  [ ! -e "$work/run" ] || fail "$what: a run folder was left: $(ls -R "$work/run")"
  return 0
}

# Every training document empty: the CSR rows kept, their tokens gone.
$py - "$work/c.h5" "$work/empty.h5" <<'EOF'
import h5py, numpy as np, shutil, sys
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], 'r+') as f:
    g = f['train']
    n = g['indptr'].shape[0]
    for k in ['indptr', 'indices', 'counts']:
        del g[k]
    g['indptr'] = np.zeros(n, np.int64)
    g['indices'] = np.zeros(0, np.int32)
    g['counts'] = np.zeros(0, np.int32)
    g.attrs['num_tokens'] = 0
EOF
refused 1 "all-empty training documents" "$work/empty.h5" "all empty" -- \
  "$bin/vae-dist" --corpus "$work/empty.h5" --out "$work/run" "${train[@]}"
ok "a corpus whose training documents are all empty is refused"

# The same corpus with its numbers compressed by h5py's LZF (filter 32000), which HDF5 lacks.
$py - "$work/c.h5" "$work/lzf.h5" <<'EOF'
import h5py, sys
with h5py.File(sys.argv[1], 'r') as src, h5py.File(sys.argv[2], 'w') as dst:
    dst.attrs.update(src.attrs)
    def copy(name, obj):
        if isinstance(obj, h5py.Group):
            dst.require_group(name).attrs.update(obj.attrs)
            return
        lzf = obj.dtype.kind in 'iuf' and obj.shape[0] > 0
        d = dst.create_dataset(name, data=obj[()], **(dict(compression='lzf', chunks=True) if lzf else {}))
        d.attrs.update(obj.attrs)
    src.visititems(copy)
EOF
refused 1 "an LZF corpus" "$work/lzf.h5" "filter 32000 ('lzf')" "lacks" -- \
  "$bin/vae-dist" --corpus "$work/lzf.h5" --out "$work/run" "${train[@]}"
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/ok" "${train[@]}"
refused 1 "an LZF corpus to vae-infer" "$work/lzf.h5" "'lzf'" -- \
  "$bin/vae-infer" eval --checkpoint "$(latest "$work/ok")" --corpus "$work/lzf.h5"
ok "a corpus compressed with a filter this HDF5 lacks names the filter"

cores=$(getconf _NPROCESSORS_ONLN)
if [ $((cores * 4)) -lt 1024 ]; then # above 1024 the table's own range refuses first
  refused 2 "--threads above the cores" "--threads $((cores * 4 + 1))" "$cores cores" -- \
    "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" "${train[@]}" --threads $((cores * 4 + 1))
  "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" "${train[@]}" --threads $((cores * 4)) ||
    fail "--threads at 4 a core was refused"
  ok "--threads far above the cores exits 2 naming them"
fi

# The largest layers the flags allow: about 1.1 TB of parameters, optimizer state and gradients.
big=65536,65536,65536,65536,65536,65536,65536,65536
refused 2 "layers beyond memory" "GB a rank" "more than this machine's" "--latent" -- \
  "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" "${train[@]}" --latent 65536 --encoder-hidden $big \
  --decoder-hidden $big
ok "model sizes beyond the machine's memory exit 2 with the figure, before allocating"
# Hostile text for vae-prep: 200 000 distinct random tokens. Its table of distinct tokens stops at
# --word-table-mb with a message naming the flag and where it stopped; without the cap, the same
# input passes the counting (and fails later, as no token repeats enough for the vocabulary).
$py - "$work/hostile.txt" <<'EOF'
import random, string, sys
r = random.Random(5)
with open(sys.argv[1], 'w') as f:
    for _ in range(5000):
        f.write(' '.join(''.join(r.choice(string.ascii_lowercase) for _ in range(10)) for _ in range(40)) + '\n')
EOF
refused 1 "a word table past its cap" "--word-table-mb" "limit of 4 MB" "$work/hostile.txt line" -- \
  "$bin/vae-prep" --quiet --word-table-mb 4 -o "$work/h.h5" "$work/hostile.txt"
[ ! -e "$work/h.h5" ] || fail "vae-prep left an output after the cap"
expect_status 1 "$bin/vae-prep" --quiet -o "$work/h.h5" "$work/hostile.txt"
grep -q "vocabulary rules" "$work/err" || fail "without the cap the counting did not pass: $(cat "$work/err")"
ok "vae-prep's table of distinct tokens stops at --word-table-mb with a clear message"

# A run folder, its checkpoints folder or a pointer file stand for the checkpoint they name, for
# vae-infer --checkpoint and vae-dist --resume alike; a folder without one is refused, saying what to
# name instead.
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/r" "${train[@]}" --max-steps 4 --checkpoint-every 2
"$bin/vae-infer" eval --checkpoint "$(latest "$work/r")" --corpus "$work/c.h5" >"$work/want.json"
for given in "$work/r" "$work/r/checkpoints" "$work/r/checkpoints/latest"; do
  "$bin/vae-infer" eval --checkpoint "$given" --corpus "$work/c.h5" >"$work/got.json" ||
    fail "--checkpoint $given was not understood"
  cmp -s "$work/want.json" "$work/got.json" || fail "--checkpoint $given is not the latest checkpoint"
done
refused 1 "--checkpoint a folder without checkpoints" "$work" "without checkpoints/latest" "checkpoint file" -- \
  "$bin/vae-infer" eval --checkpoint "$work" --corpus "$work/c.h5"
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/r" "${train[@]}" --max-steps 6 --resume "$work/r" 2>"$work/err"
[ "$(cat "$work/r/checkpoints/latest")" = ckpt-00000006.h5 ] || fail "--resume DIR did not continue the run"
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/r2" "${train[@]}" --max-steps 8 \
  --resume "$work/r/checkpoints/latest" 2>"$work/err"
[ "$(cat "$work/r2/checkpoints/latest")" = ckpt-00000008.h5 ] || fail "--resume .../latest did not continue the run"
ok "--checkpoint and --resume take a run folder, its checkpoints folder or latest"

# A --resume that fails creates no run folder.
refused 1 "a --resume of a missing file" "$work/none.h5" -- \
  "$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" "${train[@]}" --resume "$work/none.h5"
ok "a failed --resume leaves no new run folder"

# Resuming onto a corpus with another vocabulary blames the corpus, not the flags.
"$bin/vae-synth" -o "$work/other.h5" --docs 400 --vocab 250 --topics 4 --seed 3 --quiet
refused 1 "a resume onto another vocabulary" "corpus $work/other.h5 has another vocabulary" "250 words" \
  "the corpus changed" -- "$bin/vae-dist" --corpus "$work/other.h5" --out "$work/run" "${train[@]}" \
  --resume "$work/r"
ok "a vocabulary change on resume blames the corpus"
echo "$pass passed, 0 failed"
