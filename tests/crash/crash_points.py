"""Crash bankd at every write point of a scripted workload; after each
crash restart it, resend what was not acknowledged, drain, and check
every charge to the cent (tests/crash/README.md).

    crash_points.py BUILD [--all] [--seed S] [--budget SECONDS]
                          [--points N,N,...] [--mode before|after|both]
                          [--keep] [--drop-unacked] [-v]

No Slurm: the workload speaks bankproto on bankd's socket as the plugins
do (CHECK as job_submit, START as spank, END as jobcomp, a spooled END
as a plugin that found bankd away), against the simulator (tests/sim).
bankd runs under libfailpoint.so (LD_PRELOAD), which kills it with
SIGKILL at its Nth write point (FAILPOINT_AT=N), before the call or
right after it returned (FAILPOINT_MODE).

A counting run (FAILPOINT_AT=0) gives the number of points P.  The short
form (the default; ctest's crash_points) tries every k-th point and a
random sample, both modes, within --budget seconds (75); --all tries
every point in both modes.  A failing point prints the command that
replays it: crash_points.py BUILD --points N --mode M.
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, ROUND_HALF_UP

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import TOKEN, default_fixture  # noqa: E402
import hostile_client  # noqa: E402
from hostile_client import read_replies  # noqa: E402

T_STATUS, T_CHECK, T_START, T_END, T_PAUSE, T_RESUME, T_HOLDS = \
    1, 2, 4, 5, 10, 11, 12
PRICE = Decimal("360.00")       # "normal", SU per CPU-hour
ACCOUNT, UID = "fc_alpha", 47001
# The journal compacts itself once it is 1 MiB and four times what is
# live (bankd/qstore.c); the template stops this far short of it, so
# that the workload's own records cross the line.
COMPACT_AT = 1024 * 1024
MARGIN = 6 * 1024
# The holds journal, once it is 256 KiB and 600 bytes a live hold
# (bankd/holds.c).
HOLDS_COMPACT_AT = 256 * 1024
HOLDS_MARGIN = 700
FILLER_FIRST = 800000


class Died(Exception):
    """bankd is gone (the failpoint, or a crash of its own)."""


def frame(typ, rid, fields):
    """hostile_client's frame, of values given as str or int."""
    return hostile_client.frame(typ, rid, [(k, str(v).encode())
                                           for k, v in fields])


def cost(cpus, seconds):
    c = PRICE * cpus * seconds / Decimal(3600)
    return c.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def journal_logical_size(path):
    """The journal's records end at its last non-zero byte (bankd keeps
    the file zero-filled past them; a record never ends in zero)."""
    with open(path, "rb") as f:
        data = f.read()
    return len(data.rstrip(b"\0"))


# ---- the simulator and bankd ---------------------------------------------

