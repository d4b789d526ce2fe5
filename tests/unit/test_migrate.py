#!/usr/bin/env python3
"""
unit_migrate: bankctl migrate-config, the original slurm-banking-plugins'
bank-config.toml as bank.yaml (bankctl/ctl_migrate.c, ctl_toml.c).

  (a) a bank-config.toml as the original project's example has it
      migrates, and bankd --check-config accepts the result;
  (b) prices are carried as written ("0.85" stays "0.85", "1.00" stays
      "1.00"); exponents, floats beyond 6 places, signs and non-decimals
      are refused with the line;
  (c) a hostile file (long lines, bad syntax, unterminated strings,
      control characters, huge numbers, NUL, invalid UTF-8) exits 2
      with FILE:LINE and what is wrong, and writes nothing;
  (d) what cannot be carried over (unknown tables and keys,
      [QosMultiplier]) is listed on stderr, each named with its line.

usage: test_migrate.py PATH_TO_BANKCTL PATH_TO_BANKD [unittest arguments]
No daemon is started: bankd only checks the file.
"""
import os
import stat
import subprocess
import sys
import tempfile
import unittest

BANKCTL = None
BANKD = None
RUN_TIMEOUT = 30

# The layout of the original project's bank-config.toml.example (v0.1.7
# on), with a site's own values.
ORIGINAL = """\
[Enable]
enable_job_submit_plugin = true     # needs a slurmctld restart
enable_spank_plugin = true          # read at each job
enable_job_complete_plugin = true   # needs a slurmctld restart

[PartitionPrice]
# Cost of one CPU-hour; a partition not listed costs 0.
normal = 1
debug = 0.5
lowprio = 0.85
bigmem = 1.67
gpu = 2.67
htc = 1.20
knl = 0.40

[API]
# Base path of the myBRC API, without the trailing /
url = "https://mybrc.example.org/mybrc-rest"
# "Token " and the key
token = "Token 0123456789abcdef0123456789abcdef01234567"
"""


