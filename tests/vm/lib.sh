# shellcheck shell=bash
# lib.sh: shared by the VM tests (tests/vm/test-*.sh), on top of the e2e
# helpers (tests/e2e/lib.sh: TAP, a temporary folder $T, the sysroot $S, gen).
#
# The tests build real bootable releases from Debian's packages, make
# generations with the real gen, turn the sysroot into disk images without
# mounting anything (a FAT ESP from $S/boot with mkfs.vfat + mcopy, an ext4
# root from $S with mke2fs -d) and boot them in QEMU (TCG, OVMF) with the
# serial console in a log.
#
#   vm_require TOOL…            skip the whole test (TAP "1..0 # SKIP") unless
#                               the tools and files it needs are there
#   vm_prepare                  the kernel, busybox and initramfs, cached in
#                               $VM_CACHE (downloaded once with apt-get download)
#   vm_release DIR VERSION      a release tree: Debian's kernel, the busybox
#                               initramfs, busybox-static, tests/vm/release-init
#                               (its marker line: generation, release, config
#                               value, /var counter, data path counter, root)
#   vm_manifest FILE DIR VALUE [BOOT_JSON]
#   vm_images systemd-boot|grub|extlinux [SYSROOT]   $T/esp.img and $T/root.img
#   vm_boot NAME [vm-run.py options]        boots them; the serial log is $T/NAME.log
#   vm_marker NAME              the marker line the release's init printed
#   vm_keep_var                 copies /var back from root.img into $S, as the
#                               disk would keep it
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

VM_DIR=$TESTS_DIR/vm
VM_HOOKS=$SOURCE_ROOT/bootloader-hooks
VM_CACHE=${GEN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gen-vm}
VM_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
VM_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
VM_SYSTEMD_BOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
VM_GRUB_DIR=/usr/lib/grub/x86_64-efi
VM_SYSLINUX_MODULES=/usr/lib/syslinux/modules/bios
# One boot takes 20-60 s under TCG, depending on the machine's load.
VM_BOOT_TIMEOUT=${GEN_VM_BOOT_TIMEOUT:-400}
# The kernel arguments every test manifest gives: the root file system by
# label, errors to the serial console, and a panic ends the VM at once.
VM_ARGS='["console=ttyS0", "root=LABEL=gen-root", "quiet", "panic=-1"]'

vm_skip () { echo "1..0 # SKIP $*"; exit 0; }

# vm_require [systemd-boot] [grub]: skips unless QEMU, OVMF, the image tools
# and the named boot loaders are installed.
vm_require () {
  local missing="" t
  for t in qemu-system-x86_64 mkfs.vfat mcopy mmd mke2fs debugfs e2fsck cpio gzip dpkg-deb \
    apt-get python3 flock; do
    command -v "$t" > /dev/null || missing="$missing $t"
  done
  [ -f "$VM_OVMF_CODE" ] && [ -f "$VM_OVMF_VARS" ] || missing="$missing $VM_OVMF_CODE(ovmf)"
  for t in "$@"; do
    case $t in
      systemd-boot) [ -f "$VM_SYSTEMD_BOOT" ] || missing="$missing $VM_SYSTEMD_BOOT(systemd-boot-efi)" ;;
      grub)
        command -v grub-mkstandalone > /dev/null || missing="$missing grub-mkstandalone(grub-common)"
        [ -d "$VM_GRUB_DIR" ] || missing="$missing $VM_GRUB_DIR(grub-efi-amd64-bin)"
        ;;
      extlinux)
        # syslinux's mtools installer: no mount needed; SeaBIOS comes with QEMU.
        command -v syslinux > /dev/null || missing="$missing syslinux(syslinux)"
        [ -f "$VM_SYSLINUX_MODULES/ldlinux.c32" ] || missing="$missing $VM_SYSLINUX_MODULES(syslinux-common)"
        [ -f /usr/share/seabios/bios-256k.bin ] || missing="$missing /usr/share/seabios/bios-256k.bin(seabios)"
        ;;
      initramfs-tools)
        command -v mkinitramfs > /dev/null || missing="$missing mkinitramfs(initramfs-tools-core)"
        command -v depmod > /dev/null || missing="$missing depmod(kmod)"
        command -v unshare > /dev/null || missing="$missing unshare(util-linux)"
        ;;
      dracut)
        command -v dracut > /dev/null || missing="$missing dracut(dracut-core)"
        command -v depmod > /dev/null || missing="$missing depmod(kmod)"
        ;;
    esac
  done
  [ -z "$missing" ] || vm_skip "QEMU boot tests need:$missing (.ci/install-deps installs them)"
}

