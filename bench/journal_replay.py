#!/usr/bin/env python3
"""Replay of bankd's journal at open, against the scan it replaced.

    python3 bench/journal_replay.py [--build build] [--quick] [--rounds N]
        [--json FILE]

Runs BUILD/bench/journal_replay (bench/journal_replay.c: the files it
writes, how it times them), which prints its table; with --json its
results go to FILE for bench/run.  No daemon, no network: one process in a
temporary folder, removed at the end.  Exit status 1 if the two scans
found different records.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true",
                    help="a 16 MiB clean file and a 1 MiB crafted one")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "journal_replay")
    if not os.path.exists(exe):
        raise SystemExit("journal_replay.py: %s is missing: build first "
                         "(cmake --build %s -j2)" % (exe, a.build))
    fd, out = tempfile.mkstemp(prefix="journal_replay.", suffix=".json")
    os.close(fd)
    try:
        argv = [exe, "-r", str(a.rounds), "-j", out]
        if a.quick:
            argv.append("-q")
        print("$ " + " ".join(argv), flush=True)
        rc = subprocess.run(argv).returncode
        with open(out) as f:
            res = json.load(f) if os.path.getsize(out) else None
    finally:
        os.unlink(out)
    if res is not None and a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 1 if rc != 0 or res is None else 0


if __name__ == "__main__":
    sys.exit(main())
