#!/bin/sh
# dracut pre-pivot hook of the "gen" module, for an initramfs where something
# else mounted root= on $NEWROOT (dracut with systemd, whose sysroot.mount
# runs no mount hooks): move it to /run/gen/sysroot and assemble the
# generation on $NEWROOT instead.  Does nothing when gen-mount.sh did it.
# shellcheck source=bootloader-hooks/dracut/90gen/gen-dracut-lib.sh
. /lib/gen/gen-dracut-lib.sh

if gen_read_cmdline && [ ! -e "$GEN_RUN/booted" ]; then
    mkdir -p "$GEN_RUN/sysroot"
    mount --move "$NEWROOT" "$GEN_RUN/sysroot" \
        || die "gen: cannot move the root file system from $NEWROOT to $GEN_RUN/sysroot"
    # /var and gen itself live there; the release is mounted read-only.
    mount -o remount,rw "$GEN_RUN/sysroot" \
        || gen_say "cannot mount the root file system read-write: /var is read-only"
    if ! gen_assemble "$GEN_RUN/sysroot" "$NEWROOT"; then
        # Give dracut its root back, for the emergency shell.
        mount --move "$GEN_RUN/sysroot" "$NEWROOT"
        gen_dracut_fail "generation $GEN_GENERATION cannot boot: $GEN_ERROR"
    fi
    gen_say "generation $GEN_GENERATION of $GEN_OS: starting $GEN_INIT"
fi
