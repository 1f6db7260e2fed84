#!/usr/bin/env bash
# `mpirun -np N vae-prep` (SPEC "Parallel preparation") writes, for N = 2, 3 and 4, the file that
# one process writes (vae-prep run plainly), dataset for dataset, value for value, attribute for
# attribute (tests/harness/h5_identical.py), on these inputs: many small files of several sizes
# (some empty, a nested folder) as lines and as files, one large lines file (blank, white-space and
# CRLF lines, no LF at its end), jsonl, a file smaller than the number of ranks, empty files, with
# --sequences sentence and line (cut by --max-length), and --vocab-from; inputs of empty files
# alone fail alike on every N; and where the launcher's rank and size, by which the first pass
# begins, are wrong. Rank 0's progress lines stay within the input's size. Faults: an unreadable file in rank 1's share, a bad JSON line in
# rank 2's share (inside a large file, so that its line number is counted across pieces) and a
# writer out of disk end every rank with exit 1 and one message, the one a single process gives,
# and leave no file.
source "${VAE_TESTS:?}/harness/lib.sh" prep-parallel
prep="$bin/vae-prep"

# The cut of the inputs (src/text/prep_parallel.c): pieces of min(total / (8 N) + 1, 1 MiB) bytes,
# piece k to rank k mod N while MPI starts (which the small inputs below do not outlast here: their shares
# are these); a document belongs to the piece holding its first byte.
$py - "$work" <<'PYEOF'
import json, os, random, sys
work = sys.argv[1]
rng = random.Random(20)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(400)]
def text(n):
    out = []
    for i in range(n):
        w = words[min(int(rng.paretovariate(1.1)) - 1, len(words) - 1)]
        out.append(w.capitalize() if rng.random() < 0.1 else w)
        if rng.random() < 0.08:
            out[-1] += rng.choice([".", "!", "?", ","])
    return " ".join(out)
def line():
    r = rng.random()
    return "" if r < 0.03 else "  \t " if r < 0.05 else text(rng.randint(1, 60)) + ("\r" if r < 0.1 else "")
os.makedirs(f"{work}/many/sub")
for i in range(60):
    folder = "many/sub" if i % 7 == 3 else "many"
    with open(f"{work}/{folder}/f{i:02d}.txt", "w") as f:
        if i % 9 != 4:
            f.write("\n".join(line() for _ in range(rng.randint(1, 30))) + "\n")
for name in ("zz0", "zz1"):  # empty files at the very end of the stream
    open(f"{work}/many/{name}", "w").close()
with open(f"{work}/big.txt", "w") as f:
    f.write("\n".join(line() for _ in range(8000)))  # no LF at the end
with open(f"{work}/data.jsonl", "w") as f:
    for i in range(3000):
        if i % 50 == 7:
            f.write("\n")
        f.write(json.dumps({"id": i, "meta": {"tags": ["a", "b"], "x": [1, 2.5, None]},
                            "text": text(rng.randint(1, 40)) + (" caf\u00e9 \u00fcber" if i % 5 == 0 else "")},
                           ensure_ascii=i % 2 == 0) + "\n")
with open(f"{work}/tiny.txt", "w") as f:
    f.write("cat")  # 3 bytes: fewer than the ranks
os.makedirs(f"{work}/empty")
for name in ("a", "b", "d"):
    open(f"{work}/empty/{name}", "w").close()
with open(f"{work}/empty/c", "w") as f:
    f.write("dog cat dog\n")
os.makedirs(f"{work}/onlyempty")
for name in ("a", "b"):
    open(f"{work}/onlyempty/{name}", "w").close()
PYEOF

# same NAME ARGS...: the file of 1 process against 2, 3 and 4 ranks'.
# Their summary lines too, but for the file's name and the time: the same counts, the same bytes.
summary() { sed -n -e '/^vae-prep: wrote /{s|wrote [^:]*:|wrote:|' -e 's| in [0-9.]* s (.*||' -e p -e '}' "$1"; }
same() {
  local name=$1
  shift
  "$prep" "$@" -o "$work/$name-1.h5" 2>"$work/$name-1.err"
  for n in 2 3 4; do
    timeout 60 mpirun -np $n "${mpi_flags[@]}" "$prep" "$@" -o "$work/$name-$n.h5" </dev/null 2>"$work/$name-$n.err" ||
      fail "$name: $n ranks exited $?"
  done
  $py "$tests/harness/h5_identical.py" "$work/$name"-{1,2,3,4}.h5 || fail "$name: the ranks wrote another file than one process"
  local one
  one=$(summary "$work/$name-1.err")
  [ -n "$one" ] || fail "$name: one process printed no summary line"
  for n in 2 3 4; do
    [ "$(summary "$work/$name-$n.err")" = "$one" ] ||
      fail "$name: $n ranks' summary '$(summary "$work/$name-$n.err")' is not one process's '$one'"
  done
  ok "$name: 1, 2, 3 and 4 ranks write the same file and the same summary"
}

