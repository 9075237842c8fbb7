#!/bin/bash
# gen rollback: moves the current generation and the boot default back (or
# to any complete generation with --to), refuses what does not exist or is
# damaged, and never lets a number be reused.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 56

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
hostname () { echo "{ \"files\": { \"/etc/hostname\": { \"content\": \"$1\\n\" } } }"; }
manifest m1.json '{ "dir": "rel/1.0" }' "$(hostname one)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(hostname two)"
manifest m3.json '{ "dir": "rel/2.0" }' "$(hostname three)"
manifest m4.json '{ "dir": "rel/1.0" }' "$(hostname four)"
must gen init --os demo
for m in m1 m2 m3; do
  expect_exit 0 gen switch $m.json
done

state () { jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]'; }
loader_default () { sed -n 's/^default //p' "$S/boot/loader/loader.conf"; }

expect_exit 0 gen rollback
expect_stdout_contains "rolled back from generation 3 to generation 2 (current and boot default)"
expect_eq "$(state)" "[2, 2, 3]" "rollback: 2 is current and default"
expect_eq "$(loader_default)" demo-2.conf "rollback: loader.conf names demo-2.conf"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["current"], d["default"], d["generation"]["generation"]]')" "[2, 2, 2]" \
  "status agrees"

expect_exit 0 gen rollback
expect_stdout_contains "rolled back from generation 2 to generation 1 (current and boot default)"
expect_eq "$(state)" "[1, 1, 3]" "rollback again: 1 is current and default"
expect_eq "$(loader_default)" demo-1.conf "loader.conf names demo-1.conf"

cp "$S/gen/state.json" "$T/state.before"
cp "$S/boot/loader/loader.conf" "$T/loader.before"
unchanged () { # DESC: state.json and loader.conf are as they were
  expect_eq "$(cat "$S/gen/state.json" "$S/boot/loader/loader.conf")" \
    "$(cat "$T/state.before" "$T/loader.before")" "$1"
}
expect_exit 1 gen rollback
expect_error "no generation before 1 to roll back to (see 'gen list')"
unchanged "a refused rollback changes nothing"

expect_exit 0 gen rollback --to 3
expect_stdout_contains "rolled back from generation 1 to generation 3 (current and boot default)"
expect_eq "$(state)" "[3, 3, 3]" "--to 3: 3 is current and default"
expect_eq "$(loader_default)" demo-3.conf "loader.conf names demo-3.conf"
expect_exit 0 gen rollback --to 3
expect_stdout_contains "generation 3 is already current and the boot default"

cp "$S/gen/state.json" "$T/state.before"
cp "$S/boot/loader/loader.conf" "$T/loader.before"
expect_exit 1 gen rollback --to 9
expect_error "generation 9 does not exist (see 'gen list')"
expect_exit 1 gen rollback --to abc
expect_error "'abc' is not a generation number"
expect_exit 1 gen rollback --to 0
expect_error "'0' is not a generation number"
expect_exit 1 gen rollback --to -1
expect_error "'-1' is not a generation number"
expect_exit 2 gen rollback 2
expect_error "unexpected argument '2' (use --to N)"
unchanged "refused rollbacks change nothing"

# Numbers are never reused: after rolling back from 3, the next is 4.
expect_exit 0 gen rollback
expect_eq "$(state)" "[2, 2, 3]" "back to 2"
expect_exit 0 gen switch m4.json
expect_stdout_contains "made generation 4: release 1.0"
expect_eq "$(state)" "[4, 4, 4]" "the next switch makes generation 4"
expect_file_equals "$S/gen/generations/4/etc/hostname" $'four\n'
expect_file_equals "$S/gen/generations/3/etc/hostname" $'three\n'
expect_true "entry demo-3.conf is kept" test -f "$S/boot/loader/entries/demo-3.conf"
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[g["generation"] for g in d["generations"]]')" "[1, 2, 3, 4]" \
  "list shows 1, 2, 3, 4"

# A damaged generation cannot become the boot default.
cp "$S/gen/state.json" "$T/state.before"
cp "$S/boot/loader/loader.conf" "$T/loader.before"
g3=$S/gen/generations/3/generation.json
kdir=$(jq_ "$g3" 'd["kernel"]["dir"]')
c3=$(jq_ "$g3" 'd["release"]["checksum"]')
expect_true "generation 3 has a kernel of its own" test "$kdir" != "$(jq_ "$S/gen/generations/4/generation.json" 'd["kernel"]["dir"]')"
rm "$S/boot/$kdir/vmlinuz"
expect_exit 1 gen rollback --to 3
expect_error "generation 3 is damaged: 'boot/$kdir/vmlinuz' is missing"
rm -r "$S/gen/deploy/$c3"
expect_exit 1 gen rollback --to 3
expect_error "generation 3 is damaged: 'gen/deploy/$c3' is missing"
rm -r "$S/gen/generations/1/etc"
expect_exit 1 gen rollback --to 1
expect_error "generation 1 is damaged: 'gen/generations/1/etc' is missing"
unchanged "rollbacks to damaged generations change nothing"

# A plain rollback does not skip silently: the one before 4 is 3, damaged.
expect_exit 1 gen rollback
expect_error "generation 3 is damaged"

# A missing boot entry is not damage: the menus are rewritten from the records.
rm "$S/boot/loader/entries/demo-2.conf"
expect_exit 0 gen rollback --to 2
expect_true "entry demo-2.conf is written again" \
  grep -q '^title demo, generation 2 (release 1.0, ' "$S/boot/loader/entries/demo-2.conf"
expect_eq "$(loader_default)" demo-2.conf "loader.conf names demo-2.conf"
finish
