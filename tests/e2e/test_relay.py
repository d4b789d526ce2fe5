"""End to end: bankd in role relay (issue 13 item 1) on one host: the
harness's controller bankd with listen_tcp on a loopback port, and a
relay bankd (its own socket, state directory and spool) whose upstream is
that port.  Reports are sent to the relay's socket as root, as spank and
jobcomp would on a compute node; every charge is checked to the cent
against the API simulator.

  - a start and a completion through the relay: charged exactly once, the
    relay's answer "queued on relay HOST", its backlog back to 0;
  - the controller bankd stopped while 10 reports come in: the relay holds
    them (status backlog=10, oldest_s>0, upstream none; bankctl queue lists
    them); the controller back: every one charged once, backlog 0;
  - kill -9 of the relay while it forwards, then a restart: nothing lost,
    nothing charged twice;
  - `bankctl estimate` through the relay is the controller's answer;
  - a relay whose upstream does not answer: status=unavailable and the
    message naming what it tried; a user naming another uid: refused;
  - spool files (spank's, while the relay was down): taken in by the
    relay and forwarded, charged once.

Slurm itself is not started: the frames are the plugins'.

    python3 tests/e2e/test_relay.py BUILD_DIR
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, cost, free_port, logfmt  # noqa: E402
from hostile_client import frame, read_replies  # noqa: E402

BUILD = None
ALICE = "bankalice"
T_ESTIMATE, T_START, T_END, T_QUEUE = 3, 4, 5, 6


class RelayCluster(Cluster):
    """The harness's controller with listen_tcp, no Slurm, and relays."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.tcp_port = free_port()
        self.relays = {}        # name -> Popen

    def _write_bank_yaml(self):
        self.extra["bank"] = ("listen_tcp: 127.0.0.1:%d\nmunge_socket: %s\n"
                              % (self.tcp_port, self.munge_socket))
        super()._write_bank_yaml()

    def _start_slurm(self):
        pass        # the reports are sent by hand

    def relay_path(self, name, what):
        return self.path("%s-%s" % (name, what))

    def write_relay(self, name, upstreams, window=64):
        for d in ("state", "spool"):
            os.makedirs(self.relay_path(name, d), mode=0o755, exist_ok=True)
        ups = "".join("    - %s\n" % u for u in upstreams)
        with open(self.relay_path(name, "yaml"), "w") as f:
            f.write(f"""# a relay, written by tests/e2e/test_relay.py
role: relay
socket: {self.relay_path(name, "sock")}
state_dir: {self.relay_path(name, "state")}
spool_dir: {self.relay_path(name, "spool")}
fsync: true
munge_socket: {self.munge_socket}
relay:
  upstreams:
{ups}  timeout_ms: 1000
  window: {window}
  retry_max_ms: 400
""")

    def start_relay(self, name):
        sock = self.relay_path(name, "sock")
        try:
            os.unlink(sock)
        except FileNotFoundError:
            pass
        with open(self.relay_path(name, "log"), "a") as log:
            p = subprocess.Popen(
                [os.environ.get("BANKD_BIN") or
                 os.path.join(self.build, "bankd", "bankd"), "-d", "-f",
                 self.relay_path(name, "yaml")], stdout=log, stderr=log,
                env=self.env)
        self.relays[name] = p
        self._wait("the relay's socket", lambda: os.path.exists(sock) or
                   p.poll() is not None)
        if p.poll() is not None:
            raise RuntimeError("relay %s exited: see %s" %
                               (name, self.relay_path(name, "log")))

    def stop_relay(self, name, sig=signal.SIGTERM):
        p = self.relays.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop(self):
        for name in list(self.relays):
            self.stop_relay(name)
        super().stop()


