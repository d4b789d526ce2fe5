#!/usr/bin/env python3
"""Chaos across hosts (issue 15 item 3).

On the multi-host harness (tests/e2e/multihost.py: slurmctld and bankd on
ctl, a standby bankd on ctl2, slurmd and a relay on c1 and c2, a relay on
login, the API simulator on api) with real Slurm accounting (MariaDB and
slurmdbd on ctl), jobs are submitted, modified, requeued, cancelled and
completed on every host while faults are injected at random, one at a
time, each healed after a few seconds:

    bankd     kill -9 the active controller bankd (the standby takes over;
              the killed one comes back as the standby)
    failover  SIGTERM the active controller bankd (the same, gracefully)
    relay     kill -9 the relay on c1, c2 or login; restarted
    slurmctld kill -9 slurmctld; restarted from its saved state
    link      cut the cable of c1, c2, login, ctl, ctl2 or api; mended
    slow      the portal answers after 4 s
    down      the portal refuses connections
    500       the portal answers 500
    garbage   the portal answers 200 with a body that is not JSON
    disk      c2's relay's disk (its state_dir, a 2 MB tmpfs) is filled

Then every fault is healed, every job ends, and the script waits for the
drain.  The verdict, from Slurm's own records: for every job sacct knows
(one row per run, --duplicates), the portal holds the sum of its runs'
cost (price x AllocCPUS x ElapsedRaw, to the cent; a job that never ran:
nothing); each account's usage moved by exactly the sum; no dead letter,
no hold, nothing queued or spooled anywhere.  It prints the jobs, the
faults, the reports delivered, the longest backlog and the time to drain,
and exits 1 on any difference (77 where network namespaces cannot be
made).

    python3 tests/chaos/chaos.py BUILD [--seed N] [--jobs N] [--faults N]
                                       [--minutes M] [--json FILE]

The short form runs in scripts/test (ctest chaos_short); the long form's
figures are in docs/reliability.md.  The schedule (which fault, which
host, which job, how long) is drawn from the seed; the timing of what
Slurm and the daemons do with it is not, so a run is repeatable in its
faults, not to the millisecond.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import traceback
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import multihost  # noqa: E402
from harness import PRICES, cost  # noqa: E402
from multihost import MultiCluster, RELAYS, CONTROLLERS  # noqa: E402

USERS = ("bankalice", "bankbob")
ACCOUNT = "fc_alpha"
SUBMIT_HOSTS = ("login", "ctl", "c1")
FAULTS = {          # kind: weight
    "bankd": 3, "failover": 1, "relay": 3, "slurmctld": 2, "link": 3,
    "slow": 1, "down": 1, "500": 1, "garbage": 1, "disk": 1,
}
LINK_HOSTS = ("c1", "c2", "login", "ctl", "ctl2", "api")
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL",
         "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE")
FULL_DISK = "2m"


def log(msg):
    print("chaos %6.1f  %s" % (time.time() - T0, msg), file=sys.stderr,
          flush=True)


T0 = time.time()


class Chaos:
    def __init__(self, c, args):
        self.c = c
        self.args = args
        self.rng = random.Random(args.seed)
        # The workload and the faults draw from streams of their own, so
        # one's pace does not change the other's schedule.
        self.wrng = random.Random(self.rng.random())
        self.frng = random.Random(self.rng.random())
        self.lock = threading.Lock()
        self.stop_work = threading.Event()
        self.jobs = {}          # id -> what the driver knows of it
        self.counts = dict(submitted=0, refused=0, submit_failed=0,
                           modified=0, modify_refused=0, requeued=0,
                           cancelled=0, released=0, released_held=0,
                           nodes_resumed=0)
        self.faults = []        # (kind, target, t_start, t_healed)
        self.active = "ctl"
        self.backlog_max = (0, 0.0, {})
        self.errors = []
        self.notes = []         # what Slurm refused the driver, for people
        self.last_status = None

    # ---- the workload -------------------------------------------------
    def submit(self):
        r = self.wrng
        host = r.choice(SUBMIT_HOSTS)
        user = r.choice(USERS)
        cpus = r.choice((1, 1, 2))
        secs = r.randint(1, 6)
        argv = ["sbatch", "--parsable", "-o", "/dev/null", "-e",
                "/dev/null", "--chdir", "/tmp", "-A", ACCOUNT, "-p",
                "normal", "-n", str(cpus), "-t", str(r.randint(1, 3)),
                "--requeue", "--wrap", "sleep %d" % secs]
        try:
            res = self.c.run_on(host, argv, user=user, timeout=40)
        except subprocess.TimeoutExpired:
            self.counts["submit_failed"] += 1
            return
        if res.returncode == 0 and res.stdout.strip():
            job = int(res.stdout.strip().split(";")[0])
            with self.lock:
                # Twice the same id: slurmctld lost the first job in a
                # crash and gave its id again.
                self.jobs.setdefault(job, []).append(dict(
                    host=host, user=user, cpus=cpus, secs=secs,
                    at=round(time.time() - T0, 1)))
            self.counts["submitted"] += 1
        elif "cost" in res.stderr or "SU" in res.stderr:
            self.counts["refused"] += 1     # the bank said no
        else:
            self.counts["submit_failed"] += 1

    def scontrol(self, *args):
        try:
            return self.c.run_on("ctl", ["scontrol"] + list(args),
                                 timeout=30)
        except subprocess.TimeoutExpired:
            return None

    def states(self):
        """{job: (state, reason)} from squeue (None: slurmctld away)."""
        try:
            r = self.c.run_on("ctl", ["squeue", "-h", "-o", "%i %T %r"],
                              timeout=20)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        out = {}
        for ln in r.stdout.splitlines():
            f = ln.split(None, 2)
            if len(f) >= 2 and f[0].isdigit():
                out[int(f[0])] = (f[1], f[2] if len(f) > 2 else "")
        return out

    def resume_nodes(self):
        """What an operator does after the crashes: slurmd drains its
        node when a restarted slurmctld, having lost its newest jobs,
        launches one under an id the node still runs ("Duplicate
        jobid").  The driver drains no node itself: resume any."""
        try:
            r = self.c.run_on("ctl", ["sinfo", "-h", "-N", "-o", "%N|%T|%E"],
                              timeout=20)
        except subprocess.TimeoutExpired:
            return
        if r.returncode != 0:
            return
        for ln in r.stdout.splitlines():
            f = ln.split("|", 2)
            if len(f) == 3 and "drain" in f[1]:
                res = self.scontrol("update", "NodeName=" + f[0],
                                    "State=RESUME")
                if res is not None and res.returncode == 0:
                    self.counts["nodes_resumed"] += 1
                    log("node %s resumed (%s: %s)" % (f[0], f[1], f[2]))
                    self.notes.append("node %s drained by Slurm (%s), "
                                      "resumed" % (f[0], f[2]))

    def poke(self, states):
        """One modification, requeue or cancel of a job now in Slurm."""
        r = self.wrng
        pending = [j for j, (s, _) in states.items() if s == "PENDING"]
        running = [j for j, (s, _) in states.items() if s == "RUNNING"]
        what = r.random()
        if what < 0.35 and pending:
            job = r.choice(sorted(pending))
            res = self.scontrol("update", "JobId=%d" % job,
                                "TimeLimit=%d" % r.randint(1, 4))
            if res is not None and res.returncode == 0:
                self.counts["modified"] += 1
            elif res is not None:
                self.counts["modify_refused"] += 1
        elif what < 0.55 and running:
            job = r.choice(sorted(running))
            res = self.scontrol("requeue", str(job))
            if res is not None and res.returncode == 0:
                self.counts["requeued"] += 1
            elif res is not None:
                self.notes.append("requeue %d: %s" % (job,
                                                      res.stderr.strip()))
        elif what < 0.65 and (pending or running):
            job = r.choice(sorted(pending + running))
            try:
                res = self.c.run_on("ctl", ["scancel", str(job)],
                                    timeout=30)
                if res.returncode == 0:
                    self.counts["cancelled"] += 1
            except subprocess.TimeoutExpired:
                pass

    @staticmethod
    def left(states):
        """What keeps the jobs in Slurm, for the log."""
        if states is None:
            return "squeue does not answer (slurmctld away)"
        kinds = {}
        for job, (s, why) in sorted(states.items()):
            kinds.setdefault("%s/%s" % (s, why), []).append(job)
        return "; ".join("%s: %s" % (k, " ".join(map(str, v[:8])) +
                                     (" ..." if len(v) > 8 else ""))
                         for k, v in sorted(kinds.items()))

    def release(self, states, since):
        """A requeued job waits (BeginTime) for its credential's lifetime:
        let it run again, no sooner than 2 s after it is back (slurmd
        refuses a credential of the second it revoked the last run's)."""
        now = time.time()
        for job, (s, why) in states.items():
            # slurmctld holds a job whose launch failed after a requeue
            # ("launch failed requeued held"): an operator releases it.
            if s == "PENDING" and (why == "JobHeldAdmin" or
                                   "requeued held" in why):
                res = self.scontrol("release", str(job))
                if res is not None and res.returncode == 0:
                    self.counts["released_held"] += 1
                continue
            if s == "PENDING" and why == "BeginTime":
                since.setdefault(job, now)
                if now - since[job] >= 2.0:
                    res = self.scontrol("update", "JobId=%d" % job,
                                        "StartTime=now")
                    if res is not None and res.returncode == 0:
                        self.counts["released"] += 1
                        since.pop(job, None)

    def work(self):
        since = {}
        gap = self.args.minutes * 60.0 * 0.6 / max(self.args.jobs, 1)
        last_resume = time.time()
        try:
            while not self.stop_work.is_set() and \
                    self.counts["submitted"] + self.counts["refused"] + \
                    self.counts["submit_failed"] < self.args.jobs:
                self.submit()
                st = self.states()
                if st is not None:
                    self.poke(st)
                    self.release(st, since)
                if time.time() - last_resume >= 5:
                    last_resume = time.time()
                    self.resume_nodes()
                self.stop_work.wait(self.wrng.uniform(0, 2 * gap))
            # Until every job has ended: requeued ones let go again.
            t0 = last_log = time.time()
            while not self.stop_work.is_set():
                st = self.states()
                if st is not None:
                    if not st:
                        return
                    self.release(st, since)
                if time.time() - last_resume >= 5:
                    last_resume = time.time()
                    self.resume_nodes()
                if time.time() - last_log >= 60:
                    last_log = time.time()
                    log("waiting %.0f s for the jobs to end: %s" % (
                        last_log - t0, self.left(st)))
                self.stop_work.wait(1.0)
        except Exception:
            self.errors.append("workload: " + traceback.format_exc())

    # ---- the faults ---------------------------------------------------
    def other(self, host):
        return "ctl2" if host == "ctl" else "ctl"

    def fault(self, kind):
        """Inject one fault; returns (target, heal)."""
        c, r = self.c, self.frng
        if kind in ("bankd", "failover"):
            victim = self.active
            if kind == "bankd":
                c.kill9("bankd@" + victim)
            else:
                c.stop_daemon("bankd@" + victim)
            self.active = self.other(victim)

            def heal():
                c.start_bankd(victim)       # back as the standby
            return victim, heal
        if kind == "relay":
            h = r.choice(RELAYS)
            c.kill9("relay@" + h)
            return h, lambda: c.start_relay(h)
        if kind == "slurmctld":
            c.kill9_slurmctld()
            return "ctl", c.start_slurmctld
        if kind == "link":
            h = r.choice(LINK_HOSTS)
            c.link(h, up=False)
            return h, lambda: c.link(h, up=True)
        if kind in ("slow", "down", "500", "garbage"):
            body = {"slow": {"latency_ms": 4000}, "down": {"refuse": True},
                    "500": {"status": 500},
                    "garbage": {"status": 200, "garbage": True}}[kind]
            c.ctl("POST", "/faults", body)
            return "api", lambda: c.ctl("POST", "/faults/clear")
        if kind == "disk":
            path = os.path.join(c.relay_state("c2"), "filler")
            fill(path)
            return "c2", lambda: os.unlink(path)
        raise ValueError(kind)

    def inject(self):
        kinds = sorted(FAULTS)
        weights = [FAULTS[k] for k in kinds]
        span = self.args.minutes * 60.0 * 0.7
        pace = span / max(self.args.faults, 1)
        try:
            for _ in range(self.args.faults):
                if self.stop_work.is_set():
                    return
                kind = self.frng.choices(kinds, weights)[0]
                hold = self.frng.uniform(2.0, min(8.0, max(2.5, pace * 0.7)))
                t0 = time.time()
                target, heal = self.fault(kind)
                log("fault %-9s %-5s for %.1f s" % (kind, target, hold))
                self.stop_work.wait(hold)
                heal()
                self.faults.append((kind, target, t0 - T0, time.time() - T0))
                self.stop_work.wait(self.frng.uniform(0.5, max(1.0, pace -
                                                               hold)))
        except Exception:
            self.errors.append("faults: " + traceback.format_exc())

    # ---- watching -----------------------------------------------------
    def backlog(self):
        """What waits anywhere: the active controller's queue and spool,
        the relays' backlogs and spools (None where a bankctl failed)."""
        out = {}
        try:
            st = self.c.status_on(self.active)
            out[self.active] = int(st["queue"]) + int(st["spool"])
        except Exception:
            out[self.active] = None
        for h in RELAYS:
            try:
                st = self.c.status_on(h)
                out[h] = int(st["backlog"]) + int(st["spool"])
            except Exception:
                out[h] = None
        return out

    def watch(self, done):
        while not done.is_set():
            b = self.backlog()
            n = sum(v for v in b.values() if v)
            if n > self.backlog_max[0]:
                self.backlog_max = (n, time.time() - T0, b)
            done.wait(1.0)

    # ---- the end ------------------------------------------------------
    def settled(self):
        """Everything delivered: nothing queued, spooled, held or dead."""
        try:
            st = {self.active: self.c.status_on(self.active)}
            for h in RELAYS:
                st[h] = self.c.status_on(h)
        except Exception:
            return None
        a = st[self.active]
        self.last_status = st
        if a.get("role") != "controller":
            return None
        # A dead letter waits for an operator: it is counted in the
        # queue, and judged by the verdict.
        ok = a["spool"] == "0" and a["inflight"] == "0"
        for h in RELAYS:
            ok = ok and st[h]["backlog"] == "0" and st[h]["spool"] == "0"
        # A report spooled a moment ago is in no bankd's count yet.
        if not ok or self.spooled():
            return None
        if a["holds"] != "0" or a["queue"] != a["dead"]:
            # Only a dead-lettered job's hold, and its reports queued
            # behind the letter (a job's reports go in order), may stay
            # until the operator charges it by hand and drops the letter.
            dead = {d["job"] for d in self.dead_letters()}
            if any(h["job"] not in dead for h in self.holds()) or any(
                    q["job"] not in dead for q in self.bankctl_json(
                        "queue")):
                return None
        return st

    def bankctl_json(self, *args):
        r = self.c.bankctl_on(self.active, "--json", *args)
        if r.returncode != 0:
            raise AssertionError("bankctl %s: %s%s" % (args, r.stderr,
                                                       r.stdout))
        return json.loads(r.stdout)

    def dead_letters(self):
        return self.bankctl_json("queue", "--dead")

    def holds(self):
        return self.bankctl_json("holds")["holds"]

    def spooled(self):
        """Report files in any host's spool directory, as seen from here
        (ctl and ctl2 share one)."""
        dirs = [self.c.path("shared/spool")] + [
            self.c.hostdir(h, "run", "bank-spool") for h in RELAYS]
        out = []
        for d in dirs:
            try:
                out += [os.path.join(d, n) for n in os.listdir(d)]
            except FileNotFoundError:
                pass
        return out

    def wait_for(self, what, pred, timeout):
        end = time.time() + timeout
        while time.time() < end:
            v = pred()
            if v:
                return v
            time.sleep(0.5)
        raise AssertionError("timed out (%d s) waiting for %s" % (timeout,
                                                                  what))

    def find_active(self):
        for h in CONTROLLERS:
            try:
                if self.c.status_on(h).get("role") == "controller":
                    return h
            except Exception:
                pass
        return None


def fill(path):
    """Write to path until the disk is full (ENOSPC)."""
    block = b"\0" * 65536
    with open(path, "wb") as f:
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass


def sacct_runs(c, since):
    """{job: [(account, partition, cpus, elapsed_s, state, start,
    submit)]}: one entry per run, from slurmdbd."""
    r = c.run_on("ctl", ["sacct", "-n", "-P", "-X", "-D", "-a", "-S",
                         since, "--format=JobIDRaw,Account,Partition,"
                         "AllocCPUS,ElapsedRaw,State,Start,Submit"],
                 timeout=60)
    if r.returncode != 0:
        raise AssertionError("sacct: " + r.stderr)
    out = {}
    for ln in r.stdout.splitlines():
        f = ln.split("|")
        if len(f) < 8 or not f[0].isdigit():
            continue
        state = f[5].split()[0]
        out.setdefault(int(f[0]), []).append(
            (f[1], f[2], int(f[3] or 0), int(f[4] or 0), state, f[6], f[7]))
    return out


def jobs_of(rs):
    """A job id's sacct rows cut into jobs: a requeued run (REQUEUED)
    is followed by its job's next run; any other end, by another job
    under the same id."""
    out, cur = [], []
    for x in sorted(rs, key=lambda x: (x[6], x[5])):
        cur.append(x)
        if x[4] != "REQUEUED":
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def runs_cost(rs):
    return sum((cost(PRICES[x[1]], x[2], x[3]) for x in rs
                if x[5] != "Unknown" and x[3] > 0), Decimal("0.00"))


def verdict(ch, c, runs, usage0, dead):
    """The differences between the portal and Slurm's records, and what
    is known and said (reused ids, jobs slurmctld lost in a crash)."""
    bad, known = [], []
    want_sum = got_sum = Decimal("0.00")
    dead_jobs = {}
    for d in dead:
        dead_jobs.setdefault(d["job"], []).append(d)
    for job in sorted(set(runs) | set(ch.jobs)):
        rs = runs.get(job)
        stored = c.sim_job(job)
        got = Decimal(stored["amount"]) if stored else Decimal("0.00")
        got_sum += got
        if rs is None:
            bad.append("job %d: submitted (%s) but not in sacct" %
                       (job, ch.jobs[job]))
            continue
        segs = jobs_of(rs)
        seen = ch.jobs.get(job, [])
        if len(seen) > len(segs):
            # sbatch had an answer, then slurmctld crashed before it
            # saved the job or told slurmdbd: for Slurm it never was.
            known.append("job %d: given %d times by sbatch, %d in Slurm's "
                         "records: slurmctld lost %s in its crash before "
                         "it ran" % (job, len(seen), len(segs),
                                     seen[:len(seen) - len(segs)]))
        # A job slurmctld lost before it ran may have reached slurmdbd
        # (its submission): a row that never started, of no cost, beside
        # the job that then ran under the id.  Nothing to charge for it.
        ran = [sg for sg in segs if any(x[5] != "Unknown" for x in sg)]
        if len(ran) < len(segs):
            known.append("job %d: %d record(s) in sacct of a job slurmctld "
                         "lost before it ran (%s)" % (
                             job, len(segs) - len(ran),
                             [sg for sg in segs if sg not in ran]))
            segs = ran
            rs = [x for sg in ran for x in sg]
        if len(segs) > 1 or str(job) in dead_jobs:
            # One id, two jobs: slurmctld lost the first in its crash
            # and gave the id again.  The portal keys jobs by id alone:
            # the later job's reports are dead letters, to charge by
            # hand (docs/delivery.md).
            first = segs[0] if segs else []
            later = [x for sg in segs[1:] for x in sg]
            # Known, and left to the operator, when bankd said so: a
            # dead letter of cause reused_id (bankd's submit-date check,
            # or a refused PUT read back: the portal holds another job).
            # The first job's amount (an estimate, if only its start
            # came) stays at the portal until corrected by hand.
            ok = str(job) in dead_jobs and all(
                d.get("cause") == "reused_id"
                for d in dead_jobs[str(job)])
            (known if ok else bad).append(
                "job %d: id reused (%d job(s) in sacct; submissions %s): the "
                "portal holds %s (Slurm's record of the first: %s, %s); %d "
                "dead letter(s); the later job(s) cost %s, to charge by "
                "hand (%s)" % (
                    job, len(segs), seen, got, runs_cost(first),
                    "/".join(x[4] for x in first),
                    len(dead_jobs.get(str(job), [])), runs_cost(later), rs))
            want_sum += got
            continue
        live = [x for x in rs if x[4] not in ENDED + ("REQUEUED",)]
        if live:
            # slurmctld lost the job in a crash (a "runaway" in sacct):
            # no completion will come; the portal keeps what it had.
            known.append("job %d: lost by slurmctld (sacct: %s, never "
                         "ended); the portal holds %s" % (
                             job, "/".join(x[4] for x in rs), got))
            want_sum += got
            continue
        want = runs_cost(rs)
        if stored and not stored.get("enddate") and want > 0:
            bad.append("job %d: no completion at the portal: %s" %
                       (job, stored))
        if got != want:
            bad.append("job %d: portal %s, Slurm's record %s (runs %s)" %
                       (job, got, want, rs))
        want_sum += want
    for job in dead_jobs:
        if not job.isdigit() or int(job) not in runs:
            bad.append("dead letter of job %s, unknown to Slurm: %s" % (
                job, dead_jobs[job]))
    moved = c.usage(ACCOUNT) - usage0
    if moved != got_sum:
        bad.append("usage of %s moved %s, its jobs hold %s" % (
            ACCOUNT, moved, got_sum))
    return bad, known, want_sum, moved


def sacct_records(c, since, settle_s=10, timeout=90):
    """sacct once slurmdbd has every job's end, or once its answer has
    not changed for settle_s (a job slurmctld lost never ends there)."""
    end = time.time() + timeout
    last, same_since = None, time.time()
    while True:
        rs = sacct_runs(c, since)
        if all(x[4] in ENDED + ("REQUEUED",) for v in rs.values()
               for x in v):
            return rs
        if rs != last:
            last, same_since = rs, time.time()
        if time.time() - same_since >= settle_s or time.time() > end:
            return rs
        time.sleep(1)


def run(args):
    why = multihost.netns_possible()
    if why is not None:
        print("SKIPPED chaos: network namespaces cannot be made here: " +
              why, file=sys.stderr)
        return 77
    c = MultiCluster(args.build, accounting=True,
                     small_disk={"c2": FULL_DISK}, reconcile_s=5,
                     grace_s=10)
    c.start()
    ch = Chaos(c, args)
    report = {"seed": args.seed}
    try:
        log("hosts up (seed %d): %d jobs, %d faults, %.1f min" % (
            args.seed, args.jobs, args.faults, args.minutes))
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(
            time.time() - 5))
        usage0 = c.usage(ACCOUNT)
        c.ctl("POST", "/stats/reset")
        done = threading.Event()
        threads = [threading.Thread(target=ch.work),
                   threading.Thread(target=ch.inject),
                   threading.Thread(target=ch.watch, args=(done,))]
        for t in threads:
            t.start()
        threads[1].join()           # the faults, every one healed
        t_healed = time.time()
        log("faults over; waiting for the jobs to end")
        threads[0].join(timeout=args.minutes * 60 + 600)
        if threads[0].is_alive():
            ch.stop_work.set()
            threads[0].join()
            ch.errors.append("jobs still in Slurm at the end: %s" %
                             ch.states())
        t_jobs = time.time()
        ch.active = ch.find_active() or ch.active
        try:
            st = ch.wait_for("the drain", ch.settled, timeout=300)
        except AssertionError:
            ch.errors.append("never drained; last status %s" % json.dumps(
                ch.last_status))
            raise
        t_drained = time.time()
        done.set()
        threads[2].join()
        # slurmdbd may get a restarted slurmctld's records late.
        runs = sacct_records(c, since)
        dead = ch.dead_letters()
        bad, known, want, moved = verdict(ch, c, runs, usage0, dead)
        for h in RELAYS:
            if st[h].get("dead", "0") != "0":
                bad.append("dead letters on %s: %s" % (h, st[h]["dead"]))
        stats = c.stats()
        n_runs = sum(len(v) for v in runs.values())
        report.update(
            jobs=dict(ch.counts, in_sacct=len(runs), runs=n_runs,
                      charged=sum(1 for j in runs if c.sim_job(j))),
            faults=[dict(kind=k, target=t, at_s=round(a, 1),
                         healed_s=round(b, 1)) for k, t, a, b in ch.faults],
            delivered=dict(posts=stats.get("jobs_post"),
                           puts=stats.get("jobs_put")),
            charged_su=str(moved), expected_su=str(want),
            longest_backlog=dict(reports=ch.backlog_max[0],
                                 at_s=round(ch.backlog_max[1], 1),
                                 where=ch.backlog_max[2]),
            jobs_end_after_faults_s=round(t_jobs - t_healed, 1),
            drain_s=round(t_drained - t_jobs, 1),
            total_s=round(time.time() - T0, 1),
            active_at_end=ch.active, differences=bad, known=known,
            dead_letters=len(dead), errors=ch.errors,
            notes=ch.notes)
    except BaseException:
        report["errors"] = ch.errors + [traceback.format_exc()]
        report["differences"] = report.get("differences", ["(no verdict)"])
        raise
    finally:
        ch.stop_work.set()
        print_report(report)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
        c.stop()
    return 1 if report["differences"] or report["errors"] else 0


