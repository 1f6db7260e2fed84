#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test with ctest.
# With --sanitize the build and the tests use AddressSanitizer and UBSan (build-asan/). With
# --valgrind only the CMocka unit tests run, each under valgrind's memcheck (build-valgrind/).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
[ "${1:-}" = "--sanitize" ] && build_dir=build-asan
[ "${1:-}" = "--valgrind" ] && build_dir=build-valgrind
tools/setup.sh "$@"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build_dir"
# The sanitizer pass leaves out the Slurm test: it checks the job scripts and the daemons' set-up,
# which the plain pass covers, and holds two minutes of wall time without exercising more code.
# The valgrind pass runs the single-process unit tests only: memcheck cannot follow mpirun's ranks
# cheaply, and the scripts' programs are covered by the sanitizer pass.
select=()
[ "$build_dir" = build-asan ] && select=(-E '^test_slurm$')
[ "$build_dir" = build-valgrind ] && select=(-L '^unit$')
ctest --output-on-failure -j 2 --timeout 600 "${select[@]}"
