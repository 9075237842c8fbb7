#!/bin/bash
# gen pin: a pinned generation stays in every boot menu beyond boot.limit,
# shows as pinned in list and status, and pin --remove takes it out again;
# unknown generations and bad arguments change nothing.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
# pin_manifest FILE RELEASE HOSTNAME: boot.limit 2, grub too
pin_manifest () {
  cat > "$1" <<EOT
{
  "os": "demo",
  "release": { "dir": "rel/$2" },
  "config": { "files": { "/etc/hostname": { "content": "$3\n" } } },
  "boot": { "loader": "grub", "limit": 2 }
}
EOT
}
pin_manifest m1.json 1.0 one
pin_manifest m2.json 2.0 two
pin_manifest m3.json 1.0 three
pin_manifest m4.json 2.0 four
must gen init --os demo
for m in m1 m2 m3 m4; do must gen switch $m.json; done

E=$S/boot/loader/entries
entries () { (cd "$E" && ls | paste -sd ' '); }
pinned () { gen list --json > "$T/list.json" && jq_ "$T/list.json" '[g["generation"] for g in d["generations"] if g["pinned"]]'; }
expect_eq "$(entries)" "demo-3.conf demo-4.conf" "boot.limit 2: the menu holds 3 and 4"
expect_eq "$(pinned)" "[]" "nothing is pinned yet"

expect_exit 0 gen pin 1
expect_stdout_contains "pinned generation 1: it stays in the boot menu and gen gc keeps it"
expect_eq "$(jq_ "$S/gen/pins.json" 'd["pinned"]')" "[1]" "gen/pins.json lists 1"
expect_eq "$(entries)" "demo-1.conf demo-3.conf demo-4.conf" "the pinned generation is back in the menu"
expect_file_contains "$E/demo-1.conf" "gen.generation=1"
expect_file_contains "$E/demo-3.conf" "gen.fallback=1"
expect_file_contains "$S/boot/grub/grub.cfg" "demo, generation 1 (release 1.0"
expect_eq "$(sed -n 's/^default //p' "$S/boot/loader/loader.conf")" demo-4.conf "the default is still 4"
expect_eq "$(pinned)" "[1]" "gen list --json: 1 is pinned"
expect_exit 0 gen list
expect_true "gen list shows 'pinned' on generation 1" grep -Eq '^ +1 .*pinned$' "$OUT"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["pinned"], d["generation"]["pinned"]]')" "[[1], false]" "gen status --json: pinned [1]"
expect_exit 0 gen status
expect_stdout_contains "pinned:    generation 1"

expect_exit 0 gen pin 2
expect_eq "$(jq_ "$S/gen/pins.json" 'd["pinned"]')" "[1, 2]" "pins.json lists 1 and 2"
expect_eq "$(entries)" "demo-1.conf demo-2.conf demo-3.conf demo-4.conf" "both pinned generations are in the menu"
expect_exit 0 gen status
expect_stdout_contains "pinned:    generations 1, 2"

snapshot "$T/before"
expect_exit 0 gen pin 1
expect_stdout_contains "generation 1 is already pinned"
expect_unchanged "$T/before" "pinning again writes nothing"
expect_exit 1 gen pin 9
expect_error "generation 9 does not exist (see 'gen list')"
expect_unchanged "$T/before" "an unknown generation changes nothing"
expect_exit 1 gen pin abc
expect_error "'abc' is not a generation number"
expect_exit 2 gen pin
expect_error "gen pin: which generation?"
expect_exit 2 gen pin 1 2
expect_error "unexpected argument '2'"
expect_exit 1 gen pin --remove 9
expect_error "generation 9 does not exist"
expect_unchanged "$T/before" "refused pins change nothing"

# A generation that cannot boot is not pinned.
mv "$S/gen/generations/3/etc" "$T/etc-3"
expect_exit 1 gen pin 3
expect_error "generation 3 is damaged: 'gen/generations/3/etc' is missing"
mv "$T/etc-3" "$S/gen/generations/3/etc"
expect_unchanged "$T/before" "a damaged generation is not pinned"

expect_exit 0 gen pin --remove 1
expect_stdout_contains "generation 1 is no longer pinned"
expect_eq "$(jq_ "$S/gen/pins.json" 'd["pinned"]')" "[2]" "pins.json lists 2"
expect_eq "$(entries)" "demo-2.conf demo-3.conf demo-4.conf" "the unpinned generation left the menu"
expect_true "generation 1 stays on disk" test -f "$S/gen/generations/1/generation.json"
expect_file_contains "$E/demo-3.conf" "gen.fallback=2"
expect_exit 0 gen pin --remove 1
expect_stdout_contains "generation 1 was not pinned"

# A new switch keeps the pinned generation in the menu.
pin_manifest m5.json 1.0 five
expect_exit 0 gen switch m5.json
expect_eq "$(entries)" "demo-2.conf demo-4.conf demo-5.conf" "after a switch: the newest 2 and the pinned 2"
expect_exit 0 gen fsck
expect_eq "$(find "$S/gen" -maxdepth 1 -name '.*tmp-*' | wc -l)" 0 "no temporary files left in gen/"

plan "$_count"
finish
