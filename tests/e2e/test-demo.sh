#!/bin/bash
# The README's main job: manifests/demo.sh on a demo sysroot, end to end.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
check () { # check DESCRIPTION COMMAND...
  local what=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}
echo "1..10"
# demo.sh writes its releases beside the manifests: run it from a copy of
# what it uses, so that the test writes nothing into the source tree.
src=$tmp/src
mkdir -p "$src/tests"
cp -r "$SOURCE_ROOT/manifests" "$src/"
rm -rf "$src/manifests/releases"
cp "$SOURCE_ROOT/tests/make-release.sh" "$src/tests/"
before=$(ls -la --time-style=full-iso "$SOURCE_ROOT/manifests" 2>&1)
GEN="$GEN" DEMO_DIR="$tmp/demo" "$src/manifests/demo.sh" > "$tmp/out" 2>&1
check "demo.sh exits 0" test $? -eq 0
check "the source tree's manifests/ is left as it was" \
  test "$before" = "$(ls -la --time-style=full-iso "$SOURCE_ROOT/manifests" 2>&1)"
check "generation 1 from demo-1.json" grep -q '^made generation 1: release 1.0 ' "$tmp/out"
check "generation 2 from demo-2.json, a config change shown" \
  grep -q '^               + /etc/motd$' "$tmp/out"
check "the unchanged manifest makes no generation" \
  grep -q '^no changes: generation 2 already matches the manifest' "$tmp/out"
check "rollback goes back to 1" \
  grep -q '^rolled back from generation 2 to generation 1 (current and boot default)$' "$tmp/out"
sys=$tmp/demo/sysroot
check "loader.conf names generation 1" grep -qx 'default demo-1.conf' "$sys/boot/loader/loader.conf"
check "both entries exist" test -f "$sys/boot/loader/entries/demo-1.conf" -a -f "$sys/boot/loader/entries/demo-2.conf"
check "list marks 1 current" grep -Eq '^ +1 .*current, default$' "$tmp/out"
# ostree fsck prints progress on stdout even with -q: keep it out of the TAP.
check "the store passes ostree fsck" sh -c 'ostree --repo="$1" fsck -q > /dev/null' _ "$sys/gen/repo"
[ "$n" -eq 10 ] || echo "Bail out! planned 10, ran $n"
