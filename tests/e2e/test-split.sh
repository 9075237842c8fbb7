#!/bin/bash
# gen links only GLib and JSON-GLib and runs list, status and rollback
# itself; the store commands run in gen-store beside it.
. "$TESTS_DIR/e2e/lib.sh"
plan 9

expect_true "gen does not link libostree" bash -c "! ldd '$GEN' | grep -q libostree"
expect_true "gen-store does" bash -c "ldd '$(dirname "$GEN")/gen-store' | grep -q libostree"
# libsolvext (and its librpm, lua, sqlite) only when a release is composed.
expect_true "gen-store does not link libsolvext" \
  bash -c "! ldd '$(dirname "$GEN")/gen-store' | grep -q 'libsolvext\|librpm'"

make_release "$T/r1" 1.0
manifest m1.json '{ "dir": "r1" }'
manifest m2.json '{ "dir": "r1" }' '{ "files": { "/etc/x": { "content": "2" } } }'
must gen init --os demo
must gen switch m1.json
must gen switch m2.json

execs () { strace -f -e trace=execve -o "$T/trace" "$GEN" --sysroot "$S" "$@" > /dev/null 2>&1; grep -c 'execve(' "$T/trace"; }
for cmd in list status "rollback --to 1"; do
  expect_eq "$(execs $cmd)" 1 "gen $cmd runs in gen itself"
done
expect_eq "$(execs diff 1 2)" 2 "gen diff runs in gen-store"
expect_true "gen-store was the program run" grep -q 'gen-store", \["' "$T/trace"

# Without gen-store, a store command fails with one clear line.
mkdir "$T/bin" && cp "$GEN" "$T/bin/gen"
run env GEN_STORE_HELPER= "$T/bin/gen" --sysroot "$S" diff 1 2
expect_true "a missing gen-store is one clear error" \
  bash -c "[ $RC -ne 0 ] && grep -q '^error: cannot run gen-store' '$ERR' && [ \$(wc -l < '$ERR') -eq 1 ]"
finish