class Relay(unittest.TestCase):
    job = 996000

    @classmethod
    def setUpClass(cls):
        cls.c = RelayCluster(BUILD, retry_max_ms=1000).start()
        print("cluster in %s" % cls.c.dir, file=sys.stderr)
        cls.ctlbin = os.path.join(cls.c.build, "bankctl", "bankctl")
        cls.c.write_relay("r1", ["127.0.0.1:%d" % cls.c.tcp_port], window=2)
        cls.c.start_relay("r1")

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        if "bankd" not in self.c.procs:
            self.c.start_bankd()
        if "r1" not in self.c.relays:
            self.c.start_relay("r1")
        self.c.wait_drained()
        self.wait_relay_empty()
        self.before = self.c.usage("fc_alpha")

    # ---- helpers ------------------------------------------------------
    def ctl(self, sock, *args, user=None):
        argv = [self.ctlbin, "-S", sock] + list(args)
        if user is not None:
            argv = ["runuser", "-u", user, "--"] + argv
        return subprocess.run(argv, env=self.c.env, capture_output=True,
                              text=True, timeout=30)

    def relay_status(self, name="r1"):
        r = self.ctl(self.c.relay_path(name, "sock"), "--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return json.loads(r.stdout)

    def wait_relay_empty(self, name="r1", timeout=30):
        end = time.time() + timeout
        while True:
            st = self.relay_status(name)
            if st["backlog"] == "0":
                return st
            self.assertLess(time.time(), end, "relay never drained: %s" % st)
            time.sleep(0.1)

    def ask(self, sock, typ, fields, as_user=None):
        """One frame on the socket, as root or (a child) as_user."""
        if as_user is not None:
            code = ("import sys, socket, json; sys.path.insert(0, %r); "
                    "from hostile_client import frame, read_replies; "
                    "s = socket.socket(socket.AF_UNIX); s.connect(%r); "
                    "s.sendall(frame(%d, 1, %r)); "
                    "print(json.dumps(read_replies(s, 1, 10)))" %
                    (os.path.dirname(os.path.abspath(__file__)), sock, typ,
                     [(k, v.encode()) for k, v in fields]))
            r = self.c.run(["python3", "-c", code], user=as_user)
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout)[0]
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(sock)
            s.sendall(frame(typ, 1, [(k, v.encode()) for k, v in fields]))
            rep, = read_replies(s, 1, 15)
            return rep

    def new_job(self, seconds=90, cpus=1):
        Relay.job += 1
        now = int(time.time())
        base = [("job_id", str(Relay.job)), ("uid", "47001"),
                ("account", "fc_alpha"), ("partition", "normal"),
                ("cpus", str(cpus)), ("nodes", "n1"), ("num_nodes", "1"),
                ("submit", str(now - seconds - 20)),
                ("start", str(now - seconds - 10)), ("time_limit", "10")]
        end = base + [("end", str(now - 10)), ("state", "COMPLETED")]
        return Relay.job, base, end, cost(PRICES["normal"], cpus, seconds)

    def report(self, typ, fields, name="r1"):
        rep = self.ask(self.c.relay_path(name, "sock"), typ, fields)
        self.assertEqual(rep["status"], "ok", rep)
        self.assertEqual(rep["message"], "queued on relay %s for the "
                         "controller" % socket.gethostname(), rep)
        return rep

    def assert_charged_once(self, costs):
        self.wait_relay_empty(timeout=60)
        self.c.wait_drained(timeout=60)
        for job, amount in costs.items():
            stored = self.c.wait_charged(job)
            self.assertEqual(Decimal(stored["amount"]), amount, "job %d" % job)
        self.assertEqual(self.c.usage("fc_alpha") - self.before,
                         sum(costs.values()))

    # ---- reports -------------------------------------------------------
    def test_a_charged_once_through_the_relay(self):
        job, start, end, amount = self.new_job(seconds=90, cpus=2)
        t0 = time.time()
        self.report(T_START, start)
        ack_ms = (time.time() - t0) * 1000
        self.report(T_END, end)
        self.assert_charged_once({job: amount})
        # The same completion again: the relay forgot it; the controller
        # answers dup, and nothing more is charged.
        self.report(T_END, end)
        self.assert_charged_once({job: amount})
        st = self.relay_status()
        self.assertEqual(st["role"], "relay")
        self.assertEqual(st["upstream"], "127.0.0.1:%d" % self.c.tcp_port)
        self.assertEqual(st["upstream_ok"], "1")
        self.assertEqual(st["dead"], "0")
        self.assertGreaterEqual(int(st["forwarded"]), 3)
        print("relay ack of a start (root, fsync, one report): %.1f ms" %
              ack_ms, file=sys.stderr)

    def test_b_controller_down_then_back(self):
        self.c.stop_bankd()
        costs, frames = {}, []
        for i in range(5):
            job, start, end, amount = self.new_job(seconds=30 + i, cpus=1)
            costs[job] = amount
            frames += [(T_START, start), (T_END, end)]
        for typ, f in frames:
            self.report(typ, f)
        time.sleep(1.1)
        st = self.relay_status()
        self.assertEqual(st["backlog"], "10", st)
        self.assertGreater(int(st["oldest_s"]), 0, st)
        self.assertEqual(st["upstream"], "none", st)
        self.assertEqual(st["upstream_ok"], "0", st)
        self.assertEqual(st["not_durable"], "0", st)
        q = self.ctl(self.c.relay_path("r1", "sock"), "queue")
        self.assertEqual(q.returncode, 0, q.stderr + q.stdout)
        listed = [ln.split() for ln in q.stdout.splitlines()[1:]
                  if ln.strip() and ln.split()[0].isdigit()]
        self.assertEqual(sorted({int(r[1]) for r in listed}), sorted(costs),
                         q.stdout)
        self.assertEqual(len(listed), 10, q.stdout)
        self.c.start_bankd()
        self.assert_charged_once(costs)

    def test_c_kill9_mid_forward(self):
        self.c.stop_bankd()
        costs = {}
        for i in range(20):
            job, start, end, amount = self.new_job(seconds=40 + i, cpus=1)
            costs[job] = amount
            self.report(T_START, start)
            self.report(T_END, end)
        self.assertEqual(self.relay_status()["backlog"], "40")
        self.c.start_bankd()
        # The relay sends two at a time: kill it as soon as some went.
        end = time.time() + 20
        while int(self.relay_status()["backlog"]) == 40:
            self.assertLess(time.time(), end, "the relay never forwarded")
            time.sleep(0.005)
        self.c.stop_relay("r1", signal.SIGKILL)
        self.c.start_relay("r1")
        held = re.findall(r"relay: (\d+) report\(s\) held from before",
                          self.c.log("r1-log"))
        self.assertTrue(held, self.c.log("r1-log"))
        # Killed mid-forward: some were sent, some were still held.
        self.assertTrue(0 < int(held[-1]) < 40, held)
        print("relay killed with %s of 40 reports unacknowledged" %
              held[-1], file=sys.stderr)
        self.assert_charged_once(costs)

    def test_f_spool_taken_in(self):
        """A report spank spooled while the relay was down: taken in by
        the relay (not by the controller), forwarded, charged once."""
        job, start, end, amount = self.new_job(seconds=60, cpus=1)
        spool = self.c.relay_path("r1", "spool")
        for kind, typ, f in (("start", T_START, start), ("end", T_END, end)):
            name = os.path.join(spool, "%020d.%09d-%s-%d-1" %
                                (time.time(), 0, kind, job))
            with open(name + ".tmp", "wb") as out:
                out.write(frame(typ, 1, [(k, v.encode()) for k, v in f]))
            os.chmod(name + ".tmp", 0o600)
            os.rename(name + ".tmp", name)
        deadline = time.time() + 20
        while os.listdir(spool):
            self.assertLess(time.time(), deadline, os.listdir(spool))
            time.sleep(0.1)
        self.assert_charged_once({job: amount})
        self.assertTrue(logfmt(self.c.log("r1-log"), job=job, event="accept",
                               kind="end", outcome="queued",
                               to="controller"), self.c.log("r1-log"))

    # ---- queries -------------------------------------------------------
    def test_d_estimate_through_the_relay(self):
        args = ["estimate", "-p", "normal", "-n", "2", "-t", "1:00:00"]
        via = self.ctl(self.c.relay_path("r1", "sock"), *args, user=ALICE)
        direct = self.ctl(self.c.path("bankd.sock"), *args, user=ALICE)
        self.assertEqual(via.returncode, 0, via.stderr + via.stdout)
        self.assertEqual(direct.returncode, 0, direct.stderr)
        self.assertIn("720.00", direct.stdout)
        self.assertEqual(via.stdout, direct.stdout)

    def test_e_no_upstream_answers(self):
        dead = free_port()
        self.c.write_relay("lonely", ["127.0.0.1:%d" % dead])
        self.c.start_relay("lonely")
        try:
            sock = self.c.relay_path("lonely", "sock")
            rep = self.ask(sock, T_ESTIMATE, [("partitions", "normal"),
                                              ("num_tasks", "2")],
                           as_user=ALICE)
            self.assertEqual(rep["status"], "unavailable", rep)
            self.assertTrue(rep["message"].startswith(
                "no controller bankd answered (tried 127.0.0.1:%d): "
                "127.0.0.1:%d: " % (dead, dead)), rep)
            # Reports are still taken: journaled, held for later.
            job, start, end, amount = self.new_job()
            self.report(T_START, start, name="lonely")
            st = self.relay_status("lonely")
            self.assertEqual(st["backlog"], "1", st)
            # Only a relay (root, slurm_user) may name another uid.
            rep = self.ask(sock, T_ESTIMATE, [("partitions", "normal"),
                                              ("peer_uid", "0"),
                                              ("peer_gid", "0")],
                           as_user=ALICE)
            self.assertEqual(rep["status"], "error", rep)
            self.assertEqual(rep["message"], "refused: only root or the "
                             "SlurmUser (a relay) may speak for another uid")
            # A user may not report through the relay either.
            rep = self.ask(sock, T_START, start, as_user=ALICE)
            self.assertEqual(rep["status"], "error", rep)
            self.assertIn("only root and the SlurmUser may report",
                          rep["message"])
            # The controller's own commands are refused by name.
            r = self.ctl(sock, "pause")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("not on a relay: ask the controller's bankd",
                          r.stdout + r.stderr)
            # (bankctl queue prints an empty table for a refusal: raw.)
            rep = self.ask(sock, T_QUEUE, [], as_user=ALICE)
            self.assertEqual(rep["status"], "error", rep)
            self.assertIn("only root and the SlurmUser may list the queue",
                          rep["message"])
        finally:
            self.c.stop_relay("lonely")


    def test_g_one_user_cannot_fill_the_relay(self):
        """An upstream that takes connections and never answers: a
        user's 70 pipelined queries wait at most limits.user_checks (4)
        at a time (their connection is not read meanwhile), so another
        user's query still gets its turn and its answer (on the old main
        alice's 70 took every place and bob had no answer within 10 s)."""
        stall = socket.socket()
        stall.bind(("127.0.0.1", 0))
        stall.listen(128)           # connects succeed; nothing is read
        self.c.write_relay("stalled", ["127.0.0.1:%d" %
                                       stall.getsockname()[1]])
        self.c.start_relay("stalled")
        sock = self.c.relay_path("stalled", "sock")
        code = ("import sys, socket, time; sys.path.insert(0, %r); "
                "from hostile_client import frame; "
                "s = socket.socket(socket.AF_UNIX); s.connect(%r); "
                "s.sendall(b''.join(frame(%d, i + 1, "
                "[(b'partitions'.decode(), b'normal')]) "
                "for i in range(70))); time.sleep(20)" %
                (os.path.dirname(os.path.abspath(__file__)), sock,
                 T_ESTIMATE))
        flood = subprocess.Popen(["runuser", "-u", ALICE, "--", "python3",
                                  "-c", code], env=self.c.env)
        try:
            time.sleep(0.5)
            t0 = time.time()
            rep = self.ask(sock, T_ESTIMATE, [("partitions", "normal")],
                           as_user="bankbob")
            took = time.time() - t0
            self.assertEqual(rep["status"], "unavailable", rep)
            self.assertIn("no controller bankd answered", rep["message"])
            # Behind at most alice's 4, on 2 threads, 1 s each.
            self.assertLess(took, 6.0)
        finally:
            flood.kill()
            flood.wait()
            self.c.stop_relay("stalled")
            stall.close()


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
