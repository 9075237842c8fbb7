#!/bin/bash
# gen/generations.idx, the cache of generation records and menu file stamps
# (src/gen-index.h): a missing, corrupt or stale index is detected and
# rebuilt, never trusted; a generation folder replaced by hand, an entry
# removed by hand or a leftover folder is seen even when the index was
# trusted; an unchanged sysroot does not rewrite it.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 59

make_release rel/1.0 1.0
hostname () { echo "{ \"files\": { \"/etc/hostname\": { \"content\": \"$1\\n\" } } }"; }
for h in one two three four; do manifest "m-$h.json" '{ "dir": "rel/1.0" }' "$(hostname $h)"; done
must gen init --os demo
for h in one two three; do must gen switch "m-$h.json"; done

I=$S/gen/generations.idx
E=$S/boot/loader/entries
numbers () { gen list --json > "$T/list.json" && jq_ "$T/list.json" '[g["generation"] for g in d["generations"]]'; }
loader_default () { sed -n 's/^default //p' "$S/boot/loader/loader.conf"; }
fsck_ok () { expect_exit 0 gen fsck; }
# Folders changed in the last 2 seconds are racy (trusted only while they list
# the same): let them age.
age () { sleep 3; }

age
expect_exit 0 gen rollback --to 2
expect_true "a run that commits writes the index" test -s "$I"
expect_exit 0 gen rollback --to 3
cp "$I" "$T/idx.trusted"
expect_exit 0 gen rollback --to 2
expect_true "an unchanged sysroot: the index is not rewritten" cmp -s "$I" "$T/idx.trusted"
expect_eq "$(loader_default)" demo-2.conf "the trusted index: loader.conf still follows the rollback"
expect_eq "$(numbers)" "[1, 2, 3]" "list: the three generations"

# --- corrupt: one byte changed -------------------------------------------------
cp "$I" "$T/idx.corrupt"
printf '\377' | dd of="$T/idx.corrupt" bs=1 seek=200 conv=notrunc status=none
cp "$T/idx.corrupt" "$I"
expect_exit 0 gen rollback --to 3
expect_eq "$(loader_default)" demo-3.conf "corrupt index: the rollback is right"
expect_true "corrupt index: rewritten" sh -c "! cmp -s '$I' '$T/idx.corrupt'"
expect_eq "$(numbers)" "[1, 2, 3]" "corrupt index: list is right"
fsck_ok

# --- truncated, then deleted ---------------------------------------------------
head -c 20 "$T/idx.trusted" > "$I"
expect_exit 0 gen rollback --to 1
expect_eq "$(loader_default)" demo-1.conf "truncated index: the rollback is right"
# list --json prints the records as the index keeps them: the same bytes as
# when made afresh from the generation.json files (no index: gen list takes
# no lock and writes none), and the same values as those files hold.
gen list --json > "$T/list.indexed.json"
rm "$I"
gen list --json > "$T/list.fresh.json"
expect_true "no index: list does not write one" test ! -e "$I"
expect_true "list --json: the index's records are the files' records" cmp -s "$T/list.indexed.json" "$T/list.fresh.json"
cat > "$T/same-records.py" <<'PY'
import json, sys
listed = json.load(open(sys.argv[1]))["generations"]
flags = ("current", "default", "booted", "pinned")
for g in listed:
    record = json.load(open("%s/gen/generations/%d/generation.json" % (sys.argv[2], g["generation"])))
    for k in flags:
        del g[k]
    del g["data"]["readable"]
    if g != record:
        print("generation %d differs" % g["generation"]); sys.exit(1)
print("ok")
PY
expect_eq "$(python3 "$T/same-records.py" "$T/list.indexed.json" "$S")" ok "list --json: every record as in its generation.json"
expect_exit 0 gen rollback --to 3
expect_true "deleted index: written again" test -s "$I"
expect_eq "$(numbers)" "[1, 2, 3]" "deleted index: list is right"

# --- texts damaged (they are checked on first use, apart from the body) --------
gen list --json > "$T/list.before-texts.json"
size=$(stat -c %s "$I")
cp "$I" "$T/idx.texts"
printf 'X' | dd of="$T/idx.texts" bs=1 seek=$((size - 10)) conv=notrunc status=none
cp "$T/idx.texts" "$I"
gen list --json > "$T/list.damaged-texts.json"
expect_true "damaged texts: list --json makes them again from the records" cmp -s "$T/list.before-texts.json" "$T/list.damaged-texts.json"
# A run that saves the index without reading the texts (a rollback after the
# entries folder changed) writes them again as they were, checksum and all:
# still damaged in the file, still made again when listed.
touch "$E"
expect_exit 0 gen rollback --to 2
expect_true "the rollback rewrote the index" sh -c "! cmp -s '$I' '$T/idx.texts'"
expect_true "the rollback wrote the texts back byte for byte" bash -c "cmp -s <(tail -c 200 '$I') <(tail -c 200 '$T/idx.texts')"
gen list --json > "$T/list.carried.json"
cp "$I" "$T/idx.carried"
rm "$I"
gen list --json > "$T/list.carried-fresh.json"
cp "$T/idx.carried" "$I"
expect_true "texts carried over by a rollback: list --json is right" cmp -s "$T/list.carried.json" "$T/list.carried-fresh.json"
expect_exit 0 gen rollback --to 3

