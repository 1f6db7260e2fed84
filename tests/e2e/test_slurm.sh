#!/usr/bin/env bash
# jobs/prep.sbatch and jobs/train.sbatch under a real single-node Slurm (Debian's slurm-wlm, munge)
# started here for localhost, without cgroups: the prep job writes a corpus, on one task and on
# two alike; the training job is sent USR1 mid-run (`scancel --batch`, as Slurm's --signal=B:USR1
# would), checkpoints, requeues itself, and its second run finishes with parameters bitwise equal
# to an uninterrupted run.
# Everything lives in a mktemp folder (config, state, spool, logs, munge socket and key, own ports);
# daemons are started detached and stopped by PID on every exit path; the comments below give the
# facts behind each step of the set-up. Prints "SKIPPED: ..." and exits 0 only when the packages
# are missing and cannot be installed (no network, or not root).
source "${VAE_TESTS:?}/harness/lib.sh" slurm
# Failures are checked one by one below: the daemons' start-up tolerates failing probes.
set +e
root=$(cd "$tests/.." && pwd)
# Nothing from an enclosing Slurm job or the caller's Slurm settings may leak into ours.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM_|SBATCH_|SALLOC_|SRUN_|SQUEUE_|SINFO_|SCONTROL_|SCANCEL_)')
# The daemons live in /usr/sbin, which a caller's PATH may leave out: a plain `ctest` needs no set-up.
PATH=$PATH:/usr/sbin:/sbin

T=$work
chmod 755 "$T"                       # munged wants every folder above its socket searchable
mkdir -p "$T/munge" "$T/msock" "$T/state" "$T/spool" "$T/run" "$T/log" "$T/work"
chmod 700 "$T/munge"
chmod 755 "$T/msock"
conf=$T/slurm.conf
sock=$T/msock/munge.socket
work=$T/work
munged_pid='' ctld_pid='' slurmd_pid=''
jobids=()
started=$(date +%s)

