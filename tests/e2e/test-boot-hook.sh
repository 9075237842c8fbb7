#!/bin/bash
# The boot hook's logic (bootloader-hooks/gen-hook.sh), run by sh on the host
# against a real sysroot, without booting: the kernel command line it
# accepts, the damage it detects (with the message it prints), the mounts it
# makes (mount is a stub that records them) and the fallback it asks for:
# systemd-boot's (EFI variables in a folder) and GRUB's (next_entry in a
# grubenv file).  tests/vm boots it for real.
# shellcheck disable=SC2016 # the scripts given to hook are for sh to expand
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 45

HOOK=$SOURCE_ROOT/bootloader-hooks/gen-hook.sh
make_release rel/1.0 1.0
make_release rel/2.0 2.0
mkdir -p rel/2.0/dev rel/2.0/proc rel/2.0/sys rel/2.0/run rel/2.0/var rel/2.0/tmp rel/2.0/srv/rec
manifest m1.json '{ "dir": "rel/1.0" }' \
  '{ "files": { "/etc/demo.conf": { "content": "hostname=one\n" } } }' '["root=LABEL=gen-root"]'
manifest m2.json '{ "dir": "rel/2.0" }' \
  '{ "files": { "/etc/demo.conf": { "content": "hostname=two\n" } } }' '["root=LABEL=gen-root"]'
# Generation 2 keeps data in /srv/rec (bound from var/lib/gen/data/srv/rec) and /var/lib/app.
sed -i 's|^}$|, "data": { "paths": ["/srv/rec", "/var/lib/app"] } }|' m2.json
must gen init --os demo
must gen switch m1.json
must gen switch m2.json
c1=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')
c2=$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')
cmdline2=$(sed -n 's/^options //p' "$S/boot/loader/entries/demo-2.conf")

# hook SCRIPT: runs SCRIPT in sh with the hook loaded, mount and friends
# stubbed (each call is recorded in $T/calls); stdout and stderr in $OUT.
hook () {
  : > "$T/calls"
  cat > "$T/hook-test.sh" <<EOT
GEN_RUN=$T/run
GEN_EFIVARS=$T/efivars
mount () { echo "mount \$*" >> $T/calls; }
umount () { echo "umount \$*" >> $T/calls; }
modprobe () { echo "modprobe \$*" >> $T/calls; }
findfs () { [ "\$1" = UUID=ABCD-12EF ] && echo /dev/esp-stub; }
chattr () { :; }
. $HOOK
GEN_RUN=$T/run
GEN_EFIVARS=$T/efivars
$1
EOT
  sh "$T/hook-test.sh" > "$OUT" 2>&1
}
cmdline () { printf '%s\n' "$1" > "$T/cmdline"; }

# --- the kernel command line ----------------------------------------------------
cmdline "$cmdline2 init=/usr/bin/demo-app"
hook 'gen_read_cmdline '"$T"'/cmdline && echo "$GEN_OS $GEN_GENERATION $GEN_RELEASE $GEN_FALLBACK $GEN_INIT"'
expect_eq "$(cat "$OUT")" "demo 2 $c2 1 /usr/bin/demo-app" "the entry's options give os, generation, release, fallback, init"
cmdline "root=/dev/vda1 quiet"
hook 'gen_read_cmdline '"$T"'/cmdline || echo "$GEN_ERROR"'
expect_eq "$(cat "$OUT")" "no gen.generation= on the kernel command line: not a gen boot entry" \
  "a command line without gen.generation= is not a gen entry"
