#!/bin/bash
# Black box: 200 runs of gen switch killed with SIGKILL after a random
# delay (from 0 to a bound that follows how long the switches take), cycling through three
# manifests so that every run has something to write.  After each kill:
# gen list shows the state before or after the run (never a mix), and
# loader.conf names a complete generation the state knows: the old or new
# default, or what an earlier killed run left there when this run was
# killed before its cleanup repaired it (check-state.py); every 20 runs,
# and at the end after one more switch, gen fsck finds nothing but what
# the next run cleans up, then nothing.
. "$TESTS_DIR/e2e/lib.sh"

RUNS=${GEN_KILL_RUNS:-200}
W=$T/work
mkdir -p "$W"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1g,mode=0755 gen-kill-test "$W" 2>/dev/null; then
  trap 'umount "$W" 2>/dev/null; rm -rf "$T"' EXIT
fi
PY=$(python3 -c 'import sys; print(sys.executable)')
S=$W/sysroot
mkdir -p "$S"

make_release rel/1.0 1.0
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/2.0 2.0
host () { echo "{ \"files\": { \"/etc/hostname\": { \"content\": \"$1\\n\" } } }"; }
manifest m0.json '{ "dir": "rel/1.0" }' "$(host zero)"
manifest m1.json '{ "dir": "rel/2.0" }' "$(host one)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(host two)"
must gen init --os demo
must gen switch m0.json

# How long a switch takes here, in ms: the median of one round of the
# cycle, after a first round that imports the releases and checks them out
# (a first switch to a release is several times slower than the 200 below).
times=()
for m in m1 m2 m0 m1 m2 m0; do
  t0=$(date +%s%N); must gen switch $m.json; t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
done
dur=$(printf '%s\n' "${times[@]:3}" | sort -n | sed -n 2p)
diag "a switch takes about $dur ms; kill delays are drawn from 0 to $dur ms at first"
# Then the range follows what happens: a little shorter after a run that
# finished before its kill, a little longer (up to that first figure) after
# one that was killed, so that about half the runs are killed mid-way
# however fast the switches of each manifest are and whatever the load.
dur0=$dur

state () { # "CURRENT,DEFAULT:N,N,…"
  "$GEN" --sysroot "$S" list --json > "$W/list.json" &&
    "$PY" -c 'import json, sys
gens = json.load(open(sys.argv[1]))["generations"]
pick = lambda k: ([g["generation"] for g in gens if g[k]] or [0])[0]
print("%d,%d:%s" % (pick("current"), pick("default"), ",".join(str(g["generation"]) for g in gens)))' "$W/list.json"
}

killed=0 finished=0 failed=0
RANDOM=42
for i in $(seq 1 "$RUNS"); do
  m=m$((i % 3)).json
  old=$(state) || bail "gen list failed before run $i"
  last=${old##*[,:]}
  new="$((last + 1)),$((last + 1)):${old#*:},$((last + 1))"
  left=$(sed -n 's/^default //p' "$S/boot/loader/loader.conf" 2> /dev/null)
  delay=$(( (RANDOM * 32768 + RANDOM) % (dur + 1) ))
  "$GEN" --sysroot "$S" switch "$m" > /dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -KILL "$pid" 2> /dev/null
  wait "$pid"
  rc=$?
  if [ "$rc" -eq 137 ]; then
    killed=$((killed + 1)) dur=$((dur * 21 / 20 + 1))
    [ "$dur" -le "$dur0" ] || dur=$dur0
  else
    finished=$((finished + 1)) dur=$((dur * 19 / 20))
    [ "$dur" -ge 5 ] || dur=5
  fi
  fsck=0
  if [ $((i % 20)) -eq 0 ]; then
    "$GEN" --sysroot "$S" fsck --json > "$W/fsck.json" 2> /dev/null
    fsck=1
  else
    echo '{"problems": []}' > "$W/fsck.json"
  fi
  "$GEN" --sysroot "$S" list --json > "$W/list.json" 2> "$W/err" || { echo "gen list: $(cat "$W/err")" > "$W/v"; }
  v=$("$PY" "$TESTS_DIR/crash/check-state.py" "$S" "$old" "$new" "$left" 2> "$W/which")
  if [ -n "$v" ]; then
    failed=$((failed + 1))
    not_ok "run $i ($m, killed after ${delay} ms, exit $rc)"; diag "$v"
  else
    ok "run $i ($m, killed after ${delay} ms, exit $rc): $(cat "$W/which") state$([ $fsck = 1 ] && echo ', fsck: only leftovers')"
  fi
done
diag "$RUNS runs: $killed killed mid-way, $finished finished before the kill (kill delays last drawn from 0 to $dur ms)"

expect_exit 0 gen switch m1.json
expect_exit 0 gen fsck
expect_true "some runs were killed mid-way ($killed of $RUNS)" test "$killed" -gt $((RUNS / 4))
plan "$_count"
finish
