#!/usr/bin/env bash
# --precision bf16 under mpirun (SPEC.md "Precision"): a family with float32 products only refuses
# it (exit 1, one message naming the family); where the build or the CPU has no bfloat16 products
# the run stops with exit 2 and says which, and the rest is reported skipped (exit 77). Otherwise:
# config.json records the precision and the library; on 2 ranks the train lines' loss follows the
# fp32 run's within 1% at every logged step; the precision is no part of the model, so a bf16
# checkpoint resumes in fp32 and an fp32 one in bf16, each to the step asked; and 1 and 2 ranks in
# bf16 agree as fp32 runs do (the split changes the rows a product sees, not its arithmetic).
source "${VAE_TESTS:?}/harness/lib.sh" train-bf16

"$bin/vae-synth" -o "$work/c.h5" --docs 240 --vocab 400 --topics 6 --sequences 3 --seq-length 6 --seed 4 \
  --quiet
"$bin/vae-synth" -o "$work/bags.h5" --docs 100 --vocab 80 --topics 4 --seed 4 --quiet
common=(--corpus "$work/c.h5" --model sentence --embedding 16 --hidden 24 --latent 4 --batch-size 16
        --eval-every 0 --log-every 5 --quiet --threads 1 --seed 11)

expect_status 1 mpi 2 "$bin/vae-dist" --corpus "$work/bags.h5" --out "$work/bow" --max-steps 2 --quiet --precision bf16
grep -q -- "--precision bf16: the bow model multiplies in fp32 only" "$work/err" || fail "bow: $(cat "$work/err")"
[ "$(grep -c "multiplies in fp32 only" "$work/err")" = 1 ] || fail "bow: more than one message"
[ ! -e "$work/bow/checkpoints/latest" ] || fail "bow: a checkpoint was written"
ok "bow refuses --precision bf16 with one message, exit 1"
expect_status 2 "$bin/vae-dist" "${common[@]}" --out "$work/bad" --precision fp16
ok "--precision fp16 is a usage error"

status=0
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/b16" --max-steps 30 --precision bf16 2>"$work/probe.err" ||
  status=$?
if [ "$status" != 0 ]; then
  [ "$status" = 2 ] || fail "bf16 run exited $status: $(cat "$work/probe.err")"
  grep -q -- "--precision bf16: this \(CPU\|build\) has no bfloat16" "$work/probe.err" ||
    fail "bf16 refused without saying why: $(cat "$work/probe.err")"
  echo "$pass checks passed; the bf16 runs skipped: $(head -1 "$work/probe.err")"
  exit 77
fi
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/f32" --max-steps 30
$py - "$work/b16" "$work/f32" <<'EOF' || fail "bf16 against fp32"
import json, sys
cfg = json.load(open(sys.argv[1] + "/config.json"))
assert cfg["precision"] == "bf16" and cfg["bf16_library"].startswith("oneDNN"), cfg
assert json.load(open(sys.argv[2] + "/config.json"))["precision"] == "fp32"
def losses(run):
    return [l["loss"] for l in map(json.loads, open(run + "/summary.jsonl")) if l.get("kind") == "train"]
b, f = losses(sys.argv[1]), losses(sys.argv[2])
assert len(b) == len(f) == 6, (b, f)
worst = max(abs(x - y) / abs(y) for x, y in zip(b, f))
print(f"worst relative difference of the train lines' loss: {worst:.2e}")
assert worst < 1e-2 and b != f, (b, f)
EOF
ok "bf16 on 2 ranks: config.json says so; the loss follows fp32's within 1% at every logged step"

cp -r "$work/b16" "$work/b16-then-f32"
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/b16-then-f32" --max-steps 40 --resume auto --precision fp32
cp -r "$work/f32" "$work/f32-then-b16"
mpi 2 "$bin/vae-dist" "${common[@]}" --out "$work/f32-then-b16" --max-steps 40 --resume auto --precision bf16
for r in b16-then-f32 f32-then-b16; do
  [ "$(cat "$work/$r/checkpoints/latest")" = "$(basename "$(latest "$work/$r")")" ] && valid "$(latest "$work/$r")" ||
    fail "$r: no valid checkpoint"
  $py -c 'import h5py, sys; s = int(h5py.File(sys.argv[1], "r").attrs["step"]); assert s == 40, s' \
    "$(latest "$work/$r")" || fail "$r: not at step 40"
done
ok "a bf16 checkpoint resumes in fp32, an fp32 one in bf16"

mpi 1 "$bin/vae-dist" "${common[@]}" --out "$work/b16-1" --max-steps 30 --precision bf16
$py "$tests/harness/ckpt_compare.py" "$(latest "$work/b16-1")" "$(latest "$work/b16")" 1e-3 ||
  fail "bf16: 1 vs 2 ranks"
ok "bf16: 1 and 2 ranks agree within 1e-3"
echo "$pass checks passed"