bad () { # ARGS MESSAGE
  cmdline "gen.os=demo gen.generation=2 gen.release=$c2 $1"
  hook 'gen_read_cmdline '"$T"'/cmdline && echo accepted || echo "$GEN_ERROR"'
  expect_eq "$(cat "$OUT")" "$2" "refused: $1"
}
bad "gen.generation=2/../1" "bad gen.generation='2/../1'"
bad "gen.generation=02" "bad gen.generation='02'"
bad "gen.os=../x" "bad gen.os='../x'"
bad "gen.release=../../etc" "bad gen.release='../../etc'"
bad "init=sbin/init" "init='sbin/init' is not an absolute path"
bad "gen.fallback=x*" "accepted"
hook 'set -- a; gen_read_cmdline '"$T"'/missing; echo "$GEN_ERROR"'
expect_eq "$(tail -n 1 "$OUT")" "cannot read the kernel command line" "an unreadable command line is an error"

# --- gen_check: what makes a generation unbootable -----------------------------
check () { # DESC MESSAGE [CMDLINE]
  cmdline "${3:-$cmdline2 init=/usr/bin/demo-app}"
  hook 'gen_read_cmdline '"$T"'/cmdline && gen_check '"$S"' && echo complete || echo "$GEN_ERROR"'
  expect_eq "$(cat "$OUT")" "$2" "$1"
}
check "generation 2 is complete" complete
check "a generation that does not exist" \
  "generation 7 is missing: no gen/generations/7/generation.json" \
  "gen.os=demo gen.generation=7 gen.release=$c2 init=/usr/bin/demo-app"
check "an entry naming another release" \
  "generation 2 records another release than gen.release=$c1" \
  "gen.os=demo gen.generation=2 gen.release=$c1 init=/usr/bin/demo-app"
check "a release without the init" "generation 2 is damaged: its release has no /sbin/init" \
  "$cmdline2"
cp -a "$S/gen/state.json" "$T/state.json"
sed -i 's/"last" : 2/"last" : 1/' "$S/gen/state.json"
check "a generation above 'last' (never committed)" \
  "generation 2 was never committed (gen/state.json)"
cp -a "$T/state.json" "$S/gen/state.json"
mv "$S/gen/generations/2/etc" "$T/etc2"
check "a generation without its overlay" \
  "generation 2 is damaged: gen/generations/2/etc is missing"
mv "$T/etc2" "$S/gen/generations/2/etc"
mv "$S/gen/deploy/$c2" "$T/deploy2"
check "a generation whose release is gone" \
  "generation 2 is damaged: its release gen/deploy/$c2 is missing"
mv "$T/deploy2" "$S/gen/deploy/$c2"
cmdline "$cmdline2 init=/usr/bin/demo-app"
hook 'gen_read_cmdline '"$T"'/cmdline; gen_check '"$T"'/rel || echo "$GEN_ERROR"'
expect_eq "$(cat "$OUT")" "the root file system has no gen/state.json: is root= the gen sysroot?" \
  "a root file system without gen/state.json"

# --- gen_assemble: the mounts ---------------------------------------------------------
cmdline "$cmdline2 init=/usr/bin/demo-app"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_assemble '"$S"' '"$T"'/newroot && echo assembled'
expect_eq "$(tail -n 1 "$OUT")" assembled "generation 2 assembles"
expect_eq "$(cat "$T/calls")" "mount --bind $S/gen/deploy/$c2 $T/newroot
mount -o remount,bind,ro $T/newroot
mount -t overlay gen-etc -o lowerdir=$S/gen/generations/2/etc:$S/gen/deploy/$c2/etc,upperdir=$T/run/etc/upper,workdir=$T/run/etc/work $T/newroot/etc
mount --bind $S/var $T/newroot/var
mount --bind $S/var/lib/gen/data/srv/rec $T/newroot/srv/rec" \
  "the release read-only, /etc the overlay over the release's etc, /var the persistent one, then the data path"
expect_eq "$(cat "$T/run/booted")" "os=demo
generation=2
release=$c2
root=ro
sysroot=$T/run/sysroot" "/run/gen/booted tells the booted system what it runs"

