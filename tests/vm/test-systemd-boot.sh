#!/bin/bash
# Boots gen's generations for real, through OVMF and Debian's systemd-boot:
# boot generation 1; switch to release 2 and boot generation 2; roll back and
# boot generation 1; with generation 2 the default again, pick generation 1 in
# the boot menu by hand.  Each boot checks the marker line the release's init
# prints: the generation, the release, the manifest's config value, the
# /var counter carried from boot to boot, and a counter in the data path
# /srv/gen-vm (kept in var/lib/gen/data/srv/gen-vm), which must be a bind
# mount of that folder (issue 8: data is linked in, never copied) and keep
# its content across the switch and the rollback.
# shellcheck source=tests/vm/lib.sh
. "$TESTS_DIR/vm/lib.sh"
vm_require systemd-boot
vm_prepare

plan 18

vm_release rel/1 1.0
vm_release rel/2 2.0
vm_manifest m1.json rel/1 edge-1
vm_manifest m2.json rel/2 edge-2
must gen init --os demo
expect_exit 0 gen switch m1.json

# vm_data_mount NAME: where boot NAME's /srv/gen-vm was mounted from.
vm_data_mount () {
  grep -a -o 'GEN-VM-DATA-MOUNT .*' "$T/$1.log" | tr -d '\r' | tail -n 1 | sed 's/^GEN-VM-DATA-MOUNT //'
}
data_from="/srv/gen-vm from /var/lib/gen/data/srv/gen-vm"

vm_images systemd-boot
vm_expect_boot first "generation 1 boots, /var counter 1, data counter 1" \
  "generation=1 release=1.0 config=edge-1 counter=1 data=1 root=ro"
expect_eq "$(vm_data_mount first)" "$data_from" \
  "the data path /srv/gen-vm is a bind mount of the sysroot's var/lib/gen/data/srv/gen-vm"
vm_keep_var
expect_eq "$(cat "$S/var/lib/gen/data/srv/gen-vm/counter")" "1" "the data file generation 1 wrote is on the sysroot"

expect_exit 0 gen switch m2.json
expect_eq "$(cat "$S/var/lib/gen/data/srv/gen-vm/counter")" "1" "gen switch left the data file as it was"
vm_images systemd-boot
vm_expect_boot switch "after switch to release 2: generation 2, release 2.0, its config, counters 2" \
  "generation=2 release=2.0 config=edge-2 counter=2 data=2 root=ro"
expect_eq "$(vm_data_mount switch)" "$data_from" "generation 2 binds the same data folder"
expect_eq "$(vm_menu_titles switch | tr '\n' '|')" \
  "demo, generation 1 (release 1.0, $(day 1))|demo, generation 2 (release 2.0, $(day 2))|" \
  "systemd-boot's menu lists generations 1 and 2"
expect_true "the boot hook said which generation it started" \
  grep -aq "gen: generation 2 of demo, release .*: starting /sbin/init" "$T/switch.log"
vm_keep_var

expect_exit 0 gen rollback
vm_images systemd-boot
vm_expect_boot rollback "after rollback: generation 1, release 1.0, its own config, counters 3" \
  "generation=1 release=1.0 config=edge-1 counter=3 data=3 root=ro"
expect_eq "$(vm_data_mount rollback)" "$data_from" "after rollback, generation 1 binds the same data folder"
vm_keep_var

# Manual fallback: generation 2 is the default; pick generation 1 (the next
# entry down) in the menu before its timeout runs out.
expect_exit 0 gen rollback --to 2
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"
vm_images systemd-boot
vm_expect_boot menu "picking generation 1 in the menu boots it, counters 4" \
  "generation=1 release=1.0 config=edge-1 counter=4 data=4 root=ro" \
  --send 'Boot in [0-9]+ s' '<down>' --send '.' '<enter>'
expect_eq "$(vm_menu_titles menu | tr '\n' '|')" \
  "demo, generation 1 (release 1.0, $(day 1))|demo, generation 2 (release 2.0, $(day 2))|" \
  "the menu lists every kept generation"
vm_keep_var
expect_eq "$(cat "$S/var/lib/gen-vm/counter") $(cat "$S/var/lib/gen/data/srv/gen-vm/counter")" "4 4" \
  "the sysroot's var/ holds the counters the VM wrote, /var's and the data path's"
finish
