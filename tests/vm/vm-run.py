#!/usr/bin/env python3
"""vm-run.py: runs QEMU with its serial console on a pipe, for the VM tests.

  vm-run.py --log FILE --timeout SECONDS [--send PATTERN KEYS]... -- QEMU ARGS...

Every byte QEMU writes to the serial console (stdio) goes to FILE as it
comes.  Each --send waits, in order, for PATTERN (a Python regular
expression over the whole output so far, decoded as UTF-8) and then types
KEYS on the serial console; KEYS understands the escapes \\e (ESC), \\r, \\n
and \\xHH, and the names <down>, <up> and <enter>.  After SECONDS QEMU is
killed and the exit status is 124, as timeout(1) does; otherwise it is
QEMU's.  QEMU's stderr is left alone.
"""
import argparse
import codecs
import os
import re
import select
import subprocess
import sys
import time

NAMES = {"<down>": "\x1b[B", "<up>": "\x1b[A", "<enter>": "\r"}


def keys(text):
    for name, seq in NAMES.items():
        text = text.replace(name, seq)
    return codecs.decode(text.replace("\\e", "\\x1b"), "unicode_escape").encode("latin-1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--send", nargs=2, action="append", default=[], metavar=("PATTERN", "KEYS"))
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.qemu[1:] if args.qemu[:1] == ["--"] else args.qemu
    if not cmd:
        ap.error("no QEMU command")
    sends = [(re.compile(p), keys(k)) for p, k in args.send]

    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    deadline = time.monotonic() + args.timeout
    seen = ""
    with open(args.log, "wb") as log:
        fd = proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                proc.wait()
                log.write(b"\n[vm-run.py: killed QEMU after %g s]\n" % args.timeout)
                return 124
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                break
            log.write(data)
            log.flush()
            seen += data.decode("utf-8", "replace")
            while sends:
                match = sends[0][0].search(seen)
                if not match:
                    break
                _, k = sends.pop(0)
                # The next pattern is looked for after what this one matched.
                seen = seen[match.end():]
                try:
                    proc.stdin.write(k)
                    proc.stdin.flush()
                except BrokenPipeError:
                    pass
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
