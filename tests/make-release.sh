#!/bin/sh
# make-release.sh DIR VERSION [FILES]: writes a small release tree into DIR.
#
# The tree has what gen looks for: os-release with VERSION_ID, a kernel at
# usr/lib/modules/<kver>/vmlinuz with an initramfs.img beside it, a few
# programs, and FILES synthetic data files (default 0) under usr/share/demo.
# The same VERSION and FILES always give the same bytes, so the same tree.
# Used by the tests, the demo (manifests/demo.sh) and the benchmarks.
set -eu
dir=$1 version=$2 files=${3:-0}
kver=${GEN_TEST_KVER:-6.1.0-gen-demo}

mkdir -p "$dir/etc" "$dir/usr/lib/modules/$kver" "$dir/usr/bin" "$dir/usr/share/demo" \
  "$dir/usr/lib/gen"
cat > "$dir/usr/lib/os-release" <<EOT
NAME="gen demo"
ID=gen-demo
VERSION_ID="$version"
PRETTY_NAME="gen demo $version"
EOT
ln -sf ../usr/lib/os-release "$dir/etc/os-release"
printf 'not a real kernel: %s\n' "$kver" > "$dir/usr/lib/modules/$kver/vmlinuz"
printf 'not a real initramfs: %s\n' "$kver" > "$dir/usr/lib/modules/$kver/initramfs.img"
printf '#!/bin/sh\necho "demo app %s"\n' "$version" > "$dir/usr/bin/demo-app"
chmod 0755 "$dir/usr/bin/demo-app"
printf 'release %s\n' "$version" > "$dir/usr/share/demo/README"
printf 'hostname=localhost\n' > "$dir/etc/demo.conf"

# Synthetic files spread over 100 folders, as a real /usr is.
if [ "$files" -gt 0 ]; then
  awk -v dir="$dir/usr/share/demo/data" -v n="$files" 'BEGIN {
    for (d = 0; d < 100 && d < n; d++) system("mkdir -p " dir "/d" d);
    for (i = 0; i < n; i++) {
      f = dir "/d" (i % 100) "/file-" i;
      printf "file %d of the demo data set\n", i > f;
      close(f);
    }
  }'
fi
