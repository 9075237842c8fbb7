#!/bin/sh
# dracut mount hook of the "gen" module, sourced before rootfs-block's: when
# the kernel command line names a gen generation, mount root= read-write on
# /run/gen/sysroot and the generation on $NEWROOT (gen-hook.sh).  (The gen
# sysroot itself would fail dracut's check of a root file system: it has no
# /proc, /sys or /dev of its own; the generation has.)
# shellcheck source=bootloader-hooks/dracut/90gen/gen-dracut-lib.sh
. /lib/gen/gen-dracut-lib.sh

# shellcheck disable=SC2154 # root, fstype and rflags come from dracut
if gen_read_cmdline && [ ! -e "$GEN_RUN/booted" ] && ! ismounted "$NEWROOT"; then
    case $root in
        block:*)
            mkdir -p "$GEN_RUN/sysroot"
            if mount ${fstype:+-t "$fstype"} -o "rw${rflags:+,$rflags}" "${root#block:}" "$GEN_RUN/sysroot"; then
                gen_assemble "$GEN_RUN/sysroot" "$NEWROOT" \
                    || gen_dracut_fail "generation $GEN_GENERATION cannot boot: $GEN_ERROR"
                gen_say "generation $GEN_GENERATION of $GEN_OS: starting $GEN_INIT"
            else
                gen_dracut_fail "cannot mount root=${root#block:} on $GEN_RUN/sysroot"
            fi
            ;;
        *) gen_say "root=$root is not a block device: leaving it to the other dracut modules" ;;
    esac
fi
