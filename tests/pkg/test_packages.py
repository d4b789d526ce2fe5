"""The Debian packages (docs/packages.md), built, checked, installed on
this machine, used for one job, and purged.

    BANK_PKG_TEST=1 python3 tests/pkg/test_packages.py BUILD_DIR

It builds slurm-bank-plugins and slurm-bankd with cpack from BUILD_DIR
(into a temporary folder), runs lintian on both (an E: line fails), installs
them with dpkg -i, checks what they put where (man -w bankctl, bankd
--check-config, the directories postinst makes), runs one job through a
real slurmctld/slurmd with the installed files only (tests/e2e/harness.py,
installed=True) and checks its charge to the cent, then removes and purges
the packages and checks that nothing of them is left.  The purge runs
even when something before it fails.

It installs packages on the machine, so it runs only when BANK_PKG_TEST=1
(scripts/test sets it) and exits 77 (skipped) otherwise: `ctest -LE e2e`
must not install anything.  It refuses to run where either package is
installed already, or /etc/slurm/bank.yaml exists: it would purge them.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from decimal import Decimal

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
from harness import Cluster, PRICES, SLURM_PLUGIN_DIR, cost  # noqa: E402

BUILD = None
PKGS = ("slurm-bank-plugins", "slurm-bankd")
PLUGINS = ("job_submit_bank.so", "jobcomp_bank.so", "spank_bank.so")
STATE_DIR = "/var/lib/bankd"        # etc/bank.yaml, systemd StateDirectory=
SPOOL_DIR = "/var/spool/slurm-bank"
CONFFILES = {"slurm-bankd": "/etc/slurm/bank.yaml",
             "slurm-bank-plugins": "/etc/slurm/plugstack.conf.d/bank.conf"}


def sh(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv),
                             r.returncode, r.stdout, r.stderr))
    return r


def installed(pkg):
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "installed" in r.stdout.split()[-1:]


def known(pkg):
    """dpkg still has a record of it (installed or config-files)."""
    r = sh(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and "not-installed" not in r.stdout


def unit_links():
    """What systemctl enable / deb-systemd-helper left of our units."""
    return sorted(glob.glob("/etc/systemd/system/**/bankd*", recursive=True) +
                  glob.glob("/var/lib/systemd/deb-systemd-helper-*/**/bankd*",
                            recursive=True))


class Packages(unittest.TestCase):
    """One scenario in order: each step needs the one before."""

    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="bank-pkg.")
        self.files = {}         # package -> what dpkg -L listed
        self.c = None

    def tearDown(self):
        if self.c is not None:
            self.c.stop()
        try:
            self.purge_and_check()
        finally:
            shutil.rmtree(self.out, ignore_errors=True)

    # ---- building ------------------------------------------------------
    def build_packages(self):
        t0 = time.time()
        sh(["cpack", "-G", "DEB", "-B", self.out], cwd=BUILD)
        self.debs = {}
        for pkg in PKGS:
            found = glob.glob(os.path.join(self.out, pkg + "_*.deb"))
            self.assertEqual(len(found), 1, (pkg, os.listdir(self.out)))
            self.debs[pkg] = found[0]
            print("package %s: %d bytes (cpack %.1f s)" % (
                os.path.basename(found[0]), os.path.getsize(found[0]),
                time.time() - t0), flush=True)

    def check_control(self):
        slurm = sh(["dpkg-query", "-W", "-f=${Version}",
                    "libslurm-dev"]).stdout
        dep = sh(["dpkg-deb", "-f", self.debs["slurm-bank-plugins"],
                  "Depends"]).stdout
        # Exactly the Slurm it was built against, not ">=".
        self.assertIn("slurm-wlm-basic-plugins (= %s)" % slurm, dep)
        self.assertRegex(dep, r"libslurm38 \(>= ")      # shlibdeps
        dep = sh(["dpkg-deb", "-f", self.debs["slurm-bankd"],
                  "Depends"]).stdout
        for lib in ("munge", "libevent-2.1-7", "libcurl4", "libjansson4",
                    "libmunge2", "libyaml-0-2"):
            self.assertRegex(dep, r"(^|, )%s( |,|$)" % re.escape(lib), dep)
        for pkg, conf in CONFFILES.items():
            ctl = sh(["dpkg-deb", "-I", self.debs[pkg], "conffiles"]).stdout
            self.assertEqual(ctl.split(), [conf])

    def lintian(self):
        r = sh(["lintian", "--no-tag-display-limit"] + list(self.debs.values()),
               check=False)
        print(r.stdout, end="", flush=True)
        errors = [ln for ln in r.stdout.splitlines() if ln.startswith("E:")]
        self.assertEqual(errors, [])
        # lintian exits 1 on errors only (warnings do not count).
        self.assertEqual(r.returncode, 0, r.stderr)

    # ---- installing ----------------------------------------------------
    def install(self):
        sh(["dpkg", "-i"] + [self.debs[p] for p in PKGS])
        for pkg in PKGS:
            self.assertTrue(installed(pkg), pkg)
            self.files[pkg] = sh(["dpkg", "-L", pkg]).stdout.split("\n")
        for so in PLUGINS:
            self.assertTrue(os.path.isfile(os.path.join(SLURM_PLUGIN_DIR,
                                                        so)), so)
        for exe in ("/usr/sbin/bankd", "/usr/bin/bankctl"):
            self.assertTrue(os.access(exe, os.X_OK), exe)
        for unit in ("bankd.service", "bankd-relay.service"):
            self.assertTrue(os.path.isfile("/lib/systemd/system/" + unit))
        for pkg, conf in CONFFILES.items():
            self.assertIn(conf, sh(["dpkg-query", "-W", "-f=${Conffiles}",
                                    pkg]).stdout)
        # postinst: the state directory root's, the spool SlurmUser's.
        st = os.stat(STATE_DIR)
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o700))
        st = os.stat(SPOOL_DIR)
        self.assertEqual((pwd_name(st.st_uid), st.st_mode & 0o7777),
                         ("slurm", 0o700))
        # Debian's plugstack.conf reads the file slurm-bank-plugins adds.
        with open("/etc/slurm/plugstack.conf") as f:
            self.assertIn("include /etc/slurm/plugstack.conf.d/*.conf",
                          f.read())

    def check_man(self):
        for page, path in (("bankctl", "man8/bankctl.8.gz"),
                           ("bankd", "man8/bankd.8.gz"),
                           ("bank.yaml", "man5/bank.yaml.5.gz")):
            r = sh(["man", "-w", page])
            self.assertEqual(r.stdout.strip(), "/usr/share/man/" + path)

    def check_config(self):
        # The example as shipped names a token file the admin has yet to
        # write: refused, and the reason is that file.
        r = sh(["/usr/sbin/bankd", "--check-config", "/etc/slurm/bank.yaml"],
               check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("/etc/slurm/bank-token", r.stderr)
        # With a token file it is a working configuration.
        tok = os.path.join(self.out, "token")
        with open(tok, "w") as f:
            f.write("0" * 40 + "\n")
        os.chmod(tok, 0o600)
        with open("/etc/slurm/bank.yaml") as f:
            text = f.read()
        copy = os.path.join(self.out, "bank.yaml")
        with open(copy, "w") as f:
            f.write(text.replace("/etc/slurm/bank-token", tok))
        r = sh(["/usr/sbin/bankd", "--check-config", copy])
        self.assertIn("ok", r.stdout + r.stderr)
        r = sh(["/usr/sbin/bankd", "--check-config",
                "/usr/share/doc/slurm-bankd/examples/relay.yaml"])
        self.assertIn("ok", r.stdout + r.stderr)

    # ---- one job with the installed files ------------------------------
    def run_job(self):
        self.c = Cluster(BUILD, installed=True).start()
        c = self.c
        bankd = c.procs["bankd"].pid
        self.assertEqual(os.readlink("/proc/%d/exe" % bankd),
                         "/usr/sbin/bankd")
        with open(c.path("slurm.conf")) as f:
            conf = f.read()
        self.assertIn("PluginDir=%s\n" % SLURM_PLUGIN_DIR, conf)
        with open(c.path("plugstack.conf")) as f:
            self.assertNotIn(BUILD, f.read())
        before = c.usage("fc_alpha")
        c.ctl("POST", "/stats/reset")
        job, r, _ = c.sbatch("bankalice", ["-A", "fc_alpha", "-p", "normal",
                                           "-n", "1", "-t", "10"], "sleep 3")
        self.assertIsNotNone(job, r.stderr)
        j = c.wait_state(job, ("COMPLETED", "CANCELLED", "FAILED",
                               "TIMEOUT"))
        stored = c.wait_charged(job)
        self.assertEqual(j["JobState"], "COMPLETED")
        actual = cost(PRICES["normal"], int(j["NumCPUs"]), c.elapsed(j))
        self.assertGreater(actual, 0)
        self.assertEqual(Decimal(stored["amount"]), actual)
        self.assertEqual(c.usage("fc_alpha") - before, actual)
        # One of each: job_submit asked, spank_bank (through
        # plugstack.conf.d/bank.conf) reported the start, jobcomp the end.
        c.wait_drained()
        s = c.stats()
        self.assertGreaterEqual(s["can_submit_job"], 1, s)
        self.assertEqual((s["jobs_post"], s["jobs_put"]), (1, 1), s)
        # slurmctld runs the installed job_submit and jobcomp plugins, and
        # nothing of the build folder.
        with open(c.pidfiles["slurmctld"]) as f:
            ctld = int(f.read().split()[0])
        with open("/proc/%d/maps" % ctld) as f:
            maps = {ln.split()[-1] for ln in f if "/" in ln}
        for so in ("job_submit_bank.so", "jobcomp_bank.so"):
            self.assertIn(os.path.join(SLURM_PLUGIN_DIR, so), maps)
        self.assertEqual([m for m in maps if m.startswith(BUILD) or
                          m.startswith(TOP)], [])
        st = c.bankctl("--json", "status")
        self.assertEqual(st.returncode, 0, st.stderr)
        self.assertEqual(json.loads(st.stdout)["queue"], "0")
        c.stop()
        self.c = None

    # ---- removing ------------------------------------------------------
    def remove_keeps_config_and_state(self):
        """dpkg -r: programs gone; conffile, state and spool kept."""
        with open(os.path.join(STATE_DIR, "journal"), "w") as f:
            f.write("kept until purge\n")
        with open(os.path.join(SPOOL_DIR, "1-end-1"), "w") as f:
            f.write("kept until purge\n")
        # The admin's step (offline: no systemd here): purge removes it.
        sh(["systemctl", "enable", "bankd.service"])
        self.assertNotEqual(unit_links(), [])
        sh(["dpkg", "-r", "slurm-bankd"])
        self.assertFalse(os.path.exists("/usr/sbin/bankd"))
        self.assertFalse(os.path.exists("/usr/bin/bankctl"))
        self.assertTrue(os.path.isfile("/etc/slurm/bank.yaml"))
        self.assertTrue(os.path.isfile(os.path.join(STATE_DIR, "journal")))
        self.assertTrue(os.path.isfile(os.path.join(SPOOL_DIR, "1-end-1")))

    def purge_and_check(self):
        present = [p for p in PKGS if known(p)]
        if present:
            r = sh(["dpkg", "--purge"] + present, check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for pkg in PKGS:
            self.assertFalse(known(pkg), pkg)
        left = []
        for pkg, files in self.files.items():
            for p in files:
                # Shared directories (/etc/slurm, /usr/share/man/man8...)
                # stay; every file of ours goes.
                if p and not os.path.isdir(p) and os.path.lexists(p):
                    left.append(p)
        self.assertEqual(left, [])
        for p in list(CONFFILES.values()) + [STATE_DIR, SPOOL_DIR,
                                             "/usr/share/doc/slurm-bankd",
                                             "/usr/share/doc/slurm-bank-plugins"]:
            self.assertFalse(os.path.lexists(p), p)
        self.assertEqual(unit_links(), [])

    def test_build_install_run_purge(self):
        t0 = time.time()
        self.build_packages()
        self.check_control()
        self.lintian()
        self.install()
        self.check_man()
        self.check_config()
        self.run_job()
        self.remove_keeps_config_and_state()
        print("test: %.1f s to the purge" % (time.time() - t0), flush=True)


def pwd_name(uid):
    import pwd
    return pwd.getpwuid(uid).pw_name


def refuse_reason():
    if os.geteuid() != 0:
        return "needs root (dpkg -i)"
    for pkg in PKGS:
        if known(pkg):
            return "%s is installed already; this test would purge it" % pkg
    for conf in CONFFILES.values():
        if os.path.lexists(conf):
            return "%s exists; this test would purge it" % conf
    return None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: BANK_PKG_TEST=1 test_packages.py BUILD_DIR")
    if os.environ.get("BANK_PKG_TEST") != "1":
        print("skipped: installs packages on this machine; "
              "set BANK_PKG_TEST=1 (scripts/test does)")
        sys.exit(77)
    why = refuse_reason()
    if why:
        sys.exit("test_packages: " + why)
    BUILD = os.path.abspath(sys.argv.pop())
    unittest.main(verbosity=2)