def print_report(rp):
    out = sys.stdout
    print("\n== chaos, seed %s ==" % rp.get("seed"), file=out)
    j = rp.get("jobs")
    if j:
        print("jobs:      %(submitted)d submitted (%(refused)d refused by the"
              " bank, %(submit_failed)d sbatch failures), %(modified)d "
              "modified (%(modify_refused)d refused), %(requeued)d "
              "requeued, %(cancelled)d cancelled, %(released_held)d released from "
              "a hold, %(nodes_resumed)d drained nodes resumed; sacct: %(in_sacct)d jobs,"
              " %(runs)d runs; %(charged)d charged at the portal" % j,
              file=out)
    fl = rp.get("faults") or []
    kinds = {}
    for f in fl:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    print("faults:    %d (%s)" % (len(fl), ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items()))), file=out)
    if "delivered" in rp:
        d = rp["delivered"]
        print("delivered: %s POSTs, %s PUTs at the portal; charged %s SU, "
              "Slurm's records say %s SU" % (d["posts"], d["puts"],
                                             rp["charged_su"],
                                             rp["expected_su"]), file=out)
        b = rp["longest_backlog"]
        print("backlog:   longest %d reports waiting (at %.1f s: %s)" % (
            b["reports"], b["at_s"], b["where"]), file=out)
        print("drain:     jobs ended %.1f s after the last fault; "
              "everything delivered %.1f s later; total %.1f s" % (
                  rp["jobs_end_after_faults_s"], rp["drain_s"],
                  rp["total_s"]), file=out)
    for k in rp.get("known") or []:
        print("known:     " + k, file=out)
    for d in rp.get("differences") or []:
        print("DIFFERENCE " + d, file=out)
    for n in (rp.get("notes") or [])[:10]:
        print("note:      " + n, file=out)
    for e in rp.get("errors") or []:
        print("ERROR " + e, file=out)
    ok = not rp.get("differences") and not rp.get("errors")
    print("verdict:   %s" % ("every charge equals Slurm's record" if ok
                             else "FAILED"), file=out, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=40)
    ap.add_argument("--faults", type=int, default=12)
    ap.add_argument("--minutes", type=float, default=2.5)
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    for name, v, hi in (("--jobs", args.jobs, 5000),
                        ("--faults", args.faults, 2000),
                        ("--minutes", args.minutes, 600)):
        if not 0 < v <= hi:
            ap.error("%s must be in 1..%d" % (name, hi))
    args.build = os.path.abspath(args.build)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
