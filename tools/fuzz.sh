#!/usr/bin/env bash
# Fuzzes the readers of untrusted input with libFuzzer: the tokenizer, the corpus reader and the
# checkpoint reader (harnesses in tests/fuzz/, seeds in tests/fuzz/seeds/<harness>/).
# Usage: tools/fuzz.sh [SECONDS] [HARNESS...]   (default 20 seconds each, all three harnesses)
#
# Installs clang and its libFuzzer runtime when missing, builds build-fuzz/ with clang,
# -DVAE_FUZZ=ON (ASan + UBSan + coverage), and runs each harness for SECONDS over its seeds, one at
# a time, printing the executions run. New interesting inputs go to build-fuzz/fuzz-out/<harness>/
# work, never into the seeds. Exits 1 on a crash, leak, timeout or out-of-memory in our code:
# its report is printed and its input kept as build-fuzz/fuzz-out/<harness>/crash-*; to keep it,
# copy it into tests/fuzz/regressions/<harness>/ (tests/test_fuzz_regressions.c replays those).
#
# HDF5 1.10 itself can crash on a damaged file (a heap overflow while it decodes an object header,
# say); libhdf5 is not ours to fix, so a crash whose innermost frame is in libhdf5 is counted, the
# first input of each kind kept under fuzz-out/<harness>/hdf5/ (and reported once), and fuzzing
# goes on for the time left.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(tokenize corpus checkpoint)
case $seconds in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac

if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz.sh: installing clang and libclang-rt-14-dev" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

build=build-fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DVAE_FUZZ=ON -DVAE_BUILD_TESTS=OFF >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" 2>&1 | grep -E "warning|error|Error" || true

export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# A request beyond what malloc can give returns NULL, as it does outside ASan (our callers report
# it); libFuzzer still reports any single allocation over -rss_limit_mb as an out-of-memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1:allocator_may_return_null=1"

# Who crashed, from a report's first stack: its innermost frame that lies either in libhdf5
# ("hdf5") or in this repository's sources ("ours"); the sanitizers, libFuzzer and libc are
# skipped. A report with neither counts as ours.
culprit() {
  awk -v root="$PWD/" '/ERROR: |runtime error|ALARM|out-of-memory/ { on = 1 }
       on && /^ *#[0-9]+ 0x/ {
         if ($0 ~ /libhdf5/) { print "hdf5"; found = 1; exit }
         if ($0 ~ (root "(src|tests|tools)/[^ ]*\\.c:[0-9]+")) { print "ours"; found = 1; exit }
       }
       END { if (!found) print "ours" }' "$1"
}

status=0
for h in "${harnesses[@]}"; do
  bin="$build/tests/fuzz/fuzz_$h"
  out="$build/fuzz-out/$h"
  mkdir -p "$out/work" "$out/hdf5"
  rm -f "$out"/run-*.log
  execs=0 hdf5=0 left=$seconds runs=0
  while [ "$left" -gt 0 ]; do
    start=$(date +%s)
    log="$out/run-$runs.log"
    # The harnesses' scratch files (one per process; a crashed process leaves its own).
    rm -rf "$out/tmp"
    mkdir -p "$out/tmp"
    set +e
    TMPDIR="$out/tmp" "$bin" -max_total_time="$left" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/" "$out/work" "tests/fuzz/seeds/$h" >"$log" 2>&1
    rc=$?
    set -e
    runs=$((runs + 1))
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
    left=$((left - ($(date +%s) - start)))
    [ $rc -eq 0 ] && break
    artifact=$(sed -n "s/.*Test unit written to //p" "$log" | tail -1)
    if [ "$(culprit "$log")" = hdf5 ] && [ -n "$artifact" ]; then
      # One input kept per kind of failure and innermost named HDF5 function.
      hdf5=$((hdf5 + 1))
      # An input kept in work/ can crash HDF5 when replayed after others (HDF5 keeps state across
      # files): drop it there, or every restart would crash while loading the corpus.
      rm -f "$out/work/${artifact##*-}"
      kind=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [A-Za-z-]+' "$log" | sed 's/.*: //' || true)
      fn=$(awk '/ERROR: /{on=1} on && /libhdf5/ && / in H5/ {sub(/.* in /, ""); sub(/ .*/, ""); print; exit}' "$log")
      sig="${kind:-crash}-${fn:-H5}"
      if [ ! -e "$out/hdf5/$sig" ]; then
        where=$(grep -m1 -E '^ *#[0-9]+ 0x.* in [a-z_]+ /' "$log" | sed 's/.* in //' || true)
        echo "fuzz_$h: a crash inside libhdf5 (not ours): $kind in $fn, called from ${where:-?}; input: $out/hdf5/$sig" >&2
        mv "$artifact" "$out/hdf5/$sig"
        cp "$log" "$out/hdf5/$sig.log"
      else
        rm -f "$artifact"
      fi
      continue
    fi
    echo "fuzz_$h: FAILED (exit $rc) after $execs executions; report:" >&2
    grep -v '^#[0-9]\|^"\|NEW_FUNC\|^INFO' "$log" | head -80 >&2
    echo "fuzz_$h: input: ${artifact:-none saved}; replay with: $bin ${artifact:-INPUT}" >&2
    status=1
    break
  done
  [ $status -eq 0 ] || break
  echo "fuzz_$h: $execs executions in ${seconds}s, no crash in our code$([ $hdf5 -gt 0 ] && echo "; $hdf5 inside libhdf5 (inputs in $out/hdf5/)")"
done
exit $status
