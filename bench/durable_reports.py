"""Completion reports through bankd: acknowledgement latency and backlog drain.

Starts the myBRC simulator (build/tests/sim/mybrc-sim) and bankd on loopback
and Unix sockets in a private temporary folder; no Slurm, no munge.  Each
case gets a fresh bankd (own bank.yaml, own state_dir); everything started
here is stopped by PID in `finally`.

1. Round trip of a completion report (BP_T_END -> "ok"), with bankload, for
   fsync true/false x 1/32 concurrent reporters, the simulator answering at
   once.  With bankd's journal, "ok" means the report is on disk.
2. Backlog drain: the simulator refuses connections, 100,000 END reports are
   enqueued (32 reporters), then the fault becomes a 1 ms latency and we time
   until `bankctl status` shows queue 0.  Once with the configured
   max_inflight (8), once with max_inflight 1, capped (default 60 s).
   Journal bytes per queued report and bankd's RSS (idle, 100k queued) are
   read at the 100k point.  At the end the simulator's account usage must be
   exactly reports x 0.02 SU (price 0.01 x 2 CPUs x 1 h): otherwise the
   benchmark lost reports and says so (exit status 1).

    python3 bench/durable_reports.py [--build build] [--drain-n 100000]
        [--lat-n 3000] [--lat-n32 20000] [--rounds 2] [--cap 60]
        [--no-new-keys] [--keep] [--dir PARENT] [--bankload PATH]
        [--json FILE]

--json FILE also writes the results as JSON (for bench/run).

--no-new-keys leaves state_dir/fsync/spool_dir out of bank.yaml (for a bankd
without the journal); without it they are left out automatically, with a
warning, when `bankd --check-config` refuses them.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from decimal import Decimal

TOKEN = "0123456789abcdef0123456789abcdef01234567"
UID = 47001
PRICE = "0.01"                       # SU per CPU-hour on "normal"
PER_REPORT = Decimal(PRICE) * 2      # 2 CPUs x 1 h
BIG = "100000000.00"
ACCOUNTS = ["bench_lat", "bench_drain", "bench_drain1"]


def iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fixture():
    now = time.time()
    return {
        "tokens": [{"key": TOKEN, "staff": True}],
        # Around now: bankload's jobs ran during the last hour.
        "period": {"start": iso(now - 30 * 86400),
                   "end": iso(now + 365 * 86400)},
        "users": [{"uid": UID, "username": "benchuser",
                   "email": "benchuser@example.org"}],
        "accounts": [{"name": a, "allocation": BIG, "usage": "0.00",
                      "active": True} for a in ACCOUNTS],
        "memberships": [{"uid": UID, "account": a, "allocation": BIG,
                         "usage": "0.00"} for a in ACCOUNTS],
        "partitions": [{"name": "normal", "su_per_core_hour": PRICE,
                        "shared": True, "num_nodes": 1, "num_cores": 64}],
    }


class Bench:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.build)
        self.bankd_bin = os.path.join(self.build, "bankd", "bankd")
        self.bankctl_bin = os.path.join(self.build, "bankctl", "bankctl")
        self.bankload = args.bankload or os.path.join(self.build, "bench",
                                                      "bankload")
        self.dir = tempfile.mkdtemp(prefix="bank-bench.", dir=args.dir)
        # Private copies: build/ is shared, and a rebuild during the run
        # would otherwise swap binaries between cases (or fail an exec).
        os.makedirs(self.path("bin"))
        self.sim_bin = os.path.join(self.build, "tests", "sim", "mybrc-sim")
        for attr in ("bankd_bin", "bankctl_bin", "bankload", "sim_bin"):
            src = getattr(self, attr)
            dst = self.path("bin", os.path.basename(src))
            shutil.copy2(src, dst)
            setattr(self, attr, dst)
        self.sim = None
        self.paused_lat = []
        self.bankd = None
        self.new_keys = not args.no_new_keys
        self.ncase = 0

    def path(self, *p):
        return os.path.join(self.dir, *p)

    # ---- processes ----------------------------------------------------
    def stop_sim(self):
        p, self.sim = self.sim, None
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p.stdout:
            p.stdout.close()

    def start_sim(self):
        self.stop_sim()
        with open(self.path("fixture.json"), "w") as f:
            json.dump(fixture(), f, indent=1)
        self.sim = subprocess.Popen(
            [self.sim_bin, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
             "--fixture", self.path("fixture.json"),
             "--log", self.path("sim.log")],
            stdout=subprocess.PIPE, text=True)
        line = self.sim.stdout.readline()
        m = re.search(r"api=([\d.]+:\d+) control=([\d.]+:\d+)", line)
        if not m:
            raise RuntimeError("mybrc-sim did not start: %r" % line)
        self.api_url = "http://%s/mybrc-rest" % m.group(1)
        self.ctl_url = "http://%s" % m.group(2)
        with open(self.path("token"), "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(self.path("token"), 0o600)

    def write_conf(self, name, fsync=True, max_inflight=8, new_keys=None):
        new_keys = self.new_keys if new_keys is None else new_keys
        case = self.path(name)
        os.makedirs(case, exist_ok=True)
        extra = ""
        if new_keys:
            for d in ("state", "spool"):
                os.makedirs(os.path.join(case, d), exist_ok=True)
            extra = ("state_dir: %s\nspool_dir: %s\nfsync: %s\n" %
                     (os.path.join(case, "state"),
                      os.path.join(case, "spool"),
                      "true" if fsync else "false"))
        conf = os.path.join(case, "bank.yaml")
        with open(conf, "w") as f:
            f.write(f"""# written by bench/durable_reports.py
