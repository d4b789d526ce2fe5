"""bankd's own memory across many hold reconciliations, against a real
slurmctld that keeps many jobs: the leak of libslurm 22.05's
slurm_load_jobs() (about 50 bytes per job listed per call) that bankd no
longer keeps, since it lists the jobs in a child (`bankd --list-jobs`).

Starts one local cluster (tests/e2e/harness.py: munged, the simulator,
slurmctld, slurmd) with holds.reconcile_s 1 and holds.grace_s 3600, then
submits --jobs jobs held (`sbatch -H`, one CPU, as root), each accepted
with a hold.  Then, for each bankd (--baseline-bankd first, if given,
then the build's), one after the other against the same slurmctld, the
same jobs and the same state_dir (so the same holds):

1. start that bankd, wait --warmup-s (its first reconciliations), read
   RssAnon from /proc/PID/status;
2. wait --seconds, read RssAnon again and count the reconciliations in
   between (bankd -d's debug line "holds: reconciled with N jobs": a
   count, never a verdict), and bankd's threads and children at the end
   (/proc: no zombie may be left).

Prints, per bankd: RssAnon before and after, the passes, the growth per
pass and per job listed per pass.

    python3 bench/reconcile_rss.py [--build build] [--jobs 1500]
        [--seconds 60] [--warmup-s 5] [--baseline-bankd PATH] [--json FILE]

Stops everything it started by PID (the cluster's stop).
"""

import argparse
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from harness import Cluster, default_fixture  # noqa: E402


def fixture():
    f = default_fixture()
    f["accounts"].append({"name": "fc_many", "allocation": "99999999.00",
                          "usage": "0.00", "active": True})
    f["users"].append({"uid": 0, "username": "rootmany",
                       "email": "root@example.org"})
    f["memberships"].append({"uid": 0, "account": "fc_many",
                             "allocation": "99999999.00", "usage": "0.00"})
    return f


def rss_anon(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith("RssAnon:"))


def children(pid):
    """(pid, state) of the processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


def passes(c):
    return len(re.findall(r"holds: reconciled with \d+ jobs",
                          c.log("bankd.log")))


def submit_all(c, n, workers=2):
    """n held jobs, `workers` sbatch at a time; returns how many took."""
    done, lock = [0], threading.Lock()
    left = [n]

    def work():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            job, r, _ = c.sbatch("root", ["-A", "fc_many", "-p", "normal",
                                          "-n", "1", "-t", "10", "-H"],
                                 "true")
            if job:
                with lock:
                    done[0] += 1
    ts = [threading.Thread(target=work) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return done[0]


def measure(c, name, binary, a, jobs):
    c.stop_bankd()
    c.bankd_bin = lambda: binary
    c.start_bankd()
    pid = c.procs["bankd"].pid
    time.sleep(a.warmup_s)
    before, p0 = rss_anon(pid), passes(c)
    time.sleep(a.seconds)
    after, p1 = rss_anon(pid), passes(c)
    n = p1 - p0
    kids = children(pid)
    r = {"bankd": name, "binary": binary, "jobs": jobs,
         "rss_before_kb": before, "rss_after_kb": after, "passes": n,
         "growth_kb": after - before,
         "bytes_per_pass": (after - before) * 1024 / n if n else None,
         "bytes_per_job_pass": (after - before) * 1024 / n / jobs
         if n and jobs else None,
         "threads": len(os.listdir("/proc/%d/task" % pid)),
         "zombies": sum(1 for k in kids if k[1] == "Z")}
    print("reconcile_rss: %-8s RssAnon %6d -> %6d KiB over %3d passes of "
          "%d jobs: %+.0f B/pass (%+.1f B/job/pass); threads %d, zombies %d"
          % (name, before, after, n, jobs, r["bytes_per_pass"] or 0,
             r["bytes_per_job_pass"] or 0, r["threads"], r["zombies"]),
          flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--jobs", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup-s", type=float, default=5)
    ap.add_argument("--baseline-bankd",
                    help="a bankd of before the fix (main's), measured first")
    ap.add_argument("--json")
    a = ap.parse_args()
    c = Cluster(a.build, fixture=fixture(), reconcile_s=1,
                grace_s=3600).start()
    try:
        t0 = time.time()
        jobs = submit_all(c, a.jobs)
        print("reconcile_rss: %d of %d held jobs submitted in %.0f s" % (
            jobs, a.jobs, time.time() - t0), flush=True)
        listed = len(c.run(["squeue", "-h", "-o", "%i"]).stdout.split())
        rows = []
        if a.baseline_bankd:
            rows.append(measure(c, "baseline", a.baseline_bankd, a, listed))
        rows.append(measure(c, "ours", os.path.join(
            os.path.abspath(a.build), "bankd", "bankd"), a, listed))
    finally:
        c.stop()
    res = {"jobs_submitted": jobs, "jobs_listed": listed,
           "seconds": a.seconds, "rows": rows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
