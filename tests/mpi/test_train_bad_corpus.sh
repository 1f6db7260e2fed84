#!/usr/bin/env bash
# Every bad corpus of the corpus-layer tests makes `mpirun -np 2 vae-dist` exit 1 within seconds
# with one message naming the dataset and the first bad position, and leaves no checkpoint.
source "${VAE_TESTS:?}/harness/lib.sh" badcorpus
mkdir "$work/bad"
"$bin/tests/test_corpus" --write-bad-corpora "$work/bad"
passed=0 failed=0
while IFS=$'\t' read -r name stage split dataset position; do
  set +e
  msg=$(timeout 60 mpirun -np 2 --oversubscribe --bind-to none "$bin/vae-dist" --corpus "$work/bad/$name.h5" \
        --out "$work/run-$name" --max-steps 3 --batch-size 2 --quiet 2>&1 </dev/null)
  rc=$?
  set -e
  ours=$(grep '^vae-dist:' <<<"$msg" || true)
  if [ $rc -eq 1 ] && [ "$(wc -l <<<"$ours")" -eq 1 ] && grep -qF -- "$dataset" <<<"$ours" &&
     grep -qF -- "$position" <<<"$ours" && ! ls "$work/run-$name/checkpoints/"ckpt-* >/dev/null 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name ($stage): exit $rc, expected 1 naming '$dataset' and '$position': $msg" >&2
  fi
done <"$work/bad/expected.tsv"
[ $passed -gt 0 ] || { echo "no bad corpus was tried" >&2; exit 1; }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
