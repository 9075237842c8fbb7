#!/bin/bash
# A release composed from real Debian packages: busybox-static and hello
# with its closure (libc6, libgcc-s1, gcc-12-base), fetched once with
# apt-get download into ${XDG_CACHE_HOME:-~/.cache}/gen-debs/e2e (never
# into the source tree) and indexed there with dpkg-scanpackages; a stand-in
# kernel package comes from a second, folder repository.  Skipped when the
# packages are not cached and the Debian archive cannot be reached.
. "$TESTS_DIR/e2e/lib.sh"

debs=${XDG_CACHE_HOME:-$HOME/.cache}/gen-debs/e2e
wanted="busybox-static hello libc6 libgcc-s1 gcc-12-base"
if [ ! -f "$debs/.complete" ]; then
  mkdir -p "$debs" || { echo "1..0 # SKIP cannot create $debs"; exit 0; }
  if ! command -v apt-get > /dev/null \
    || ! (cd "$debs" && apt-get download $wanted > "$T/apt.log" 2>&1); then
    echo "1..0 # SKIP cannot reach the Debian archive: 'apt-get download $wanted' failed" \
      "($(tail -n 1 "$T/apt.log" 2> /dev/null))"
    exit 0
  fi
  (cd "$debs" && dpkg-scanpackages -m . /dev/null > Packages 2> /dev/null) \
    && touch "$debs/.complete" || bail "indexing $debs"
fi
arch=$(dpkg --print-architecture)

plan 16

must "$TESTS_DIR/compose-mkdeb.sh" kernel linux-stand-in 1.0 \
  -p usr/lib/modules/6.1.0-stand-in/vmlinuz='a stand-in for a kernel'
(cd kernel && dpkg-scanpackages -m . /dev/null > Packages 2> /dev/null)
manifest m.json "{ \"packages\": { \"repos\": [\"$debs\", \"kernel\"],
  \"install\": [\"busybox-static\", \"hello\", \"linux-stand-in\"],
  \"architecture\": \"$arch\", \"version\": \"1.0\" } }"
must gen init --os demo
expect_exit 0 gen switch m.json
expect_stdout_contains "made generation 1: release 1.0"
expect_stdout_contains "packages:    6 (0 downloaded)"
expect_stdout_contains "scripts:     not run for"
expect_stdout_contains "libc6"
c=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')
d=$S/gen/deploy/$c
expect_eq "$(jq_ "$d/usr/share/gen/packages.json" '" ".join(sorted(p["name"] for p in d["packages"]))')" \
  "busybox-static gcc-12-base hello libc6 libgcc-s1 linux-stand-in" "the package list"
expect_eq "$(readlink "$d/bin")" usr/bin "/bin is a link to usr/bin"
expect_true "busybox is in usr/bin" test -x "$d/usr/bin/busybox"

# The composed programs run: busybox is static; hello runs with the tree's own libc.
run "$d/usr/bin/busybox" echo composed
expect_eq "$(cat "$OUT")" composed "the composed busybox runs"
loader=$(find "$d/usr/lib64" "$d/usr/lib" -maxdepth 2 -name 'ld-linux*.so.*' 2> /dev/null | head -n 1)
libdir=$(dirname "$(find "$d/usr/lib" -name libc.so.6 | head -n 1)")
run "$loader" --library-path "$libdir" "$d/usr/bin/hello"
expect_eq "$(cat "$OUT")" "Hello, world!" "the composed hello runs with the composed libc"

# Every regular file is the packages' own: compare with dpkg-deb -x.
mkdir x
for f in "$debs"/*.deb; do dpkg-deb -x "$f" x; done
(cd x && find . -type f -printf '%P\n' | sed -E 's#^(bin|sbin|lib|lib32|lib64|libx32)/#usr/\1/#' \
  | sort) > x.list
(cd "$d" && find . -type f -printf '%P\n' | grep -v -e '^usr/share/gen/packages.json$' \
  -e '^usr/lib/modules/6.1.0-stand-in/' | sort) > g.list
expect_true "the same files as dpkg-deb -x, merged into /usr" cmp -s x.list g.list
(cd x && find . -type f -print0 | xargs -0 sha256sum \
  | sed -E 's#  \./(bin|sbin|lib|lib32|lib64|libx32)/#  ./usr/\1/#' | sort -k2) > x.sums
(cd "$d" && grep -v -e '^usr/share/gen/' -e '^usr/lib/modules/' < "$T/g.list" | sed 's#^#./#' \
  | tr '\n' '\0' | xargs -0 sha256sum | sort -k2) > g.sums
expect_true "with the same content" cmp -s x.sums g.sums

# Composing again in another sysroot gives the same commit.
S=$T/again
mkdir -p "$S"
must gen init --os demo
expect_exit 0 gen switch m.json
expect_eq "$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')" "$c" \
  "the same packages give the same commit"
expect_exit 0 ostree --repo="$S/gen/repo" fsck
run gen list --json
expect_eq "$(jq_ "$OUT" 'd["generations"][0]["release"]["packages"]')" 6 "gen list --json: 6 packages"
finish
