# shellcheck shell=sh
# gen-hook.sh: assembles a gen generation as the root file system, early in
# boot.  Sourced (POSIX sh) by the three front ends, which each mount the root
# file system first and switch to the new root after:
#   busybox/init                      the initramfs gen-mkinitramfs builds
#   dracut/90gen/gen-pre-pivot.sh     dracut, a pre-pivot hook
#   initramfs-tools/scripts/local-bottom/gen
#
# The kernel command line gen writes (docs/booting.md):
#   gen.os=OS gen.generation=N gen.release=CHECKSUM [gen.fallback=M] [init=PATH]
#   and from GRUB, with a fallback: gen.esp=UUID=… (the ESP's file system)
# The physical root file system (the sysroot, DIR) holds:
#   gen/deploy/CHECKSUM/        the release, hard links into the store: never written
#   gen/generations/N/etc/      the generation's config overlay
#   gen/generations/N/data-paths  "SOURCE TARGET" per data path outside /var
#   var/                        persistent data, shared by every generation
# and becomes:
#   /                the release: a read-only bind mount, or when the release
#                    lacks a mount point, an overlay with a tmpfs upper layer
#   /etc             overlayfs: the generation's overlay over the release's etc,
#                    upper layer on tmpfs (/run/gen/etc): runtime edits last
#                    until the next boot
#   /var             bind mount of DIR/var (linked, never copied)
#   TARGET           bind mount of DIR/SOURCE, for each line of data-paths
#                    (docs/data.md); a TARGET the release lacks makes / an overlay
#   /run/gen/sysroot the physical root itself, read-write (gen --sysroot)
#
# Functions (each returns non-zero with GEN_ERROR set on failure):
#   gen_read_cmdline [FILE]        sets GEN_OS, GEN_GENERATION, GEN_RELEASE,
#                                  GEN_FALLBACK, GEN_INIT; fails when FILE
#                                  (default /proc/cmdline) is not a gen entry's
#   gen_check SYSROOT              is the generation complete, and can its
#                                  release read the data (docs/data.md)?
#   gen_assemble SYSROOT NEWROOT   mounts it at NEWROOT
#   gen_undo NEWROOT               unmounts what gen_assemble mounted
#   gen_fall_back                  asks the boot loader for the fallback entry
#                                  (systemd-boot: LoaderEntryOneShot; GRUB:
#                                  next_entry in grub/grubenv on the ESP); 0
#                                  when a reboot will start it
# Needs: mount (--bind, --move, -t overlay), umount, mkdir, cat, grep, sed;
# for GRUB's fallback also wc, tr and findfs or blkid (or /dev/disk/by-uuid).

GEN_RUN=/run/gen
GEN_LOADER_GUID=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
GEN_EFIVARS=/sys/firmware/efi/efivars
# The folders the booted system mounts over: with all of them in the release,
# the root can be read-only.
GEN_MOUNT_POINTS="dev proc sys run etc var tmp"

gen_say () { echo "gen: $*"; }

