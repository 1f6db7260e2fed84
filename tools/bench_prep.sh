#!/usr/bin/env bash
# Benchmark of vae-prep: generates two synthetic text inputs (word-like text drawn from a fixed
# Zipf vocabulary, one document a line, a sentence each) of 50 MB and 200 MB, and a third, the
# 50 MB one with every ',' made a '.' (a sentence every 20 words or so); runs vae-prep on each with
# default settings, then, on each, the best of 3 of a plain run with the settings --sequences
# implies and of --sequences sentence, and prints the throughput (input bytes over the wall time of
# both passes) and the peak RSS, which should not grow with the input. Goals: at least 50 MB/s on
# one core; --sequences within 15% of the plain run with the same settings (the ratio lines: its
# time over the plain run's, wall and CPU).
# Then parallel preparation on the 200 MB input: one process against `mpirun -np 2`, alternated,
# best of 3 by wall time each (startup included): MB/s and, for every rank, its CPU time and peak
# RSS. Goals: at least 1.7x one process's rate at 2 ranks (on 2 idle cores: the load average is
# printed), and no rank's peak RSS above one process's. The ratio of CPU times (one process's over
# the busiest rank's) is printed too: on a loaded machine, where the kernel's autogroups give one
# session's processes one share however many they are, it is the rate that idle cores would give.
# Usage: tools/bench_prep.sh [BUILD_DIR (default build)] [WORK_DIR (default /tmp/vae_bench_prep)]
#        [PART: all (default), single (one process only) or ranks (the parallel part only)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=${2:-/tmp/vae_bench_prep}
part=${3:-all}
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

# ranks N FILE: vae-prep on N ranks (N = 1: a plain process), each rank under GNU time; leaves the
# wall seconds in $wall and a line per rank (CPU seconds, peak RSS) in $per_rank.
ranks() {
    local n=$1 in=$2 out=$work/out.h5 start
    rm -f "$work"/rank*.time
    start=$(date +%s.%N)
    if [ "$n" -eq 1 ]; then
        /usr/bin/time -f "%U %S %M" -o "$work/rank0.time" "$prep" --quiet -o "$out" "$in"
    else
        mpirun -np "$n" --bind-to none bash -c \
            '/usr/bin/time -f "%U %S %M" -o "$0/rank$OMPI_COMM_WORLD_RANK.time" "$@"' "$work" "$prep" --quiet -o "$out" "$in"
    fi
    wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
    busiest=$(cat "$work"/rank*.time | awk '{ c = $1 + $2; if (c > m) m = c } END { print m }')
    per_rank=$(for r in $(seq 0 $((n - 1))); do
        awk -v r="$r" '{ printf "rank %d: cpu %.2f s, peak RSS %.1f MB; ", r, $1 + $2, $3 / 1024 }' "$work/rank$r.time"
    done)
    rm -f "$out"
}

# parallel FILE: one process and 2 ranks alternated three times; the best wall of each.
parallel() {
    local bytes best1='' best2='' line1 line2 cpu1 cpu2
    bytes=$(stat -c %s "$1")
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    echo "parallel preparation of $(basename "$1") ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for _ in 1 2 3; do
        ranks 1 "$1"
        if [ -z "$best1" ] || awk -v a="$wall" -v b="$best1" 'BEGIN { exit !(a < b) }'; then best1=$wall line1=$per_rank cpu1=$busiest; fi
        ranks 2 "$1"
        if [ -z "$best2" ] || awk -v a="$wall" -v b="$best2" 'BEGIN { exit !(a < b) }'; then best2=$wall line2=$per_rank cpu2=$busiest; fi
    done
    awk -v b="$bytes" -v w="$best1" 'BEGIN { printf "  1 process: wall %6.2f s = %6.1f MB/s; ", w, b / 1e6 / w }'
    echo "$line1"
    awk -v b="$bytes" -v w="$best2" 'BEGIN { printf "  2 ranks:   wall %6.2f s = %6.1f MB/s; ", w, b / 1e6 / w }'
    echo "$line2"
    awk -v a="$best1" -v b="$best2" -v c="$cpu1" -v d="$cpu2" \
        'BEGIN { printf "  2 ranks against 1: x%.2f by wall (goal x1.7), x%.2f by the busiest rank'"'"'s CPU\n", a / b, c / d }'
    echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

generate 50 "$work/text50.txt"
generate 200 "$work/text200.txt"
[ -s "$work/sentences50.txt" ] || tr ',' '.' <"$work/text50.txt" >"$work/sentences50.txt"
if [ "$part" != ranks ]; then
    echo "vae-prep ($("$prep" --version)), both passes, on $(nproc) cores (vae-prep uses one):"
    compare "$work/text50.txt"
    compare "$work/text200.txt"
    compare "$work/sentences50.txt"
fi
[ "$part" = single ] || parallel "$work/text200.txt"
