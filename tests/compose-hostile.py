#!/usr/bin/env python3
"""compose-hostile.py DIR KIND…: writes DIR/hostile-KIND_1.0_all.deb for each
KIND, a .deb whose data.tar holds one member that gen must refuse, next to
harmless ones.
dpkg-deb --build cannot make such members, so the ar container and both
tarballs are written here; dpkg-scanpackages indexes the result as usual.

KIND: dotdot, nested-dotdot, absolute, symlink-escape, hardlink-escape,
hardlink-foreign, device, fifo, not-utf8, file-over-folder."""
import io
import os
import sys
import tarfile

MTIME = 1700000000


def tar_bytes(members, compression):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compression, format=tarfile.GNU_FORMAT) as t:
        for info, data in members:
            info.mtime = MTIME
            info.uname = info.gname = "root"
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


def member(path, kind=tarfile.REGTYPE, data=None, mode=0o644, **kw):
    info = tarfile.TarInfo(path)
    info.type = kind
    info.mode = mode
    for k, v in kw.items():
        setattr(info, k, v)
    return info, data


def folder(path):
    return member(path, tarfile.DIRTYPE, mode=0o755)


def ar_member(name, payload):
    header = b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), MTIME, 0, 0, b"100644", len(payload))
    return header + payload + (b"\n" if len(payload) % 2 else b"")


def write_deb(out_dir, kind):
    members = [folder("./"), folder("./usr/"), folder("./usr/share/"),
               member("./usr/share/harmless", data=b"harmless\n")]
    bad = {
        "dotdot": [member("./../evil", data=b"evil\n")],
        "nested-dotdot": [member("./usr/../../evil", data=b"evil\n")],
        "absolute": [member("/etc/evil", data=b"evil\n")],
        "symlink-escape": [member("./usr/share/escape", tarfile.SYMTYPE, linkname="../../../etc/passwd")],
        "hardlink-escape": [member("./usr/share/link", tarfile.LNKTYPE, linkname="../etc/passwd")],
        "hardlink-foreign": [member("./usr/share/link", tarfile.LNKTYPE, linkname="./usr/bin/app")],
        "device": [folder("./dev/"), member("./dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3)],
        "fifo": [member("./usr/share/fifo", tarfile.FIFOTYPE)],
        "not-utf8": [member("./usr/share/caf\udce9", data=b"latin-1 name\n")],
        "file-over-folder": [member("./usr", data=b"not a folder\n")],
    }[kind]
    data = tar_bytes(members + bad, "xz")
    control_text = (b"Package: hostile-" + kind.encode() + b"\nVersion: 1.0\nArchitecture: all\n"
                    b"Maintainer: gen tests <gen@example.org>\nDescription: a hostile package\n")
    control = tar_bytes([folder("./"), member("./control", data=control_text)], "gz")
    deb = (b"!<arch>\n" + ar_member("debian-binary", b"2.0\n")
           + ar_member("control.tar.gz", control) + ar_member("data.tar.xz", data))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "hostile-%s_1.0_all.deb" % kind), "wb") as f:
        f.write(deb)


for kind in sys.argv[2:]:
    write_deb(sys.argv[1], kind)
