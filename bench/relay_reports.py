"""Reports through relays (issue 13): acknowledgement, intake, backlog drain.

One host, everything on loopback and Unix sockets in a private folder:
munged (own key and socket), the myBRC simulator, a controller bankd with
listen_tcp on 127.0.0.1, and relay bankds (role: relay, the controller as
their upstream), each with its own socket, state_dir and bank.yaml.  Needs
root (munged, and reports are sent as root).  Everything started here is
stopped by PID in `finally`.

1. ack: the round trip of a completion report (BP_T_END -> "ok") from one
   reporter, fsync on, with bankload: to a relay (which journals it and
   acknowledges before forwarding) and, side by side in the same run, to
   the controller's own socket.  Target: relay p99 < 2 ms.
2. intake: 4 relays each take N/4 reports while the controller bankd is
   stopped (their backlog); then the controller starts (with the API
   refusing connections, so that what is measured is the controller taking
   reports in, not the API) and we time until every relay's backlog is 0:
   reports/s the controller took in from 4 relays at once.  Target >=
   5,000/s.
3. drain: one relay holding 10,000 reports after an upstream outage; the
   controller starts with the API answering; we time until the relay's
   backlog is 0 and until the controller's queue is 0 (all charged).
At the end of 2 and 3 the simulator's usage must be exactly reports x
0.02 SU (2 CPUs x 1 h at 0.01): else reports were lost or doubled and the
benchmark says so (exit status 1).

    python3 bench/relay_reports.py [--build build] [--lat-n 3000]
        [--intake-n 20000] [--drain-n 10000] [--keep] [--json FILE]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import durable_reports as dr  # noqa: E402

RELAYS = 4


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RelayBench(dr.Bench):
    def __init__(self, args):
        args.no_new_keys = False
        args.bankload = None
        args.dir = None
        super().__init__(args)
        self.munged_pid = None
        self.relays = {}            # name -> Popen
        self.port = free_port()
        self.upstream = "127.0.0.1:%d" % self.port

    # ---- munged ---------------------------------------------------------
    def start_munge(self):
        # munged wants its socket's folder open to everyone (x).
        os.chmod(self.dir, 0o755)
        key = self.path("munge.key")
        subprocess.run(["mungekey", "-c", "-k", key], check=True,
                       stdout=subprocess.DEVNULL)
        os.chmod(key, 0o600)
        self.munge_socket = self.path("munge.sock")
        pidf = self.path("munged.pid")
        subprocess.run(["/usr/sbin/munged", "--socket", self.munge_socket,
                        "--key-file", key, "--pid-file", pidf,
                        "--log-file", self.path("munged.log"),
                        "--seed-file", self.path("munged.seed")],
                       check=True)
        end = time.time() + 10
        while not os.path.exists(pidf) and time.time() < end:
            time.sleep(0.02)
        with open(pidf) as f:
            self.munged_pid = int(f.read().strip())

    def stop_munge(self):
        if self.munged_pid:
            try:
                os.kill(self.munged_pid, 15)
            except ProcessLookupError:
                pass
            self.munged_pid = None

    # ---- the controller ---------------------------------------------------
    def write_conf(self, name, **kw):
        case, conf = super().write_conf(name, **kw)
        with open(conf, "a") as f:
            f.write("listen_tcp: %s\nmunge_socket: %s\n" %
                    (self.upstream, self.munge_socket))
        return case, conf

    def start_controller(self, name):
        self.start_bankd(name)
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("the controller never listened on tcp")

    # ---- relays -------------------------------------------------------
    def relay_sock(self, name):
        return self.path(name, "bankd.sock")

    def start_relay(self, name):
        d = self.path(name)
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        conf = os.path.join(d, "bank.yaml")
        with open(conf, "w") as f:
            f.write(f"""# written by bench/relay_reports.py
role: relay
socket: {self.relay_sock(name)}
state_dir: {os.path.join(d, "state")}
spool_dir: {os.path.join(d, "spool")}
fsync: true
munge_socket: {self.munge_socket}
relay:
  upstreams:
    - {self.upstream}
  timeout_ms: 2000
  window: 64
  retry_max_ms: 200
