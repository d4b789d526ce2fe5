"""End to end: holds on queued jobs, and decisions from the cache.

Jobs queued together can never overdraw an account, each limit (the
account's and the user's share) counts the right holds, holds end when
the API counts the job or the job is gone, survive restarts, and a warm
cache decides without asking the API.

    python3 tests/e2e/test_holds.py BUILD_DIR
"""

import os
import signal
import struct
import subprocess
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, default_fixture, logfmt  # noqa: E402

BUILD = None
# 360 SU/CPU-hour x 1 CPU x 1 minute = 6.00 SU per job.
JOB = ["-p", "normal", "-n", "1", "-t", "1"]
EACH = Decimal("6.00")


def fixture():
    f = default_fixture()
    f["accounts"] += [
        # Room for exactly 3 jobs, shared by two users.
        {"name": "fc_three", "allocation": "18.00", "usage": "0.00",
         "active": True},
        # Plenty for the account; alice's own share fits 2 jobs.
        {"name": "fc_share", "allocation": "100.00", "usage": "0.00",
         "active": True},
        {"name": "fc_cache", "allocation": "1000.00", "usage": "0.00",
         "active": True},
    ]
    f["memberships"] += [
        {"uid": 47001, "account": "fc_three", "allocation": "18.00",
         "usage": "0.00"},
        {"uid": 47002, "account": "fc_three", "allocation": "18.00",
         "usage": "0.00"},
        {"uid": 47001, "account": "fc_share", "allocation": "12.00",
         "usage": "0.00"},
        {"uid": 47002, "account": "fc_share", "allocation": "100.00",
         "usage": "0.00"},
        {"uid": 47001, "account": "fc_cache", "allocation": "1000.00",
         "usage": "0.00"},
    ]
    return f


def children(pid):
    """(pid, state, argv) of every process whose parent is pid, zombies
    too (state Z)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0], [a.decode() for a in argv if a]))
    return out


def fd_targets(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def tasks(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def decode_joblist(data):
    """bankd/joblist.h's stream, read again here: {job id: token}."""
    assert data[:4] == b"BJL\x01", data[:16]
    jobs, off = {}, 4
    while data[off:off + 1] == b"J":
        job, token = struct.unpack("<IQ", data[off + 1:off + 13])
        jobs[job] = token
        off += 13
    assert data[off:off + 1] == b"E", data[off:off + 64]
    assert len(data) == off + 9
    assert struct.unpack("<Q", data[off + 1:])[0] == len(jobs)
    return jobs


