#!/usr/bin/env bash
# Every HDF5 writer on a disk that fills: vae-prep's corpus and vae-infer encode's embeddings, cut
# off at several points of their writing (early, mid-way, at the final flush), exit 1 with one
# message naming the output and the system's reason, never crash (HDF5 1.10 crashed at exit
# closing a file whose flush had failed), and leave nothing behind: no file under the final name,
# no temporary file. A real full disk (a small tmpfs, ENOSPC) where root may mount one, and always
# a file size limit (ulimit -f, EFBIG; set inside mpirun, see test_disk_full.sh).
source "${VAE_TESTS:?}/harness/lib.sh" writers-full

# A text corpus of about 2 MB of HDF5, and a checkpoint whose encoding of it is about 1 MB.
$py - "$work/text.txt" <<'EOF'
import random, string, sys
r = random.Random(1)
words = [''.join(r.choice(string.ascii_lowercase) for _ in range(6)) for _ in range(5000)]
with open(sys.argv[1], 'w') as f:
    for _ in range(20000):
        f.write(' '.join(r.choice(words) for _ in range(30)) + '\n')
EOF
"$bin/vae-prep" --format lines --quiet -o "$work/c.h5" "$work/text.txt"
"$bin/vae-dist" --corpus "$work/c.h5" --out "$work/run" --max-steps 2 --batch-size 64 --latent 64 --eval-every 0 \
  --quiet --threads 1
ckpt=$(latest "$work/run")
"$bin/vae-infer" encode --checkpoint "$ckpt" --corpus "$work/c.h5" --split train -o "$work/emb.h5"
corpus_size=$(stat -c %s "$work/c.h5") emb_size=$(stat -c %s "$work/emb.h5")

prep=("$bin/vae-prep" --format lines --quiet "$work/text.txt" -o)
encode=("$bin/vae-infer" encode --checkpoint "$ckpt" --corpus "$work/c.h5" --split train -o)

# check WHAT REASON DIR OUT RC MSG: the failed writer's outcome.
check() {
  local what=$1 reason=$2 dir=$3 out=$4 rc=$5 msg=$6
  [ "$rc" -eq 1 ] || fail "$what: exit $rc, expected 1: $msg"
  grep -q "Segmentation\|signal" <<<"$msg" && fail "$what: crashed: $msg"
  local line
  line=$(grep '^vae-' <<<"$msg" || true) # mpirun adds its own lines
  [ "$(grep -c . <<<"$line")" -eq 1 ] || fail "$what: not one message: $msg"
  grep -qF "$out" <<<"$line" || fail "$what: the message does not name $out: $line"
  grep -q "$reason" <<<"$line" || fail "$what: the message does not say '$reason': $line"
  [ -z "$(ls -A "$dir")" ] || fail "$what: left $(ls -A "$dir")"
}

# The file size limit, at 5% to 95% of each output (ulimit -f counts KiB).
mkdir "$work/lim"
for frac in 5 50 95; do
  for writer in prep encode; do
    [ $writer = prep ] && size=$corpus_size cmd=("${prep[@]}") || size=$emb_size cmd=("${encode[@]}")
    out="$work/lim/out.h5"
    set +e
    msg=$(mpirun -np 1 "${mpi_flags[@]}" bash -c "ulimit -f $((size * frac / 100 / 1024)); exec \"\$@\"" _ \
          "${cmd[@]}" "$out" 2>&1 </dev/null)
    rc=$?
    set -e
    check "$writer at $frac% of its size limit" "File too large" "$work/lim" "$out" $rc "$msg"
  done
done
ok "a file size limit at 5%, 50% and 95% of the output: exit 1 naming the file and EFBIG, nothing left"

disk="$work/disk"
mkdir "$disk"
if mount -t tmpfs -o size=4m tmpfs "$disk" 2>/dev/null; then
  trap 'umount "$disk" 2>/dev/null || true; rm -rf "$work"' EXIT
  for frac in 5 50 95 99; do
    for writer in prep encode; do
      [ $writer = prep ] && size=$corpus_size cmd=("${prep[@]}") || size=$emb_size cmd=("${encode[@]}")
      mount -o remount,size=$((size * frac / 100)) "$disk"
      out="$disk/out.h5"
      set +e
      msg=$("${cmd[@]}" "$out" 2>&1 </dev/null)
      rc=$?
      set -e
    check "$writer on a disk of $frac% of its output" "No space left on device" "$disk" "$out" $rc "$msg"
    done
  done
  umount "$disk"
  ok "a full disk (tmpfs) at 5% to 99% of the output: exit 1 naming the file and ENOSPC, nothing left"
else
  echo "ok - # SKIP a real full disk: cannot mount a tmpfs here (the file size limit above stands in)"
fi
echo "$pass passed, 0 failed"
