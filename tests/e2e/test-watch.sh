#!/bin/bash
# gen switch --watch: a watcher on the release folder lets a config-only
# switch skip the folder's walk, and whatever changes the folder ends it, so
# the next switch walks and sees the change.
. "$TESTS_DIR/e2e/lib.sh"
plan 70

make_release "$T/r1" 1.0 50
make_release "$T/r2" 2.0 50
make_release "$T/outer/r3" 3.0 50
# Past the racy window (2 s, gen-statcache.h): the first import caches the
# folder's digest, which later switches with a watcher find.
sleep 2.1
must gen init --os demo
cfg () { echo "{ \"files\": { \"/etc/n\": { \"content\": \"$1\" } } }"; }
release () { jq_ "$S/gen/generations/$1/generation.json" "d['release']['$2']"; }
checksum () { release "$1" checksum; }

# The watcher's process (a zombie, its command line gone, does not count).
watcher () { pgrep -f "gen-watch $S " || true; }
# Waits until the watcher answers a query as a switch would.  The first
# answer can take seconds: a tree written within 2 s is walked again later.
wait_answer () {
  local i
  for ((i = 0; i < 3000; i++)); do
    for sock in "$S"/gen/watch/*.sock; do
      [ -S "$sock" ] || continue
      python3 - "$sock" <<'EOF' 2>/dev/null && return 0
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"digest\n")
sys.exit(0 if s.recv(200).startswith(b"digest ") else 1)
EOF
    done
    sleep 0.05
  done
  return 1
}
wait_gone () {
  local i
  for ((i = 0; i < 3000; i++)); do
    [ -n "$(watcher)" ] || return 0
    sleep 0.05
  done
  return 1
}
# Switches under strace; TOUCHED: how many calls named an entry inside the
# release folder (strace -y names the folder behind each fd).
traced_switch () { # ARGS…
  strace_ -f -y -o "$T/trace" -e trace=openat,newfstatat,statx,getdents64 \
    "$GEN" --sysroot "$S" switch "$@" > "$OUT" 2> "$ERR"
  RC=$?
  TOUCHED=$(grep -cE "$T/(r1|r2)/" "$T/trace")
}

# Bad input: one error line, nothing changed.
manifest ref.json '{ "ref": "demo/none" }'
manifest m1.json '{ "dir": "r1" }' "$(cfg 1)"
expect_exit 2 gen switch --watch --dry-run m1.json
snapshot "$T/before"
expect_exit 2 gen switch --watch ref.json
expect_error '--watch needs a release given as "dir"'
expect_exit 2 gen switch --watch --dry-run m1.json
expect_error '--watch and --dry-run cannot be combined'
expect_unchanged "$T/before" "a refused --watch changes nothing"

# The watcher says why it cannot watch a folder, before it leaves: here
# procfs, as a network file system, FUSE or overlayfs.
expect_exit 1 "$(dirname "$GEN")/gen-watch" "$S" /proc/sys
expect_stderr_contains "'/proc/sys' is not on a local file system that inotify sees whole"
expect_true "and leaves no watcher" test -z "$(pgrep -f "gen-watch $S " || true)"

fs=$(stat -f -c %T "$T")
case $fs in
  ext2/ext3 | xfs | btrfs | tmpfs | f2fs) ;;
  *)
    # gen does not watch here: the switch still succeeds, and says so.
    expect_exit 0 gen switch --watch m1.json
    expect_stderr_contains "warning: --watch: no watcher started"
    for ((i = _count; i < 68; i++)); do ok "watching # SKIP $T is on $fs, which gen does not watch"; done
    finish
    ;;
esac

expect_exit 0 gen switch --watch m1.json
expect_true "a watcher answers after the switch" wait_answer
first=$(checksum 1)
expect_exit 0 gen status
expect_stdout_contains "watching:  $T/r1 (gen switch --watch)"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" "d['watching']")" "[\"$T/r1\"]" "gen status --json lists the folder watched"

# Without --watch, a switch stops it; the next one walks the folder (the
# positive control of the traced switch after it).
manifest m2.json '{ "dir": "r1" }' "$(cfg 2)"
expect_exit 0 gen switch m2.json
expect_true "a switch without --watch stops the watcher" wait_gone
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" "d['watching']")" "[]" "gen status --json: no folder watched"
traced_switch m1.json
expect_eq "$RC" 0 "a config-only switch without a watcher succeeds"
expect_true "(positive control) without a watcher, the switch reads the folder's entries" test "$TOUCHED" -gt 50

# With a watcher, a config-only switch reads no entry of the folder.
expect_exit 0 gen switch --watch m2.json
expect_true "a new watcher answers" wait_answer
traced_switch --watch m1.json
expect_eq "$RC $TOUCHED" "0 0" "a config-only switch with the watcher reads no entry of the folder"
expect_eq "$(checksum 5)" "$first" "and keeps the release"
expect_true "the watcher still answers" wait_answer

# A rewrite in place, size and mtime kept: the watcher ends, and the next
# switch imports the new bytes.
app=$T/r1/usr/bin/demo-app
old_mtime=$(stat -c %y "$app")
at=$(grep -b -o 'demo app' "$app" | head -1 | cut -d: -f1)
printf 'DEMO APP' | dd of="$app" bs=1 seek="$at" conv=notrunc status=none
touch -d "$old_mtime" "$app"
expect_true "a write in place ends the watcher" wait_gone
manifest m3.json '{ "dir": "r1" }' "$(cfg 3)"
expect_exit 0 gen switch --watch m3.json
second=$(checksum 6)
expect_true "the switch after it imports the rewritten release" test "$second" != "$first"
expect_true "and starts a watcher again" wait_answer

# A mode change.
chmod 0700 "$T/r1/usr/bin/demo-app"
expect_true "a mode change ends the watcher" wait_gone
expect_exit 0 gen switch --watch m1.json
third=$(checksum 7)
expect_true "and is in the next release" test "$third" != "$second"
expect_true "(a watcher again)" wait_answer

# A hard link from outside the folder: making it ends the watcher (the
# file's link count); a write through it, once watched again, too.
ln "$app" "$T/outside"
expect_true "a new hard link to a file ends the watcher" wait_gone
expect_exit 0 gen switch --watch m2.json
expect_true "(a watcher again)" wait_answer
echo more >> "$T/outside"
expect_true "a write through a hard link outside the folder ends the watcher" wait_gone
expect_exit 0 gen switch --watch m1.json
fourth=$(checksum 9)
expect_true "and the next switch imports it" test "$fourth" != "$third"
expect_true "(a watcher again)" wait_answer

# A file added, one removed.
echo new > "$T/r1/usr/share/demo/NEW"
expect_true "an added file ends the watcher" wait_gone
expect_exit 0 gen switch --watch m2.json
expect_true "(a watcher again)" wait_answer
rm "$T/r1/usr/share/demo/NEW"
expect_true "a removed file ends the watcher" wait_gone
expect_exit 0 gen switch --watch m1.json
expect_eq "$(checksum 11)" "$fourth" "without the file, the release is the one before it"
expect_true "(a watcher again)" wait_answer

# The folder is named through a symlink that moves: the watcher of the old
# folder sees nothing, but its answer is not taken.
ln -s r1 "$T/current"
manifest c1.json '{ "dir": "current" }' "$(cfg 4)"
manifest c2.json '{ "dir": "current" }' "$(cfg 5)"
expect_exit 0 gen switch --watch c1.json
expect_true "a watcher of the folder behind a symlink answers" wait_answer
ln -sfn r2 "$T/current"
expect_exit 0 gen switch --watch c2.json
expect_eq "$(release 13 version)" "2.0" "once the symlink moves, the switch takes the folder it leads to"

# A mount over a folder of the tree makes no inotify event: the mount
# table's change ends the watcher.  One elsewhere does not.
expect_true "(a watcher of r2)" wait_answer
mkdir "$T/elsewhere"
can_mount=0
if mount -t tmpfs gen-test "$T/elsewhere" 2>/dev/null; then
  can_mount=1
  expect_true "a mount outside the folder leaves the watcher answering" wait_answer
  # A mount made on another file system is not looked at (one inside a
  # hung network file system would stall the watcher's answers).
  mkdir "$T/elsewhere/sub"
  pid=$(watcher)
  strace -p "$pid" -e trace=open,openat,newfstatat,statx -o "$T/wtrace" 2>/dev/null &
  tracer=$!
  for ((i = 0; i < 200; i++)); do
    [ "$(awk '/^TracerPid/ {print $2}' "/proc/$pid/status")" = 0 ] || break
    sleep 0.05
  done
  mount -t tmpfs gen-test "$T/elsewhere/sub"
  expect_true "a mount on another file system leaves the watcher answering" wait_answer
  kill -INT "$tracer"; wait "$tracer"
  # The trace shows the watcher reading the mount table: it was attached.
  expect_true "without looking at that file system" \
    sh -c 'grep -q /proc/self/mountinfo "$2" && ! grep -qF "\"$1" "$2"' _ "$T/elsewhere" "$T/wtrace"
  umount "$T/elsewhere/sub" "$T/elsewhere"
else
  ok "a mount outside the folder leaves the watcher answering # SKIP cannot mount here"
  ok "a mount on another file system leaves the watcher answering # SKIP cannot mount here"
  ok "without looking at that file system # SKIP cannot mount here"
fi
mnt=$T/r2/usr/share/demo
mnt3=$T/outer/r3/usr/share/demo
trap 'umount "$mnt" "$mnt3" 2>/dev/null; rm -rf "$T"' EXIT
if [ "$can_mount" = 1 ] && mount -t tmpfs gen-test "$mnt"; then
  expect_true "a mount inside the folder ends the watcher" wait_gone
  umount "$mnt"
else
  ok "a mount inside the folder ends the watcher # SKIP cannot mount here"
fi
expect_exit 0 gen switch --watch c1.json
expect_true "(a watcher again)" wait_answer

# A mount inside the folder in another mount namespace: the watcher cannot
# see it, so a switch there must not take its answer.
if unshare -m --propagation private true 2>/dev/null; then
  run unshare -m --propagation private sh -c \
    'mount -t tmpfs gen-test "$1" && exec "$2" --sysroot "$3" switch "$4"' sh "$mnt" "$GEN" "$S" "$T/c2.json"
  expect_eq "$RC" 0 "a switch in another mount namespace, a folder of the release mounted over, succeeds"
  expect_true "and does not take the watcher's answer: its release has the mount's empty folder" \
    test "$(checksum 15)" != "$(checksum 14)"
else
  ok "a switch in another mount namespace # SKIP unshare -m fails here"
  ok "and does not take the watcher's answer # SKIP unshare -m fails here"
fi

# A mount inside the folder made while a folder above it is renamed away
# (which tells the folder's watchers nothing), the rename then undone: the
# mount point's path never named the folder, its ancestry does.
manifest o1.json '{ "dir": "outer/r3" }' "$(cfg 1)"
expect_exit 0 gen switch --watch o1.json
expect_true "(a watcher of outer/r3)" wait_answer
if [ "$can_mount" = 1 ]; then
  mv "$T/outer" "$T/outer-away"
  mount -t tmpfs gen-test "$T/outer-away/r3/usr/share/demo"
  mv "$T/outer-away" "$T/outer"
  expect_true "a mount inside the folder, made while a folder above it was renamed, ends the watcher" wait_gone
  umount "$mnt3"
else
  ok "a mount inside the folder, made while a folder above it was renamed # SKIP cannot mount here"
fi

# A watcher killed leaves its socket: the next switch walks, and starts one.
expect_exit 0 gen switch --watch c1.json
expect_true "(a watcher again)" wait_answer
kill -9 $(watcher)
expect_true "(killed)" wait_gone
expect_exit 0 gen switch --watch c1.json
expect_true "after a killed watcher, the switch starts another" wait_answer

# The sysroot's removal (here, its watch folder's) ends it.
rm -rf "$S/gen/watch"
expect_true "removing the sysroot's watch folder ends the watcher" wait_gone
finish
