#!/bin/sh
# compose-mkdeb.sh OUTDIR NAME VERSION [OPTION…]: builds OUTDIR/NAME_VERSION_ARCH.deb
# with dpkg-deb --build, for the compose tests and the demo.
#
#   -a ARCH            Architecture (default all)
#   -f 'Field: value'  an extra control field (Depends, Provides, Essential…)
#   -p PATH[=TEXT]     a file (TEXT default "NAME VERSION PATH"), mode 0644
#   -x PATH[=TEXT]     the same, mode 0755
#   -m PATH=MODE       chmod an entry already added
#   -l PATH=TARGET     a symbolic link
#   -h PATH=EXISTING   a hard link to a file added before
#   -d PATH            an empty folder
#   -s SCRIPT          a maintainer script (postinst, preinst…) that would fail if run
#   -Z gzip|xz|zstd    data.tar compression (default xz)
#
# The same arguments always give the same bytes: SOURCE_DATE_EPOCH is fixed
# and every member is owned by root.
set -eu
out=$1 name=$2 version=$3
shift 3
arch=all comp=xz
work=$(mktemp -d "${TMPDIR:-/tmp}/mkdeb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/DEBIAN"
fields="" modes=""
nl='
'
while getopts a:f:p:x:m:l:h:d:s:Z: opt; do
  case $opt in
    a) arch=$OPTARG ;;
    f) fields="$fields$OPTARG$nl" ;;
    p | x)
      path=${OPTARG%%=*}
      if [ "$path" = "$OPTARG" ]; then text="$name $version $path"; else text=${OPTARG#*=}; fi
      mkdir -p "$root/$(dirname "$path")"
      printf '%s\n' "$text" > "$root/$path"
      if [ "$opt" = x ]; then chmod 0755 "$root/$path"; else chmod 0644 "$root/$path"; fi ;;
    m) modes="$modes$OPTARG$nl" ;;
    l)
      path=${OPTARG%%=*}
      mkdir -p "$root/$(dirname "$path")"
      ln -s "${OPTARG#*=}" "$root/$path" ;;
    h)
      path=${OPTARG%%=*}
      mkdir -p "$root/$(dirname "$path")"
      ln "$root/${OPTARG#*=}" "$root/$path" ;;
    d) mkdir -p "$root/$OPTARG" ;;
    s)
      printf '#!/bin/sh\necho "%s %s must not run" >&2\nexit 1\n' "$OPTARG" "$name" \
        > "$root/DEBIAN/$OPTARG"
      chmod 0755 "$root/DEBIAN/$OPTARG" ;;
    Z) comp=$OPTARG ;;
    *) echo "usage: $0 OUTDIR NAME VERSION [OPTION…]" >&2; exit 2 ;;
  esac
done
{
  printf 'Package: %s\nVersion: %s\nArchitecture: %s\n' "$name" "$version" "$arch"
  printf 'Maintainer: gen tests <gen@example.org>\n'
  printf '%s' "$fields"
  printf 'Description: %s, a test package\n' "$name"
} > "$root/DEBIAN/control"
# Folders 0755 whatever the umask; files keep the mode set above.
find "$root" -type d -exec chmod 0755 {} +
printf '%s' "$modes" | while IFS= read -r m; do chmod "${m#*=}" "$root/${m%%=*}"; done
mkdir -p "$out"
SOURCE_DATE_EPOCH=1700000000 dpkg-deb --root-owner-group -Z"$comp" --build "$root" \
  "$out/${name}_${version}_${arch}.deb" > /dev/null