class Holds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD, fixture=fixture(), cache_ttl=60,
                        probe_factor=8, reconcile_s=2, grace_s=3).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        if "bankd" not in self.c.procs:
            self.c.start_bankd()
        self.c.ctl("POST", "/faults/clear")
        # Each scenario starts with no jobs and no holds.
        for user in ("bankalice", "bankbob"):
            self.c.run(["scancel", "-u", user])
        end = time.time() + 30
        while self.all_held() != "0.00":
            self.assertLess(time.time(), end, self.c.bankctl("holds").stdout)
            time.sleep(0.2)

    def all_held(self):
        import json
        r = self.c.bankctl("--json", "holds")
        return json.loads(r.stdout)["total"] if r.returncode == 0 else "?"

    def submit(self, user, account, held=True):
        args = ["-A", account] + JOB + (["--hold"] if held else [])
        return self.c.sbatch(user, args, "sleep 2")

    def holds(self, account):
        r = self.c.bankctl("--json", "holds", "-A", account)
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        return json.loads(r.stdout)

    def test_ten_at_once_only_three_fit_and_nothing_overdraws(self):
        accepted, refused = [], []
        for i in range(10):
            user = "bankalice" if i % 2 == 0 else "bankbob"
            job, r, took = self.submit(user, "fc_three")
            self.assertLess(took, 1.5)
            (accepted if job else refused).append(job or r.stderr)
        self.assertEqual(len(accepted), 3, refused)
        for msg in refused:
            # What is left, what of it is held, and this job's estimate
            # (the API's figure would include the holds).
            self.assertIn("job refused: account fc_three has 18.00 SU left, "
                          "18.00 SU of it held for 3 queued job(s); this "
                          "job's estimate is 6.00 SU", msg)
        # Reconciliation with slurmctld binds each hold to its job id.
        end = time.time() + 15
        while True:
            h = self.holds("fc_three")
            if sorted(int(x["job"]) for x in h["holds"]) == sorted(accepted):
                break
            self.assertLess(time.time(), end, h)
            time.sleep(0.3)
        self.assertEqual(h["total"], "18.00")
        # Run them: the account ends at or under its allocation.
        for job in accepted:
            self.c.run(["scontrol", "release", str(job)], check=True)
        for job in accepted:
            self.c.wait_state(job, ("COMPLETED",), timeout=60)
            self.c.wait_charged(job)
        self.c.wait_drained()
        b = self.c.ctl("GET", "/balances")["accounts"]["fc_three"]
        self.assertLessEqual(Decimal(b["usage"]), Decimal("18.00"))
        self.assertGreater(Decimal(b["usage"]), 0)
        self.assertEqual(self.holds("fc_three")["total"], "0.00")

    def test_user_limit_counts_only_the_users_own_holds(self):
        a1, _, _ = self.submit("bankalice", "fc_share")
        a2, _, _ = self.submit("bankalice", "fc_share")
        a3, r, _ = self.submit("bankalice", "fc_share")
        self.assertIsNotNone(a1)
        self.assertIsNotNone(a2)
        self.assertIsNone(a3)
        self.assertIn("uid 47001's share of account fc_share has 12.00 SU "
                      "left, 12.00 SU of it held for their queued jobs",
                      r.stderr)
        # bob's own share is untouched by alice's holds: he fits.
        b1, r, _ = self.submit("bankbob", "fc_share")
        self.assertIsNotNone(b1, r.stderr)
        for job in (a1, a2, b1):
            self.c.run(["scancel", str(job)], check=True)

    def test_cancelled_pending_job_releases_its_hold(self):
        jobs = [self.submit("bankbob", "fc_three")[0] for _ in range(3)]
        self.assertNotIn(None, jobs)
        full, r, _ = self.submit("bankbob", "fc_three")
        self.assertIsNone(full)
        self.c.run(["scancel", str(jobs[0])], check=True)
        end = time.time() + 20
        while Decimal(self.holds("fc_three")["total"]) > Decimal("12.00"):
            self.assertLess(time.time(), end, self.holds("fc_three"))
            time.sleep(0.2)
        again, r, _ = self.submit("bankbob", "fc_three")
        self.assertIsNotNone(again, r.stderr)
        for job in jobs[1:] + [again]:
            self.c.run(["scancel", str(job)], check=True)

    def test_holds_survive_restart_and_vanished_jobs_lose_theirs(self):
        job, r, _ = self.submit("bankalice", "fc_share")
        self.assertIsNotNone(job, r.stderr)
        def ageless(h):
            # A hold's age ticks on across the restart: the rest must not.
            for e in h["holds"]:
                e.pop("age")
            return h

        before = ageless(self.holds("fc_share"))
        self.c.kill9_bankd()
        self.c.start_bankd()
        self.assertEqual(ageless(self.holds("fc_share")), before)
        # A job that passes the check but that slurmctld then refuses
        # (a node feature no node has) leaves a hold no job carries.
        bad, r, _ = self.c.sbatch("bankbob", ["-A", "fc_share", "-p",
                                              "normal", "-C", "nosuch",
                                              "-t", "1"], "true")
        self.assertIsNone(bad)
        self.assertNotIn("bank:", r.stderr)
        def orphans():
            return [x for x in self.holds("fc_share")["holds"]
                    if x["job"] == "0" and x["uid"] == "47002"]
        self.assertEqual(len(orphans()), 1, self.holds("fc_share"))
        end = time.time() + 30
        while orphans():
            self.assertLess(time.time(), end, self.holds("fc_share"))
            time.sleep(0.5)
        self.assertIn("no job carries its token", self.c.log("bankd.log"))
        # The real job kept its hold through all of it.
        self.assertIn(str(job), [x["job"] for x in
                                 self.holds("fc_share")["holds"]])
        self.c.run(["scancel", str(job)], check=True)

    def stuck_child(self, bankd, threads):
        """With slurmctld stopped, the next listing waits, in a child of
        bankd, not in a thread of it: that child, stopped for good."""
        with open(self.c.pidfiles["slurmctld"]) as f:
            ctld = int(f.read().split()[0])
        os.kill(ctld, signal.SIGSTOP)
        try:
            # The same child twice, a second apart: one that waits.
            end, seen = time.time() + 10, set()
            while True:
                kids = set(k[0] for k in children(bankd)
                           if k[2][1:] == ["--list-jobs"])
                if kids & seen:
                    break
                seen = kids
                self.assertLess(time.time(), end, children(bankd))
                time.sleep(1)
            child = (kids & seen).pop()
            # No thread of bankd's waits on slurmctld.
            self.assertLessEqual(tasks(bankd), threads)
            # The child has stdin /dev/null, stdout its pipe, bankd's
            # stderr, and none of bankd's other descriptors.
            fds = fd_targets(child)
            self.assertEqual(fds[0], "/dev/null")
            self.assertTrue(fds[1].startswith("pipe:"), fds)
            theirs = set(fd_targets(bankd).values())
            self.assertEqual([t for fd, t in fds.items()
                              if fd > 2 and t in theirs], [], fds)
            os.kill(child, signal.SIGSTOP)
        finally:
            os.kill(ctld, signal.SIGCONT)
        return child

    def test_reconciler_lists_jobs_in_a_child_that_leaves_nothing(self):
        # libslurm leaks on every listing (docs/reliability.md): bankd
        # lists the jobs in a child, `bankd --list-jobs`, never in itself.
        bankd = self.c.procs["bankd"].pid
        job, r, _ = self.submit("bankalice", "fc_share")
        self.assertIsNotNone(job, r.stderr)
        token = int(self.c.job(job)["AdminComment"].split("bank_hold=")[1])
        # The child's stream, as the reconciler reads it.
        out = subprocess.run([self.c.bankd_bin(), "--list-jobs"],
                             env=self.c.env, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(decode_joblist(out.stdout).get(job), token)
        # Bound by the reconciler: a listing has been read whole.
        end = time.time() + 15
        while str(job) not in [x["job"] for x in
                               self.holds("fc_share")["holds"]]:
            self.assertLess(time.time(), end, self.holds("fc_share"))
            time.sleep(0.2)
        # A hold no job carries, for the reconciler to end later.
        bad, r, _ = self.c.sbatch("bankbob", ["-A", "fc_share", "-p",
                                              "normal", "-C", "nosuch",
                                              "-t", "1"], "true")
        self.assertIsNone(bad)

        def orphans():
            return [x for x in self.holds("fc_share")["holds"]
                    if x["job"] == "0" and x["uid"] == "47002"]
        self.assertEqual(len(orphans()), 1)
        threads = tasks(bankd)
        child = self.stuck_child(bankd, threads)
        self.assertEqual(len(orphans()), 1)
        # A child that never answers is killed at its deadline (30 s) and
        # reaped; meanwhile nothing else is listed, and the hold stays.
        time.sleep(5)
        self.assertEqual([k[0] for k in children(bankd)], [child])
        self.assertEqual(len(orphans()), 1)
        end = time.time() + 40
        while os.path.exists("/proc/%d" % child):
            self.assertLess(time.time(), end, children(bankd))
            time.sleep(0.2)
        # The next try lists the jobs whole and ends the orphan's hold.
        end = time.time() + 15
        while orphans():
            self.assertLess(time.time(), end, self.holds("fc_share"))
            time.sleep(0.2)
        self.assertIn(str(job), [x["job"] for x in
                                 self.holds("fc_share")["holds"]])
        # Nothing is left behind: no zombie, no extra thread.
        for _ in range(3):
            self.assertEqual([k for k in children(bankd) if k[1] == "Z"],
                             [])
            time.sleep(1)
        self.assertLessEqual(tasks(bankd), threads)
        self.c.run(["scancel", str(job)], check=True)

    def test_stopping_bankd_kills_its_listing_child(self):
        job, r, _ = self.submit("bankalice", "fc_share")
        self.assertIsNotNone(job, r.stderr)
        p = self.c.procs["bankd"]
        child = self.stuck_child(p.pid, tasks(p.pid))
        # A child that would never end does not hold bankd's exit, and
        # does not outlive it.
        t0 = time.time()
        self.c.stop_bankd()
        self.assertEqual(p.returncode, 0)
        self.assertLess(time.time() - t0, 9)
        self.assertFalse(os.path.exists("/proc/%d" % child))
        self.c.start_bankd()
        self.c.run(["scancel", str(job)], check=True)

    def test_warm_cache_decides_without_the_api(self):
        first, r, _ = self.submit("bankalice", "fc_cache")
        self.assertIsNotNone(first, r.stderr)
        self.c.ctl("POST", "/stats/reset")
        jobs = []
        for _ in range(3):
            job, r, _ = self.submit("bankalice", "fc_cache")
            self.assertIsNotNone(job, r.stderr)
            jobs.append(job)
        self.assertEqual(self.c.stats()["can_submit_job"], 0)
        self.assertEqual(len(logfmt(self.c.log("bankd.log"),
                                    event="decision", account="fc_cache",
                                    partition="normal", outcome="accept",
                                    source="cache")), 3)
        r = self.c.bankctl("check", "bankalice", "fc_cache", "5.00")
        self.assertIn("cache", r.stdout)
        self.assertEqual(self.c.stats()["can_submit_job"], 0)
        for job in [first] + jobs:
            self.c.run(["scancel", str(job)], check=True)

    def test_array_holds_every_task_until_each_is_counted(self):
        args = ["-A", "fc_cache"] + JOB + ["--hold", "--array=0-2"]
        job, r, _ = self.c.sbatch("bankalice", args, "sleep 1")
        self.assertIsNotNone(job, r.stderr)
        # The check and the hold cover the whole array: 3 x 6.00.
        self.assertEqual(self.holds("fc_cache")["total"], "18.00")
        self.c.run(["scontrol", "release", str(job)], check=True)
        end = time.time() + 60
        while True:
            # One reading a turn: the last task may be counted between
            # two (CI: "Decimal('0.00') not found" in the second).
            held = self.holds("fc_cache")
            total = Decimal(held["total"])
            if total == 0:
                break
            # Each task's share ends when that task is counted, not the
            # whole array at the first task.
            self.assertIn(total, (Decimal("18.00"), Decimal("12.00"),
                                  Decimal("6.00")))
            self.assertLess(time.time(), end, held)
            time.sleep(0.1)
        self.assertIn("every task of the array was delivered",
                      self.c.log("bankd.log"))

    def test_cached_policy_answers_an_outage_from_what_is_known(self):
        self.c.stop_bankd()
        with open(self.c.path("bank.yaml")) as f:
            conf = f.read()
        try:
            with open(self.c.path("bank.yaml"), "w") as f:
                f.write(conf.replace("on_api_unavailable: allow",
                                     "on_api_unavailable: cached\n"
                                     "  on_unknown: deny"))
            self.c.start_bankd()
            job, r, _ = self.submit("bankbob", "fc_three")  # learns
            self.assertIsNotNone(job, r.stderr)
            self.c.ctl("POST", "/faults", {"refuse": True})
            # Known: fc_three has room for a couple more of these.
            ok, r, _ = self.submit("bankbob", "fc_three")
            self.assertIsNotNone(ok, r.stderr)
            # Unknown: an account never asked about is denied.
            no, r, _ = self.submit("bankalice", "fc_alpha")
            self.assertIsNone(no)
            # The setting that decided is named: on_unknown, not only
            # on_api_unavailable.
            self.assertIn("nothing is known of account fc_alpha yet; policy "
                          "on_unknown=deny (on_api_unavailable=cached)",
                          r.stderr)
            for j in (job, ok):
                self.c.run(["scancel", str(j)], check=True)
        finally:
            self.c.ctl("POST", "/faults/clear")
            self.c.stop_bankd()
            with open(self.c.path("bank.yaml"), "w") as f:
                f.write(conf)
            self.c.start_bankd()


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
