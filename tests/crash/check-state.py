#!/usr/bin/env python3
"""check-state.py SYSROOT OLD NEW [LEFT]: the invariants after a gen run was killed.

OLD and NEW are "CURRENT,DEFAULT:N,N,..." (the pointers and the committed
generation numbers before the run and after it completed).  LEFT is the
entry loader.conf named before the run: an earlier run killed between the
state and the menus leaves it behind, and a run killed before its cleanup
repaired it leaves it still.  Reads
`gen list --json` output from SYSROOT/../list.json and `gen fsck --json`
from SYSROOT/../fsck.json.  Prints one line per violation; nothing when
all hold:

- gen list shows the old or the new state: current and default from one of
  them, and the generation list of that same one (never a mix);
- boot/loader/loader.conf names the old or the new default generation's
  entry (or, on a sysroot that had none, no default yet) or, if the run
  was killed before it repaired the menus, LEFT, never one the state does
  not know: if it names the new default, the state is new;
- that entry exists, and the kernel and initramfs it names exist;
- gen fsck found nothing, or only repairable problems (what the next run's
  cleanup removes: docs/architecture.md).
"""
import json
import os
import sys

sysroot, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
left = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
work = os.path.dirname(sysroot)


def parse(spec):
    pointers, gens = spec.split(":")
    cur, dflt = (int(x) for x in pointers.split(","))
    return (cur, dflt), tuple(int(x) for x in gens.split(",") if x)


old_ptr, old_gens = parse(old)
new_ptr, new_gens = parse(new)
bad = []

listing = json.load(open(os.path.join(work, "list.json")))["generations"]
gens = tuple(g["generation"] for g in listing)
cur = [g["generation"] for g in listing if g["current"]]
dflt = [g["generation"] for g in listing if g["default"]]
ptr = (cur[0] if cur else 0, dflt[0] if dflt else 0)
if (ptr, gens) == (new_ptr, new_gens):
    state = "new"
elif (ptr, gens) == (old_ptr, old_gens):
    state = "old"
else:
    state = None
    bad.append(f"gen list shows current/default {ptr} and generations {list(gens)}: "
               f"neither the old {old_ptr} {list(old_gens)} nor the new {new_ptr} {list(new_gens)}")

os_name = "demo"
loader = os.path.join(sysroot, "boot/loader/loader.conf")
named = None
if os.path.exists(loader):
    for line in open(loader):
        if line.startswith("default "):
            named = line.split(None, 1)[1].strip()
allowed = {None} if old_ptr[1] == 0 else set()
for d in (old_ptr[1], new_ptr[1]):
    if d:
        allowed.add(f"{os_name}-{d}.conf")
if named not in allowed and named == left:
    if named not in {f"{os_name}-{n}.conf" for n in gens}:
        bad.append(f"loader.conf still names {named}, a generation gen list does not show")
elif named not in allowed:
    bad.append(f"loader.conf names {named}, neither the old nor the new default")
elif new_ptr[1] != old_ptr[1] and named == f"{os_name}-{new_ptr[1]}.conf" and state != "new":
    bad.append(f"loader.conf names the new default {named} but the state is {state}")
if named:
    entry = os.path.join(sysroot, "boot/loader/entries", named)
    if not os.path.isfile(entry):
        bad.append(f"the default entry {named} does not exist")
    else:
        for line in open(entry):
            key, _, value = line.partition(" ")
            if key in ("linux", "initrd"):
                path = os.path.join(sysroot, "boot", value.strip().lstrip("/"))
                if not os.path.isfile(path) or os.path.getsize(path) == 0:
                    bad.append(f"the default entry's {key} {value.strip()} is missing or empty")

fsck = json.load(open(os.path.join(work, "fsck.json")))
for p in fsck["problems"]:
    if not p["repairable"]:
        bad.append(f"gen fsck: {p['path']}: {p['message']}")

for line in bad:
    print(line)
print(state or "mixed", file=sys.stderr)
