"""End to end on a real Slurm: a job is priced, checked, reported and charged
through bankd.  Every scenario asserts amounts to the cent, job states or
the message a user sees.

    python3 tests/e2e/test_skeleton.py BUILD_DIR
"""

import os
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, cost, logfmt  # noqa: E402

BUILD = None


class Skeleton(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BUILD).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def setUp(self):
        # Each scenario starts with bankd up and no faults in the API.
        if "bankd" not in self.c.procs:
            self.c.start_bankd()
        self.c.ctl("POST", "/faults/clear")

    def run_to_end(self, job):
        j = self.c.wait_state(job, ("COMPLETED", "CANCELLED", "FAILED",
                                    "TIMEOUT"))
        return j, self.c.wait_charged(job)

    def test_affordable_job_is_charged_its_actual_cost(self):
        before = self.c.usage("fc_alpha")
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "10"], "sleep 3")
        self.assertIsNotNone(job, r.stderr)
        j, stored = self.run_to_end(job)
        self.assertEqual(j["JobState"], "COMPLETED")
        cpus = int(j["NumCPUs"])
        actual = cost(PRICES["normal"], cpus, self.c.elapsed(j))
        estimate = cost(PRICES["normal"], cpus, 10 * 60)
        self.assertGreater(actual, 0)
        self.assertNotEqual(actual, estimate)
        self.assertEqual(Decimal(stored["amount"]), actual)
        self.assertEqual(self.c.usage("fc_alpha") - before, actual)
        self.assertEqual(stored["jobstatus"], "COMPLETED")
        self.assertEqual(stored["partition"], "normal")
        self.assertEqual([n["name"] for n in stored["nodes"]], [self.c.host])

    def test_unaffordable_job_is_refused_with_our_message(self):
        before = self.c.usage("fc_poor")
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_poor", "-p",
                                                "normal", "-n", "1", "-t",
                                                "60"])
        self.assertIsNone(job)
        self.assertEqual(r.returncode, 1)
        # In our words: what is left, and this job's own estimate.
        self.assertIn("bank: job refused: account fc_poor has 1.00 SU left; "
                      "this job's estimate is 360.00 SU (1 CPUs x 1h00m on "
                      "normal at 360 SU/CPU-hour)", r.stderr)
        self.assertEqual(self.c.usage("fc_poor"), before)

    def test_free_partition_runs_without_api_call(self):
        self.c.ctl("POST", "/stats/reset")
        job, r, _ = self.c.sbatch("bankbob", ["-p", "debug"], "sleep 1")
        self.assertIsNotNone(job, r.stderr)
        j = self.c.wait_state(job, ("COMPLETED",))
        self.assertEqual(j["JobState"], "COMPLETED")
        time.sleep(1)       # give a (wrong) report time to arrive
        s = self.c.stats()
        self.assertEqual((s["can_submit_job"], s["jobs_post"],
                          s["jobs_put"]), (0, 0, 0), s)

    def test_job_without_ntasks_is_priced_above_zero(self):
        job, r, _ = self.c.sbatch("bankbob", ["-A", "fc_alpha", "-p",
                                              "normal", "-t", "5"], "true")
        self.assertIsNotNone(job, r.stderr)
        j = self.c.wait_state(job, ("COMPLETED",))
        # What bankd asked the API: 360 SU/h x 1 CPU x 5 min = 30.00.
        self.assertIn("/can_submit_job/30.00/47002/fc_alpha/",
                      self.c.log("sim.log"))
        stored = self.c.wait_charged(job)
        self.assertEqual(Decimal(stored["amount"]),
                         cost(PRICES["normal"], int(j["NumCPUs"]),
                              self.c.elapsed(j)))

    def test_cancelled_running_job_pays_for_the_time_it_ran(self):
        before = self.c.usage("fc_alpha")
        job, r, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "10"], "sleep 120")
        self.assertIsNotNone(job, r.stderr)
        self.c.wait_state(job, ("RUNNING",))
        time.sleep(3)
        self.c.run(["scancel", str(job)], user="bankalice", check=True)
        j, stored = self.run_to_end(job)
        self.assertEqual(j["JobState"], "CANCELLED")
        actual = cost(PRICES["normal"], int(j["NumCPUs"]), self.c.elapsed(j))
        self.assertGreaterEqual(self.c.elapsed(j), 3)
        self.assertEqual(stored["jobstatus"], "CANCELLED")
        self.assertEqual(Decimal(stored["amount"]), actual)
        self.assertEqual(self.c.usage("fc_alpha") - before, actual)

    def test_submission_succeeds_within_deadline_when_bankd_is_down(self):
        self.c.stop_bankd()
        job, r, took = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                   "normal", "-t", "5"],
                                     "true")
        self.assertIsNotNone(job, r.stderr)
        # The plugin's deadline is 1 s; sbatch itself adds well under 1 s.
        self.assertLess(took, 2.0)
        self.assertIn("job from uid 47001 allowed without a check",
                      self.c.log("slurmctld.log"))
        self.c.wait_state(job, ("COMPLETED",))


    def status_json(self):
        import json
        r = self.c.bankctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_plugins_keep_their_connection_across_a_bankd_restart(self):
        # Held jobs: no start report; each ends only when cancelled below.
        args = ["-A", "fc_alpha", "-p", "normal", "-t", "2", "--hold"]
        jobs = []
        for _ in range(3):
            job, r, _ = self.c.sbatch("bankbob", args, "true")
            self.assertIsNotNone(job, r.stderr)
            jobs.append(job)
        self.c.stop_bankd()
        self.c.start_bankd()
        policy = self.c.log("slurmctld.log").count("without a check")
        mark = len(self.c.log("bankd.log"))
        job, r, took = self.c.sbatch("bankbob", args, "true")
        self.assertIsNotNone(job, r.stderr)
        jobs.append(job)
        # job_submit noticed its stale connection and made a new one:
        # bankd decided (no policy fallback), quickly.
        self.assertLess(took, 2.0)
        self.assertEqual(self.c.log("slurmctld.log").count("without a check"),
                         policy)
        self.assertTrue(logfmt(self.c.log("bankd.log")[mark:],
                               event="decision", uid=47002,
                               account="fc_alpha", partition="normal",
                               outcome="accept"),
                        self.c.log("bankd.log")[mark:])
        # Open now: job_submit's kept connection and bankctl's own (no job
        # has ended since the restart, so jobcomp has not come back yet).
        self.assertEqual(self.status_json()["clients"], "2")
        for j in jobs:
            self.c.run(["scancel", str(j)], check=True)
        # Four completions later, jobcomp holds one more, and only one.
        end = time.time() + 10
        while time.time() < end and self.status_json()["clients"] != "3":
            time.sleep(0.2)
        self.assertEqual(self.status_json()["clients"], "3")
        self.c.wait_drained()

    def test_several_partitions_are_priced_at_the_dearest(self):
        job, r, _ = self.c.sbatch("bankbob", ["-A", "fc_alpha", "-p",
                                              "debug,normal", "-n", "2",
                                              "-t", "3"], "true")
        self.assertIsNotNone(job, r.stderr)
        # 360 SU/h (normal, not the free debug) x 2 CPUs x 3 min = 36.00
        self.assertIn("/can_submit_job/36.00/47002/fc_alpha/",
                      self.c.log("sim.log"))
        j = self.c.wait_state(job, ("COMPLETED", "FAILED", "CANCELLED",
                                    "TIMEOUT"))
        if j["Partition"] == "debug":
            # It ran in the free one: nothing to charge, nothing reported.
            self.c.wait_drained()
            self.assertIsNone(self.c.sim_job(job))
        else:
            # Reported with the partition it ran in, not the list.
            self.assertEqual(self.c.wait_charged(job)["partition"],
                             j["Partition"])

    def test_priced_partition_without_account_is_refused(self):
        job, r, _ = self.c.sbatch("bankbob", ["-p", "normal", "-t", "5"],
                                  "true")
        self.assertIsNone(job)
        self.assertIn("no account was given: submit with -A/--account",
                      r.stderr)

    def test_api_answering_garbage_applies_the_policy(self):
        self.c.ctl("POST", "/faults", {"garbage": True,
                                       "path_prefix": "/can_submit_job/"})
        job, r, _ = self.c.sbatch("bankbob", ["-A", "fc_alpha", "-p",
                                              "normal", "-t", "2"], "true")
        self.c.ctl("POST", "/faults/clear")
        self.assertIsNotNone(job, r.stderr)     # on_api_unavailable: allow
        self.assertIn("non-JSON body", self.c.log("bankd.log"))
        self.assertIn("policy on_api_unavailable=allow",
                      self.c.log("bankd.log"))
        self.run_to_end(job)

    def test_malformed_frame_is_refused_and_nothing_is_lost(self):
        import socket as so
        s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        s.connect(self.c.path("bankd.sock"))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.settimeout(5)
        self.assertEqual(s.recv(100), b"")      # closed, no reply
        s.close()
        self.assertIn("not a bankproto frame", self.c.log("bankd.log"))
        st = self.c.bankctl("status")
        self.assertEqual(st.returncode, 0, st.stderr)
        self.assertRegex(st.stdout, r"api\s+reachable")
        self.assertRegex(st.stdout, r"queue\s+0")

    def test_pipelined_requests_get_every_reply_in_order(self):
        # 3000 status requests in one write, read only after bankd has
        # filled the socket: replies wait in bankd, none lost or reordered.
        import socket as so
        import struct
        n = 3000
        s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        s.connect(self.c.path("bankd.sock"))
        s.sendall(b"".join(struct.pack(">2sBBII", b"BK", 1, 1, i, 0)
                           for i in range(1, n + 1)))
        time.sleep(1)
        s.settimeout(10)
        buf, ids, total = b"", [], 0
        while len(ids) < n:
            chunk = s.recv(65536)
            self.assertTrue(chunk, "bankd closed after %d replies" % len(ids))
            buf += chunk
            while len(buf) >= 12:
                magic, ver, typ, rid, blen = struct.unpack(">2sBBII",
                                                           buf[:12])
                if len(buf) < 12 + blen:
                    break
                self.assertEqual((magic, typ), (b"BK", 0x81))
                self.assertIn(b"status=ok\n", buf[12:12 + blen])
                ids.append(rid)
                total += 12 + blen
                buf = buf[12 + blen:]
        s.close()
        self.assertEqual(ids, list(range(1, n + 1)))
        # More than a Unix socket holds (net.core.wmem_default, 208 KiB):
        # bankd stopped reading until the client caught up.
        self.assertGreater(total, 2 * 212992)
        self.assertIn("bytes of replies unread", self.c.log("bankd.log"))

    def test_sighup_reloads_prices_and_refuses_a_broken_file(self):
        import signal
        path = self.c.path("bank.yaml")
        with open(path) as f:
            good = f.read()
        bankd = self.c.procs["bankd"]

        def estimate():
            # -S: bankctl itself would refuse the broken file.
            r = self.c.run([os.path.join(self.c.build, "bankctl", "bankctl"),
                            "-S", self.c.path("bankd.sock"), "estimate",
                            "-p", "normal", "-n", "1", "-t", "60"])
            return r.stdout

        def hup_and_wait(marker):
            n = self.c.log("bankd.log").count(marker)
            bankd.send_signal(signal.SIGHUP)
            end = time.time() + 10
            while self.c.log("bankd.log").count(marker) == n:
                self.assertLess(time.time(), end, "no '%s'" % marker)
                time.sleep(0.05)

        try:
            with open(path, "w") as f:
                f.write(good.replace('normal: "360.00"', 'normal: "720.00"'))
            hup_and_wait(" event=reload ")
            self.assertRegex(estimate(), r"estimate\s+720.00")
            with open(path, "w") as f:
                f.write(good.replace('normal: "360.00"', 'normal: "12,5"'))
            hup_and_wait("reload refused")
            self.assertIn("price of normal '12,5'", self.c.log("bankd.log"))
            self.assertRegex(estimate(), r"estimate\s+720.00")
        finally:
            with open(path, "w") as f:
                f.write(good)
            hup_and_wait(" event=reload ")
        self.assertRegex(estimate(), r"estimate\s+360.00")
        self.assertIsNone(bankd.poll())

    def test_bankctl_estimate_prices_like_bankd(self):
        r = self.c.bankctl("estimate", "-p", "normal", "-n", "3", "-c", "2",
                           "-t", "1:30:00")
        self.assertEqual(r.returncode, 0, r.stderr)
        # 360 x 6 CPUs x 1.5 h
        self.assertRegex(r.stdout, r"estimate\s+3240.00")
        self.assertRegex(r.stdout, r"cpus\s+6")


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
