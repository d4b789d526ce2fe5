"""End to end on several hosts (issue 13 item 5): slurmctld and bankd on
ctl, a standby bankd on ctl2, slurmd and a relay on c1 and c2, a relay on
login, the API simulator on api (tests/e2e/multihost.py builds them).
Every scenario ends checked to the cent against the simulator: each job's
stored amount is its actual cost from Slurm's own record, the account's
usage moved by exactly their sum, the POSTs are one per job, and nothing
is left in a queue, a relay's backlog, a spool or among the dead letters.

  a. a job on c1: its start report reaches the API while it runs (the
     estimate), the completion corrects it; a 2-node job is reported once;
  b. no controller bankd while 10 jobs start and end on c1/c2: the relays
     hold the start reports, slurmctld's completions spool on ctl; all
     charged once when it is back;
  c. kill -9 of the relay on c2 mid-forward, and c2's cable cut while
     acknowledgements are on their way (the controller meanwhile
     delivers, compacts its journal and restarts): nothing lost, nothing
     doubled; a node whose relay is down spools, the relay takes it in;
  d. a user on c1 talking TCP to the controller with their own MUNGE
     credential cannot report or change the queue; a replay is refused;
  e. `bankctl estimate` and `balance` on login answer as on ctl;
  f. the active bankd killed -9 while jobs run: the standby on ctl2 takes
     over and every charge arrives once; the old one waits as standby;
  g. and back: ctl2 killed -9 while jobs start and end, ctl takes over.

    python3 tests/e2e/test_cluster.py BUILD_DIR
"""

import json
import os
import shutil
import signal
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PRICES, cost, logfmt  # noqa: E402
import multihost  # noqa: E402
from multihost import MultiCluster, addr, TCP_PORT  # noqa: E402

BUILD = None
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")
ALICE, BOB = "bankalice", "bankbob"
NORMAL = ["-A", "fc_alpha", "-p", "normal", "-n", "1", "-t", "5"]
PY = "/usr/bin/python3"     # a test user cannot run root's pyenv shim


def supports():
    """What the bankd under test can do: role relay (r13-relay), the
    state_dir lock (r13-upstream), relayed peers (r13-upstream)."""
    b = os.environ.get("BANKD_BIN") or os.path.join(BUILD, "bankd", "bankd")
    with open(b, "rb") as f:
        blob = f.read()
    return {"relay": b"queued on relay" in blob,
            "standby": b"took over state_dir" in blob,
            "peer": b"may speak for another uid" in blob}


