#!/bin/sh
# manifests/demo.sh: the main job on a demo sysroot in a local folder.
#
# Generates two small releases (1.0 and 2.0) beside the manifests, then on
# ./demo/sysroot: init, switch to demo-1.json, switch to demo-2.json, list,
# status, diff-free summary of what changed, rollback, list.  Everything is
# written under the repository's folder; nothing outside it is touched.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN:-$root/build/cli/gen}
demo=${DEMO_DIR:-$root/demo}
sysroot=$demo/sysroot

rm -rf "$demo" "$root/manifests/releases"
mkdir -p "$sysroot"
"$root/tests/make-release.sh" "$root/manifests/releases/1.0" 1.0 200
"$root/tests/make-release.sh" "$root/manifests/releases/2.0" 2.0 200
# Release 2.0 changes a program and adds a file, as an upgrade would.
printf '#!/bin/sh\necho "demo app 2.0, now with a new feature"\n' > "$root/manifests/releases/2.0/usr/bin/demo-app"
printf 'new in 2.0\n' > "$root/manifests/releases/2.0/usr/share/demo/CHANGES"

run () {
  printf '\n$ gen --sysroot %s %s\n' "${sysroot#"$root"/}" "$*"
  "$gen" --sysroot "$sysroot" "$@"
}
cd "$root"
run init --os demo
run switch manifests/demo-1.json
run switch manifests/demo-2.json
run switch manifests/demo-2.json
run list
run status
run rollback
run list
printf '\nThe boot menu (%s):\n' "${sysroot#"$root"/}/boot/loader"
for entry in "$sysroot"/boot/loader/entries/*.conf; do
  printf '  %s: %s\n' "$(basename "$entry")" "$(sed -n 's/^title //p' "$entry")"
done
printf '  loader.conf: %s\n' "$(grep '^default' "$sysroot/boot/loader/loader.conf")"
