#!/usr/bin/env python3
"""check-durability.py SYSROOT TRACE: the order of syncs in a gen run.

TRACE is `strace -f -y -qq -e trace=openat,write,pwrite64,writev,fsync,
fdatasync,syncfs,rename,renameat,renameat2,mkdir,mkdirat,symlinkat,linkat,
unlinkat` output (-y: every fd is shown with its path).  The rules, for what
gen publishes (every rename whose target is in SYSROOT, outside gen/tmp and
outside the store gen/repo, which ostree syncs itself):

1. what a rename publishes is durable before the rename: a file, fsync'd
   (or fdatasync'd) after its last write; a folder, either a syncfs after
   the last change anywhere inside it, or every file in it fsync'd after its
   last write and every folder in it (itself included) fsync'd after its
   last new entry;
2. the folder that holds the new name is fsync'd after the rename, before
   the next publishing rename (and before the run ends);
3. a folder gen creates outside gen/tmp and outside what it publishes by
   rename (boot/<os>, for one) has its parent fsync'd after the mkdir,
   before the commit (the rename to gen/state.json);
4. the commit comes after every other publishing rename and its folder sync,
   loader.conf after the commit's folder sync.
gen/generations.idx is left out: a cache that checks itself (its CRC) and
is checked against what it describes, it is renamed into place after the
commit and the menus and never fsync'd (docs/architecture.md).  So is
gen/cache/releases/ (a commit's version, one line a reader takes only whole;
a missing one only sends a config-only switch to gen-store).
Under SYSROOT/boot, which may be a file system of its own (an EFI system
partition), a syncfs of the sysroot does not count: only fsync does.

Prints one line per violation and exits 1 if there is any; prints a summary
of what was checked on success.
"""
import os
import re
import sys

sysroot = os.path.realpath(sys.argv[1])
LINE = re.compile(r"^(\d+) +(\w+)\((.*)\) += (-?\d+)(.*)$")
FD = re.compile(r"^(?:AT_FDCWD|-?\d+)<([^>]*)>")
STR = re.compile(r'^"((?:[^"\\]|\\.)*)"')


def split_args(text):
    """Top-level comma split of a syscall's argument text."""
    args, depth, cur, quoted, esc = [], 0, "", False, False
    for ch in text:
        if quoted:
            cur += ch
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch in "<[{(":
            depth += 1
        elif ch in ">]})":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def fd_path(arg):
    m = FD.match(arg)
    return m.group(1) if m else None


def string(arg):
    m = STR.match(arg)
    return m.group(1).encode().decode("unicode_escape") if m else None


def resolve(dirarg, patharg):
    p = string(patharg)
    if p is None:
        return None
    if p.startswith("/"):
        return os.path.normpath(p)
    base = fd_path(dirarg)
    return os.path.normpath(os.path.join(base, p)) if base else None


def rel(path):
    return os.path.relpath(path, sysroot)


def inside(path, top):
    return path == top or path.startswith(top + "/")


# --- read the trace, joining "<unfinished ...>" with "<... resumed>" ---------
events = []
pending = {}
for raw in open(sys.argv[2], encoding="utf-8", errors="replace"):
    raw = raw.rstrip("\n")
    m = re.match(r"^(\d+) +(.*)$", raw)
    if not m:
        continue
    pid, rest = m.groups()
    if rest.endswith("<unfinished ...>"):
        pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
        continue
    r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", rest)
    if r:
        rest = pending.pop(pid, "") + r.group(1)
    m = LINE.match(f"{pid} {rest}")
    if not m:
        continue
    _, call, argtext, ret, tail = m.groups()
    if int(ret) < 0:
        continue
    events.append((call, split_args(argtext), ret + tail))

# --- replay ---------------------------------------------------------------------
last_write = {}   # file path -> index of its last write (or creation)
file_sync = {}    # file path -> indexes of its fsyncs
dir_change = {}   # folder path -> index of its last new entry
dir_sync = {}     # folder path -> indexes of its fsyncs
syncfs_at = []    # indexes of syncfs calls
created_dirs = []  # (index, path) of mkdirs
renames = []      # (index, src, dst)
is_dir = set()


def moved(old, new):
    """Carries what is known about paths below @old over to @new."""
    for table in (last_write, file_sync, dir_change, dir_sync):
        for p in list(table):
            if inside(p, old):
                table[new + p[len(old):]] = list(table[p]) if isinstance(table[p], list) else table[p]
    for p in list(is_dir):
        if inside(p, old):
            is_dir.add(new + p[len(old):])