cmdline "$(sed -n 's/^options //p' "$S/boot/loader/entries/demo-1.conf") init=/usr/bin/demo-app"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_assemble '"$S"' '"$T"'/newroot && echo assembled'
expect_true "a release without /dev, /proc… gets a volatile overlay root" \
  grep -qx "mount -t overlay gen-root -o lowerdir=$S/gen/deploy/$c1,upperdir=$T/run/root/upper,workdir=$T/run/root/work $T/newroot" "$T/calls"
expect_stdout_contains "gen: the release lacks /dev /proc /sys /run /var /tmp: / is a writable overlay, reset at every boot"
expect_eq "$(tail -n 1 "$OUT")" assembled "and it assembles"

cp "$S/gen/generations/2/data-paths" "$T/data-paths"
echo "../../etc /srv/rec" > "$S/gen/generations/2/data-paths"
cmdline "$cmdline2 init=/usr/bin/demo-app"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_assemble '"$S"' '"$T"'/newroot || echo "$GEN_ERROR"'
expect_eq "$(tail -n 1 "$OUT")" "generation 2 has a bad line in gen/generations/2/data-paths" \
  "a data path that leaves the sysroot is refused"
expect_eq "$(cat "$T/calls")" "" "and nothing is mounted"
cp "$T/data-paths" "$S/gen/generations/2/data-paths"
mv "$S/var/lib/gen/data/srv/rec" "$T/rec"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_assemble '"$S"' '"$T"'/newroot || echo "$GEN_ERROR"'
expect_eq "$(tail -n 1 "$OUT")" "data path /srv/rec: var/lib/gen/data/srv/rec is missing from the root file system" \
  "a missing data folder is reported"
mv "$T/rec" "$S/var/lib/gen/data/srv/rec"

# --- the data's schema: only the boot default may run on data it cannot read ----------
printf '%s\n' '{' '  "reads" : [' '    2,' '    13' '  ],' '  "paths" : [ "/srv/9" ]' '}' > "$T/multi.json"
printf '%s\n' '{ "data" : { "schema" : 2, "reads" : [ 2, 3 ], "paths" : [ "/srv/4" ] } }' > "$T/one.json"
printf '%s\n' '{ "generation" : 1 }' > "$T/none.json"
hook '_gen_reads '"$T"'/multi.json; _gen_reads '"$T"'/one.json; _gen_reads '"$T"'/none.json'
expect_eq "$(cat "$OUT" | tr '\n' '|')" "2 13|2 3|0|" "the schemas a record reads, as json-glib writes them or on one line"
printf '%s\n' '{' '  "format" : 1,' '  "schema" : 3,' '  "history" : [' '    {' '      "schema" : 0' '    }' '  ]' '}' \
  > "$S/gen/data.json"
check "the boot default runs whatever the data's schema (gen checked it, or was forced)" complete
check "another generation whose release cannot read the data is refused" \
  "generation 1 cannot read the data: its release reads schema 0, the data is at schema 3 (gen/data.json)" \
  "$(sed -n 's/^options //p' "$S/boot/loader/entries/demo-1.conf") init=/usr/bin/demo-app"
sed -i 's/"schema" : 3/"schema" : 0/' "$S/gen/data.json"
check "and boots when it can" complete \
  "$(sed -n 's/^options //p' "$S/boot/loader/entries/demo-1.conf") init=/usr/bin/demo-app"

# --- gen_fall_back: systemd-boot's one-shot entry -----------------------------------
utf16 () { printf '%s' "$1" | sed 's/./&\n/g' | while IFS= read -r c; do [ -n "$c" ] && printf '%s\0' "$c"; done; }
mkdir -p "$T/efivars"
guid=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
{ printf '\6\0\0\0'; utf16 "systemd-boot 252"; printf '\0\0'; } > "$T/efivars/LoaderInfo-$guid"
cmdline "$cmdline2"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_fall_back && echo rebooting'
expect_stdout_contains "gen: falling back to generation 1: the next boot starts demo-1.conf once"
expect_eq "$(tail -n 1 "$OUT")" rebooting "the fallback is set: reboot"
expect_eq "$(od -An -tx1 "$T/efivars/LoaderEntryOneShot-$guid" | tr -d ' \n')" \
  "07000000$(utf16 demo-1.conf | od -An -tx1 | tr -d ' \n')0000" \
  "LoaderEntryOneShot: attributes 7, then demo-1.conf in UTF-16LE, NUL-terminated"

