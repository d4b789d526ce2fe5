"""A burst of concurrent sbatch through job_submit/bank (issue 10, finding
1), shared by tests/e2e/test_burst.py and bench/submit_burst.py.

slurmctld calls job_submit one job at a time under its locks, and
job_submit/bank waits for bankd, which may wait for the API up to
deadlines.decision_ms.  N sbatch at once therefore wait one after
another: with the API slow, the waits add up past sbatch's own message
timeout, sbatch says "Socket timed out" and exits with an error, and
slurmctld creates the job anyway a few seconds later.

burst() releases N sbatch together (a thread each, all behind one
barrier), times each, and meanwhile times squeue and scancel of separate
held jobs from another thread; then waits until slurmctld has handled
every submission and compares the jobs it has with what sbatch said.
What bankd decided, and by what (api, cache, policy...), is read from its
log (the harness runs it with -d: allows are logged at debug).
"""

import math
import pwd
import re
import subprocess
import threading
import time
from collections import Counter
from decimal import Decimal

from harness import USERS, logfmt

# 360 SU/CPU-hour x 1 CPU x 1 minute on partition normal = 6.00 SU a job.
JOB = ["-p", "normal", "-n", "1", "-t", "1"]
EACH = Decimal("6.00")
ROOM = Decimal("30.00")         # a near-limit account: room for 5 jobs
USER = "bankalice"              # who submits the burst
PROBE_USER = "bankbob"          # whose held jobs squeue/scancel touch
TIMED_OUT = "Socket timed out"
REFUSED = "job refused"

# checkverdict.c's line for every decision (bankd(8), LOGGING):
# "job=new event=decision uid=U account=A ... outcome=accept source=S":
# S is api, cache, policy, "cache (API unavailable)", "cache (submit
# budget)", price, config.  decisions() names the outcomes allow/deny.
VERDICT = {"accept": "allow", "refuse": "deny"}
# job_submit/bank letting a job through by its own policy (bankd did not
# answer within deadlines.submit_ms, or bank.yaml did not load), in
# slurmctld.log.
PLUGIN_ALLOWED = re.compile(r"job_submit/bank: (?:job from uid \d+ allowed "
                            r"without a check|.*: job from uid \d+ let "
                            r"through)")


def add_accounts(fixture, tag, cold=5):
    """Accounts of one case, added to a simulator fixture: `cold` of them
    with plenty of room (never asked about before the case), and one
    near its limit (ROOM: 5 jobs of EACH).  USER is a member of each with
    the same allocation.  Returns (cold names, near name)."""
    names = ["fc_%s_c%d" % (tag, k) for k in range(cold)]
    near = "fc_%s_near" % tag
    for name, alloc in [(n, "100000.00") for n in names] + [(near,
                                                              str(ROOM))]:
        fixture["accounts"].append({"name": name, "allocation": alloc,
                                    "usage": "0.00", "active": True})
        fixture["memberships"].append({"uid": USERS[USER],
                                       "account": name, "allocation": alloc,
                                       "usage": "0.00"})
    return names, near


def sbatch(c, user, args, script="true"):
    """One sbatch as `user` (privileges dropped in the child: cheaper and
    steadier than runuser's PAM start-up, 50 at once on 2 CPUs).
    Returns (job id or None, CompletedProcess, seconds)."""
    pw = pwd.getpwnam(user)
    argv = ["sbatch", "--parsable", "-o", "/dev/null", "-e", "/dev/null",
            "--chdir", "/tmp"] + args + ["--wrap", script]
    t0 = time.monotonic()
    r = subprocess.run(argv, env=c.env, capture_output=True, text=True,
                       user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                       cwd="/tmp", timeout=120)
    took = time.monotonic() - t0
    job = None
    if r.returncode == 0:
        try:
            job = int(r.stdout.strip().split(";")[0])
        except ValueError:
            pass
    return job, r, took


def pct(vals, p):
    """Nearest-rank percentile."""
    v = sorted(vals)
    if not v:
        return None
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def decisions(text, accounts):
    """[(verdict, source)] of bankd's decisions about these accounts, in
    the order of the log."""
    accounts = set(accounts)
    return [(VERDICT[d["outcome"]], d["source"]) for d in
            logfmt(text, event="decision") if d.get("account") in accounts
            and d.get("outcome") in VERDICT]


def jobs_of(c, user, accounts):
    """{job id: account} of the user's jobs slurmctld lists (pending or
    running), on these accounts."""
    r = c.run(["squeue", "-h", "-u", user, "-o", "%i %a"], timeout=120)
    out = {}
    for ln in r.stdout.split("\n"):
        f = ln.split()
        if len(f) == 2 and f[1] in accounts:
            out[int(f[0])] = f[1]
    return out


