#!/bin/bash
# gen gc: removes old generations, the checkouts, kernels, refs, store
# objects and stat cache entries only they used, and says how many bytes
# that freed; keeps current, default, pinned and the newest N; --dry-run
# changes nothing; the store and gen fsck pass after it.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

make_release rel/1.0 1.0 300
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
make_release rel/3.0 3.0 200
head -c 1000000 /dev/urandom > rel/3.0/usr/share/demo/blob   # bytes worth freeing
# The stat cache skips folders changed in the last two seconds.
sleep 3
# gc_manifest FILE RELEASE HOSTNAME [BOOT_JSON]
gc_manifest () {
  cat > "$1" <<EOT
{
  "os": "demo",
  "release": { "dir": "rel/$2" },
  "config": { "files": { "/etc/hostname": { "content": "$3\n" } } },
  "boot": ${4:-{\}}
}
EOT
}
gc_manifest m1.json 1.0 one
gc_manifest m2.json 2.0 two
gc_manifest m3.json 3.0 three
gc_manifest m4.json 1.0 four
gc_manifest m5.json 2.0 five
must gen init --os demo
expect_exit 0 gen gc
expect_stdout_contains "nothing to remove: no generations yet"
for m in m1 m2 m3 m4 m5; do must gen switch $m.json; done
must gen pin 2

R=$S/gen/repo
commit () { jq_ "$S/gen/generations/$1/generation.json" 'd["release"]["checksum"]'; }
kdir () { jq_ "$S/gen/generations/$1/generation.json" 'd["kernel"]["dir"]'; }
c1=$(commit 1) c2=$(commit 2) c3=$(commit 3)
k1=$(kdir 1) k2=$(kdir 2)
listed () { gen list --json > "$T/list.json" && jq_ "$T/list.json" '[g["generation"] for g in d["generations"]]'; }
entries () { (cd "$S/boot/loader/entries" && ls | paste -sd ' '); }
expect_eq "$(listed)" "[1, 2, 3, 4, 5]" "five generations before gc"
expect_eq "$(ls "$S/gen/cache/dirs" | wc -l)" 3 "three stat cache entries before gc"

# --dry-run: the report, and nothing written.
snapshot "$T/before"
expect_exit 0 gen gc --keep 1 --dry-run --json
cp "$OUT" "$T/dry.json"
expect_unchanged "$T/before" "gc --dry-run changes nothing"
expect_eq "$(jq_ "$T/dry.json" '[d["dry_run"], d["keep"], d["kept"], d["removed"]]')" \
  "[true, 1, [2, 5], [1, 3, 4]]" "--dry-run: keeps 2 (pinned) and 5 (current), would remove 1, 3, 4"
expect_exit 0 gen gc --keep 1 --dry-run
expect_stdout_contains "would remove generations 1, 3, 4"
expect_stdout_contains "would remove gen/deploy/$c1"
expect_stdout_contains "would remove boot/$k1"
expect_stdout_contains "kept generations 2, 5"
expect_unchanged "$T/before" "gc --dry-run (human) changes nothing"

# The real run.
before=$(du -sb "$S" | cut -f1)
expect_exit 0 gen gc --keep 1 --json
cp "$OUT" "$T/gc.json"
after=$(du -sb "$S" | cut -f1)
expect_eq "$(jq_ "$T/gc.json" '[d["dry_run"], d["kept"], d["removed"]]')" "[false, [2, 5], [1, 3, 4]]" \
  "gc: kept 2 and 5, removed 1, 3 and 4"
expect_eq "$(jq_ "$T/gc.json" 'sorted(d["paths"])')" "$(jq_ "$T/dry.json" 'sorted(d["paths"])')" \
  "--dry-run named the paths the run removed"
expect_eq "$(jq_ "$T/gc.json" 'len(d["paths"])')" 5 "two checkouts, a kernel, two stat cache entries"
expect_eq "$(jq_ "$T/gc.json" 'sorted(d["releases"])')" "$(python3 -c "import json,sys; print(json.dumps(sorted(sys.argv[1:])))" "$c1" "$c3")" \
  "the releases of 1 and 3 (and 4) left the store"
expect_eq "$(jq_ "$T/gc.json" 'd["bytes"]')" "$(jq_ "$T/dry.json" 'd["bytes"]')" "--dry-run said the same bytes"
expect_eq "$(jq_ "$T/gc.json" 'd["objects"]')" "$(jq_ "$T/dry.json" 'd["objects"]')" "--dry-run said the same objects"
bytes=$(jq_ "$T/gc.json" 'd["bytes"]')
freed=$((before - after))
diag "du -sb freed $freed bytes; gen gc reported $bytes"
expect_true "over 1 MB freed (du -sb)" test "$freed" -gt 1000000
expect_true "the bytes reported are what du saw freed, within 1%" \
  test $((bytes * 100)) -ge $((freed * 99)) -a $((bytes * 100)) -le $((freed * 101))

