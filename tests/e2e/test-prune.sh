#!/bin/bash
# A release no ref names any more is pruned by the next switch, and only a
# run that may have left one pays for looking: listing every object folder
# of the store.  A run that moves or deletes a release's ref marks the store
# first (gen/store-unpruned) and removes the mark once it has pruned, or
# found nothing to prune; a killed run leaves it (src/gen-store.c).
. "$TESTS_DIR/e2e/lib.sh"

plan 23

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
make_release rel/3.0 3.0
manifest m1.json '{ "dir": "rel/1.0" }' '{ "files": { "/etc/hostname": { "content": "one\n" } } }'
manifest m2.json '{ "dir": "rel/1.0" }' '{ "files": { "/etc/hostname": { "content": "two\n" } } }'
manifest m3.json '{ "dir": "rel/2.0" }' '{ "files": { "/etc/hostname": { "content": "three\n" } } }'
command -v strace > /dev/null || bail "strace is needed (.ci/build installs it)"
must gen init --os demo
must gen switch m1.json
repo=$S/gen/repo mark=$S/gen/store-unpruned

# scans ARGS…: runs gen ARGS… ($OUT, $ERR, $RC as run does); $SCANNED: how
# many of the store's object folders (objects/00 … objects/ff) it listed.
scans () {
  strace_ -f -y -e trace=getdents64 -o "$T/trace" "$GEN" --sysroot "$S" "$@" > "$OUT" 2> "$ERR"
  RC=$?
  SCANNED=$(grep -oE 'getdents64\([0-9]+<[^>]*/gen/repo/objects/[0-9a-f]{2}>' "$T/trace" |
    sed 's/^[^<]*//' | sort -u | wc -l)
}
# A commit as gen writes a release (subject, no time, no parent), named by no ref:
# what a run killed after importing it, or after moving a ref off it, leaves.
orphan () {
  ostree --repo="$repo" commit --orphan --tree=dir="$1" --subject="gen release $2" \
    --timestamp='1970-01-01 00:00:00 +0000' --parent=none
}
in_store () { ostree --repo="$repo" show "$1" > /dev/null 2>&1; }

# --- a switch that moves <os>/release, and finishes, leaves no mark -----------
scans switch m3.json
expect_eq "$SCANNED" 0 "a switch to a new release lists no object folder"
expect_eq "$RC" 0 "... and succeeds"
expect_true "... and leaves no mark" test ! -e "$mark"
expect_eq "$(ostree --repo="$repo" rev-parse demo/release)" \
  "$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')" \
  "<os>/release names the new release"

# --- without the mark, a switch does not look ----------------------------------
o1=$(orphan rel/3.0 3.0) || bail "ostree commit"
scans switch m2.json
expect_eq "$SCANNED" 0 "without the mark, a switch lists no object folder"
expect_eq "$RC" 0 "... and succeeds"
expect_true "... and leaves the unnamed release (gen gc removes it)" in_store "$o1"
expect_true "... and leaves no mark: it moved <os>/release off a release generation 2 uses" \
  test ! -e "$mark"

# --- gen fsck reports the mark of a killed run; --repair prunes ---------------
echo 'killed' > "$mark"
expect_exit 1 gen fsck
expect_stdout_contains "problem: gen/store-unpruned: left by a run that moved a release's ref and did not finish"
expect_stdout_contains "[repairable]"
expect_exit 0 gen fsck --repair
expect_true "fsck --repair pruned the unnamed release" bash -c "! ostree --repo='$repo' show $o1"
expect_true "... and removed the mark" test ! -e "$mark"

# --- with the mark, the next switch looks: even a config-only one ----------------
o2=$(orphan rel/3.0 3.1) || bail "ostree commit"
echo 'killed' > "$mark"
folders=$(find "$repo/objects" -mindepth 1 -maxdepth 1 -type d | wc -l)
scans switch m1.json
expect_eq "$SCANNED" "$folders" "with the mark, a config-only switch lists every object folder"
expect_eq "$RC" 0 "... and succeeds"
expect_stdout_contains "made generation 4"
expect_true "... and prunes the unnamed release" bash -c "! ostree --repo='$repo' show $o2"
expect_true "... and removes the mark" test ! -e "$mark"
expect_true "the releases generations use are kept" bash -c \
  "ostree --repo='$repo' show $(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]') > /dev/null"

# --- gen gc prunes an unnamed release, mark or not -------------------------------
o3=$(orphan rel/3.0 3.2) || bail "ostree commit"
expect_exit 0 gen gc
expect_true "gen gc prunes the unnamed release" bash -c "! ostree --repo='$repo' show $o3"
expect_true "... and leaves no mark" test ! -e "$mark"
finish
