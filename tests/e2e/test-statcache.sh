#!/bin/bash
# A release given as a folder is not re-read when it is unchanged (the stat
# cache), and any change to it is still noticed.
. "$TESTS_DIR/e2e/lib.sh"
plan 13

make_release "$T/r1" 1.0 50
must gen init --os demo
checksum () { jq_ "$S/gen/generations/$1/generation.json" "d['release']['checksum']"; }
cfg () { echo "{ \"files\": { \"/etc/n\": { \"content\": \"$1\" } } }"; }

# A tree changed just now: its entries are "racy" and are not cached.  The
# touch is right before the switch, not at make_release: under ASan, or on a
# loaded machine, gen init alone can take longer than the 2 s window.
manifest m.json '{ "dir": "r1" }' "$(cfg 1)"
touch "$T/r1/usr/bin/demo-app"
expect_exit 0 gen switch m.json
expect_true "a folder changed within 2 s is not cached" test ! -d "$S/gen/cache/dirs" -o -z "$(ls -A "$S/gen/cache/dirs" 2>/dev/null)"
first=$(checksum 1)

sleep 2.1
manifest m.json '{ "dir": "r1" }' "$(cfg 2)"
expect_exit 0 gen switch m.json
expect_eq "$(checksum 2)" "$first" "the same folder is the same release"
expect_true "once settled, the folder's digest is cached" test "$(ls "$S/gen/cache/dirs" | wc -l)" -eq 1

# With the cache, a config-only switch reads no file of the release.
manifest m.json '{ "dir": "r1" }' "$(cfg 3)"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -o "$T/trace" -e trace=openat "$GEN" --sysroot "$S" switch m.json > "$OUT" 2> "$ERR"
expect_true "a config-only switch opens no file of the unchanged release" \
  bash -c "! grep -q 'r1/usr/bin/demo-app' '$T/trace'"
expect_eq "$(checksum 3)" "$first" "and keeps its release"

# Same size, same mtime, other bytes: the ctime still gives it away.
old_mtime=$(stat -c %y "$T/r1/usr/bin/demo-app")
sed -i 's/demo app/DEMO APP/' "$T/r1/usr/bin/demo-app"
touch -d "$old_mtime" "$T/r1/usr/bin/demo-app"
manifest m.json '{ "dir": "r1" }' "$(cfg 4)"
expect_exit 0 gen switch m.json
second=$(checksum 4)
expect_true "a rewrite that keeps size and mtime is noticed" test "$second" != "$first"

# A new file, at once (racy), is noticed too.
echo new > "$T/r1/usr/share/demo/NEW"
manifest m.json '{ "dir": "r1" }' "$(cfg 5)"
expect_exit 0 gen switch m.json
expect_true "an added file is noticed" test "$(checksum 5)" != "$second"

# A mode change alone.
sleep 2.1
chmod 0700 "$T/r1/usr/bin/demo-app"
manifest m.json '{ "dir": "r1" }' "$(cfg 6)"
expect_exit 0 gen switch m.json
expect_true "a mode change is noticed" test "$(checksum 6)" != "$(checksum 5)"
finish
