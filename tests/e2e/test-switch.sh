#!/bin/bash
# gen switch: a manifest becomes a generation: a checked-out release, a
# rendered config overlay, a boot entry and the boot default.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 108

repo=$S/gen/repo
kver=6.1.0-gen-demo
make_release rel/1.0 1.0
make_release rel/2.0 2.0
printf '#!/bin/sh\necho "demo app 2.0"\n' > rel/2.0/usr/bin/demo-app
mkdir -p templates files
printf 'name={{hostname}}\nport={{ port }}\n' > templates/app.conf.in
printf 'kept as is: {{not_a_var}}\n\001\002\377\n' > files/blob

config () { # HOSTNAME
  cat <<EOF
{
  "vars": { "hostname": "$1", "port": 8080, "debug": true },
  "files": {
    "/etc/hostname": { "content": "{{hostname}}\n" },
    "/etc/motd": { "content": "port {{ port }} debug {{debug}}\n" },
    "/etc/app/app.conf": { "template": "templates/app.conf.in", "mode": "0640" },
    "/etc/app/blob": { "source": "files/blob" },
    "/etc/localtime": { "symlink": "/usr/share/zoneinfo/UTC" }
  }
}
EOF
}
manifest m1.json '{ "dir": "rel/1.0" }' "$(config edge-01)"
manifest m2.json '{ "dir": "rel/1.0" }' "$(config edge-02)"
manifest m3.json '{ "dir": "rel/2.0" }' "$(config edge-02)"

must gen init --os demo

# --- the first generation --------------------------------------------------
expect_exit 0 gen switch m1.json
expect_stdout_contains "made generation 1: release 1.0"
expect_stdout_contains "generation 1 is current and the boot default"
g1=$S/gen/generations/1
c1=$(jq_ "$g1/generation.json" 'd["release"]["checksum"]')
expect_eq "$c1" "$(ostree --repo="$repo" rev-parse demo/release)" \
  "generation.json names the commit of ref demo/release"
expect_true "the checksum is 64 hex digits" grep -qE '^[0-9a-f]{64}$' <<< "$c1"

entry=$S/boot/loader/entries/demo-1.conf
expect_true "entry demo-1.conf exists" test -f "$entry"
expect_true "entry title names the OS, generation 1 and release 1.0" \
  grep -qE '^title demo, generation 1 \(release 1\.0, [0-9]{4}-[0-9]{2}-[0-9]{2}\)$' "$entry"
expect_file_contains "$entry" "options console=ttyS0 quiet gen.os=demo gen.generation=1 gen.release=$c1"
expect_eq "$(grep -c '^options ' "$entry")" 1 "entry has one options line"
linux=$(sed -n 's/^linux //p' "$entry")
initrd=$(sed -n 's/^initrd //p' "$entry")
expect_true "linux path /demo/$kver-ID/vmlinuz" grep -qE "^/demo/$kver-[0-9a-f]+/vmlinuz\$" <<< "$linux"
expect_true "linux path exists under boot" cmp -s "$S/boot$linux" "rel/1.0/usr/lib/modules/$kver/vmlinuz"
expect_true "initrd path exists under boot" \
  cmp -s "$S/boot$initrd" "rel/1.0/usr/lib/modules/$kver/initramfs.img"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-1.conf"
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]')" "[1, 1, 1]" \
  "state.json: current 1, default 1, last 1"

# The overlay.
expect_file_equals "$g1/etc/hostname" $'edge-01\n'
expect_file_equals "$g1/etc/motd" $'port 8080 debug true\n'
expect_file_equals "$g1/etc/app/app.conf" $'name=edge-01\nport=8080\n'
expect_true "source copied byte for byte" cmp -s files/blob "$g1/etc/app/blob"
expect_eq "$(readlink "$g1/etc/localtime")" /usr/share/zoneinfo/UTC "localtime is the symlink"
expect_eq "$(stat -c %a "$g1/etc/app/app.conf")" 640 "app.conf has mode 0640"
expect_eq "$(stat -c %a "$g1/etc/hostname")" 644 "hostname has the default mode 0644"
expect_eq "$(stat -c %a "$g1/etc/app/blob")" 644 "blob has the default mode 0644"
expect_eq "$(cd "$g1/etc" && find . | sort | tr '\n' ' ')" \
  ". ./app ./app/app.conf ./app/blob ./hostname ./localtime ./motd " "the overlay holds exactly the manifest's files"

