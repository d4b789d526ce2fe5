"""End to end: bankd's TCP listener (listen_tcp:, issue 13 item 2) on
loopback, every request with a MUNGE credential from the harness's
munged:

  - a user's `bankctl -S tcp:...` gets the same estimate as on the Unix
    socket, and its balance of its own uid;
  - the same user cannot send a report (START) nor pause the queue: the
    exact permission errors of the Unix socket; root can, over TCP;
  - a captured request (its bytes, credential and all) sent again on a new
    connection is refused as a replay; a credential moved onto another
    body is refused as another request's; no credential, refused;
  - one credential per connection's uid: another uid on it is refused;
  - the relay rule: root's credential with peer_uid/peer_gid of a user is
    answered as that user (a dry run, for their own uid only: a CHECK of
    another uid refused), over TCP and on the Unix socket; a user who sends
    peer_uid is refused with the rule's message;
  - munged hung (SIGSTOP): a TCP request is answered "later" within the
    2 s deadline, and bankd serves its Unix socket meanwhile (munged is
    asked off its event loop).

    python3 tests/e2e/test_tcp.py BUILD_DIR
"""

import hashlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, free_port  # noqa: E402
from hostile_client import read_replies  # noqa: E402

BUILD = None
ALICE, BOB = "bankalice", "bankbob"
HDR = struct.Struct(">2sBBII")
T_CHECK, T_ESTIMATE, T_START, T_PAUSE, T_STATUS = 2, 3, 4, 10, 1
RELAY_REFUSED = ("refused: only root or the SlurmUser (a relay) may speak "
                 "for another uid")


