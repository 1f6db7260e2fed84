#!/usr/bin/env bash
# The user's surface: `cmake --install` puts the programs, headers and library in place and the
# installed programs run; the installed CMake package builds a project outside the tree
# (consumer/) against vae::vae, whose libvae.so exports the public API alone; every flag of
# SPEC.md's command lines is documented by --help and accepted by the parser (an unknown one is
# refused with exit 2); --version works everywhere.
source "${VAE_TESTS:?}/harness/lib.sh" install

cmake --install "$bin" --prefix "$work/prefix" >/dev/null
for p in vae-prep vae-dist vae-infer; do
  [ -x "$work/prefix/bin/$p" ] || fail "$p not installed"
  "$work/prefix/bin/$p" --version | grep -q "^$p [0-9]" || fail "$p --version"
done
for h in common corpus model optim checkpoint comm train rng; do
  [ -f "$work/prefix/include/vae/$h.h" ] || fail "include/vae/$h.h not installed"
done
lib=$(ls "$work/prefix"/lib*/libvae.so 2>/dev/null) || fail "libvae.so not installed"
ok "cmake --install: programs, headers and library; installed programs run"

# The shared library exports exactly the public API: the names of libvae.a that include/vae/*.h
# mention, and none of its internal ones (cli_*, json_*, vae_h5_*, ...) that the in-tree
# programs link.
nm -D --defined-only "$lib" | awk '{print $3}' | sort >"$work/exported"
nm -g --defined-only "$bin/libvae.a" | awk 'NF == 3 {print $3}' | sort -u >"$work/static"
grep -ohwE 'vae_[a-z0-9_]+' "$work/prefix/include/vae/"*.h | sort -u | comm -12 - "$work/static" >"$work/public"
[ -s "$work/exported" ] || fail "libvae.so exports nothing"
! grep -v '^vae_' "$work/exported" >"$work/stray" || fail "libvae.so exports non-vae_ names: $(head "$work/stray" | tr '\n' ' ')"
diff "$work/public" "$work/exported" >"$work/diff" || fail "libvae.so's exports are not the public API (< public, > exported): $(cat "$work/diff")"
hidden=$(comm -23 "$work/static" "$work/public" | wc -l)
[ "$hidden" -gt 0 ] || fail "libvae.a has no internal names: the check above proves nothing"
ok "libvae.so exports the $(wc -l <"$work/exported") names of the public headers and hides libvae.a's $hidden others"

# find_package(vae <version>) in a project outside the tree: it configures, builds against the
# installed package, links libvae.so and runs; a version it does not provide is refused.
version=$("$work/prefix/bin/vae-dist" --version | awk '{print $2}')
consumer=$tests/e2e/consumer
cmake -S "$consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DVAE_WANT="$version" \
  >"$work/consumer.log" 2>&1 && cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 ||
  fail "the consumer project does not build against the installed package: $(tail -n 20 "$work/consumer.log")"
readelf -d "$work/consumer/consumer" | grep -q 'NEEDED.*libvae\.so' || fail "the consumer does not link libvae.so"
out=$("$work/consumer/consumer" "$work/no-such.h5") || fail "the consumer failed: $out"
grep -qx "version $version" <<<"$out" || fail "consumer: vae_version() is not $version: $out"
grep -q "^open [1-9][0-9]* .*no-such\.h5" <<<"$out" || fail "consumer: opening a missing corpus gave no error naming it: $out"
grep -qx "permutation 100 distinct of 100" <<<"$out" || fail "consumer: vae_permute is not a permutation: $out"
if cmake -S "$consumer" -B "$work/consumer-99" -DCMAKE_PREFIX_PATH="$work/prefix" -DVAE_WANT=99.0 >"$work/consumer-99.log" 2>&1; then
  fail "find_package(vae 99.0) accepted version $version"
fi
ok "find_package(vae $version) gives vae::vae: a project outside the tree builds, links libvae.so and runs"

# SPEC.md's flags, program by program.
declare -A spec=(
  [vae-prep]="format text-field vocab-size min-df max-df-frac stopwords vocab-from valid-frac test-frac seed quiet"
  [vae-dist]="corpus out epochs max-steps batch-size lr latent encoder-hidden decoder-hidden activation input-transform beta kl-warmup-steps optimizer clip-norm latent-samples seed threads eval-every log-every checkpoint-every keep-checkpoints resume init-from no-shuffle config quiet"
)
for p in vae-prep vae-dist; do
  help=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$bin/$p" --help)
  for f in ${spec[$p]}; do
    grep -q -- "--$f\b" <<<"$help" || fail "$p --help does not document --$f"
  done
  set +e; msg=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$bin/$p" --no-such-flag 2>&1); rc=$?; set -e
  [ $rc -eq 2 ] && grep -q -- "--no-such-flag" <<<"$msg" || fail "$p: unknown flag gave $rc: $msg"
done
help=$("$bin/vae-infer" --help)
for f in "eval" "topics" "generate" "summarize" "encode" "--checkpoint" "--corpus" "--split" "--samples" "--top" \
         "--num" "--length" "--seed" "--temperature" "--text"; do
  grep -q -- "$f" <<<"$help" || fail "vae-infer --help does not document $f"
done
ok "--help documents every SPEC flag of vae-prep, vae-dist and vae-infer; unknown flags exit 2"
echo "$pass passed, 0 failed"
