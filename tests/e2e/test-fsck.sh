#!/bin/bash
# gen fsck: a clean sysroot passes; each kind of damage and each leftover of
# an interrupted run is reported (one line each, exit 1, one error line);
# --repair fixes exactly the safe kind and says what it did.
. "$TESTS_DIR/e2e/lib.sh"

plan 90

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
mkdir -p files && printf 'port={{port}}\n' > files/app.in
conf () { # HOSTNAME
  echo "{ \"vars\": { \"port\": 80 }, \"files\": {
    \"/etc/hostname\": { \"content\": \"$1\\n\" },
    \"/etc/app.conf\": { \"template\": \"files/app.in\", \"mode\": \"0640\" },
    \"/etc/localtime\": { \"symlink\": \"/usr/share/zoneinfo/UTC\" } } }"
}
manifest m1.json '{ "dir": "rel/1.0" }' "$(conf one)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(conf two)"
manifest m3.json '{ "dir": "rel/2.0" }' "$(conf three)"
must gen init --os demo
for m in m1 m2 m3; do must gen switch $m.json; done
repo=$S/gen/repo
c1=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')
c3=$(jq_ "$S/gen/generations/3/generation.json" 'd["release"]["checksum"]')
k3=$(jq_ "$S/gen/generations/3/generation.json" 'd["kernel"]["dir"]')
cp -a "$S" "$T/pristine"
reset () { rm -rf "$S"; cp -a "$T/pristine" "$S"; }

# fsck_problems: runs gen fsck --json; prints "repairable path" per problem.
problems () {
  "$GEN" --sysroot "$S" fsck --json "$@" > "$T/fsck.json" 2> "$T/fsck.err"
  RC=$?
  jq_ "$T/fsck.json" '"\n".join(("R " if p["repairable"] else "- ") + p["path"] for p in d["problems"])'
}
# expect_problem LINE DESC: the last problems() output has LINE.
expect_problem () {
  if grep -qxF -- "$1" "$T/problems"; then ok "$2"; else not_ok "$2"; diag < "$T/problems"; fi
}
check () { problems "$@" > "$T/problems"; }

# --- a clean sysroot ------------------------------------------------------------
expect_exit 0 gen fsck
expect_stdout_contains "checked 3 generations, 2 releases"
expect_stdout_contains ": no problems"
expect_eq "$(wc -l < "$OUT")" 1 "a clean fsck prints one line"
check
expect_eq "$RC $(jq_ "$T/fsck.json" '[len(d["problems"]), d["generations"], d["releases"], d["objects"] > 20]')" \
  "0 [0, 3, 2, true]" "--json: no problems, 3 generations, 2 releases, the store's objects"
expect_exit 0 ostree --repo="$repo" fsck -q

# --- leftovers of interrupted runs: repairable ----------------------------------
mkdir -p "$S/gen/tmp/generation-4/etc" "$S/boot/demo/.6.2.0-x.tmp-12345678"
echo partial > "$S/gen/tmp/generation-4/etc/hostname"
echo '{}' > "$S/gen/.state.json.tmp-abcdef01"
echo 'default demo-4.conf' > "$S/boot/loader/.loader.conf.tmp-abcdef02"
cp -a "$S/gen/generations/3" "$S/gen/generations/4"
sed 's/generation 3/generation 4/' "$S/boot/loader/entries/demo-3.conf" > "$S/boot/loader/entries/demo-4.conf"
cp "$S/boot/loader/entries/demo-3.conf" "$S/boot/loader/entries/demo-5.conf"
must ostree --repo="$repo" refs --create=gen/generation/4 "$c3"
mkdir -p "$repo/tmp/staging-00000000-0000-0000-0000-000000000000-XyZ123/objects"
echo 'default demo-2.conf' > "$S/boot/loader/loader.conf"
unused=$(printf 'f%.0s' $(seq 64))
cp -a "$S/gen/deploy/$c1" "$S/gen/deploy/$unused"     # a checkout no generation uses
mkdir -p "$S/boot/demo/6.9.0-unused-0123456789abcdef" # a kernel no generation boots
check
expect_eq "$RC" 1 "leftovers: exit 1"
expect_eq "$(cat "$T/fsck.err")" "error: 12 problems found" "one error line with the count"
for p in gen/tmp/generation-4 gen/.state.json.tmp-abcdef01 boot/loader/.loader.conf.tmp-abcdef02 \
  boot/demo/.6.2.0-x.tmp-12345678 gen/generations/4 boot/loader/entries/demo-4.conf \
  boot/loader/entries/demo-5.conf gen/repo boot/loader/loader.conf \
  gen/repo/tmp/staging-00000000-0000-0000-0000-000000000000-XyZ123 "gen/deploy/$unused" \
  boot/demo/6.9.0-unused-0123456789abcdef; do
  expect_problem "R $p" "reported as repairable: $p"