expect_eq "$(listed)" "[2, 5]" "gen list: 2 and 5"
for n in 1 3 4; do
  expect_true "gen/generations/$n is gone" test ! -e "$S/gen/generations/$n"
done
expect_true "gen/generations/2 (pinned) stays" test -f "$S/gen/generations/2/generation.json"
expect_true "the checkout of 1 and 4 is gone" test ! -e "$S/gen/deploy/$c1"
expect_true "the checkout of 3 is gone" test ! -e "$S/gen/deploy/$c3"
expect_true "the checkout of 2 and 5 stays" test -d "$S/gen/deploy/$c2/usr"
expect_true "the kernel of 1, 3 and 4 is gone" test ! -e "$S/boot/$k1"
expect_true "the kernel of 2 and 5 stays" test -f "$S/boot/$k2/vmlinuz"
expect_eq "$(ostree --repo="$R" refs | sort | paste -sd ' ')" "demo/release gen/generation/2 gen/generation/5" \
  "refs: the kept generations' and demo/release"
expect_true "the releases of 1 and 3 left the store" \
  test -z "$(ostree --repo="$R" log "$c1" 2>/dev/null)$(ostree --repo="$R" log "$c3" 2>/dev/null)"
expect_exit 0 ostree --repo="$R" fsck
expect_exit 0 gen fsck
expect_eq "$(entries)" "demo-2.conf demo-5.conf" "the menu holds 2 (pinned) and 5"
expect_eq "$(sed -n 's/^default //p' "$S/boot/loader/loader.conf")" demo-5.conf "loader.conf still names 5"
expect_file_contains "$S/boot/loader/entries/demo-5.conf" "gen.fallback=2"
expect_eq "$(ls "$S/gen/cache/dirs" | wc -l)" 1 "the stat cache entries of the removed releases are gone"
expect_eq "$(ls -A "$S/gen/tmp" | wc -l)" 0 "gen/tmp is empty"

expect_exit 1 gen rollback --to 3
expect_error "generation 3 was removed (by gen gc; see 'gen list')"
expect_exit 0 gen gc --keep 1
expect_stdout_contains "nothing to remove: keeping generations 2, 5"

# Bad input: one error line, nothing changed.
snapshot "$T/before"
expect_exit 2 gen gc --keep abc
expect_error "--keep needs a number, not 'abc'"
expect_exit 2 gen gc --keep -1
expect_error "--keep needs a number"
expect_exit 2 gen gc extra
expect_error "gen gc: unexpected argument 'extra'"
expect_unchanged "$T/before" "refused gc runs change nothing"

# Without --keep: the default generation's boot.limit.  A switch --boot
# makes default and current differ: both stay, whatever --keep says.
gc_manifest m6.json 1.0 six '{ "limit": 2 }'
gc_manifest m7.json 3.0 seven '{ "limit": 2 }'
gc_manifest m8.json 1.0 eight '{ "limit": 2 }'
for m in m6 m7 m8; do must gen switch $m.json; done
expect_exit 0 gen gc --json
expect_eq "$(jq_ "$OUT" '[d["keep"], d["kept"], d["removed"]]')" "[2, [2, 7, 8], [5, 6]]" \
  "no --keep: boot.limit 2 keeps 7 and 8, and the pinned 2"
must gen rollback --to 7
gc_manifest m9.json 2.0 nine '{ "limit": 2 }'
must gen switch --boot m9.json
expect_exit 0 gen gc --keep 0 --json
expect_eq "$(jq_ "$OUT" '[d["kept"], d["removed"]]')" "[[2, 7, 9], [8]]" \
  "--keep 0: current 7, default 9 and the pinned 2 stay"
must gen pin --remove 2
expect_exit 0 gen gc --keep 0
expect_stdout_contains "removed generation 2"
expect_eq "$(listed)" "[7, 9]" "unpinned, generation 2 goes too"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["current"], d["default"]]')" "[7, 9]" "current and default untouched"
expect_exit 0 ostree --repo="$R" fsck
expect_exit 0 gen fsck
expect_exit 0 gen switch m4.json
expect_exit 0 gen fsck

# A kept generation whose ref was lost keeps its release through gc.
cur=$(jq_ "$S/gen/state.json" 'd["current"]')
ccur=$(commit "$cur")
must ostree --repo="$R" refs --delete "gen/generation/$cur"
expect_exit 0 gen gc --keep 0
in_store () { ostree --repo="$R" log "$1" > /dev/null 2>&1; }
expect_true "the current generation's release is still in the store" in_store "$ccur"
expect_exit 0 gen fsck --repair
expect_stdout_contains "repaired: set ref gen/generation/$cur to generation $cur's release"
expect_exit 0 gen fsck

plan "$_count"
finish