same many-lines "$work/many"
same many-files --format files "$work/many"
same big-lines "$work/big.txt"
same jsonl --format jsonl "$work/data.jsonl"
same tiny --min-df 1 --max-df-frac 1 --valid-frac 0 --test-frac 0 "$work/tiny.txt"
same empty-files --format files --min-df 1 --max-df-frac 1 --valid-frac 0 --test-frac 0 "$work/empty"
same sentences --sequences sentence "$work/big.txt" "$work/many"
same lines-cut --sequences line --max-length 5 "$work/many"
same vocab-from --vocab-from "$work/big-lines-1.h5" --format jsonl "$work/data.jsonl"
$py - "$work/big-lines-1.h5" <<'PYEOF' || fail "the big file's corpus is not as large as the test means"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    sys.exit(not (f["train/indptr"].shape[0] > 6000 and f.attrs["vocab_size"] > 100))
PYEOF

# A first pass longer than MPI's start, so that most pieces are drawn from the node's counter
# (src/text/prep_parallel.c, count_rest): big.txt 60 times over (90 MB: 4 oversubscribed ranks
# count some 8 of its 86 pieces each while MPI starts), on one node (2 ranks), on two emulated nodes
# of 2 ranks (4 ranks, --ranks-per-node 2: each node draws its share) and on uneven ones (3 ranks,
# --ranks-per-node 2: pieces in turn to the end).
for i in $(seq 60); do cat "$work/big.txt"; echo; done >"$work/huge.txt"
"$prep" --quiet -o "$work/huge-1.h5" "$work/huge.txt" || fail "huge: one process exited $?"
for layout in "2" "4 --ranks-per-node 2" "3 --ranks-per-node 2"; do
  read -r n flags <<<"$layout"
  # shellcheck disable=SC2086 # flags: none, or the flag and its value
  timeout 120 mpirun -np "$n" "${mpi_flags[@]}" "$prep" --quiet $flags -o "$work/huge-n.h5" "$work/huge.txt" \
    </dev/null 2>"$work/huge.err" || fail "huge on $layout: exit $?: $(cat "$work/huge.err")"
  $py "$tests/harness/h5_identical.py" "$work/huge-1.h5" "$work/huge-n.h5" ||
    fail "huge on $layout ranks: another file than one process's"
done
ok "a first pass longer than MPI's start: 2 ranks, 2 nodes of 2, uneven nodes write one process's file"

# Progress: rank 0's lines count the whole input in both passes, never past it, whichever pieces
# rank 0 drew (its own share is not known in advance). The huge input three times over (250 MB),
# both ranks on one core, so that each pass lasts seconds (3 here; a line comes once a second).
taskset -c 0 mpirun -np 2 "${mpi_flags[@]}" "$prep" -o "$work/huge-n.h5" "$work/huge.txt" "$work/huge.txt" \
  "$work/huge.txt" </dev/null 2>"$work/huge.err" || fail "huge with progress: exit $?: $(cat "$work/huge.err")"
total=$(awk -v b="$(stat -c %s "$work/huge.txt")" 'BEGIN { printf "%.1f", 3 * b / 1e6 }')
grep -q '^vae-prep: pass 1/2: ' "$work/huge.err" || fail "no progress line in pass 1: $(cat "$work/huge.err")"
bad=$(awk -v t="$total" '/^vae-prep: pass [12]\/2: / && ($6 != t || $4 + 0 > $6 + 0)' "$work/huge.err")
[ -z "$bad" ] || fail "progress lines past or beside the input's $total MB: $bad"
ok "progress on 2 ranks: $(grep -c '^vae-prep: pass' "$work/huge.err") lines, each within the input's $total MB"

# The first pass begins by the launcher's word (rank and size from its environment) while MPI
# starts; where the word is wrong, the run begins again by MPI's (src/text/prep.c): a plain process
# told it is rank 1 of 3, two ranks told each other's rank, and two ranks each told by a stale PMI
# pair that it is alone all write one process's file and print its summary once.
wrong_word() {
  local name=$1
  shift
  "$@" "$prep" "$work/big.txt" -o "$work/word-$name.h5" </dev/null 2>"$work/word-$name.err" ||
    fail "told wrong ($name): exit $?: $(cat "$work/word-$name.err")"
  $py "$tests/harness/h5_identical.py" "$work/big-lines-1.h5" "$work/word-$name.h5" ||
    fail "told wrong ($name): another file than one process's"
  [ "$(summary "$work/word-$name.err")" = "$(summary "$work/big-lines-1.err")" ] ||
    fail "told wrong ($name): the summary '$(summary "$work/word-$name.err")', not one process's"
}
wrong_word plain env OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=3
wrong_word swapped timeout 60 mpirun -np 2 "${mpi_flags[@]}" \
  bash -c 'OMPI_COMM_WORLD_RANK=$((1 - OMPI_COMM_WORLD_RANK)) exec "$@"' swap
