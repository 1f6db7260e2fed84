#!/usr/bin/env bash
# Benchmark of vae-prep: generates two synthetic text inputs (word-like text drawn from a fixed
# Zipf vocabulary, one document a line, a sentence each) of 50 MB and 200 MB, and a third, the
# 50 MB one with every ',' made a '.' (a sentence every 20 words or so); runs vae-prep on each with
# default settings, then, on each, the best of 3 of a plain run with the settings --sequences
# implies and of --sequences sentence, and prints the throughput (input bytes over the wall time of
# both passes) and the peak RSS, which should not grow with the input. Goals: at least 50 MB/s on
# one core; --sequences within 15% of the plain run with the same settings (the ratio lines: its
# time over the plain run's, wall and CPU).
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

# bench LABEL FILE [ARGS...]: runs vae-prep ARGS on FILE; leaves a line with MB/s and the peak
# RSS in $line, the wall and CPU seconds in $wall and $cpu. The CPU time (user + sys) is printed
# too: on a shared machine it is the steadier of the two.
bench() {
    local label=$1 in=$2 out=$work/out.h5 log=$work/time.log
    shift 2
    /usr/bin/time -v "$prep" --quiet "$@" -o "$out" "$in" 2>"$log"
    local bytes rss
    bytes=$(stat -c %s "$in")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$log")
    cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    line=$(awk -v b="$bytes" -v w="$wall" -v c="$cpu" -v r="$rss" -v f="$(basename "$in")" -v a="$label" 'BEGIN {
        printf "%-16s %-20s %6.1f MB  wall %6.2f s = %6.1f MB/s  cpu %6.2f s = %6.1f MB/s  peak RSS %5.1f MB",
               f, a, b / 1e6, w, b / 1e6 / w, c, b / 1e6 / c, r / 1024 }')
    rm -f "$out"
}

# best LABEL FILE ARGS...: bench, three times; keeps the run with the least CPU time.
best() {
    local best_line best_wall best_cpu
    for _ in 1 2 3; do
        bench "$@"
        if [ -z "${best_cpu:-}" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then
            best_line=$line best_wall=$wall best_cpu=$cpu
        fi
    done
    line=$best_line wall=$best_wall cpu=$best_cpu
}

# compare FILE: defaults; then the plain run with the settings --sequences implies ("lm
# settings"), and --sequences sentence with its times relative to that one's.
compare() {
    bench defaults "$1"
    echo "$line"
    best "plain, lm settings" "$1" --stopwords none --min-token-len 1 --max-df-frac 1
    echo "$line"
    local plain_wall=$wall plain_cpu=$cpu
    best "--sequences sentence" "$1" --sequences sentence
    echo -n "$line"
    awk -v w="$wall" -v c="$cpu" -v pw="$plain_wall" -v pc="$plain_cpu" \
        'BEGIN { printf "  x%.2f wall, x%.2f cpu\n", w / pw, c / pc }'
}

generate 50 "$work/text50.txt"
generate 200 "$work/text200.txt"
[ -s "$work/sentences50.txt" ] || tr ',' '.' <"$work/text50.txt" >"$work/sentences50.txt"
echo "vae-prep ($("$prep" --version)), both passes, on $(nproc) cores (vae-prep uses one):"
compare "$work/text50.txt"
compare "$work/text200.txt"
compare "$work/sentences50.txt"
