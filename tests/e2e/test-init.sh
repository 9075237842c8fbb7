#!/bin/bash
# gen init: prepares a sysroot (store, state, boot folders) and refuses what
# it cannot honour; every other command needs an initialised sysroot.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 39

expect_exit 0 gen init --os demo
expect_stdout_contains "initialised $S (os demo)"
expect_true "gen/repo is a folder" test -d "$S/gen/repo"
expect_exit 0 ostree --repo="$S/gen/repo" fsck
expect_true "boot/loader/entries is a folder" test -d "$S/boot/loader/entries"
expect_true "var is a folder" test -d "$S/var"
expect_eq "$(jq_ "$S/gen/state.json" '[d["os"], d["current"], d["default"], d["last"]]')" \
  '["demo", 0, 0, 0]' "state.json: os demo, no generation yet"
expect_true "no loader.conf before the first generation" test ! -e "$S/boot/loader/loader.conf"

# A second init changes nothing.
cp "$S/gen/state.json" "$T/state.before"
expect_exit 0 gen init --os demo
expect_stdout_contains "already initialised: $S (os demo)"
expect_true "state.json unchanged by a second init" cmp -s "$T/state.before" "$S/gen/state.json"
expect_exit 0 gen init
expect_stdout_contains "already initialised: $S (os demo)"

# Another OS is refused.
expect_exit 1 gen init --os other
expect_error "'$S' is already initialised for OS 'demo'"
expect_eq "$(jq_ "$S/gen/state.json" 'd["os"]')" demo "state.json still names os demo"

# A bad OS name is refused before anything is written.
mkdir "$T/fresh"
expect_exit 2 "$GEN" --sysroot "$T/fresh" init --os Demo
expect_error "--os 'Demo' must be lower-case letters, digits, '.', '_' or '-'"
expect_exit 2 "$GEN" --sysroot "$T/fresh" init --os ../evil
expect_error "--os '../evil' must be"
expect_exit 2 "$GEN" --sysroot "$T/fresh" init --os ""
expect_error "--os '' must be"
expect_eq "$(ls -A "$T/fresh")" "" "nothing written by a refused init"

# A missing folder is not created.
expect_exit 1 "$GEN" --sysroot "$T/missing" init --os demo
expect_error "sysroot '$T/missing' is not a folder"
expect_true "the missing folder was not created" test ! -e "$T/missing"

# init without --os leaves the OS open; a later init --os names it.
mkdir "$T/noos"
expect_exit 0 "$GEN" --sysroot "$T/noos" init
expect_eq "$(jq_ "$T/noos/gen/state.json" 'd["os"]')" null "init without --os: os is null"
expect_exit 0 "$GEN" --sysroot "$T/noos" init --os other
expect_eq "$(jq_ "$T/noos/gen/state.json" 'd["os"]')" other "a later init --os names the OS"

# Every command but init needs an initialised sysroot.
mkdir "$T/empty"
echo '{}' > "$T/m.json"
for cmd in "switch $T/m.json" "rollback" "list" "status"; do
  # shellcheck disable=SC2086 # split the command and its argument
  expect_exit 1 "$GEN" --sysroot "$T/empty" $cmd
  expect_error "'$T/empty' is not a gen sysroot (run 'gen --sysroot $T/empty init' first)"
done
expect_eq "$(ls -A "$T/empty")" "" "nothing written to an uninitialised sysroot"

finish
