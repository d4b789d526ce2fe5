"""End to end: pricing on a real Slurm.

Unset CPUs and time limits priced from the partition (whole-node
partitions, DefaultTime, MaxTime), QoS multipliers, GPUs by type, and
CPU prices taken from the API's paginated /partitions/ where bank.yaml
does not set them.  The amount checked is the one bankd asks the API
about (sim.log's /can_submit_job/<cost>/ path: the cache is off and
probe_factor is 1, and each scenario uses its own account so no holds
are added), computed here independently of bankd.

    python3 tests/e2e/test_pricing.py BUILD_DIR
"""

import json
import os
import re
import socket
import sys
import time
import unittest
from decimal import Decimal, ROUND_HALF_UP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, default_fixture  # noqa: E402

BUILD = None
HOST = socket.gethostname().split(".")[0]
CPUS = os.cpu_count()
ACCOUNTS = ["fc_p%d" % i for i in range(12)]

EXTRA = {
    "slurm": "GresTypes=gpu\n"
             "PartitionName=whole Nodes=ALL OverSubscribe=EXCLUSIVE "
             "DefaultTime=10 MaxTime=60 State=UP\n"
             "PartitionName=shr Nodes=ALL DefaultTime=20 MaxTime=60 "
             "State=UP\n"
             "PartitionName=maxonly Nodes=ALL MaxTime=30 State=UP\n"
             "PartitionName=gpu Nodes=ALL MaxTime=60 State=UP\n"
             "PartitionName=apionly Nodes=ALL MaxTime=60 State=UP\n"
             "PartitionName=nowhere Nodes=ALL MaxTime=60 State=UP\n",
    "node": "Gres=gpu:tesla:2",
    # File-less GPUs are dropped by slurmd: two harmless device files.
    "gres": "NodeName=%s Name=gpu Type=tesla File=/dev/null,/dev/zero\n"
            % HOST,
    "prices": '  from_api: true\n'
              '  refresh_s: 10\n'
              '  qos:\n'
              '    high: "1.5"\n'
              '    low: "0.5"\n',
    "partitions": '    whole: "3.00"\n'
                  '    shr: "3.00"\n'
                  '    maxonly: "3.00"\n'
                  '    gpu:\n'
                  '      cpu: "360"\n'
                  '      gpu: "1800"\n'
                  '      gpu_types:\n'
                  '        tesla: "3600"\n',
}


def money(x):
    return Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def fixture():
    f = default_fixture()
    f["accounts"] += [{"name": a, "allocation": "100000.00",
                       "usage": "0.00", "active": True} for a in ACCOUNTS]
    f["memberships"] += [{"uid": 47001, "account": a,
                          "allocation": "100000.00", "usage": "0.00"}
                         for a in ACCOUNTS]
    # 120 fillers push "apionly" onto the second page (100 per page);
    # "shr" is listed dearer than bank.yaml's price, which must win.
    f["partitions"] += [{"name": "fill%03d" % i, "su_per_core_hour": "2.00",
                         "shared": True, "num_nodes": 1, "num_cores": 4}
                        for i in range(120)]
    f["partitions"] += [
        {"name": "shr", "su_per_core_hour": "99.00", "shared": True,
         "num_nodes": 1, "num_cores": CPUS},
        {"name": "apionly", "su_per_core_hour": "7.125", "shared": True,
         "num_nodes": 1, "num_cores": CPUS},
    ]
    return f


