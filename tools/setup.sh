#!/usr/bin/env bash
# Installs the Debian packages vae-dist needs (only those missing) and builds it into build/.
# Usage: tools/setup.sh [--sanitize | --valgrind] [--build-dir DIR] [--extra PKG...]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) cmake_args+=(-DVAE_SANITIZE=ON); build_dir=build-asan ;;
    # build-valgrind/: Release (-O3) with -g, so valgrind's reports name our lines; never with
    # -march=native, since valgrind 3.19 cannot run AVX-512 code. The CMocka tests run under
    # memcheck, which fails them on an error or a definite leak (tests/harness/valgrind.supp: only errors
    # inside Open MPI, OpenBLAS and HDF5).
    --valgrind)
      build_dir=build-valgrind
      extra+=(valgrind)
      cmake_args+=(-DVAE_NATIVE=OFF -DCMAKE_C_FLAGS=-g
        "-DVAE_TEST_LAUNCHER=valgrind;--error-exitcode=1;--leak-check=full;--errors-for-leak-kinds=definite;--show-leak-kinds=definite;--num-callers=40;--suppressions=$PWD/tests/harness/valgrind.supp") ;;
    --build-dir) build_dir=$2; shift ;;
    --extra) shift; extra+=("$@"); break ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev
          hdf5-tools libcmocka-dev libdnnl-dev python3-h5py python3-scipy python3-numpy "${extra[@]}")
# Only the missing ones, so that a machine that has them all needs neither root nor the network;
# without dpkg (not Debian) nothing is installed and CMake names what it cannot find.
missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" 2>&1 | grep -E "warning|error|Error" || true
test -x "$build_dir/vae-dist"
echo "setup: built into $build_dir" >&2
