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


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
