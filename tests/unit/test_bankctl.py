#!/usr/bin/env python3
"""
unit_bankctl: bankctl against a fake bankd, with no Slurm and no bankd.

  (a) bad arguments: exit 2, a message naming the option and the value,
      and no connection to the socket at all;
  (b) hostile replies (ESC sequences, tabs, DEL, C1, invalid UTF-8, quotes
      and backslashes in names): the table shows them escaped and no raw
      control byte reaches the terminal; --json is valid JSON that gives
      the text back (invalid bytes as \\udcXX, Python's surrogateescape);
  (c) what bankctl sends for good arguments.

usage: test_bankctl.py PATH_TO_BANKCTL [unittest arguments]
The fake bankd stops itself (socket timeouts, a deadline) even when a test
fails or bankctl hangs.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BANKCTL = None
RUN_TIMEOUT = 15	# bankctl's own deadline is 5 s per call
SERVER_LIFE = 30	# the fake bankd never outlives this

T_STATUS, T_CHECK, T_ESTIMATE, T_QUEUE, T_SHOW = 1, 2, 3, 6, 7
T_RETRY, T_DROP, T_HOLDS, T_PRICES, T_BALANCE = 8, 9, 12, 13, 14

# An account name an attacker might get into bankd: an OSC title change,
# a colour, BEL, DEL, a C1 CSI (U+009B as UTF-8), a raw C1 byte, a lone
# continuation byte, an overlong NUL and a truncated sequence.
EVIL = (b"fc_\x1b]0;pwned\x07x\x1b[31mred\x7f\xc2\x9b2J\x9b\x80"
        b"\xc0\x80\xe2\x82")
EVIL_TABLE = ("fc_\\x1b]0;pwned\\x07x\\x1b[31mred\\x7f\\u009b2J\\x9b\\x80"
              "\\xc0\\x80\\xe2\\x82")
# Printable text, quotes and a backslash: shown as is (the backslash
# doubled in the table so that \x1b above cannot be forged).
FANCY = "caf\u00e9 \u2713 \"q\" a\\b".encode()
FANCY_TABLE = "caf\u00e9 \u2713 \"q\" a\\\\b"


def frame(ftype, fid, fields):
	body = b"".join(k.encode() + b"=" + v + b"\n" for k, v in fields)
	return b"BK\x01" + bytes([ftype]) + struct.pack(">II", fid,
	    len(body)) + body


class FakeBankd:
	"""Listens on a Unix socket; answers each request with handler()."""

	def __init__(self, handler=None, accept=True):
		self.dir = tempfile.TemporaryDirectory(prefix="bankctl-test-")
		self.path = os.path.join(self.dir.name, "bankd.sock")
		self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		self.sock.bind(self.path)
		self.sock.listen(16)
		self.sock.settimeout(0.2)
		self.handler = handler
		self.requests = []	# (type, {key: bytes})
		self.connections = 0
		self.stop = threading.Event()
		self.deadline = time.monotonic() + SERVER_LIFE
		self.thread = None
		if accept:
			self.thread = threading.Thread(target=self._serve,
			    daemon=True)
			self.thread.start()

	def _alive(self):
		return not self.stop.is_set() and \
		    time.monotonic() < self.deadline

	def _serve(self):
		while self._alive():
			try:
				c, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			self.connections += 1
			with c:
				c.settimeout(2)
				try:
					self._conn(c)
				except (OSError, ValueError):
					pass

	def _read(self, c, n):
		b = b""
		while len(b) < n and self._alive():
			chunk = c.recv(n - len(b))
			if not chunk:
				raise ValueError("closed")
			b += chunk
		if len(b) < n:
			raise ValueError("stopped")
		return b

	def _conn(self, c):
		while self._alive():
			try:
				h = self._read(c, 12)
			except ValueError:
				return
			if h[:3] != b"BK\x01":
				raise ValueError("not a frame")
			ftype = h[3]
			fid, n = struct.unpack(">II", h[4:])
			body = self._read(c, n)
			fields = {}
			for line in body.split(b"\n")[:-1]:
				k, _, v = line.partition(b"=")
				if k.decode() in fields:
					raise ValueError("duplicate key")
				fields[k.decode()] = v
			self.requests.append((ftype, fields))
			reply = self.handler(ftype, fields) if self.handler \
			    else [("status", b"ok")]
			c.sendall(frame(ftype | 0x80, fid, reply))

	def pending(self):
		"""A connection waiting to be accepted (accept=False only)."""
		self.sock.setblocking(False)
		try:
			c, _ = self.sock.accept()
			c.close()
			return True
		except BlockingIOError:
			return False

	def close(self):
		self.stop.set()
		if self.thread is not None:
			self.thread.join(5)
		self.sock.close()
		self.dir.cleanup()


def run(sock, *args):
	return subprocess.run([BANKCTL, "-S", sock] + list(args),
	    capture_output=True, timeout=RUN_TIMEOUT)


def assert_terminal_safe(tc, out):
	"""No C0 but newline, no DEL, valid UTF-8 without C1 characters."""
	bad = [b for b in out if (b < 0x20 and b != 0x0a) or b == 0x7f]
	tc.assertEqual(bad, [], "raw control bytes in %r" % out)
	text = out.decode("utf-8")	# strict: raises on invalid bytes
	c1 = [ch for ch in text if 0x80 <= ord(ch) <= 0x9f]
	tc.assertEqual(c1, [], "raw C1 characters in %r" % text)
	return text


class BadArguments(unittest.TestCase):
	"""(a) Refused before anything is sent: exit 2, the option named."""

	CASES = [
		# time limits (Slurm's formats, at most LIM_MINUTES)
		(["estimate", "-p", "n", "-t", "2982617-00:00:00"], "-t"),
		(["estimate", "-p", "n", "-t", "4294967294"], "-t"),
		(["estimate", "-p", "n", "-t", "71582788:54:00"], "-t"),
		(["estimate", "-p", "n", "-t", "99999999999999999999999"],
		    "-t"),
		(["estimate", "-p", "n", "-t", ""], "-t"),
		(["estimate", "-p", "n", "-t", "1-"], "-t"),
		(["estimate", "-p", "n", "-t", "-5"], "-t"),
		(["estimate", "-p", "n", "-t", "1:2:3:4"], "-t"),
		(["estimate", "-p", "n", "-t", "1::2"], "-t"),
		(["estimate", "-p", "n", "-t", "1-2-3"], "-t"),
		(["estimate", "-p", "n", "-t", "1:00-2"], "-t"),
		(["estimate", "-p", "n", "-t", "1h"], "-t"),
		(["estimate", "-p", "n", "-t", "+5"], "-t"),
		# memory (Slurm's suffixes, at most LIM_MEM_MB)
		(["estimate", "-p", "n", "--mem", "18014398509481984T"],
		    "--mem"),
		(["estimate", "-p", "n", "--mem", "8796093022208T"], "--mem"),
		(["estimate", "-p", "n", "--mem", "9223372036854775808"],
		    "--mem"),
		(["estimate", "-p", "n", "--mem", "99999999999999999999999"],
		    "--mem"),
		(["estimate", "-p", "n", "--mem", "-1"], "--mem"),
		(["estimate", "-p", "n", "--mem", ""], "--mem"),
		(["estimate", "-p", "n", "--mem", "4X"], "--mem"),
		(["estimate", "-p", "n", "--mem", "4GBB"], "--mem"),
		(["estimate", "-p", "n", "--mem", "G"], "--mem"),
		(["estimate", "-p", "n", "--mem-per-cpu", "1e3"],
		    "--mem-per-cpu"),
		# counts (strict decimal, 1..LIM_COUNT; -c at most 65533)
		(["estimate", "-p", "n", "-n", "99999999999999999999"], "-n"),
		(["estimate", "-p", "n", "-n", "2147483648"], "-n"),
		(["estimate", "-p", "n", "-n", "0"], "-n"),
		(["estimate", "-p", "n", "-n", "+5"], "-n"),
		(["estimate", "-p", "n", "-n", " 5"], "-n"),
		(["estimate", "-p", "n", "-n", "5x"], "-n"),
		(["estimate", "-p", "n", "-n", ""], "-n"),
		(["estimate", "-p", "n", "-c", "-1"], "-c"),
		(["estimate", "-p", "n", "-c", "0"], "-c"),
		(["estimate", "-p", "n", "-c", "65534"], "-c"),
		(["estimate", "-p", "n", "-N", "-1"], "-N"),
		(["estimate", "-p", "n", "-N", "2147483648"], "-N"),
		(["estimate", "-p", "n", "--mincpus", "0"], "--mincpus"),
		(["estimate", "-p", "n", "--mincpus", "4294967296"],
		    "--mincpus"),
		(["estimate", "-p", "n", "--gpus", "0"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "a100:0"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "99999999999"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "a100:-1"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", ":2"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "a100:"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "a100:2:3"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "a,b:2"], "--gpus"),
		(["estimate", "-p", "n", "--gpus", "2x:a100"], "--gpus"),
		(["estimate", "-p", "n", "--node", "0"], "--node"),
		(["estimate", "-p", "n", "--node", "99999999999"], "--node"),
		(["estimate", "-p", "n", "--node", "4:18014398509481984T"],
		    "--node"),
		(["estimate", "-p", "n", "--node", "4:"], "--node"),
		(["estimate", "-p", "n", "--node", "4x:1G"], "--node"),
		(["estimate", "-p", "n", "--mem", "1G", "--mem-per-cpu", "1G"],
		    "--mem-per-cpu"),
		(["estimate", "-p", "n", "--array", "0-99999999999999999999"],
		    "--array"),
		(["estimate", "-p", "n", "--array", "0-4000001"], "--array"),
		(["estimate", "-p", "n", "--array", "x"], "--array"),
		# users, names
		(["estimate", "-p", "n", "-u", "4294967295"], "-u"),
		(["estimate", "-p", "n", "-u", "no_such_user_zz"], "-u"),
		(["estimate", "-p", "n", "-A", "a" * 128], "-A"),
		(["estimate", "-p", "p" * 64], "-p"),
		(["estimate", "-p", "a,,b"], "-p"),
		(["estimate", "-p", "n", "--qos", "q" * 64], "--qos"),
		(["holds", "-u", "4294967295"], "-u"),
		(["holds", "-u", "no_such_user_zz"], "-u"),
		(["holds", "-A", "a" * 128], "-A"),
		# check USER ACCOUNT COST
		(["check", "root", "acct", "1000000000.00"], "COST"),
		(["check", "root", "acct", "-5"], "COST"),
		(["check", "root", "acct", "1.234"], "COST"),
		(["check", "4294967295", "acct", "1"], "USER"),
		(["check", "root", "a" * 128, "1"], "ACCOUNT"),
		# report numbers
		(["show", "0"], "SEQ"),
		(["show", "99999999999999999999999"], "SEQ"),
		(["retry", "0"], "SEQ"),
		(["retry", "18446744073709551616"], "SEQ"),
		(["drop", "9223372036854775808"], "SEQ"),
		(["queue", "--deadx"], "usage"),
		(["drop", "abc"], "SEQ"),
	]

	def test_refused_unsent(self):
		for args, opt in self.CASES:
			with self.subTest(args=args):
				srv = FakeBankd(accept=False)
				try:
					r = run(srv.path, *args)
					err = r.stderr.decode("utf-8", "replace")
					self.assertEqual(r.returncode, 2, err)
					self.assertIn(opt, err)
					self.assertEqual(r.stdout, b"")
					self.assertFalse(srv.pending(),
					    "bankctl connected")
				finally:
					srv.close()

	def test_value_named_and_escaped(self):
		"""The message names the value, escaped like any output."""
		srv = FakeBankd(accept=False)
		try:
			r = run(srv.path, "estimate", "-p", "n", "-n",
			    "5\x1b[2J")
			self.assertEqual(r.returncode, 2)
			err = assert_terminal_safe(self, r.stderr)
			self.assertIn("-n", err)
			self.assertIn("5\\x1b[2J", err)
			self.assertFalse(srv.pending())
		finally:
			srv.close()


def hostile(ftype, fields):
	if ftype in (T_ESTIMATE, T_CHECK):
		return [("status", b"ok"), ("estimate", b"1.00"),
		    ("partition", b"gpu\tx" + EVIL), ("account", FANCY),
		    ("message", b"priced \x1b[1mbold\x1b[0m")]
	if ftype == T_STATUS:
		return [("status", b"ok"), ("api_error", EVIL)]
	if ftype == T_QUEUE:
		off = int(fields.get("offset", b"0"))
		n = 50 if off == 0 else 1
		rows = []
		for i in range(n):
			seq = off + i + 1
			rows.append(("e%d" % (i + 1), b"\t".join([
			    b"%d" % seq, b"1234", b"end", b"12.50", b"queued",
			    b"3", b"10", EVIL if seq == 1 else FANCY,
			    b"HTTP 500 \x1b[2J\xff"])))
		return [("status", b"ok"), ("total", b"51")] + rows
	if ftype == T_HOLDS:
		return [("status", b"ok"), ("count", b"2"),
		    ("total", b"7.\x1b00"),
		    ("h1", b"\t".join([b"t\x1bk", b"0", b"1000", EVIL,
		    b"5.00", b"10"])),
		    ("h2", b"\t".join([b"t2", b"77", b"1001", FANCY,
		    b"2.00", b"3"]))]
	if ftype == T_PRICES:
		return [("status", b"ok"), ("default", b"1"),
		    ("billing", b"sum"), ("from_api", b"0"), ("qos", b""),
		    ("total", b"1"),
		    ("p1", b"\t".join([EVIL, b"1.5", b"0", FANCY, b"0",
		    b"sum", b"local"]))]
	if ftype == T_SHOW:
		return [("status", b"ok"), ("seq", b"1"), ("account", EVIL),
		    ("body", b'{"account":"\x1b[31m"}')]
	return [("status", b"ok")]


class HostileReplies(unittest.TestCase):
	"""(b) What bankd says is shown safely, in table and --json modes."""

	def setUp(self):
		self.srv = FakeBankd(hostile)

	def tearDown(self):
		self.srv.close()

	def table(self, *args):
		r = run(self.srv.path, *args)
		self.assertEqual(r.returncode, 0, r.stderr)
		return assert_terminal_safe(self, r.stdout)

	def json(self, *args):
		r = run(self.srv.path, "--json", *args)
		self.assertEqual(r.returncode, 0, r.stderr)
		assert_terminal_safe(self, r.stdout)
		return json.loads(r.stdout.decode("utf-8"))

	@staticmethod
	def text(b):
		return b.decode("utf-8", "surrogateescape")

	def test_estimate(self):
		out = self.table("estimate", "-p", "gpu")
		self.assertIn("gpu\\x09x" + EVIL_TABLE, out)
		self.assertIn(FANCY_TABLE, out)
		self.assertIn("priced \\x1b[1mbold\\x1b[0m", out)
		doc = self.json("estimate", "-p", "gpu")
		self.assertEqual(doc["partition"], self.text(b"gpu\tx" + EVIL))
		self.assertEqual(doc["account"], self.text(FANCY))

	def test_status(self):
		self.assertIn(EVIL_TABLE, self.table("status"))
		self.assertEqual(self.json("status")["api_error"],
		    self.text(EVIL))

	def test_queue(self):
		out = self.table("queue")
		self.assertIn(EVIL_TABLE, out)
		self.assertIn(FANCY_TABLE, out)
		self.assertIn("HTTP 500 \\x1b[2J\\xff", out)
		self.assertIn("-- 51 ", out)
		doc = self.json("queue")
		self.assertEqual(len(doc), 51)
		self.assertEqual(doc[0]["account"], self.text(EVIL))
		self.assertEqual(doc[1]["account"], self.text(FANCY))
		self.assertEqual(doc[50]["seq"], "51")
		self.assertEqual(doc[0]["last_error"],
		    self.text(b"HTTP 500 \x1b[2J\xff"))

	def test_holds(self):
		out = self.table("holds")
		self.assertIn(EVIL_TABLE, out)
		self.assertIn("t\\x1bk", out)
		self.assertIn("7.\\x1b00", out)
		doc = self.json("holds")
		self.assertEqual(doc["total"], "7.\x1b00")
		self.assertEqual(doc["holds"][0]["account"], self.text(EVIL))
		self.assertEqual(doc["holds"][0]["hold"], "t\x1bk")
		self.assertEqual(doc["holds"][1]["account"], self.text(FANCY))
		self.assertEqual(doc["holds"][1]["job"], "77")

	def test_prices(self):
		out = self.table("prices")
		self.assertIn(EVIL_TABLE, out)
		doc = self.json("prices")
		self.assertEqual(doc["partitions"][0]["partition"],
		    self.text(EVIL))
		self.assertEqual(doc["partitions"][0]["gpu_types"],
		    self.text(FANCY))

	def test_show(self):
		out = self.table("show", "1")
		self.assertIn(EVIL_TABLE, out)
		self.assertIn('{"account":"\\x1b[31m"}', out)
		doc = self.json("show", "1")
		self.assertEqual(doc["account"], self.text(EVIL))

	def test_prices_sparse_reply(self):
		"""A reply missing fields is shown, not a crash."""
		self.srv.handler = lambda t, f: [("status", b"ok")]
		r = run(self.srv.path, "prices")
		self.assertEqual(r.returncode, 0, r.stderr)
		assert_terminal_safe(self, r.stdout)
		r = run(self.srv.path, "holds")
		self.assertEqual(r.returncode, 0, r.stderr)


class WhatIsSent(unittest.TestCase):
	"""(c) Good arguments become the fields bankd reads."""

	def setUp(self):
		self.srv = FakeBankd()

	def tearDown(self):
		self.srv.close()

	def sent(self, *args):
		before = len(self.srv.requests)
		r = run(self.srv.path, *args)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(len(self.srv.requests), before + 1)
		return self.srv.requests[-1]

	def field(self, key, *args):
		return self.sent(*args)[1].get(key)

	def test_time(self):
		for t, want in [("1-00:00:00", b"1440"), ("90", b"90"),
		    ("0:30", b"1"), ("1:30", b"2"), ("2:00:00", b"120"),
		    ("1:90:00", b"150"), ("0:0:61", b"2"), ("1-12", b"2160"),
		    ("1-2:30", b"1590"), ("4294967293", b"4294967293"),
		    ("2982616-04:13", b"4294967293"), ("0", None),
		    ("00:00:00", None), ("UNLIMITED", None),
		    ("infinite", None), ("-1", None)]:
			with self.subTest(t=t):
				self.assertEqual(self.field("time_limit",
				    "estimate", "-p", "n", "-t", t), want)

	def test_mem(self):
		for m, want in [("4G", b"4096"), ("4096", b"4096"),
		    ("4gb", b"4096"), ("512K", b"1"), ("1k", b"1"),
		    ("1T", b"1048576"), ("2MB", b"2"), ("0", b"0"),
		    ("8796093022207T", b"9223372036853727232"),
		    ("9223372036854775807", b"9223372036854775807")]:
			with self.subTest(m=m):
				self.assertEqual(self.field("mem_per_node",
				    "estimate", "-p", "n", "--mem", m), want)
		self.assertEqual(self.field("mem_per_cpu", "estimate", "-p",
		    "n", "--mem-per-cpu", "2G"), b"2048")

	def test_counts(self):
		_, f = self.sent("estimate", "-p", "n", "-n", "2147483647",
		    "-c", "65533", "-N", "3", "--mincpus", "8")
		self.assertEqual(f["num_tasks"], b"2147483647")
		self.assertEqual(f["cpus_per_task"], b"65533")
		self.assertEqual(f["min_nodes"], b"3")
		self.assertEqual(f["min_cpus"], b"8")
		# The last of a repeated option wins, as in sbatch.
		_, f = self.sent("estimate", "-p", "n", "-n", "4", "-n", "8")
		self.assertEqual(f["num_tasks"], b"8")
		self.assertEqual(self.field("tres_per_job", "estimate", "-p",
		    "n", "--gpus", "a100:2"), b"gres:gpu:a100:2")
		self.assertEqual(self.field("tres_per_job", "estimate", "-p",
		    "n", "--gpus", "2:v100"), b"gres:gpu:v100:2")
		# leading zeros are still the number, however many
		self.assertEqual(self.field("tres_per_job", "estimate", "-p",
		    "n", "--gpus", "a100:" + "0" * 40 + "12"),
		    b"gres:gpu:a100:12")
		self.assertEqual(self.field("part_info", "estimate", "-p",
		    "a", "--node", "0" * 40 + "4"), b"a:4:0:0")
		self.assertEqual(self.field("tres_per_job", "estimate", "-p",
		    "n", "--gpus", "2147483647"), b"gres:gpu:2147483647")
		self.assertEqual(self.field("part_info", "estimate", "-p",
		    "a,b", "--node", "32:192G"), b"a:32:196608:0,b:32:196608:0")
		self.assertEqual(self.field("array_tasks", "estimate", "-p",
		    "n", "--array", "0-4000000"), b"4000001")

	def test_check_is_dry_run(self):
		t, f = self.sent("estimate", "-p", "n", "-A", "acct", "-u",
		    "root", "--check")
		self.assertEqual(t, T_CHECK)
		self.assertEqual(f.get("dry_run"), b"1")
		self.assertEqual(f.get("uid"), b"0")
		self.assertEqual(f.get("account"), b"acct")
		t, f = self.sent("estimate", "-p", "n", "--check")
		self.assertEqual(f.get("uid"), b"%d" % os.getuid())
		self.assertEqual(f.get("dry_run"), b"1")
		t, f = self.sent("estimate", "-p", "n", "-u", "4294967294")
		self.assertEqual(t, T_ESTIMATE)
		self.assertEqual(f.get("uid"), b"4294967294")
		self.assertIsNone(f.get("dry_run"))
		t, f = self.sent("check", "root", "acct", "999999999.99")
		self.assertEqual(t, T_CHECK)
		self.assertEqual(f.get("cost"), b"99999999999")
		self.assertEqual(f.get("dry_run"), b"1")

	def test_seq(self):
		self.assertEqual(self.field("seq", "show", "9223372036854775807"),
		    b"9223372036854775807")
		t, f = self.sent("retry", "--all")
		self.assertEqual((t, f.get("seq")), (T_RETRY, None))
		self.assertEqual(self.field("uid", "holds", "-u", "nobody"),
		    b"65534")


class JobScript(unittest.TestCase):
	"""estimate JOBSCRIPT: #SBATCH lines read as sbatch reads them."""

	def setUp(self):
		self.srv = FakeBankd()
		self.dir = tempfile.TemporaryDirectory(prefix="bankctl-script-")

	def tearDown(self):
		self.srv.close()
		self.dir.cleanup()

	def script(self, text):
		path = os.path.join(self.dir.name, "job.sh")
		with open(path, "w") as f:
			f.write(text)
		return path

	def sent(self, text, *args):
		before = len(self.srv.requests)
		r = run(self.srv.path, "estimate", *(list(args) +
		    [self.script(text)]))
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(len(self.srv.requests), before + 1)
		return self.srv.requests[-1][1], r.stderr.decode()

	def test_options_and_overrides(self):
		text = ("#!/bin/bash\n#SBATCH -p normal -n 4\n"
		    "#SBATCH --time=1:00:00\n#SBATCH --mem 2G -c 2\n"
		    "#SBATCH --account=fc_a --qos 'hi prio'\necho\n")
		f, _ = self.sent(text)
		self.assertEqual((f["partitions"], f["num_tasks"],
		    f["time_limit"], f["mem_per_node"], f["cpus_per_task"],
		    f["account"], f["qos"]), (b"normal", b"4", b"60", b"2048",
		    b"2", b"fc_a", b"hi prio"))
		# the command line overrides, wherever it stands
		f, _ = self.sent(text, "-n", "2", "-t", "30", "-p", "gpu")
		self.assertEqual((f["num_tasks"], f["time_limit"],
		    f["partitions"], f["cpus_per_task"]), (b"2", b"30", b"gpu",
		    b"2"))
		r = run(self.srv.path, "estimate", self.script(text), "-n", "8")
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(self.srv.requests[-1][1]["num_tasks"], b"8")

	def test_stops_at_first_command(self):
		f, _ = self.sent("#!/bin/sh\n\n  # a comment\n#SBATCH -n 3\n"
		    "   \n#SLURM -c 5\nsrun hostname\n#SBATCH -n 99\n"
		    "#SBATCH -p late\n")
		self.assertEqual((f["num_tasks"], f["cpus_per_task"]),
		    (b"3", b"5"))
		self.assertNotIn("partitions", f)

	def test_words_and_comments(self):
		f, _ = self.sent("#SBATCH -p \"a b\" # -n 9\n"
		    "#SBATCH -A fc_\\#x #-c 4\n#SBATCH-n2\n")
		self.assertEqual((f["partitions"], f["account"],
		    f["num_tasks"]), (b"a b", b"fc_#x", b"2"))
		self.assertNotIn("cpus_per_task", f)

	def test_unknown_ignored_with_note(self):
		f, err = self.sent("#SBATCH --job-name \"my job\" -J x -n 2\n"
		    "#SBATCH --bogus=3 -o out.txt --mail-type=END\n"
		    "#SBATCH --gres=gpu:1 -p n\n")
		self.assertEqual((f["num_tasks"], f["partitions"]),
		    (b"2", b"n"))
		for opt, line in [("--job-name", 1), ("-J", 1),
		    ("--bogus=3", 2), ("-o", 2), ("--gres=gpu:1", 3)]:
			self.assertIn("line %d: %s ignored" % (line, opt), err)
		self.assertNotIn("my job ignored", err)
		self.assertNotIn("x ignored", err)

	def test_hetjob_first_component(self):
		f, err = self.sent("#SBATCH -n 2\n#SBATCH hetjob\n"
		    "#SBATCH -n 7\n")
		self.assertEqual(f["num_tasks"], b"2")
		self.assertIn("first component", err)

	def test_bad_scripts_unsent(self):
		for text, says in [("#SBATCH -p 'open\n", "line 1: unmatched"),
		    ("#SBATCH -n 0\n", "-n '0'"),
		    ("#SBATCH -n 1\n#SBATCH -t 1:xx\n", "line 2"),
		    ("#SBATCH " + "x" * 5000 + "\n", "longer than"),
		    ("#SBATCH --mem 1G --mem-per-cpu 1G\n", "together")]:
			with self.subTest(text=text[:30]):
				r = run(self.srv.path, "estimate",
				    self.script(text))
				self.assertEqual(r.returncode, 2)
				self.assertIn(says, r.stderr.decode())
		r = run(self.srv.path, "estimate", os.path.join(self.dir.name,
		    "missing.sh"))
		self.assertEqual(r.returncode, 2)
		self.assertIn("JOBSCRIPT", r.stderr.decode())
		self.assertEqual(self.srv.connections, 0)