for i, (call, args, ret) in enumerate(events):
    if call == "openat":
        flags = args[2] if len(args) > 2 else ""
        m = FD.match(ret.split("=")[-1].strip()) or re.match(r"^\d+<([^>]*)>", ret)
        path = m.group(1) if m else None
        if path and "O_DIRECTORY" in flags:
            is_dir.add(path)
        if path and ("O_CREAT" in flags or "O_TMPFILE" in flags) and "(deleted)" not in ret:
            last_write[path] = i
            dir_change[os.path.dirname(path)] = i
    elif call in ("write", "pwrite64", "writev"):
        p = fd_path(args[0])
        if p:
            last_write[p] = i
    elif call in ("fsync", "fdatasync"):
        p = fd_path(args[0])
        if p and p in is_dir or (p and os.path.isdir(p) and p not in last_write):
            dir_sync.setdefault(p, []).append(i)
        elif p:
            file_sync.setdefault(p, []).append(i)
    elif call == "syncfs":
        syncfs_at.append(i)
    elif call in ("mkdir", "mkdirat"):
        p = resolve(args[0], args[1]) if call == "mkdirat" else resolve("AT_FDCWD<" + os.getcwd() + ">", args[0])
        if p:
            is_dir.add(p)
            created_dirs.append((i, p))
            dir_change[os.path.dirname(p)] = i
            dir_change[p] = i
    elif call in ("linkat", "symlinkat"):
        p = resolve(args[2], args[3]) if call == "linkat" else resolve(args[1], args[2])
        if p:
            dir_change[os.path.dirname(p)] = i
    elif call in ("rename", "renameat", "renameat2"):
        if call == "rename":
            src, dst = (resolve("AT_FDCWD<" + os.getcwd() + ">", a) for a in args[:2])
        else:
            src, dst = resolve(args[0], args[1]), resolve(args[2], args[3])
        if src and dst:
            renames.append((i, src, dst))
            moved(src, dst)
            dir_change[os.path.dirname(dst)] = i

problems = []
boot = os.path.join(sysroot, "boot")
repo = os.path.join(sysroot, "gen/repo")
tmp = os.path.join(sysroot, "gen/tmp")
state = os.path.join(sysroot, "gen/state.json")
loader = os.path.join(sysroot, "boot/loader/loader.conf")
caches = {os.path.join(sysroot, "gen/generations.idx")}
releases_cache = os.path.join(sysroot, "gen/cache/releases")


def syncfs_between(a, b, path):
    if inside(path, boot):
        return False
    return any(a < s < b for s in syncfs_at)


def synced(table, path, a, b):
    """An fsync of @path between indexes a and b."""
    return any(a < x < b for x in table.get(path, []))


def synced_file(path, before):
    w = last_write.get(path, -1)
    return synced(file_sync, path, w, before) or syncfs_between(w, before, path)


publishing = [(i, s, d) for (i, s, d) in renames
              if inside(d, sysroot) and not inside(d, repo) and not inside(d, tmp)
              and d not in caches and not inside(d, releases_cache)]
for n, (i, src, dst) in enumerate(publishing):
    name = rel(dst)
    # What changed inside the tree being published (paths as they were).
    inner_writes = {p: w for p, w in last_write.items() if inside(p, src) and w < i}
    inner_dirs = {p: c for p, c in dir_change.items() if inside(p, src) and c < i}
    if src in is_dir or inner_dirs:
        latest = max(list(inner_writes.values()) + list(inner_dirs.values()) + [-1])
        if not syncfs_between(latest, i, dst):
            for p, w in inner_writes.items():
                if not synced(file_sync, p, w, i):
                    problems.append(f"{name}: {rel(p)} is published (renamed into place) before it is synced")
            for p, c in inner_dirs.items():
                if not synced(dir_sync, p, c, i):
                    problems.append(f"{name}: folder {rel(p)} is published before it is synced")
    elif src in last_write and not synced_file(src, i):
        problems.append(f"{name}: renamed into place before the file {rel(src)} is synced")
    # Rule 2: the folder of the new name, synced after the rename.
    parent = os.path.dirname(dst)
    until = publishing[n + 1][0] if n + 1 < len(publishing) else len(events)
    if not (synced(dir_sync, parent, i, until) or syncfs_between(i, until, dst)):
        problems.append(f"{name}: its folder {rel(parent)} is not synced after the rename "
                        f"(before the next one)")

# Rule 3: folders made outside gen/tmp and outside published trees.
commit = [i for (i, s, d) in publishing if d == state]
commit_at = commit[-1] if commit else len(events)
for i, p in created_dirs:
    if not inside(p, sysroot) or inside(p, repo) or inside(p, tmp):
        continue
    if any(inside(p, s) and i < j for (j, s, d) in publishing):
        continue  # inside a tree published later by rename: rule 1
    parent = os.path.dirname(p)
    if i > commit_at:
        continue
    if not (synced(dir_sync, parent, i, commit_at) or syncfs_between(i, commit_at, p)):
        problems.append(f"{rel(p)}: created, but its folder {rel(parent)} is not synced before the commit")

# Rule 4: the commit after everything else, loader.conf after the commit.
if commit:
    for (i, s, d) in publishing:
        if d != state and d != loader and i > commit_at:
            problems.append(f"{rel(d)}: published after the commit (gen/state.json)")
    for (i, s, d) in publishing:
        if d == loader and i < commit_at:
            problems.append("boot/loader/loader.conf: written before the commit (gen/state.json)")

for p in problems:
    print(p)
if not problems:
    print(f"checked {len(publishing)} renames, {len(created_dirs)} mkdirs, "
          f"{len(syncfs_at)} syncfs: " + ", ".join(rel(d) for (_, _, d) in publishing))
sys.exit(1 if problems else 0)
