#!/bin/bash
# Crash at every step: for each command below, run it once per crash point
# K with GEN_CRASH_AT=K (the gen built with -Dcrash_points=true kills itself
# with SIGKILL at the K-th write, fsync or rename: src/gen-crash.h), then:
#   - gen list shows the old or the new state as current and default, never
#     a mix, and loader.conf names the old or the new default, never one the
#     state does not know; that entry, its kernel and initramfs exist
#     (check-state.py);
#   - gen fsck finds nothing, or only what the next run's cleanup removes;
#   - for odd K, gen fsck --repair, then gen fsck passes;
#   - the next gen switch succeeds, gen fsck passes after it, and the store
#     holds no gen release that no ref names and no checkout uses (a run
#     killed after moving a release's ref left a mark the switch pruned by).
# For gc, gen list may also show a list between the old and the new one
# (gc removes one generation at a time, each with one rename).
# One TAP line per crash point, named after it.  Needs GEN built with
# crash points (tests/meson.build registers this test only then).
# GEN_CRASH_ONLY=REGEX limits the run to the scenarios whose name matches.
. "$TESTS_DIR/e2e/lib.sh"

# A SIGKILL loses nothing the page cache holds, so the file system does not
# change what this tests (tests/durability checks the order of syncs for a
# power cut).  On a tmpfs the ~2,000 runs take minutes, not an hour of
# fsync on a shared disk.
W=$T/work
mkdir -p "$W"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1g,mode=0755 gen-crash-test "$W" 2>/dev/null; then
  trap 'umount "$W" 2>/dev/null; rm -rf "$T"' EXIT
fi

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
host () { echo "{ \"vars\": { \"h\": \"$1\" }, \"files\": {
  \"/etc/hostname\": { \"content\": \"{{h}}\\n\" },
  \"/etc/app/app.conf\": { \"content\": \"name={{h}}\\n\", \"mode\": \"0640\" },
  \"/etc/localtime\": { \"symlink\": \"/usr/share/zoneinfo/UTC\" } } }"; }
manifest m1.json '{ "dir": "rel/1.0" }' "$(host one)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(host two)"
manifest m3.json '{ "dir": "rel/2.0" }' "$(host three)"
manifest next.json '{ "dir": "rel/1.0" }' "$(host next)"
M=$T

g () { "$GEN" --sysroot "$1" "${@:2}"; }
PY=$(python3 -c 'import sys; print(sys.executable)') # not a wrapper: it runs ~1,000 times

# state SYSROOT: "CURRENT,DEFAULT:N,N,…" from gen list --json.
state () {
  g "$1" list --json > "$W/list.json" || return 1
  "$PY" -c 'import json, sys
gens = json.load(open(sys.argv[1]))["generations"]
pick = lambda k: ([g["generation"] for g in gens if g[k]] or [0])[0]
print("%d,%d:%s" % (pick("current"), pick("default"), ",".join(str(g["generation"]) for g in gens)))' "$W/list.json"
}

# unnamed SYSROOT: the gen releases in the store that no ref names and no
# checkout uses.
unnamed () {
  local repo=$1/gen/repo named c
  named=$(ostree --repo="$repo" refs | while read -r r; do ostree --repo="$repo" rev-parse "$r"; done)
  find "$repo/objects" -name '*.commit' | sed -E 's|.*/objects/(..)/(.*)\.commit$|\1\2|' |
    while read -r c; do
      grep -qx "$c" <<< "$named" || [ -d "$1/gen/deploy/$c" ] ||
        ! ostree --repo="$repo" show "$c" 2> /dev/null | grep -q '^    gen release' || echo "$c"
    done
}

points_total=0 points_failed=0

