#!/bin/bash
# On a system gen booted, `/` is the generation and the sysroot is mounted
# where /run/gen/booted's sysroot= line says: every command run without
# --sysroot works there, in gen and in gen-store alike.  Simulated in a
# private mount namespace (unshare -m): a tmpfs on /run holding a booted
# file, and the test's sysroot bind-mounted on /run/gen/sysroot.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

if ! unshare -m true 2>/dev/null; then
  echo "1..0 # SKIP needs root and unshare -m"
  exit 0
fi

make_release rel/1.0 1.0
manifest m1.json '{ "dir": "rel/1.0" }' '{ "files": { "/etc/hostname": { "content": "one\n" } } }'
manifest m2.json '{ "dir": "rel/1.0" }' '{ "files": { "/etc/hostname": { "content": "two\n" } } }'
must gen init --os demo
must gen switch m1.json

# booted CMD…: CMD in a namespace where gen booted generation 1 of $S.
booted () {
  unshare -m --propagation private bash -c '
    mount -t tmpfs gen-test-run /run && mkdir -p /run/gen/sysroot &&
    mount --bind "$1" /run/gen/sysroot &&
    printf "os=demo\ngeneration=1\nrelease=x\nroot=ro\nsysroot=/run/gen/sysroot\n" > /run/gen/booted &&
    shift && exec "$@"' booted "$S" "$@"
}

plan 9
expect_exit 0 booted "$GEN" status --json
expect_eq "$(jq_ "$OUT" 'd["booted"]')" "1" "status without --sysroot: generation 1 is booted"
expect_exit 0 booted "$GEN" switch m2.json
expect_eq "$(jq_ "$S/gen/state.json" 'd["current"]')" "2" "switch without --sysroot made generation 2 in the booted sysroot"
expect_exit 0 booted "$GEN" fsck
expect_stdout_contains "no problems"
expect_exit 0 booted "$GEN" diff 1 2
expect_stdout_contains "two"
# Not booted by gen: "/" is the sysroot, and here it is not one.
expect_exit 1 "$GEN" status
finish
