#!/bin/bash
# The boot menus: systemd-boot entries and loader.conf, GRUB's grub.cfg (it
# must pass grub-script-check) and extlinux.conf, all rewritten from the same
# generation list on every switch and rollback; boot.limit; bad boot keys.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 55

make_release rel/1.0 1.0
make_release rel/2.0 2.0
# boot_manifest FILE RELEASE HOSTNAME BOOT_JSON
boot_manifest () {
  cat > "$1" <<EOT
{
  "os": "demo",
  "release": { "dir": "rel/$2" },
  "kernel": { "args": ["console=ttyS0", "root=LABEL=gen-root", "rw"] },
  "config": { "files": { "/etc/hostname": { "content": "$3\n" } } },
  "boot": $4
}
EOT
}
boot_manifest m1.json 1.0 one '{}'
boot_manifest m2.json 2.0 two '{ "loader": "grub" }'
boot_manifest m3.json 2.0 three '{ "loader": "grub", "limit": 2 }'
boot_manifest m4.json 1.0 four '{ "loader": "extlinux", "limit": 1 }'
must gen init --os demo

E=$S/boot/loader/entries
grub_cfg=$S/boot/grub/grub.cfg
extlinux=$S/boot/extlinux/extlinux.conf
entries () { find "$E" -maxdepth 1 -type f -printf '%f\n' | sort -V | tr '\n' ' '; }
options () { sed -n 's/^options //p' "$E/demo-$1.conf"; }
checksum () { jq_ "$S/gen/generations/$1/generation.json" 'd["release"]["checksum"]'; }
# The titles of grub.cfg's entries, in order, and its default entry's.
grub_titles () { sed -n "s/^[[:space:]]*menuentry '\([^']*\)'.*/\1/p" "$grub_cfg"; }
grub_check () {
  if ! command -v grub-script-check > /dev/null; then
    not_ok "grub.cfg passes grub-script-check"; diag "grub-script-check is missing: install grub-common"
  elif grub-script-check "$grub_cfg" > "$T/.gsc" 2>&1; then
    ok "grub.cfg passes grub-script-check ($1)"
  else
    not_ok "grub.cfg passes grub-script-check ($1)"; diag < "$T/.gsc"
  fi
}

# --- systemd-boot, the default -----------------------------------------------
before=$(date -u +%F)
expect_exit 0 gen switch m1.json
after=$(date -u +%F)
expect_true "generation 1 records the day it was made (the menus show it: \$(day 1) below)" \
  test "$(day 1)" = "$before" -o "$(day 1)" = "$after"
c1=$(checksum 1)
expect_eq "$(options 1)" "console=ttyS0 root=LABEL=gen-root rw gen.os=demo gen.generation=1 gen.release=$c1" \
  "entry 1: the manifest's arguments, then gen's; no fallback (nothing older)"
expect_true "no grub.cfg with systemd-boot" test ! -e "$grub_cfg"
expect_true "no extlinux.conf with systemd-boot" test ! -e "$extlinux"
expect_eq "$(jq_ "$S/gen/generations/1/generation.json" 'd["boot"]')" '{"loader": "systemd-boot", "limit": null}' \
  "generation.json records the boot settings"

# --- GRUB ------------------------------------------------------------------------
expect_exit 0 gen switch m2.json
expect_stdout_contains "boot:        changed: loader grub, limit none"
c2=$(checksum 2)
expect_true "grub.cfg is written" test -f "$grub_cfg"
grub_check "generation 2 default"
expect_eq "$(grub_titles | tr '\n' '|')" \
  "demo, generation 2 (release 2.0, $(day 2))|demo, generation 1 (release 1.0, $(day 1))|" \
  "grub.cfg: the default entry first, then the older one"
expect_true "grub.cfg: generation 1 is in the submenu" \
  grep -A1 "^submenu 'demo, other generations'" "$grub_cfg" | grep -q "menuentry 'demo, generation 1 "
expect_file_contains "$grub_cfg" "set default=0"
expect_file_contains "$grub_cfg" "set timeout=3"
kdir2=$(jq_ "$S/gen/generations/2/generation.json" 'd["kernel"]["dir"]')
expect_file_contains "$grub_cfg" "	linux '/$kdir2/vmlinuz' 'console=ttyS0' 'root=LABEL=gen-root' 'rw' 'gen.os=demo' 'gen.generation=2' 'gen.release=$c2' 'gen.fallback=1'"
expect_file_contains "$grub_cfg" "	initrd '/$kdir2/initrd.img'"
expect_true "the kernel grub.cfg names exists" test -f "$S/boot/$kdir2/vmlinuz"
expect_eq "$(options 2)" "console=ttyS0 root=LABEL=gen-root rw gen.os=demo gen.generation=2 gen.release=$c2 gen.fallback=1" \
  "entry 2 falls back to generation 1"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"

