#!/bin/bash
# Releases from tarballs: the same tree gives the same release as from a
# folder; hostile tarballs are refused with nothing written; release.ref
# names a release already in the store.
# shellcheck source=tests/e2e/lib.sh
. "$TESTS_DIR/e2e/lib.sh"

plan 71

repo=$S/gen/repo
make_release tree 1.0
must tar -C tree -czf r.tar.gz .
must tar -C tree -cJf r.tar.xz .
# Without the "./" entry the root folder is made with the usual 0755.
must tar -C tree -czf r-noroot.tar.gz etc usr
manifest m-dir.json '{ "dir": "tree" }'
manifest m-gz.json '{ "archive": "r.tar.gz" }'
manifest m-xz.json '{ "archive": "r.tar.xz" }'
manifest m-noroot.json '{ "archive": "r-noroot.tar.gz" }'
must gen init --os demo

checksum_of () { # MANIFEST: the release checksum a dry run reports
  "$GEN" --sysroot "$S" switch --dry-run "$1" | sed -n 's/.*(\([0-9a-f]\{10\}\)).*/\1/p' | head -n 1
}
# On an empty sysroot a dry run names the release each manifest makes.
dry_dir=$(checksum_of m-dir.json) dry_gz=$(checksum_of m-gz.json)
dry_xz=$(checksum_of m-xz.json) dry_noroot=$(checksum_of m-noroot.json)
expect_exit 0 gen switch m-gz.json
expect_stdout_contains "made generation 1: release 1.0"
c_gz=$(jq_ "$S/gen/generations/1/generation.json" 'd["release"]["checksum"]')
expect_true "the tar.gz release is checked out" \
  cmp -s "$S/gen/deploy/$c_gz/usr/bin/demo-app" tree/usr/bin/demo-app
expect_eq "$(stat -c %a "$S/gen/deploy/$c_gz/usr/bin/demo-app")" 755 "modes come from the archive"
expect_eq "$(readlink "$S/gen/deploy/$c_gz/etc/os-release")" ../usr/lib/os-release "symlinks come from the archive"
expect_eq "$dry_gz" "${c_gz:0:10}" "the dry run named the checksum the switch made"
expect_eq "$dry_dir" "${c_gz:0:10}" "the same tree from a folder has the same checksum"
expect_eq "$dry_xz" "${c_gz:0:10}" "the same tree from a tar.xz has the same checksum"
expect_eq "$dry_noroot" "${c_gz:0:10}" "a tarball without a ./ entry has the same checksum"
# A tree large enough for the import from a folder to be cut into parts
# (src/gen-import.c) when there is more than one CPU: the same commit still.
make_release big 1.0 2500
must tar -C big -czf big.tar.gz .
manifest m-big-dir.json '{ "dir": "big" }'
manifest m-big-gz.json '{ "archive": "big.tar.gz" }'
big_dir=$(checksum_of m-big-dir.json) big_gz=$(checksum_of m-big-gz.json)
expect_true "a dry run names the large release" test -n "$big_gz"
expect_eq "$big_dir" "$big_gz" "a large tree from a folder has its tarball's checksum"
expect_exit 0 gen switch m-dir.json
expect_stdout_contains "no changes: generation 1 already matches the manifest"
expect_exit 0 gen switch m-xz.json
expect_stdout_contains "no changes: generation 1 already matches the manifest"

