"""End to end: bankd never loses a charge and never makes Slurm wait.

Outages of the API, a slow API, bankd killed with SIGKILL mid-stream,
bankd stopped while jobs run, dead letters, a start report overtaken by
its completion, a torn journal, a damaged report body, and who may talk
to bankd.  Every scenario ends by comparing the simulator's balances with
the jobs' actual costs, computed independently from Slurm's own records.

    python3 tests/e2e/test_delivery.py BUILD_DIR
"""

import glob
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, cost, logfmt  # noqa: E402

BUILD = None
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")
ALPHA = ["-A", "fc_alpha", "-p", "normal", "-n", "1", "-t", "5"]


class Delivery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        if "bankd" not in self.c.procs:
            self.c.start_bankd()
        self.c.ctl("POST", "/faults/clear")
        self.c.wait_drained()
        self.before = self.c.usage("fc_alpha")

    def submit(self, n, script="sleep 1", user="bankalice", args=ALPHA,
               max_s=None):
        jobs = []
        for _ in range(n):
            job, r, took = self.c.sbatch(user, args, script)
            self.assertIsNotNone(job, r.stderr)
            if max_s is not None:
                self.assertLess(took, max_s, "sbatch waited %.2f s" % took)
            jobs.append(job)
        return jobs

    def actual_costs(self, jobs):
        """Each job's actual cost from Slurm's record, once it ended."""
        out = {}
        for job in jobs:
            j = self.c.wait_state(job, ENDED, timeout=120)
            out[job] = cost(PRICES["normal"], int(j["NumCPUs"]),
                            self.c.elapsed(j))
        return out

    def wait_queued_ends(self, jobs, timeout=30):
        """Until every job's completion report waits in bankd's queue."""
        end = time.time() + timeout
        while True:
            q = self.c.bankctl("queue").stdout.splitlines()
            ends = {int(ln.split()[1]) for ln in q[1:-1]
                    if ln.split()[2] == "end"}
            if set(jobs) <= ends:
                return q
            self.assertLess(time.time(), end, "%s %s\n%s" % (jobs, ends, "\n".join(q)))
            time.sleep(0.2)

    def assert_charged_exactly(self, costs):
        self.c.wait_drained(timeout=120)
        for job, amount in costs.items():
            stored = self.c.sim_job(job)
            self.assertIsNotNone(stored, "job %d never reached the API" % job)
            self.assertEqual(Decimal(stored["amount"]), amount,
                             "job %d" % job)
            self.assertTrue(stored.get("enddate"), "job %d" % job)
        self.assertEqual(self.c.usage("fc_alpha") - self.before,
                         sum(costs.values()))

    # ---- the API away ------------------------------------------------
    def test_api_down_for_the_whole_run_then_back(self):
        self.c.ctl("POST", "/faults", {"refuse": True})
        self.c.ctl("POST", "/stats/reset")
        # Submissions are decided by policy within the deadline.
        jobs = self.submit(5, max_s=1.5)
        costs = self.actual_costs(jobs)
        q = "\n".join(self.wait_queued_ends(jobs))
        self.assertIn("unreachable", q)
        self.assertEqual(sum(self.c.stats()[k] for k in ("jobs_post",
                                                        "jobs_put")), 0)
        self.c.ctl("POST", "/faults/clear")
        self.assert_charged_exactly(costs)
        self.assertIn("policy on_api_unavailable=allow",
                      self.c.log("bankd.log"))

    def test_slow_api_never_slows_sbatch(self):
        self.c.ctl("POST", "/faults", {"latency_ms": 2500})
        try:
            jobs = self.submit(3, max_s=1.5)
            costs = self.actual_costs(jobs)
            self.assertIn("no answer within decision_ms=300 ms",
                          self.c.log("bankd.log"))
            self.assert_charged_exactly(costs)
        finally:
            self.c.ctl("POST", "/faults/clear")
        # The late answer is learned for the next checks.
        self.assertTrue(logfmt(self.c.log("bankd.log"), event="learn",
                               what="late"), self.c.log("bankd.log"))

    # ---- bankd away ----------------------------------------------------
    def test_kill9_during_completions_loses_and_doubles_nothing(self):
        rnd = random.Random(2)
        # A slow API keeps reports journaled but undelivered when the
        # kills land; some are in flight, some wait, some are spooled.
        self.c.ctl("POST", "/faults", {"latency_ms": 400,
                                       "path_prefix": "/jobs/"})
        jobs = []
        for i in range(8):
            jobs += self.submit(1, script="sleep %.1f" % (0.5 + 0.4 * i))
        end = time.time() + 6
        while time.time() < end:
            time.sleep(rnd.uniform(0.3, 1.2))
            self.c.kill9_bankd()
            time.sleep(rnd.uniform(0.0, 0.8))
            self.c.start_bankd()
        costs = self.actual_costs(jobs)
        self.c.ctl("POST", "/faults/clear")
        self.assert_charged_exactly(costs)
        replayed = [int(n) for n in re.findall(r"journal \S+: (\d+) reports "
                                                r"to deliver",
                                                self.c.log("bankd.log"))]
        self.assertGreater(max(replayed), 0, "no kill hit a journaled "
                           "report: the test proved nothing")

    def test_jobs_run_while_bankd_is_stopped(self):
        self.c.stop_bankd()
        jobs = self.submit(3, max_s=2.0)
        costs = self.actual_costs(jobs)
        spooled = glob.glob(self.c.path("bank-spool") + "/[0-9]*")
        # A start and a completion for each job, waiting for bankd.
        self.assertEqual(len(spooled), 2 * len(jobs), spooled)
        self.c.start_bankd()
        self.assert_charged_exactly(costs)
        self.assertEqual(glob.glob(self.c.path("bank-spool") + "/[0-9]*"),
                         [])

    # ---- what the API refuses -----------------------------------------
    def test_refused_report_is_a_dead_letter_until_retried(self):
        self.c.stop_bankd()     # so the unknown account passes submission
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_ghost", "-p",
                                                "normal", "-n", "1", "-t",
                                                "5"], "sleep 1")
        self.assertIsNotNone(job, r.stderr)
        j = self.c.wait_state(job, ENDED)
        self.c.start_bankd()
        end = time.time() + 30
        while self.c.status()["dead"] != "1":
            self.assertLess(time.time(), end, self.c.bankctl("queue").stdout)
            time.sleep(0.2)
        dead = self.c.bankctl("queue", "--dead").stdout
        self.assertIn(" %d " % job, dead)
        self.assertIn("HTTP 400", dead)
        self.assertIn("fc_ghost", dead)
        seq = [ln.split()[0] for ln in dead.splitlines()
               if " %d " % job in ln][0]
        # Fix the portal, then let the operator send it again.
        self.c.ctl("POST", "/accounts", {"name": "fc_ghost", "allocation":
                                         "100.00", "usage": "0.00",
                                         "active": True})
        self.c.ctl("POST", "/memberships", {"uid": 47001, "account":
                                            "fc_ghost", "allocation":
                                            "100.00", "usage": "0.00"})
        r = self.c.bankctl("retry", seq)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.c.wait_drained()
        actual = cost(PRICES["normal"], int(j["NumCPUs"]), self.c.elapsed(j))
        self.assertEqual(self.c.usage("fc_ghost"), actual)
        self.assertEqual(self.c.status()["dead"], "0")

    def test_late_start_never_overwrites_the_actual_charge(self):
        # Every POST (start report) takes 4 s; the job ends before that.
        self.c.ctl("POST", "/faults", {"latency_ms": 4000,
                                       "methods": "POST"})
        try:
            jobs = self.submit(1, script="true")
            costs = self.actual_costs(jobs)
            self.assert_charged_exactly(costs)
        finally:
            self.c.ctl("POST", "/faults/clear")
        stored = self.c.sim_job(jobs[0])
        self.assertEqual(stored["jobstatus"], "COMPLETED")

    def test_corrupt_journal_tail_is_skipped_and_the_rest_delivered(self):
        self.c.ctl("POST", "/faults", {"refuse": True})
        jobs = self.submit(2, script="true")
        costs = self.actual_costs(jobs)
        self.wait_queued_ends(jobs)
        self.c.stop_bankd()
        journal = self.c.path("bankd-state/journal")
        with open(journal, "ab") as f:     # a record torn mid-write
            f.write(b"BKJ1\x00\x00\x01\x00\xde\xad\xbe\xef{\"op\":\"ad")
        self.c.start_bankd()
        self.assertIn("torn or corrupt tail", self.c.log("bankd.log"))
        self.c.ctl("POST", "/faults/clear")
        self.assert_charged_exactly(costs)

    def test_unreadable_report_body_is_a_dead_letter(self):
        # A queued report's body lives only in the journal: damage under
        # it must show as a dead letter naming the report, not vanish.
        self.c.ctl("POST", "/faults", {"refuse": True})
        jobs = self.submit(1, script="true")
        self.actual_costs(jobs)
        q = self.wait_queued_ends(jobs)
        seq = [ln.split()[0] for ln in q if " %d " % jobs[0] in ln][0]
        self.assertIn('"jobslurmid":"%d"' % jobs[0],        # read back
                      self.c.bankctl("show", seq).stdout)
        with open(self.c.path("bankd-state/journal"), "r+b") as f:
            data, off, hit = f.read(), 0, None
            while off + 12 <= len(data) and data[off:off + 4] == b"BKJ1":
                # (past the records: the zeros bankd writes ahead)
                n = struct.unpack(">I", data[off + 4:off + 8])[0]
                rec = json.loads(data[off + 12:off + 12 + n])
                if (rec.get("op") == "add" and rec.get("job") == jobs[0]
                        and rec.get("kind") == "end"):
                    hit = off + 12 + n // 2
                off += 12 + n
            self.assertIsNotNone(hit, "no add record for job %d" % jobs[0])
            f.seek(hit)
            f.write(bytes([data[hit] ^ 0x01]))      # a flipped bit
        self.c.ctl("POST", "/faults/clear")
        self.c.bankctl("retry", "--all")
        end = time.time() + 30
        while self.c.status()["dead"] != "1":
            self.assertLess(time.time(), end, self.c.bankctl("queue").stdout)
            time.sleep(0.2)
        dead = self.c.bankctl("queue", "--dead").stdout
        self.assertIn("%s " % seq, dead)
        self.assertIn("back from the journal", dead)
        self.assertIn("cannot read it back",
                      self.c.bankctl("show", seq).stdout)
        self.assertIn("charge the job by hand", self.c.log("bankd.log"))
        r = self.c.bankctl("drop", seq)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.c.wait_drained()

    # ---- who may speak -------------------------------------------------
    def test_only_root_and_slurmuser_may_report_or_steer(self):
        code = ("import socket,struct;s=socket.socket(socket.AF_UNIX);"
                "s.connect(%r);b=b'job_id=999999\\nuid=47002\\n"
                "account=fc_alpha\\ncpus=1\\nend=1\\n';"
                "s.sendall(b'BK\\x01\\x05'+struct.pack('>II',7,len(b))+b);"
                "print(s.recv(4096))" % self.c.path("bankd.sock"))
        r = self.c.run(["python3", "-c", code], user="bankbob")
        self.assertIn("permission denied", r.stdout)
        r = self.c.run([os.path.join(self.c.build, "bankctl", "bankctl"),
                        "-S", self.c.path("bankd.sock"), "pause"],
                       user="bankbob")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("permission denied", r.stdout)
        self.assertIsNone(self.c.sim_job(999999))
        self.assertEqual(self.c.status()["delivery"], "running")

    def test_systemd_is_told_when_bankd_is_ready(self):
        self.c.stop_bankd()
        path = self.c.path("notify.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(10)
        try:
            self.c.start_bankd({"NOTIFY_SOCKET": path})
            self.assertEqual(s.recv(100), b"READY=1")
            self.c.procs["bankd"].send_signal(signal.SIGTERM)
            self.assertEqual(s.recv(100), b"STOPPING=1")
            self.assertEqual(self.c.procs["bankd"].wait(10), 0)
        finally:
            s.close()
            self.c.procs.pop("bankd", None)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