# --- stale: an index saved before generation 4 existed --------------------------
cp "$I" "$T/idx.old"
must gen switch m-four.json
cp "$T/idx.old" "$I"
expect_exit 0 gen rollback --to 4
expect_eq "$(loader_default)" demo-4.conf "stale index: rollback --to 4 finds generation 4"
expect_eq "$(numbers)" "[1, 2, 3, 4]" "stale index: list has generation 4"
expect_true "stale index: every entry is there" test -e "$E/demo-1.conf" -a -e "$E/demo-4.conf"

# --- a generation folder replaced by hand (another record, the same number) ----
age
expect_exit 0 gen rollback --to 3
cp "$I" "$T/idx.before-replace"
cp -a "$S/gen/generations/1" "$S/gen/replaced-1"
python3 - "$S/gen/replaced-1/generation.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["date"] = "2001-02-03T04:05:06Z"
json.dump(d, open(sys.argv[1], "w"), indent=2)
PY
rm -r "$S/gen/generations/1"
mv "$S/gen/replaced-1" "$S/gen/generations/1"
expect_exit 0 gen rollback --to 4
expect_file_contains "$E/demo-1.conf" "2001-02-03" "replaced folder: its entry is written from the new record"
numbers > /dev/null
expect_eq "$(jq_ "$T/list.json" 'd["generations"][0]["date"]')" 2001-02-03T04:05:06Z \
  "replaced folder: list shows the new record"
fsck_ok

# --- an entry removed by hand, with a trusted index -------------------------------
age
expect_exit 0 gen rollback --to 3
expect_exit 0 gen rollback --to 4
cp "$I" "$T/idx.trusted2"
rm "$E/demo-2.conf"
expect_exit 0 gen rollback --to 3
expect_true "removed entry: written again" grep -q "generation 2" "$E/demo-2.conf"

# --- a leftover folder above `last`, with a trusted index -------------------------
age
expect_exit 0 gen rollback --to 4
cp -a "$S/gen/generations/2" "$S/gen/generations/9"
expect_exit 0 gen rollback --to 3
expect_true "leftover folder above last: removed" test ! -e "$S/gen/generations/9"
expect_eq "$(numbers)" "[1, 2, 3, 4]" "leftover: list is right"

# --- a generation removed by hand (as gc would) ---------------------------------
age
expect_exit 0 gen rollback --to 4
rm -r "$S/gen/generations/2"
rm "$E/demo-2.conf"
expect_exit 0 gen rollback --to 3
expect_eq "$(numbers)" "[1, 3, 4]" "removed generation: list is right"
expect_exit 1 gen rollback --to 2
expect_true "removed generation: no entry" test ! -e "$E/demo-2.conf"
expect_file_contains "$E/demo-3.conf" "gen.fallback=1" \
  "removed generation: the next newer entry falls back past it"

# --- an entry edited by hand, with a trusted index ---------------------------------
# Entries are noted with what they were made from (record and fallback), and
# left unread while they keep their stat data: an edit changes those.
age
expect_exit 0 gen rollback --to 4
expect_exit 0 gen rollback --to 3
cp "$E/demo-1.conf" "$T/entry-1"
sed -i 's/^title .*/title edited by hand/' "$E/demo-1.conf"
touch -r "$T/entry-1" "$E/demo-1.conf" # even with its old mtime
expect_exit 0 gen rollback --to 4
expect_true "edited entry: written again" cmp -s "$E/demo-1.conf" "$T/entry-1"

# --- a no-op switch keeps what it learnt -------------------------------------------
# A copy's folders are new inodes, so its index matches none of them: the
# first no-op switch writes what it found out, the next has nothing to write.
expect_exit 0 gen switch m-four.json
cp -a "$S" "$T/copy"
cp "$T/copy/gen/generations.idx" "$T/idx.copied"
age
expect_exit 0 "$GEN" --sysroot "$T/copy" switch m-four.json
expect_stdout_contains "no changes"
differ () { ! cmp -s "$1" "$2"; }
expect_true "a no-op switch on a copy: the index is written" \
  differ "$T/copy/gen/generations.idx" "$T/idx.copied"
learnt=$(stat -c %i "$T/copy/gen/generations.idx")
expect_exit 0 "$GEN" --sysroot "$T/copy" switch m-four.json
expect_eq "$(stat -c %i "$T/copy/gen/generations.idx")" "$learnt" \
  "the next no-op switch: nothing new, the index is not rewritten (same inode)"

finish
