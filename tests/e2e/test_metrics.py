"""End to end: bankd's Prometheus endpoint (metrics.listen) shows what
happened.  Real jobs run through slurmctld: one refused for lack of
funds, some accepted and completed while the API refuses completions for
a while (so that they are retried), one held pending.  The scrape must
then equal what happened: reports by kind, decisions by outcome, the
histogram's count, the API requests the simulator counted itself, the
queue, holds and their SU as bankctl says.  And the endpoint refuses
what is not a GET of /metrics, a huge header and a crowd of idle
connections, while bankd goes on answering.

    python3 tests/e2e/test_metrics.py BUILD_DIR
"""

import json
import os
import re
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, free_port  # noqa: E402

BUILD = None
ENDED = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")
ALPHA = ["-A", "fc_alpha", "-p", "normal", "-n", "1", "-t", "5"]
SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:\\.|[^"\\])*)"')
# bankd's route -> the simulator's counter (the probe is a GET of /jobs/).
SIM_OF = {"can_submit_job": "can_submit_job", "jobs_post": "jobs_post",
          "jobs_put": "jobs_put", "jobs_get": "jobs_get",
          "probe": "jobs_get", "partitions": "partitions", "other": "other"}


def parse(text):
    """{(name, frozenset(labels)): value} of a scrape, and its types."""
    out, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = m.group(3)
    return out, types


def value(s, name, **labels):
    return s[(name, frozenset(labels.items()))]


def total(s, name):
    return sum(int(v) for (n, _), v in s.items() if n == name)


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.c = Cluster(BUILD, extra={
            "bank": "metrics:\n  listen: 127.0.0.1:%d\n" % cls.port}).start()
        cls.url = "http://127.0.0.1:%d/metrics" % cls.port

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def scrape(self):
        with urllib.request.urlopen(self.url, timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"],
                             "text/plain; version=0.0.4; charset=utf-8")
            text = r.read().decode()
        return parse(text)[0], len(text)

    def submit(self, args, script="sleep 1", user="bankalice"):
        job, r, _ = self.c.sbatch(user, args, script)
        return job, r

    def wait_retries(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if int(self.c.status()["retries"]) > 0:
                return
            time.sleep(0.2)
        raise AssertionError("no delivery was retried: %s" % self.c.status())

    def api_agrees(self, timeout=15):
        """bankd's API requests by route against the simulator's own
        count: equal once nothing is in flight (two scrapes agree)."""
        end = time.time() + timeout
        while True:
            s1, _ = self.scrape()
            sim = self.c.stats()
            s2, _ = self.scrape()
            mine = {}
            for (n, labels), v in s1.items():
                if n == "bankd_api_requests_total":
                    k = SIM_OF[dict(labels)["endpoint"]]
                    mine[k] = mine.get(k, 0) + int(v)
            theirs = {k: v for k, v in sim.items() if v}
            if s1 == s2 and mine == theirs:
                return s2
            if time.time() > end:
                self.assertEqual(mine, theirs, "bankd's API requests by "
                                 "route differ from the simulator's")
            time.sleep(0.3)

    def test_1_figures_equal_what_happened(self):
        c = self.c
        # Refused: 1.00 SU left, the estimate is 360 SU.
        job, r = self.submit(["-A", "fc_poor", "-p", "normal", "-n", "1",
                              "-t", "60"])
        self.assertIsNone(job)
        self.assertIn("fc_poor", r.stderr)
        # One job through a healthy API: start and end delivered.
        first, r = self.submit(ALPHA)
        self.assertIsNotNone(first, r.stderr)
        c.wait_state(first, ENDED)
        c.wait_drained()
        # The API refuses completions for a while: they are retried.
        c.ctl("POST", "/faults", {"status": 503, "methods": "PUT"})
        try:
            jobs = []
            for _ in range(2):
                j, r = self.submit(ALPHA)
                self.assertIsNotNone(j, r.stderr)
                jobs.append(j)
            for j in jobs:
                c.wait_state(j, ENDED)
            self.wait_retries()
        finally:
            c.ctl("POST", "/faults/clear")
        c.wait_drained()
        # One job held pending: its hold stays.
        held, r = self.submit(["-H"] + ALPHA)
        self.assertIsNotNone(held, r.stderr)
        try:
            s = self.api_agrees()
            st = c.status()
            h = json.loads(c.bankctl("--json", "holds").stdout)["holds"]
            self.check_figures(s, st, h)
        finally:
            c.run(["scancel", str(held)])

    def check_figures(self, s, st, h):
        for kind in ("start", "end"):
            self.assertEqual(value(s, "bankd_reports_accepted_total",
                                   kind=kind), "3", kind)
            self.assertEqual(value(s, "bankd_reports_delivered_total",
                                   kind=kind), "3", kind)
        self.assertEqual(total(s, "bankd_reports_delivered_total"),
                         int(st["delivered"]))
        # Refused for money once, by the API's answer (no cache here).
        self.assertEqual(value(s, "bankd_decisions_total", source="api",
                               outcome="deny"), "1")
        deny = sum(int(v) for (n, lab), v in s.items()
                   if n == "bankd_decisions_total" and
                   ("outcome", "deny") in lab)
        allow = sum(int(v) for (n, lab), v in s.items()
                    if n == "bankd_decisions_total" and
                    ("outcome", "allow") in lab)
        self.assertEqual((deny, allow), (1, 4))
        self.assertEqual(int(value(s, "bankd_decision_seconds_count")),
                         total(s, "bankd_decisions_total"))
        self.assertEqual(value(s, "bankd_decision_seconds_bucket",
                               le="+Inf"), "5")
        retries = int(value(s, "bankd_delivery_retries_total"))
        self.assertGreater(retries, 0)
        self.assertEqual(retries, int(st["retries"]))
        # The PUTs refused were answered 503; every one was retried.
        self.assertGreaterEqual(int(value(
            s, "bankd_api_requests_total", endpoint="jobs_put",
            status="503")), retries)
        self.assertEqual(value(s, "bankd_queue_reports"), "0")
        self.assertEqual(value(s, "bankd_queue_oldest_seconds"), "0")
        self.assertEqual(value(s, "bankd_dead_letters"), "0")
        self.assertEqual(value(s, "bankd_journal_bytes"), st["journal_bytes"])
        self.assertEqual(value(s, "bankd_spool_files_taken_total"), "0")
        # The held job's hold, as bankctl holds shows it, to the cent.
        self.assertEqual(len(h), 1, h)
        self.assertEqual(value(s, "bankd_holds"), "1")
        self.assertEqual(value(s, "bankd_holds"), st["holds"])
        self.assertEqual(Decimal(value(s, "bankd_holds_su")),
                         Decimal(h[0]["amount"]))
        self.assertEqual(value(s, "bankd_holds_su"), "30.00")
        self.assertEqual(value(s, "bankd_up"), "1")

    def raw(self, data, timeout=5):
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=timeout) as s:
            s.sendall(data)
            out = b""
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    out += b
            except (ConnectionResetError, socket.timeout):
                pass
        return out

    def test_2_hostile_requests_refused_bankd_answers(self):
        req = urllib.request.Request(self.url, data=b"x", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(e.exception.code, 405)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(self.url.replace("/metrics", "/jobs"),
                                   timeout=5)
        self.assertEqual(e.exception.code, 404)
        # 64 KB of header: refused (or cut), never served.
        out = self.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                       b"a" * 65536 + b"\r\n\r\n")
        self.assertNotIn(b" 200 ", out.split(b"\r\n", 1)[0])
        # A crowd of idle connections fills the quota, not bankd.
        crowd = [socket.create_connection(("127.0.0.1", self.port))
                 for _ in range(40)]
        try:
            t0 = time.time()
            self.assertEqual(self.c.status()["status"], "ok")
            self.assertLess(time.time() - t0, 2)
        finally:
            for s in crowd:
                s.close()
        # Once they are gone the endpoint serves again.
        end = time.time() + 15
        while True:
            try:
                s, size = self.scrape()
                break
            except (OSError, urllib.error.URLError):
                if time.time() > end:
                    raise
                time.sleep(0.2)
        self.assertEqual(value(s, "bankd_up"), "1")
        print("scrape: %d bytes" % size, file=sys.stderr)


if __name__ == "__main__":
    BUILD = sys.argv.pop(1) if len(sys.argv) > 1 else "build"
    unittest.main(verbosity=2)
