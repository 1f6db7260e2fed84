#!/usr/bin/env bash
# Benchmark of vae-prep: generates two synthetic text inputs (word-like text drawn from a fixed
# Zipf vocabulary, one document a line) of 50 MB and 200 MB, runs vae-prep on each with default
# settings and prints the throughput (input bytes over the wall time of both passes) and the peak
# RSS, which should not grow with the input. Goal: at least 50 MB/s on one core.
# Usage: tools/bench_prep.sh [BUILD_DIR (default build)] [WORK_DIR (default /tmp/vae_bench_prep)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=${2:-/tmp/vae_bench_prep}
prep=$build/vae-prep
[ -x "$prep" ] || { echo "bench_prep: $prep is missing: build first" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
    echo "bench_prep: installing GNU time" >&2
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
mkdir -p "$work"

# generate MB FILE: deterministic text of about MB megabytes.
generate() {
    [ -s "$2" ] && return
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys
import numpy as np
mb, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(20240601)
V = 30000
letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
lengths = rng.integers(3, 11, V)
words = ["".join(rng.choice(letters, n)) for n in lengths]
# every word also as "Word" and "word," so that folding and punctuation are exercised
forms = np.array(words + [w.capitalize() for w in words] + [w + "," for w in words], dtype=object)
p = 1.0 / np.arange(1, V + 1) ** 1.05
p /= p.sum()
written = 0
with open(path, "w") as f:
    while written < mb * 1_000_000:
        n = rng.integers(20, 400, 2000)  # a block of documents
        ids = rng.choice(V, n.sum(), p=p) + V * rng.choice(3, n.sum(), p=[0.9, 0.05, 0.05])
        toks = forms[ids]
        ends = np.cumsum(n)
        block = "".join(" ".join(toks[e - k:e]) + ".\n" for k, e in zip(n, ends))
        f.write(block)
        written += len(block)
EOF
}

# bench FILE: runs vae-prep on FILE, prints MB/s and the peak RSS. The CPU time (user + sys) is
# printed too: on a shared machine it is the steadier of the two.
bench() {
    local in=$1 out=$work/out.h5 log=$work/time.log
    /usr/bin/time -v "$prep" --quiet -o "$out" "$in" 2>"$log"
    local bytes wall cpu rss
    bytes=$(stat -c %s "$in")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$log")
    cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    awk -v b="$bytes" -v w="$wall" -v c="$cpu" -v r="$rss" -v f="$(basename "$in")" 'BEGIN {
        printf "%-12s %7.1f MB  wall %6.2f s = %6.1f MB/s  cpu %6.2f s = %6.1f MB/s  peak RSS %5.1f MB\n",
               f, b / 1e6, w, b / 1e6 / w, c, b / 1e6 / c, r / 1024 }'
    rm -f "$out"
}

generate 50 "$work/text50.txt"
generate 200 "$work/text200.txt"
echo "vae-prep ($("$prep" --version)), defaults, both passes, on $(nproc) cores (vae-prep uses one):"
bench "$work/text50.txt"
bench "$work/text200.txt"