class Sim:
    def __init__(self, build, d):
        with open(os.path.join(d, "fixture.json"), "w") as f:
            json.dump(default_fixture(), f)
        self.p = subprocess.Popen(
            [os.path.join(build, "tests", "sim", "mybrc-sim"), "--listen",
             "127.0.0.1:0", "--control", "127.0.0.1:0", "--fixture",
             os.path.join(d, "fixture.json"), "--log",
             os.path.join(d, "sim.log")], stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.search(r"api=([\d.]+:\d+) control=([\d.]+:\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError("mybrc-sim did not start: %r" % line)
        self.api_url = "http://%s/mybrc-rest" % m.group(1)
        self.ctl_url = "http://%s" % m.group(2)

    def ctl(self, path):
        import urllib.request
        import urllib.error
        try:
            with urllib.request.urlopen(self.ctl_url + path, timeout=10) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()


def bank_yaml(d, api_url):
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o600)
    text = f"""# written by tests/crash/crash_points.py
socket: {d}/bankd.sock
state_dir: {d}/state
spool_dir: {d}/spool
fsync: true
api:
  url: {api_url}
  token_file: {tok}
  timeout_ms: 5000
  retry_max_ms: 1000
prices:
  default: "1.00"
  partitions:
    debug: "0"
    normal: "{PRICE}"
default_time_limit: 60
deadlines:
  submit_ms: 1000
  decision_ms: 800
  report_ms: 1000
policy:
  on_api_unavailable: allow
holds:
  reconcile_s: 3600
  grace_s: 30
cache:
  ttl_s: 0
"""
    with open(os.path.join(d, "bank.yaml"), "w") as f:
        f.write(text)


class Bankd:
    def __init__(self, bin_, d, shim=None, at=0, mode="before"):
        self.bin, self.d, self.p = bin_, d, None
        self.sock = os.path.join(d, "bankd.sock")
        self.shim, self.at, self.mode = shim, at, mode
        self.count_file = os.path.join(d, "points")
        self.starts = 0

    def start(self, shim):
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        env = dict(os.environ, TZ="UTC",
                   SLURM_CONF=os.path.join(self.d, "no-slurm.conf"))
        for k in ("FAILPOINT_AT", "FAILPOINT_MODE", "FAILPOINT_COUNT_FILE",
                  "LD_PRELOAD"):
            env.pop(k, None)
        if shim:
            env.update(LD_PRELOAD=self.shim, FAILPOINT_AT=str(self.at),
                       FAILPOINT_MODE=self.mode,
                       FAILPOINT_COUNT_FILE=self.count_file)
        self.starts += 1
        with open(os.path.join(self.d, "bankd.log"), "a") as log:
            self.p = subprocess.Popen([self.bin, "-d", "-f",
                                       os.path.join(self.d, "bank.yaml")],
                                      stdout=log, stderr=log, env=env)
        end = time.time() + 20
        while time.time() < end:
            if self.p.poll() is not None:
                raise Died()
            if os.path.exists(self.sock):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(self.sock)
                    s.close()
                    return
                except OSError:
                    pass
            time.sleep(0.01)
        raise RuntimeError("bankd never opened its socket")

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def wait_dead(self, timeout):
        try:
            self.p.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.terminate()
        try:
            return self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return "killed after 15 s"

    def points(self):
        """The count file: one kind per point, in order."""
        try:
            with open(self.count_file) as f:
                return [ln.strip() for ln in f.read().split("\n")
                        if ln.strip()]
        except OSError:
            return []


# ---- the workload ----------------------------------------------------------

class Run:
    """One workload against one bankd; a crash is survived as the plugins
    survive it: replies not received mean not accepted, sent again once
    bankd is back (unshimmed)."""

    def __init__(self, bankd, sim, now):
        self.b, self.sim, self.now = bankd, sim, now
        self.crashes = 0
        self.unacked = []           # reports without ok/dup, in order
        self.tokens = {}            # job -> hold token job_submit got
        self.lost_checks = 0        # checks answered by no one
        self.expected = {}          # job -> Decimal
        self.runs = {}              # job -> {run: Decimal}
        self.findings = []
        self.rid = 0
        # --drop-unacked: a client that does NOT resend, to show that the
        # checks below catch a lost charge.
        self.drop_unacked = False
        self.marks = {}

    def restart(self):
        """bankd died: start it again without the shim, resend."""
        self.crashes += 1
        if self.crashes > 1:
            raise Died()            # died again, unshimmed: a finding
        try:
            self.b.start(shim=False)
        except Died:
            self.findings.append("bankd does not start again after the "
                                 "crash (see bankd.log)")
            raise
        pending, self.unacked = self.unacked, []
        if not self.drop_unacked:
            self.reports(pending)

    def send(self, reqs, timeout=15):
        """Pipelined on one connection; replies (None where missing).
        Raises Died if bankd is gone."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ids = []
        data = b""
        for typ, fields in reqs:
            self.rid += 1
            ids.append(self.rid)
            data += frame(typ, self.rid, fields)
        try:
            s.connect(self.b.sock)
            s.sendall(data)
            reps = read_replies(s, len(reqs), timeout)
        except OSError:
            reps = []
        finally:
            s.close()
        by = {r["_id"]: r for r in reps}
        out = [by.get(i) for i in ids]
        if None in out:
            if self.b.wait_dead(5 if self.b.alive() else 0):
                raise Died()
            self.findings.append("bankd alive but did not answer %d of %d "
                                 "requests" % (out.count(None), len(out)))
        return out

    def call(self, reqs):
        """As send, surviving one crash: returns the replies received."""
        try:
            return self.send(reqs)
        except Died:
            if self.b.alive():
                raise
            self.restart()
            return None

    def admin(self, typ, fields=()):
        while True:
            reps = self.call([(typ, list(fields))])
            if reps is not None:
                return reps[0]

    def reports(self, reqs):
        """START/END reports; what is not answered ok/dup is kept for the
        resend after a restart (or sent again at once on "later")."""
        for _ in range(50):
            if not reqs:
                return
            try:
                reps = self.send(reqs)
            except Died:
                self.unacked.extend(reqs)
                self.restart()
                return
            again = []
            for rq, rep in zip(reqs, reps):
                st = rep and rep.get("status")
                if st in ("ok", "dup"):
                    continue
                if st == "error":
                    self.findings.append("report refused: %s %s" %
                                         (dict(rq[1]), rep))
                    continue
                again.append(rq)
            reqs = again
            if reqs:
                time.sleep(0.2)
        self.findings.append("reports never accepted: %s" % reqs)

    # what the plugins send -------------------------------------------------
    def check_fields(self, cpus):
        return [("uid", UID), ("account", ACCOUNT), ("partitions", "normal"),
                ("min_cpus", cpus), ("num_tasks", 1), ("min_nodes", 1),
                ("time_limit", 5), ("plugin", "job_submit")]

    def start_fields(self, job, cpus, run=0):
        f = [("job_id", job), ("uid", UID), ("account", ACCOUNT),
             ("partition", "normal"), ("qos", "normal"), ("cpus", cpus),
             ("nodes", "n1"), ("num_nodes", 1),
             ("submit", self.now - 600), ("start", self.now - 500 + run),
             ("time_limit", 5), ("run", run)]
        if job in self.tokens:
            f.append(("hold", self.tokens[job]))
        return f

    def end_fields(self, job, cpus, secs, run=0):
        start = self.now - 500 + run * 200
        f = [("job_id", job), ("uid", UID), ("account", ACCOUNT),
             ("partition", "normal"), ("qos", "normal"),
             ("state", "COMPLETED"), ("cpus", cpus), ("nodes", "n1"),
             ("num_nodes", 1), ("req_nodes", 1),
             ("submit", self.now - 600), ("start", start),
             ("end", start + secs), ("suspended", 0), ("time_limit", 5),
             ("run", run)]
        if job in self.tokens:
            f.append(("hold", self.tokens[job]))
        self.runs.setdefault(job, {})[run] = cost(cpus, secs)
        self.expected[job] = sum(self.runs[job].values())
        return f

    def checks(self, jobs):
        reqs = [(T_CHECK, self.check_fields(c)) for _, c in jobs]
        reps = self.call(reqs) or [None] * len(reqs)
        for (job, _), rep in zip(jobs, reps):
            if rep is None:
                self.lost_checks += 1       # job_submit's policy: allow
            elif rep.get("status") == "allow" and rep.get("hold"):
                self.tokens[job] = rep["hold"]
            elif rep.get("status") != "allow":
                self.findings.append("check of %d: %s" % (job, rep))

    def drain(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            st = self.admin(T_STATUS)
            if st.get("queue") == "0" and st.get("spool") == "0":
                return st
            time.sleep(0.05)
        self.findings.append("queue never drained: %s" % st)
        return st

    def workload(self, spooled):
        """The script.  Jobs 1001-1008; cpus, seconds as below."""
        jobs = {1001: (1, 50), 1002: (2, 33), 1003: (1, 71),
                1004: (1, 25), 1005: (4, 17), 1006: (2, 40),
                1007: (1, 13)}
        # job 1008: its completion was spooled while bankd was away
        # (spool_file(), before bankd started).
        self.checks([(j, jobs[j][0]) for j in sorted(jobs)])
        self.reports([(T_START, self.start_fields(j, jobs[j][0]))
                      for j in range(1001, 1007)])
        self.drain()
        # Queued, not delivered: completions while delivery is paused;
        # a start replaced by its completion; a requeued job's run 0.
        self.admin(T_PAUSE)
        self.reports([(T_END, self.end_fields(j, *jobs[j]))
                      for j in (1001, 1002, 1003)])
        self.mark("paused batch")
        self.reports([(T_START, self.start_fields(1007, 1)),
                      (T_END, self.end_fields(1007, *jobs[1007])),
                      (T_END, self.end_fields(1004, 1, 25, run=0)),
                      (T_START, self.start_fields(1004, 1, run=1))])
        self.admin(T_RESUME)
        self.drain()
        self.mark("resumed")
        self.reports([(T_END, self.end_fields(1004, 1, 60, run=1)),
                      (T_END, self.end_fields(1005, *jobs[1005])),
                      (T_END, self.end_fields(1006, *jobs[1006]))])
        # A relay's resend of an acknowledged completion: "dup".
        self.reports([(T_END, self.end_fields(1005, *jobs[1005]))])
        self.drain()

    def mark(self, name):
        """In the counting run: how many points were reached by here."""
        self.marks[name] = len(self.b.points())

    # the ledger -------------------------------------------------------------
    def verify(self):
        st = self.drain()
        for k in ("queue", "dead", "spool", "not_durable", "inflight"):
            if st.get(k, "0") != "0":
                self.findings.append("status %s=%s" % (k, st.get(k)))
        total = Decimal(0)
        for job, amount in sorted(self.expected.items()):
            j = self.sim.ctl("/jobs/%d" % job)
            total += amount
            if j is None:
                self.findings.append("job %d: never reached the API "
                                     "(expected %s)" % (job, amount))
            elif Decimal(j["amount"]) != amount or not j.get("enddate"):
                self.findings.append("job %d: charged %s enddate %s, "
                                     "expected %s" % (job, j["amount"],
                                                      j.get("enddate"),
                                                      amount))
        usage = Decimal(self.sim.ctl("/balances")["accounts"][ACCOUNT]
                        ["usage"])
        if usage != total:
            self.findings.append("usage of %s is %s, expected %s" %
                                 (ACCOUNT, usage, total))
        h = self.admin(T_HOLDS)
        given = set(self.tokens.values())
        unbound = 0
        for i in range(1, int(h.get("count", "0")) + 1):
            tok, job = h["h%d" % i].split("\t")[:2]
            if job != "0" or tok in given:
                self.findings.append("hold left: %s" % h["h%d" % i])
            else:
                unbound += 1
        if unbound > self.lost_checks:
            self.findings.append("%d unbound holds, %d checks unanswered"
                                 % (unbound, self.lost_checks))
        return self.sim.ctl("/stats")["requests"]


def spool_file(d, fields, now):
    """A completion as a plugin leaves it when bankd is away
    (libbankproto/spool.c): the frame, under its sorting name, 0600."""
    os.makedirs(os.path.join(d, "spool"), mode=0o700, exist_ok=True)
    name = "%020d.%09d-end-1-%d" % (now, 0, os.getpid())
    path = os.path.join(d, "spool", name)
    with open(path, "wb") as f:
        f.write(frame(T_END, 1, fields))
    os.chmod(path, 0o600)


# ---- one crash point -------------------------------------------------------

def one(opts, template, at, mode):
    """Returns (kind of the point reached, findings, stats, seconds)."""
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="bank-crash.")
    sim = b = None
    try:
        sim = Sim(opts.build, d)
        bank_yaml(d, sim.api_url)
        shutil.copytree(os.path.join(template, "state"),
                        os.path.join(d, "state"))
        b = Bankd(opts.bankd, d, opts.shim, at, mode)
        now = int(time.time())
        r = Run(b, sim, now)
        r.drop_unacked = opts.drop_unacked
        spooled = (3, 30)           # job 1008: cpus, seconds
        spool_file(d, r.end_fields(1008, *spooled), now)
        try:
            try:
                b.start(shim=True)
            except Died:
                r.restart()
            r.workload(spooled)
            # The end: stop it (a point may be in its shutdown), start it
            # unshimmed, and check everything.
            b.stop()
            pts = b.points()
            b.start(shim=False)
            stats = r.verify()
            b.stop()
            b.start(shim=False)         # and once more: nothing resent
            st = r.admin(T_STATUS)
            if st.get("queue") != "0" or st.get("dead") != "0":
                r.findings.append("after a clean restart: %s" % st)
            after = sim.ctl("/stats")["requests"]
            if any(after[k] != stats[k] for k in ("jobs_post", "jobs_put")):
                r.findings.append("a clean restart sent again: %s -> %s" %
                                  (stats, after))
        except Died:
            r.findings.append("bankd died without the failpoint (exit %s)"
                              % (b.p.returncode,))
            pts, stats = b.points(), {}
        kind = pts[at - 1] if 0 < at <= len(pts) else "(not reached)"
        if opts.v and at == 0:
            hist = {}
            for p in pts:
                k = " ".join(p.split()[:2])
                hist[k] = hist.get(k, 0) + 1
            print("points of the counting run:", json.dumps(hist, indent=1))
        if opts.keep and r.findings:
            print("kept", d)
            d = None
        opts.marks = r.marks
        return kind, r.findings, stats, len(pts), time.time() - t0
    finally:
        if b is not None:
            b.stop()
        if sim is not None:
            sim.stop()
        if d:
            shutil.rmtree(d, ignore_errors=True)


def make_template(opts):
    """A state_dir whose journal is MARGIN short of compacting itself:
    made-up 0.00 completions, delivered (to a simulator of its own)."""
    d = tempfile.mkdtemp(prefix="bank-crash-tpl.")
    sim = Sim(opts.build, d)
    b = Bankd(opts.bankd, d)
    try:
        bank_yaml(d, sim.api_url)
        b.start(shim=False)
        r = Run(b, sim, int(time.time()))
        journal = os.path.join(d, "state", "journal")
        holds = os.path.join(d, "state", "holds")
        job = FILLER_FIRST
        # Holds placed and released (a cost of 1 cent each), then
        # completions alone, each journal left just short of compacting.
        for path, limit, per in ((holds, HOLDS_COMPACT_AT - HOLDS_MARGIN,
                                  400),
                                 (journal, COMPACT_AT - MARGIN, 700)):
            while True:
                size = journal_logical_size(path)
                if size >= limit:
                    break
                n = max(1, min(64, (limit - size) // per))
                jobs = list(range(job, job + n))
                job += n
                if path == holds:
                    reps = r.send([(T_CHECK, r.check_fields(1) +
                                    [("cost", 1)]) for _ in jobs])
                    for j, rep in zip(jobs, reps):
                        r.tokens[j] = rep["hold"]
                r.reports([(T_END, r.end_fields(j, 1, 0)) for j in jobs])
                r.drain()
        b.stop()
        if r.findings:
            raise RuntimeError("template: %s" % r.findings)
        return d, job - FILLER_FIRST, journal_logical_size(journal), \
            journal_logical_size(holds)
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise
    finally:
        b.stop()
        sim.stop()


def choose(opts, total, rng):
    if opts.points:
        pts = [int(x) for x in opts.points.split(",")]
    elif opts.all:
        pts = list(range(1, total + 1))
    else:
        step = max(1, total // 12)
        pts = set(range(1 + rng.randrange(step), total + 1, step))
        pts |= set(rng.sample(range(1, total + 1), min(total, 12)))
        # Every point from the batch sent while paused (a start replaced
        # by its completion, a requeued run) to its delivery: where a
        # crash between the report's commit and its hold's bind left the
        # hold for ever (found by --all; reported, not fixed yet).
        pts |= set(range(opts.marks["paused batch"] + 1,
                         opts.marks["resumed"] + 1))
        pts = sorted(pts)
    modes = ["before", "after"] if opts.mode == "both" else [opts.mode]
    out = [(n, m) for n in pts for m in modes]
    if not opts.all and not opts.points:
        rng.shuffle(out)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--budget", type=float, default=75.0)
    ap.add_argument("--points")
    ap.add_argument("--mode", default="both",
                    choices=("before", "after", "both"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--drop-unacked", action="store_true",
                    help="do not resend unacknowledged reports: the checks "
                    "must then fail (a test of the test)")
    ap.add_argument("-v", action="store_true")
    opts = ap.parse_args()
    opts.build = os.path.abspath(opts.build)
    opts.bankd = os.environ.get("BANKD_BIN") or \
        os.path.join(opts.build, "bankd", "bankd")
    opts.shim = os.path.join(opts.build, "tests", "crash", "libfailpoint.so")
    for f in (opts.bankd, opts.shim):
        if not os.path.exists(f):
            sys.exit("missing " + f)
    seed = opts.seed if opts.seed is not None else \
        random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    t0 = time.time()
    template, fillers, jsize, hsize = make_template(opts)
    try:
        kind, findings, stats, total, _ = one(opts, template, 0, "before")
        if findings:
            print("the counting run itself failed:", findings)
            return 1
        print("template: %d filler completions, journal %d bytes, holds "
              "%d bytes; counting run: %d write points; API requests %s" %
              (fillers, jsize, hsize, total, stats), flush=True)
        plan = choose(opts, total, rng)
        print("trying %d crash points%s (seed %d)" %
              (len(plan), " (all, both modes)" if opts.all else "", seed),
              flush=True)
        tried, failed, kinds = 0, [], {}
        for at, mode in plan:
            if not opts.all and not opts.points and \
                    time.time() - t0 > opts.budget:
                break
            kind, findings, stats, _, secs = one(opts, template, at, mode)
            tried += 1
            op = " ".join(kind.split()[:2])
            op = re.sub(r" \d{20}\..*", " spool file", op)
            kinds[op] = kinds.get(op, 0) + 1
            if opts.v or findings:
                print("%s #%d (%s): %s %.1fs%s" % (
                    kind, at, mode, "FAILED" if findings else "exact", secs,
                    "".join("\n    " + f for f in findings)), flush=True)
            if findings:
                failed.append((at, mode, kind, findings))
        print("\n%d crash points tried of %d (x2 modes) in %.0f s; by kind:"
              % (tried, total, time.time() - t0))
        for k in sorted(kinds):
            print("  %-28s %d" % (k, kinds[k]))
        if not failed:
            print("all %d ended exact" % tried)
            return 0
        print("%d FAILED:" % len(failed))
        for at, mode, kind, findings in failed:
            print("  %s #%d (%s): %s\n    replay: python3 %s %s --points "
                  "%d --mode %s" % (kind, at, mode, "; ".join(findings),
                                    os.path.abspath(__file__), opts.build,
                                    at, mode) +
                  (" --drop-unacked" if opts.drop_unacked else ""))
        return 1
    finally:
        shutil.rmtree(template, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
