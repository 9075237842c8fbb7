#!/bin/bash
# Automatic fallback under GRUB: generation 2's release is missing from the
# disk; the boot hook says so, writes next_entry (generation 1's entry) into
# grub/grubenv on the ESP, whose UUID gen's grub.cfg passed as gen.esp=, and
# reboots; GRUB's grub.cfg reads next_entry, clears it with save_env and
# starts generation 1 once.  The default stays generation 2.
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
c2=$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')

# The disk as it would be had generation 2's release been lost.
must cp -al "$S" "$T/damaged"
must rm -rf "$T/damaged/gen/deploy/$c2"
vm_images grub "$T/damaged"
VM_REBOOT=1
vm_expect_boot fallback "generation 2 is damaged: GRUB starts generation 1 instead" \
  "generation=1 release=1.0 config=grub-1 counter=1 data=1 root=ro"
expect_true "the hook says why generation 2 cannot boot" \
  grep -aq "gen: generation 2 cannot boot: generation 2 is damaged: its release gen/deploy/$c2 is missing" \
  "$T/fallback.log"
expect_true "and that GRUB will start generation 1 once" \
  grep -aq "gen: falling back to generation 1: GRUB starts demo-1 once (next_entry in grub/grubenv)" \
  "$T/fallback.log"
expect_true "no kernel panic" sh -c "! grep -aq 'Kernel panic' '$T/fallback.log'"
# The one-shot is spent: GRUB's save_env cleared next_entry on the ESP.
must mcopy -o -i "$T/esp.img" ::/grub/grubenv "$T/grubenv-after"
expect_eq "$(grep -a '^next_entry=' "$T/grubenv-after")" "next_entry=" \
  "GRUB cleared next_entry in grub/grubenv (save_env): the fallback was one boot"
expect_eq "$(stat -c %s "$T/grubenv-after")" 1024 "grubenv kept its size"
expect_true "GRUB's default is still generation 2" \
  grep -q "^menuentry 'demo, generation 2 " "$S/boot/grub/grub.cfg"
finish
