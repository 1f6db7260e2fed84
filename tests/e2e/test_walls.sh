#!/usr/bin/env bash
# The walls between modules (docs/ARCHITECTURE.md): src/core, model, text, train and infer never
# include HDF5's or MPI's headers, and src/core not the BLAS's either; and it is the build that
# keeps them out: a file including <mpi.h> or <hdf5.h>, compiled with the flags the build gives
# each walled module (compile_commands.json), fails to compile, while the same file compiles with
# the flags of the one module that may see it (src/dist, src/io).
source "${VAE_TESTS:?}/harness/lib.sh" walls
src=$(cd "$tests/../src" && pwd)
include_of() { grep -rlE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($1)[>\"]" "${@:2}" || true; }

# 1. The sources: the pattern finds the includes where they belong, and none elsewhere.
[ -n "$(include_of 'mpi\.h' "$src/dist")" ] && [ -n "$(include_of 'hdf5\.h|H5[A-Za-z]*\.h' "$src/io")" ] &&
  [ -n "$(include_of 'cblas\.h' "$src/model")" ] || fail "the include pattern misses src/dist's mpi.h, src/io's hdf5.h or src/model's cblas.h"
for m in core model text train infer; do
  bad=$(include_of 'mpi\.h|hdf5\.h|H5[A-Za-z]*\.h' "$src/$m")
  [ -z "$bad" ] || fail "src/$m includes MPI's or HDF5's headers: $bad"
done
bad=$(include_of 'cblas\.h|openblas[A-Za-z_]*\.h' "$src/core")
[ -z "$bad" ] || fail "src/core includes the BLAS's header: $bad"
ok "no source of src/core, model, text, train or infer includes mpi.h or hdf5.h; src/core no cblas.h"

# 2. The build: the compiler's arguments for a file of src/$1 (compile_commands.json), with the
# probe $2 in place of the file; exit status of compiling it, its messages in $work/cc.log.
compiles() {
  local -a cc
  mapfile -t cc < <("$py" - "$bin/compile_commands.json" "$src/$1" "$2" <<'PY'
import json, os, shlex, sys
db, folder, probe = sys.argv[1], os.path.realpath(sys.argv[2]) + os.sep, sys.argv[3]
for e in json.load(open(db)):
    if os.path.realpath(e["file"]).startswith(folder):
        args, out, skip = shlex.split(e["command"]), [], False
        for a in args:
            if skip:
                skip = False
            elif a in ("-o", "-c"):
                skip = True
            else:
                out.append(a)
        print("\n".join(out + ["-fsyntax-only", probe]))
        break
else:
    sys.exit("no compile command for a file of " + folder)
PY
  )
  [ ${#cc[@]} -gt 0 ] || fail "no compile command for src/$1 in $bin/compile_commands.json"
  "${cc[@]}" >"$work/cc.log" 2>&1
}
for h in mpi hdf5; do
  printf '#include <%s.h>\nint probe;\n' "$h" >"$work/probe_$h.c"
done
compiles dist "$work/probe_mpi.c" || fail "<mpi.h> does not compile with src/dist's flags: $(cat "$work/cc.log")"
compiles io "$work/probe_hdf5.c" || fail "<hdf5.h> does not compile with src/io's flags: $(cat "$work/cc.log")"
for m in core model text train infer; do
  for h in mpi hdf5; do
    ! compiles "$m" "$work/probe_$h.c" || fail "<$h.h> compiles with src/$m's flags: the wall is not in the build"
    grep -qE "$h\.h'?: No such file|'$h\.h' file not found" "$work/cc.log" ||
      fail "<$h.h> with src/$m's flags failed for another reason: $(cat "$work/cc.log")"
  done
done
ok "<mpi.h> and <hdf5.h> compile only with src/dist's and src/io's flags, not with core, model, text, train or infer's"
# cblas.h sits on the compiler's default search path on Debian (include/<arch>/cblas.h), so
# src/core's wall against it is the source check of 1 alone.
echo "$pass passed, 0 failed"
