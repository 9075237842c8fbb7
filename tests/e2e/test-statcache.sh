#!/bin/bash
# A release given as a folder is not re-read when it is unchanged (the stat
# cache), and any change to it is still noticed.
. "$TESTS_DIR/e2e/lib.sh"
plan 15

make_release "$T/r1" 1.0 50
must gen init --os demo
checksum () { jq_ "$S/gen/generations/$1/generation.json" "d['release']['checksum']"; }
cfg () { echo "{ \"files\": { \"/etc/n\": { \"content\": \"$1\" } } }"; }

# A tree changed within the last 2 s is "racy" and not cached.  An mtime an
# hour ahead stays racy however slow the machine (ASan, load) makes the run.
manifest m.json '{ "dir": "r1" }' "$(cfg 1)"
touch -d "@$(($(date +%s) + 3600))" "$T/r1/usr/bin/demo-app"
expect_exit 0 gen switch m.json
expect_true "a folder changed within 2 s (here: an mtime ahead) is not cached" test ! -d "$S/gen/cache/dirs" -o -z "$(ls -A "$S/gen/cache/dirs" 2>/dev/null)"
first=$(checksum 1)

touch -d "@$(($(date +%s) - 10))" "$T/r1/usr/bin/demo-app"
sleep 2.1
manifest m.json '{ "dir": "r1" }' "$(cfg 2)"
expect_exit 0 gen switch m.json
expect_eq "$(checksum 2)" "$first" "the same folder is the same release"
expect_true "once settled, the folder's digest is cached" test "$(ls "$S/gen/cache/dirs" | wc -l)" -eq 1

# With the cache, a config-only switch reads no file of the release.
# strace -y names the file each openat opened, by a relative path or not.
traced_switch () { # MANIFEST: RC, and OPENS: how many times the switch opened demo-app
  strace_ -f -y -o "$T/trace" -e trace=openat "$GEN" --sysroot "$S" switch "$1" > "$OUT" 2> "$ERR"
  RC=$?
  OPENS=$(grep -c 'r1/usr/bin/demo-app>$' "$T/trace")
}
manifest m.json '{ "dir": "r1" }' "$(cfg 3)"
traced_switch m.json
expect_eq "$RC $OPENS" "0 0" "a config-only switch succeeds and opens no file of the unchanged release"
expect_eq "$(checksum 3)" "$first" "and keeps its release"

# Same size, same mtime, other bytes, written in place (the same inode, its
# folder untouched): the ctime still gives it away.
app=$T/r1/usr/bin/demo-app
old_mtime=$(stat -c %y "$app") old_ino=$(stat -c %i "$app")
at=$(grep -b -o 'demo app' "$app" | head -1 | cut -d: -f1)
printf 'DEMO APP' | dd of="$app" bs=1 seek="$at" conv=notrunc status=none
touch -d "$old_mtime" "$app"
expect_eq "$(stat -c %i "$app")" "$old_ino" "(the rewrite kept the inode)"
manifest m.json '{ "dir": "r1" }' "$(cfg 4)"
traced_switch m.json
expect_eq "$RC" 0 "the switch after the rewrite succeeds"
expect_true "it reads the rewritten file again" test "$OPENS" -ge 1
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
