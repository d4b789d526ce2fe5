"""A soak: one local cluster (tests/e2e/harness.py) under a steady stream
of real jobs for a long while, bankd's resident memory and descriptors
sampled as it goes, every charge checked at the end.  A script, not a CI
test (issue 15, item 4: at least 30 minutes).

Each second it submits --rate jobs (as root, `sleep 1`, one CPU, so
each makes a decision, a hold, a start report from the node and a
completion: two deliveries and a release), plus one job refused for want
of funds (a refusal) and one `bankctl estimate` (a user's question); every
--reload-s it reloads bankd (SIGHUP).  Every --sample-s it reads
/proc/PID/status (RssAnon) and /proc/PID/fd of bankd.

At the end it stops submitting, waits for every job to end and the queue
to drain, and checks:

  - every accepted job's record at the simulator holds the cost its own
    dates give (price x CPUs x seconds / 3600, rounded half-up once),
    and the account's usage moved by exactly their sum;
  - nothing queued, no dead letters, no hold left;
  - flat: the largest RssAnon (bankd's own memory; VmRSS also counts
    shared libraries' pages as they are first touched) after the warm-up
    (the first --warmup-s) is within --rss-slack (default 10 %, plus 1
    MiB) of what it was at the end of the warm-up, and descriptors at the
    end are at most 2 above it.

Prints a table of the samples and one verdict line; exits 1 if a check
failed.

    python3 bench/soak.py [--build build] [--minutes 30] [--rate 1]
        [--json FILE]
"""

import argparse
import json
import os
import signal
import sys
import time
from decimal import Decimal, ROUND_HALF_UP

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from harness import Cluster, default_fixture, PRICES  # noqa: E402

ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
         "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE")


def fixture():
    f = default_fixture()
    f["accounts"].append({"name": "fc_soak", "allocation": "99999999.00",
                          "usage": "0.00", "active": True})
    f["users"].append({"uid": 0, "username": "rootsoak",
                       "email": "root@example.org"})
    for uid in (0, 47001):
        f["memberships"].append({"uid": uid, "account": "fc_soak",
                                 "allocation": "99999999.00",
                                 "usage": "0.00"})
    return f