socket: {os.path.join(case, "bankd.sock")}
{extra}api:
  url: {self.api_url}
  token_file: {self.path("token")}
  timeout_ms: 5000
  max_inflight: {max_inflight}
prices:
  default: "{PRICE}"
  partitions:
    normal: "{PRICE}"
default_time_limit: 60
deadlines:
  submit_ms: 500
  report_ms: 500
policy:
  on_api_unavailable: allow
""")
        return case, conf

    def detect_new_keys(self):
        """Does this bankd accept state_dir/fsync/spool_dir?"""
        if not self.new_keys:
            return
        _, conf = self.write_conf("probe")
        r = subprocess.run([self.bankd_bin, "--check-config", conf],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("warning: bankd refuses the journal settings (%s); "
                  "running without state_dir/fsync/spool_dir: the fsync "
                  "rows are then the same configuration" %
                  (r.stderr.strip().splitlines() or ["?"])[-1],
                  file=sys.stderr)
            self.new_keys = False

    def start_bankd(self, name, **kw):
        self.stop_bankd()
        case, conf = self.write_conf(name, **kw)
        self.case, self.sock = case, os.path.join(case, "bankd.sock")
        log = open(os.path.join(case, "bankd.log"), "a")
        self.bankd = subprocess.Popen([self.bankd_bin, "-f", conf],
                                      stdout=log, stderr=log)
        log.close()
        end = time.time() + 20
        while time.time() < end:
            if self.bankd.poll() is not None:
                raise RuntimeError("bankd exited: see %s/bankd.log" % case)
            if os.path.exists(self.sock):
                return
            time.sleep(0.02)
        raise RuntimeError("bankd never made its socket")

    def stop_bankd(self):
        p, self.bankd = self.bankd, None
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop(self):
        self.stop_bankd()
        self.stop_sim()
        if self.a.keep:
            print("kept: " + self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- probes -------------------------------------------------------
    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.ctl_url + path, data=data, method=method,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def usage(self, account):
        return Decimal(self.ctl("GET", "/balances")["accounts"][account]
                       ["usage"])

    def status(self):
        r = subprocess.run([self.bankctl_bin, "-S", self.sock, "--json",
                            "status"], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError("bankctl status: " + r.stderr.strip())
        return json.loads(r.stdout)

    @staticmethod
    def cpu_s(p):
        """User + system CPU seconds of a child process so far."""
        with open("/proc/%d/stat" % p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf(
            "SC_CLK_TCK")

    def rss_kb(self):
        with open("/proc/%d/status" % self.bankd.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def disk_bytes(self):
        n = 0
        for d in ("state", "spool"):
            for root, _, files in os.walk(os.path.join(self.case, d)):
                for fn in files:
                    try:
                        n += os.path.getsize(os.path.join(root, fn))
                    except OSError:
                        pass
        return n

    def load(self, clients, n, first_job, account, check=True):
        r = subprocess.run([self.bankload, "-S", self.sock, "-c",
                            str(clients), "-n", str(n), "-j",
                            str(first_job), "-a", account, "-u", str(UID),
                            "--type", "end"], capture_output=True,
                           text=True)
        m = dict(re.findall(r"(\w+) ([\d.]+)", r.stdout))
        if not m or (check and r.returncode != 0):
            raise RuntimeError("bankload failed (%d): %s %s" %
                               (r.returncode, r.stdout, r.stderr))
        return {k: float(v) for k, v in m.items()}

    def wait_queue_empty(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            st = self.status()
            if int(st.get("queue", "1")) == 0:
                return True
            time.sleep(0.1)
        return False

    # ---- the benchmarks -----------------------------------------------
    def latency(self):
        """(fsync, clients) -> list of bankload results, rounds interleaved."""
        cases = [(fs, c) for c in (1, 32) for fs in (True, False)]
        res = {k: [] for k in cases}
        job = 1
        for rnd in range(self.a.rounds):
            for fs, c in cases:
                n = self.a.lat_n if c == 1 else self.a.lat_n32
                self.ncase += 1
                # A fresh simulator per case: it stores every job, and an
                # older one finds them by a linear scan.
                self.stop_bankd()
                self.start_sim()
                self.start_bankd("lat%d" % self.ncase, fsync=fs)
                before = self.usage("bench_lat")
                r = self.load(c, n, job, "bench_lat")
                job += n
                # Drained before the next case, so cases do not overlap.
                if not self.wait_queue_empty(300):
                    raise RuntimeError("latency case never drained: %s" %
                                       self.status())
                got = self.usage("bench_lat") - before
                if got != PER_REPORT * n:
                    raise RuntimeError("latency case lost reports: usage "
                                       "+%s, expected +%s" %
                                       (got, PER_REPORT * n))
                res[(fs, c)].append(r)
                print("  round %d fsync=%s clients=%d: %s" %
                      (rnd + 1, fs, c, r), file=sys.stderr)
            job = self.latency_paused(job)
        self.stop_bankd()
        return res, job

    def latency_paused(self, job):
        """fsync on, 32 clients, with delivery paused while they report:
        the acknowledgement alone, without the simulator (which in
        production runs on another host) taking CPU from the same two
        cores.  Resumed afterwards, and every report must be charged."""
        n = self.a.lat_n32
        self.ncase += 1
        self.stop_bankd()
        self.start_sim()
        self.start_bankd("lat%d" % self.ncase, fsync=True)
        before = self.usage("bench_lat")
        subprocess.run([self.bankctl_bin, "-S", self.sock, "pause"],
                       check=True, capture_output=True)
        r = self.load(32, n, job, "bench_lat")
        subprocess.run([self.bankctl_bin, "-S", self.sock, "resume"],
                       check=True, capture_output=True)
        if not self.wait_queue_empty(300):
            raise RuntimeError("paused case never drained: %s" %
                               self.status())
        got = self.usage("bench_lat") - before
        if got != PER_REPORT * n:
            raise RuntimeError("paused case lost reports: usage +%s, "
                               "expected +%s" % (got, PER_REPORT * n))
        self.paused_lat.append(r)
        print("  fsync=True clients=32 delivery paused: %s" % r,
              file=sys.stderr)
        return job + n

    def drain(self, name, account, first_job, max_inflight, cap):
        n = self.a.drain_n
        # A fresh simulator: it finds a job by a linear scan of all it
        # stores, so earlier cases' jobs would slow every PUT down.
        self.start_sim()
        # Refuse before bankd starts: a connection it kept alive (curl
        # reuses them) would otherwise outlive the closed listener.
        self.ctl("POST", "/faults", {"refuse": True})
        self.start_bankd(name, fsync=True, max_inflight=max_inflight)
        time.sleep(0.5)
        out = {"rss_idle_kb": self.rss_kb()}
        before = self.usage(account)
        t0 = time.time()
        r = self.load(32, n, first_job, account)
        out["enqueue_s"] = time.time() - t0
        out["enqueue_rate"] = r["rate"]
        st = self.status()
        out["queued"] = int(st.get("queue", 0))
        out["rss_queued_kb"] = self.rss_kb()
        out["disk_bytes"] = self.disk_bytes()
        out["journal_bytes"] = int(st.get("journal_bytes", 0) or 0)
        # Clear refuse, answer after 1 ms: the drain starts now.
        d0 = int(st.get("delivered", 0))
        t0 = time.time()
        self.ctl("POST", "/faults", {"latency_ms": 1})
        cpu0 = (self.cpu_s(self.sim), self.cpu_s(self.bankd))
        first = None
        done = False
        samples = out["samples"] = []
        while True:
            st = self.status()
            now = time.time() - t0
            delivered = int(st.get("delivered", 0)) - d0
            samples.append((now, delivered))
            if first is None and delivered > 0:
                first = now
            if int(st.get("queue", 1)) == 0:
                done = True
                break
            if now > cap:
                break
            time.sleep(0.1)
        out["sim_cpu"] = (self.cpu_s(self.sim) - cpu0[0]) / now
        out["bankd_cpu"] = (self.cpu_s(self.bankd) - cpu0[1]) / now
        out["drain_s"] = now
        out["first_s"] = first
        out["delivered"] = delivered
        out["done"] = done
        out["rate"] = delivered / now if now > 0 else 0
        out["rate_after_first"] = (delivered / (now - first)
                                   if first is not None and now > first
                                   else 0)
        out["retries"] = int(st.get("retries", 0))
        got = self.usage(account) - before
        if done:
            out["usage_ok"] = got == PER_REPORT * n
            out["expected"] = "%s" % (PER_REPORT * n)
        else:
            # Stopped early and still delivering: every report charged
            # before the usage was read was delivered by the next status,
            # or is in flight there (charged, answer not yet back).
            st2 = self.status()
            hi = int(st2.get("delivered", 0)) - d0 + int(
                st2.get("inflight", 0))
            out["usage_ok"] = (PER_REPORT * delivered <= got <=
                               PER_REPORT * hi)
            out["expected"] = "%s..%s" % (PER_REPORT * delivered,
                                          PER_REPORT * hi)
        out["usage"] = got
        self.ctl("POST", "/faults/clear")
        self.stop_bankd()
        return out


def pr(label, value):
    print("%-52s %s" % (label, value))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--bankload", help="default BUILD/bench/bankload")
    ap.add_argument("--drain-n", type=int, default=100000)
    ap.add_argument("--lat-n", type=int, default=3000,
                    help="reports per round, 1 reporter")
    ap.add_argument("--lat-n32", type=int, default=20000,
                    help="reports per round, 32 reporters")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cap", type=float, default=60,
                    help="seconds before the max_inflight 1 drain stops")
    ap.add_argument("--drain-timeout", type=float, default=900,
                    help="seconds before the max_inflight 8 drain stops")
    ap.add_argument("--no-new-keys", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-drain", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--dir", help="parent of the temporary folder (the "
                    "journal's file system matters for fsync); default "
                    "$TMPDIR or /tmp")
    a = ap.parse_args()

    b = Bench(a)
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(
        os.path.getmtime(b.bankd_bin)))
    lat = drains = None
    try:
        b.start_sim()
        b.detect_new_keys()
        job = 1
        if not a.skip_latency:
            print("latency ...", file=sys.stderr)
            lat, job = b.latency()
        if not a.skip_drain:
            print("drain, max_inflight 8 ...", file=sys.stderr)
            d8 = b.drain("drain8", "bench_drain", job, 8, a.drain_timeout)
            print("  %s" % {k: v for k, v in d8.items() if k != "samples"},
              file=sys.stderr)
            job += a.drain_n
            print("drain, max_inflight 1 (cap %g s) ..." % a.cap,
                  file=sys.stderr)
            d1 = b.drain("drain1", "bench_drain1", job, 1, a.cap)
            print("  %s" % {k: v for k, v in d1.items() if k != "samples"},
              file=sys.stderr)
            drains = (d8, d1)
    finally:
        b.stop()

    fstype = subprocess.run(["stat", "-f", "-c", "%T",
                             a.dir or tempfile.gettempdir()],
                            capture_output=True, text=True).stdout.strip()
    rev = subprocess.run(["git", "-C", os.path.dirname(
        os.path.abspath(__file__)), "log", "-1", "--format=%h %s"],
        capture_output=True, text=True).stdout.strip()
    print()
    dirty = subprocess.run(["git", "-C", os.path.dirname(
        os.path.abspath(__file__)), "status", "--porcelain", "--",
        "../bankd", "../libbankproto"], capture_output=True,
        text=True).stdout.strip()
    print("bankd: %s%s (%s)" % (rev, " + uncommitted changes in bankd/ or "
                                "libbankproto/" if dirty else "",
                                "journal settings in bank.yaml"
                                if b.new_keys else
                                "state_dir/fsync/spool_dir NOT set"))
    print("binary: %s/bankd/bankd built %s" % (b.build, built))
    ok = True
    js = {"rounds": a.rounds, "drain_n": a.drain_n, "fstype": fstype,
          "journal_settings": b.new_keys, "rev": rev, "latency": [],
          "drain": None}
    if lat:
        print("completion report round trip (bankload, %d rounds "
              "interleaved; median of rounds)" % a.rounds)
        print("%-8s %8s %10s %10s %10s %12s" % ("fsync", "clients",
                                                "p50_us", "p99_us",
                                                "p999_us", "reports/s"))
        base = {}
        for (fs, c), rs in sorted(lat.items(), key=lambda kv: (kv[0][1],
                                                                 not kv[0][0])):
            med = {k: statistics.median(r[k] for r in rs)
                   for k in ("p50_us", "p99_us", "p999_us", "rate")}
            base.setdefault(c, {})[fs] = med
            js["latency"].append(dict(med, fsync=fs, clients=c))
            print("%-8s %8d %10.1f %10.1f %10.1f %12.0f" % (
                str(fs).lower() if b.new_keys else "(unset)", c,
                med["p50_us"], med["p99_us"], med["p999_us"], med["rate"]))
        if b.paused_lat:
            med = {k: statistics.median(r[k] for r in b.paused_lat)
                   for k in ("p50_us", "p99_us", "p999_us", "rate")}
            js["latency_paused"] = dict(med, fsync=True, clients=32)
            print("%-8s %8d %10.1f %10.1f %10.1f %12.0f  (delivery paused)"
                  % ("true", 32, med["p50_us"], med["p99_us"],
                     med["p999_us"], med["rate"]))
        for c, v in sorted(base.items()):
            if True in v and False in v and v[False]["p50_us"] > 0:
                print("  %d client(s): p50 fsync/no-fsync %.2fx, p99 %.2fx"
                      % (c, v[True]["p50_us"] / v[False]["p50_us"],
                         v[True]["p99_us"] / v[False]["p99_us"]))
    if drains:
        d8, d1 = drains
        n = a.drain_n
        js["drain"] = {k: {f: (str(v) if isinstance(v, Decimal) else v)
                           for f, v in d.items() if f != "samples"}
                       for k, d in (("inflight8", d8), ("inflight1", d1))}
        print()
        print("backlog of %d completion reports (enqueued with the API "
              "refusing connections)" % n)
        pr("enqueue rate, 32 reporters (reports/s)",
           "%.0f" % d8["enqueue_rate"])
        pr("queued per bankctl status at the %d point" % n, d8["queued"])
        pr("journal bytes on disk per queued report",
           "%.1f" % (d8["disk_bytes"] / n) if b.new_keys else
           "n/a (no state_dir)")
        if b.new_keys:
            pr("  (bankd's own journal_bytes per queued report)",
               "%.1f" % (d8["journal_bytes"] / n))
        pr("bankd RSS idle / %d queued (MiB)" % n, "%.1f / %.1f" % (
            d8["rss_idle_kb"] / 1024, d8["rss_queued_kb"] / 1024))
        pr("RSS growth per queued report (bytes)", "%.0f" % (
            (d8["rss_queued_kb"] - d8["rss_idle_kb"]) * 1024 / n))
        for label, d in (("max_inflight 8", d8), ("max_inflight 1", d1)):
            pr("drain %s: %s" % (label, "done" if d["done"] else
                                 "STOPPED at cap"),
               "%d delivered in %.1f s = %.0f reports/s" % (
                   d["delivered"], d["drain_s"], d["rate"]))
            pr("  first delivery after (s) / rate after it",
               "%s / %.0f reports/s" % (
                   "%.2f" % d["first_s"] if d["first_s"] is not None
                   else "never", d["rate_after_first"]))
            pr("  delivery retries counted by bankd", d["retries"])
            pr("  CPU busy during the drain: simulator / bankd",
               "%.0f%% / %.0f%%" % (d["sim_cpu"] * 100,
                                    d["bankd_cpu"] * 100))
            pr("  simulator usage vs reports x %s SU" % PER_REPORT,
               "%s vs %s: %s" % (d["usage"], d["expected"],
                                 "OK" if d["usage_ok"] else "MISMATCH"))
            ok = ok and d["usage_ok"]
        if d8["rate"] > 0 and d1["rate"] > 0:
            pr("drain rate ratio max_inflight 8 / 1 (whole drains)",
               "%.2fx" % (d8["rate"] / d1["rate"]))
        # The simulator slows as it stores more jobs: compare the same
        # first reports of each drain too.
        k = d1["delivered"]
        t8 = next((t for t, dv in d8["samples"] if dv >= k), None)
        if k > 0 and t8:
            pr("  max_inflight 8 over the same first %d reports" % k,
               "%.1f s = %.0f reports/s: ratio %.2fx" % (
                   t8, k / t8, (k / t8) / d1["rate"]))
            js["drain"]["same_first"] = {"reports": k, "s": t8,
                                         "rate": k / t8}
    print("(journal on %s; one shared machine, %d CPUs; compare rows of "
          "this run only)" % (fstype or "?", os.cpu_count()))
    js["ok"] = ok
    if a.json:
        with open(a.json, "w") as f:
            json.dump(js, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
