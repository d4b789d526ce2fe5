"""Instructions per warm submit decision, counted by callgrind.

The method of docs/performance.md ("Profile of a warm decision"),
automated: the myBRC simulator and one bankd (cache.ttl_s 600) run in a
private folder, bankd under `valgrind --tool=callgrind`.  10 warm-up checks
(the first asks the API and fills the cache), `callgrind_control -z`
zeroes the counters, N checks (bankload --type check, one client, all
decided from the cache), `callgrind_control -d` dumps the profile.
Prints total instructions (Ir) / N and the functions with the largest
inclusive share (callgrind_annotate --inclusive=yes).

Instruction counts repeat from run to run on a noisy machine, but leave
out the time spent in the kernel (accept, read, write, close): a figure
for bankd's own code, not for the wall clock.

    python3 bench/decision_profile.py [--build build] [-n 2000] [--top 15]
        [--json FILE] [--keep]

Needs valgrind (callgrind_control, callgrind_annotate).  Stops everything
it started by PID.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decision_latency import (start_sim, start_bankd, bankload,  # noqa: E402
                              stats, reset, stop_all)


def control(args, pid):
    r = subprocess.run(["callgrind_control"] + args + [str(pid)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("callgrind_control %s failed: %s%s" % (
            " ".join(args), r.stdout, r.stderr))


def total_ir(path):
    """The dump's total: its 'totals:' (or 'summary:') line."""
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"(totals|summary):\s+(\d+)", line)
            if m:
                return int(m.group(2))
    raise SystemExit("no totals in " + path)


def top_inclusive(path, total, top):
    """The largest inclusive costs below the event loop itself: rows of
    callgrind_annotate's file:function table, less those at ~100 % (main,
    event_base_loop, libc's start-up) and unnamed addresses; names are
    shortened to file.c:function."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                        "--threshold=100", path], capture_output=True,
                       text=True, timeout=120)
    rows, seen, in_table = [], set(), False
    for line in r.stdout.splitlines():
        if line.rstrip().endswith("file:function"):
            in_table = True
            continue
        if not in_table or line.startswith("---"):
            continue
        if not line.strip():
            if rows:
                break
            continue
        # " 55,442,000 (50.95%)  /path/bankd/check.c:finish [/path/bankd]"
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?)"
                     r"(?:\s+\[[^\]]*\])?\s*$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        f, _, fn = m.group(2).rpartition(":")
        if ir >= total * 0.99 or fn.startswith("0x") or "(below main)" in fn:
            continue
        name = "%s:%s" % (os.path.basename(f), fn) if f else fn
        if name in seen:
            continue
        seen.add(name)
        rows.append((name, ir))
        if len(rows) >= top:
            break
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true",
                    help="keep the folder (the callgrind dump is in it)")
    a = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if shutil.which(tool) is None:
            raise SystemExit("%s not found: install valgrind" % tool)
    build = os.path.abspath(a.build)
    d = tempfile.mkdtemp(prefix="bank-bench.")
    procs = []
    out = os.path.join(d, "callgrind.out")
    try:
        sim, api, ctl = start_sim(build, d)
        procs.append(sim)
        bankd, sock = start_bankd(
            build, d, "cg", api, 600,
            prefix=("valgrind", "--tool=callgrind",
                    "--callgrind-out-file=" + out),
            timeout=120)
        procs.append(bankd)
        bankload(build, sock, 1, a.warmup)
        reset(ctl)
        control(["-z"], bankd.pid)
        t0 = time.time()
        r = bankload(build, sock, 1, a.n)
        secs = time.time() - t0
        calls = stats(ctl)
        before = set(glob.glob(out + "*"))
        control(["-d"], bankd.pid)
        end = time.time() + 60
        dump = None
        while time.time() < end:
            new = [p for p in glob.glob(out + "*") if p not in before]
            if new:
                dump = sorted(new)[-1]
                time.sleep(0.5)     # let callgrind finish writing it
                break
            time.sleep(0.1)
        if dump is None:
            raise SystemExit("callgrind wrote no dump in " + d)
        total = total_ir(dump)
        top = top_inclusive(dump, total, a.top)
    finally:
        stop_all(procs, 30)
        if a.keep:
            print("kept: " + d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)

    per = total / a.n
    print("warm decisions profiled: %d (after %d warm-up checks; API calls "
          "during the profile: %d; %.1f s under callgrind, %d errors)" % (
              a.n, a.warmup, calls, secs, r.get("errors", 0)))
    print("total instructions: %d" % total)
    print("instructions per decision: %.0f" % per)
    print("\ntop functions, inclusive (per decision, share of the total):")
    for name, ir in top:
        print("  %10.0f %6.1f%%  %s" % (ir / a.n, 100.0 * ir / total, name))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "total_ir": total, "ir_per_decision": per,
                       "api_calls": calls,
                       "top": [{"function": n, "ir": ir,
                                "per_decision": ir / a.n,
                                "share": ir / total} for n, ir in top]},
                      f, indent=1)
    return 1 if calls > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