gen_read_cmdline () {
  GEN_OS='' GEN_GENERATION='' GEN_RELEASE='' GEN_FALLBACK='' GEN_INIT=/sbin/init GEN_ERROR='' GEN_ESP=''
  _gen_cmdline=$(cat "${1:-/proc/cmdline}") || { GEN_ERROR="cannot read the kernel command line"; return 1; }
  set -f
  for _gen_w in $_gen_cmdline; do
    case $_gen_w in
      gen.os=*) GEN_OS=${_gen_w#gen.os=} ;;
      gen.generation=*) GEN_GENERATION=${_gen_w#gen.generation=} ;;
      gen.release=*) GEN_RELEASE=${_gen_w#gen.release=} ;;
      gen.fallback=*) GEN_FALLBACK=${_gen_w#gen.fallback=} ;;
      gen.esp=*) GEN_ESP=${_gen_w#gen.esp=} ;;
      init=*) GEN_INIT=${_gen_w#init=} ;;
    esac
  done
  set +f
  if [ -z "$GEN_GENERATION" ]; then
    GEN_ERROR="no gen.generation= on the kernel command line: not a gen boot entry"
    return 1
  fi
  # They become paths: refuse anything but what gen writes.
  case $GEN_GENERATION in ''|*[!0-9]*|0*) GEN_ERROR="bad gen.generation='$GEN_GENERATION'"; return 1 ;; esac
  case $GEN_FALLBACK in *[!0-9]*|0*) GEN_FALLBACK= ;; esac
  # A file system UUID (GRUB's probe prints FAT's in lower case); empty when
  # GRUB could not probe it.
  case $GEN_ESP in UUID=*[!0-9A-Za-z-]*|UUID=) GEN_ESP= ;; UUID=*) ;; *) GEN_ESP= ;; esac
  case $GEN_OS in ''|*[!a-z0-9._-]*|[._-]*) GEN_ERROR="bad gen.os='$GEN_OS'"; return 1 ;; esac
  case $GEN_RELEASE in ''|*[!0-9a-f]*) GEN_ERROR="bad gen.release='$GEN_RELEASE'"; return 1 ;; esac
  case $GEN_INIT in /*) ;; *) GEN_ERROR="init='$GEN_INIT' is not an absolute path"; return 1 ;; esac
  return 0
}

# A number from gen/state.json: "last" (the highest committed generation) or
# "default".
_gen_state () {
  sed -n "s/^[[:space:]]*\"$2\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$1/gen/state.json" 2>/dev/null
}
_gen_last () { _gen_state "$1" last; }

# The data schemas a generation's release reads: the numbers of "reads" in
# its generation.json (0 for a record without them, as gen reads it).
_gen_reads () {
  _gen_in=0 _gen_out=''
  while IFS= read -r _gen_l; do
    case $_gen_in$_gen_l in
      0*'"reads"'*) _gen_in=1 _gen_l=${_gen_l#*'"reads"'} ;;
    esac
    if [ "$_gen_in" = 1 ]; then
      case $_gen_l in
        *']'*) _gen_out="$_gen_out ${_gen_l%%]*}" _gen_in=2 ;;
        *) _gen_out="$_gen_out $_gen_l" ;;
      esac
    fi
  done < "$1"
  # shellcheck disable=SC2046 # splitting collapses the spaces
  set -- $(echo "$_gen_out" | tr -c '0-9\n' ' ')
  echo "${*:-0}"
}

# gen guarantees the boot default can read the data (or was made the
# default with --force); any other generation, picked from the menu or
# reached by a fallback, must read the schema gen/data.json says the data
# is at, so that booting it cannot damage the data.
_gen_data_ok () {
  _gen_schema=$(sed -n 's/^  "schema"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$1/gen/data.json" 2>/dev/null | head -n 1)
  [ -n "$_gen_schema" ] || return 0
  [ "$GEN_GENERATION" = "$(_gen_state "$1" default)" ] && return 0
  _gen_r=$(_gen_reads "$2")
  for _gen_s in $_gen_r; do
    [ "$_gen_s" = "$_gen_schema" ] && return 0
  done
  GEN_ERROR="generation $GEN_GENERATION cannot read the data: its release reads schema $_gen_r, the data is at schema $_gen_schema (gen/data.json)"
  return 1
}

gen_check () {
  _gen_sys=$1
  GEN_SYSROOT=$1
  _gen_deploy=$_gen_sys/gen/deploy/$GEN_RELEASE
  _gen_dir=$_gen_sys/gen/generations/$GEN_GENERATION
  GEN_ERROR=
  if [ ! -f "$_gen_sys/gen/state.json" ]; then
    GEN_ERROR="the root file system has no gen/state.json: is root= the gen sysroot?"
  elif [ ! -f "$_gen_dir/generation.json" ]; then
    GEN_ERROR="generation $GEN_GENERATION is missing: no gen/generations/$GEN_GENERATION/generation.json"
  elif [ "$GEN_GENERATION" -gt "$(_gen_last "$_gen_sys")" ] 2>/dev/null \
      || [ -z "$(_gen_last "$_gen_sys")" ]; then
    GEN_ERROR="generation $GEN_GENERATION was never committed (gen/state.json)"
  elif ! grep -q "\"$GEN_RELEASE\"" "$_gen_dir/generation.json"; then
    GEN_ERROR="generation $GEN_GENERATION records another release than gen.release=$GEN_RELEASE"
  elif [ ! -d "$_gen_dir/etc" ]; then
    GEN_ERROR="generation $GEN_GENERATION is damaged: gen/generations/$GEN_GENERATION/etc is missing"
  elif [ ! -d "$_gen_deploy" ]; then
    GEN_ERROR="generation $GEN_GENERATION is damaged: its release gen/deploy/$GEN_RELEASE is missing"
  elif [ ! -e "$_gen_deploy$GEN_INIT" ] && [ ! -L "$_gen_deploy$GEN_INIT" ]; then
    GEN_ERROR="generation $GEN_GENERATION is damaged: its release has no $GEN_INIT"
  elif [ ! -d "$_gen_sys/var" ]; then
    GEN_ERROR="the root file system has no var/ folder"
  else
    _gen_data_ok "$_gen_sys" "$_gen_dir/generation.json"
  fi
  [ -z "$GEN_ERROR" ]
}

gen_assemble () {
  _gen_sys=$1 _gen_new=$2
  gen_check "$_gen_sys" || return 1
  _gen_deploy=$_gen_sys/gen/deploy/$GEN_RELEASE
  _gen_etc=$_gen_sys/gen/generations/$GEN_GENERATION/etc
  mkdir -p "$_gen_new" "$GEN_RUN" || { GEN_ERROR="cannot create $_gen_new or $GEN_RUN"; return 1; }

  # Data paths outside /var: "SOURCE TARGET" lines, checked before anything
  # is mounted (gen writes them; a hand-edited file must not escape).
  _gen_paths=$_gen_sys/gen/generations/$GEN_GENERATION/data-paths
  _gen_targets=''
  if [ -s "$_gen_paths" ]; then
    while read -r _gen_src _gen_dst _gen_rest; do
      [ -n "$_gen_src" ] || continue
      # SOURCE relative, TARGET absolute, neither with '.', '..' or empty parts.
      case /$_gen_src/ in //*|*/../*|*/./*|*//*) _gen_src='' ;; esac
      case $_gen_dst/ in /*/) ;; *) _gen_src='' ;; esac
      case $_gen_dst/ in */../*|*/./*|*//*) _gen_src='' ;; esac
      if [ -z "$_gen_src" ] || [ -n "$_gen_rest" ]; then
        GEN_ERROR="generation $GEN_GENERATION has a bad line in gen/generations/$GEN_GENERATION/data-paths"
        return 1
      fi
      if [ ! -d "$_gen_sys/$_gen_src" ]; then
        GEN_ERROR="data path $_gen_dst: $_gen_src is missing from the root file system"
        return 1
      fi
      _gen_targets="$_gen_targets $_gen_src:$_gen_dst"
    done < "$_gen_paths"
  fi

  # The release must never be written (its files are the store's), so the
  # root is read-only, unless it lacks a mount point: then a volatile overlay.
  _gen_missing=''
  for _gen_m in $GEN_MOUNT_POINTS; do
    [ -d "$_gen_deploy/$_gen_m" ] || _gen_missing="$_gen_missing /$_gen_m"
  done
  for _gen_t in $_gen_targets; do
    [ -d "$_gen_deploy${_gen_t#*:}" ] || _gen_missing="$_gen_missing ${_gen_t#*:}"
  done
  if [ -z "$_gen_missing" ]; then
    if ! mount --bind "$_gen_deploy" "$_gen_new" || ! mount -o remount,bind,ro "$_gen_new"; then
      GEN_ERROR="cannot mount gen/deploy/$GEN_RELEASE read-only on $_gen_new"
      gen_undo "$_gen_new"
      return 1
    fi
    GEN_ROOT_MODE=ro
  else
    gen_say "the release lacks$_gen_missing: / is a writable overlay, reset at every boot"
    mkdir -p "$GEN_RUN/root/upper" "$GEN_RUN/root/work"
    mount -t overlay gen-root \
      -o "lowerdir=$_gen_deploy,upperdir=$GEN_RUN/root/upper,workdir=$GEN_RUN/root/work" "$_gen_new" \
      || { GEN_ERROR="cannot mount an overlay of gen/deploy/$GEN_RELEASE on $_gen_new (is the overlay module loaded?)"; return 1; }
    for _gen_m in $_gen_missing; do mkdir -p "$_gen_new$_gen_m"; done
    GEN_ROOT_MODE=overlay
  fi

  # /etc: the generation's overlay over the release's etc.
  _gen_lower=$_gen_etc
  [ -d "$_gen_deploy/etc" ] && _gen_lower="$_gen_etc:$_gen_deploy/etc"
  mkdir -p "$GEN_RUN/etc/upper" "$GEN_RUN/etc/work"
  mount -t overlay gen-etc \
    -o "lowerdir=$_gen_lower,upperdir=$GEN_RUN/etc/upper,workdir=$GEN_RUN/etc/work" "$_gen_new/etc" \
    || { GEN_ERROR="cannot mount the /etc overlay of generation $GEN_GENERATION (is the overlay module loaded?)"; gen_undo "$_gen_new"; return 1; }

  # /var: the persistent one, linked.
  mount --bind "$_gen_sys/var" "$_gen_new/var" \
    || { GEN_ERROR="cannot bind the persistent var/ on /var"; gen_undo "$_gen_new"; return 1; }
  GEN_DATA_MOUNTS=''
  for _gen_t in $_gen_targets; do
    if ! mount --bind "$_gen_sys/${_gen_t%%:*}" "$_gen_new${_gen_t#*:}"; then
      GEN_ERROR="cannot bind the data path ${_gen_t%%:*} on ${_gen_t#*:}"
      gen_undo "$_gen_new"
      return 1
    fi
    GEN_DATA_MOUNTS="${_gen_t#*:} $GEN_DATA_MOUNTS"
  done

  # For the booted system (gen status, the release's init).
  {
    echo "os=$GEN_OS"
    echo "generation=$GEN_GENERATION"
    echo "release=$GEN_RELEASE"
    echo "root=$GEN_ROOT_MODE"
    echo "sysroot=$GEN_RUN/sysroot"
  } > "$GEN_RUN/booted"
  return 0
}

gen_undo () {
  for _gen_t in ${GEN_DATA_MOUNTS:-}; do
    umount "$1$_gen_t" 2>/dev/null
  done
  GEN_DATA_MOUNTS=''
  umount "$1/var" 2>/dev/null
  umount "$1/etc" 2>/dev/null
  umount "$1" 2>/dev/null
  return 0
}

# Writes a systemd-boot EFI variable: 4 bytes of attributes (non-volatile,
# boot and runtime access), then the value in UTF-16LE with a final NUL, in
# one write as efivarfs requires.
_gen_efi_set () {
  _gen_v=$2 _gen_tmp=$GEN_RUN/efivar.tmp
  mkdir -p "$GEN_RUN"
  {
    printf '\007\000\000\000'
    while [ -n "$_gen_v" ]; do
      _gen_rest=${_gen_v#?}
      printf '%s\000' "${_gen_v%"$_gen_rest"}"
      _gen_v=$_gen_rest
    done
    printf '\000\000'
  } > "$_gen_tmp" || return 1
  _gen_f=$GEN_EFIVARS/$1-$GEN_LOADER_GUID
  if [ -e "$_gen_f" ]; then
    chattr -i "$_gen_f" 2>/dev/null
    rm -f "$_gen_f"
  fi
  cat "$_gen_tmp" > "$_gen_f"
  _gen_rc=$?
  rm -f "$_gen_tmp"
  return $_gen_rc
}

_gen_systemd_boot () {
  if [ ! -d "$GEN_EFIVARS" ]; then
    return 1
  fi
  if ! grep -qs . "$GEN_EFIVARS/LoaderInfo-$GEN_LOADER_GUID" 2>/dev/null; then
    modprobe efivarfs 2>/dev/null
    mount -t efivarfs efivarfs "$GEN_EFIVARS" 2>/dev/null
  fi
  # LoaderInfo holds "systemd-boot VERSION" in UTF-16: look for its first letters.
  [ -e "$GEN_EFIVARS/LoaderInfo-$GEN_LOADER_GUID" ] \
    && tr -d '\000' < "$GEN_EFIVARS/LoaderInfo-$GEN_LOADER_GUID" | grep -q systemd-boot
}

# The device of the file system with UUID=$1, case aside (GRUB and Linux
# print a FAT volume's serial number in different cases).
_gen_find_uuid () {
  for _gen_u in "$1" "$(echo "$1" | tr a-f A-F)" "$(echo "$1" | tr A-F a-f)"; do
    if [ -e "/dev/disk/by-uuid/$_gen_u" ]; then
      echo "/dev/disk/by-uuid/$_gen_u"
      return 0
    fi
    _gen_d=$(findfs "UUID=$_gen_u" 2>/dev/null || blkid -U "$_gen_u" 2>/dev/null) || _gen_d=
    if [ -n "$_gen_d" ]; then
      echo "$_gen_d"
      return 0
    fi
  done
  return 1
}

# Sets NAME=VALUE in the GRUB environment block FILE in place: the same
# size, the other variables kept, '#' padding, as grub-editenv writes it.
# GRUB's save_env writes into the file's blocks where they are, so the file
# is never truncated or moved.
_gen_grubenv_set () {
  _gen_size=$(wc -c < "$1") || return 1
  _gen_size=$((_gen_size + 0))
  _gen_head=''
  IFS= read -r _gen_head < "$1"
  [ "$_gen_head" = "# GRUB Environment Block" ] || return 1
  _gen_block="# GRUB Environment Block
"
  while IFS= read -r _gen_l || [ -n "$_gen_l" ]; do
    case $_gen_l in
      '#'*|"$2="*|'') ;;
      *=*) _gen_block="$_gen_block$_gen_l
" ;;
    esac
  done < "$1"
  _gen_block="$_gen_block$2=$3
"
  _gen_pad=$((_gen_size - ${#_gen_block}))
  [ "$_gen_pad" -ge 0 ] || return 1
  _gen_hashes='################################################################'
  while [ "$_gen_pad" -ge 64 ]; do
    _gen_block=$_gen_block$_gen_hashes
    _gen_pad=$((_gen_pad - 64))
  done
  while [ "$_gen_pad" -gt 0 ]; do
    _gen_block=$_gen_block'#'
    _gen_pad=$((_gen_pad - 1))
  done
  printf '%s' "$_gen_block" 1<> "$1"
}

# GRUB: gen's grub.cfg passed gen.esp=UUID=… (where it found the kernel and
# grub/grubenv).  Mounts that file system and writes next_entry, the GRUB
# menu path of generation $1's entry: top level for the default generation,
# in the "<os>, other generations" submenu otherwise.
_gen_grub_next () {
  [ -n "$GEN_ESP" ] || return 1
  _gen_dev=$(_gen_find_uuid "${GEN_ESP#UUID=}") || { gen_say "no file system has $GEN_ESP (the ESP)"; return 1; }
  _gen_esp=$GEN_RUN/esp
  mkdir -p "$_gen_esp" || return 1
  modprobe vfat 2>/dev/null
  mount "$_gen_dev" "$_gen_esp" 2>/dev/null || mount -t vfat "$_gen_dev" "$_gen_esp" \
    || { gen_say "cannot mount the ESP $_gen_dev"; return 1; }
  _gen_path=$GEN_OS-other'>'$GEN_OS-$1
  [ "$1" = "$(_gen_state "${GEN_SYSROOT:-$GEN_RUN/sysroot}" default)" ] && _gen_path=$GEN_OS-$1
  _gen_rc=0
  if [ ! -f "$_gen_esp/grub/grubenv" ]; then
    gen_say "the ESP has no grub/grubenv (gen writes it beside grub.cfg)"
    _gen_rc=1
  elif grep -qxF "next_entry=$_gen_path" "$_gen_esp/grub/grubenv"; then
    # GRUB clears it before using it: still there, GRUB could not, and
    # another reboot would only come back here.
    gen_say "GRUB did not take next_entry=$_gen_path from grub/grubenv on the last boot"
    _gen_rc=1
  elif ! _gen_grubenv_set "$_gen_esp/grub/grubenv" next_entry "$_gen_path"; then
    gen_say "cannot write next_entry in grub/grubenv: not a GRUB environment block, or full"
    _gen_rc=1
  fi
  sync
  umount "$_gen_esp" || _gen_rc=1
  return $_gen_rc
}

gen_fall_back () {
  if [ -z "$GEN_FALLBACK" ]; then
    gen_say "there is no older generation in the boot menu to fall back to"
    # systemd-boot: at least show the menu on the next boot.
    if _gen_systemd_boot && _gen_efi_set LoaderConfigTimeoutOneShot 0; then
      gen_say "the boot menu will wait for a choice on the next boot"
    fi
    return 1
  fi
  _gen_entry=$GEN_OS-$GEN_FALLBACK.conf
  if _gen_systemd_boot && _gen_efi_set LoaderEntryOneShot "$_gen_entry"; then
    gen_say "falling back to generation $GEN_FALLBACK: the next boot starts $_gen_entry once"
    return 0
  fi
  if _gen_grub_next "$GEN_FALLBACK"; then
    gen_say "falling back to generation $GEN_FALLBACK: GRUB starts $GEN_OS-$GEN_FALLBACK once (next_entry in grub/grubenv)"
    return 0
  fi
  gen_say "this boot loader takes no one-shot choice from here: pick generation $GEN_FALLBACK in the boot menu"
  return 1
}
