"""End to end: what a hostile local user, a full disk and hostile input get.

bankd's socket is open to every local user.  An attack run found that a
user could spoof another uid, place holds on someone else's account, wrap
costs, exhaust bankd's descriptors, flood the API with checks, and that a
full state disk could lose a start report.  Each scenario here replays one
finding as an unprivileged user (bankeve, a member of no account but
fc_eve) or as root where the finding needs it, and checks what the user
sees, what bankd still does for everyone else (bankctl status within 1 s,
a real job decided), and that bankd's memory and CPU come back.

    python3 tests/e2e/test_hostile.py BUILD_DIR
"""

import json
import os
import resource
import signal
import subprocess
import sys
import time
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, PRICES, cost, default_fixture  # noqa: E402

BUILD = None
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "hostile_client.py")
PYTHON = "/usr/bin/python3"     # Debian's: the test users can run it
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")
EVE = 47003
LIMITS = """limits:
  user_idle_s: 5
"""


def fixture():
    f = default_fixture()
    f["accounts"].append({"name": "fc_eve", "allocation": "50.00",
                          "usage": "0.00", "active": True})
    f["memberships"].append({"uid": EVE, "account": "fc_eve",
                             "allocation": "50.00", "usage": "0.00"})
    return f


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def journal_record(obj):
    """One record as bankd/journal.c writes it: magic, length, CRC-32C."""
    import struct
    payload = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">III", 0x424b4a31, len(payload),
                       crc32c(payload)) + payload


