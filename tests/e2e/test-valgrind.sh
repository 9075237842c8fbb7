#!/bin/bash
# gen switch, rollback and fsck under valgrind: no memory error and no
# definite leak (--error-exitcode, --errors-for-leak-kinds=definite).  GLib's
# slice allocator is off (G_SLICE=always-malloc) so valgrind sees every
# allocation.  Skipped without valgrind, and for a sanitizer build.
. "$TESTS_DIR/e2e/lib.sh"

if ! command -v valgrind > /dev/null; then
  echo "1..0 # SKIP valgrind is not installed"; exit 0
fi
if ldd "$GEN" 2> /dev/null | grep -q 'lib[at]san\|libubsan'; then
  echo "1..0 # SKIP $GEN is built with a sanitizer"; exit 0
fi
plan 21

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
mkdir -p files && printf 'port={{port}}\n' > files/app.in
conf () { echo "{ \"vars\": { \"port\": $1 }, \"files\": {
  \"/etc/app.conf\": { \"template\": \"files/app.in\", \"mode\": \"0640\" },
  \"/etc/hostname\": { \"content\": \"h$1\\n\" },
  \"/etc/localtime\": { \"symlink\": \"/usr/share/zoneinfo/UTC\" } } }"; }
manifest m1.json '{ "dir": "rel/1.0" }' "$(conf 1)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(conf 2)"
manifest m3.json '{ "dir": "rel/2.0" }' "$(conf 3)"
must gen init --os demo

vg () { # GEN_ARGS…: gen under valgrind
  G_SLICE=always-malloc G_DEBUG=gc-friendly valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 \
    "$GEN" --sysroot "$S" "$@"
}
clean () { # DESC: the last run exited 0 and valgrind printed nothing
  if [ "$RC" -eq 0 ] && ! grep -q '^==[0-9]*==' "$ERR"; then ok "$1"; else not_ok "$1"; _show_run; fi
}

run vg switch m1.json; clean "switch: first generation (import, checkout, kernel, overlay)"
expect_stdout_contains "made generation 1"
run vg switch m2.json; clean "switch: config change (diff of the overlay)"
run vg switch m3.json; clean "switch: new release and kernel"
run vg switch m3.json; clean "switch: unchanged manifest"
run vg switch --dry-run m1.json; clean "switch --dry-run (aborted transaction, full diff)"
expect_stdout_contains "dry run: nothing was written"
run vg switch --boot m1.json; clean "switch --boot"
run vg rollback; clean "rollback"
expect_stdout_contains "rolled back from generation 3 to generation 2"
run vg rollback --to 4; clean "rollback --to"
run vg list --json; clean "list --json"
run vg diff 1 3; clean "diff"
mkdir -p "$S/gen/tmp/generation-9"
run vg fsck --repair; clean "fsck --repair"
expect_stdout_contains "repaired: removed gen/tmp/generation-9"
run vg pin 1; clean "pin"
run vg gc --keep 0 --dry-run; clean "gc --dry-run"
run vg gc --keep 0; clean "gc (removals, prune, stat cache)"
expect_stdout_contains "removed generation"
run vg switch "$T/nope.json"; expect_eq "$RC" 1 "a failing switch exits 1 under valgrind"
expect_true "and valgrind found nothing in its error path" test "$(grep -c '^==[0-9]*==' "$ERR")" -eq 0
finish
