#!/bin/bash
# What a killed run leaves behind is removed by the next switch or rollback
# (gen_sysroot_cleanup, gen_store_cleanup), and only that: the committed
# generations, their entries and the boot default are kept.  The states are
# the ones docs/architecture.md lists ("A crash between each pair of
# steps"); tests/crash/ reaches them by killing gen at every crash point.
. "$TESTS_DIR/e2e/lib.sh"

plan 29

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
manifest m1.json '{ "dir": "rel/1.0" }' '{ "files": { "/etc/hostname": { "content": "one\n" } } }'
manifest m2.json '{ "dir": "rel/1.0" }' '{ "files": { "/etc/hostname": { "content": "two\n" } } }'
manifest m3.json '{ "dir": "rel/2.0" }' '{ "files": { "/etc/hostname": { "content": "three\n" } } }'
must gen init --os demo
must gen switch m1.json
must gen switch m2.json
repo=$S/gen/repo
c1=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')

# plant: what runs killed at different steps leave.
plant () {
  mkdir -p "$S/gen/tmp/generation-3/etc" "$S/gen/tmp/deploy-$c1/usr"
  echo partial > "$S/gen/tmp/generation-3/etc/hostname"
  echo '{}' > "$S/gen/.state.json.tmp-0badf00d"
  echo x > "$S/boot/loader/entries/.demo-3.conf.tmp-0badf00d"
  mkdir -p "$S/boot/demo/.6.2.0-gen-demo-0123456789abcdef.tmp-0badf00d"
  cp -a "$S/gen/generations/2" "$S/gen/generations/3"
  sed 's/generation 2/generation 3/' "$S/boot/loader/entries/demo-2.conf" > "$S/boot/loader/entries/demo-3.conf"
  # A cleanup killed after removing generation 4's folder, before its entry.
  sed 's/generation 2/generation 4/' "$S/boot/loader/entries/demo-2.conf" > "$S/boot/loader/entries/demo-4.conf"
  ostree --repo="$repo" refs --delete gen/generation/3 2>/dev/null
  must ostree --repo="$repo" refs --create=gen/generation/3 "$c1"
  mkdir -p "$repo/tmp/staging-00000000-0000-0000-0000-000000000000-AbC123/objects"
  touch "$repo/tmp/staging-00000000-0000-0000-0000-000000000000-AbC123-lock"
}
gone () { # DESC: every planted leftover is gone (but generation 3, made again)
  local left
  left=$(cd "$S" && ls -d gen/tmp/* gen/.state.json.tmp-* boot/loader/entries/.demo-3.conf.tmp-* \
    boot/demo/.6.2.0-* boot/loader/entries/demo-4.conf gen/repo/tmp/staging-* 2>/dev/null)
  expect_eq "$left" "" "$1"
}

# --- the next rollback cleans up (the store refs excepted) ----------------------
plant
echo 'default demo-1.conf' > "$S/boot/loader/loader.conf" # killed before loader.conf
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[g["generation"] for g in d["generations"]]')" "[1, 2]" \
  "list ignores the uncommitted generation 3"
expect_exit 0 gen rollback
expect_stdout_contains "rolled back from generation 2 to generation 1"
expect_true "rollback removed gen/tmp, temporary names, generation 3 and entries 3 and 4" \
  test ! -e "$S/gen/tmp/generation-3" -a ! -e "$S/gen/.state.json.tmp-0badf00d" \
  -a ! -e "$S/gen/generations/3" -a ! -e "$S/boot/loader/entries/demo-3.conf" \
  -a ! -e "$S/boot/loader/entries/demo-4.conf" -a ! -e "$S/boot/demo/.6.2.0-gen-demo-0123456789abcdef.tmp-0badf00d"
expect_eq "$(ostree --repo="$repo" refs | grep -c '^gen/generation/3$')" 1 \
  "rollback leaves the store alone (ref gen/generation/3 stays)"
expect_true "entries 1 and 2 are kept" test -f "$S/boot/loader/entries/demo-1.conf" -a -f "$S/boot/loader/entries/demo-2.conf"
expect_exit 1 gen fsck
expect_stdout_contains "problem: gen/repo: ref gen/generation/3 names a generation that was never committed [repairable]"

# --- the next switch cleans up everything, and numbers the new generation 3 ------
plant
expect_exit 0 gen switch m3.json
expect_stdout_contains "made generation 3: release 2.0"
gone "switch removed every leftover"
expect_eq "$(ostree --repo="$repo" rev-parse gen/generation/3)" \
  "$(jq_ "$S/gen/generations/3/generation.json" 'd["release"]["checksum"]')" \
  "gen/generation/3 names the new generation 3's release"
expect_file_equals "$S/gen/generations/3/etc/hostname" $'three\n'
expect_true "entry 3 is the new generation's" grep -q '^title demo, generation 3 (release 2.0' "$S/boot/loader/entries/demo-3.conf"
expect_exit 0 gen fsck

# --- loader.conf left behind: the next run rewrites it, if the default is complete
echo 'default demo-1.conf' > "$S/boot/loader/loader.conf"
expect_exit 0 gen rollback --to 3
expect_stdout_contains "generation 3 is already current"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-3.conf"
# ...and never points the boot loader at a damaged generation.
# (A missing boot entry is no damage: the menus are written from the
# records. A missing overlay is.)
echo 'default demo-1.conf' > "$S/boot/loader/loader.conf"
mv "$S/gen/generations/3/etc" "$T/etc-3"
expect_exit 1 gen rollback --to 3
expect_error "generation 3 is damaged: 'gen/generations/3/etc' is missing"
expect_exit 0 gen rollback --to 2
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"
expect_exit 1 gen fsck
expect_stdout_contains "problem: gen/generations/3"
mv "$T/etc-3" "$S/gen/generations/3/etc"

# --- a release imported by a failed switch does not stay in the store -------------
make_release rel/3.0 3.0
rm rel/3.0/usr/lib/modules/6.1.0-gen-demo/initramfs.img # a kernel without an initramfs
manifest m4.json '{ "dir": "rel/3.0" }'
rm -r "$S/gen/tmp" && touch "$S/gen/tmp" # the checkout cannot be made: it fails after the import
expect_exit 1 gen switch m4.json
rm "$S/gen/tmp" && mkdir "$S/gen/tmp"
c4=$(ostree --repo="$repo" rev-parse demo/release)
expect_true "the failed switch left release 3.0 in the store, under demo/release" \
  sh -c 'ostree --repo="$1" show "$2" > /dev/null' _ "$repo" "$c4"
expect_exit 0 gen switch m1.json
expect_exit 1 ostree --repo="$repo" show "$c4"
finish
