"""End to end: the bank's three promises under real conditions.

"Slurm never waits on the API", "no account is overdrawn" and "each job
is charged what it used", held against a slow portal, a busy controller,
a portal that answers 2xx without confirming anything or goes away and
comes back, and users who change their jobs after the check; and what
operators and users read along the way.  Found by running slurm-bank
against the real myBRC server and an independent portal (issue 10).

    python3 tests/e2e/test_promises.py BUILD_DIR
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Cluster, PRICES, cost, default_fixture,  # noqa: E402
                     logfmt)

BUILD = None
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")


def fixture():
    f = default_fixture()
    # 30.00 SU: room for five 6.00 SU jobs (1 CPU x 1 min at 360/h).
    f["accounts"].append({"name": "fc_small", "allocation": "30.00",
                          "usage": "0.00", "active": True})
    for uid in (47001, 47002):
        f["memberships"].append({"uid": uid, "account": "fc_small",
                                 "allocation": "30.00", "usage": "0.00"})
    # A long name, to see bankctl's columns hold.
    f["accounts"].append({"name": "fc_a_rather_long_project_name",
                          "allocation": "1000.00", "usage": "0.00",
                          "active": True})
    f["memberships"].append({"uid": 47001,
                             "account": "fc_a_rather_long_project_name",
                             "allocation": "1000.00", "usage": "0.00"})
    return f


class Promises(unittest.TestCase):
    cluster_args = {}

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD, fixture=fixture(), **cls.cluster_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        if "bankd" not in self.c.procs:
            self.c.start_bankd()
        self.c.ctl("POST", "/faults/clear")
        self.c.wait_drained()

    def run_job(self, user, args, script="sleep 1"):
        job, r, _ = self.c.sbatch(user, args, script)
        self.assertIsNotNone(job, r.stderr)
        return self.c.wait_state(job, ENDED, timeout=60)

    # ---- free partitions ----------------------------------------------
    def test_a_free_job_with_an_account_is_not_reported(self):
        stats = self.c.stats()
        for acct in ("fc_alpha", "fc_nosuch"):
            self.run_job("bankalice", ["-A", acct, "-p", "debug", "-t",
                                       "1"])
        st = self.c.wait_drained()
        after = self.c.stats()
        self.assertEqual((after["jobs_post"], after["jobs_put"]),
                         (stats["jobs_post"], stats["jobs_put"]))
        self.assertEqual(st["dead"], "0")
        self.assertEqual(st["holds"], "0")


    # ---- users who change their jobs -----------------------------------
    def update(self, job, *fields, user="bankalice"):
        return self.c.run(["scontrol", "update", "JobId=%d" % job] +
                          list(fields), user=user)

    def held(self, account):
        r = self.c.bankctl("--json", "holds", "-A", account)
        return json.loads(r.stdout)["total"]

    def test_a_free_job_moved_to_a_priced_partition_is_checked(self):
        # Free (no check, no hold), then moved to normal: 360 SU an hour
        # for normal's 60 minutes, on an account of 30.00.
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_small", "-p",
                                                "debug", "--hold"])
        self.assertIsNotNone(job, r.stderr)
        try:
            u = self.update(job, "Partition=normal")
            self.assertNotEqual(u.returncode, 0, u.stdout)
            self.assertIn("accounting/QOS policy", u.stderr)
            self.assertEqual(self.c.job(job)["Partition"], "debug")
            self.assertIn("update of job %d refused: job refused: account "
                          "fc_small has 30.00 SU left; this job's estimate "
                          "is 360.00 SU" % job, self.c.log("slurmctld.log"))
            self.assertEqual(self.held("fc_small"), "0.00")
        finally:
            self.c.run(["scancel", str(job)])

    def test_a_raised_time_limit_is_checked_a_lowered_one_passes(self):
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_small", "-p",
                                                "normal", "-t", "1",
                                                "--hold"])
        self.assertIsNotNone(job, r.stderr)
        try:
            self.assertEqual(self.held("fc_small"), "6.00")
            # 4 minutes: 24.00, its own 6.00 counted once: fits in 30.00.
            u = self.update(job, "TimeLimit=4")
            self.assertEqual(u.returncode, 0, u.stderr)
            self.assertEqual(self.held("fc_small"), "24.00")
            # 6 minutes: 36.00 does not fit; the job stays as it was.
            u = self.update(job, "TimeLimit=6")
            self.assertNotEqual(u.returncode, 0, u.stdout)
            self.assertEqual(self.c.job(job)["TimeLimit"], "00:04:00")
            self.assertEqual(self.held("fc_small"), "24.00")
            # Lowered: passes, and the hold shrinks.
            u = self.update(job, "TimeLimit=2")
            self.assertEqual(u.returncode, 0, u.stderr)
            self.assertEqual(self.held("fc_small"), "12.00")
        finally:
            self.c.run(["scancel", str(job)])

    def test_an_arrays_raise_is_checked_for_every_task(self):
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_small", "-p",
                                                "normal", "-t", "1",
                                                "--array=0-3", "--hold"])
        self.assertIsNotNone(job, r.stderr)
        try:
            self.assertEqual(self.held("fc_small"), "24.00")
            # 4 tasks x 2 minutes: 48.00 > 30.00.
            u = self.update(job, "TimeLimit=2")
            self.assertNotEqual(u.returncode, 0, u.stdout)
            self.assertEqual(self.held("fc_small"), "24.00")
        finally:
            self.c.run(["scancel", str(job)])

    # ---- a checkout only root can read ---------------------------------
    def test_jobs_run_from_a_checkout_only_root_can_read(self):
        # A clone under /root is mode 0700: the test users, through
        # sbatch, must not need to read anything in it.
        mode = os.stat(self.c.build).st_mode & 0o7777
        os.chmod(self.c.build, 0o700)
        try:
            j = self.run_job("bankalice", ["-A", "fc_alpha", "-p", "normal",
                                           "-n", "1", "-t", "5"])
        finally:
            os.chmod(self.c.build, mode)
        self.assertEqual(j["JobState"], "COMPLETED")

    # ---- what people read ---------------------------------------------
    def test_no_account_is_said_plainly(self):
        job, r, _ = self.c.sbatch("bankbob", ["-p", "normal", "-t", "5"])
        self.assertIsNone(job)
        self.assertIn("bank: job refused: partition normal is priced and no "
                      "account was given: submit with -A/--account "
                      "<project>", r.stderr)
        self.assertNotIn("account  ", r.stderr)

    def test_bankctl_check_gives_no_unrelated_pricing(self):
        r = self.c.bankctl("check", "bankalice", "fc_poor", "100.00")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("job refused: account fc_poor has 1.00 SU left; this "
                      "job's estimate is 100.00 SU", r.stdout)
        self.assertNotIn("CPUs x", r.stdout)

    def test_holds_columns_line_up(self):
        job, r, _ = self.c.sbatch("bankalice",
                                  ["-A", "fc_a_rather_long_project_name",
                                   "-p", "normal", "-t", "5", "--hold"])
        self.assertIsNotNone(job, r.stderr)
        try:
            out = self.c.bankctl("holds").stdout.splitlines()
            head = out[0]
            row = next(ln for ln in out if "fc_a_rather_long" in ln)
            # Each column starts where its heading does.
            for word, value in (("ACCOUNT", "fc_a_rather_long_project_name"),
                                ("AGE(s)", None)):
                if value is not None:
                    self.assertEqual(row.index(value), head.index(word), out)
            # The figures end where their headings end.
            amount_end = head.index("AMOUNT") + len("AMOUNT")
            self.assertEqual(row[:amount_end].rstrip()[-5:], "30.00", out)
            self.assertEqual(len(row), len(head), out)
        finally:
            self.c.run(["scancel", str(job)])

    def test_shutdown_is_not_an_operators_pause(self):
        def pauses():
            return len(logfmt(self.c.log("bankd.log"), event="operator",
                              action="pause"))
        n = pauses()
        self.c.stop_bankd()
        self.c.start_bankd()
        self.assertIn("signal 15: shutting down", self.c.log("bankd.log"))
        self.assertEqual(pauses(), n)


    # ---- delivered means confirmed -------------------------------------
    def test_a_2xx_that_confirms_nothing_is_retried(self):
        # A proxy's maintenance page, "200 OK", in place of the portal.
        self.c.ctl("POST", "/faults", {"status": 200, "methods": "PUT",
                                       "body": "<html>Back soon</html>",
                                       "count": 1})
        j = self.run_job("bankalice", ["-A", "fc_alpha", "-p", "normal",
                                       "-n", "1", "-t", "5"])
        charged = self.c.wait_charged(int(j["JobId"]))
        self.assertEqual(Decimal(charged["amount"]),
                         cost(PRICES["normal"], int(j["NumCPUs"]),
                              self.c.elapsed(j)))
        self.assertIn("HTTP 200 that confirms nothing: the answer is not "
                      "the portal's JSON", self.c.log("bankd.log"))

    def test_a_redirect_is_named_as_configuration(self):
        self.c.ctl("POST", "/faults", {
            "status": 301, "methods": "POST,PUT", "count": 2,
            "location": "https://portal.example.org/api/jobs/",
            "body": "<html>Moved</html>"})
        j = self.run_job("bankalice", ["-A", "fc_alpha", "-p", "normal",
                                       "-n", "1", "-t", "5"])
        self.c.wait_charged(int(j["JobId"]))
        self.assertIn("the API redirects to https://portal.example.org/api/"
                      "jobs/: api.url is not the API's own address",
                      self.c.log("bankd.log"))

    # ---- the real server -----------------------------------------------
    def test_the_probe_asks_what_every_portal_answers(self):
        # The current server has no /partitions/ (404, an HTML page).
        self.c.ctl("POST", "/faults", {"status": 404,
                                       "path_prefix": "/partitions/"})
        self.c.stop_bankd()
        self.c.start_bankd()
        time.sleep(0.5)
        st = self.c.status()
        self.assertEqual(st["api"], "reachable", st)

    def test_an_expired_token_says_what_to_do_and_a_reload_mends_it(self):
        new = "fedcba9876543210fedcba9876543210fedcba98"
        tok = self.c.path("token")
        self.c.ctl("POST", "/tokens", {"key": new, "staff": True})
        with open(tok) as f:
            old = f.read().strip()
        self.c.ctl("POST", "/tokens", {"key": old, "staff": True,
                                       "expired": True})
        try:
            job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                    "normal", "-t", "5"],
                                      "sleep 1")
            self.assertIsNotNone(job, r.stderr)
            self.c.wait_state(job, ENDED)
            end = time.time() + 20
            while "has expired" not in self.c.status().get("api_error", ""):
                self.assertLess(time.time(), end, self.c.status())
                time.sleep(0.3)
            st = self.c.status()
            self.assertIn("put it in api.token_file and run systemctl "
                          "reload bankd", st["api_error"])
            self.assertNotEqual(st["queue"], "0")
            # The operator replaces the token and reloads: no restart.
            with open(tok, "w") as f:
                f.write(new + "\n")
            os.chmod(tok, 0o600)
            self.c.procs["bankd"].send_signal(signal.SIGHUP)
            self.c.wait_charged(job)
            self.c.wait_drained()
            self.assertNotIn("has expired", self.c.status().get("api_error",
                                                                ""))
        finally:
            self.c.ctl("POST", "/tokens", {"key": new, "staff": True})


class Outages(Promises):
    """Delivery with a long backoff and a short API timeout."""
    cluster_args = {"retry_max_ms": 60000, "api_timeout_ms": 1000}

    def test_delivery_resumes_when_the_api_answers_again(self):
        log0 = self.c.log("bankd.log")
        self.c.ctl("POST", "/faults", {"refuse": True})
        jobs = [self.run_job("bankalice", ["-A", "fc_alpha", "-p", "normal",
                                           "-n", "1", "-t", "5"])
                for _ in range(3)]
        # Long enough for the backoff to reach tens of seconds.
        time.sleep(25)
        self.c.ctl("POST", "/faults/clear")
        t0 = time.time()
        self.c.wait_drained(timeout=60)
        took = time.time() - t0
        self.assertLess(took, 6, "drained %.1f s after the API came back" %
                        took)
        for j in jobs:
            self.assertEqual(Decimal(self.c.sim_job(int(j["JobId"]))
                                     ["amount"]),
                             cost(PRICES["normal"], int(j["NumCPUs"]),
                                  self.c.elapsed(j)))
        log = self.c.log("bankd.log")[len(log0):]
        # One line when it went, one when it came back: not one a try.
        self.assertEqual(log.count("the API does not take reports now"), 1)
        self.assertEqual(log.count("the API answers again after"), 1)
        tries = logfmt(log, event="delivery", outcome="retry")
        self.assertTrue(tries, "no try failed: the test saw no outage")
        self.assertEqual([d for d in tries if d["level"] != "debug"], [])

    def test_a_completion_replaces_a_start_whose_try_failed(self):
        # Every POST answered after 5 s, past api.timeout_ms (1 s): the
        # start's tries fail; the completion must not wait behind them.
        self.c.ctl("POST", "/faults", {"latency_ms": 5000,
                                       "methods": "POST"})
        try:
            # The completion comes while the start's first try hangs.
            j = self.run_job("bankalice", ["-A", "fc_alpha", "-p", "normal",
                                           "-n", "1", "-t", "5"], "true")
            t0 = time.time()
            charged = self.c.wait_charged(int(j["JobId"]), timeout=20)
            self.assertLess(time.time() - t0, 8)
        finally:
            self.c.ctl("POST", "/faults/clear")
        self.assertEqual(Decimal(charged["amount"]),
                         cost(PRICES["normal"], int(j["NumCPUs"]),
                              self.c.elapsed(j)))
        self.assertIn("its start report could not be sent; its completion "
                      "goes instead", self.c.log("bankd.log"))


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
