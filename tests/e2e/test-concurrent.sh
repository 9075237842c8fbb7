#!/bin/bash
# 16 gen switch runs with different manifests, started at once on one
# sysroot: the lock serialises them, each makes its own generation, the
# numbers are unique and contiguous, every generation holds its own
# manifest's config, and gen fsck finds nothing.
. "$TESTS_DIR/e2e/lib.sh"

plan 21
N=16
make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
for i in $(seq 1 $N); do
  rel=rel/$(( i % 2 + 1 )).0
  manifest "m$i.json" "{ \"dir\": \"$rel\" }" \
    "{ \"files\": { \"/etc/hostname\": { \"content\": \"host-$i\\n\" } } }"
done
must gen init --os demo

pids=()
for i in $(seq 1 $N); do
  "$GEN" --sysroot "$S" switch "m$i.json" > "$T/out.$i" 2> "$T/err.$i" &
  pids+=($!)
done
fails=0
for i in $(seq 1 $N); do
  wait "${pids[$((i - 1))]}" || { fails=$((fails + 1)); diag "run $i failed:"; diag < "$T/err.$i"; }
done
expect_eq "$fails" 0 "all $N runs succeeded"
waited=$(grep -l "another gen run holds the lock on '$S'; waiting for it to finish" "$T"/err.* | wc -l)
expect_true "runs waited for the lock ($waited of $N said so)" test "$waited" -ge 1
expect_eq "$(cat "$T"/err.* | grep -v 'waiting for it to finish' | wc -l)" 0 "no run printed anything else on stderr"

made=$(sed -n 's/^made generation \([0-9]*\): .*/\1/p' "$T"/out.* | sort -n | tr '\n' ' ')
expect_eq "$made" "$(seq 1 $N | tr '\n' ' ')" "each run made one generation: 1 to $N, none twice"
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[g["generation"] for g in d["generations"]]')" "$(seq -s ', ' 1 $N | sed 's/^/[/; s/$/]/')" \
  "gen list: generations 1 to $N"
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]')" "[$N, $N, $N]" \
  "state: the last run's generation is current and default"
# Each generation holds the config of the manifest its record names.
mismatch=0
for n in $(seq 1 $N); do
  i=$(jq_ "$S/gen/generations/$n/generation.json" 'd["manifest"]["path"]' | sed 's/.*m\([0-9]*\)\.json/\1/')
  [ "$(cat "$S/gen/generations/$n/etc/hostname")" = "host-$i" ] || mismatch=$((mismatch + 1))
  cmp -s "$S/gen/generations/$n/manifest.json" "m$i.json" || mismatch=$((mismatch + 1))
done
expect_eq "$mismatch" 0 "every generation holds its own manifest and config"
expect_eq "$(ls "$S/boot/loader/entries" | sort -V | tr '\n' ' ')" "$(seq -f 'demo-%g.conf' 1 $N | tr '\n' ' ')" \
  "one boot entry per generation"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-$N.conf"
expect_eq "$(ls -A "$S/gen/tmp")" "" "gen/tmp is empty"
expect_exit 0 gen fsck
expect_stdout_contains "checked $N generations, 2 releases"

# fsck and rollback join the queue too; list and status never wait.  The
# switch's manifest is one no generation holds: the runs above finished in
# any order, so the rollback may land on m1.json's generation, and a switch
# to a manifest the current generation matches is rightly a no-op.
manifest m-new.json '{ "dir": "rel/2.0" }' '{ "files": { "/etc/hostname": { "content": "host-new\n" } } }'
"$GEN" --sysroot "$S" switch m-new.json > "$T/out.a" 2> "$T/err.a" &
a=$!
"$GEN" --sysroot "$S" fsck > "$T/out.b" 2> "$T/err.b" &
b=$!
"$GEN" --sysroot "$S" rollback > "$T/out.c" 2> "$T/err.c" &
c=$!
expect_exit 0 gen list
wait $a; ra=$?; wait $b; rb=$?; wait $c; rc=$?
expect_eq "$ra $rc" "0 0" "a switch and a rollback started together both succeed"
expect_true "fsck run beside them found nothing (exit $rb)" test "$rb" -eq 0
expect_exit 0 gen fsck
expect_exit 0 ostree --repo="$S/gen/repo" fsck -q
expect_eq "$(jq_ "$S/gen/state.json" 'd["last"]')" $((N + 1)) "one more generation, numbered $((N + 1))"
expect_file_contains "$T/out.a" "made generation $((N + 1)): "
expect_exit 0 gen status
finish