""")
        try:
            os.unlink(self.relay_sock(name))
        except FileNotFoundError:
            pass
        log = open(os.path.join(d, "bankd.log"), "a")
        p = subprocess.Popen([self.bankd_bin, "-f", conf], stdout=log,
                             stderr=log)
        log.close()
        self.relays[name] = p
        end = time.time() + 20
        while time.time() < end:
            if p.poll() is not None:
                raise RuntimeError("relay %s exited: see %s/bankd.log" %
                                   (name, d))
            if os.path.exists(self.relay_sock(name)):
                return
            time.sleep(0.02)
        raise RuntimeError("relay %s never made its socket" % name)

    def stop_relays(self):
        for name, p in list(self.relays.items()):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            del self.relays[name]

    def relay_status(self, name):
        r = subprocess.run([self.bankctl_bin, "-S", self.relay_sock(name),
                            "--json", "status"], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("bankctl status on %s: %s" %
                               (name, r.stderr.strip()))
        return json.loads(r.stdout)

    def backlog(self, name):
        return int(self.relay_status(name).get("backlog", "-1"))

    def load_to(self, sock, n, first_job, account, clients=1):
        saved, self.sock = self.sock, sock
        try:
            return self.load(clients, n, first_job, account)
        finally:
            self.sock = saved

    def stop(self):
        self.stop_relays()
        self.stop_munge()
        super().stop()

    # ---- the benchmarks -----------------------------------------------
    def ack(self, job):
        """Relay vs controller, one reporter, fsync on, alternating."""
        self.start_sim()
        self.start_controller("ack-ctl")
        self.start_relay("ack-relay")
        res = {"relay": [], "controller": []}
        n = self.a.lat_n
        for rnd in range(2):
            for where in ("relay", "controller"):
                sock = (self.relay_sock("ack-relay") if where == "relay"
                        else self.sock)
                r = self.load_to(sock, n, job, "bench_lat")
                job += n
                res[where].append(r)
                print("  ack round %d %s: %s" % (rnd + 1, where, r),
                      file=sys.stderr)
        self.wait_drained("ack-relay", 2 * n * 2, "bench_lat", Decimal(0))
        self.stop_relays()
        self.stop_bankd()
        return res, job

    def wait_drained(self, relay, n, account, before, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            if self.backlog(relay) == 0 and self.wait_queue_empty(1):
                break
            time.sleep(0.2)
        got = self.usage(account) - before
        if got != dr.PER_REPORT * n:
            raise RuntimeError("lost or doubled reports: usage +%s, "
                               "expected +%s" % (got, dr.PER_REPORT * n))

    def intake(self, job):
        """4 relays' backlogs into a controller whose API is down."""
        self.start_sim()
        names = ["in%d" % i for i in range(RELAYS)]
        for name in names:
            self.start_relay(name)
        per = self.a.intake_n // RELAYS
        before = self.usage("bench_drain")
        for name in names:
            self.load_to(self.relay_sock(name), per, job, "bench_drain",
                         clients=4)
            job += per
        for name in names:
            if self.backlog(name) != per:
                raise RuntimeError("relay %s holds %d, not %d" %
                                   (name, self.backlog(name), per))
        self.ctl("POST", "/faults", {"refuse": True})
        self.start_controller("in-ctl")
        t0 = time.time()
        end = t0 + 600
        while time.time() < end:
            if all(self.backlog(n) == 0 for n in names):
                break
            time.sleep(0.05)
        took = time.time() - t0
        print("  intake: %d reports from %d relays in %.2f s" %
              (per * RELAYS, RELAYS, took), file=sys.stderr)
        self.ctl("POST", "/faults/clear")
        self.wait_drained(names[0], per * RELAYS, "bench_drain", before)
        self.stop_relays()
        self.stop_bankd()
        return {"reports": per * RELAYS, "seconds": took,
                "rate": per * RELAYS / took}, job

    def drain(self, job):
        """One relay's 10,000-report backlog after an outage."""
        self.start_sim()
        self.start_relay("dr")
        n = self.a.drain_n
        before = self.usage("bench_drain1")
        self.load_to(self.relay_sock("dr"), n, job, "bench_drain1",
                     clients=4)
        job += n
        self.start_controller("dr-ctl")
        t0 = time.time()
        relay_s = None
        end = t0 + 900
        while time.time() < end:
            if relay_s is None and self.backlog("dr") == 0:
                relay_s = time.time() - t0
            if relay_s is not None and self.wait_queue_empty(1):
                break
            time.sleep(0.05)
        all_s = time.time() - t0
        self.wait_drained("dr", n, "bench_drain1", before)
        print("  drain: relay empty after %.2f s, all charged after %.2f s"
              % (relay_s or -1, all_s), file=sys.stderr)
        self.stop_relays()
        self.stop_bankd()
        return {"reports": n, "relay_s": relay_s, "charged_s": all_s}, job


def pct(rows, key):
    vals = sorted(r[key] for r in rows)
    return vals[len(vals) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--lat-n", type=int, default=3000)
    ap.add_argument("--intake-n", type=int, default=20000)
    ap.add_argument("--drain-n", type=int, default=10000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    b = RelayBench(a)
    out = {}
    try:
        b.start_munge()
        job = 1
        ack, job = b.ack(job)
        out["ack"] = {w: {"p50_us": pct(rows, "p50_us"),
                          "p99_us": pct(rows, "p99_us")}
                      for w, rows in ack.items()}
        out["intake"], job = b.intake(job)
        out["drain"], job = b.drain(job)
    finally:
        b.stop()
    print("relay ack p50 %.0f us p99 %.0f us (controller's own socket: "
          "p50 %.0f us p99 %.0f us)" % (
              out["ack"]["relay"]["p50_us"], out["ack"]["relay"]["p99_us"],
              out["ack"]["controller"]["p50_us"],
              out["ack"]["controller"]["p99_us"]))
    print("intake from %d relays: %.0f reports/s" % (
        RELAYS, out["intake"]["rate"]))
    print("drain of %d: relay empty in %.2f s, all charged in %.2f s" % (
        out["drain"]["reports"], out["drain"]["relay_s"] or -1,
        out["drain"]["charged_s"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
