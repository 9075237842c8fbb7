#!/bin/bash
# A full disk: the sysroot on a small tmpfs (root only).  A switch that
# cannot fit, whichever step runs out of space (the import, the kernel
# copy, the config overlay, the file system's inodes), fails with one error
# line saying there is no space; the previous generation stays current and
# the boot default, complete; and once the next run has cleaned up, no
# leftover of the failed one keeps eating space.
. "$TESTS_DIR/e2e/lib.sh"

D=$T/disk
mkdir -p "$D"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=256m,nr_inodes=100k,mode=0755 gen-full-disk-test "$D" 2>/dev/null; then
  echo "1..0 # SKIP needs root to mount a tmpfs"
  exit 0
fi
trap 'umount "$D" 2>/dev/null; rm -rf "$T"' EXIT
plan 36
S=$D/sysroot
mkdir -p "$S"

make_release rel/1.0 1.0
make_release rel/big 2.0
head -c $((40 * 1024 * 1024)) /dev/urandom > rel/big/usr/share/demo/big.bin
GEN_TEST_KVER=6.9.0-big make_release rel/bigkernel 3.0
head -c $((14 * 1024 * 1024)) /dev/urandom > rel/bigkernel/usr/lib/modules/6.9.0-big/vmlinuz
make_release rel/many 4.0 4000
mkdir -p files && head -c $((12 * 1024 * 1024)) /dev/urandom > files/big.cfg
host () { echo "{ \"files\": { \"/etc/hostname\": { \"content\": \"$1\\n\" } } }"; }
manifest m1.json '{ "dir": "rel/1.0" }' "$(host one)"
manifest m-big.json '{ "dir": "rel/big" }' "$(host big)"
manifest m-bigkernel.json '{ "dir": "rel/bigkernel" }' "$(host bigkernel)"
manifest m-bigconfig.json '{ "dir": "rel/1.0" }' \
  '{ "files": { "/etc/big.cfg": { "source": "files/big.cfg" }, "/etc/hostname": { "content": "bigconfig\n" } } }'
manifest m-many.json '{ "dir": "rel/many" }' "$(host many)"
for i in 2 3 4 5 6 7; do manifest "m$i.json" '{ "dir": "rel/1.0" }' "$(host "n$i")"; done

used () { df -k --output=used "$D" | tail -n 1 | tr -d ' '; }
inodes () { df --output=iused "$D" | tail -n 1 | tr -d ' '; }
must gen init --os demo
must gen switch m1.json
must gen switch m2.json
base=$(used)
diag "the sysroot uses $base kB with generations 1 and 2"

state () { jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]'; }
loader_default () { sed -n 's/^default //p' "$S/boot/loader/loader.conf"; }

# full CASE MANIFEST FREE_KB [NR_INODES]: with FREE_KB left (and the inode
# limit), gen switch MANIFEST fails for lack of space and changes nothing
# that is read; then gen switch NEXT (small) succeeds, and afterwards the
# sysroot uses no more than before plus that small generation.
full () {
  local name=$1 m=$2 free=$3 inode_opt=${4:+,nr_inodes=$4}
  local before_state before_loader after_fail
  must mount -o "remount,size=$(( $(used) + free ))k$inode_opt" "$D"
  before_state=$(state) before_loader=$(loader_default)
  expect_exit 1 gen switch "$m"
  expect_error "no space left in '$S': "
  diag "$name: $(cat "$ERR")"
  expect_eq "$(state)" "$before_state" "$name: current, default and last are unchanged"
  expect_eq "$(loader_default)" "$before_loader" "$name: loader.conf still names $before_loader"
  local cur
  cur=$(jq_ "$S/gen/state.json" 'd["current"]')
  expect_exit 0 gen rollback --to "$cur" # the completeness check of a rollback target
  after_fail=$(used)
  must mount -o "remount,size=256m,nr_inodes=100k" "$D"
  local before_next
  before_next=$(used)
  next=$((next + 1))
  expect_exit 0 gen switch "m$next.json"
  local grew=$(( $(used) - base ))
  diag "$name: after the failure $after_fail kB, after the next switch $(used) kB ($grew kB more than at the start)"
  expect_true "$name: no leftover eats space after the next run (+$grew kB for one small generation)" \
    test "$grew" -lt $(( 64 * next ))
  expect_exit 0 gen fsck
  base=$(used)
}
next=2

full "the import" m-big.json $((16 * 1024))
expect_true "the import: no ostree staging folder is left" test -z "$(ls "$S/gen/repo/tmp" | grep staging-)"
full "the kernel copy" m-bigkernel.json $((20 * 1024))
full "the config overlay" m-bigconfig.json $((8 * 1024))
full "the inodes" m-many.json $((64 * 1024)) "$(( $(inodes) + 1500 ))"

# A disk with room for nothing at all: even cleanup and the commit fail
# cleanly.
must mount -o "remount,size=$(( $(used) + 4 ))k" "$D"
head -c 1M /dev/zero > "$D/filler" 2> /dev/null
expect_exit 1 gen switch m-bigconfig.json
expect_error "no space left in '$S': "
rm -f "$D/filler"
must mount -o "remount,size=256m" "$D"
expect_exit 0 gen fsck
finish