# The newest cached .deb whose name matches GLOB.
_vm_cached () {
  find "$VM_CACHE/debs" -maxdepth 1 -name "$1" | sort -V | tail -n 1
}

# The newest cached .deb of PACKAGE, downloaded with apt-get when there is none.
_vm_deb () {
  local pkg=$1 deb
  deb=$(_vm_cached "${pkg}_*.deb")
  if [ -z "$deb" ]; then
    (cd "$VM_CACHE/debs" && apt-get download -q "$pkg") > "$VM_CACHE/debs/.apt.log" 2>&1 || return 1
    deb=$(_vm_cached "${pkg}_*.deb")
  fi
  [ -n "$deb" ] && echo "$deb"
}

# Unpacks DEB once into DIR (dpkg-deb -x), under the cache.
_vm_unpack () {
  [ -f "$2/.unpacked" ] && return 0
  rm -rf "$2" && mkdir -p "$2" && dpkg-deb -x "$1" "$2" && touch "$2/.unpacked"
}

# Prints why and returns 2 when the packages cannot be had, 1 on a failure.
_vm_prepare_locked () {
  mkdir -p "$VM_CACHE/debs" || { echo "cannot create $VM_CACHE/debs"; return 2; }
  # linux-image-amd64 is a metapackage: the kernel is in the package it depends on.
  local kpkg kdeb bdeb hash
  kpkg=$(_vm_cached 'linux-image-[0-9]*-amd64_*.deb')
  kpkg=${kpkg##*/}
  kpkg=${kpkg%%_*}
  if [ -z "$kpkg" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 2> /dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
    [ -n "$kpkg" ] || { echo "apt-cache knows no linux-image-amd64 (run apt-get update)"; return 2; }
  fi
  kdeb=$(_vm_deb "$kpkg") || { echo "cannot download $kpkg: $(tail -n 1 "$VM_CACHE/debs/.apt.log")"; return 2; }
  bdeb=$(_vm_deb busybox-static) || { echo "cannot download busybox-static: $(tail -n 1 "$VM_CACHE/debs/.apt.log")"; return 2; }
  local kdir=$VM_CACHE/${kdeb##*/}
  kdir=${kdir%.deb}
  local bdir=$VM_CACHE/${bdeb##*/}
  bdir=${bdir%.deb}
  if ! _vm_unpack "$kdeb" "$kdir" || ! _vm_unpack "$bdeb" "$bdir"; then
    echo "cannot unpack the packages"
    return 1
  fi
  VM_KDIR=$kdir
  VM_KVER=$(find "$kdir/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
  VM_VMLINUZ=$kdir/boot/vmlinuz-$VM_KVER
  VM_BUSYBOX=$bdir/bin/busybox
  if [ ! -f "$VM_VMLINUZ" ] || [ ! -x "$VM_BUSYBOX" ]; then
    echo "the packages lack vmlinuz or busybox"
    return 1
  fi
  # The initramfs: rebuilt whenever the hook or the builder changes.
  hash=$(cat "$VM_HOOKS/gen-hook.sh" "$VM_HOOKS/busybox/init" "$VM_HOOKS/busybox/gen-mkinitramfs" \
    "$VM_BUSYBOX" | sha256sum | cut -c1-16)
  VM_INITRAMFS=$VM_CACHE/initramfs-$VM_KVER-$hash.img
  if [ ! -f "$VM_INITRAMFS" ]; then
    if ! "$VM_HOOKS/busybox/gen-mkinitramfs" --modules "$kdir/lib/modules/$VM_KVER" \
      --busybox "$VM_BUSYBOX" --add-modules "virtio_pci virtio_blk" "$VM_INITRAMFS.tmp" \
      > "$VM_CACHE/.mkinitramfs.log" 2>&1; then
      echo "gen-mkinitramfs failed: $(tail -n 1 "$VM_CACHE/.mkinitramfs.log")"
      return 1
    fi
    mv "$VM_INITRAMFS.tmp" "$VM_INITRAMFS"
  fi
}

# vm_prepare: sets VM_KVER, VM_VMLINUZ, VM_BUSYBOX and VM_INITRAMFS; skips
# when the packages cannot be had (no network and an empty cache).  Tests run
# in parallel: one at a time fills the cache.
vm_prepare () {
  mkdir -p "$VM_CACHE" || vm_skip "cannot create the cache folder $VM_CACHE"
  local rc
  exec 9> "$VM_CACHE/.lock"
  flock 9
  _vm_prepare_locked > "$T/.prepare" 2>&1
  rc=$?
  flock -u 9
  exec 9>&-
  case $rc in
    0) ;;
    2) vm_skip "no kernel to boot: $(cat "$T/.prepare")" ;;
    *) echo "1..1"; echo "not ok 1 - preparing the releases"; diag < "$T/.prepare"; exit 1 ;;
  esac
}

# vm_dracut_initramfs: points VM_INITRAMFS at an initramfs dracut builds
# with gen's module (bootloader-hooks/dracut/90gen), cached like the other.
vm_dracut_initramfs () {
  local hash img base
  hash=$(cat "$VM_HOOKS/gen-hook.sh" "$VM_HOOKS"/dracut/90gen/* | sha256sum | cut -c1-16)
  img=$VM_CACHE/dracut-$VM_KVER-$(dracut --version | tr -cd '0-9.-')-$hash.img
  if [ ! -f "$img" ]; then
    exec 9> "$VM_CACHE/.lock"
    flock 9
    if [ ! -f "$img" ]; then
      # dracut finds modules only under its base folder: a copy with gen's added.
      base=$T/dracut-base
      cp -a /usr/lib/dracut "$base" && cp -r "$VM_HOOKS/dracut/90gen" "$base/modules.d/" \
        && cp "$VM_HOOKS/gen-hook.sh" "$base/modules.d/90gen/" \
        && depmod -b "$VM_KDIR" "$VM_KVER" \
        && dracutbasedir=$base dracut -q --force --no-hostonly --no-early-microcode \
          --kver "$VM_KVER" --kmoddir "$VM_KDIR/lib/modules/$VM_KVER" -m "base rootfs-block gen" \
          --add-drivers "virtio_pci virtio_blk ext4 crc32c_generic" "$img.tmp" > "$T/dracut.log" 2>&1 \
        && mv "$img.tmp" "$img"
    fi
    flock -u 9
    exec 9>&-
  fi
  [ -f "$img" ] || { diag < "$T/dracut.log"; bail "dracut could not build an initramfs with gen's module"; }
  VM_INITRAMFS=$img
}

# vm_itools_initramfs: points VM_INITRAMFS at an initramfs Debian's
# mkinitramfs (initramfs-tools-core) builds with gen's hook and local-bottom
# script (bootloader-hooks/initramfs-tools), from a configuration folder of
# the test's own (mkinitramfs -d), so nothing of the host's is changed.
# mkinitramfs reads the kernel's modules only from /lib/modules/KVER: it runs
# and its configuration only from /boot/config-KVER: it runs in a mount
# namespace of its own (unshare -m) where tmpfs over /usr/lib/modules and
# /boot hold the cached kernel's (the empty folder /usr/lib/modules is
# created when the host has none, as a Debian system has).
vm_itools_initramfs () {
  local hash img conf
  hash=$(cat "$VM_HOOKS/gen-hook.sh" "$VM_HOOKS"/initramfs-tools/hooks/gen.in \
    "$VM_HOOKS"/initramfs-tools/scripts/local-bottom/gen | sha256sum | cut -c1-16)
  img=$VM_CACHE/itools-$VM_KVER-$(dpkg-query -W -f '${Version}' initramfs-tools-core 2> /dev/null)-$hash.img
  if [ ! -f "$img" ]; then
    exec 9> "$VM_CACHE/.lock"
    flock 9
    if [ ! -f "$img" ]; then
      conf=$T/itools-conf
      mkdir -p "$conf/hooks" "$conf/scripts/local-bottom" "$conf/conf.d"
      printf '%s\n' MODULES=list BUSYBOX=y KEYMAP=n COMPRESS=gzip RUNSIZE=10% FSTYPE=ext4 \
        > "$conf/initramfs.conf"
      echo RESUME=none > "$conf/conf.d/resume"
      printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic > "$conf/modules"
      sed "s|@GEN_HOOK_SH@|$VM_HOOKS/gen-hook.sh|" "$VM_HOOKS/initramfs-tools/hooks/gen.in" > "$conf/hooks/gen"
      cp "$VM_HOOKS/initramfs-tools/scripts/local-bottom/gen" "$conf/scripts/local-bottom/gen"
      chmod +x "$conf/hooks/gen" "$conf/scripts/local-bottom/gen"
      # shellcheck disable=SC2016 # expanded by the sh in the namespace
      depmod -b "$VM_KDIR" "$VM_KVER" \
        && unshare -m sh -c 'mkdir -p /usr/lib/modules 2> /dev/null
          mount -t tmpfs gen-vm /usr/lib/modules && mkdir /usr/lib/modules/$2 \
          && mount --bind "$1/lib/modules/$2" /usr/lib/modules/$2 \
          && mount -t tmpfs gen-vm /boot && cp "$1/boot/config-$2" /boot/ \
          && mkinitramfs -d "$3" -o "$4" "$2"' sh "$VM_KDIR" "$VM_KVER" "$conf" "$img.tmp" \
          > "$T/mkinitramfs.log" 2>&1 \
        && mv "$img.tmp" "$img"
    fi
    flock -u 9
    exec 9>&-
  fi
  [ -f "$img" ] || { diag < "$T/mkinitramfs.log"; bail "mkinitramfs could not build an initramfs with gen's hook"; }
  VM_INITRAMFS=$img
}

# vm_release DIR VERSION: a bootable release tree.  It has every mount point
# the hook uses, so its root is mounted read-only.
vm_release () {
  local dir=$1 version=$2 a
  mkdir -p "$dir/usr/lib/modules/$VM_KVER" "$dir/bin" "$dir/sbin" "$dir/etc/gen-vm" \
    "$dir/dev" "$dir/proc" "$dir/sys" "$dir/run" "$dir/var" "$dir/tmp" "$dir/srv/gen-vm"
  cp "$VM_VMLINUZ" "$dir/usr/lib/modules/$VM_KVER/vmlinuz"
  cp "$VM_INITRAMFS" "$dir/usr/lib/modules/$VM_KVER/initramfs.img"
  cp "$VM_BUSYBOX" "$dir/bin/busybox"
  for a in sh cat mkdir echo sync poweroff mount touch rm; do ln -sf busybox "$dir/bin/$a"; done
  cp "$VM_DIR/release-init" "$dir/sbin/init"
  printf 'NAME="gen VM test"\nID=gen-vm\nVERSION_ID="%s"\n' "$version" > "$dir/etc/os-release"
  echo "from the release" > "$dir/etc/gen-vm/value"
}

# vm_manifest FILE RELEASE_DIR VALUE [BOOT_JSON]
vm_manifest () {
  local boot=${4:-}
  [ -n "$boot" ] || boot='{}'
  cat > "$1" <<EOF
{
  "os": "$OS",
  "release": { "dir": "$2" },
  "kernel": { "args": $VM_ARGS },
  "config": {
    "vars": { "value": "$3" },
    "files": { "/etc/gen-vm/value": { "content": "{{value}}\n" } }
  },
  "data": { "paths": ["/srv/gen-vm"] },
  "boot": $boot
}
EOF
}

# A standalone GRUB for EFI that reads gen's grub.cfg from the partition that holds it.
_vm_grub_efi () {
  # loadenv and probe: gen's grub.cfg reads and clears next_entry in grubenv
  # and passes the ESP's UUID for the boot hook's fallback.
  local modules="fat part_gpt part_msdos search search_fs_file configfile normal linux echo test all_video loadenv probe"
  local img
  img=$VM_CACHE/grubx64-$(dpkg-query -W -f '${Version}' grub-efi-amd64-bin 2> /dev/null)-$(echo "$modules" | sha256sum | cut -c1-8).efi
  if [ ! -f "$img" ]; then
    # shellcheck disable=SC2016 # GRUB's $root, not the shell's
    printf '%s\n' 'search --no-floppy --set=root --file /grub/grub.cfg' \
      'configfile ($root)/grub/grub.cfg' > "$T/grub-stub.cfg"
    grub-mkstandalone -O x86_64-efi -o "$img.tmp" --modules="$modules" --install-modules="$modules" \
      --locales= --themes= --fonts= "boot/grub/grub.cfg=$T/grub-stub.cfg" && mv "$img.tmp" "$img" \
      || return 1
  fi
  echo "$img"
}

# vm_images LOADER [SYSROOT]: $T/esp.img (FAT, from SYSROOT/boot, with LOADER
# as EFI/BOOT/BOOTX64.EFI, or for extlinux a BIOS boot disk: syslinux
# installed into the FAT's boot sector and /extlinux, where it reads gen's
# extlinux.conf) and $T/root.img (ext4 labelled gen-root, from SYSROOT).
vm_images () {
  local loader=$1 sys=${2:-$S} efi='' mb
  case $loader in
    systemd-boot) efi=$VM_SYSTEMD_BOOT ;;
    grub) efi=$(_vm_grub_efi) || bail "grub-mkstandalone failed" ;;
  esac
  mb=$(( $(du -sm "$sys/boot" | cut -f1) + 40 ))
  rm -f "$T/esp.img" "$T/root.img"
  must mkfs.vfat -C -n GEN-ESP "$T/esp.img" $((mb * 1024))
  if [ -n "$efi" ]; then
    must mmd -i "$T/esp.img" ::/EFI ::/EFI/BOOT
    must mcopy -i "$T/esp.img" "$efi" ::/EFI/BOOT/BOOTX64.EFI
  fi
  must mcopy -s -i "$T/esp.img" "$sys"/boot/* ::/
  if [ "$loader" = extlinux ]; then
    # A partitionless disk, as a USB key: SeaBIOS runs the FAT's boot sector.
    must syslinux --install --directory /extlinux "$T/esp.img"
  fi
  must mke2fs -q -t ext4 -L gen-root -d "$sys" "$T/root.img" 512M
}

# vm_boot NAME [vm-run.py options…]: boots esp.img and root.img with fresh
# firmware variables; returns vm-run.py's status (124: timed out).  A reboot
# ends QEMU unless VM_REBOOT=1.  VM_FIRMWARE=bios boots with QEMU's SeaBIOS
# instead of OVMF.
VM_REBOOT=0
VM_FIRMWARE=uefi
vm_boot () {
  local name=$1 reboot=(-no-reboot) firmware=()
  shift
  [ "$VM_REBOOT" = 1 ] && reboot=()
  cp "$VM_OVMF_VARS" "$T/vars.fd"
  # shellcheck disable=SC2054 # QEMU's options are comma-separated
  [ "$VM_FIRMWARE" = bios ] || firmware=(
    -drive if=pflash,format=raw,readonly=on,file="$VM_OVMF_CODE"
    -drive if=pflash,format=raw,file="$T/vars.fd")
  python3 "$VM_DIR/vm-run.py" --log "$T/$name.log" --timeout "$VM_BOOT_TIMEOUT" "$@" -- \
    qemu-system-x86_64 -nodefaults -accel tcg -machine q35 -m 512 -smp 1 \
    -display none -serial stdio -monitor none \
    "${firmware[@]}" \
    -drive if=virtio,format=raw,file="$T/esp.img" \
    -drive if=virtio,format=raw,file="$T/root.img" \
    "${reboot[@]}" 2> "$T/$name.qemu-stderr"
}

# vm_marker NAME: the last marker line of boot NAME, without the carriage return.
vm_marker () {
  grep -a -o 'GEN-VM-MARKER .*' "$T/$1.log" | tr -d '\r' | tail -n 1 | sed 's/^GEN-VM-MARKER //'
}

# vm_expect_boot NAME DESC MARKER [vm-run.py options…]: boots, then checks
# the marker line; on failure shows the end of the serial log.
vm_expect_boot () {
  local name=$1 desc=$2 want=$3 rc start
  shift 3
  start=$(date +%s)
  vm_boot "$name" "$@"
  rc=$?
  diag "boot '$name' took $(($(date +%s) - start)) s"
  expect_eq "$(vm_marker "$name")" "$want" "$desc"
  if [ "$(vm_marker "$name")" != "$want" ]; then
    diag "vm-run.py exit $rc; the end of the serial log:"
    tail -c 3000 "$T/$name.log" | tr -d '\r' | sed 's/\x1b\[[0-9;=?]*[a-zA-Z]//g' | tail -n 25 | diag
    diag < "$T/$name.qemu-stderr"
  fi
}

# vm_keep_var: the booted system wrote /var on root.img: bring it back into $S.
vm_keep_var () {
  e2fsck -fy "$T/root.img" > /dev/null 2>&1
  rm -rf "$T/var-back" && mkdir "$T/var-back"
  must debugfs -R "rdump /var $T/var-back" "$T/root.img"
  rm -rf "${S:?}/var" && mv "$T/var-back/var" "$S/var"
}

# vm_menu_titles NAME: the gen entry titles a boot loader drew on the serial console.
vm_menu_titles () {
  grep -a -o "$OS, generation [0-9]* (release [^)]*)" "$T/$1.log" | sort -u
}