# --- rollback rewrites every menu ---------------------------------------------
expect_exit 0 gen rollback
grub_check "after rollback"
expect_eq "$(grub_titles | head -n 1)" "demo, generation 1 (release 1.0, $(day 1))" \
  "after rollback, grub.cfg's default entry is generation 1"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-1.conf"
expect_exit 0 gen rollback --to 2
expect_eq "$(grub_titles | head -n 1)" "demo, generation 2 (release 2.0, $(day 2))" \
  "rollback --to 2: grub.cfg's default entry is generation 2"

# --- boot.limit --------------------------------------------------------------------
expect_exit 0 gen switch m3.json
expect_exit 0 gen switch m2.json
expect_stdout_contains "made generation 4: release 2.0"
expect_eq "$(entries)" "demo-1.conf demo-2.conf demo-3.conf demo-4.conf " \
  "generation 4 has no limit: every generation is in the menu"
expect_exit 0 gen rollback --to 3
expect_eq "$(entries)" "demo-3.conf demo-4.conf " \
  "generation 3 (limit 2) is the default: the menu keeps the newest 2"
expect_eq "$(grub_titles | sed 's/ (.*//' | tr '\n' '|')" "demo, generation 3|demo, generation 4|" \
  "grub.cfg lists the same two generations"
expect_true "generation 1 and 2 stay on disk" test -d "$S/gen/generations/1" -a -d "$S/gen/generations/2"
expect_true "their kernels stay on disk" test -f "$S/boot/$kdir2/vmlinuz"
expect_eq "$(options 3)" "console=ttyS0 root=LABEL=gen-root rw gen.os=demo gen.generation=3 gen.release=$c2" \
  "the oldest entry in the menu has no fallback"
expect_exit 0 gen rollback --to 1
expect_eq "$(entries)" "demo-1.conf demo-2.conf demo-3.conf demo-4.conf " \
  "rollback to generation 1 (no limit) brings every entry back"
expect_exit 0 gen list --json
expect_eq "$(jq_ "$OUT" '[g["generation"] for g in d["generations"]]')" "[1, 2, 3, 4]" "gen list shows all four"

# --- extlinux, with limit 1: the default and the current one stay ----------------
expect_exit 0 gen switch --boot m4.json
expect_eq "$(entries)" "demo-1.conf demo-5.conf " \
  "limit 1 with --boot: the new default (5) and the current generation (1)"
expect_true "extlinux.conf is written" test -f "$extlinux"
expect_file_contains "$extlinux" "DEFAULT demo-5"
expect_eq "$(grep -c '^LABEL ' "$extlinux")" 2 "extlinux.conf: one label per generation in the menu"
expect_file_contains "$extlinux" "	MENU LABEL demo, generation 1 (release 1.0, $(day 1))"
expect_file_contains "$extlinux" "	APPEND console=ttyS0 root=LABEL=gen-root rw gen.os=demo gen.generation=5 gen.release=$c1 gen.fallback=1"
grub_check "kept in step though boot.loader is extlinux"
expect_eq "$(grub_titles | sed 's/ (.*//' | tr '\n' '|')" "demo, generation 5|demo, generation 1|" \
  "the grub.cfg gen wrote before is kept in step, not left stale"

# --- the default generation's folder removed by hand: rollback still repairs the menus
rm -r "$S/gen/generations/5"
expect_exit 0 gen rollback --to 1
expect_eq "$(entries)" "demo-1.conf demo-2.conf demo-3.conf demo-4.conf " \
  "the menu is rebuilt around generation 1, without the removed 5"
expect_file_contains "$extlinux" "DEFAULT demo-1"

# --- bad boot keys: one error line, nothing written --------------------------------
snapshot "$T/before"
boot_manifest bad.json 1.0 x '{ "loader": "lilo" }'
expect_exit 1 gen switch bad.json
expect_error "bad.json: boot.loader: 'lilo' is not a boot loader gen writes (expected 'systemd-boot', 'grub', 'extlinux')"
boot_manifest bad.json 1.0 x '{ "limit": 0 }'
expect_exit 1 gen switch bad.json
expect_error "bad.json: boot.limit: 0 is not an integer of at least 1"
expect_unchanged "$T/before" "bad boot keys change nothing"
finish