# scenario NAME SETUP CMD…: SETUP (a function of the sysroot) prepares the
# state before; CMD (gen arguments) is the run that is killed.
scenario () {
  local name=$1 setup=$2; shift 2
  # GEN_CRASH_ONLY=REGEX runs only the scenarios whose name matches.
  [[ -z ${GEN_CRASH_ONLY:-} || $name =~ $GEN_CRASH_ONLY ]] || return 0
  local base=$W/base ref=$W/ref
  rm -rf "$base" "$ref"
  mkdir -p "$base"
  g "$base" init --os demo > /dev/null || bail "$name: init failed"
  $setup "$base" || bail "$name: setup failed"
  local old new
  old=$(state "$base") || bail "$name: gen list failed on the base"
  cp -a "$base" "$ref"
  g "$ref" "$@" > "$W/out" 2>&1 || { diag < "$W/out"; bail "$name: gen $* failed without a crash"; }
  new=$(state "$ref") || bail "$name: gen list failed after gen $*"
  rm -rf "$ref"; cp -a "$base" "$ref"
  GEN_CRASH_COUNT=1 g "$ref" "$@" > /dev/null 2> "$W/points" || bail "$name: counting failed"
  local n
  n=$(sed -n 's/^gen: crash points: //p' "$W/points")
  [ -n "$n" ] && [ "$n" -gt 0 ] || bail "$name: no crash points (is GEN built with -Dcrash_points=true?)"
  diag "$name: gen $* passes $n crash points; before $old, after $new"
  points_total=$((points_total + n))
  local k
  for k in $(seq 1 "$n"); do
    local w=$W/s what fail=""
    what=$(sed -n "s/^gen: crash point $k: //p" "$W/points" | sed -e "s|$M/||g")
    rm -rf "$w"; cp -a "$base" "$w"
    GEN_CRASH_AT=$k g "$w" "$@" > "$W/out" 2>&1
    local rc=$?
    [ "$rc" -eq 137 ] || fail="$fail; exit $rc, not 137 (SIGKILL)"
    if g "$w" list --json > "$W/list.json" 2> "$W/err"; then
      g "$w" fsck --json > "$W/fsck.json" 2> "$W/err"
      local v
      v=$(GEN_CHECK_GC=${CHECK_GC:-0} "$PY" "$TESTS_DIR/crash/check-state.py" "$w" "$old" "$new" 2> "$W/which")
      [ -z "$v" ] || fail="$fail; $(echo "$v" | paste -sd ';')"
    else
      fail="$fail; gen list failed: $(cat "$W/err")"
    fi
    if [ $((k % 2)) -eq 1 ]; then
      g "$w" fsck --repair > "$W/out" 2>&1 || fail="$fail; fsck --repair: $(grep -v '^repaired' "$W/out" | paste -sd ';')"
      g "$w" fsck > "$W/out" 2>&1 || fail="$fail; fsck after --repair: $(paste -sd ';' < "$W/out")"
    fi
    g "$w" switch "$M/next.json" > "$W/out" 2>&1 || fail="$fail; the next switch failed: $(paste -sd ';' < "$W/out")"
    g "$w" fsck > "$W/out" 2>&1 || fail="$fail; fsck after the next switch: $(paste -sd ';' < "$W/out")"
    local left
    left=$(unnamed "$w")
    [ -z "$left" ] || fail="$fail; the next switch left releases no ref names: $(echo $left)"
    if [ -z "$fail" ]; then
      ok "$name: crash at $k/$n ($what): $(cat "$W/which")"
    else
      points_failed=$((points_failed + 1))
      not_ok "$name: crash at $k/$n ($what)"
      diag "${fail#; }"
    fi
  done
}

none () { :; }
s_m1 () { g "$1" switch "$M/m1.json" > /dev/null; }
s_m1_m2 () { s_m1 "$1" && g "$1" switch "$M/m2.json" > /dev/null; }
s_m1_m2_m3 () { s_m1_m2 "$1" && g "$1" switch "$M/m3.json" > /dev/null; }
s_boot_pending () { s_m1 "$1" && g "$1" switch --boot "$M/m2.json" > /dev/null; }
s_rolled_back () { s_m1_m2_m3 "$1" && g "$1" rollback --to 1 > /dev/null; }
# A switch killed just before its commit: generation 2's folder, entry, ref,
# checkout and kernel are on disk, uncommitted; loader.conf is behind too.
s_leftovers () {
  s_m1 "$1" || return 1
  local k
  rm -rf "$1.count"; cp -a "$1" "$1.count"
  k=$(GEN_CRASH_COUNT=1 g "$1.count" switch "$M/m3.json" 2>&1 > /dev/null |
    sed -n 's/^gen: crash point \([0-9]*\): before renaming to gen\/state.json$/\1/p')
  rm -rf "$1.count"
  [ -n "$k" ] || return 1
  GEN_CRASH_AT=$k g "$1" switch "$M/m3.json" > /dev/null 2>&1
  [ -d "$1/gen/generations/2" ] && [ "$(state "$1")" = "1,1:1" ]
}

scenario "first switch" none switch "$M/m1.json"
scenario "config change" s_m1 switch "$M/m2.json"
scenario "new release and kernel" s_m1_m2 switch "$M/m3.json"
scenario "switch --boot" s_m1 switch --boot "$M/m3.json"
scenario "switch reusing the --boot generation" s_boot_pending switch "$M/m2.json"
scenario "switch over a killed run's leftovers" s_leftovers switch "$M/m2.json"
scenario "rollback" s_m1_m2_m3 rollback
scenario "rollback --to a newer generation" s_rolled_back rollback --to 3

# boot.limit 1: only the default is in the menu, so a pin changes it.
"$PY" -c 'import json, sys
m = json.load(open(sys.argv[1])); m["boot"] = {"limit": 1}
json.dump(m, open(sys.argv[2], "w"))' m3.json m3-limit.json
s_limited () { s_m1_m2 "$1" && g "$1" switch "$M/m3-limit.json" > /dev/null; }
s_limited_pinned () { s_limited "$1" && g "$1" pin 1 > /dev/null; }
s_m1_m2_m3_pinned () { s_m1_m2_m3 "$1" && g "$1" pin 1 > /dev/null; }
scenario "pin" s_limited pin 1
scenario "pin --remove" s_limited_pinned pin --remove 1
# gc removes generations one by one: gen list may show any state between the
# old and the new list (GEN_CHECK_GC=1 check-state.py), each generation whole.
CHECK_GC=1
scenario "gc" s_m1_m2_m3 gc --keep 1
scenario "gc keeping a pinned generation" s_m1_m2_m3_pinned gc --keep 0
scenario "gc after a rollback" s_rolled_back gc --keep 0
CHECK_GC=0

diag "$points_total crash points injected, $points_failed failed"
plan "$_count"
finish