done
expect_exit 1 gen fsck
expect_stdout_contains "problem: boot/loader/loader.conf: names demo-2.conf, but the default generation is 3 (a run was interrupted before it rewrote loader.conf) [repairable]"
expect_stdout_contains "problem: gen/repo: ref gen/generation/4 names a generation that was never committed [repairable]"
expect_stdout_contains "12 problems, 12 repairable with 'gen fsck --repair'"
expect_error "12 problems found"

expect_exit 0 gen fsck --repair
for r in "removed gen/tmp/generation-4 (left by an interrupted run)" \
  "removed gen/.state.json.tmp-abcdef01" "removed boot/loader/.loader.conf.tmp-abcdef02" \
  "removed boot/demo/.6.2.0-x.tmp-12345678" "removed gen/generations/4" \
  "removed boot/loader/entries/demo-4.conf" "removed boot/loader/entries/demo-5.conf" \
  "removed ref gen/generation/4" "removed gen/repo/tmp/staging-00000000-0000-0000-0000-000000000000-XyZ123" \
  "rewrote boot/loader/loader.conf: default demo-3.conf" "removed gen/deploy/$unused" \
  "removed boot/demo/6.9.0-unused-0123456789abcdef"; do
  expect_stdout_contains "repaired: $r"
done
expect_stdout_contains ": no problems"
expect_file_equals "$S/boot/loader/loader.conf" $'# written by gen; gen rewrites it on every switch\ndefault demo-3.conf\ntimeout 3\n'
expect_true "the generations are untouched" diff -r --no-dereference "$T/pristine/gen/generations" "$S/gen/generations"
expect_true "the entries are as before" diff -r --no-dereference "$T/pristine/boot/loader/entries" "$S/boot/loader/entries"
expect_exit 0 gen fsck
expect_exit 0 gen fsck --repair
expect_eq "$(grep -c '^repaired:' "$OUT")" 0 "a second --repair has nothing to do"

# --- the boot menu: repairable when the generation is complete -------------------
reset
rm "$S/boot/loader/entries/demo-2.conf"
sed -i 's/^title .*/title edited by hand/' "$S/boot/loader/entries/demo-1.conf"
rm -r "$S/gen/generations/1/etc" # generation 1 is not complete any more
check
expect_problem "R boot/loader/entries/demo-2.conf" "a missing entry of a complete generation is repairable"
expect_problem "- boot/loader/entries/demo-1.conf" "the entry of an incomplete generation is not rewritten"
expect_exit 1 gen fsck --repair
expect_stdout_contains "repaired: wrote boot/loader/entries/demo-2.conf"
expect_stdout_contains "problem: gen/generations/1/etc: the config overlay cannot be read"
expect_true "entry 2 is back, as gen wrote it" cmp "$T/pristine/boot/loader/entries/demo-2.conf" "$S/boot/loader/entries/demo-2.conf"
reset
sed -i 's/^title .*/title edited by hand/' "$S/boot/loader/entries/demo-1.conf"
rm -r "$S/gen/generations/2"
expect_exit 1 gen fsck
expect_stdout_contains "problem: boot/loader/entries/demo-1.conf: differs from what generation 1's record gives [repairable]"
expect_stdout_contains "problem: boot/loader/entries/demo-2.conf: names generation 2, which does not exist [repairable]"
expect_exit 0 gen fsck --repair
expect_stdout_contains "repaired: rewrote boot/loader/entries/demo-1.conf"
expect_stdout_contains "repaired: removed boot/loader/entries/demo-2.conf (generation 2 does not exist)"
must ostree --repo="$repo" refs --delete gen/generation/1
expect_exit 1 gen fsck
expect_stdout_contains "problem: gen/repo: ref gen/generation/1 is missing (it keeps generation 1's release) [repairable]"
expect_exit 0 gen fsck --repair
expect_stdout_contains "repaired: set ref gen/generation/1 to generation 1's release"
expect_eq "$(ostree --repo="$repo" rev-parse gen/generation/1)" "$c1" "the ref names generation 1's release again"