wrong_word alone timeout 60 mpirun -np 2 "${mpi_flags[@]}" \
  env -u OMPI_COMM_WORLD_RANK -u OMPI_COMM_WORLD_SIZE PMI_RANK=0 PMI_SIZE=1
ok "the launcher's word wrong (rank 1 of 3 alone, ranks swapped, each alone of 2): one process's file and summary"

# fails NAME WANT_RANKS ARGS...: exit 1 with one message on 1 process and on each of WANT_RANKS,
# the same message, and no file under the output's name nor a temporary one beside it.
fails() {
  local name=$1 ranks=$2 out="$work/fail/$1.h5"
  shift 2
  mkdir -p "$work/fail"
  set +e
  "$prep" --quiet "$@" -o "$out" 2>"$work/err-1" </dev/null
  local rc=$?
  set -e
  [ $rc -eq 1 ] || fail "$name: one process exited $rc, not 1: $(cat "$work/err-1")"
  for n in $ranks; do
    set +e
    timeout 60 mpirun -np $n "${mpi_flags[@]}" "$prep" --quiet "$@" -o "$out" 2>"$work/err-$n" </dev/null
    rc=$?
    set -e
    [ $rc -eq 1 ] || fail "$name: $n ranks exited $rc, not 1: $(cat "$work/err-$n")"
    [ "$(grep -c '^vae-prep:' "$work/err-$n")" -eq 1 ] || fail "$name: $n ranks printed $(cat "$work/err-$n")"
    [ "$(grep '^vae-prep:' "$work/err-$n")" = "$(cat "$work/err-1")" ] ||
      fail "$name: $n ranks said $(grep '^vae-prep:' "$work/err-$n"), one process $(cat "$work/err-1")"
    [ -z "$(ls -A "$work/fail")" ] || fail "$name: $n ranks left $(ls -A "$work/fail")"
  done
  ok "$name: exit 1, one message (one process's: $(cut -c1-90 "$work/err-1")), no file on $ranks ranks"
}

fails only-empty "4" "$work/onlyempty"

# owner N FILE_OR_BYTE...: the rank whose piece holds byte B of a stream of TOTAL bytes.
owner() { $py -c "import sys; t, b, n = map(int, sys.argv[1:]); print((b // min(t // (8 * n) + 1, 1 << 20)) % n)" "$@"; }

# An unreadable file (a link to /proc/self/mem: listed as an empty file, its read fails even as
# root) in rank 1's share of 2 ranks, whole files.
mkdir "$work/unreadable"
cp "$work"/many/f*.txt "$work/unreadable/"
total=$(cat "$work"/unreadable/* | wc -c)
at=0
for f in "$work"/unreadable/*; do
  at=$((at + $(stat -c %s "$f")))
  if [ "$(owner $total $at 2)" = 1 ]; then
    ln -s /proc/self/mem "$f.bad"
    break
  fi
done
ls "$work"/unreadable/*.bad >/dev/null || fail "no place of rank 1 for the unreadable file"
fails unreadable "2 3" --format files "$work/unreadable"

# A bad JSON line in rank 2's share of 3 ranks, in a piece that starts inside the file.
cp "$work/data.jsonl" "$work/bad.jsonl"
$py - "$work/bad.jsonl" <<'PYEOF'
import sys
path = sys.argv[1]
lines = open(path, "rb").read().split(b"\n")
total = sum(len(l) + 1 for l in lines) - 1
piece = min(total // 24 + 1, 1 << 20)
at = 0
for i, l in enumerate(lines):
    k = at // piece
    if k % 3 == 2 and k >= 5 and at > k * piece and l:
        lines[i] = b'{"text": "unterminated' + b" " * max(0, len(l) - 22)
        break
    at += len(l) + 1
open(path, "wb").write(b"\n".join(lines))
PYEOF
fails bad-json "3" --format jsonl "$work/bad.jsonl"
grep -q "bad.jsonl:[0-9]*: malformed JSON" "$work/err-1" || fail "bad-json: $(cat "$work/err-1")"

# The writer out of disk (RLIMIT_FSIZE on every rank; only rank 0 writes): no rank waits. Over TCP,
# since the limit would also refuse Open MPI's shared-memory files.
set +e
timeout 60 mpirun -np 3 "${mpi_flags[@]}" --mca btl self,tcp bash -c 'ulimit -f 64; exec "$0" "$@"' "$prep" --quiet \
  -o "$work/fail/full.h5" "$work/big.txt" 2>"$work/err-full" </dev/null
rc=$?
set -e
[ $rc -eq 1 ] && [ "$(grep -c '^vae-prep:' "$work/err-full")" -eq 1 ] ||
  fail "a writer out of disk: exit $rc: $(cat "$work/err-full")"
[ -z "$(ls -A "$work/fail")" ] || fail "a writer out of disk left $(ls -A "$work/fail")"
ok "a writer out of disk on 3 ranks: exit 1, one message ($(grep '^vae-prep:' "$work/err-full" | cut -c1-80)), no file"
echo "$pass passed, 0 failed"
