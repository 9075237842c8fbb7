#!/bin/bash
# Killed runs: what a killed gen leaves behind is invisible to readers and
# removed by the next run; the boot default always names a complete
# generation, even under SIGKILL at a random moment.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 42

repo=$S/gen/repo
make_release rel/1.0 1.0
hostname () { echo "{ \"files\": { \"/etc/hostname\": { \"content\": \"$1\\n\" } } }"; }
manifest m1.json '{ "dir": "rel/1.0" }' "$(hostname one)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(hostname two)"
manifest m3.json '{ "dir": "rel/1.0" }' "$(hostname three)"
must gen init --os demo
must gen switch m1.json
must gen switch m2.json
c1=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')

# --- leftovers of runs killed at various points ----------------------------------
mkdir -p "$S/gen/tmp/generation-9/etc" "$S/gen/tmp/deploy-x/usr"
echo half > "$S/gen/tmp/generation-9/etc/hostname"
echo half > "$S/gen/tmp/deploy-x/usr/file"
echo 'default demo-9.conf' > "$S/boot/loader/.loader.conf.tmp-1234abcd"
echo '{}' > "$S/gen/.state.json.tmp-0badf00d"
kdir=$(jq_ "$S/gen/generations/2/generation.json" 'd["kernel"]["dir"]')
mkdir "$S/boot/demo/.6.1.0-gen-demo-0123456789abcdef.tmp-12345678"
# Generation 3 written completely but never committed: state.json says last 2.
cp -a "$S/gen/generations/2" "$S/gen/generations/3"
sed -i 's/"generation" : 2/"generation" : 3/' "$S/gen/generations/3/generation.json"
sed 's/generation 2/generation 3/; s/gen.generation=2/gen.generation=3/' \
  "$S/boot/loader/entries/demo-2.conf" > "$S/boot/loader/entries/demo-3.conf"
must ostree --repo="$repo" refs --create=gen/generation/7 "$c1"

expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[g["generation"] for g in d["generations"]]')" "[1, 2]" \
  "list does not show the uncommitted generation 3"
expect_exit 0 gen list
expect_true "the table does not show generation 3" test "$(grep -cE '^ +3 ' "$OUT")" -eq 0
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["current"], d["default"]]')" "[2, 2]" "status: current and default 2"
expect_exit 1 gen rollback --to 3
expect_error "generation 3 does not exist (see 'gen list')"

expect_exit 0 gen switch m3.json
expect_stdout_contains "made generation 3: release 1.0"
expect_eq "$(ls -A "$S/gen/tmp")" "" "gen/tmp is emptied"
expect_true "the loader.conf temporary is removed" test ! -e "$S/boot/loader/.loader.conf.tmp-1234abcd"
expect_true "the state.json temporary is removed" test ! -e "$S/gen/.state.json.tmp-0badf00d"
expect_eq "$(ls -A "$S/boot/demo")" "${kdir#demo/}" "the half-copied kernel folder is removed"
expect_file_equals "$S/gen/generations/3/etc/hostname" $'three\n'
expect_file_contains "$S/boot/loader/entries/demo-3.conf" "title demo, generation 3 (release 1.0, "
expect_eq "$(jq_ "$S/gen/generations/3/generation.json" 'd["manifest"]["path"]')" "$T/m3.json" \
  "generation 3 is the new one, made from m3.json"
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]')" "[3, 3, 3]" \
  "state: 3 current, default and last"
expect_eq "$(ostree --repo="$repo" refs gen/generation | sort | tr '\n' ' ')" "1 2 3 " \
  "the store keeps refs for generations 1 to 3 only"

# --- loader.conf behind state.json (killed between the two renames) ------------
printf 'default demo-2.conf\n' > "$S/boot/loader/loader.conf"
expect_exit 0 gen switch m3.json
expect_stdout_contains "no changes: generation 3 already matches the manifest"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-3.conf"
must gen rollback
printf 'default demo-3.conf\n' > "$S/boot/loader/loader.conf"
expect_exit 1 gen rollback --to 9
expect_file_contains "$S/boot/loader/loader.conf" "default demo-3.conf"
expect_exit 0 gen rollback --to 2
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"
printf 'default demo-1.conf\n' > "$S/boot/loader/loader.conf"
expect_exit 0 gen switch m2.json
expect_stdout_contains "no changes: generation 2 already matches the manifest"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"

# --- SIGKILL at random moments during a large switch ---------------------------
make_release rel/big 2.0 20000
for v in a b c d; do
  manifest big-$v.json '{ "dir": "rel/big" }' "$(hostname big-$v)"
done
# The current generation is complete and the boot default names it.
consistent () {
  python3 - "$S" <<'EOF'
import json, os, sys
s = sys.argv[1]
gens = json.load(os.popen(f"{os.environ['GEN']} --sysroot {s} list --json"))["generations"]
cur = [g for g in gens if g["current"]]
dflt = [g for g in gens if g["default"]]
assert len(cur) == 1 and cur == dflt, "current and default differ"
n = cur[0]["generation"]
conf = open(f"{s}/boot/loader/loader.conf").read().split()
assert conf[conf.index("default") + 1] == f"demo-{n}.conf", conf
entry = dict(l.split(" ", 1) for l in open(f"{s}/boot/loader/entries/demo-{n}.conf").read().splitlines())
for k in ("linux", "initrd"):
    assert os.path.isfile(s + "/boot" + entry[k]), entry[k]
assert f"gen.generation={n} " in entry["options"], entry["options"]
assert os.path.isdir(f"{s}/gen/deploy/{cur[0]['release']['checksum']}/usr")
assert os.path.isdir(f"{s}/gen/generations/{n}/etc")
print("ok", n)
EOF
}
# One whole switch (import and checkout) says how long to wait at most:
# each kill lands at a random point of a run, wherever it is.
start=$(date +%s%N)
expect_exit 0 gen switch big-a.json
span=$((($(date +%s%N) - start) / 1000000 + 1))
for i in 1 2 3 4 5; do
  m=big-b.json; [ $((i % 2)) -eq 0 ] && m=big-c.json
  old=$(jq_ "$S/gen/state.json" 'd["current"]') new=$(($(jq_ "$S/gen/state.json" 'd["last"]') + 1))
  "$GEN" --sysroot "$S" switch "$m" > /dev/null 2>&1 &
  pid=$!
  ms=$(((RANDOM * 32768 + RANDOM) % span))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  result=$(consistent 2>&1)
  n=${result#ok }
  if [ "${result%% *}" = ok ] && { [ "$n" -eq "$old" ] || [ "$n" -eq "$new" ]; }; then
    ok "SIGKILL after ${ms} ms: generation $n (old or new) is current, default and complete"
  else
    not_ok "SIGKILL after ${ms} ms: the old or the new generation is current, default and complete"
    diag "$result"
  fi
done

next=$(($(jq_ "$S/gen/state.json" 'd["last"]') + 1))
expect_exit 0 gen switch big-d.json
expect_stdout_contains "made generation $next: release 2.0"
expect_eq "$(consistent 2>&1)" "ok $next" "after the kills, generation $next is current, default and complete"
expect_file_equals "$S/gen/generations/$next/etc/hostname" $'big-d\n'
expect_eq "$(ls -A "$S/gen/tmp")" "" "gen/tmp is empty"
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"] == d["default"] == d["last"]]')" "[true]" \
  "state: current = default = last"
expect_exit 0 ostree --repo="$repo" fsck
finish
