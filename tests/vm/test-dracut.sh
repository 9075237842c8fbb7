#!/bin/bash
# The dracut module boots a generation: releases whose initramfs dracut
# built with bootloader-hooks/dracut/90gen, booted through systemd-boot.
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require systemd-boot dracut
vm_prepare

plan 5

vm_dracut_initramfs
vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 dracut-1
vm_manifest m2.json rel/2 dracut-2
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_exit 0 gen switch m2.json

vm_images systemd-boot
vm_expect_boot switch "dracut's initramfs boots generation 2 with its config and /var" \
  "generation=2 release=2.0 config=dracut-2 counter=1 data=1 root=ro"
expect_true "dracut's initramfs ran gen's mount hook" \
  grep -aq "gen: generation 2 of demo: starting /sbin/init" "$T/switch.log"
expect_true "no emergency shell" sh -c "! grep -aqE 'rdsosreport|Entering emergency mode' '$T/switch.log'"
finish
