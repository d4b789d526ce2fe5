#!/usr/bin/env python3
"""A burst of sbatch at once with the API slow and the cache off (issue
10, finding 1).

slurmctld calls job_submit one job at a time under its locks, and
job_submit/bank waits for bankd, which waits for the API up to
deadlines.decision_ms: in a burst the waits add up past sbatch's message
timeout ("Socket timed out"), and slurmctld creates jobs sbatch reported
as failed.  deadlines.submit_budget_ms bounds the waits in all.

One local cluster (tests/e2e/harness.py) with `cache.ttl_s: 0` (and
`cache.probe_factor: 4`, the shipped default); the simulator answers
can_submit_job after LATENCY ms.  For each latency, and each budget
(deadlines.submit_budget_ms 0 = off, and 500, the default), on a bankd restarted for
the case (a full budget, nothing known), N held sbatch of 6.00 SU jobs
are released together (a thread each, tests/e2e/burst.py):

  cold   spread over 5 accounts never asked about, with plenty of room
  near   all on one account with room for 5 of them (30.00 SU)

Per case: sbatch wall time p50 / p95 / max; how many said "Socket timed
out", were refused ("job refused"), were accepted; the jobs slurmctld has
that sbatch reported as failed (must be 0); for `near` the SU committed
(the jobs slurmctld has x 6.00) against the room, and how many of them a
policy let through; bankd's decision sources (its log, at debug); and
the longest squeue and scancel of a separate held job, run from other
threads during the burst.  Targets (issue 10): every sbatch answered within 2 s, no
"Socket timed out", no job created after sbatch said it failed, squeue
and scancel within 1 s.

A bankd from before the budget refuses the setting at start ("unknown
setting 'submit_budget_ms'"): then the budget-off rows run without the
setting (that bankd's only behaviour) and the 500 rows say "not
supported by this bankd".

    python3 bench/submit_burst.py [--build build] [-n 50]
        [--latencies 200,500,2000] [--quick] [--json FILE] [--keep]

--quick: N=20, latencies 200 and 2000 (under a minute; the full run
about 2).  --keep keeps the cluster's folder (logs).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
import burst as B  # noqa: E402
from harness import Cluster, default_fixture  # noqa: E402

BUDGETS = (0, 500)     # off, and the default
UNKNOWN = "unknown setting 'submit_budget_ms'"


def set_budget(c, ms):
    """Restart bankd with deadlines.submit_budget_ms = ms; False if this
    bankd does not know the setting (it is then running without it)."""
    try:
        c.reconfigure_bankd(submit_budget_ms=ms)
        return True
    except RuntimeError as e:
        if UNKNOWN not in str(e) and UNKNOWN not in c.log("bankd.log"):
            raise
    c.reconfigure_bankd(submit_budget_ms=None)
    return False


def one_case(c, lat, accounts, n):
    c.ctl("POST", "/faults", {"latency_ms": lat,
                              "path_prefix": "/can_submit_job/"})
    try:
        r = B.burst(c, accounts, n)
    finally:
        B.clean(c)
    r.pop("order")
    r.pop("jobs")
    return r


def fmt(v):
    return "—" if v is None else "%.2f" % v


def show(res):
    print("\n%-5s %-6s %-5s %20s %4s %4s %4s %4s %10s %11s  %s" % (
        "API", "budget", "case", "sbatch s p50/p95/max", "t/o", "ref", "acc",
        "ghost", "SU/room", "squeue/scl", "sources"), flush=True)
    for r in res:
        if not r["supported"]:
            print("%-5d %-6s %-5s  not supported by this bankd" % (
                r["latency_ms"], r["budget_ms"], r["case"]))
            continue
        su = "%s/%s" % (r["committed"], B.ROOM) if r["case"] == "near" \
            else "—"
        print("%-5d %-6s %-5s %20s %4d %4d %4d %4d %10s %11s  %s" % (
            r["latency_ms"], r["budget_label"], r["case"], "/".join(
                fmt(r[k]) for k in ("p50_s", "p95_s", "max_s")),
            r["timed_out"], r["refused"], r["accepted"],
            len(r["created_failed"]), su, "%s/%s" % (
                fmt(r["squeue_max_s"]), fmt(r["scancel_max_s"])),
            ", ".join("%s %d" % kv for kv in sorted(r["sources"].items()))),
            flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=None,
                    help="sbatch per burst (default 50, --quick 20)")
    ap.add_argument("--latencies", default=None,
                    help="API latencies in ms (default 200,500,2000)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    n = a.n or (20 if a.quick else 50)
    lats = [int(x) for x in (a.latencies or ("200,2000" if a.quick else
                                             "200,500,2000")).split(",")]
    f = default_fixture()
    acc = {}
    for i, lat in enumerate(lats):
        for b in BUDGETS:
            acc[(lat, b)] = B.add_accounts(f, "l%db%d" % (i, b))
    t0 = time.time()
    # The cache off, as in the issue; probe_factor as etc/bank.yaml ships.
    c = Cluster(os.path.abspath(a.build), fixture=f, cache_ttl=0,
                probe_factor=4, keep=a.keep).start()
    res, supported = [], None
    try:
        for lat in lats:
            for b in BUDGETS:
                cold, near = acc[(lat, b)]
                for case, accounts in (("cold", cold), ("near", [near])):
                    row = {"latency_ms": lat, "budget_ms": b, "case": case}
                    if supported is False and b != 0:
                        row["supported"] = False
                        res.append(row)
                        continue
                    if supported is False:
                        c.reconfigure_bankd(submit_budget_ms=None)
                        ok = False
                    else:
                        ok = set_budget(c, b)
                    if supported is None:
                        supported = ok
                        if not ok:
                            print("this bankd has no submit_budget_ms: the "
                                  "budget-off rows run without it",
                                  flush=True)
                    row["supported"] = True
                    row["budget_label"] = str(b) if ok else "none"
                    row.update(one_case(c, lat, accounts, n))
                    if case == "near":
                        # What slurmctld has, sbatch's ghosts included.
                        row["committed"] = str(row["created"] * B.EACH)
                        row["room"] = str(B.ROOM)
                        row["each"] = str(B.EACH)
                    res.append(row)
                    print("API %d ms, budget %s, %s: %d sbatch in %.1f s" % (
                        lat, row["budget_label"], case, n, row["burst_s"]),
                        flush=True)
    finally:
        if a.keep:
            print("kept: " + c.dir)
        c.stop()
    show(res)
    print("\ntook %.0f s; ghost = jobs slurmctld created that sbatch "
          "reported as failed; SU/room: the jobs slurmctld has x %s SU" % (
              time.time() - t0, B.EACH))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"n": n, "latencies": lats, "budget_supported":
                       supported, "cases": res}, fh, indent=1)


if __name__ == "__main__":
    main()
