"""End to end: a standby controller on one host (issue 13, item 4).

Two bankd share one state_dir, as two controllers would on shared
storage; the second has its own socket and its own copy of bank.yaml:

  - the second waits: it logs who holds state_dir/lock, and opens no
    socket while it waits; a SIGHUP meanwhile (systemctl reload) waits
    too, and reloads once it has started;
  - reports are queued on the first while the API is away, and a hold is
    placed; the first is killed with SIGKILL;
  - the second takes over within about 2 s: its socket appears, it logs
    "active: took over", `bankctl status` says role: controller, its queue
    and holds are the first's;
  - the API back, each job is charged exactly once, to the cent, and a
    resend of every report (a relay whose acknowledgement was lost) is a
    duplicate that sends nothing more;
  - a standby stopped with SIGTERM while it waits exits at once, cleanly.

    python3 tests/e2e/test_standby.py BUILD_DIR
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, cost, logfmt  # noqa: E402
from hostile_client import read_replies  # noqa: E402

BUILD = None
HDR = struct.Struct(">2sBBII")
T_CHECK, T_START, T_END = 2, 4, 5
JOBS = [998001, 998002, 998003, 998004]


def encode(typ, rid, fields):
    body = b"".join(k.encode() + b"=" + str(v).encode() + b"\n"
                    for k, v in fields)
    return HDR.pack(b"BK", 1, typ, rid, len(body)) + body


class Standby(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD).start()
        cls.now = int(time.time())

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()        # both bankd, by PID (procs), among the rest

    # ---- helpers ------------------------------------------------------
    def ask(self, sock, *frames):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(sock)
            s.sendall(b"".join(frames))
            return read_replies(s, len(frames), 10)

    def report(self, typ, job, cpus):
        f = [("job_id", job), ("uid", 47001), ("account", "fc_alpha"),
             ("partition", "normal"), ("cpus", cpus), ("nodes", "n1"),
             ("num_nodes", 1), ("submit", self.now - 10),
             ("start", self.now - 5), ("time_limit", 1)]
        if typ == T_END:
            f += [("end", self.now), ("state", "COMPLETED")]
        return encode(typ, job % 100000, f)

    def ctl2(self, *args):
        r = self.c.run([os.path.join(self.c.build, "bankctl", "bankctl"),
                        "-f", self.c.path("bank2.yaml")] + list(args))
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return json.loads(r.stdout) if args[0] == "--json" else r.stdout

    def wait(self, what, pred, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if pred():
                return time.time()
            time.sleep(0.02)
        self.fail("timed out waiting for %s; logs in %s" % (what,
                                                           self.c.dir))

    def start_second(self, n=2):
        c = self.c
        with open(c.path("bank.yaml")) as f:
            y = f.read()
        with open(c.path("bank%d.yaml" % n), "w") as f:
            f.write(y.replace(c.path("bankd.sock"),
                              c.path("bankd%d.sock" % n)))
        with open(c.path("bankd%d.log" % n), "a") as log:
            c.procs["bankd%d" % n] = subprocess.Popen(
                [os.environ.get("BANKD_BIN") or
                 os.path.join(c.build, "bankd", "bankd"), "-d", "-f",
                 c.path("bank%d.yaml" % n)], stdout=log, stderr=log,
                env=c.env)

    @staticmethod
    def holds_of(h):
        """A holds listing without the ages, which tick."""
        return [{k: v for k, v in x.items() if k != "age"}
                for x in h.get("holds", [])], h.get("total")

    # ---- the scenario -------------------------------------------------
    def test_the_standby_takes_over(self):
        c = self.c
        first = c.procs["bankd"].pid
        self.start_second()
        line = ("standby: state_dir %s is held by bankd pid %d on %s; "
                "waiting for it" % (c.path("bankd-state"), first,
                                    socket.gethostname()))
        self.wait("the standby's line", lambda: line in c.log("bankd2.log"))
        time.sleep(1.5)     # a try or two more: still waiting, said once
        self.assertEqual(c.log("bankd2.log").count("standby:"), 1)
        self.assertFalse(os.path.exists(c.path("bankd2.sock")))
        self.assertIsNone(c.procs["bankd2"].poll())
        # Nothing to reload yet: it is held back, not a crash.
        c.procs["bankd2"].send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertIsNone(c.procs["bankd2"].poll())
        self.assertEqual(logfmt(c.log("bankd2.log"), event="reload"), [])

        # The API away: the reports wait in the first's queue.
        c.ctl("POST", "/faults", {"refuse": True})
        c.ctl("POST", "/stats/reset")
        before = c.usage("fc_alpha")
        sock1 = c.path("bankd.sock")
        want = {}
        for i, job in enumerate(JOBS):
            for typ in (T_START, T_END):
                rep, = self.ask(sock1, self.report(typ, job, i + 1))
                self.assertEqual(rep["status"], "ok", rep)
            want[job] = cost(PRICES["normal"], i + 1, 5)
        chk, = self.ask(sock1, encode(T_CHECK, 77, [
            ("uid", 47001), ("account", "fc_alpha"),
            ("partitions", "normal"), ("num_tasks", 2),
            ("time_limit", 60)]))
        self.assertEqual(chk["status"], "allow", chk)
        self.assertIn("hold", chk)
        st1 = c.status()
        self.assertEqual(st1["dead"], "0")
        self.assertGreaterEqual(int(st1["queue"]), len(JOBS))
        r = c.bankctl("--json", "holds")
        self.assertEqual(r.returncode, 0, r.stderr)
        holds1 = self.holds_of(json.loads(r.stdout))
        self.assertEqual(len(holds1[0]), 1, holds1)

        # The first dies; the second takes over.
        t0 = time.time()
        c.kill9_bankd()
        took = self.wait("the second's socket", lambda: os.path.exists(
            c.path("bankd2.sock")), timeout=10) - t0
        self.assertLess(took, 2.5, "took over in %.2f s" % took)
        print("took over %.2f s after the kill" % took, file=sys.stderr)
        self.assertIn("active: took over state_dir %s" %
                      c.path("bankd-state"), c.log("bankd2.log"))
        self.wait("the held-back reload", lambda: logfmt(
            c.log("bankd2.log"), event="reload", conf=c.path("bank2.yaml")))
        st2 = self.ctl2("--json", "status")
        self.assertEqual(st2["role"], "controller")
        self.assertEqual(st2["queue"], st1["queue"])
        self.assertEqual(st2["dead"], "0")
        self.assertEqual(self.holds_of(self.ctl2("--json", "holds")), holds1)

        # The API back: each job charged once, to the cent.
        c.ctl("POST", "/faults/clear")
        self.wait("the second's queue to drain", lambda: self.ctl2(
            "--json", "status")["queue"] == "0", timeout=30)
        for job in JOBS:
            self.assertEqual(c.wait_charged(job)["amount"], str(want[job]))
        self.assertEqual(c.usage("fc_alpha") - before, sum(want.values()))
        sent = c.stats()
        # Every report again, as a relay that lost the acknowledgements.
        sock2 = c.path("bankd2.sock")
        for i, job in enumerate(JOBS):
            for typ in (T_START, T_END):
                rep, = self.ask(sock2, self.report(typ, job, i + 1))
                self.assertIn(rep["status"], ("ok", "dup"), rep)
        time.sleep(0.5)
        st2 = self.ctl2("--json", "status")
        self.assertEqual(st2["queue"], "0")
        self.assertEqual(st2["dead"], "0")
        self.assertEqual(c.stats(), sent)
        self.assertEqual(c.usage("fc_alpha") - before, sum(want.values()))

        # A third waits on the second; SIGTERM while it waits: a clean exit.
        self.start_second(3)
        self.wait("the third's line", lambda: "standby:" in
                  c.log("bankd3.log"))
        p = c.procs.pop("bankd3")
        t0 = time.time()
        p.terminate()
        self.assertEqual(p.wait(5), 0)
        self.assertLess(time.time() - t0, 2.0)
        self.assertIn("standby: stopped while waiting", c.log("bankd3.log"))
        self.assertFalse(os.path.exists(c.path("bankd3.sock")))
        self.assertEqual(self.ctl2("--json", "status")["queue"], "0")


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
