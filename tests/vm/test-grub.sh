#!/bin/bash
# Boots gen's generations through Debian's GRUB for EFI (a grub-mkstandalone
# image of grub-efi-amd64-bin) reading the grub.cfg gen writes: switch to
# release 1 then 2 and boot generation 2; roll back and boot generation 1.
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require grub
vm_prepare

plan 9

vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 grub-1 '{ "loader": "grub" }'
vm_manifest m2.json rel/2 grub-2 '{ "loader": "grub" }'
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_exit 0 gen switch m2.json
expect_true "grub.cfg passes grub-script-check" grub-script-check "$S/boot/grub/grub.cfg"

vm_images grub
vm_expect_boot switch "GRUB, after switch to release 2: generation 2, release 2.0, its config, /var counter 1" \
  "generation=2 release=2.0 config=grub-2 counter=1 data=1 root=ro"
expect_true "GRUB's menu shows generation 2 as its first entry" \
  grep -aq "demo, generation 2 (release 2.0, $(day 2))" "$T/switch.log"
expect_true "GRUB's menu has the submenu of the other generations" \
  grep -aq "demo, other generations" "$T/switch.log"
vm_keep_var

expect_exit 0 gen rollback
vm_images grub
vm_expect_boot rollback "GRUB, after rollback: generation 1, release 1.0, its own config, /var counter 2" \
  "generation=1 release=1.0 config=grub-1 counter=2 data=2 root=ro"
expect_true "after rollback, GRUB's menu shows generation 1" \
  grep -aq "demo, generation 1 (release 1.0, $(day 1))" "$T/rollback.log"
finish
