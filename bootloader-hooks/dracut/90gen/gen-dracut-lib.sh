#!/bin/sh
# What the "gen" module's hooks share: messages, and what to do when the
# generation cannot boot.
# shellcheck disable=SC1091 # dracut's own
type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
# shellcheck source=bootloader-hooks/gen-hook.sh
. /lib/gen/gen-hook.sh

gen_say () { echo "gen: $*" > /dev/console 2>&1 || echo "gen: $*" >&2; }

# Falls back to the boot menu's next entry (systemd-boot) by rebooting, or
# ends in dracut's emergency shell: never a kernel panic.
gen_dracut_fail () {
    gen_say "$*"
    gen_undo "$NEWROOT"
    if gen_fall_back; then
        umount "$GEN_RUN/sysroot" 2> /dev/null
        sync
        reboot -f
    fi
    die "gen: $*"
}