def cost(price, cpus, seconds):
    c = Decimal(price) * cpus * seconds / Decimal(3600)
    return c.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def seconds(iso):
    return int(time.mktime(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")))


def sample(pid):
    """RssAnon (bankd's own memory: heap, stacks), not VmRSS, which also
    counts the pages of shared libraries faulted in as code paths are
    first taken (libcrypto alone adds megabytes over the first minutes)."""
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(line.split()[1]) for line in f
                   if line.startswith("RssAnon:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def submit_loop(c, args, deadline, samples, pid):
    jobs, refused, errors = [], 0, 0
    t0 = time.time()
    next_sample = t0
    next_reload = t0 + args.reload_s
    while time.time() < deadline:
        tick = time.time()
        for _ in range(args.rate):
            job, r, _ = c.sbatch("root", ["-A", "fc_soak", "-p", "normal",
                                          "-n", "1", "-t", "1"], "sleep 1")
            if job is None:
                errors += 1
                print("soak: sbatch refused: " + r.stderr.strip(),
                      file=sys.stderr)
            else:
                jobs.append(job)
        _, r, _ = c.sbatch("bankalice", ["-A", "fc_poor", "-p", "normal",
                                         "-n", "1", "-t", "60"], "true")
        refused += r.returncode != 0
        c.run([os.path.join(c.build, "bankctl", "bankctl"), "-S",
               c.path("bankd.sock"), "estimate", "-A", "fc_alpha", "-p",
               "normal", "-n", "1", "-t", "10"], user="bankalice")
        if time.time() >= next_reload:
            os.kill(pid, signal.SIGHUP)     # a reload, same process
            next_reload += args.reload_s
        if time.time() >= next_sample:
            rss, fds = sample(pid)
            samples.append((int(time.time() - t0), rss, fds, len(jobs)))
            print("soak: %6d s  anon %7d KiB  fds %4d  jobs %6d" %
                  samples[-1], file=sys.stderr)
            next_sample += args.sample_s
        time.sleep(max(0.0, 1.0 - (time.time() - tick)))
    return jobs, refused, errors


def check_charges(c, jobs, u0):
    bad, total = [], Decimal(0)
    for job in jobs:
        j = c.sim_job(job)
        if j is None or not j.get("enddate"):
            bad.append("%d: not charged its completion (%s)" % (job, j))
            continue
        cpus = int(j.get("num_cpus") or 1)
        want = cost(PRICES["normal"], cpus, seconds(j["enddate"]) -
                    seconds(j["startdate"]))
        if Decimal(j["amount"]) != want:
            bad.append("%d: charged %s, its dates give %s" %
                       (job, j["amount"], want))
        total += Decimal(j["amount"])
    moved = c.usage("fc_soak") - u0
    if moved != total:
        bad.append("usage of fc_soak moved %s, the jobs' amounts sum to %s"
                   % (moved, total))
    return bad, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=int, default=1)
    ap.add_argument("--sample-s", type=int, default=30)
    ap.add_argument("--reload-s", type=int, default=120)
    ap.add_argument("--warmup-s", type=int, default=300)
    ap.add_argument("--rss-slack", type=float, default=0.10)
    ap.add_argument("--json")
    args = ap.parse_args()

    c = Cluster(args.build, fixture=fixture()).start()
    try:
        pid = c.procs["bankd"].pid
        u0 = c.usage("fc_soak")
        samples = []
        t_start = time.time()
        jobs, refused, errors = submit_loop(
            c, args, t_start + args.minutes * 60, samples, pid)
        for job in jobs[-50:]:
            c.wait_state(job, ENDED, timeout=300)
        c.wait_drained(timeout=300)
        t_end = time.time()
        rss, fds = sample(pid)
        samples.append((int(t_end - t_start), rss, fds, len(jobs)))
        bad, total = check_charges(c, jobs, u0)
        st = c.status()
        for key in ("queued", "dead"):
            if str(st.get(key, "0")) != "0":
                bad.append("bankctl status: %s=%s" % (key, st.get(key)))
        # --json: the table ends with a "-- N hold(s)" line, which the
        # first soak took for a hold left.
        # Its total is an amount ("0.00"), as every figure bankctl shows.
        out = c.bankctl("--json", "holds").stdout
        try:
            holds = json.loads(out)
            if Decimal(holds["total"]) != 0:
                bad.append("holds left: %s" % holds["holds"][:5])
        except (ValueError, KeyError, ArithmeticError) as e:
            bad.append("bankctl --json holds: %s (%r)" % (e, out[:200]))
        warm = [s for s in samples if s[0] >= args.warmup_s]
        base = warm[0] if warm else samples[-1]
        peak = max(s[1] for s in warm) if warm else base[1]
        rss_ok = peak <= base[1] * (1 + args.rss_slack) + 1024
        fds_ok = samples[-1][2] <= base[2] + 2
        if not rss_ok:
            bad.append("RssAnon grew: %d KiB after the warm-up, %d KiB "
                       "at most later" % (base[1], peak))
        if not fds_ok:
            bad.append("descriptors grew: %d after the warm-up, %d at the "
                       "end" % (base[2], samples[-1][2]))
        print("\n| s | bankd RssAnon KiB | fds | jobs submitted |")
        print("|---|---|---|---|")
        for s in samples:
            print("| %d | %d | %d | %d |" % s)
        print("\nsoak: %.1f min, %d jobs (%d refused for funds, %d sbatch "
              "errors), %s SU charged; RssAnon %d -> peak %d KiB after the "
              "warm-up, fds %d -> %d: %s" %
              ((t_end - t_start) / 60, len(jobs), refused, errors, total,
               base[1], peak, base[2], samples[-1][2],
               "flat, every charge exact" if not bad else
               "FAILED: " + "; ".join(bad[:10])))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"minutes": (t_end - t_start) / 60,
                           "jobs": len(jobs), "samples": samples,
                           "failures": bad}, f, indent=1)
        return 1 if bad else 0
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
