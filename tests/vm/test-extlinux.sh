#!/bin/bash
# Boots gen's generations through syslinux reading the extlinux.conf gen
# writes: a BIOS machine (QEMU's SeaBIOS) whose first disk is DIR/boot as a
# FAT file system with Debian's syslinux in its boot sector and /extlinux.
# Switch to release 1 then 2 and boot generation 2; roll back and boot 1.
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require extlinux
vm_prepare

plan 8

vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 ext-1 '{ "loader": "extlinux" }'
vm_manifest m2.json rel/2 ext-2 '{ "loader": "extlinux" }'
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_exit 0 gen switch m2.json
expect_file_contains "$S/boot/extlinux/extlinux.conf" "DEFAULT demo-2"

VM_FIRMWARE=bios
vm_images extlinux
vm_expect_boot switch "syslinux, after switch to release 2: generation 2, release 2.0, its config, /var counter 1" \
  "generation=2 release=2.0 config=ext-2 counter=1 data=1 root=ro"
expect_true "the boot hook started generation 2" \
  grep -aq "gen: generation 2 of demo, release .*: starting /sbin/init" "$T/switch.log"
vm_keep_var

expect_exit 0 gen rollback
expect_file_contains "$S/boot/extlinux/extlinux.conf" "DEFAULT demo-1"
vm_images extlinux
vm_expect_boot rollback "syslinux, after rollback: generation 1, release 1.0, its own config, /var counter 2" \
  "generation=1 release=1.0 config=ext-1 counter=2 data=2 root=ro"
finish
