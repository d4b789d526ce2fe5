"""End to end with real Slurm accounting: MariaDB and slurmdbd started by
the harness (Cluster(accounting=True)), so that QoS records and sacct
exist.

The QoS "double" has UsageFactor=2 in Slurm; bank.yaml lists it at x3,
which only the estimate uses.  The charge must follow Slurm (x2), to the
cent, computed here independently of bankd; a job of the default QoS
(normal, UsageFactor 1) is charged its plain cost.

    python3 tests/e2e/test_accounting.py BUILD_DIR
"""

import os
import sys
import time
import unittest
from decimal import Decimal, ROUND_HALF_UP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES  # noqa: E402

BUILD = None
EXTRA = {"prices": '  qos:\n'
                   '    double: "3"\n'}


def charge(price, cpus, seconds, factor):
    """One rounding, half-up, after the multiplier (docs/pricing.md)."""
    c = Decimal(price) * cpus * seconds * Decimal(factor) / Decimal(3600)
    return c.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Accounting(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        t0 = time.time()
        cls.c = Cluster(BUILD, accounting=True, extra=EXTRA).start()
        print("accounting cluster up in %.1f s (MariaDB + slurmdbd + "
              "sacctmgr: %.1f s)" % (time.time() - t0,
                                     cls.c.accounting_start_s),
              file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def run_job(self, args):
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "10"] + args, "sleep 3")
        self.assertIsNotNone(job, r.stderr)
        j = self.c.wait_state(job, ("COMPLETED", "CANCELLED", "FAILED",
                                    "TIMEOUT"))
        self.assertEqual(j["JobState"], "COMPLETED")
        return job, j, self.c.wait_charged(job)

    def test_qos_usage_factor_doubles_the_charge(self):
        before = self.c.usage("fc_alpha")
        job, j, stored = self.run_job(["--qos", "double"])
        self.assertEqual(j["QOS"], "double")
        cpus, secs = int(j["NumCPUs"]), self.c.elapsed(j)
        self.assertGreaterEqual(secs, 3)
        plain = charge(PRICES["normal"], cpus, secs, 1)
        doubled = charge(PRICES["normal"], cpus, secs, 2)
        self.assertGreater(plain, 0)
        # Slurm's UsageFactor 2, not bank.yaml's 3 (nor 1)
        self.assertEqual(Decimal(stored["amount"]), doubled)
        self.assertEqual(self.c.usage("fc_alpha") - before, doubled)

    def test_default_qos_is_charged_its_plain_cost(self):
        before = self.c.usage("fc_alpha")
        job, j, stored = self.run_job([])
        self.assertEqual(j["QOS"], "normal")
        plain = charge(PRICES["normal"], int(j["NumCPUs"]),
                       self.c.elapsed(j), 1)
        self.assertGreater(plain, 0)
        self.assertEqual(Decimal(stored["amount"]), plain)
        self.assertEqual(self.c.usage("fc_alpha") - before, plain)

    def test_sacct_shows_the_job(self):
        job, j, _ = self.run_job(["--qos", "double"])
        end = time.time() + 30      # slurmctld sends its records in batches
        out = ""
        while time.time() < end:
            out = self.c.run(["sacct", "-X", "-n", "-P", "-j", str(job),
                              "--format=JobID,User,Account,QOS,State"]
                             ).stdout.strip()
            # The QoS may read "Unknown" until slurmdbd has the job's
            # last record (seen once in ten runs): wait for the whole line.
            if out == "%d|bankalice|fc_alpha|double|COMPLETED" % job:
                break
            time.sleep(0.5)
        self.assertEqual(out, "%d|bankalice|fc_alpha|double|COMPLETED" % job)

    def test_estimate_uses_bank_yaml_multiplier(self):
        # bankd cannot ask Slurm a QoS's factor at submission: bank.yaml's
        # x3 prices the estimate (360 x 1 CPU x 10 min x 3).
        r = self.c.bankctl("estimate", "-p", "normal", "-n", "1", "-t",
                           "10", "--qos", "double")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"estimate\s+180.00")


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