class Migrate(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory(prefix="migrate-test-")
		self.dir = self.tmp.name

	def tearDown(self):
		self.tmp.cleanup()

	def toml(self, text, name="bank-config.toml"):
		path = os.path.join(self.dir, name)
		with open(path, "wb") as f:
			f.write(text if isinstance(text, bytes) else
			    text.encode())
		return path

	def migrate(self, src, *args):
		return subprocess.run([BANKCTL, "migrate-config", src] +
		    list(args), capture_output=True, timeout=RUN_TIMEOUT)

	def migrated(self, text, *args):
		"""Migrate to OUT; assert it went well; (yaml, stderr)."""
		out = os.path.join(self.dir, "bank.yaml")
		r = self.migrate(self.toml(text), "-o", out, *args)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(r.stdout, b"")
		with open(out) as f:
			return f.read(), r.stderr.decode()

	def check_config(self, path):
		r = subprocess.run([BANKD, "--check-config", path],
		    capture_output=True, timeout=RUN_TIMEOUT)
		self.assertEqual(r.returncode, 0, r.stderr)
		return r.stdout.decode()

	def refused(self, text, *what):
		"""Exit 2, FILE:LINE and what on stderr, nothing written."""
		out = os.path.join(self.dir, "refused.yaml")
		src = self.toml(text)
		r = self.migrate(src, "-o", out)
		err = r.stderr.decode()
		self.assertEqual(r.returncode, 2, err)
		self.assertFalse(os.path.exists(out), err)
		self.assertEqual(r.stdout, b"")
		for w in what:
			self.assertIn(w, err)
		self.assertEqual(err.count("\n"), 1, err)
		return err

	# (a) -------------------------------------------------------------
	def test_original_passes_check_config(self):
		yaml, err = self.migrated(ORIGINAL)
		out = os.path.join(self.dir, "bank.yaml")
		self.assertTrue(yaml.startswith("# bank.yaml, migrated by "
		    "`bankctl migrate-config` from " +
		    os.path.join(self.dir, "bank-config.toml")))
		self.assertIn('url: "https://mybrc.example.org/mybrc-rest"',
		    yaml)
		self.assertIn('token: "0123456789abcdef0123456789abcdef'
		    '01234567"', yaml)
		for sw in ("job_submit", "spank", "jobcomp"):
			self.assertIn("  %s: true\n" % sw, yaml)
		self.assertIn('  default: "0"\n', yaml)
		self.assertIn("inline", err)
		self.assertIn("0600", err)
		self.assertNotIn("not carried over", err)
		# The token inside: only its owner may read it.
		self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
		self.assertIn("ok (7 priced partitions", self.check_config(out))

	def test_token_file(self):
		tf = os.path.join(self.dir, "bank-token")
		yaml, err = self.migrated(ORIGINAL, "--token-file", tf)
		self.assertIn('token_file: "%s"' % tf, yaml)
		self.assertNotIn("0123456789abcdef", yaml)
		self.assertNotIn("inline", err)
		with open(tf) as f:
			self.assertEqual(f.read(),
			    "0123456789abcdef0123456789abcdef01234567\n")
		self.assertEqual(stat.S_IMODE(os.stat(tf).st_mode), 0o600)
		out = os.path.join(self.dir, "bank.yaml")
		self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o644)
		self.check_config(out)

	def test_stdout_and_no_replace(self):
		src = self.toml(ORIGINAL)
		r = self.migrate(src)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn(b'"lowprio": "0.85"', r.stdout)
		out = os.path.join(self.dir, "bank.yaml")
		with open(out, "w") as f:
			f.write("kept\n")
		r = self.migrate(src, "-o", out)
		self.assertEqual(r.returncode, 1)
		self.assertIn(b"not replaced", r.stderr)
		with open(out) as f:
			self.assertEqual(f.read(), "kept\n")

	def test_defaults_of_the_plugins(self):
		"""Absent switches were off, a missing url was localhost."""
		yaml, err = self.migrated("[Enable]\n"
		    "enable_spank_plugin = true\n[api]\ntoken = 'k1'\n")
		self.assertIn("  job_submit: false\n  spank: true\n"
		    "  jobcomp: false\n", yaml)
		self.assertIn('url: "http://localhost:8080"', yaml)
		self.assertIn("no [Enable] enable_job_submit_plugin", err)
		self.assertIn("no [API] url", err)
		self.assertNotIn("partitions:", yaml)
		self.check_config(os.path.join(self.dir, "bank.yaml"))

	def test_case_folded_as_the_plugins_did(self):
		yaml, err = self.migrated("[partitionprice]\nGPU = 2\n"
		    "[API]\nURL = 'http://h/'\nToken = 'k'\n")
		self.assertIn('"gpu": "2"', yaml)
		self.assertIn('url: "http://h"', yaml)
		self.assertIn("partition 'GPU' is carried as 'gpu'", err)
		self.refused("[PartitionPrice]\ngpu = 1\nGPU = 2\n",
		    ":3:", "same key as 'gpu' of line 2")
		self.refused("[API]\n[api]\n", ":2:", "table [api]")

	# (b) -------------------------------------------------------------
	def test_prices_exact(self):
		yaml, _ = self.migrated("[PartitionPrice]\na = 0.85\n"
		    "b = 1.00\nc = \"0.3\"\nd = 0.000001\ne = 0\n"
		    "f = 123456789\n[API]\nurl='https://x'\ntoken='k'\n")
		for k, v in (("a", "0.85"), ("b", "1.00"), ("c", "0.3"),
		    ("d", "0.000001"), ("e", "0"), ("f", "123456789")):
			self.assertIn('    "%s": "%s"\n' % (k, v), yaml)
		self.check_config(os.path.join(self.dir, "bank.yaml"))

	def test_prices_refused(self):
		for value, what in (("1e3", "exponents are not read"),
		    ("1E-2", "exponents are not read"),
		    ("0.30000000000000004", "too many decimal places"),
		    ("-1", "not a non-negative decimal"),
		    ("+1", "not a plain decimal"),
		    ("1_000", "not a plain decimal"),
		    ("0x10", "not a plain decimal"),
		    ("inf", "not a plain decimal"),
		    ("nan", "not a plain decimal"),
		    ("01", "not a plain decimal"),
		    ("1.", "not a plain decimal"),
		    ("1979-05-27", "not a plain decimal"),
		    ('"abc"', "price 'abc'"), ("true", "decimal number"),
		    ('["1"]', "decimal number"),
		    ("9" * 30, "amount too large"),
		    ("9" * 40, "longer than 32")):
			with self.subTest(value=value):
				self.refused("[Enable]\n\n[PartitionPrice]\n"
				    "p = %s\n" % value, "bank-config.toml:4:",
				    what)

	# (c) -------------------------------------------------------------
	def test_hostile(self):
		for text, line, what in (
		    (b"[API]\nurl = '" + b"x" * 5000 + b"'\n", 2,
		     "longer than 4096 bytes"),
		    (b"[API\n", 1, "not closed"),
		    (b"[Enable]\nx = \"open\n", 2, "not terminated"),
		    (b"[Enable]\nx = 'open\n", 2, "not terminated"),
		    (b"a = \"\x1b[2J\"\n", 1, "control character U+001B"),
		    (b"a = 1 \x07\n", 1, "control character U+0007"),
		    (b"a = '\xc2\x9b'\n", 1, "control character U+009B"),
		    (b"a = \"\\u001b\"\n", 1, "control character U+001B"),
		    (b"a = \"\\ud800\"\n", 1, "not a character"),
		    (b"a = \"\\q\"\n", 1, "unknown escape"),
		    (b"a = '\xff'\n", 1, "invalid UTF-8"),
		    (b"\n\na = 'x\x00'\n", 3, "NUL"),
		    (b"a = \"" + b"y" * 2000 + b"\"\n", 1,
		     "string longer than 1024"),
		    (b"a = 1\na = 2\n", 2, "already set at line 1"),
		    (b"[t]\n[t]\n", 2, "already defined at line 1"),
		    (b"[[t]]\n", 1, "arrays of tables"),
		    (b"a = \"\"\"x\"\"\"\n", 1, "multi-line strings"),
		    (b"a = {b = 1}\n", 1, "inline tables"),
		    (b"a.b = 1\n", 1, "dotted keys"),
		    (b"a = [\"x\",\n", 1, "array not closed"),
		    (b"a = [1]\n", 1, "strings only"),
		    (b"a = \n", 1, "without a value"),
		    (b"a = yes\n", 1, "a value must be"),
		    (b"a = 1 2\n", 1, "unexpected '2'"),
		    (b"= 1\n", 1, "expected a key"),
		    (b"a 1\n", 1, "expected '='"),
		    (b"k" * 200 + b" = 1\n", 1, "key longer than 128"),
		    (b"[Enable]\nenable_spank_plugin = \"true\"\n", 2,
		     "must be true or false"),
		    (b"[API]\nurl = 'ftp://x'\n", 2, "not an http"),
		    (b"[API]\nurl = 'http://x y'\n", 2, "printable ASCII"),
		    (b"[API]\ntoken = 'Token a b'\n", 2, "one word"),
		    (b"[PartitionPrice]\n'a b' = 1\n", 2, "partition name"),
		    (b"[PartitionPrice]\n" + b"p" * 64 + b" = 1\n", 2,
		     "partition name")):
			with self.subTest(text=text[:40]):
				err = self.refused(text,
				    "bank-config.toml:%d: " % line, what)
				# Hostile bytes are shown escaped, never raw.
				self.assertNotIn("\x1b", err)
				self.assertNotIn("\x07", err)

	def test_other_toml_refused(self):
		err = self.refused("[package]\nname = 'x'\n", "none of the "
		    "tables [Enable], [PartitionPrice] and [API]")
		self.refused("", "none of the tables")

	def test_too_many_keys_and_tables(self):
		self.refused("".join("[t%d]\n" % i for i in range(1001)),
		    ":1001:", "more than 1000 tables")
		self.refused("[PartitionPrice]\n" + "".join("p%d = 1\n" % i
		    for i in range(10001)), ":10002:", "more than 10000 keys")

	def test_too_many_lines(self):
		self.refused(b"\n" * 100001, ":100001:",
		    "more than 100000 lines")
		_, err = self.migrated(b"[API]\ntoken = 'k'" + b"\n" * 99999)
		self.assertIn("no [API] url", err)

	def test_not_a_file(self):
		r = self.migrate(self.dir)
		self.assertEqual(r.returncode, 2)
		self.assertIn(b"not a regular file", r.stderr)
		r = self.migrate(os.path.join(self.dir, "none.toml"))
		self.assertEqual(r.returncode, 1)
		for args in ([], ["a", "b"], ["a", "-o"], ["a", "-x"],
		    ["a", "--token-file", "relative"]):
			r = subprocess.run([BANKCTL, "migrate-config"] + args,
			    capture_output=True, timeout=RUN_TIMEOUT)
			self.assertEqual(r.returncode, 2, args)

	# (d) -------------------------------------------------------------
	def test_not_carried_listed(self):
		yaml, err = self.migrated((ORIGINAL + """
[QosMultiplier]
normal = 1
lowprio = 0

[Slurm]
conf = "/etc/slurm/slurm.conf"
[API.tls]
verify = false
""").replace("[API]\n", "[API]\ntimeout = 5\n"))
		lines = [l for l in err.splitlines() if "not carried" in l]
		names = ("[API] timeout", "[QosMultiplier] normal",
		    "[QosMultiplier] lowprio", "[Slurm] conf",
		    "[API.tls] verify")
		self.assertEqual(len(lines), len(names), err)
		for n in names:
			self.assertTrue(any(n + ":" in l for l in lines),
			    (n, err))
		self.assertIn("bank-config.toml:24: [QosMultiplier] normal",
		    err)
		self.assertIn("prices.qos", err)
		self.assertNotIn("qos", yaml)
		self.check_config(os.path.join(self.dir, "bank.yaml"))

	def test_top_level_and_hostile_names_listed_escaped(self):
		_, err = self.migrated("top = 1\n\"k\\u202e\" = 2\n"
		    "[API]\nurl = 'http://h'\ntoken = 'k'\n")
		self.assertIn("bank-config.toml:1: top: a key outside any "
		    "table", err)
		self.assertIn("bank-config.toml:2: k\\u202e: a key", err)
		self.assertNotIn("\u202e", err)


if __name__ == "__main__":
	if len(sys.argv) < 3 or not os.access(sys.argv[1], os.X_OK) or \
	    not os.access(sys.argv[2], os.X_OK):
		sys.exit("usage: test_migrate.py PATH_TO_BANKCTL PATH_TO_BANKD")
	BANKCTL = os.path.abspath(sys.argv.pop(1))
	BANKD = os.path.abspath(sys.argv.pop(1))
	unittest.main()