# --- damage --repair does not touch: reported --------------------------------------
reset
d1=$S/gen/deploy/$c1
rm "$d1/usr/bin/demo-app"; printf 'replaced\n' > "$d1/usr/bin/demo-app"; chmod 755 "$d1/usr/bin/demo-app"
rm "$d1/usr/share/demo/README"
echo extra > "$d1/usr/extra"
chmod 700 "$d1/etc"
printf 'edited\n' > "$S/gen/generations/2/etc/hostname"
chmod 600 "$S/gen/generations/1/etc/app.conf"
printf 'not a kernel\n' > "$S/boot/$k3/vmlinuz"
rm "$S/boot/$k3/initrd.img"
cp -a "$S" "$T/damaged"
check --repair
expect_eq "$RC" 1 "damage: exit 1, even with --repair"
expect_eq "$(jq_ "$T/fsck.json" 'len(d["repaired"])')" 0 "--repair repairs none of it"
for p in "gen/deploy/$c1/usr/bin/demo-app" "gen/deploy/$c1/usr/share/demo/README" "gen/deploy/$c1/usr/extra" \
  "gen/deploy/$c1/etc" gen/generations/2/etc gen/generations/2/etc/hostname gen/generations/1/etc \
  gen/generations/1/etc/app.conf "boot/$k3/vmlinuz" "boot/$k3/initrd.img" gen/state.json; do
  expect_problem "- $p" "reported, not repairable: $p"
done
expect_true "--repair changed none of it" diff -r --no-dereference "$T/damaged" "$S"
expect_exit 1 gen fsck
expect_stdout_contains "problem: gen/deploy/$c1/usr/bin/demo-app: differs from the release (object"
expect_stdout_contains "problem: gen/deploy/$c1/usr/extra: is not in the release"
expect_stdout_contains "problem: gen/generations/1/etc/app.conf: has mode 0600, the manifest says 0640"
expect_stdout_contains "problem: gen/generations/2/etc/hostname: differs from what the manifest renders"
expect_stdout_contains "problem: boot/$k3/vmlinuz: differs from the release's usr/lib/modules/6.2.0-gen-demo/vmlinuz"
expect_stdout_contains "problem: gen/state.json: current generation 3 is not complete: generation 3 is damaged: 'boot/$k3/initrd.img' is missing"

# A corrupted store object: the checkout shares its inode, the store check finds it.
reset
obj=$(ostree --repo="$repo" ls -C "$c1" /usr/share/demo/README | awk '{print $5}')
printf 'bit rot\n' >> "$repo/objects/${obj:0:2}/${obj:2}.file"
expect_exit 1 gen fsck
expect_stdout_contains "problem: gen/repo: object $obj.file: fsck content object $obj: Corrupted file object"
expect_exit 1 ostree --repo="$repo" fsck -q

# --- usage --------------------------------------------------------------------------
expect_exit 2 gen fsck extra
expect_error "gen fsck: unexpected argument 'extra'"
mkdir "$T/empty"
expect_exit 1 "$GEN" --sysroot "$T/empty" fsck
expect_error "is not a gen sysroot"
finish
