#!/bin/bash
# dracut module "gen": boots gen generations.  Its mount hook
# (gen-mount.sh) mounts root= on /run/gen/sysroot and assembles the generation
# the kernel command line names on $NEWROOT (gen-hook.sh); with systemd in the
# initramfs, where sysroot.mount mounts root=, the pre-pivot hook
# (gen-pre-pivot.sh) does the same from there.  Without gen.generation= on
# the command line both do nothing, so the module is safe on a machine that
# also boots other entries.

check() {
    return 0
}

depends() {
    echo rootfs-block
    return 0
}

installkernel() {
    # vfat: GRUB's fallback writes grub/grubenv on the ESP.
    instmods overlay efivarfs vfat nls_cp437 nls_ascii
}

install() {
    # shellcheck disable=SC2154 # moddir comes from dracut
    local hook=$moddir/gen-hook.sh
    # In gen's source tree the hook is two folders up.
    [ -f "$hook" ] || hook=$moddir/../../gen-hook.sh
    if [ ! -f "$hook" ]; then
        derror "gen: gen-hook.sh is neither in $moddir nor in gen's source tree"
        return 1
    fi
    inst_simple "$hook" /lib/gen/gen-hook.sh
    inst_simple "$moddir/gen-dracut-lib.sh" /lib/gen/gen-dracut-lib.sh
    inst_multiple mount umount mkdir cat grep sed tr rm sync
    inst_multiple -o chattr reboot modprobe wc findfs blkid
    inst_hook mount 50 "$moddir/gen-mount.sh"
    inst_hook pre-pivot 50 "$moddir/gen-pre-pivot.sh"
}
