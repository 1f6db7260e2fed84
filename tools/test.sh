#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test with ctest.
# With --sanitize the build and the tests use AddressSanitizer and UBSan (build-asan/).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
[ "${1:-}" = "--sanitize" ] && build_dir=build-asan
tools/setup.sh "$@"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build_dir"
# The sanitizer pass leaves out the Slurm test: it checks the job scripts and the daemons' set-up,
# which the plain pass covers, and holds two minutes of wall time without exercising more code.
skip=()
[ "$build_dir" = build-asan ] && skip=(-E '^test_slurm$')
ctest --output-on-failure -j 2 --timeout 600 "${skip[@]}"