cmdline "$(sed -n 's/^options //p' "$S/boot/loader/entries/demo-1.conf")"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_fall_back || echo "no fallback"'
expect_stdout_contains "gen: there is no older generation in the boot menu to fall back to"
expect_eq "$(od -An -tx1 "$T/efivars/LoaderConfigTimeoutOneShot-$guid" | tr -d ' \n')" "0700000030000000" \
  "the oldest generation: the menu waits on the next boot (LoaderConfigTimeoutOneShot 0)"
expect_eq "$(tail -n 1 "$OUT")" "no fallback" "and no reboot into another entry"

rm -rf "$T/efivars"
cmdline "$cmdline2"
hook 'gen_read_cmdline '"$T"'/cmdline && gen_fall_back || echo "no fallback"'
expect_stdout_contains "gen: this boot loader takes no one-shot choice from here: pick generation 1 in the boot menu"

# --- gen_fall_back: GRUB's next_entry in grub/grubenv on the ESP ---------------------
# gen's grub.cfg passes the ESP's UUID as GRUB's probe prints it (lower case).
mkdir -p "$T/run/esp/grub"
if command -v grub-editenv > /dev/null; then
  must grub-editenv "$T/run/esp/grub/grubenv" create
  must grub-editenv "$T/run/esp/grub/grubenv" set saved_entry=x next_entry=old
else
  { printf '# GRUB Environment Block\nsaved_entry=x\nnext_entry=old\n'; printf '%*s' 975 '' | tr ' ' '#'; } \
    > "$T/run/esp/grub/grubenv"
fi
ino=$(stat -c %i "$T/run/esp/grub/grubenv")
cmdline "$cmdline2 gen.esp=UUID=abcd-12ef"
hook 'gen_read_cmdline '"$T"'/cmdline && GEN_SYSROOT='"$S"' && gen_fall_back && echo rebooting'
expect_stdout_contains "gen: falling back to generation 1: GRUB starts demo-1 once (next_entry in grub/grubenv)"
expect_eq "$(tail -n 1 "$OUT")" rebooting "GRUB's fallback is set: reboot"
expect_eq "$(grep -v '^umount\|^modprobe' "$T/calls")" "mount /dev/esp-stub $T/run/esp" \
  "the ESP is found by its UUID, whatever the case, and mounted"
expect_eq "$(sed -n '1,3p' "$T/run/esp/grub/grubenv" | tr '\n' '|')" \
  "# GRUB Environment Block|saved_entry=x|next_entry=demo-other>demo-1|" \
  "next_entry names generation 1 in the submenu of other generations; other variables kept"
expect_eq "$(stat -c '%s %i' "$T/run/esp/grub/grubenv")" "1024 $ino" \
  "the block is written in place: same file, same size"
# GRUB clears next_entry before it uses it: found still set, GRUB could not
# write the block, and another reboot would come back here.
hook 'gen_read_cmdline '"$T"'/cmdline && GEN_SYSROOT='"$S"' && gen_fall_back || echo "no fallback"'
expect_stdout_contains "gen: GRUB did not take next_entry=demo-other>demo-1 from grub/grubenv on the last boot"
expect_eq "$(tail -n 1 "$OUT")" "no fallback" "and no reboot loop: the shell instead"
if command -v grub-editenv > /dev/null; then
  expect_eq "$(grub-editenv "$T/run/esp/grub/grubenv" list | tr '\n' '|')" \
    "saved_entry=x|next_entry=demo-other>demo-1|" "grub-editenv reads it back"
else
  ok "grub-editenv reads it back # SKIP no grub-editenv (grub-common)"
fi
finish