def proc_stat(pid):
    """(CPU seconds, RSS KiB) of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS"))
    return cpu, rss


class Base(unittest.TestCase):
    cluster_args = {}

    @classmethod
    def setUpClass(cls):
        # The test's own children (10,000 sockets) need the descriptors.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        cls.nofile = max(hard, 20000)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (cls.nofile,
                                                        cls.nofile))
        except (ValueError, OSError):
            cls.nofile = hard
        cls.c = Cluster(BUILD, fixture=fixture(), **cls.cluster_args).start()
        # Where the test users can read it, run by the system's python.
        cls.client_path = cls.c.path("hostile_client.py")
        with open(CLIENT) as src, open(cls.client_path, "w") as dst:
            dst.write(src.read())
        os.chmod(cls.client_path, 0o644)

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def bankd_pid(self):
        return self.c.procs["bankd"].pid

    def client(self, user, *args, nofile=None, timeout=120):
        """Run hostile_client.py as `user`; its last JSON line."""
        p = self.c.as_user(user, [PYTHON, self.client_path,
                                  self.c.path("bankd.sock")] +
                           [str(a) for a in args], nofile=nofile,
                           stdout=subprocess.PIPE, text=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        lines = [ln for ln in out.splitlines() if ln.strip()]
        self.assertTrue(lines, "hostile_client printed nothing")
        return json.loads(lines[-1])

    def ask(self, user, typ, **fields):
        return self.client(user, "ask", typ,
                           *["%s=%s" % kv for kv in fields.items()])["reply"]

    def status_within(self, seconds):
        t0 = time.time()
        st = self.c.status()
        took = time.time() - t0
        self.assertLess(took, seconds, "bankctl status took %.2f s" % took)
        return st

    def idle_level(self):
        """bankd's RSS at rest, before a flood: after a little of
        everything a flood makes it do (so that one-time set-up, such as
        the API's first connection, is not counted as the flood's)."""
        for _ in range(20):
            self.c.status()
        self.ask("bankeve", "check", account="fc_eve", partitions="normal",
                 cost=1)
        time.sleep(0.5)
        return proc_stat(self.bankd_pid())[1]

    def settle_rss(self, idle_kib, tolerance=1.10, wait=10):
        """bankd's RSS back within tolerance of its idle level.  Not
        under AddressSanitizer, which keeps freed memory in quarantine
        on purpose: the plain run (ctest) holds memory to this."""
        with open("/proc/%d/maps" % self.bankd_pid()) as f:
            if "libasan" in f.read():
                return None
        end = time.time() + wait
        while True:
            _, rss = proc_stat(self.bankd_pid())
            if rss <= idle_kib * tolerance or time.time() > end:
                break
            time.sleep(0.25)
        self.assertLessEqual(rss, idle_kib * tolerance,
                             "RSS %d KiB, idle %d KiB" % (rss, idle_kib))
        return rss


class Hostile(Base):
    cluster_args = {"extra": {"bank": LIMITS}}

    def setUp(self):
        if "bankd" not in self.c.procs:
            self.c.start_bankd()
        self.c.ctl("POST", "/faults/clear")

    def test_a_user_cannot_ask_for_another_uid_nor_hold(self):
        # The attack: a CHECK for bob's uid on his account placed 990 SU
        # of holds there, and bob's next real job was refused.
        for _ in range(2):
            r = self.ask("bankeve", "check", uid=47002, account="fc_alpha",
                         partitions="normal", cost=49000)
            self.assertEqual(r["status"], "error", r)
            self.assertIn("only ask about their own jobs", r["message"])
        # About themselves, on an account they are not a member of: the
        # API says so, and no figure of the account is shown.
        r = self.ask("bankeve", "check", account="fc_alpha",
                     partitions="normal", cost=99000)
        self.assertEqual(r["status"], "deny", r)
        self.assertIn("not a member", r["message"])
        for word in ("balance", "allocation", "held", "left"):
            self.assertNotIn(word, r["message"])
        self.assertNotIn("held_account", r)
        st = self.c.status()
        self.assertEqual(st["holds"], "0", "a user's check placed a hold")
        # Bob's real 360 SU job fits his 500.
        job, res, _ = self.c.sbatch("bankbob", ["-A", "fc_alpha", "-p",
                                                "normal", "-n", "1", "-t",
                                                "60", "--hold"])
        self.assertIsNotNone(job, res.stderr)
        self.c.run(["scancel", str(job)])

    def test_a_member_sees_their_figures_and_still_never_holds(self):
        r = self.ask("bankeve", "check", account="fc_eve",
                     partitions="normal", cost=6000)
        self.assertEqual(r["status"], "deny", r)
        self.assertIn("account fc_eve has 50.00 SU left", r["message"])
        r = self.ask("bankeve", "check", account="fc_eve",
                     partitions="normal", cost=100)
        self.assertEqual(r["status"], "allow", r)
        self.assertNotIn("hold", r)
        self.assertEqual(self.c.status()["holds"], "0")

    def test_huge_costs_are_refused_not_wrapped(self):
        # A hold present, as when the sanitizer build died in tally_add.
        job, res, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                  "normal", "-n", "1", "-t",
                                                  "5", "--hold"])
        self.assertIsNotNone(job, res.stderr)
        try:
            for c in ("9223372036854775807", "18446744073609551616"):
                r = self.ask("root", "check", uid=47001, account="fc_alpha",
                             partitions="normal", cost=c)
                self.assertEqual(r["status"], "error", r)
                self.assertIn("field 'cost' must be a whole number from 0 "
                              "to 99999999999", r["message"])
            r = self.ask("root", "check", uid=47001, account="fc_alpha",
                         partitions="normal", cost=99999999999)
            self.assertEqual(r["status"], "deny", r)
            self.assertIn("more than the API can check", r["message"])
            # An estimate past the API's digits: refused, said so.
            r = self.ask("root", "check", uid=47001, account="fc_alpha",
                         partitions="normal", num_tasks=2147483647,
                         time_limit=4294967293)
            self.assertEqual(r["status"], "deny", r)
            self.assertIn("more than the API can check", r["message"])
            held = self.c.bankctl("--json", "holds")
            self.assertEqual(json.loads(held.stdout)["total"], "30.00")
            # The holds journal replays (the sanitizer build died here).
            self.c.stop_bankd()
            self.c.start_bankd()
            held = self.c.bankctl("--json", "holds")
            self.assertEqual(json.loads(held.stdout)["total"], "30.00")
        finally:
            self.c.run(["scancel", str(job)])

    def test_bad_dates_names_and_bytes_are_refused_naming_the_field(self):
        now = int(time.time())
        end = self.ask("root", "end", job_id=990001, uid=47001,
                       account="fc_alpha", partition="normal", cpus=1,
                       submit=now, start=now, end=2 ** 63)
        self.assertEqual(end["status"], "error", end)
        self.assertIn("field 'end'", end["message"])
        for acct in ("..", "."):
            r = self.ask("root", "check", uid=47001, account=acct,
                         partitions="normal", cost=100)
            self.assertEqual(r["status"], "error", r)
            self.assertIn("field 'account'", r["message"])
        r = self.ask("bankeve", "estimate", partitions="nor\\x1bmal")
        self.assertEqual(r["status"], "error", r)
        self.assertIn("not printable", r["message"])
        # A report is a job that ran: its bad text is mended, not lost.
        r = self.ask("root", "start", job_id=990002, uid=47001,
                     account="fc_alpha", partition="debug\\xff", cpus=1,
                     qos="a\\x1b[31m", submit=now, start=now)
        self.assertEqual(r["status"], "ok", r)
        self.assertIn("field(s) 'partition', 'qos' were not printable",
                      self.c.log("bankd.log"))
        self.c.wait_drained()
        j = self.c.sim_job(990002)
        self.assertEqual((j["partition"], j["qos"]), ("debug?", "a?[31m"))
        # A submission with such a QoS is refused, not let through
        # unchecked by the policy.
        job, res, _ = self.c.sbatch("bankalice", ["-A", "fc_alpha", "-p",
                                                  "normal", "-t", "5",
                                                  "--qos", "x\x1b[2J"])
        self.assertIsNone(job, "submitted: %s" % res.stdout)
        self.assertIn("this job cannot be checked: field 'qos'", res.stderr)
        r = self.ask("bankeve", "estimate", partitions="normal",
                     num_tasks="99999999999999999999")
        self.assertEqual(r["status"], "error", r)
        self.assertIn("field 'num_tasks'", r["message"])
        self.assertEqual(self.c.status()["queue"], "0")

    def test_ten_thousand_idle_connections_from_one_user(self):
        pid = self.bankd_pid()
        idle = self.idle_level()
        before = int(self.c.status()["clients"])
        cpu0, _ = proc_stat(pid)
        log0 = self.c.log("bankd.log").count("refused a connection")
        p = self.c.as_user("bankeve", [PYTHON, self.client_path,
                                       self.c.path("bankd.sock"), "hold",
                                       "10000", "2"],
                           nofile=min(self.nofile, 10100),
                           stdout=subprocess.PIPE, text=True)
        try:
            opened = json.loads(p.stdout.readline())
            self.assertEqual(opened["connected"] + opened["failed"], 10000)
            for _ in range(3):
                st = self.status_within(1.0)
                time.sleep(0.5)
            # Only the user's share is open; the rest were refused.
            self.assertLessEqual(int(st["clients"]), before + 32 + 1)
            done = json.loads(p.communicate(timeout=60)[0].splitlines()[-1])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        # Its share, less any that idled out (user_idle_s) meanwhile.
        self.assertGreaterEqual(done["kept"], 1, done)
        self.assertLessEqual(done["kept"], 32, done)
        cpu1, _ = proc_stat(pid)
        self.assertLess(cpu1 - cpu0, 3.0, "bankd spent %.1f s of CPU" %
                        (cpu1 - cpu0))
        # Said once or twice, not 10,000 times.
        lines = self.c.log("bankd.log").count("refused a connection") - log0
        self.assertGreaterEqual(lines, 1)
        self.assertLessEqual(lines, 3)
        time.sleep(0.5)
        self.assertEqual(int(self.c.status()["clients"]), before)
        self.settle_rss(idle)

    def test_a_users_idle_connection_is_closed_roots_is_not(self):
        import socket as so
        keep = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        keep.connect(self.c.path("bankd.sock"))
        try:
            r = self.client("bankeve", "idle", 12)
            self.assertTrue(r["closed"], r)
            # user_idle_s is 5, looked at every second, in whole seconds.
            self.assertGreaterEqual(r["seconds"], 3.5)
            self.assertLess(r["seconds"], 8.0)
            # root's connection, idle as long, is still served.
            keep.sendall(b"BK\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00")
            keep.settimeout(5)
            self.assertEqual(keep.recv(12)[:4], b"BK\x01\x81")
        finally:
            keep.close()

    def test_twenty_thousand_pipelined_checks(self):
        pid = self.bankd_pid()
        idle = self.idle_level()
        asks0 = self.c.stats()["can_submit_job"]
        p = self.c.as_user("bankeve", [PYTHON, self.client_path,
                                       self.c.path("bankd.sock"), "pipeline",
                                       "20000", "account=fc_eve",
                                       "partitions=normal", "cost=100"],
                           stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            # Meanwhile: bankd answers root, and a real job is decided.
            self.status_within(1.0)
            job, res, took = self.c.sbatch("bankalice",
                                           ["-A", "fc_alpha", "-p", "normal",
                                            "-n", "1", "-t", "5", "--hold"])
            self.assertIsNotNone(job, res.stderr)
            self.assertLess(took, 3.0)
            self.c.run(["scancel", str(job)])
            out = json.loads(p.communicate(timeout=120)[0].splitlines()[-1])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(out["replies"], 20000, out)
        self.assertTrue(out["in_order"])
        # The API saw a few of them: a burst, then user_checks_per_s.
        asks = self.c.stats()["can_submit_job"] - asks0
        self.assertLessEqual(asks, 30 + 10 * out["seconds"], out)
        self.assertIn("limits.user_checks_per_s", " ".join(out["messages"]))
        self.assertEqual(self.c.status()["holds"], "0")
        self.settle_rss(idle)

    def test_concurrent_checks_share_one_api_request(self):
        # 50 checks about one (account, uid) at once, the API answering
        # in 150 ms: one request, whose answer decides them all.
        asks0 = self.c.stats()["can_submit_job"]
        self.c.ctl("POST", "/faults", {"latency_ms": 150,
                                       "path_prefix": "/can_submit_job/"})
        try:
            out = self.client("root", "pipeline", 50, "uid=47001",
                              "account=fc_alpha", "partitions=normal",
                              "cost=1000", "dry_run=1")
        finally:
            self.c.ctl("POST", "/faults/clear")
        self.assertEqual(out["statuses"], {"allow": 50}, out)
        self.assertEqual(self.c.stats()["can_submit_job"] - asks0, 1)

    def test_a_report_of_sixty_thousand_nodes_is_kept_and_charged(self):
        now = int(time.time())
        job = 990100
        start = self.ask("root", "start", job_id=job, uid=47001,
                         account="fc_alpha", partition="normal", cpus=1,
                         nodes="nid[000001-060000]", num_nodes=60000,
                         submit=now - 10, start=now - 5, time_limit=1)
        self.assertEqual(start["status"], "ok", start)
        end = self.ask("root", "end", job_id=job, uid=47001,
                       account="fc_alpha", partition="normal", cpus=1,
                       nodes="nid[000001-060000]", num_nodes=60000,
                       submit=now - 10, start=now - 5, end=now,
                       time_limit=1, state="COMPLETED")
        self.assertEqual(end["status"], "ok", end)
        j = self.c.wait_charged(job)
        self.assertEqual(len(j["nodes"]), 60000)
        self.assertEqual(j["nodes"][-1]["name"], "nid060000")
        self.assertEqual(j["amount"], str(cost(PRICES["normal"], 1, 5)))
        self.c.wait_drained()

    def test_descriptor_exhaustion_rests_instead_of_spinning(self):
        # bankd with few descriptors, flooded by root's connections (which
        # no per-user cap limits): accept() fails with EMFILE.
        import socket as so
        self.c.stop_bankd()
        self.c.start_bankd(nofile=48)
        pid = self.bankd_pid()
        log0 = self.c.log("bankd.log").count("not accepting for")
        cpu0, _ = proc_stat(pid)
        socks = []
        try:
            for _ in range(300):
                s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
                s.setblocking(False)
                try:
                    s.connect(self.c.path("bankd.sock"))
                except (BlockingIOError, OSError):
                    pass
                socks.append(s)
            time.sleep(4)
            cpu1, _ = proc_stat(pid)
            self.assertLess(cpu1 - cpu0, 1.0, "bankd spun: %.1f s of CPU" %
                            (cpu1 - cpu0))
            lines = self.c.log("bankd.log").count("not accepting for") - log0
            self.assertGreaterEqual(lines, 1)
            self.assertLessEqual(lines, 2)
        finally:
            for s in socks:
                s.close()
        time.sleep(0.5)
        self.status_within(1.0)
        self.c.stop_bankd()
        self.c.start_bankd()

    def test_a_journaled_dead_letter_stays_dead_at_start(self):
        # add 1 (start), add 2 (end, same job), done 1, dead 2: replaying
        # "done 1" made report 2 the job's next, scheduled before its
        # "dead" record was read, and it went out at start.
        job, now = 990200, int(time.time())
        recs = [
            {"op": "add", "seq": 1, "job": job, "kind": "start",
             "cents": 100, "account": "fc_alpha", "t": now, "uid": 47001,
             "hold": 0, "body": json.dumps({"jobslurmid": str(job)})},
            {"op": "add", "seq": 2, "job": job, "kind": "end",
             "cents": 100, "account": "fc_alpha", "t": now, "uid": 47001,
             "hold": 0, "body": json.dumps({"jobslurmid": str(job)})},
            {"op": "done", "seq": 1},
            {"op": "dead", "seq": 2, "error": "refused by the API"},
        ]
        path = self.c.path("bankd-state/journal")
        self.c.stop_bankd()
        with open(path, "rb") as f:
            saved = f.read()
        try:
            with open(path, "wb") as f:
                f.write(b"".join(journal_record(r) for r in recs))
            puts = self.c.stats()["jobs_put"]
            self.c.start_bankd()
            time.sleep(2)
            self.assertEqual(self.c.stats()["jobs_put"], puts)
            self.assertIsNone(self.c.sim_job(job))
            dead = json.loads(self.c.bankctl("--json", "queue",
                                             "--dead").stdout)
            self.assertEqual([(d["seq"], d["state"]) for d in dead],
                             [("2", "dead")])
            self.assertEqual(self.c.status()["dead"], "1")
        finally:
            self.c.stop_bankd()
            with open(path, "wb") as f:
                f.write(saved)
            self.c.start_bankd()

    def test_a_bad_token_file_is_refused_with_the_reason(self):
        tok = self.c.path("token-loose")
        with open(tok, "w") as f:
            f.write("0123456789abcdef0123456789abcdef01234567\n")
        os.chmod(tok, 0o640)
        link = self.c.path("token-link")
        os.symlink(self.c.path("token"), link)
        with open(self.c.path("bank.yaml")) as f:
            conf = f.read()
        for path, why in ((tok, "has mode 0640"),
                          (link, "is a symbolic link")):
            alt = self.c.path("bank-alt.yaml")
            with open(alt, "w") as f:
                f.write(conf.replace(self.c.path("token"), path))
            r = self.c.run([os.environ.get("BANKD_BIN") or
                            os.path.join(self.c.build, "bankd", "bankd"),
                            "--check-config", alt])
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn(why, r.stderr)


class FullDisk(Base):
    # state_dir on 512 KiB of its own; fsync off, so no zeros are kept
    # ahead of the records and a full disk fails the very next write.
    cluster_args = {"state_tmpfs_kb": 512, "fsync": False}
    next_filler_id = 980000

    def fill(self):
        path = os.path.join(self.c.mounted, "filler")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        return path

    def exhaust(self):
        """Fill the state disk, then use up what its last pages still
        hold: completions of 0 CPUs (0.00 SU: they move no money) until
        bankd answers "later"."""
        filler = self.fill()
        now = int(time.time())
        # Ids of their own each time: the same id with another submit
        # time is a reused id to bankd (issue 12), a dead letter.
        base = FullDisk.next_filler_id
        FullDisk.next_filler_id += 500
        for i in range(500):
            r = self.ask("root", "end", job_id=base + i, uid=47001,
                         account="fc_alpha", partition="normal", cpus=0,
                         submit=now, start=now, end=now)
            if r["status"] == "later":
                return filler
            self.assertEqual(r["status"], "ok", r)
        self.fail("the journal never ran out of room")

    def spooled(self, kind):
        d = self.c.path("bank-spool")
        return sorted(n for n in os.listdir(d) if "-%s-" % kind in n) \
            if os.path.isdir(d) else []

    def test_a_start_answered_later_and_spooled_is_never_lost(self):
        filler = self.exhaust()
        try:
            job, res, _ = self.c.sbatch("bankalice",
                                        ["-A", "fc_alpha", "-p", "normal",
                                         "-n", "1", "-t", "5"],
                                        script="sleep 25")
            self.assertIsNotNone(job, res.stderr)
            self.c.wait_state(job, ("RUNNING",))
            end = time.time() + 20
            while not self.spooled("start") and time.time() < end:
                time.sleep(0.2)
            self.assertTrue(self.spooled("start"),
                            "the start was not spooled")
            # Several intake passes with the disk still full: the file
            # stays (it was taken in as a "duplicate" and deleted).
            time.sleep(5)
            self.assertTrue(self.spooled("start"),
                            "spooled start deleted before it was durable")
            # bankd dies before the disk is freed: the spool has it.
            self.c.kill9_bankd()
        finally:
            os.unlink(filler)
        self.c.start_bankd()
        end = time.time() + 20
        while self.c.sim_job(job) is None and time.time() < end:
            time.sleep(0.2)
        j = self.c.sim_job(job)
        self.assertIsNotNone(j, "the job's start never reached the API")
        self.assertIsNone(j.get("enddate"), "expected the running job")
        self.assertEqual(j["amount"], str(cost(PRICES["normal"], 1, 300)))
        sj = self.c.wait_state(job, ENDED, timeout=60)
        charged = self.c.wait_charged(job)
        self.assertEqual(Decimal(charged["amount"]),
                         cost(PRICES["normal"], int(sj["NumCPUs"]),
                              self.c.elapsed(sj)))
        self.c.wait_drained()
        self.assertEqual(self.spooled("start") + self.spooled("end"), [])

    def test_a_full_disk_then_space_again_charges_once(self):
        before = self.c.usage("fc_alpha")
        filler = self.exhaust()
        try:
            job, res, _ = self.c.sbatch("bankalice",
                                        ["-A", "fc_alpha", "-p", "normal",
                                         "-n", "1", "-t", "5"],
                                        script="sleep 1")
            self.assertIsNotNone(job, res.stderr)
            sj = self.c.wait_state(job, ENDED, timeout=60)
            end = time.time() + 20
            while not self.spooled("end") and time.time() < end:
                time.sleep(0.2)
            self.assertTrue(self.spooled("end"), "the end was not spooled")
            # Nothing is sent before it is durable; status says so.
            time.sleep(2)
            self.assertEqual(self.c.usage("fc_alpha"), before)
            self.assertNotEqual(self.c.status()["not_durable"], "0")
        finally:
            os.unlink(filler)
        self.c.wait_drained(timeout=60)
        self.assertEqual(self.c.usage("fc_alpha") - before,
                         cost(PRICES["normal"], int(sj["NumCPUs"]),
                              self.c.elapsed(sj)))
        self.assertEqual(self.spooled("start") + self.spooled("end"), [])


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
