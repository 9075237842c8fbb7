#!/bin/bash
# The order of syncs: every gen run below is traced with strace, and
# check-durability.py asserts that each file a reboot would read is synced
# before the rename that publishes it, that its folder is synced after, that
# folders gen creates are synced into their parent before the commit, and
# that gen/state.json (the commit) comes after everything it points at and
# loader.conf after it.  Then the checker is shown traces with one sync
# removed, and must object.
. "$TESTS_DIR/e2e/lib.sh"

if ! command -v strace > /dev/null; then
  echo "1..0 # SKIP strace is not installed"
  exit 0
fi
plan 23

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
host () { echo "{ \"files\": { \"/etc/hostname\": { \"content\": \"$1\\n\" },
  \"/etc/app/app.conf\": { \"content\": \"x\\n\", \"mode\": \"0640\" },
  \"/etc/localtime\": { \"symlink\": \"/usr/share/zoneinfo/UTC\" } } }"; }
manifest m1.json '{ "dir": "rel/1.0" }' "$(host one)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(host two)"
manifest m3.json '{ "dir": "rel/2.0" }' "$(host three)"
must gen init --os demo

n=0
# durable DESC GEN_ARGS…: traces gen ARGS and checks the order of syncs.
durable () {
  local desc=$1; shift
  n=$((n + 1))
  if ! strace_ -f -y -qq -o "$T/trace.$n" \
    -e trace=openat,write,pwrite64,writev,fsync,fdatasync,syncfs,rename,renameat,renameat2,mkdir,mkdirat,symlinkat,linkat,unlinkat \
    "$GEN" --sysroot "$S" "$@" > "$T/out" 2>&1; then
    not_ok "$desc: gen $* failed"; diag < "$T/out"; return
  fi
  if python3 "$TESTS_DIR/e2e/check-durability.py" "$S" "$T/trace.$n" > "$T/check" 2>&1; then
    ok "$desc: $(cat "$T/check")"
  else
    not_ok "$desc"; diag < "$T/check"
  fi
}

durable "first switch (new release, new kernel, new boot/demo)" switch m1.json
durable "config change" switch m2.json
durable "new release and kernel" switch m3.json
durable "switch --boot" switch --boot m1.json
durable "switch reusing the --boot generation" switch m1.json
durable "rollback" rollback
durable "rollback --to" rollback --to 3
# A killed run's leftovers: the next switch cleans up, then publishes.
mkdir -p "$S/gen/tmp/generation-9"; cp -a "$S/gen/generations/1" "$S/gen/generations/9"
durable "switch over leftovers" switch m2.json
durable "fsck --repair" fsck --repair
durable "pin" pin 1
durable "gc" gc --keep 1
expect_true "the first trace published the entry, the state and loader.conf" \
  grep -q 'renameat(.*"boot/loader/loader.conf")' "$T/trace.1"
state_trace=$T/trace.1

# --- the checker objects when one sync is missing -------------------------------
# bad DESC SED_SCRIPT EXPECTED: the first trace with lines removed.
bad () {
  sed "$2" "$state_trace" > "$T/bad"
  if cmp -s "$T/bad" "$state_trace"; then
    not_ok "$1: the trace was not changed"; return
  fi
  python3 "$TESTS_DIR/e2e/check-durability.py" "$S" "$T/bad" > "$T/check" 2>&1
  local rc=$?
  if [ "$rc" -eq 1 ] && grep -qF -- "$3" "$T/check"; then ok "$1"; else not_ok "$1"; diag < "$T/check"; fi
}
bad "no fsync of the new state.json" '/fsync([0-9]*<[^>]*\/gen\/\.state\.json\.tmp-/d' \
  "gen/state.json: renamed into place before the file gen/.state.json.tmp-"
bad "no fsync of gen/ after the commit" '/fsync([0-9]*<[^>]*\/gen>)/d' \
  "gen/state.json: its folder gen is not synced after the rename"
bad "no fsync of the entries folder" '/fsync([0-9]*<[^>]*\/boot\/loader\/entries>)/d' \
  "boot/loader/entries/demo-1.conf: its folder boot/loader/entries is not synced after the rename"
bad "no fsync of generation.json before publishing the generation" \
  '/fsync([0-9]*<[^>]*\/gen\/tmp\/generation-1\/generation\.json>)/d' \
  "gen/generations/1: gen/tmp/generation-1/generation.json is published (renamed into place) before it is synced"
bad "no fsync of the generation's folder before publishing it" \
  '/fsync([0-9]*<[^>]*\/gen\/tmp\/generation-1>)/d' \
  "gen/generations/1: folder gen/tmp/generation-1 is published before it is synced"
bad "no syncfs before publishing the checkout" '/syncfs(3</d' \
  "gen/deploy/"
bad "no fsync of the kernel file" '/fsync([0-9]*<[^>]*tmp-[0-9a-f]*\/vmlinuz>)/d' \
  "boot/demo/6.1.0-gen-demo-"
bad "no fsync of boot/ after creating boot/demo" '/fsync([0-9]*<[^>]*\/boot>)/d' \
  "boot/demo: created, but its folder boot is not synced before the commit"
bad "a syncfs does not stand in for fsync under boot/" \
  '/fsync([0-9]*<[^>]*\/boot\/loader\/\.loader\.conf\.tmp-/s/fsync(\([0-9]*\)<[^>]*>)/syncfs(\1<x>)/' \
  "boot/loader/loader.conf: renamed into place before the file boot/loader/.loader.conf.tmp-"
# The commit before the entry it points at.
awk '/renameat\(.*"boot\/loader\/entries\/demo-1.conf"\)/ { held = $0; next }
  { print } /renameat\(.*"gen\/state.json"\)/ && held { print held }' "$state_trace" > "$T/bad"
python3 "$TESTS_DIR/e2e/check-durability.py" "$S" "$T/bad" > "$T/check" 2>&1
expect_true "the entry renamed after the commit is refused" grep -qF "boot/loader/entries/demo-1.conf: published after the commit" "$T/check"

expect_exit 0 gen fsck
finish