# --- hostile tarballs ---------------------------------------------------------
# hostile NAME KIND: a gzip'd tarball of the tree plus one bad member.
hostile () {
  python3 - "$1" "$2" <<'EOF'
import io, sys, tarfile
name, kind = sys.argv[1], sys.argv[2]
with tarfile.open(name, "w:gz") as t:
    t.add("tree", arcname=".")
    def member(path, **kw):
        info = tarfile.TarInfo(path)
        data = kw.pop("data", None)
        for k, v in kw.items():
            setattr(info, k, v)
        if data is not None:
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        else:
            t.addfile(info)
    if kind == "dotdot":
        member("../evil", data=b"evil\n")
    elif kind == "nested-dotdot":
        member("usr/../../evil", data=b"evil\n")
    elif kind == "absolute":
        member("/etc/evil", data=b"evil\n")
    elif kind == "symlink":
        member("a/b", type=tarfile.SYMTYPE, linkname="../../../etc/passwd")
    elif kind == "hardlink":
        member("x", type=tarfile.LNKTYPE, linkname="../x")
    elif kind == "device":
        member("usr/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    elif kind == "fifo":
        member("usr/fifo", type=tarfile.FIFOTYPE)
    elif kind == "deep":
        member("/".join(["d"] * 300) + "/f", data=b"x\n")
    elif kind == "long-path":
        member("/".join(["dir-" + "x" * 50] * 80) + "/f", data=b"x\n")
    elif kind == "long-name":
        member("usr/" + "n" * 300, data=b"x\n")
    elif kind == "not-utf8":
        member(b"usr/bad\xff\xfe".decode("utf-8", "surrogateescape"), data=b"x\n")
    elif kind == "setuid":
        member("usr/bin/su", data=b"#!/bin/sh\n", mode=0o4755)
    elif kind == "kver-newline":
        member("usr/lib/modules/6.1 x\noptions init=", type=tarfile.DIRTYPE, mode=0o755)
        member("usr/lib/modules/6.1 x\noptions init=/vmlinuz", data=b"k\n")
EOF
}
snapshot "$T/before"
refused () { # NAME KIND ERROR_TEXT [part]: ERROR_TEXT follows "archive 'NAME': ", or with
  # "part", is anywhere in the error
  must hostile "$1.tar.gz" "$2"
  manifest "m-$1.json" "{ \"archive\": \"$1.tar.gz\" }"
  expect_exit 1 gen switch "m-$1.json"
  if [ "${4:-}" = part ]; then expect_error "$3"; else expect_error "archive '$T/$1.tar.gz': $3"; fi
  expect_unchanged "$T/before" "$1: nothing written"
}
refused dotdot dotdot "member '../evil' climbs out with '..'"
refused nested-dotdot nested-dotdot "member 'usr/../../evil' climbs out with '..'"
refused absolute absolute "member '/etc/evil' has an absolute path"
refused symlink symlink "symlink 'a/b' points outside the tree ('../../../etc/passwd')"
refused hardlink hardlink "hard link 'x' points outside the tree ('../x')"
refused device device "member 'usr/null' is a device node, FIFO or socket, which a release may not hold"
refused fifo fifo "member 'usr/fifo' is a device node, FIFO or socket, which a release may not hold"
refused deep deep "member 'd/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/…' is nested deeper than 256 folders"
refused long-path long-path "…' is longer than 4095 bytes" part
refused long-name long-name "member 'usr/nnnnnnnnnn" part
refused not-utf8 not-utf8 "' is not UTF-8" part
# A member whose header claims 64 GiB, with 4 kB of data: a truncated archive.
python3 - <<'PY'
import gzip, io, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    t.add("tree", arcname=".")
raw = buf.getvalue().rstrip(b"\0")
raw += b"\0" * (-len(raw) % 512)
info = tarfile.TarInfo("usr/huge.bin"); info.size = 64 << 30
open("truncated.tar.gz", "wb").write(gzip.compress(raw + info.tobuf(format=tarfile.GNU_FORMAT) + b"x" * 4096))
PY
manifest m-truncated.json '{ "archive": "truncated.tar.gz" }'
expect_exit 1 gen switch m-truncated.json
expect_error "reading archive '$T/truncated.tar.gz': member 'usr/huge.bin': Truncated input file"
expect_unchanged "$T/before" "truncated: nothing written"
expect_true "nothing escaped the tree" test ! -e "$T/evil" -a ! -e "$S/evil" -a ! -e "$S/gen/evil"

# A kernel folder whose name holds a newline would add lines to the boot entry.
must hostile kver-newline.tar.gz kver-newline
manifest m-kver-newline.json '{ "archive": "kver-newline.tar.gz" }'
expect_exit 1 gen switch m-kver-newline.json
expect_error "the release's kernel folder 'usr/lib/modules/6.1 x\\noptions init=' is not a kernel version"
expect_unchanged "$T/before" "kver-newline: nothing written"

# Fixed bytes (a SHA-256 chain): random ones could, once in a long while,
# start like a cpio.
python3 -c 'import hashlib, sys; sys.stdout.buffer.write(b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(128)))' > garbage.tar.gz
manifest m-garbage.json '{ "archive": "garbage.tar.gz" }'
expect_exit 1 gen switch m-garbage.json
expect_error "reading archive '$T/garbage.tar.gz'"
expect_unchanged "$T/before" "garbage: nothing written"

# --- release.ref: a release already in the store ------------------------------
manifest m-ref.json '{ "ref": "demo/release" }' \
  '{ "files": { "/etc/motd": { "content": "from a ref\n" } } }'
expect_exit 0 gen switch m-ref.json
expect_stdout_contains "made generation 2: release 1.0"
expect_stdout_contains "release:     unchanged"
expect_eq "$(jq_ "$S/gen/generations/2/generation.json" 'd["release"]["checksum"]')" "$c_gz" \
  "release.ref demo/release: the same release"
expect_file_equals "$S/gen/generations/2/etc/motd" $'from a ref\n'
manifest m-commit.json "{ \"ref\": \"$c_gz\" }" \
  '{ "files": { "/etc/motd": { "content": "from a commit\n" } } }'
expect_exit 0 gen switch m-commit.json
expect_stdout_contains "made generation 3: release 1.0"
expect_eq "$(jq_ "$S/gen/generations/3/generation.json" 'd["release"]["checksum"]')" "$c_gz" \
  "release.ref as a commit checksum: the same release"
expect_eq "$(ls "$S/gen/deploy")" "$c_gz" "one checkout for every generation"
expect_file_contains "$S/boot/loader/entries/demo-3.conf" "gen.generation=3 gen.release=$c_gz"

# A setuid file in a release is kept: an OS needs them (passwd, su).  The
# store and the checkouts are gen's, under DIR/gen; the release only runs
# once booted.
must hostile setuid.tar.gz setuid
manifest m-setuid.json '{ "archive": "setuid.tar.gz" }'
expect_exit 0 gen switch m-setuid.json
c_su=$(jq_ "$S/gen/state.json" 'd["current"]')
c_su=$(jq_ "$S/gen/generations/$c_su/generation.json" 'd["release"]["checksum"]')
if [ "$(id -u)" -eq 0 ]; then
  expect_eq "$(stat -c '%a %U' "$S/gen/deploy/$c_su/usr/bin/su")" "4755 root" "a setuid file keeps its mode and owner"
else # a bare-user-only store keeps canonical modes: no setuid bit
  expect_eq "$(stat -c '%a' "$S/gen/deploy/$c_su/usr/bin/su")" 755 "not root: the setuid bit is dropped"
fi

expect_exit 0 ostree --repo="$repo" fsck
finish