# The record.
gj=$g1/generation.json
expect_eq "$(jq_ "$gj" '[d["generation"], d["os"], d["release"]["version"]]')" '[1, "demo", "1.0"]' \
  "generation.json: number, os, release version"
expect_true "generation.json: date is ISO 8601" \
  grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' <<< "$(jq_ "$gj" 'd["date"]')"
expect_eq "$(jq_ "$gj" '[d["kernel"]["version"], d["kernel"]["initrd"], d["kernel"]["args"]]')" \
  "[\"$kver\", true, [\"console=ttyS0\", \"quiet\"]]" "generation.json: kernel version, initrd, args"
expect_eq "/$(jq_ "$gj" 'd["kernel"]["dir"]')/vmlinuz" "$linux" "generation.json: kernel dir is the entry's"
expect_eq "$(jq_ "$gj" '[d["manifest"]["path"], d["manifest"]["revision"], d["manifest"]["dirty"]]')" \
  "[\"$T/m1.json\", null, false]" "generation.json: manifest path; no git: revision null, dirty false"
expect_true "manifest.json is a copy of the manifest" cmp -s m1.json "$g1/manifest.json"

# The checkout shares the store's objects.
deploy=$S/gen/deploy/$c1
expect_true "the release is checked out at gen/deploy/<checksum>" \
  cmp -s "$deploy/usr/bin/demo-app" rel/1.0/usr/bin/demo-app
obj=$(ostree --repo="$repo" ls -C "$c1" /usr/bin/demo-app | awk '{print $5}')
expect_eq "$(stat -c %i "$deploy/usr/bin/demo-app")" \
  "$(stat -c %i "$repo/objects/${obj:0:2}/${obj:2}.file")" "the checked-out file is the repo object (same inode)"
expect_true "the checked-out file has more than one link" test "$(stat -c %h "$deploy/usr/bin/demo-app")" -gt 1
expect_eq "$(ls -A "$S/gen/tmp")" "" "gen/tmp is empty after a switch"

# --- the same manifest again: nothing new -----------------------------------
expect_exit 0 gen switch m1.json
expect_stdout_contains "no changes: generation 1 already matches the manifest"
expect_eq "$(jq_ "$S/gen/state.json" 'd["last"]')" 1 "no new generation for an unchanged manifest"
expect_true "no generation 2 folder" test ! -e "$S/gen/generations/2"
expect_true "no entry demo-2.conf" test ! -e "$S/boot/loader/entries/demo-2.conf"

# --- a config-only change: generation 2 on the same checkout ----------------
inode=$(stat -c %i "$deploy/usr/bin/demo-app")
kernels=$(ls "$S/boot/demo")
expect_exit 0 gen switch m2.json
expect_stdout_contains "made generation 2: release 1.0"
expect_stdout_contains "release:     unchanged"
expect_stdout_contains "~ /etc/app/app.conf"
expect_stdout_contains "~ /etc/hostname"
g2=$S/gen/generations/2
expect_eq "$(jq_ "$g2/generation.json" 'd["release"]["checksum"]')" "$c1" "generation 2 has the same release"
expect_eq "$(ls "$S/gen/deploy")" "$c1" "still one checkout"
expect_eq "$(stat -c %i "$deploy/usr/bin/demo-app")" "$inode" "the checked-out file is the same inode"
expect_eq "$(ls "$S/boot/demo")" "$kernels" "no new kernel folder"
expect_file_equals "$g2/etc/hostname" $'edge-02\n'
expect_file_equals "$g1/etc/hostname" $'edge-01\n'
expect_file_contains "$S/boot/loader/entries/demo-2.conf" "gen.generation=2 gen.release=$c1"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-2.conf"
expect_true "entry demo-1.conf is kept" test -f "$entry"