elapsed() { echo $(($(date +%s) - started)); }
# stop PID: TERM, up to 10 s, then KILL.
stop() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  local p
  trap - EXIT INT TERM HUP
  if [ -n "$ctld_pid" ] && [ ${#jobids[@]} -gt 0 ]; then
    timeout 10 scancel "${jobids[@]}" >/dev/null 2>&1
    local deadline=$((SECONDS + 20))
    while [ $SECONDS -lt $deadline ] && [ -n "$(timeout 5 squeue -h -o %i 2>/dev/null)" ]; do sleep 0.2; done
  fi
  stop "$slurmd_pid"
  stop "$ctld_pid"
  stop "$munged_pid"
  # Whatever a job left behind (only processes that run under this test's slurm.conf).
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    grep -qzx "SLURM_CONF=$conf" "$p/environ" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

diagnose() {
  local f
  for f in "$T"/log/* "$work"/*.log; do
    [ -s "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 25 "$f" >&2
  done
}
fail() { echo "FAIL: $* (after $(elapsed) s)" >&2; diagnose; exit 1; }
skip() { echo "SKIPPED: $*"; exit 0; }
pass=0
ok() { pass=$((pass + 1)); echo "ok - $* ($(elapsed) s)"; }

# 1. Packages: install slurm-wlm and munge when missing; skip only when that cannot be done.
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
missing=()
for p in slurm-wlm munge; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || skip "${missing[*]} not installed, and installing needs root"
  command -v apt-get >/dev/null || skip "${missing[*]} not installed, and there is no apt-get"
  apt_log=$T/log/apt.log
  apt_install() {
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q -o DPkg::Lock::Timeout=60 \
      "${missing[@]}" </dev/null >>"$apt_log" 2>&1
  }
  if ! apt_install; then
    DEBIAN_FRONTEND=noninteractive timeout 180 apt-get update -q </dev/null >>"$apt_log" 2>&1
    if ! apt_install; then
      if grep -qE 'Temporary failure resolving|Could not resolve|Failed to fetch|Unable to fetch|Could not connect|Network is unreachable|Connection timed out|Connection failed' "$apt_log"; then
        skip "cannot install ${missing[*]}: no network ($(grep -m1 -oE '(Temporary failure resolving|Could not resolve|Failed to fetch|Unable to fetch|Could not connect|Network is unreachable|Connection timed out|Connection failed).{0,80}' "$apt_log"))"
      fi
      fail "apt-get install ${missing[*]} failed: $(tail -n 5 "$apt_log")"
    fi
  fi
  ok "installed ${missing[*]}"
fi
for c in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
  command -v "$c" >/dev/null || fail "$c not found after installing slurm-wlm and munge"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs, and this is uid $(id -u)"

# 2. munged on a socket of our own with a key of our own, then slurmctld and slurmd on free ports.
mungekey --create --keyfile="$T/munge/munge.key" >/dev/null 2>&1 || fail "mungekey --create"
setsid munged -F --socket="$sock" --key-file="$T/munge/munge.key" --pid-file="$T/munge/munged.pid" \
  --seed-file="$T/munge/munged.seed" --log-file="$T/log/munged.log" </dev/null >"$T/log/munged.out" 2>&1 &
munged_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; kill -0 "$munged_pid" 2>/dev/null || break; sleep 0.1; done
timeout 10 munge -S "$sock" -n </dev/null | timeout 10 unmunge -S "$sock" >/dev/null 2>&1 ||
  fail "munged on $sock does not answer: $(cat "$T/log/munged.out")"

host=$(hostname -s)
read -r ctld_port slurmd_port < <($py -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
[ -n "$slurmd_port" ] || fail "no free ports"
# The node line from slurmd -C, with RealMemory below what slurmd detects (else the node drains).
node=$(SLURM_CONF=/dev/null slurmd -C 2>/dev/null | grep '^NodeName=') || fail "slurmd -C: no node line"
mem=$(grep -o 'RealMemory=[0-9]*' <<<"$node" | cut -d= -f2)
[ -n "$mem" ] || fail "slurmd -C: no RealMemory in '$node'"
node=$(sed -E "s/^NodeName=[^ ]+/NodeName=$host NodeAddr=127.0.0.1/; s/RealMemory=[0-9]+/RealMemory=$((mem * 9 / 10))/" <<<"$node")
cat >"$conf" <<EOF
ClusterName=vaetest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock,cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=5
SchedulerParameters=sched_interval=1,bf_interval=1
MinJobAge=600
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf
setsid slurmctld -D -i -f "$conf" </dev/null >"$T/log/slurmctld.out" 2>&1 &
ctld_pid=$!
setsid slurmd -D -N "$host" -f "$conf" </dev/null >"$T/log/slurmd.out" 2>&1 &
slurmd_pid=$!
state=''
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  kill -0 "$ctld_pid" 2>/dev/null || fail "slurmctld exited"
  kill -0 "$slurmd_pid" 2>/dev/null || fail "slurmd exited"
  state=$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || fail "node $host not idle after 30 s (state '$state')"
ok "munged, slurmctld and slurmd started (ports $ctld_port, $slurmd_port); node $host idle"

# job_field JOB FIELD: a field of `scontrol show job` (empty when the job is unknown).
job_field() { timeout 10 scontrol -o show job "$1" 2>/dev/null | grep -o "\b$2=[^ ]*" | head -1 | cut -d= -f2-; }

# 3. The prep job on a made-up text: three topics of ten words, 400 lines, from a fixed LCG.
awk 'BEGIN {
  split("apple banana cherry grape lemon mango melon peach pear plum " \
        "river mountain forest valley ocean desert island canyon meadow glacier " \
        "engine piston gearbox clutch brake axle turbine throttle radiator chassis", w, " ")
  s = 1
  for (d = 0; d < 400; d++) {
    s = (s * 75 + 74) % 65537; k = s % 3
    s = (s * 75 + 74) % 65537; len = 6 + s % 8
    line = ""
    for (i = 0; i < len; i++) { s = (s * 75 + 74) % 65537; line = line (i ? " " : "") w[1 + 10 * k + int(s / 7) % 10] }
    print line
  }
}' >"$work/input.txt" || fail "awk"
export VAE_DIST_BIN=$bin
out=$(cd "$work" && timeout 60 sbatch --wait -o "$work/prep-%j.log" "$root/jobs/prep.sbatch" \
  --format lines -o "$work/corpus.h5" "$work/input.txt" </dev/null 2>&1)
rc=$?
prep_id=$(grep -o 'Submitted batch job [0-9]*' <<<"$out" | grep -o '[0-9]*$')
[ -n "$prep_id" ] && jobids+=("$prep_id")
[ $rc -eq 0 ] || fail "prep job: sbatch --wait exited $rc: $out"
[ -n "$prep_id" ] || fail "prep job: no job id in: $out"
[ -s "$work/corpus.h5" ] || fail "prep job $prep_id: no corpus written"
[ "$(job_field "$prep_id" JobState)" = COMPLETED ] || fail "prep job $prep_id: state $(job_field "$prep_id" JobState)"
summary=$($py "$tests/interop/interop_corpus.py" "$work/corpus.h5") || fail "prep job: corpus does not read back"
$py -c 'import json, sys; a = json.loads(sys.argv[1])["attrs"]; sys.exit(not (a["vocab_size"] == 30 and a["docs_kept"] == 400))' "$summary" ||
  fail "prep job: unexpected corpus: ${summary:0:300}"
ok "prep job $prep_id: exit 0, corpus of 400 documents and 30 words"

# The same job on two tasks: prep.sbatch runs vae-prep on both (SPEC "Parallel preparation"), which
# write the file that one task wrote, dataset for dataset.
out=$(cd "$work" && timeout 60 sbatch --wait -n 2 -o "$work/prep2-%j.log" "$root/jobs/prep.sbatch" \
  --format lines -o "$work/corpus2.h5" "$work/input.txt" </dev/null 2>&1)
rc=$?
prep2_id=$(grep -o 'Submitted batch job [0-9]*' <<<"$out" | grep -o '[0-9]*$')
[ -n "$prep2_id" ] && jobids+=("$prep2_id")
[ $rc -eq 0 ] || fail "prep job on 2 tasks: sbatch --wait exited $rc: $out"
[ "$(job_field "$prep2_id" JobState)" = COMPLETED ] || fail "prep job $prep2_id: state $(job_field "$prep2_id" JobState)"
grep -q "^prep.sbatch: job $prep2_id on 2 tasks: ${VAE_LAUNCHER:-mpirun} " "$work/prep2-$prep2_id.log" ||
  fail "prep job $prep2_id: no 2-rank launch in its log: $(cat "$work/prep2-$prep2_id.log")"
$py "$tests/harness/h5_identical.py" "$work/corpus.h5" "$work/corpus2.h5" ||
  fail "prep job $prep2_id: 2 tasks wrote another corpus than 1"
ok "prep job $prep2_id on 2 tasks: vae-prep on both ranks, the corpus of one task"

# 4. Training. Steps are calibrated so that a run takes about 20 s (the calibration itself may take
# longer on a loaded machine, hence its wider timeout): long enough to be
# signalled mid-run, short enough for the whole test to take a minute or two.
train=(--corpus "$work/corpus.h5" --epochs 100000 --batch-size 16 --checkpoint-every 0 --eval-every 0
       --log-every 1000 --quiet)
timeout 120 mpirun -np 2 --oversubscribe "$bin/vae-dist" --threads 1 "${train[@]}" --out "$work/calib" \
  --max-steps 10000 </dev/null >"$work/calib.log" 2>&1 || fail "calibration run: $(tail -n 5 "$work/calib.log")"
# 20 s worth of steps at the rate of the calibration run (its wall_s at step 10000), 20000 to 400000.
steps=$($py -c '
import json, sys
wall = [json.loads(l)["wall_s"] for l in open(sys.argv[1]) if "\"step\": 10000," in l][0]
print(min(400000, max(20000, int(20 / (wall / 10000)) // 1000 * 1000)))' "$work/calib/summary.jsonl") ||
  fail "calibration run: no wall_s at step 10000 in its summary"
train+=(--max-steps "$steps")

# The uninterrupted reference, outside Slurm, on the same corpus, flags, ranks and threads.
t0=$(date +%s)
timeout 150 mpirun -np 2 --oversubscribe "$bin/vae-dist" --threads 1 "${train[@]}" --out "$work/ref" \
  </dev/null >"$work/ref.log" 2>&1 || fail "reference run: $(tail -n 5 "$work/ref.log")"
ref_s=$(($(date +%s) - t0))
ref_ck=$work/ref/checkpoints/$(cat "$work/ref/checkpoints/latest" 2>/dev/null)
[ -f "$ref_ck" ] || fail "reference run: no checkpoint"
ok "reference run: $steps steps in $ref_s s (calibrated for 20 s)"

out=$(cd "$work" && timeout 30 sbatch --parsable -n 2 --requeue --open-mode=append -o "$work/train-%j.log" \
  "$root/jobs/train.sbatch" "${train[@]}" --out "$work/run" </dev/null 2>&1) || fail "sbatch train: $out"
jid=${out%%;*}
[[ $jid =~ ^[0-9]+$ ]] || fail "sbatch train: no job id in '$out'"
jobids+=("$jid")
log=$work/train-$jid.log
st=''
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  st=$(job_field "$jid" JobState)
  [ "$st" = RUNNING ] && [ -s "$work/run/summary.jsonl" ] && break
  case $st in PENDING|RUNNING|CONFIGURING|'') ;; *) fail "training job $jid: state $st before the signal" ;; esac
  sleep 0.1
done
[ "$st" = RUNNING ] && [ -s "$work/run/summary.jsonl" ] || fail "training job $jid not running a run after 30 s (state '$st')"
sleep 1
timeout 20 scancel --batch -s USR1 "$jid" || fail "scancel --batch -s USR1 $jid"
signalled=$(date +%s)

# The first run checkpoints, stops and requeues: Restarts=1, PENDING until the credential expires.
interrupted=''
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  st=$(job_field "$jid" JobState)
  if [ "$(job_field "$jid" Restarts)" = 1 ]; then
    interrupted=$(cat "$work/run/checkpoints/latest" 2>/dev/null)
    cp "$work/run/summary.jsonl" "$work/summary-run0.jsonl"
    break
  fi
  case $st in PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED|REQUEUE_FED|REQUEUE_HOLD) ;; *) fail "training job $jid: state $st after the signal, not requeued" ;; esac
  sleep 0.1
done
[ -n "$interrupted" ] || fail "training job $jid: not requeued with a checkpoint 60 s after the signal (state '$st')"
requeued=$(date +%s)
istep=$(sed -E 's/^ckpt-0*([0-9]+)\.h5$/\1/' <<<"$interrupted")
[[ $istep =~ ^[0-9]+$ ]] && [ "$istep" -gt 0 ] && [ "$istep" -lt "$steps" ] ||
  fail "training job $jid: the checkpoint at requeue is '$interrupted', not one from mid-run (of $steps steps)"
cp "$work/run/checkpoints/$interrupted" "$work/interrupted.h5" || fail "copying $interrupted"
ok "USR1 to job $jid: checkpoint at step $istep of $steps, requeued $((requeued - signalled)) s after the signal"

# The second run resumes and completes.
rerun=''
deadline=$((SECONDS + 150))
while [ $SECONDS -lt $deadline ]; do
  st=$(job_field "$jid" JobState)
  [ -z "$rerun" ] && [ "$st" = RUNNING ] && rerun=$(($(date +%s) - requeued))
  case $st in COMPLETED) break ;; PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED) ;;
    *) fail "training job $jid: state '$st' after the requeue" ;; esac
  sleep 0.1
done
[ "$st" = COMPLETED ] || fail "training job $jid: not completed 150 s after the requeue (state '$st')"
done_s=$(($(date +%s) - requeued))
[ "$(job_field "$jid" ExitCode)" = 0:0 ] || fail "training job $jid: ExitCode $(job_field "$jid" ExitCode)"
[ "$(job_field "$jid" Restarts)" = 1 ] || fail "training job $jid: Restarts $(job_field "$jid" Restarts), expected 1"
grep -q "^train.sbatch: job $jid run 0: " "$log" || fail "job log $log: no 'run 0' line"
grep -q "^train.sbatch: job $jid run 1: " "$log" || fail "job log $log: no 'run 1' line"
[ "$(grep -c '^train.sbatch: job .* run [0-9]*: ' "$log")" -eq 2 ] || fail "job log $log: not exactly two runs"
grep -q "^train.sbatch: stopped before the time limit after a checkpoint; requeueing job $jid" "$log" ||
  fail "job log $log: no requeue line"
ok "job $jid ran again ${rerun:-?} s after the requeue, completed (exit 0:0) after $done_s s; its log shows runs 0 and 1"

final=$(cat "$work/run/checkpoints/latest" 2>/dev/null)
[ "$final" = "$(basename "$ref_ck")" ] || fail "final checkpoint '$final', expected $(basename "$ref_ck")"
[ -f "$work/run/checkpoints/$interrupted" ] || fail "the interruption's checkpoint $interrupted is gone"
$py "$tests/harness/ckpt_compare.py" "$ref_ck" "$work/run/checkpoints/$final" exact ||
  fail "requeued run's final checkpoint differs from the uninterrupted run's"
if $py "$tests/harness/ckpt_compare.py" "$ref_ck" "$work/interrupted.h5" exact >/dev/null 2>&1; then
  fail "the interruption's checkpoint already equals the final one"
fi
# Run 1 resumed: run 0's summary lines are kept as they were (a fresh start would rewrite them, its
# wall_s differing), and the train steps go on past the checkpoint, strictly increasing.
$py - "$work/summary-run0.jsonl" "$work/run/summary.jsonl" "$istep" <<'PY' || fail "summary of job $jid: not one run resumed at step $istep"
import json, sys
run0, final = (open(f).readlines() for f in sys.argv[1:3])
istep = int(sys.argv[3])
old = [l for l in run0 if json.loads(l)["step"] <= istep]
steps = [json.loads(l)["step"] for l in final if json.loads(l)["kind"] == "train"]
ok = old and final[:len(old)] == old and steps == sorted(set(steps)) and steps[-1] > istep
sys.exit(not ok)
PY
ok "final checkpoint $final bitwise equal to the uninterrupted run's"

echo "$pass passed, 0 failed"
