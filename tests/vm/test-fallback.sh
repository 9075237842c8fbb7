#!/bin/bash
# A damaged generation does not panic the kernel: the boot hook says what is
# wrong, asks systemd-boot for the next entry (LoaderEntryOneShot) and
# reboots, and the older generation starts.
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require systemd-boot
vm_prepare

plan 7

vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 edge-1
vm_manifest m2.json rel/2 edge-2
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_exit 0 gen switch m2.json
c2=$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')

# The disk as it would be had generation 2's release been lost: a copy of the
# sysroot by hard links, without gen/deploy/<release 2>.
must cp -al "$S" "$T/damaged"
must rm -rf "$T/damaged/gen/deploy/$c2"
vm_images systemd-boot "$T/damaged"
VM_REBOOT=1
vm_expect_boot fallback "generation 2 is damaged: generation 1 boots instead" \
  "generation=1 release=1.0 config=edge-1 counter=1 data=1 root=ro"
expect_true "the hook says why generation 2 cannot boot" \
  grep -aq "gen: generation 2 cannot boot: generation 2 is damaged: its release gen/deploy/$c2 is missing" \
  "$T/fallback.log"
expect_true "and that it falls back to generation 1" \
  grep -aq "gen: falling back to generation 1: the next boot starts demo-1.conf once" "$T/fallback.log"
expect_true "no kernel panic" sh -c "! grep -aq 'Kernel panic' '$T/fallback.log'"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"
finish
