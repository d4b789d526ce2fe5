"""End to end: a job's bill after it starts (issue 12, items 1 and 2).

A requeued job runs again under its id and jobcomp reports each run; the
portal keeps one row per id and a PUT replaces its amount.  Asserted to
the cent on the real Slurm: `scontrol requeue` of a running job charges
both runs (requeue_charge: every_run, the default) or the last one only
(last_run); a job preempted by a higher-priority partition
(PreemptMode=REQUEUE) charges both its runs; a job id the portal
already holds for an older job (a slurmctld cold start) is a dead letter
that says so, and charges nothing.

    python3 tests/e2e/test_runs.py BUILD_DIR
"""

import json
import os
import sys
import time
import unittest
import urllib.request
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, TOKEN, cost, logfmt  # noqa: E402

BUILD = None
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")
# Run 0 sleeps until requeued; run 1 (SLURM_RESTART_COUNT=1) ends soon.
SCRIPT = ('if [ "${SLURM_RESTART_COUNT:-0}" -ge 1 ]; then sleep 3; '
          'else sleep 60; fi')


def seconds(date):
    return int(time.mktime(time.strptime(date[:19], "%Y-%m-%dT%H:%M:%S")))


class Runs(unittest.TestCase):
    cluster_args = {}

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD, **cls.cluster_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        self.c.ctl("POST", "/faults/clear")
        self.c.wait_drained()

    def wait_amount(self, job, pred, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            j = self.c.sim_job(job)
            if j and j.get("enddate") and pred(j):
                return j
            time.sleep(0.2)
        raise AssertionError("job %d: never charged as expected (%s)" %
                             (job, self.c.sim_job(job)))

    def release(self, job):
        # slurmd refuses a credential made in the second it revoked the
        # last run's ("Job credential revoked": its ctime <= the revoke
        # time, in whole seconds), so the new run may start no sooner than
        # 2 s after the job is back in the queue (seen once in CI: released
        # 0.4 s after, run 1 killed at launch).
        end = time.time() + 60
        back = None
        while time.time() < end:
            j = self.c.job(job)
            if j.get("JobState") == "PENDING" and \
                    j.get("Reason") == "BeginTime":
                back = back or time.time()
                if time.time() - back >= 2:
                    self.c.run(["scontrol", "update", "JobId=%d" % job,
                                "StartTime=now"], check=True)
            elif j.get("JobState") not in ("PENDING", "COMPLETING",
                                           "REQUEUED"):
                return
            time.sleep(0.5)
        self.fail("job %d never ran again: %s" % (job, self.c.job(job)))

    def requeued_job(self):
        """A job requeued once while running: (its id, run 0's cost as
        its own dates say, run 1's scontrol record, the usage before)."""
        u0 = self.c.usage("fc_alpha")
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "5", "--requeue"], SCRIPT)
        self.assertIsNotNone(job, r.stderr)
        j = self.c.wait_state(job, ("RUNNING",))
        cpus = int(j["NumCPUs"])
        time.sleep(3)
        r = self.c.run(["scontrol", "requeue", str(job)])
        self.assertEqual(r.returncode, 0, r.stderr)
        # Run 0's completion, as the portal stored it.
        first = self.wait_amount(job, lambda s: True)
        own0 = cost(PRICES["normal"], cpus, seconds(first["enddate"]) -
                    seconds(first["startdate"]))
        self.assertEqual(Decimal(first["amount"]), own0)
        # Slurm holds a requeued job back (BeginTime) for its credential's
        # lifetime, once its last run is cleaned up: let it run now.
        self.release(job)
        end = self.c.wait_state(job, ENDED, timeout=90)
        self.assertEqual(end.get("Restarts"), "1")
        # Run 1 ran its 3 s (a run that never started would prove little).
        self.assertGreaterEqual(self.c.elapsed(end), 2,
                                self.c.log("slurmctld.log")[-3000:])
        return job, own0, end, cpus, u0

    def test_a_requeued_job_is_charged_for_both_runs(self):
        job, own0, end, cpus, u0 = self.requeued_job()
        own1 = cost(PRICES["normal"], cpus, self.c.elapsed(end))
        stored = self.wait_amount(
            job, lambda s: seconds(s["enddate"]) >= seconds(end["EndTime"]))
        self.assertEqual(Decimal(stored["amount"]), own0 + own1)
        self.c.wait_drained()
        # The account paid both runs, once each: nothing was counted
        # twice (run 1's start sent nothing), nothing erased.
        self.assertEqual(self.c.usage("fc_alpha") - u0, own0 + own1)
        st = self.c.status()
        self.assertEqual(st.get("dead", "0"), "0",
                         self.c.bankctl("queue").stdout)
        # Run 1's start, when its prolog reports it, is folded: one start
        # was ever sent, and nothing met "already exists".
        log = self.c.log("bankd.log")
        self.assertEqual(len(logfmt(log, job=job, event="accept", kind="start",
                                    outcome="queued")), 1, log)
        self.assertNotIn("already exists", log)

    def test_last_run_charges_the_last_run_only(self):
        self.c.extra["prices"] = "  requeue_charge: last_run"
        self.c.reconfigure_bankd()
        try:
            job, own0, end, cpus, u0 = self.requeued_job()
            own1 = cost(PRICES["normal"], cpus, self.c.elapsed(end))
            stored = self.wait_amount(
                job,
                lambda s: seconds(s["enddate"]) >= seconds(end["EndTime"]))
            self.assertEqual(Decimal(stored["amount"]), own1)
            self.c.wait_drained()
            self.assertEqual(self.c.usage("fc_alpha") - u0, own1)
        finally:
            self.c.extra["prices"] = ""
            self.c.reconfigure_bankd()

    def api(self, method, path, body):
        req = urllib.request.Request(
            self.c.api_url + path, data=json.dumps(body).encode(),
            method=method, headers={"Content-Type": "application/json",
                                    "Authorization": "Token " + TOKEN})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def test_a_reused_job_id_is_a_dead_letter(self):
        # The next job id: one past a free job's (free jobs are not sent).
        free, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                 "debug", "-t", "1"], "true")
        self.assertIsNotNone(free, r.stderr)
        self.c.wait_state(free, ENDED)
        job_id = free + 1
        # The portal holds that id for a job of months ago (before a
        # slurmctld cold start), charged 5.00.
        self.api("POST", "/jobs/", {
            "jobslurmid": str(job_id), "submitdate": "2026-02-01T10:00:00Z",
            "startdate": "2026-02-01T10:00:05Z", "userid": "47001",
            "accountid": "fc_alpha", "amount": "5.00",
            "jobstatus": "RUNNING", "partition": "normal"})
        self.api("PUT", "/jobs/%d/" % job_id, {
            "jobslurmid": str(job_id), "submitdate": "2026-02-01T10:00:00Z",
            "startdate": "2026-02-01T10:00:05Z",
            "enddate": "2026-02-01T10:01:05Z", "userid": "47001",
            "accountid": "fc_alpha", "amount": "5.00",
            "jobstatus": "COMPLETED", "partition": "normal"})
        u0 = self.c.usage("fc_alpha")
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "5"], "sleep 2")
        self.assertEqual(job, job_id, "another job took the id")
        self.c.wait_state(job, ENDED)
        end = time.time() + 30
        out = ""
        while time.time() < end:
            out = self.c.bankctl("queue").stdout
            if "dead" in out and str(job) in out:
                break
            time.sleep(0.2)
        self.assertIn("job id %d is held by the portal for another job "
                      "submitted at 2026-02-01T10:00:00Z; an id reused "
                      "after a slurmctld cold start" % job,
                      self.c.log("bankd.log"))
        self.assertIn("dead", out)
        self.assertIn("is held by the portal for another job", out)
        # The old job's record and the account are untouched.
        stored = self.c.sim_job(job)
        self.assertEqual(stored["amount"], "5.00")
        self.assertEqual(stored["submitdate"], "2026-02-01T10:00:00Z")
        self.assertEqual(self.c.usage("fc_alpha"), u0)
        self.drop_dead(job)

    def drop_dead(self, job):
        """Dead letters of job dropped, as an operator would once the job
        is charged by hand (its completion may become one in turn)."""
        end = time.time() + 20
        while time.time() < end:
            rows = [ln.split() for ln in
                    self.c.bankctl("queue").stdout.splitlines()]
            rows = [f for f in rows if len(f) > 4 and f[1] == str(job)]
            if not rows:
                return
            for f in rows:
                if f[4] == "dead":
                    self.c.bankctl("drop", f[0])
            time.sleep(0.3)
        self.fail("job %d stays in the queue: %s" %
                  (job, self.c.bankctl("queue").stdout))

