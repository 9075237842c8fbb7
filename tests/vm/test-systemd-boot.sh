#!/bin/bash
# Boots gen's generations for real, through OVMF and Debian's systemd-boot:
# switch to release 1 then 2 and boot generation 2; roll back and boot
# generation 1; with generation 2 the default again, pick generation 1 in the
# boot menu by hand.  Each boot checks the marker line the release's init
# prints: the generation, the release, the manifest's config value, the
# /var counter carried from boot to boot, and a counter in the data path
# /srv/gen-vm (kept in var/lib/gen/data/srv/gen-vm).
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require systemd-boot
vm_prepare

plan 12

vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 edge-1
vm_manifest m2.json rel/2 edge-2
must gen init --os demo
expect_exit 0 gen switch m1.json
expect_exit 0 gen switch m2.json
today=$(date -u +%F)

vm_images systemd-boot
vm_expect_boot switch "after switch to release 2: generation 2, release 2.0, its config, /var counter 1" \
  "generation=2 release=2.0 config=edge-2 counter=1 data=1 root=ro"
expect_eq "$(vm_menu_titles switch | tr '\n' '|')" \
  "demo, generation 1 (release 1.0, $today)|demo, generation 2 (release 2.0, $today)|" \
  "systemd-boot's menu lists generations 1 and 2"
expect_true "the boot hook said which generation it started" \
  grep -aq "gen: generation 2 of demo, release .*: starting /sbin/init" "$T/switch.log"
vm_keep_var

expect_exit 0 gen rollback
vm_images systemd-boot
vm_expect_boot rollback "after rollback: generation 1, release 1.0, its own config, /var counter 2" \
  "generation=1 release=1.0 config=edge-1 counter=2 data=2 root=ro"
vm_keep_var

# Manual fallback: generation 2 is the default; pick generation 1 (the next
# entry down) in the menu before its timeout runs out.
expect_exit 0 gen rollback --to 2
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"
vm_images systemd-boot
vm_expect_boot menu "picking generation 1 in the menu boots it, /var counter 3" \
  "generation=1 release=1.0 config=edge-1 counter=3 data=3 root=ro" \
  --send 'Boot in [0-9]+ s' '<down>' --send '.' '<enter>'
expect_eq "$(vm_menu_titles menu | tr '\n' '|')" \
  "demo, generation 1 (release 1.0, $today)|demo, generation 2 (release 2.0, $today)|" \
  "the menu lists every kept generation"
vm_keep_var
expect_eq "$(cat "$S/var/lib/gen-vm/counter") $(cat "$S/var/lib/gen/data/srv/gen-vm/counter")" "3 3" \
  "the sysroot's var/ holds the counters the VM wrote, /var's and the data path's"
finish
