#!/bin/bash
# The initramfs-tools scripts boot a generation: releases whose initramfs
# Debian's mkinitramfs built with bootloader-hooks/initramfs-tools (the hook
# hooks/gen and scripts/local-bottom/gen), booted through systemd-boot.
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require systemd-boot initramfs-tools
vm_prepare

plan 5

vm_itools_initramfs
vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 itools-1
vm_manifest m2.json rel/2 itools-2
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_exit 0 gen switch m2.json

vm_images systemd-boot
vm_expect_boot switch "initramfs-tools' initramfs boots generation 2 with its config and /var" \
  "generation=2 release=2.0 config=itools-2 counter=1 data=1 root=ro"
expect_true "initramfs-tools ran gen's local-bottom script" \
  grep -aq "gen: generation 2 of demo: starting /sbin/init" "$T/switch.log"
expect_true "no panic shell" sh -c "! grep -aqE 'Dropping to a shell|Kernel panic' '$T/switch.log'"
finish