# --- a new release: a new checkout ------------------------------------------
expect_exit 0 gen switch m3.json
expect_stdout_contains "made generation 3: release 2.0"
expect_stdout_contains "release:     new (checked out)"
c3=$(jq_ "$S/gen/generations/3/generation.json" 'd["release"]["checksum"]')
expect_true "release 2.0 has another checksum" test "$c3" != "$c1"
expect_eq "$(ls "$S/gen/deploy" | sort | tr '\n' ' ')" "$(printf '%s\n' "$c1" "$c3" | sort | tr '\n' ' ')" \
  "two checkouts, one per release"
expect_true "the new checkout has release 2.0's files" \
  cmp -s "$S/gen/deploy/$c3/usr/bin/demo-app" rel/2.0/usr/bin/demo-app
expect_eq "$(stat -c %i "$deploy/usr/bin/demo-app")" "$inode" "the old checkout is untouched"

# A release with another kernel gets its own kernel folder.
GEN_TEST_KVER=6.2.0-gen-demo make_release rel/k2 2.1
manifest mk.json '{ "dir": "rel/k2" }' "$(config edge-02)"
expect_exit 0 gen switch mk.json
expect_eq "$(ls "$S/boot/demo" | wc -l)" 2 "a new kernel gets a new folder under boot/demo"
linux4=$(sed -n 's/^linux //p' "$S/boot/loader/entries/demo-4.conf")
expect_true "entry 4 boots kernel 6.2.0" cmp -s "$S/boot$linux4" rel/k2/usr/lib/modules/6.2.0-gen-demo/vmlinuz
expect_true "entry 1 still boots kernel 6.1.0" cmp -s "$S/boot$linux" "rel/1.0/usr/lib/modules/$kver/vmlinuz"

# --- the same tree in another folder gives the same release -----------------
make_release copy/1.0 1.0
manifest mcopy.json '{ "dir": "copy/1.0" }' "$(config edge-01)"
expect_exit 0 gen switch mcopy.json
expect_eq "$(jq_ "$S/gen/generations/5/generation.json" 'd["release"]["checksum"]')" "$c1" \
  "the same tree imported from another folder has the same checksum"
expect_eq "$(ls "$S/gen/deploy" | wc -l)" 3 "and needs no new checkout"
expect_true "release: new, but not checked out again" grep -qx '  release:     new' "$OUT"

# --- --boot: default, not current -------------------------------------------
expect_exit 0 gen switch --boot m3.json
expect_stdout_contains "made generation 6: release 2.0"
expect_stdout_contains "generation 6 is the boot default; the current generation is unchanged"
expect_exit 0 gen status --json
expect_eq "$(jq_ "$OUT" '[d["current"], d["default"]]')" "[5, 6]" "status: current 5, default 6"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-6.conf"
expect_exit 0 gen switch --boot m3.json
expect_stdout_contains "no changes: generation 6 already matches the manifest and is the boot default"
# Switching to it for real reuses it.
expect_exit 0 gen switch m3.json
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]')" "[6, 6, 6]" \
  "switch after switch --boot makes the same generation current, no new one"

# --- --dry-run: says what would change, writes nothing ----------------------
make_release rel/3.0 3.0
manifest m4.json '{ "dir": "rel/3.0" }' "$(config edge-03)"
snapshot "$T/before"
expect_exit 0 gen switch --dry-run m4.json
expect_stdout_contains "would make generation 7: release 3.0"
expect_stdout_contains "release:     new (would be checked out)"
expect_stdout_contains "~ /etc/hostname"
expect_stdout_contains "dry run: nothing was written"
expect_unchanged "$T/before" "--dry-run changed nothing in the sysroot or the store"
expect_exit 0 gen switch -n m3.json
expect_stdout_contains "no changes: generation 6 already matches the manifest"
expect_unchanged "$T/before" "--dry-run of an unchanged manifest changed nothing"
expect_eq "$(ostree --repo="$repo" rev-parse demo/release)" "$c3" "--dry-run did not move ref demo/release"
expect_exit 2 gen switch --boot --dry-run m4.json
expect_error "--boot and --dry-run cannot be combined"