class TcpCluster(Cluster):
    """The harness's cluster with listen_tcp on a free loopback port."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.tcp_port = free_port()

    def _write_bank_yaml(self):
        self.extra["bank"] = ("listen_tcp: 127.0.0.1:%d\nmunge_socket: %s\n"
                              % (self.tcp_port, self.munge_socket))
        super()._write_bank_yaml()


def encode(typ, rid, fields):
    body = b"".join(k.encode() + b"=" + v.encode() + b"\n"
                    for k, v in fields)
    return HDR.pack(b"BK", 1, typ, rid, len(body)) + body


def replies(s, n, timeout=10):
    return read_replies(s, n, timeout)


class Tcp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = TcpCluster(BUILD).start()
        cls.ctlbin = os.path.join(cls.c.build, "bankctl", "bankctl")
        cls.addr = "tcp:127.0.0.1:%d" % cls.c.tcp_port

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    # ---- helpers ------------------------------------------------------
    def ctl(self, user, *args, sock=None):
        env = dict(self.c.env, BANK_MUNGE_SOCKET=self.c.munge_socket)
        argv = [self.ctlbin, "-S", sock or self.addr] + list(args)
        if user != "root":
            argv = ["runuser", "-u", user, "--"] + argv
        return subprocess.run(argv, env=env, capture_output=True,
                              text=True, timeout=30)

    def cred(self, user, payload):
        """A MUNGE credential of user's, its payload the given bytes."""
        argv = ["munge", "-S", self.c.munge_socket]
        if user != "root":
            argv = ["runuser", "-u", user, "--"] + argv
        return subprocess.run(argv, input=payload, capture_output=True,
                              check=True, timeout=10).stdout.decode().strip()

    def signed(self, user, typ, rid, fields):
        """The frame as bp_call_tcp sends it: the credential's payload
        the SHA-256 of the frame without it, the credential last."""
        bare = encode(typ, rid, fields)
        c = self.cred(user, hashlib.sha256(bare).digest())
        return encode(typ, rid, list(fields) + [("cred", c)])

    def send(self, *frames):
        with socket.create_connection(("127.0.0.1", self.c.tcp_port),
                                      timeout=10) as s:
            s.sendall(b"".join(frames))
            return replies(s, len(frames))

    def report(self, job):
        now = int(time.time())
        return [("job_id", str(job)), ("uid", "47001"),
                ("account", "fc_alpha"), ("partition", "normal"),
                ("cpus", "1"), ("nodes", "n1"), ("num_nodes", "1"),
                ("submit", str(now - 10)), ("start", str(now - 5)),
                ("time_limit", "1")]

    # ---- the rules of SO_PEERCRED, from MUNGE ---------------------------
    def test_a_user_gets_the_estimate_it_gets_locally(self):
        args = ["estimate", "-p", "normal", "-n", "2", "-t", "1:00:00"]
        tcp = self.ctl(ALICE, *args)
        unix = self.ctl(ALICE, *args, sock=self.c.path("bankd.sock"))
        self.assertEqual(tcp.returncode, 0, tcp.stderr + tcp.stdout)
        self.assertEqual(unix.returncode, 0, unix.stderr)
        self.assertIn("estimate", tcp.stdout)
        self.assertEqual(tcp.stdout, unix.stdout)

    def test_a_user_cannot_report_nor_pause(self):
        r = self.ctl(ALICE, "pause")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("permission denied: only root and the SlurmUser may "
                      "change the queue", r.stdout)
        rep, = self.send(self.signed(ALICE, T_START, 7,
                                     self.report(995001)))
        self.assertEqual(rep["status"], "error", rep)
        self.assertEqual(rep["message"], "permission denied: only root and "
                         "the SlurmUser may report jobs")
        self.assertEqual(self.c.status()["delivery"], "running")

    def test_root_may_report_and_pause(self):
        r = self.ctl("root", "pause")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertTrue(self.c.status()["delivery"].startswith("paused"))
        r = self.ctl("root", "resume")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual(self.c.status()["delivery"], "running")
        rep, = self.send(self.signed("root", T_START, 8,
                                     self.report(995002)))
        self.assertEqual(rep["status"], "ok", rep)

    # ---- credentials that are refused ----------------------------------
    def test_a_replayed_request_is_refused(self):
        frame = self.signed(ALICE, T_ESTIMATE, 9, [("partitions", "normal"),
                                                   ("num_tasks", "2")])
        first, = self.send(frame)
        self.assertEqual(first["status"], "ok", first)
        again, = self.send(frame)
        self.assertEqual(again["status"], "error", again)
        self.assertIn("used before (a replay)", again["message"])
        self.assertIn("tcp: replayed credential: refused the estimate request",
                      self.c.log("bankd.log"))

    def test_a_credential_on_another_body_is_refused(self):
        fields = [("partitions", "normal"), ("num_tasks", "2")]
        bare = encode(T_ESTIMATE, 10, fields)
        c = self.cred(ALICE, hashlib.sha256(bare).digest())
        moved = encode(T_ESTIMATE, 10, [("partitions", "normal"),
                                        ("num_tasks", "64"), ("cred", c)])
        rep, = self.send(moved)
        self.assertEqual(rep["status"], "error", rep)
        self.assertIn("not this request's digest", rep["message"])

    def test_no_credential_and_garbage_are_refused(self):
        rep, = self.send(encode(T_STATUS, 11, []))
        self.assertEqual(rep["status"], "error", rep)
        self.assertIn("must carry a MUNGE credential", rep["message"])
        rep, = self.send(encode(T_STATUS, 12, [("cred", "MUNGE:junk:")]))
        self.assertEqual(rep["status"], "error", rep)
        self.assertIn("cannot be decoded", rep["message"])

    def test_another_uid_on_the_same_connection_is_refused(self):
        a = self.signed(ALICE, T_STATUS, 13, [])
        b = self.signed(BOB, T_STATUS, 14, [])
        ra, rb = self.send(a, b)
        self.assertEqual(ra["status"], "ok", ra)
        self.assertEqual(rb["status"], "error", rb)
        self.assertIn("needs a connection of its own", rb["message"])


    # ---- the relay rule ------------------------------------------------
    def check_fields(self, uid, relay=None):
        f = [("uid", str(uid)), ("account", "fc_alpha"),
             ("partitions", "normal"), ("num_tasks", "2"),
             ("time_limit", "60")]
        if relay is not None:
            f += [("peer_uid", str(relay)), ("peer_gid", str(relay))]
        return f

    def test_root_relays_a_users_check(self):
        alice, bob = 47001, 47002
        holds = self.c.status()["holds"]
        rep, = self.send(self.signed("root", T_CHECK, 20,
                                     self.check_fields(alice, alice)))
        self.assertEqual(rep["status"], "allow", rep)
        self.assertNotIn("hold", rep)          # a user's check: a dry run
        self.assertEqual(self.c.status()["holds"], holds)
        rep, = self.send(self.signed("root", T_CHECK, 21,
                                     self.check_fields(bob, alice)))
        self.assertEqual(rep["status"], "error", rep)
        self.assertIn("a user may only ask about their own jobs",
                      rep["message"])

    def test_a_user_sending_peer_uid_is_refused(self):
        rep, = self.send(self.signed(ALICE, T_CHECK, 22,
                                     self.check_fields(0, 0)))
        self.assertEqual(rep["status"], "error", rep)
        self.assertEqual(rep["message"], RELAY_REFUSED)

    def unix_send(self, user, frame):
        """frame to the Unix socket from a process of user's."""
        code = ("import socket,sys\n"
                "s=socket.socket(socket.AF_UNIX)\n"
                "s.connect(sys.argv[1])\n"
                "s.sendall(sys.stdin.buffer.read())\n"
                "sys.stdout.buffer.write(s.recv(65536))\n")
        argv = ["python3", "-c", code, self.c.path("bankd.sock")]
        if user != "root":
            argv = ["runuser", "-u", user, "--"] + argv
        out = subprocess.run(argv, input=frame, capture_output=True,
                             check=True, timeout=30).stdout
        _, _, _, _, blen = HDR.unpack(out[:HDR.size])
        body = out[HDR.size:HDR.size + blen].decode()
        return dict(line.split("=", 1) for line in body.split("\n") if line)

    def test_the_relay_rule_on_the_unix_socket(self):
        rep = self.unix_send("root", encode(T_CHECK, 23,
                                            self.check_fields(47002, 47001)))
        self.assertEqual(rep["status"], "error", rep)
        self.assertIn("a user may only ask about their own jobs",
                      rep["message"])
        rep = self.unix_send("root", encode(T_CHECK, 24,
                                            self.check_fields(47001, 47001)))
        self.assertEqual(rep["status"], "allow", rep)
        self.assertNotIn("hold", rep)
        rep = self.unix_send(ALICE, encode(T_CHECK, 25,
                                           self.check_fields(47001, 0)))
        self.assertEqual(rep["status"], "error", rep)
        self.assertEqual(rep["message"], RELAY_REFUSED)


    # ---- munged hung ---------------------------------------------------
    def test_zz_munged_hung_does_not_stop_bankd(self):
        frame = self.signed(ALICE, T_ESTIMATE, 30, [("partitions", "normal"),
                                                    ("num_tasks", "2")])
        with open(self.c.pidfiles["munged"]) as f:
            munged = int(f.read().split()[0])
        os.kill(munged, signal.SIGSTOP)
        try:
            with socket.create_connection(("127.0.0.1", self.c.tcp_port),
                                          timeout=10) as s:
                t0 = time.time()
                s.sendall(frame)
                # While the decode waits, the Unix socket is served.
                t1 = time.time()
                st = self.c.status()
                self.assertLess(time.time() - t1, 1.0)
                self.assertEqual(st["role"], "controller")
                rep, = replies(s, 1)
                took = time.time() - t0
        finally:
            os.kill(munged, signal.SIGCONT)
        self.assertEqual(rep["status"], "later", rep)
        self.assertEqual(rep["message"], "cannot verify the MUNGE credential "
                         "now: munged did not answer within 2000 ms")
        self.assertLess(took, 3.0)
        self.assertGreaterEqual(took, 1.9)
        # munged back: a fresh credential is served again.
        rep, = self.send(self.signed(ALICE, T_ESTIMATE, 31,
                                     [("partitions", "normal"),
                                      ("num_tasks", "2")]))
        self.assertEqual(rep["status"], "ok", rep)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