class Probe:
    """While the burst runs, from two other threads: squeue every 0.25 s
    from its start, and scancel of one of the held `jobs` (submitted
    beforehand, as PROBE_USER) every 0.3 s from 0.1 s in (once the
    submissions have reached slurmctld), each call timed."""

    def __init__(self, c, jobs):
        self.c = c
        self.jobs = list(jobs)
        self.squeue, self.scancel, self.errors = [], [], []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=a,
                                         daemon=True) for a in
                        ((self.squeue_once, 0, 0.25),
                         (self.scancel_once, 0.1, 0.3))]

    def timed(self, argv, into):
        t0 = time.monotonic()
        try:
            r = self.c.run(argv, timeout=120)
            if r.returncode != 0:
                self.errors.append("%s: %s" % (argv[0], r.stderr.strip()))
        except subprocess.TimeoutExpired:
            self.errors.append("%s: no answer in 120 s" % argv[0])
        into.append(time.monotonic() - t0)

    def squeue_once(self):
        self.timed(["squeue", "-h", "-u", PROBE_USER, "-o", "%i"],
                   self.squeue)

    def scancel_once(self):
        if self.jobs:
            self.timed(["scancel", str(self.jobs.pop(0))], self.scancel)

    def loop(self, once, first, every):
        # Each at least once, even after a burst shorter than `first`.
        self.done.wait(first)
        while True:
            once()
            if self.done.wait(every):
                break

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.done.set()
        for t in self.threads:
            t.join()


def probe_jobs(c, k=8):
    """k held jobs of PROBE_USER on the free partition (no API call), for
    the Probe to squeue and scancel."""
    out = []
    for _ in range(k):
        job, r, _ = sbatch(c, PROBE_USER, ["-p", "debug", "-t", "1",
                                           "--hold"])
        if job is None:
            raise RuntimeError("probe job refused: " + r.stderr)
        out.append(job)
    return out


def settle(c, accounts, n, log0, timeout=60):
    """Until slurmctld has handled every submission: bankd has logged n
    decisions about these accounts (slurmctld creates each job right
    after its check), or nothing has changed for 5 s; then 1 s more."""
    end = time.time() + timeout
    last, since = None, time.time()
    while time.time() < end:
        got = len(decisions(c.log("bankd.log")[log0:], accounts))
        if got >= n:
            break
        if got != last:
            last, since = got, time.time()
        elif time.time() - since > 5:
            break
        time.sleep(0.3)
    time.sleep(1)


def burst(c, accounts, n, held=True, script="true", probe=True):
    """n sbatch of USER at once, the i-th on accounts[i % len], each a
    6.00 SU job (JOB), held unless held=False.  Returns a dict of
    figures (times in seconds); "jobs" maps the accepted job ids to
    accounts."""
    log0 = len(c.log("bankd.log"))
    ctl0 = len(c.log("slurmctld.log"))
    pj = probe_jobs(c) if probe else []
    subs = [None] * n
    go = threading.Barrier(n + 1)
    args = JOB + (["--hold"] if held else [])

    def one(i):
        acct = accounts[i % len(accounts)]
        go.wait()
        subs[i] = (acct,) + sbatch(c, USER, ["-A", acct] + args, script)

    threads = [threading.Thread(target=one, args=(i,), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    pr = Probe(c, pj)
    go.wait()
    t0 = time.monotonic()
    pr.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    pr.finish()
    settle(c, accounts, n, log0)

    times = [s[3] for s in subs]
    accepted = {s[1]: s[0] for s in subs if s[1] is not None}
    timed_out = [s for s in subs if TIMED_OUT in s[2].stderr]
    refused = [s for s in subs if s[1] is None and REFUSED in s[2].stderr]
    other = [s[2].stderr.strip() for s in subs if s[1] is None and
             TIMED_OUT not in s[2].stderr and REFUSED not in s[2].stderr]
    have = jobs_of(c, USER, set(accounts))
    dec = decisions(c.log("bankd.log")[log0:], accounts)
    src = Counter("%s by %s" % d for d in dec)
    plugin = len(PLUGIN_ALLOWED.findall(c.log("slurmctld.log")[ctl0:]))
    return {
        "n": n,
        "burst_s": took,
        "p50_s": pct(times, 50), "p95_s": pct(times, 95),
        "max_s": max(times),
        "timed_out": len(timed_out),
        "refused": len(refused),
        "accepted": len(accepted),
        "other_errors": len(other),
        "other_messages": sorted(set(other))[:3],
        "created": len(have),
        # jobs slurmctld has that sbatch reported as failed
        "created_failed": sorted(set(have) - set(accepted)),
        # jobs sbatch reported that slurmctld does not have
        "accepted_missing": sorted(set(accepted) - set(have)),
        "decisions": len(dec),
        "sources": dict(src),
        "policy_allowed": src.get("allow by policy", 0),
        "plugin_policy": plugin,
        "squeue_max_s": max(pr.squeue) if pr.squeue else None,
        "squeue_n": len(pr.squeue),
        "scancel_max_s": max(pr.scancel) if pr.scancel else None,
        "scancel_n": len(pr.scancel),
        "probe_errors": pr.errors[:3],
        "jobs": {str(k): v for k, v in accepted.items()},
        "order": dec,
    }


def clean(c, timeout=90):
    """No jobs left of USER or PROBE_USER, and no fault in the simulator."""
    c.ctl("POST", "/faults/clear")
    for u in (USER, PROBE_USER):
        c.run(["scancel", "-u", u])
    end = time.time() + timeout
    while time.time() < end:
        r = c.run(["squeue", "-h", "-u", "%s,%s" % (USER, PROBE_USER),
                   "-o", "%i"])
        if r.returncode == 0 and not r.stdout.strip():
            return
        time.sleep(0.3)
    raise RuntimeError("jobs still queued after scancel: " + r.stdout)