# --- the manifest's git revision ---------------------------------------------
mkdir gitm
(cd gitm && git init -q && mkdir templates files && cp ../templates/* templates/ && cp ../files/* files/)
sed 's|"rel/1.0"|"../rel/1.0"|' m1.json > gitm/m.json
git_ () { git -C gitm -c user.name=gen-test -c user.email=gen@test -c commit.gpgsign=false "$@"; }
must git_ add -A
must git_ commit -q -m "manifest"
head=$(git -C gitm rev-parse HEAD)
expect_exit 0 gen switch gitm/m.json
n=$(jq_ "$S/gen/state.json" 'd["current"]')
expect_eq "$(jq_ "$S/gen/generations/$n/generation.json" '[d["manifest"]["revision"], d["manifest"]["dirty"]]')" \
  "[\"$head\", false]" "a committed manifest: revision is HEAD, dirty false"
sed -i 's/edge-01/edge-git/' gitm/m.json
expect_exit 0 gen switch gitm/m.json
n=$(jq_ "$S/gen/state.json" 'd["current"]')
expect_eq "$(jq_ "$S/gen/generations/$n/generation.json" '[d["manifest"]["revision"], d["manifest"]["dirty"]]')" \
  "[\"$head\", true]" "a modified manifest: revision is HEAD, dirty true"
expect_file_equals "$S/gen/generations/$n/etc/hostname" $'edge-git\n'
# Only a template changed, the manifest's text not.
must git_ commit -q -am "edge-git"
head=$(git -C gitm rev-parse HEAD)
printf 'name={{hostname}}!\nport={{ port }}\n' > gitm/templates/app.conf.in
expect_exit 0 gen switch gitm/m.json
expect_eq "$(jq_ "$S/gen/state.json" 'd["current"]')" "$((n + 1))" "a changed template: a new generation"
n=$((n + 1))
expect_eq "$(jq_ "$S/gen/generations/$n/generation.json" '[d["manifest"]["revision"], d["manifest"]["dirty"]]')" \
  "[\"$head\", true]" "a changed template, the manifest's text the same: revision is HEAD, dirty true"
expect_file_equals "$S/gen/generations/$n/etc/app/app.conf" $'name=edge-git!\nport=8080\n'

# --boot of a manifest the current generation matches makes it the default again.
expect_exit 0 gen switch --boot m3.json
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]')" "[$n, $((n + 1)), $((n + 1))]" \
  "switch --boot: generation $((n + 1)) is the default, $n still current"
expect_exit 0 gen switch --boot gitm/m.json
expect_stdout_contains "no changes to the system: made generation $n the boot default"
expect_eq "$(jq_ "$S/gen/state.json" '[d["current"], d["default"], d["last"]]')" "[$n, $n, $((n + 1))]" \
  "switch --boot of the current generation's manifest: no new generation, $n the default again"
expect_file_contains "$S/boot/loader/loader.conf" "default demo-$n.conf"

# --- a release without a kernel is refused, nothing written ------------------
make_release rel/nokernel 9.0
rm -r rel/nokernel/usr/lib/modules
manifest mnk.json '{ "dir": "rel/nokernel" }'
snapshot "$T/before"
expect_exit 1 gen switch mnk.json
expect_error "the release has no kernel (expected usr/lib/modules/<version>/vmlinuz)"
expect_unchanged "$T/before" "a refused release leaves the sysroot and the store as they were"

expect_exit 0 ostree --repo="$repo" fsck
finish
