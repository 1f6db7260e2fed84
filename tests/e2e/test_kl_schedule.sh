#!/usr/bin/env bash
# The KL schedules of vae-dist: --kl-cycles C (cyclical annealing: the run's steps in C equal
# cycles, beta rising linearly from 0 to --beta over the first half of each, then holding), read off
# the train lines' beta; --kl-cycles with --kl-warmup-steps is a usage error; --free-bits is refused
# by a family without free bits.
source "${VAE_TESTS:?}/harness/lib.sh" kl-schedule

"$bin/vae-synth" -o "$work/c.h5" --docs 200 --vocab 100 --quiet
common=(--corpus "$work/c.h5" --batch-size 20 --eval-every 0 --log-every 1 --quiet --threads 1)

expect_status 0 "$bin/vae-dist" "${common[@]}" --out "$work/cyc" --max-steps 20 --kl-cycles 2 --beta 0.5
$py - "$work/cyc/summary.jsonl" <<'EOF2' || fail "cyclical beta"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
assert len(lines) == 20, len(lines)
for l in lines:
    k = l["step"] - 1                      # the line of step k + 1 carries step k's beta
    want = 0.5 * min(1.0, 2 * (k % 10) / 10)
    assert abs(l["beta"] - want) < 1e-6, (l["step"], l["beta"], want)
EOF2
ok "--kl-cycles 2 over 20 steps: beta 0, 0.1, ... 0.5 held, again from 0 at step 10"

expect_status 2 "$bin/vae-dist" "${common[@]}" --out "$work/both" --kl-cycles 2 --kl-warmup-steps 5
grep -q -- "--kl-cycles and --kl-warmup-steps" "$work/err" || fail "message: $(cat "$work/err")"
[ ! -e "$work/both" ] || fail "a usage error left a run folder"
ok "--kl-cycles with --kl-warmup-steps: exit 2 naming both"

expect_status 1 "$bin/vae-dist" "${common[@]}" --out "$work/fb" --max-steps 2 --free-bits 0.5
grep -q -- "--free-bits: the bow model has no free bits" "$work/err" || fail "message: $(cat "$work/err")"
ok "--free-bits on the bow model: exit 1 naming the flag and the family"
echo "$pass checks passed"