class Preemption(Runs):
    """A job preempted by a higher-priority partition and requeued."""
    cluster_args = {"extra": {
        "slurm": "PreemptType=preempt/partition_prio\n"
                 "PreemptMode=REQUEUE\n"
                 "PartitionName=high Nodes=ALL PriorityTier=10 MaxTime=60 "
                 "State=UP",
        "partitions": '    high: "360.00"'}}

    # Only the scenario of this class runs here.
    test_a_requeued_job_is_charged_for_both_runs = None
    test_last_run_charges_the_last_run_only = None
    test_a_reused_job_id_is_a_dead_letter = None

    def test_a_preempted_job_is_charged_for_both_runs(self):
        u0 = self.c.usage("fc_alpha")
        cpus = os.cpu_count()
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", str(cpus),
                                                "-t", "5", "--requeue"],
                                  SCRIPT)
        self.assertIsNotNone(job, r.stderr)
        self.c.wait_state(job, ("RUNNING",))
        time.sleep(3)
        # The whole node is taken: a job of the high partition preempts.
        hi, r, _ = self.c.sbatch("bankbob", ["-A", "fc_alpha", "-p", "high",
                                             "-n", "1", "-t", "5"],
                                 "sleep 2")
        self.assertIsNotNone(hi, r.stderr)
        first = self.wait_amount(job, lambda s: True)
        own0 = cost(PRICES["normal"], cpus, seconds(first["enddate"]) -
                    seconds(first["startdate"]))
        self.assertEqual(Decimal(first["amount"]), own0)
        hj = self.c.wait_state(hi, ENDED)
        self.release(job)
        end = self.c.wait_state(job, ENDED, timeout=90)
        self.assertEqual(end.get("Restarts"), "1")
        self.assertGreaterEqual(self.c.elapsed(end), 2)
        own1 = cost(PRICES["normal"], cpus, self.c.elapsed(end))
        stored = self.wait_amount(
            job, lambda s: seconds(s["enddate"]) >= seconds(end["EndTime"]))
        self.assertEqual(Decimal(stored["amount"]), own0 + own1)
        self.c.wait_drained()
        own_hi = Decimal(self.c.wait_charged(hi)["amount"])
        self.assertEqual(own_hi, cost(PRICES["normal"], int(hj["NumCPUs"]),
                                      self.c.elapsed(hj)))
        self.assertEqual(self.c.usage("fc_alpha") - u0,
                         own0 + own1 + own_hi)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
