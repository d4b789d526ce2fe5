"""End to end: what users see, unprivileged, on the real Slurm.

  - `bankctl balance -A ACCOUNT` as a non-root user: the account's and
    the user's allocation, used and left to the cent as the simulator
    holds them, the holds of queued jobs, where each figure comes from;
    a non-member is shown nothing;
  - `bankctl estimate script.sh`: the #SBATCH lines priced, the command
    line overriding them, and the estimate printed is what bankd POSTs
    for the job when sbatch submits that script;
  - on an accepted submission sbatch prints the job's cost, and what is
    left after it once bankd knows the room to the cent.

    python3 tests/e2e/test_users.py BUILD_DIR
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, default_fixture  # noqa: E402

BUILD = None
ALICE, BOB, EVE = "bankalice", "bankbob", "bankeve"


def fixture():
    f = default_fixture()
    f["accounts"] += [
        {"name": "fc_users", "allocation": "200.00", "usage": "37.25",
         "active": True},
        {"name": "fc_msg", "allocation": "100.00", "usage": "10.50",
         "active": True},
    ]
    f["memberships"] += [
        # alice's share binds below the account's room; bob's does not
        {"uid": 47001, "account": "fc_users", "allocation": "50.00",
         "usage": "12.40"},
        {"uid": 47002, "account": "fc_users", "allocation": "200.00",
         "usage": "24.85"},
        {"uid": 47001, "account": "fc_msg", "allocation": "50.00",
         "usage": "10.50"},
    ]
    return f


def cents(s):
    return Decimal(s)


class Users(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD, fixture=fixture(), cache_ttl=60).start()
        cls.ctlbin = os.path.join(cls.c.build, "bankctl", "bankctl")
        cls.tmp = tempfile.mkdtemp(prefix="bank-users.")
        os.chmod(cls.tmp, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def user_ctl(self, user, *args):
        return self.c.run([self.ctlbin, "-S", self.c.path("bankd.sock")] +
                          list(args), user=user)

    def balance(self, user, account):
        r = self.user_ctl(user, "--json", "balance", "-A", account)
        return r, (json.loads(r.stdout) if r.stdout.strip() else {})

    def sim(self, account, uid=None):
        b = self.c.ctl("GET", "/balances")
        if uid is None:
            return b["accounts"][account]
        return b["memberships"]["%s/%d" % (account, uid)]

    def test_balance(self):
        acct, mine = self.sim("fc_users"), self.sim("fc_users", 47001)
        r, b = self.balance(ALICE, "fc_users")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual(b["uid"], "47001")
        self.assertEqual(cents(b["alloc"]), cents(acct["allocation"]))
        self.assertEqual(cents(b["used"]), cents(acct["usage"]))
        self.assertEqual(b["room"], "162.75")
        self.assertEqual(b["user_limit"], "below")
        self.assertEqual(cents(b["user_alloc"]), cents(mine["allocation"]))
        self.assertEqual(cents(b["user_used"]), cents(mine["usage"]))
        self.assertEqual(b["user_room"], "37.60")
        self.assertEqual((b["held_mine"], b["held_all"], b["left"]),
                         ("0.00", "0.00", "37.60"))
        self.assertEqual(b["source"], "api")
        # bob's share does not bind: what the account has left is his
        r, b = self.balance(BOB, "fc_users")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual((b["uid"], b["user_limit"], b["room"], b["left"]),
                         ("47002", "none", "162.75", "162.75"))
        self.assertNotIn("user_alloc", b)
        # a queued job of alice's is held against both
        job, sr, _ = self.c.sbatch(ALICE, ["-A", "fc_users", "-p", "normal",
                                           "-n", "1", "-t", "1", "-H"])
        self.assertIsNotNone(job, sr.stderr)
        try:
            r, b = self.balance(ALICE, "fc_users")
            self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
            self.assertEqual((b["held_mine"], b["held_all"], b["held_jobs"],
                              b["left"]), ("6.00", "6.00", "1", "31.60"))
            # answered from the cache within cache.ttl_s
            self.assertEqual(b["source"], "cache")
            self.assertEqual(b["room"], "162.75")
            r, b = self.balance(BOB, "fc_users")
            self.assertEqual((b["held_mine"], b["held_all"], b["left"]),
                             ("0.00", "6.00", "156.75"))
            # the table: every figure, and where it comes from
            r = self.user_ctl(ALICE, "balance", "-A", "fc_users")
            self.assertEqual(r.returncode, 0, r.stderr)
            for s in ("200.00", "37.25", "162.75", "50.00", "12.40",
                      "37.60", "6.00", "the API", "31.60"):
                self.assertIn(s, r.stdout)
        finally:
            self.c.run(["scancel", str(job)])
        # a user the API does not show a member sees nothing
        r, b = self.balance(EVE, "fc_users")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(b.get("status"), "deny")
        for k in ("alloc", "used", "room", "held_all", "left"):
            self.assertNotIn(k, b)
        self.assertNotIn("200.00", r.stdout)
        # no account: said, not guessed
        r = self.user_ctl(ALICE, "balance")
        self.assertEqual(r.returncode, 1)
        self.assertIn("-A ACCOUNT", r.stderr)
        # ... with the accounts the API has shown the caller a member of
        self.assertIn("member of fc_users", r.stderr)
        r = self.user_ctl(EVE, "balance")
        self.assertNotIn("fc_users", r.stderr)

    def script(self, text):
        path = os.path.join(self.tmp, "job%d.sh" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        return path

    def test_estimate_script(self):
        path = self.script("#!/bin/sh\n#SBATCH -A fc_alpha\n"
                           "#SBATCH --partition=normal --ntasks=2\n"
                           "#SBATCH -t 5 --job-name 'price me'\n"
                           "#SBATCH -o /dev/null -e /dev/null\n"
                           "sleep 60\n#SBATCH -n 9\n")
        r = self.user_ctl(ALICE, "--json", "estimate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        est = json.loads(r.stdout)
        # 360 SU/CPU-hour x 2 CPUs x 5 minutes
        self.assertEqual((est["estimate"], est["cpus"], est["minutes"]),
                         ("60.00", "2", "5"))
        self.assertIn("--job-name ignored", r.stderr)
        # the command line overrides the script
        r = self.user_ctl(ALICE, "--json", "estimate", path, "-n", "1")
        self.assertEqual(json.loads(r.stdout)["estimate"], "30.00")
        # sbatch submits the same script: bankd POSTs that estimate
        r = self.c.run(["sbatch", "--parsable", "--chdir", "/tmp", path],
                       user=ALICE)
        self.assertEqual(r.returncode, 0, r.stderr)
        job = int(r.stdout.strip().split(";")[0])
        try:
            self.c.wait_state(job, ("RUNNING",))
            end = time.time() + 30
            while True:
                j = self.c.sim_job(job)
                if j is not None:
                    break
                self.assertLess(time.time(), end, "no start report")
                time.sleep(0.2)
            self.assertEqual(cents(j["amount"]), cents(est["estimate"]))
        finally:
            self.c.run(["scancel", str(job)])

    def test_submit_message(self):
        job, r, _ = self.c.sbatch(ALICE, ["-A", "fc_alpha", "-p", "normal",
                                          "-n", "1", "-t", "1", "-H"])
        self.assertIsNotNone(job, r.stderr)
        self.c.run(["scancel", str(job)])
        self.assertRegex(r.stderr, r"(?m)^sbatch: fc_alpha: this job may "
                         r"cost up to 6\.00 SU(; [0-9.]+ SU left after it)?$")
        # once bankd knows fc_msg's room to the cent (a balance asked
        # it), the message says what is left after the job
        b = self.balance(ALICE, "fc_msg")[1]
        self.assertEqual((b.get("room"), b.get("user_room"), b.get("left")),
                         ("89.50", "39.50", "39.50"), b)
        job, r, _ = self.c.sbatch(ALICE, ["-A", "fc_msg", "-p", "normal",
                                          "-n", "2", "-t", "1", "-H"])
        self.assertIsNotNone(job, r.stderr)
        self.c.run(["scancel", str(job)])
        self.assertIn("sbatch: fc_msg: this job may cost up to 12.00 SU; "
                      "27.50 SU left after it\n", r.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_users.py BUILD_DIR")
    BUILD = sys.argv.pop(1)
    unittest.main()
