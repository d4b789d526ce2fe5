#!/usr/bin/env python3
"""bankd's log (issue 14, bankd(8) LOGGING): key=value lines, the job
first; and never the API token, even when the API (or a proxy in front
of it) echoes the token back in its error answers.

    python3 tests/e2e/test_logging.py BUILD_DIR

- a job's decision and its two deliveries are each one line whose
  figures are the ones the portal holds (amount to the cent, the HTTP
  status);
- error pages and JSON errors that quote "Authorization: Token ..." are
  provoked on every route bankd uses (the check, the start's POST, the
  completion's PUT, a 401): the token appears nowhere in bankd's log,
  in bankctl status or in the dead letter's reason, and its mask does
  (so the echo did happen: without the mask the test fails).
"""
import os
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, TOKEN, cost, logfmt  # noqa: E402

BUILD = None
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")
ECHO = "<html><p>Forbidden: Authorization: Token %s</p></html>" % TOKEN
MASK = "*" * len(TOKEN)


class Logging(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD, policy="allow").start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        self.c.ctl("POST", "/faults/clear")
        self.c.wait_drained()

    def run_job(self):
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "5"], "sleep 1")
        self.assertIsNotNone(job, r.stderr)
        return self.c.wait_state(job, ENDED, timeout=60)

    def test_a_job_is_one_decision_and_two_deliveries(self):
        mark = len(self.c.log("bankd.log"))
        j = self.run_job()
        job = int(j["JobId"])
        charged = self.c.wait_charged(job)
        self.c.wait_drained()
        want = cost(PRICES["normal"], int(j["NumCPUs"]), self.c.elapsed(j))
        self.assertEqual(Decimal(charged["amount"]), want)
        log = self.c.log("bankd.log")[mark:]
        # At submission slurmctld has no id for the job yet.
        dec = logfmt(log, event="decision", account="fc_alpha",
                     outcome="accept")
        self.assertEqual(len(dec), 1, log)
        self.assertEqual(dec[0]["job"], "new")
        self.assertEqual((dec[0]["uid"], dec[0]["partition"],
                          dec[0]["source"]), ("47001", "normal", "api"))
        self.assertEqual(Decimal(dec[0]["estimate"]),
                         cost(PRICES["normal"], 1, 5 * 60))
        # Milliseconds to the microsecond; an accept is an info line.
        self.assertRegex(dec[0]["latency_ms"], r"^\d+\.\d{3}$")
        self.assertEqual(dec[0]["level"], "info")
        # Every line of the job starts with it.
        for ln in log.splitlines():
            if "job=%d " % job in ln:
                self.assertRegex(ln, r"^bankd: (?:\w+: )?job=%d " % job)
        starts = logfmt(log, job=job, event="delivery", kind="start")
        ends = logfmt(log, job=job, event="delivery", kind="end")
        self.assertEqual([(d["outcome"], d["level"]) for d in starts],
                         [("delivered", "info")], log)
        self.assertEqual([(d["outcome"], d["run"], d["account"])
                          for d in ends], [("delivered", "0", "fc_alpha")],
                         log)
        self.assertEqual(Decimal(ends[0]["amount"]), want)
        self.assertIn(ends[0]["http"], ("200", "201"))
        self.assertEqual(ends[0]["attempt"], "1")

    def test_an_echoed_token_never_reaches_the_log(self):
        mark = len(self.c.log("bankd.log"))
        # The check: an error page quoting the token; policy decides.
        self.c.ctl("POST", "/faults", {"status": 502, "body": ECHO,
                                       "content_type": "text/html",
                                       "path_prefix": "/can_submit_job/",
                                       "count": 1})
        j = self.run_job()
        job = int(j["JobId"])
        self.c.wait_charged(job)
        self.c.wait_drained()
        # The start's POST: a 500 page with the token (a retry), then a
        # 401 whose JSON quotes it (the token path), then delivered.
        self.c.ctl("POST", "/faults", {"status": 500, "body": ECHO,
                                       "content_type": "text/html",
                                       "methods": "POST",
                                       "path_prefix": "/jobs/",
                                       "count": 1})
        j2 = self.run_job()
        self.c.wait_charged(int(j2["JobId"]))
        self.c.ctl("POST", "/faults", {
            "status": 401, "methods": "POST", "path_prefix": "/jobs/",
            "count": 1, "content_type": "application/json",
            "body": '{"detail": "Invalid token %s."}' % TOKEN})
        j3 = self.run_job()
        self.c.wait_charged(int(j3["JobId"]), timeout=60)
        # The completion's PUT: a 400 quoting it: a dead letter.
        self.c.ctl("POST", "/faults", {
            "status": 400, "methods": "PUT", "path_prefix": "/jobs/",
            "count": 1, "content_type": "application/json",
            "body": '{"detail": "header Token %s refused"}' % TOKEN})
        j4 = self.run_job()
        end = time.time() + 30
        while self.c.status()["dead"] == "0":
            self.assertLess(time.time(), end, self.c.log("bankd.log")[mark:])
            time.sleep(0.2)
        dead = self.c.bankctl("queue", "--dead").stdout
        status = self.c.bankctl("status").stdout
        # A reload reads the token file again.
        self.c.procs["bankd"].send_signal(1)
        end = time.time() + 10
        while not logfmt(self.c.log("bankd.log")[mark:], event="reload"):
            self.assertLess(time.time(), end)
            time.sleep(0.1)
        self.c.ctl("POST", "/faults/clear")
        r = self.c.bankctl("retry", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.c.wait_charged(int(j4["JobId"]))
        self.c.wait_drained()
        log = self.c.log("bankd.log")[mark:]
        # The echoes happened, and were masked.
        self.assertIn(MASK, log)
        self.assertIn(MASK, dead)
        for what, text in (("bankd.log", self.c.log("bankd.log")),
                           ("bankctl queue --dead", dead),
                           ("bankctl status", status)):
            self.assertNotIn(TOKEN, text, what)
            self.assertNotIn(TOKEN[:16], text, what)
        # The dead letter's line names it, job first, with the status.
        d = logfmt(log, job=int(j4["JobId"]), event="delivery",
                   outcome="dead")
        self.assertEqual([(x["http"], x["level"]) for x in d],
                         [("400", "error")], log)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