class Pricing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD, fixture=fixture(), extra=EXTRA).start()
        cls.next_account = iter(ACCOUNTS)
        # The first fetch of the API's prices (two pages) has landed.
        end = time.time() + 20
        while "apionly" not in cls.c.bankctl("prices").stdout:
            if time.time() > end:
                raise AssertionError(cls.c.log("bankd.log"))
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def asked(self, account):
        """The cost bankd asked the API about for this account (not the
        ask at the largest cost by which it learns a new account's room)."""
        m = [c for c in
             re.findall(r"/can_submit_job/([\d.]+)/47001/%s/" % account,
                        self.c.log("sim.log"))
             if c != "999999999.99"]
        self.assertEqual(len(m), 1, self.c.log("sim.log")[-2000:])
        return Decimal(m[0])

    def submit(self, args, held=True, script="sleep 2"):
        acct = next(self.next_account)
        job, r, _ = self.c.sbatch("bankalice", ["-A", acct] + args +
                                  (["--hold"] if held else []), script)
        return acct, job, r

    def estimate(self, *args):
        r = self.c.bankctl("--json", "estimate", *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def prices(self):
        r = self.c.bankctl("--json", "prices")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        d = json.loads(r.stdout)
        return d, {p["partition"]: p for p in d["partitions"]}

    # (a) unset CPUs and time limit ---------------------------------------
    def test_whole_node_partition_prices_every_cpu_for_its_default_time(self):
        acct, job, r = self.submit(["-p", "whole"])
        self.assertIsNotNone(job, r.stderr)
        # OverSubscribe=EXCLUSIVE: all CPUs of the node, DefaultTime=10.
        self.assertEqual(self.asked(acct),
                         money(Decimal("3.00") * CPUS * 10 / 60))
        self.c.run(["scancel", str(job)], check=True)

    def test_shared_partition_prices_one_cpu_for_its_default_time(self):
        acct, job, r = self.submit(["-p", "shr"])
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct), money(Decimal("3.00") * 20 / 60))
        self.c.run(["scancel", str(job)], check=True)

    def test_without_default_time_the_maximum_is_used(self):
        acct, job, r = self.submit(["-p", "maxonly", "-c", "2"])
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct),
                         money(Decimal("3.00") * 2 * 30 / 60))
        self.c.run(["scancel", str(job)], check=True)

    def test_exclusive_flag_on_a_shared_partition_takes_the_node(self):
        acct, job, r = self.submit(["-p", "shr", "--exclusive"])
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct),
                         money(Decimal("3.00") * CPUS * 20 / 60))
        self.c.run(["scancel", str(job)], check=True)

    # (b) QoS --------------------------------------------------------------
    def test_qos_multiplies_the_estimate_but_not_the_charge(self):
        # job_submit sees --qos; with accounting_storage/none slurmctld
        # keeps no QoS record (qos_ptr NULL, scontrol shows "(null)"), so
        # jobcomp cannot name it and the completion is charged at x1.
        acct, job, r = self.submit(["-p", "normal", "-t", "1",
                                    "--qos=high"], held=False)
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct), money(Decimal("360") / 60 *
                                                 Decimal("1.5")))
        est = self.estimate("-p", "normal", "-t", "1", "--qos", "low")
        self.assertEqual(est["estimate"], "3.00")
        self.assertEqual(est["qos_multiplier"], "0.5")
        j = self.c.wait_state(job, ("COMPLETED",))
        self.assertEqual(j.get("QOS"), "(null)")
        charged = self.c.wait_charged(job)
        self.assertEqual(Decimal(charged["amount"]),
                         money(Decimal(360) * self.c.elapsed(j) / 3600))

    # (c) GPUs ------------------------------------------------------------
    def test_typed_gpus_are_priced_at_their_type(self):
        acct, job, r = self.submit(["-p", "gpu", "-t", "1",
                                    "--gres=gpu:tesla:2"])
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct), money((360 + 2 * 3600) *
                                                 Decimal(1) / 60))
        self.c.run(["scancel", str(job)], check=True)
        est = self.estimate("-p", "gpu", "-t", "1", "--gpus", "tesla:2")
        self.assertEqual(est["estimate"], "126.00")
        self.assertEqual(est["gpus"], "2")

    def test_untyped_gpus_per_job_cost_the_gpu_price(self):
        acct, job, r = self.submit(["-p", "gpu", "-t", "1", "--gpus=2"])
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct), money((360 + 2 * 1800) *
                                                 Decimal(1) / 60))
        self.c.run(["scancel", str(job)], check=True)
        self.assertEqual(self.estimate("-p", "gpu", "-t", "1", "--gpus",
                                       "2")["estimate"], "66.00")

    def test_a_gpu_job_runs_and_is_charged(self):
        # Without slurmdbd Slurm refuses AccountingStorageTRES=gres/gpu, so
        # the allocated TRES carry no GPUs; jobcomp also sends the job's
        # GRES request, which is what it was given, and bankd prices that.
        acct, job, r = self.submit(["-p", "gpu", "-t", "1",
                                    "--gres=gpu:tesla:2"], held=False)
        self.assertIsNotNone(job, r.stderr)
        j = self.c.wait_state(job, ("COMPLETED",))
        charged = self.c.wait_charged(job)
        self.assertNotIn("gres/gpu", j.get("TRES", ""))
        # 360 SU per CPU-hour + 3600 per tesla-hour x 2, for the elapsed
        # time, rounded once.
        per_hour = Decimal(360) * int(j["NumCPUs"]) + Decimal(3600) * 2
        self.assertEqual(Decimal(charged["amount"]),
                         money(per_hour * self.c.elapsed(j) / 3600))

    # (d) prices from the API --------------------------------------------
    def test_api_prices_fill_partitions_not_priced_locally(self):
        d, t = self.prices()
        self.assertEqual(d["from_api"], "1")
        self.assertNotIn("api_error", d)
        self.assertEqual(t["apionly"]["cpu"], "7.125")    # page 2
        self.assertEqual(t["apionly"]["source"], "api")
        self.assertEqual(t["fill119"]["source"], "api")
        self.assertEqual(t["shr"]["cpu"], "3")             # local wins
        self.assertEqual(t["shr"]["source"], "local")
        self.assertEqual(t["gpu"]["gpu_types"], "tesla=3600")
        self.assertNotIn("nowhere", t)
        self.assertEqual(d["qos"], "high=1.5,low=0.5")
        self.assertIn("GET /mybrc-rest/partitions/?page=2 200",
                      self.c.log("sim.log"))
        est = self.estimate("-p", "apionly", "-n", "2", "-t", "60")
        self.assertEqual((est["estimate"], est["price_source"]),
                         ("14.25", "api"))
        est = self.estimate("-p", "nowhere", "-t", "60")
        self.assertEqual((est["estimate"], est["price_source"]),
                         ("1.00", "default"))
        acct, job, r = self.submit(["-p", "apionly", "-n", "2", "-t", "60"])
        self.assertIsNotNone(job, r.stderr)
        self.assertEqual(self.asked(acct), Decimal("14.25"))
        self.c.run(["scancel", str(job)], check=True)

    def test_a_reload_keeps_api_prices_and_local_still_wins(self):
        with open(self.c.path("bank.yaml")) as f:
            conf = f.read()
        try:
            with open(self.c.path("bank.yaml"), "w") as f:
                f.write(conf.replace('    whole: "3.00"\n',
                                     '    whole: "3.00"\n'
                                     '    fill007: "5.5"\n'))
            self.c.procs["bankd"].send_signal(1)
            end = time.time() + 10
            while self.prices()[1]["fill007"]["source"] != "local" or \
                    "apionly" not in self.prices()[1]:
                self.assertLess(time.time(), end)
                time.sleep(0.2)
            d, t = self.prices()
            self.assertEqual(t["fill007"]["cpu"], "5.5")
            self.assertEqual(t["apionly"]["source"], "api")
        finally:
            with open(self.c.path("bank.yaml"), "w") as f:
                f.write(conf)
            self.c.procs["bankd"].send_signal(1)
            time.sleep(0.5)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
