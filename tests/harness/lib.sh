# Shared set-up of the end-to-end test scripts (sourced, not run): the build's programs, a work
# folder removed on exit, mpirun as root and oversubscribed, and the small helpers every script
# uses. Usage: source "$VAE_TESTS/lib.sh" NAME   (the work folder is /tmp/vae-NAME-test.XXXXXX)
set -euo pipefail
bin=${VAE_BIN:?} tests=${VAE_TESTS:?}
py=/usr/bin/python3
work=$(mktemp -d "/tmp/vae-${1:?}-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi_flags=(--oversubscribe --bind-to none)
mpi() { local n=$1; shift; mpirun -np "$n" "${mpi_flags[@]}" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
# expect_status STATUS COMMAND...: runs it with stdout in $work/out and stderr in $work/err.
expect_status() {
  local want=$1 got=0
  shift
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" = "$want" ] || fail "$* exited $got, expected $want: $(cat "$work/err")"
}
# The checkpoint a run folder's `latest` names.
latest() { echo "$1/checkpoints/$(cat "$1/checkpoints/latest")"; }
# A checkpoint opens, validates and evaluates on the test's corpus $work/c.h5.
valid() { "$bin/vae-infer" eval --checkpoint "$1" --corpus "$work/c.h5" --split valid >/dev/null 2>&1; }
