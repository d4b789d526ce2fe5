"""End to end: a heterogeneous job (issue 12, item 3).

Slurm runs job_submit once per component, each with its own partition
and size, and creates none of them if one is refused.  Each component is
priced at its own partition; a later component is checked against the
earlier ones' holds, so the components' sum must fit; one refusal refuses
the job with one message, and leaves no hold behind.  Each component is
charged its own run at its own partition.

    python3 tests/e2e/test_hetjob.py BUILD_DIR
"""

import json
import os
import subprocess
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, cost, default_fixture, free_port  # noqa: E402

BUILD = None
# normal: 360 SU/CPU-hour, 1 CPU x 1 minute = 6.00; cheap: 120 -> 2.00.
CHEAP = "120.00"


def fixture():
    f = default_fixture()
    f["accounts"].append({"name": "fc_het", "allocation": "7.00",
                          "usage": "0.00", "active": True})
    f["memberships"].append({"uid": 47001, "account": "fc_het",
                             "allocation": "7.00", "usage": "0.00"})
    f["partitions"].append({"name": "cheap", "su_per_core_hour": CHEAP,
                            "shared": True, "num_nodes": 1,
                            "num_cores": os.cpu_count()})
    return f


SCRIPT = """#!/bin/sh
#SBATCH -A {account} -p normal -n 1 -t 1 -w {host}
#SBATCH hetjob
#SBATCH -A {account} -p cheap -n 1 -t 1
sleep 3
"""
NODE2 = "bankn2"


class TwoNodes(Cluster):
    """The harness's cluster with a second slurmd (Debian builds Slurm
    with --enable-multiple-slurmd): backfill starts a het job only with
    each component on a node of its own.  "cheap" is on the second node."""

    def _write_slurm_conf(self):
        self.slurmd2_port = free_port()
        # Later settings override the harness's (slurmctld says so).
        self.extra["slurm"] = f"""SlurmdPidFile={self.path("slurmd-%n.pid")}
SlurmdSpoolDir={self.path("spool-%n")}
SchedulerParameters=batch_sched_delay=0,bf_interval=1
NodeName={NODE2} NodeAddr=127.0.0.1 NodeHostname={self.host} Port={self.slurmd2_port} CPUs={os.cpu_count()} RealMemory=1024 State=UNKNOWN
PartitionName=cheap Nodes={NODE2} MaxTime=60 State=UP
"""
        super()._write_slurm_conf()

    def _start_slurm(self):
        self.pidfiles["slurmctld"] = self.path("slurmctld.pid")
        self.pidfiles["slurmd"] = self.path("slurmd-%s.pid" % self.host)
        self.pidfiles["slurmd2"] = self.path("slurmd-%s.pid" % NODE2)
        conf = self.path("slurm.conf")
        for n in (self.host, NODE2):
            os.makedirs(self.path("spool-" + n), exist_ok=True)
        subprocess.run(["slurmctld", "-i", "-f", conf], check=True,
                       env=self.env)
        subprocess.run(["slurmd", "-N", self.host, "-f", conf], check=True,
                       env=self.env)
        subprocess.run(["slurmd", "-N", NODE2, "-f", conf], check=True,
                       env=self.env)
        # A line per node and partition: every one idle.
        self._wait("both nodes to be idle",
                   lambda: set(self.run(["sinfo", "-h", "-N", "-o",
                                         "%N=%T"]).stdout.split()) ==
                   {self.host + "=idle", NODE2 + "=idle"}, timeout=30)

    def stop(self):
        self._kill_pidfile("slurmd2")
        super().stop()


class HetJob(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The reconcile is far off: a hold left behind stays visible.
        cls.c = TwoNodes(BUILD, fixture=fixture(), reconcile_s=600,
                         grace_s=600, extra={
                             "partitions": '    cheap: "%s"' % CHEAP,
                         }).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def submit(self, account):
        path = self.c.path("het-%s.sh" % account)
        with open(path, "w") as f:
            f.write(SCRIPT.format(account=account, host=self.c.host))
        os.chmod(path, 0o644)
        return self.c.run(["sbatch", "--parsable", "-o", "/dev/null",
                           "-e", "/dev/null", "--chdir", "/tmp", path],
                          user="bankalice")

    def held(self, account):
        r = self.c.bankctl("--json", "holds", "-A", account)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def components(self, leader):
        """scontrol's records of each component, by job id."""
        r = self.c.run(["scontrol", "-o", "show", "job", str(leader)])
        out = {}
        for line in r.stdout.splitlines():
            rec = {}
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    rec.setdefault(k, v)
            if "JobId" in rec:
                out[int(rec["JobId"])] = rec
        return out

    def test_1_accepted_held_and_charged_each_at_its_own_price(self):
        r = self.submit("fc_alpha")
        self.assertEqual(r.returncode, 0, r.stderr)
        leader = int(r.stdout.strip().split(";")[0])
        comps = self.components(leader)
        self.assertEqual(len(comps), 2, comps)
        # One hold per component, priced at its own partition: the
        # token in each component's AdminComment names its own hold.
        h = self.held("fc_alpha")
        by_token = {x["hold"]: x["amount"] for x in h["holds"]}
        got = {}
        for j, rec in comps.items():
            tok = rec["AdminComment"].split("bank_hold=")[1]
            got[rec["Partition"]] = by_token[tok]
        self.assertEqual(got, {"normal": "6.00", "cheap": "2.00"}, h)
        self.assertEqual(h["total"], "8.00")
        # Each component runs, and is charged its own run at its own
        # partition's price, to the cent.
        end = time.time() + 90
        while True:
            # scontrol shows a component with its whole het job: by line.
            done = self.components(leader)
            if len(done) == 2 and all(d["JobState"] == "COMPLETED" for d
                                      in done.values()):
                break
            self.assertLess(time.time(), end, done)
            time.sleep(0.2)
        total = Decimal("0.00")
        for j, rec in done.items():
            price = "360.00" if rec["Partition"] == "normal" else CHEAP
            want = cost(price, 1, self.c.elapsed(rec))
            self.assertGreater(want, 0)
            charged = self.c.wait_charged(j)
            self.assertEqual(Decimal(charged["amount"]), want,
                             (j, rec["Partition"], charged))
            self.assertEqual(charged["partition"], rec["Partition"])
            total += want
        self.c.wait_drained()
        self.assertEqual(self.c.usage("fc_alpha"), total)
        self.assertEqual(self.held("fc_alpha")["total"], "0.00")

    def test_2_refused_when_the_sum_does_not_fit(self):
        # 6.00 fits in 7.00, and 2.00 does; together they do not.
        before = self.c.run(["squeue", "-h", "-o", "%i"]).stdout.split()
        r = self.submit("fc_het")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(r.stderr.count("job refused"), 1, r.stderr)
        # No hold left behind, at once (the reconcile is 10 minutes off).
        h = self.held("fc_het")
        self.assertEqual(h["total"], "0.00", h)
        self.assertIn("component 1 of a heterogeneous job", r.stderr)
        self.assertIn("which hold 6.00 SU of that: the whole job is "
                      "refused", r.stderr)
        self.assertIn("estimate is 2.00 SU", r.stderr)
        after = self.c.run(["squeue", "-h", "-o", "%i"]).stdout.split()
        self.assertEqual(before, after)
        self.assertEqual(self.c.usage("fc_het"), Decimal("0.00"))
        # Each alone fits: the normal component as a plain job passes.
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_het", "-p",
                                                "normal", "-n", "1", "-t",
                                                "1", "--hold"])
        self.assertIsNotNone(job, r.stderr)
        self.c.run(["scancel", str(job)])


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