class ClusterSuite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.has = supports()
        cls.t0 = time.time()
        # Holds of checks answered after slurmctld stopped waiting (c:
        # the controller stopped) belong to no job: reconciled soon.
        cls.c = MultiCluster(BUILD, relays=cls.has["relay"],
                             standby=cls.has["standby"], reconcile_s=5,
                             grace_s=10).start()
        cls.c.active = "ctl"
        print("\nhosts up in %.1f s (relays: %s, standby: %s)" % (
            time.time() - cls.t0, cls.has["relay"], cls.has["standby"]),
            file=sys.stderr)
        tools = cls.c.path("tools")
        os.makedirs(tools, mode=0o755)
        for f in ("hostile_client.py", "tcp_as_user.py", "fill_reports.py"):
            shutil.copy(os.path.join(os.path.dirname(
                os.path.abspath(__file__)), f), tools)
        cls.client = os.path.join(tools, "tcp_as_user.py")
        cls.filler = 900001     # made-up job ids: fill_reports.py

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def need(self, *what):
        """A scenario of a part this bankd lacks fails, saying which;
        BANK_MH_PARTIAL=1 skips it instead (a tree with only some of
        issue 13 in it)."""
        missing = [w for w in what if not self.has[w]]
        if not missing:
            return
        why = "this bankd lacks %s" % ", ".join(
            {"relay": "role: relay", "standby": "the state_dir lock",
             "peer": "relayed peers"}[w] for w in missing)
        if os.environ.get("BANK_MH_PARTIAL"):
            self.skipTest(why)
        self.fail(why + " (BANK_MH_PARTIAL=1 skips such scenarios)")

    def part(self, what):
        """Whether to check what needs `what` within a scenario: yes if
        this bankd has it; no under BANK_MH_PARTIAL; else a failure."""
        if self.has[what] or os.environ.get("BANK_MH_PARTIAL"):
            return self.has[what]
        self.need(what)

    def setUp(self):
        # Whatever a failed scenario left: every daemon up, every cable
        # in, everything delivered, before this one counts anything.
        for h in multihost.HOSTS:
            self.c.link(h, up=True)
        if self.c.active == "ctl" and "bankd@ctl" not in self.c.procs:
            self.c.start_bankd("ctl")
        if self.has["standby"] and "bankd@ctl2" not in self.c.procs:
            self.c.start_bankd("ctl2")
        for h in multihost.RELAYS if self.has["relay"] else ():
            if "relay@" + h not in self.c.procs:
                self.c.start_relay(h)
        self.wait_settled()
        self.c.ctl("POST", "/faults/clear")
        self.c.ctl("POST", "/stats/reset")
        self.before = self.c.usage("fc_alpha")
        self.filler_puts = 0
        self.t_test = time.time()

    def tearDown(self):
        print("(%.1f s)" % (time.time() - self.t_test), end=" ",
              file=sys.stderr, flush=True)

    # ---- helpers ------------------------------------------------------
    def submit(self, nodes, script="sleep 1", args=NORMAL, user=ALICE):
        """One job per entry of nodes ("c1", "c2", "c1,c2"); job ids."""
        jobs = []
        for w in nodes:
            n = len(w.split(","))
            extra = ["-w", w, "-N", str(n)] + (
                ["-n", str(n), "--ntasks-per-node", "1"] if n > 1 else [])
            job, r, _ = self.c.sbatch(user, args + extra, script)
            self.assertIsNotNone(job, r.stderr)
            jobs.append(job)
        return jobs

    def costs(self, jobs, timeout=120):
        """Each job's actual cost from Slurm's record, once it ended."""
        out = {}
        for job in jobs:
            j = self.c.wait_state(job, ENDED, timeout=timeout)
            self.assertEqual(j["JobState"], "COMPLETED", j)
            out[job] = cost(PRICES["normal"], int(j["NumCPUs"]),
                            self.c.elapsed(j))
        return out

    def relay_status(self, host):
        return self.c.status_on(host)

    def wait_for(self, what, pred, timeout=30):
        end = time.time() + timeout
        while True:
            v = pred()
            if v:
                return v
            self.assertLess(time.time(), end, "timed out waiting for " +
                            what)
            time.sleep(0.2)

    def wait_settled(self, timeout=90):
        """Until the active controller's queue and spool are empty and
        every relay's backlog is 0; their statuses."""
        end = time.time() + timeout
        while True:
            st = {self.c.active: self.c.status_on(self.c.active)}
            # Holds too: each job's is released by its completion.
            ok = st[self.c.active]["queue"] == "0" and \
                st[self.c.active]["spool"] == "0" and \
                st[self.c.active]["holds"] == "0"
            if self.has["relay"]:
                for h in multihost.RELAYS:
                    st[h] = self.relay_status(h)
                    ok = ok and st[h]["backlog"] == "0" and \
                        st[h]["spool"] == "0"
            if ok:
                return st
            if time.time() > end:
                self.fail("never settled: %s\n%s" % (
                    json.dumps(st, indent=1),
                    self.c.bankctl_on(self.c.active, "queue").stdout))
            time.sleep(0.2)

    def assert_charged_once(self, costs, exact_calls=True):
        """Every job stored at its actual cost, the usage moved by their
        sum, one PUT per job and at most one POST (exact_calls=False: a
        crash may repeat a call the controller had made but not yet
        journaled as done), no dead letters anywhere."""
        for job in costs:
            self.c.wait_charged(job, timeout=90)
        st = self.wait_settled()
        for job, amount in costs.items():
            stored = self.c.sim_job(job)
            self.assertEqual(Decimal(stored["amount"]), amount, "job %d: %s"
                             % (job, stored))
            self.assertEqual(stored["jobstatus"], "COMPLETED")
        self.assertEqual(self.c.usage("fc_alpha") - self.before,
                         sum(costs.values()))
        for h, s in st.items():
            self.assertEqual(s["dead"], "0", "dead letters on %s: %s" %
                             (h, s))
        # A completion is one PUT; its start one POST, or none when the
        # completion replaced it before it was sent (docs/delivery.md).
        stats = self.c.stats()
        if exact_calls:
            self.assertEqual(stats["jobs_put"], len(costs) +
                             self.filler_puts, stats)
            self.assertLessEqual(stats["jobs_post"], len(costs), stats)
        return st

    def backlog(self, host):
        return int(self.relay_status(host)["backlog"])

    # ---- the hosts themselves ---------------------------------------
    def test_0_hosts(self):
        """Each host has its name, its own /run, no default route; jobs
        sent from ctl run on c1 and c2."""
        for h in multihost.HOSTS:
            r = self.c.run_on(h, ["sh", "-c", "hostname; ip route; "
                                  "ls /run"])
            lines = r.stdout.splitlines()
            self.assertEqual(lines[0], h)
            self.assertNotIn("default", r.stdout)
            self.assertIn("%s.0/24 dev eth0" % multihost.NET, r.stdout)
            self.assertIn("bankd", lines)
        self.assertFalse(os.path.exists("/run/bankd/bankd.sock") and
                         os.path.samefile("/run/bankd/bankd.sock",
                                          self.c.hostdir("ctl", "run",
                                                         "bankd",
                                                         "bankd.sock")))
        jobs = self.submit(["c1", "c2", "c1,c2"], "hostname")
        for job, where in zip(jobs, ["c1", "c2", "c1,c2"]):
            j = self.c.wait_state(job, ENDED)
            self.assertEqual(j["JobState"], "COMPLETED", j)
            self.assertEqual(j["NodeList"], "c[1-2]" if "," in where
                             else where)
            self.assertEqual(j["BatchHost"], where.split(",")[0])
        st = self.c.status_on("ctl")
        self.assertEqual(st["status"], "ok")
        self.assertEqual(st["dead"], "0")

    # ---- a. reports from a compute node ----------------------------
    def test_a_start_report_from_c1_then_completion(self):
        self.need("relay")
        job, = self.submit(["c1"], "sleep 6")
        j = self.c.wait_state(job, ("RUNNING",))
        estimate = cost(PRICES["normal"], int(j["NumCPUs"]), 5 * 60)
        # While it runs the portal shows the estimate, reported by c1's
        # relay (the controller never runs the job's prolog).
        stored = self.wait_for("the start report at the API", lambda: (
            self.c.sim_job(job) or {}).get("startdate") and
            self.c.sim_job(job), timeout=10)
        self.assertEqual(self.c.job(job)["JobState"], "RUNNING")
        self.assertEqual(Decimal(stored["amount"]), estimate)
        self.assertEqual(stored["jobstatus"], "RUNNING")
        self.assertIsNone(stored["enddate"])
        self.assertEqual([n["name"] for n in stored["nodes"]], ["c1"])
        self.assertIn("spank_bank", self.c.hostlog("c1", "slurmd.log"))
        st = self.relay_status("c1")
        self.assertEqual(st["role"], "relay")
        self.assertEqual(st["upstream"], "%s:%d" % (addr("ctl"), TCP_PORT))
        self.assertGreaterEqual(int(st["forwarded"]), 1)
        costs = self.costs([job])
        self.assertNotEqual(costs[job], estimate)
        self.assert_charged_once(costs)
        s = self.c.stats()
        self.assertEqual((s["jobs_post"], s["jobs_put"]), (1, 1), s)

    def test_a_two_node_job_is_reported_once(self):
        self.need("relay")
        c2_before = self.relay_status("c2")["forwarded"]
        job, = self.submit(["c1,c2"], "sleep 2")
        costs = self.costs([job])
        st = self.assert_charged_once(costs)
        stored = self.c.sim_job(job)
        self.assertEqual(sorted(n["name"] for n in stored["nodes"]),
                         ["c1", "c2"])
        s = self.c.stats()
        self.assertEqual((s["jobs_post"], s["jobs_put"]), (1, 1), s)
        # Reported by c1, its first node, only (PrologFlags=Alloc runs
        # the job prolog on c2 as well).
        self.assertEqual(st["c2"]["forwarded"], c2_before)

    # ---- b. no controller bankd ----------------------------------------
    def test_b_controller_down_relays_hold_ctl_spools(self):
        self.need("relay")
        if self.has["standby"]:
            self.c.stop_daemon("bankd@ctl2")    # or it would take over
        self.c.stop_daemon("bankd@ctl")
        try:
            where = ["c1", "c2"] * 5
            jobs = self.submit(where, "sleep 1")
            costs = self.costs(jobs)
            # Every start report held by the relay of the job's node...
            self.wait_for("the relays to hold all 10 start reports",
                          lambda: self.backlog("c1") == 5 and
                          self.backlog("c2") == 5, timeout=20)
            for h in ("c1", "c2"):
                st = self.relay_status(h)
                self.assertEqual(st["upstream_ok"], "0", st)
                self.assertEqual(st["dead"], "0", st)
                self.assertGreaterEqual(int(st["oldest_s"]), 1, st)
                q = self.c.bankctl_on(h, "queue")
                self.assertEqual(q.returncode, 0, q.stderr)
                for job, w in zip(jobs, where):
                    if w == h:
                        self.assertRegex(q.stdout, r"\b%d\s+start\b" % job)
            # ... every completion spooled by slurmctld's jobcomp on ctl.
            self.wait_for("10 completions in ctl's spool", lambda: len(
                os.listdir(self.c.path("shared/spool"))) == 10, timeout=20)
            # A query from login says no controller answered, naming both.
            r = self.c.bankctl_on("login", "estimate", "-p", "normal",
                                  user=ALICE)
            self.assertRegex(r.stdout, r"status\s+unavailable")
            self.assertEqual(r.returncode, 1, "no answer is a failure")
            self.assertIn("no controller bankd answered (tried "
                          "%s:%d, %s:%d)" % (addr("ctl"), TCP_PORT,
                                             addr("ctl2"), TCP_PORT),
                          r.stdout + r.stderr)
            self.assertEqual(self.c.stats()["jobs_post"], 0)
        finally:
            self.c.start_bankd("ctl")
            if self.has["standby"]:
                self.c.start_bankd("ctl2")
        self.assert_charged_once(costs)

    # ---- c. a relay killed mid-forward, a cable cut ----------------------
    def stop_controller(self):
        """SIGSTOP: the controller's kernel still takes the relays'
        connections and frames; nothing is answered until SIGCONT."""
        os.kill(self.c.pids["bankd@ctl"], signal.SIGSTOP)

    def cont_controller(self):
        os.kill(self.c.pids["bankd@ctl"], signal.SIGCONT)

    def test_c_relay_killed_mid_forward(self):
        self.need("relay")
        self.stop_controller()
        try:
            jobs = self.submit(["c2"] * 4, "sleep 1")
            self.wait_for("c2's relay to hold 4 reports in flight",
                          lambda: self.backlog("c2") == 4, timeout=20)
            self.c.kill9("relay@c2")
            # A query through login's relay meanwhile: no answer from
            # ctl within timeout_ms, none from ctl2 (the standby does not
            # listen): unavailable, in about 2 s.
            t0 = time.time()
            r = self.c.bankctl_on("login", "estimate", "-p", "normal",
                                  user=ALICE)
            took = time.time() - t0
            self.assertRegex(r.stdout, r"status\s+unavailable")
            self.assertEqual(r.returncode, 1, "no answer is a failure")
            self.assertIn("no controller bankd answered", r.stdout)
            self.assertLess(took, 5.0)
        finally:
            self.cont_controller()
        # The controller reads what the dead relay had sent (its
        # acknowledgements go nowhere); the new relay sends it all again.
        time.sleep(1)
        seen = len(self.c.hostlog("c2", "relay.log"))
        self.c.start_relay("c2")
        costs = self.costs(jobs)
        self.assert_charged_once(costs)
        log = self.c.hostlog("c2", "relay.log")[seen:]
        self.assertIn("relay: 4 report(s) held from before", log)
        for job in jobs:
            self.assertTrue(logfmt(log, job=job, event="delivery",
                                   kind="start", outcome="dup"), log)

    def restart_controller(self):
        """ctl's bankd stopped and started again, the standby kept out of
        the way meanwhile (it would take over)."""
        if self.has["standby"]:
            self.c.stop_daemon("bankd@ctl2")
        self.c.stop_daemon("bankd@ctl")
        self.c.start_bankd("ctl")
        if self.has["standby"]:
            self.c.start_bankd("ctl2")

    def compact_controller(self):
        """Enough made-up completions (0.00 SU each) delivered that the
        controller's journal compacts itself (at 1 MiB, about 1,500 of
        them); returns once it has and they are all delivered."""
        seen = len(self.c.hostlog("ctl", "bankd.log"))
        fill = os.path.join(self.c.path("tools"), "fill_reports.py")
        r = self.c.run_on("ctl", [PY, fill, multihost.RUN_SOCKET,
                                  str(self.filler), "1700", "fc_alpha",
                                  "47002"])
        type(self).filler += 1700
        self.assertEqual(json.loads(r.stdout), {"ok": 1700}, r.stderr)
        self.wait_for("the journal to compact", lambda: "journal "
                      "compacted" in self.c.hostlog("ctl", "bankd.log")[
                          seen:], timeout=60)
        self.wait_for("the fillers delivered", lambda: self.c.status_on(
            "ctl")["queue"] == "0", timeout=60)
        self.filler_puts += 1700      # one PUT each, counted with the rest

    def test_c_cable_cut_while_acknowledgements_travel(self):
        """The controller takes the reports, delivers them to the API,
        compacts its journal and restarts while its acknowledgements are
        lost in the cut; the relay sends them all again after: each is a
        duplicate, no second charge."""
        self.need("relay")
        seen = len(self.c.hostlog("c2", "relay.log"))
        self.stop_controller()
        cut = False
        try:
            jobs = self.submit(["c2"] * 4, "sleep 1")
            self.wait_for("c2's relay to hold 4 reports in flight",
                          lambda: self.backlog("c2") == 4, timeout=20)
            self.c.link("c2", up=False)
            cut = True
            self.cont_controller()
            self.wait_for("the 4 start reports at the API", lambda: all(
                (self.c.sim_job(j) or {}).get("startdate") for j in jobs))
            self.compact_controller()
            self.restart_controller()
            # The relay's attempts time out (timeout_ms 2000) and fail.
            time.sleep(3)
            st = self.relay_status("c2")
            self.assertEqual(st["backlog"], "4", st)
            self.assertEqual(st["upstream_ok"], "0", st)
            self.assertGreaterEqual(int(st["oldest_s"]), 3, st)
        finally:
            self.cont_controller()
            if cut:
                self.c.link("c2", up=True)
        costs = self.costs(jobs)
        self.assert_charged_once(costs)
        # It was what it claims: each sent again, each a duplicate.
        log = self.c.hostlog("c2", "relay.log")[seen:]
        for job in jobs:
            self.assertTrue(logfmt(log, job=job, event="delivery",
                                   kind="start", outcome="dup"), log)

    def test_c_relay_down_the_node_spools(self):
        """No relay on c1 when a job starts there: spank spools on c1 and
        the relay, back, takes it in."""
        self.need("relay")
        self.c.kill9("relay@c1")
        try:
            job, = self.submit(["c1"], "sleep 3")
            self.c.wait_state(job, ("RUNNING",))
            self.wait_for("the start report in c1's spool", lambda: any(
                "-start-%d-" % job in f for f in os.listdir(
                    self.c.hostdir("c1", "run", "bank-spool"))), timeout=10)
        finally:
            self.c.start_relay("c1")
        self.wait_for("the start report at the API", lambda: (
            self.c.sim_job(job) or {}).get("startdate"), timeout=15)
        costs = self.costs([job])
        self.assert_charged_once(costs)
        s = self.c.stats()
        self.assertEqual((s["jobs_post"], s["jobs_put"]), (1, 1), s)

    # ---- d. a user speaking TCP to the controller ----------------------
    def user_tcp(self, user, host, typ, times, fields):
        r = self.c.run_on(host, [PY, self.client, addr(self.c.active),
                                 str(TCP_PORT), self.c.munge_socket, typ,
                                 str(times)] +
                          ["%s=%s" % kv for kv in fields], user=user)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_d_user_on_c1_cannot_report_or_touch_the_queue(self):
        now = int(time.time())
        start = [("job_id", "990001"), ("uid", "47001"),
                 ("account", "fc_alpha"), ("partition", "normal"),
                 ("cpus", "1"), ("nodes", "c1"), ("num_nodes", "1"),
                 ("submit", str(now - 10)), ("start", str(now - 5)),
                 ("time_limit", "1")]
        first, again = self.user_tcp(ALICE, "c1", "start", 2, start)
        self.assertEqual(first["status"], "error", first)
        self.assertEqual(first["message"], "permission denied: only root "
                         "and the SlurmUser may report jobs")
        self.assertEqual(again["status"], "error", again)
        self.assertIn("used before (a replay)", again["message"])
        # A query is answered the first time only.
        est = [("partitions", "normal"), ("num_tasks", "2")]
        first, again = self.user_tcp(ALICE, "c1", "estimate", 2, est)
        self.assertEqual(first["status"], "ok", first)
        self.assertIn("used before (a replay)", again["message"])
        # bankctl over TCP, as the user: the queue's commands refused.
        env = dict(self.c.env, BANK_MUNGE_SOCKET=self.c.munge_socket)
        tcp = "tcp:%s:%d" % (addr(self.c.active), TCP_PORT)
        for cmd in (["pause"], ["retry", "--all"], ["drop", "1"]):
            r = self.c.run_on("c1", [os.path.join(BUILD, "bankctl",
                                                  "bankctl"), "-S", tcp] +
                              cmd, user=ALICE, env=env)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("permission denied", r.stdout + r.stderr)
        if self.part("peer"):
            # Nor may the user speak for another uid (a relay's field).
            rep, = self.user_tcp(ALICE, "c1", "balance", 1,
                                 [("account", "fc_alpha"),
                                  ("peer_uid", "47002"),
                                  ("peer_gid", "100")])
            self.assertEqual(rep["status"], "error", rep)
            self.assertIn("refused: only root or the SlurmUser (a relay) "
                          "may speak for another uid", rep["message"])
        if self.part("relay"):
            # Nor through the relays' sockets: no report from the user,
            # no speaking for another uid.
            hc = os.path.join(self.c.path("tools"), "hostile_client.py")
            r = self.c.run_on("c1", [PY, hc, multihost.RUN_SOCKET, "ask",
                                     "start"] + ["%s=%s" % kv
                                                 for kv in start],
                              user=ALICE)
            rep = json.loads(r.stdout)["reply"]
            self.assertEqual(rep["status"], "error", rep)
            self.assertIn("only root and the SlurmUser may report",
                          rep["message"])
            r = self.c.run_on("login", [PY, hc, multihost.RUN_SOCKET, "ask",
                                        "check", "uid=47002",
                                        "account=fc_alpha",
                                        "partitions=normal", "cpus=1",
                                        "peer_uid=47002", "peer_gid=100"],
                              user=ALICE)
            rep = json.loads(r.stdout)["reply"]
            self.assertEqual(rep["status"], "error", rep)
            # INTERFACE.md words it "only a relay may speak for another
            # uid"; the Unix socket's common check (peer.c) answers first.
            self.assertRegex(rep["message"], r"^refused: only .*may speak "
                             r"for another uid$")
            self.assertEqual(self.relay_status("c1")["backlog"], "0")
        st = self.c.status_on(self.c.active)
        self.assertEqual(st["delivery"], "running")
        self.assertEqual((st["queue"], st["dead"]), ("0", "0"), st)
        self.assertIsNone(self.c.sim_job(990001))
        self.assertEqual(self.c.stats()["jobs_post"], 0)
        self.assertIn("tcp: replayed credential",
                      self.c.hostlog(self.c.active, "bankd.log"))

    # ---- e. a user on login ---------------------------------------------
    def test_e_estimate_and_balance_on_login_as_on_ctl(self):
        self.need("relay")
        for args in (["estimate", "-p", "normal", "-n", "2", "-t",
                      "1:00:00"],
                     ["estimate", "-p", "normal,debug", "-N", "2", "-c", "2",
                      "-t", "30"],
                     ["balance", "-A", "fc_alpha"]):
            on_ctl = self.c.bankctl_on("ctl", *args, user=ALICE)
            on_login = self.c.bankctl_on("login", *args, user=ALICE)
            self.assertEqual(on_ctl.returncode, 0, on_ctl.stderr)
            self.assertEqual(on_login.returncode, 0,
                             on_login.stderr + on_login.stdout)
            self.assertEqual(on_login.stdout, on_ctl.stdout)
        self.assertRegex(on_login.stdout, r"fc_alpha")
        # bob's balance is bob's: the relay speaks for the caller's uid.
        bob_ctl = self.c.bankctl_on("ctl", "balance", "-A", "fc_alpha",
                                    user=BOB)
        bob_login = self.c.bankctl_on("login", "balance", "-A", "fc_alpha",
                                      user=BOB)
        self.assertEqual(bob_login.stdout, bob_ctl.stdout)
        self.assertNotEqual(bob_login.stdout, on_login.stdout)
        st = self.relay_status("login")
        self.assertEqual((st["role"], st["backlog"]), ("relay", "0"))

    # ---- f. failover -----------------------------------------------------
    def test_f_failover_to_the_standby(self):
        # Without relays the start reports stay in the nodes' spools and
        # the completions (from ctl) carry the charges alone.
        self.need("standby")
        jobs = self.submit(["c1", "c2"] * 2, "sleep 5")     # 4 CPUs
        for job in jobs:
            self.c.wait_state(job, ("RUNNING",))
        if self.has["relay"]:
            self.wait_for("the start reports at the API", lambda: all(
                self.c.sim_job(j) for j in jobs), timeout=20)
        self.c.kill9("bankd@ctl")
        self.c.active = "ctl2"
        self.wait_for("ctl2 to take over", lambda: "active: took over "
                      "state_dir" in self.c.hostlog("ctl2", "bankd.log"),
                      timeout=10)
        self.assertIn("standby: state_dir %s is held by bankd pid" %
                      self.c.path("shared/bankd"),
                      self.c.hostlog("ctl2", "bankd.log"))
        # slurmctld's completions find no bankd on ctl and go to ctl2 over
        # TCP (plugins.failover); with no controller at all they spool on
        # the shared directory (b).
        # slurmctld's job_submit finds no bankd on ctl (the old one is
        # gone) and asks ctl2 over TCP: a job its account cannot pay is
        # still refused, with the bank's reason (chaos found it let
        # through unchecked: "cannot connect to bankd").
        # ctl2's cache is warmed first: this case is about the route to
        # ctl2; a cold cache past decision_ms is the policy's
        # (test_skeleton).
        self.c.bankctl_on("ctl2", "balance", "-A", "fc_poor", user=ALICE)
        ctld_seen = len(self.c.hostlog("ctl", "slurmctld.log"))
        job, r, _ = self.c.sbatch(ALICE, ["-A", "fc_poor", "-p", "normal",
                                          "-n", "1", "-t", "5"], "sleep 1")
        self.assertIsNone(job, "fc_poor's job accepted after the failover; "
                          "slurmctld said: %s; ctl2's bankd: %s" % (
                              [l for l in self.c.hostlog(
                                  "ctl", "slurmctld.log")[ctld_seen:]
                               .splitlines() if "bank" in l],
                              self.c.hostlog("ctl2", "bankd.log")[-1500:]))
        self.assertIn("fc_poor", r.stderr)
        self.assertIn("30.00", r.stderr)    # 5 min x 1 CPU x 360 SU/h
        more = self.submit(["c1", "c2"], "sleep 1")
        costs = self.costs(jobs + more)
        st = self.assert_charged_once(costs, exact_calls=False)
        for h in ("c1", "c2") if self.has["relay"] else ():
            self.assertEqual(st[h]["upstream"], "%s:%d" % (addr("ctl2"),
                                                           TCP_PORT))
        self.assertEqual(st["ctl2"]["role"], "controller")
        # Each job is one record at the API, whatever was POSTed twice.
        for job in costs:
            self.assertEqual(self.c.sim_job(job)["jobslurmid"], str(job))
        if self.has["relay"]:
            # login's relay moved on too: its queries answered by ctl2.
            r = self.c.bankctl_on("login", "estimate", "-p", "normal",
                                  user=ALICE)
            self.assertRegex(r.stdout, r"estimate\s+360.00")
        # The old controller, back, waits as the standby.
        seen = len(self.c.hostlog("ctl", "bankd.log"))
        self.c.start_bankd("ctl")
        self.assertIn("standby: state_dir %s is held by bankd pid %d on "
                      "ctl2" % (self.c.path("shared/bankd"),
                                self.c.pids["bankd@ctl2"]),
                      self.c.hostlog("ctl", "bankd.log")[seen:])

    def test_g_fail_back_while_jobs_start_and_end(self):
        """Back to ctl: ctl2 killed -9 while jobs start and end around
        it (reports in flight on the relays, completions on the way)."""
        self.need("standby")
        if self.c.active != "ctl2":
            self.skipTest("needs f's failover first")
        seen = len(self.c.hostlog("ctl", "bankd.log"))
        jobs = self.submit(["c1", "c2"] * 4, "sleep 1")
        self.wait_for("two jobs running", lambda: sum(
            self.c.job(j)["JobState"] in ("RUNNING", "COMPLETED")
            for j in jobs) >= 2, timeout=20)
        self.c.kill9("bankd@ctl2")
        self.c.active = "ctl"
        self.wait_for("ctl to take over", lambda: "active: took over "
                      "state_dir" in self.c.hostlog("ctl", "bankd.log")[seen:],
                      timeout=10)
        costs = self.costs(jobs)
        st = self.assert_charged_once(costs, exact_calls=False)
        for h in ("c1", "c2") if self.has["relay"] else ():
            self.assertEqual(st[h]["upstream"], "%s:%d" % (addr("ctl"),
                                                           TCP_PORT))
        self.c.start_bankd("ctl2")


def main():
    global BUILD
    BUILD = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                            "build")
    why = multihost.netns_possible()
    if why is not None:
        print("SKIPPED test_cluster: network namespaces cannot be made on "
              "this machine: %s" % why, file=sys.stderr)
        sys.exit(77)
    t0 = time.time()
    prog = unittest.main(verbosity=2, exit=False)
    left = multihost.our_namespaces()
    print("test_cluster: %.0f s" % (time.time() - t0), file=sys.stderr)
    if left and os.environ.get("BANK_KEEP") != "up":
        print("test_cluster: namespaces left behind: %s" % left,
              file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