class Refused(unittest.TestCase):
	"""A refusal is said and fails, never shown as an empty list."""

	MSG = b"permission denied: only root and the SlurmUser may see the queue"

	def setUp(self):
		self.srv = FakeBankd(lambda t, f: [("status", b"error"),
		    ("message", self.MSG)])

	def tearDown(self):
		self.srv.close()

	def test_queue_refused(self):
		for args in (("queue",), ("queue", "--dead"),
		    ("--json", "queue")):
			r = run(self.srv.path, *args)
			self.assertEqual(r.returncode, 1, args)
			out = (r.stdout + r.stderr).decode()
			self.assertIn("permission denied", out)
			self.assertNotIn("SEQ", out)
			self.assertNotIn("report(s) waiting", out)


class Balance(unittest.TestCase):
	"""balance: the account sent, never a uid; the reply shown safely."""

	REPLY = [("status", b"ok"), ("account", EVIL), ("uid", b"47001"),
	    ("alloc", b"200.00"), ("used", b"37.25"), ("room", b"162.75"),
	    ("user_limit", b"below"), ("user_alloc", b"50.00"),
	    ("user_used", b"12.40"), ("user_room", b"37.60"),
	    ("held_mine", b"6.00"), ("held_all", b"9.00"),
	    ("held_jobs", b"2"), ("left", b"31.60"), ("source", b"cache"),
	    ("age", b"7"), ("message", FANCY)]

	def setUp(self):
		self.srv = FakeBankd(lambda t, f: self.REPLY if t == T_BALANCE
		    else [("status", b"error"), ("message", b"no")])

	def tearDown(self):
		self.srv.close()

	def test_sent_and_shown(self):
		r = run(self.srv.path, "balance", "-A", "fc_users")
		self.assertEqual(r.returncode, 0, r.stderr)
		t, f = self.srv.requests[-1]
		self.assertEqual((t, f), (T_BALANCE, {"account": b"fc_users"}))
		text = assert_terminal_safe(self, r.stdout)
		self.assertIn(EVIL_TABLE, text)
		for s in ("200.00", "37.25", "162.75", "50.00", "12.40",
		    "37.60", "9.00", "6.00", "31.60", "7 s ago",
		    "bankd's cache"):
			self.assertIn(s, text)
		r = run(self.srv.path, "--json", "balance", "-A", "fc_users")
		j = json.loads(r.stdout)
		self.assertEqual((j["left"], j["user_room"]), ("31.60", "37.60"))
		self.assertEqual(j["account"].encode("utf-8",
		    "surrogateescape"), EVIL)

	def test_refused(self):
		r = run(self.srv.path, "balance", "-A", "a" * 128)
		self.assertEqual(r.returncode, 2)
		self.assertIn("-A", r.stderr.decode())
		r = run(self.srv.path, "balance", "extra")
		self.assertEqual(r.returncode, 2)
		self.assertEqual(self.srv.connections, 0)

	def test_deny_said(self):
		self.REPLY = [("status", b"deny"), ("message",
		    b"the API: not a member\x1b[2J")]
		r = run(self.srv.path, "balance", "-A", "fc_x")
		self.assertEqual(r.returncode, 1)
		self.assertEqual(r.stdout, b"")
		self.assertIn(b"not a member\\x1b[2J", r.stderr)


if __name__ == "__main__":
	if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
		sys.exit("usage: test_bankctl.py PATH_TO_BANKCTL")
	BANKCTL = os.path.abspath(sys.argv.pop(1))
	unittest.main()
