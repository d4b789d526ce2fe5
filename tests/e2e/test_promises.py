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
import subprocess
import sys
import threading
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, cost, default_fixture  # noqa: E402

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
            head, row = out[0], out[1]
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
        n = self.c.log("bankd.log").count("operator: delivery paused")
        self.c.stop_bankd()
        self.c.start_bankd()
        log = self.c.log("bankd.log")
        self.assertIn("signal 15: shutting down", log)
        self.assertEqual(log.count("operator: delivery paused"), n)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
