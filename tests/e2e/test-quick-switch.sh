#!/bin/bash
# `gen` makes a config-only switch itself, without gen-store (and so without
# libostree), only when it can prove the release unchanged; what it writes is
# what gen-store writes; a ref that moved or a folder that changed still goes
# to gen-store.
. "$TESTS_DIR/e2e/lib.sh"
plan 22

STORE=$(dirname "$GEN")/gen-store
# Every run of gen-store leaves a line in $T/store-runs.
cat > "$T/store-wrapper" <<EOF2
#!/bin/sh
echo "\$*" >> "$T/store-runs"
exec "$STORE" "\$@"
EOF2
chmod +x "$T/store-wrapper"
export GEN_STORE_HELPER=$T/store-wrapper
store_runs () { [ -f "$T/store-runs" ] && wc -l < "$T/store-runs" || echo 0; }
checksum () { jq_ "$S/gen/generations/$1/generation.json" "d['release']['checksum']"; }
cfg () { echo "{ \"vars\": { \"h\": \"$1\" }, \"files\": { \"/etc/hostname\": { \"content\": \"{{h}}\\n\" }, \"/etc/app.conf\": { \"content\": \"h={{h}}\\n\", \"mode\": \"0640\" } } }"; }

make_release "$T/r1" 1.0 20
make_release "$T/r2" 2.0 20
sleep 2.1 # older than the stat cache's racy window
must gen init --os demo
manifest m.json '{ "dir": "r1" }' "$(cfg a)"
must gen switch m.json
manifest m.json '{ "dir": "r1" }' "$(cfg b)"
must gen switch m.json
C1=$(checksum 1)
must ostree --repo="$S/gen/repo" refs --create=test/rel "$C1"

# dir: the stat cache proves the release; no gen-store.
before=$(store_runs)
manifest m.json '{ "dir": "r1" }' "$(cfg c)"
expect_exit 0 gen switch m.json
expect_eq "$(store_runs)" "$before" "a config-only switch (dir) runs no gen-store"
expect_eq "$(checksum 3)" "$C1" "and keeps the release"

# ref by name: the first goes through gen-store (the ref may differ from the
# base's), the next config-only one does not.
manifest m.json '{ "ref": "test/rel" }' "$(cfg d)"
must gen switch m.json
before=$(store_runs)
manifest m.json '{ "ref": "test/rel" }' "$(cfg e)"
expect_exit 0 gen switch m.json
expect_eq "$(store_runs)" "$before" "a config-only switch (ref) runs no gen-store"

# The same switch by gen and by gen-store, on two copies: the same files.
cp -a "$S" "$T/A"; cp -a "$S" "$T/B"
manifest m.json '{ "ref": "test/rel" }' "$(cfg f)"
"$GEN" --sysroot "$T/A" switch m.json > "$T/a.out" 2>&1
"$STORE" --sysroot "$T/B" switch m.json > "$T/b.out" 2>&1
expect_eq "$(cat "$T/a.out")" "$(cat "$T/b.out")" "gen and gen-store print the same summary"
strip_date () { sed -E 's/"date" : "[^"]*"/"date" : X/; s/\(release (.*), [0-9-]+\)$/(release \1, X)/' "$1"; }
same=1
for f in gen/state.json boot/loader/loader.conf gen/generations/6/manifest.json \
         gen/generations/6/data-paths gen/generations/6/etc/hostname gen/generations/6/etc/app.conf \
         gen/repo/refs/heads/gen/generation/6; do
  cmp -s "$T/A/$f" "$T/B/$f" || { diag "differs: $f"; same=0; }
done
for f in gen/generations/6/generation.json boot/loader/entries/demo-6.conf boot/loader/entries/demo-5.conf; do
  [ "$(strip_date "$T/A/$f")" = "$(strip_date "$T/B/$f")" ] || { diag "differs: $f"; diff <(strip_date "$T/A/$f") <(strip_date "$T/B/$f") | diag; same=0; }
done
[ "$(stat -c %a "$T/A/gen/generations/6/etc/app.conf")" = "$(stat -c %a "$T/B/gen/generations/6/etc/app.conf")" ] || same=0
expect_eq "$same" 1 "gen and gen-store write the same generation, ref, entries and state"
expect_exit 0 "$STORE" --sysroot "$T/A" fsck
rm -rf "$T/A" "$T/B"

# The ref moves to another commit: noticed, gen-store imports nothing but
# takes the new release.
manifest m2.json '{ "dir": "r2" }' "$(cfg e)"
must gen switch --boot m2.json
expect_true "gen-store gets every option (--boot)" grep -q -- "switch --boot m2.json" "$T/store-runs"
C2=$(checksum 6)
must ostree --repo="$S/gen/repo" refs --create=test/rel --force "$C2"
before=$(store_runs)
manifest m.json '{ "ref": "test/rel" }' "$(cfg g)"
expect_exit 0 gen switch m.json
expect_true "a moved ref goes to gen-store" test "$(store_runs)" -gt "$before"
expect_eq "$(checksum 7)" "$C2" "and the generation has the ref's new release"

# A changed folder is noticed (the stat cache misses): gen-store re-imports.
sleep 2.1
echo changed >> "$T/r1/usr/bin/demo-app"
before=$(store_runs)
manifest m.json '{ "dir": "r1" }' "$(cfg h)"
must gen switch m.json
manifest m.json '{ "dir": "r1" }' "$(cfg i)"
expect_exit 0 gen switch m.json
expect_true "a changed folder goes to gen-store" test "$(store_runs)" -gt "$before"
expect_true "and is a new release" test "$(checksum 9)" != "$C1"

# gen/cache/releases/<checksum> is written without fsync: an entry a crash
# left empty sends the switch to gen-store, which writes it again.
current () { jq_ "$S/gen/state.json" 'd["current"]'; }
F="$S/gen/cache/releases/$(checksum "$(current)")"
expect_true "the release's own version is cached" grep -qx "version 1.0" "$F"
: > "$F"
before=$(store_runs)
manifest m.json '{ "dir": "r1" }' "$(cfg k)"
expect_exit 0 gen switch m.json
expect_true "an empty entry goes to gen-store" test "$(store_runs)" -gt "$before"
expect_eq "$(jq_ "$S/gen/generations/$(current)/generation.json" "d['release']['version']")" 1.0 \
  "which names the release's version"
expect_true "and writes the entry again" grep -qx "version 1.0" "$F"

# A dry run always needs the store (its diff reads it).
before=$(store_runs)
manifest m.json '{ "dir": "r1" }' "$(cfg j)"
expect_exit 0 gen switch --dry-run m.json
expect_true "a dry run goes to gen-store" test "$(store_runs)" -gt "$before"
finish
