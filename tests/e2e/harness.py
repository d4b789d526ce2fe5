"""A real one-node Slurm 22.05 with slurm-bank, for end-to-end tests and the
demo.

Cluster(build_dir).start() brings up, in a private folder: munged (own key
and socket), the myBRC simulator with a fixture, bankd, slurmctld and slurmd
with our three plugins.  stop() ends each by PID, also after failures.
Everything listens on loopback or on Unix sockets in that folder.

Jobs are submitted as real non-root users created here (bankalice,
bankbob), through Slurm's own client tools.

Cluster(..., accounting=True) adds real Slurm accounting: MariaDB (its own
datadir, on a loopback port) and slurmdbd, started here and stopped by PID,
with the cluster, the fixture's accounts and users and QoS "double"
(UsageFactor=2) registered by sacctmgr before slurmctld starts; about 4 s.

Cluster(..., installed=True) runs what the Debian packages installed
(tests/pkg): /usr/sbin/bankd, /usr/bin/bankctl, the plugins from Debian's
PluginDir only and spank through /etc/slurm/plugstack.conf.d/bank.conf;
only the simulator comes from build_dir.  Otherwise the build's plugins
are copied here and come first in PluginDir, so that packages installed on
the machine never stand in for the build's.
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from decimal import Decimal, ROUND_HALF_UP

# bankeve belongs to no account of the default fixture: a local user who
# tries things (tests/e2e/test_hostile.py).
USERS = {"bankalice": 47001, "bankbob": 47002, "bankeve": 47003}
TOKEN = "0123456789abcdef0123456789abcdef01234567"
SLURM_PLUGIN_DIR = "/usr/lib/x86_64-linux-gnu/slurm-wlm"

# SU per CPU-hour.  "normal" is dear so that a few seconds of a job cost
# whole cents and the actual cost is visibly not the estimate.
PRICES = {"debug": "0", "normal": "360.00"}
DEFAULT_PRICE = "1.00"


def slurm_common(munge_socket):
    """The slurm.conf lines every test cluster shares (one host or many):
    root runs the daemons, MUNGE through its own socket, no cgroups."""
    return (f"""SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0""")


_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|(\S*))')


def logfmt(text, **match):
    """bankd's log lines (bankd(8), LOGGING) as dicts, in order: the
    "bankd: [level: ]" prefix (or the journal's <N>) gives "level", the
    pairs the rest; only the lines whose pairs equal every key=value of
    match."""
    out = []
    for line in text.splitlines():
        m = re.match(r"(?:bankd: (?:(error|warning|debug): )?|<(\d)>)", line)
        if m is None:
            continue
        level = m.group(1) or {"3": "error", "4": "warning", "7": "debug"}.get(
            m.group(2), "info")
        d = {"level": level}
        for k, quoted, bare in _PAIR.findall(line[m.end():]):
            d[k] = (re.sub(r"\\(.)", r"\1", quoted) if bare == "" and
                    quoted is not None else bare)
        if all(d.get(k) == str(v) for k, v in match.items()):
            out.append(d)
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cost(price, cpus, seconds):
    """The charge rule, computed independently of bankd: half-up, cents."""
    c = Decimal(price) * cpus * seconds / Decimal(3600)
    return c.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ensure_users():
    for name, uid in USERS.items():
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "-M", "-N", "-u", str(uid),
                            "-d", "/nonexistent", "-s", "/bin/sh", name],
                           check=True)


def default_fixture():
    return {
        "tokens": [{"key": TOKEN, "staff": True}],
        "period": {"start": "2026-01-01T00:00:00Z",
                   "end": "2036-12-31T23:59:59Z"},
        "users": [{"uid": uid, "username": name,
                   "email": name + "@example.org"}
                  for name, uid in USERS.items()],
        "accounts": [
            {"name": "fc_alpha", "allocation": "1000.00", "usage": "0.00",
             "active": True},
            {"name": "fc_poor", "allocation": "1.00", "usage": "0.00",
             "active": True},
        ],
        "memberships": [
            {"uid": 47001, "account": "fc_alpha", "allocation": "1000.00",
             "usage": "0.00"},
            {"uid": 47001, "account": "fc_poor", "allocation": "1.00",
             "usage": "0.00"},
            {"uid": 47002, "account": "fc_alpha", "allocation": "500.00",
             "usage": "0.00"},
        ],
        "partitions": [
            {"name": p, "su_per_core_hour": v if "." in v else v + ".00",
             "shared": True, "num_nodes": 1, "num_cores": os.cpu_count()}
            for p, v in PRICES.items()],
    }


class Cluster:
    def __init__(self, build_dir, fixture=None, keep=False,
                 submit_deadline_ms=1000, decision_ms=300, fsync=True,
                 cache_ttl=0, probe_factor=1, reconcile_s=60, grace_s=30,
                 policy="allow", extra=None, state_tmpfs_kb=None,
                 api_timeout_ms=10000, retry_max_ms=2000,
                 submit_budget_ms=None, accounting=False, installed=False):
        self.build = os.path.abspath(build_dir)
        self.installed = installed
        self.fixture = fixture or default_fixture()
        self.keep = keep
        self.submit_deadline_ms = submit_deadline_ms
        self.decision_ms = decision_ms
        self.fsync = fsync
        self.cache_ttl = cache_ttl
        self.probe_factor = probe_factor
        self.reconcile_s = reconcile_s
        self.grace_s = grace_s
        self.policy = policy
        self.api_timeout_ms = api_timeout_ms
        self.retry_max_ms = retry_max_ms
        # deadlines.submit_budget_ms, written only when not None (a bankd
        # from before the budget refuses the setting at start).
        self.submit_budget_ms = submit_budget_ms
        # Real Slurm accounting: MariaDB and slurmdbd of our own (see
        # _start_accounting), so that QoS records (UsageFactor) and sacct
        # exist.  Off: accounting_storage/none, as before.
        self.accounting = accounting
        self.accounting_start_s = None
        # Additions for one suite, all optional (defaults: none):
        #   slurm: lines appended to slurm.conf (partitions, GresTypes)
        #   node: appended to the NodeName line ("Gres=gpu:tesla:2")
        #   gres: the contents of gres.conf (beside slurm.conf)
        #   prices: lines inside bank.yaml's prices map (2-space indent)
        #   partitions: lines inside prices.partitions (4-space indent)
        #   bank: lines appended to bank.yaml (top level)
        self.extra = dict(extra or {})
        # A small file system of its own for state_dir, to fill up.
        self.state_tmpfs_kb = state_tmpfs_kb
        self.mounted = None
        self.dir = None
        self.procs = {}         # name -> Popen, for what we run in front
        self.pidfiles = {}      # name -> pid file, for self-daemonizing ones
        self.host = socket.gethostname().split(".")[0]
        self.env = dict(os.environ, TZ="UTC")

    # ---- set-up -------------------------------------------------------
    def start(self):
        ensure_users()
        self.dir = tempfile.mkdtemp(prefix="bank-e2e.")
        os.chmod(self.dir, 0o755)   # test users reach munge's socket
        self.env["SLURM_CONF"] = self.path("slurm.conf")
        try:
            self._start_munge()
            self._start_sim()
            self._mount_state()
            self._write_bank_yaml()
            self._write_slurm_conf()    # bankd reads it to reconcile holds
            self.start_bankd()
            if self.accounting:
                self._start_accounting()
            self._start_slurm()
        except BaseException:
            self.stop()
            raise
        return self

    def path(self, name):
        return os.path.join(self.dir, name)

    def _wait(self, what, pred, timeout=20.0):
        end = time.time() + timeout
        while time.time() < end:
            if pred():
                return
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for " + what +
                           "; logs in " + self.dir)

    def _start_munge(self):
        key = self.path("munge.key")
        subprocess.run(["mungekey", "-c", "-k", key], check=True,
                       stdout=subprocess.DEVNULL)
        os.chmod(key, 0o600)
        self.munge_socket = self.path("munge.sock")
        self.pidfiles["munged"] = self.path("munged.pid")
        subprocess.run(["/usr/sbin/munged", "--socket", self.munge_socket,
                        "--key-file", key, "--pid-file",
                        self.pidfiles["munged"], "--log-file",
                        self.path("munged.log"), "--seed-file",
                        self.path("munged.seed")], check=True)
        self._wait("munged", lambda: os.path.exists(self.munge_socket))

    def _mount_state(self):
        if not self.state_tmpfs_kb:
            return
        d = self.path("bankd-state")
        os.makedirs(d, mode=0o700)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk,mode=0700" %
                        self.state_tmpfs_kb, "banktest", d], check=True)
        self.mounted = d

    def _start_sim(self):
        with open(self.path("fixture.json"), "w") as f:
            json.dump(self.fixture, f, indent=1)
        # SIM_BIN: another build of it (scripts/test: the ASan one).
        sim = os.environ.get("SIM_BIN") or \
            os.path.join(self.build, "tests", "sim", "mybrc-sim")
        p = subprocess.Popen(
            [sim, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
             "--fixture", self.path("fixture.json"), "--log",
             self.path("sim.log"), "--state", self.path("sim-state.json")],
            stdout=subprocess.PIPE, text=True, env=self.env)
        self.procs["sim"] = p
        line = p.stdout.readline()
        m = re.search(r"api=([\d.]+:\d+) control=([\d.]+:\d+)", line)
        if not m:
            raise RuntimeError("mybrc-sim did not start: %r" % line)
        self.api_url = "http://%s/mybrc-rest" % m.group(1)
        self.ctl_url = "http://%s" % m.group(2)

    def _write_bank_yaml(self):
        with open(self.path("bank.yaml"), "w") as f:
            f.write(self.bank_yaml_text(self.path("bankd.sock"),
                                        self.path("bankd-state"),
                                        self.path("bank-spool")))

    def bank_yaml_text(self, sock, state_dir, spool_dir, top=""):
        """A controller's bank.yaml with these paths (and `top`, lines
        added at the top level); writes the API token file first."""
        tok = self.path("token")
        with open(tok, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(tok, 0o600)
        prices = "\n".join('    %s: "%s"' % kv for kv in PRICES.items())
        budget = "" if self.submit_budget_ms is None else \
            "  submit_budget_ms: %d\n" % self.submit_budget_ms
        return f"""# written by tests/e2e/harness.py
socket: {sock}
state_dir: {state_dir}
spool_dir: {spool_dir}
fsync: {"true" if self.fsync else "false"}
{top}api:
  url: {self.api_url}
  token_file: {tok}
  timeout_ms: {self.api_timeout_ms}
  retry_max_ms: {self.retry_max_ms}
prices:
  default: "{DEFAULT_PRICE}"
{self.extra.get("prices", "")}
  partitions:
{prices}
{self.extra.get("partitions", "")}
default_time_limit: 60
deadlines:
  submit_ms: {self.submit_deadline_ms}
  decision_ms: {self.decision_ms}
  report_ms: 1000
{budget}policy:
  on_api_unavailable: {self.policy}
holds:
  reconcile_s: {self.reconcile_s}
  grace_s: {self.grace_s}
cache:
  ttl_s: {self.cache_ttl}
  probe_factor: {self.probe_factor}
{self.extra.get("bank", "")}
"""

    def start_bankd(self, extra_env=None, nofile=None):
        """bankd in front; nofile: its descriptor limit (both soft and
        hard), as a unit's LimitNOFILE would set it."""
        env = dict(self.env, **(extra_env or {}))

        def limit():
            if nofile:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        try:        # a crashed bankd leaves its socket file behind
            os.unlink(self.path("bankd.sock"))
        except FileNotFoundError:
            pass
        with open(self.path("bankd.log"), "a") as log:
            p = subprocess.Popen(
                [self.bankd_bin(), "-d", "-f",
                 self.path("bank.yaml")], stdout=log, stderr=log,
                env=env, preexec_fn=limit)
        self.procs["bankd"] = p
        self._wait("bankd's socket",
                   lambda: os.path.exists(self.path("bankd.sock")) or
                   p.poll() is not None)
        if p.poll() is not None:
            # The folder may be gone by the time this is read: say why.
            tail = self.log("bankd.log").splitlines()[-5:]
            raise RuntimeError("bankd exited: see %s:\n%s" % (
                self.path("bankd.log"), "\n".join(tail)))

    def bankd_bin(self):
        if self.installed:
            return "/usr/sbin/bankd"
        return os.environ.get("BANKD_BIN") or \
            os.path.join(self.build, "bankd", "bankd")

    def stop_bankd(self):
        self._kill_proc("bankd")

    def reconfigure_bankd(self, **settings):
        """Restart bankd on a bank.yaml written again with some of the
        constructor's settings changed (submit_budget_ms=0, policy=...)."""
        for k, v in settings.items():
            if not hasattr(self, k) or k in ("build", "dir", "procs"):
                raise TypeError("not a bank.yaml setting: " + k)
            setattr(self, k, v)
        self.stop_bankd()
        self._write_bank_yaml()
        self.start_bankd()

    def kill9_bankd(self):
        """A crash: no chance to flush, close or clean up."""
        p = self.procs.pop("bankd", None)
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()

    def _write_slurm_conf(self):
        mem = 1024
        # Copied where every user can read them: sbatch, as a test user,
        # checks PluginDir, and a checkout under /root (mode 0700) is
        # readable by root alone.
        if self.installed:
            plugin_dir = SLURM_PLUGIN_DIR
            plugstack = "include /etc/slurm/plugstack.conf.d/bank.conf\n"
        else:
            plugins = self.path("plugins")
            os.makedirs(plugins, mode=0o755, exist_ok=True)
            for so in ("job_submit_bank.so", "jobcomp_bank.so",
                       "spank_bank.so", "job_submit_inline.so"):
                src = os.path.join(self.build, "plugins", so)
                if os.path.exists(src):
                    shutil.copy(src, os.path.join(plugins, so))
                    os.chmod(os.path.join(plugins, so), 0o755)
            # Ours first: a slurm-bank-plugins package installed on this
            # machine must not be what the test loads.
            plugin_dir = "%s:%s" % (plugins, SLURM_PLUGIN_DIR)
            plugstack = "required %s/spank_bank.so\n" % plugins
        with open(self.path("plugstack.conf"), "w") as f:
            f.write(plugstack)
        for d in ("state", "spool"):
            os.makedirs(self.path(d), exist_ok=True)
        self.ctld_port = free_port()
        self.slurmd_port = free_port()
        with open(self.path("slurm.conf"), "w") as f:
            f.write(f"""# written by tests/e2e/harness.py
ClusterName=banktest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
{slurm_common(self.munge_socket)}
StateSaveLocation={self.path("state")}
SlurmdSpoolDir={self.path("spool")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.pid")}
SlurmctldLogFile={self.path("slurmctld.log")}
SlurmdLogFile={self.path("slurmd.log")}
SlurmctldDebug=info
SlurmdDebug=debug
PluginDir={plugin_dir}
JobSubmitPlugins=bank
JobCompType=jobcomp/bank
PlugStackConfig={self.path("plugstack.conf")}
{self._accounting_conf()}
ReturnToService=2
MinJobAge=600
NodeName={self.host} NodeAddr=127.0.0.1 NodeHostname={self.host} CPUs={os.cpu_count()} RealMemory={mem} {self.extra.get("node", "")} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=normal Nodes=ALL MaxTime=60 State=UP
{self.extra.get("slurm", "")}
""")
        if "gres" in self.extra:
            with open(self.path("gres.conf"), "w") as f:
                f.write(self.extra["gres"])

    # ---- accounting: MariaDB + slurmdbd ---------------------------------
    def _accounting_conf(self):
        if not self.accounting:
            return "AccountingStorageType=accounting_storage/none"
        self.dbd_port = free_port()
        return ("AccountingStorageType=accounting_storage/slurmdbd\n"
                "AccountingStorageHost=127.0.0.1\n"
                "AccountingStoragePort=%d\n"
                # Slurm's clients find munge for slurmdbd here, not in
                # AuthInfo.
                "AccountingStoragePass=socket=%s\n"
                "JobAcctGatherFrequency=0" % (self.dbd_port,
                                              self.munge_socket))

    def _start_accounting(self):
        """MariaDB on loopback (its own datadir and port, run as mysql),
        then slurmdbd (its own conf, run as slurm), then the cluster,
        accounts, users and QoS, before slurmctld starts."""
        t0 = time.time()
        my = self.path("mysql")
        os.makedirs(os.path.join(my, "data"))
        subprocess.run(["chown", "-R", "mysql:mysql", my], check=True)
        subprocess.run(["mariadb-install-db", "--no-defaults",
                        "--user=mysql", "--datadir=" + my + "/data",
                        "--auth-root-authentication-method=socket",
                        "--skip-test-db"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.mysql_port = free_port()
        sock = os.path.join(my, "mysql.sock")
        self.pidfiles["mariadbd"] = os.path.join(my, "mysql.pid")
        self.acct_popen("mariadbd", [
            "/usr/sbin/mariadbd", "--no-defaults", "--user=mysql",
            "--datadir=" + my + "/data", "--socket=" + sock,
            "--pid-file=" + self.pidfiles["mariadbd"],
            "--bind-address=127.0.0.1", "--port=%d" % self.mysql_port,
            "--log-error=" + os.path.join(my, "mysql.err"),
            "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"],
            self.path("mysql.out"))
        self._wait("mariadbd's socket", lambda: os.path.exists(sock) or
                   self.procs["mariadbd"].poll() is not None)
        if self.procs["mariadbd"].poll() is not None:
            raise RuntimeError("mariadbd exited: see " +
                               os.path.join(my, "mysql.err"))
        # slurmdbd connects over TCP as a user of its own (root's
        # authentication is by socket, which slurmdbd cannot name).
        self.dbd_pass = os.urandom(12).hex()
        sql = ("CREATE DATABASE slurm_acct_db;"
               "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '%s';"
               "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
               % self.dbd_pass)
        self.acct_run(["mariadb", "--no-defaults", "-S", sock, "-u", "root",
                       "-e", sql])
        dbd = self.path("slurmdbd")
        os.makedirs(dbd)
        conf = self.path("slurmdbd.conf")   # beside slurm.conf: found so
        with open(conf, "w") as f:
            f.write(f"""# written by tests/e2e/harness.py
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={self.dbd_port}
SlurmUser=slurm
PidFile={dbd}/slurmdbd.pid
LogFile={dbd}/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.mysql_port}
StorageUser=slurm
StoragePass={self.dbd_pass}
StorageLoc=slurm_acct_db
""")
        os.chmod(conf, 0o600)
        subprocess.run(["chown", "slurm:slurm", conf, dbd], check=True)
        self.pidfiles["slurmdbd"] = os.path.join(dbd, "slurmdbd.pid")
        self.acct_run(["slurmdbd"])
        self._wait("slurmdbd", lambda: self.run(
            ["sacctmgr", "-n", "-P", "list", "cluster"]).returncode == 0,
            timeout=60)
        self._register()
        self.accounting_start_s = time.time() - t0

    # Where MariaDB and slurmdbd run: here; tests/e2e/multihost.py puts
    # them on its host ctl, beside slurmctld.
    def acct_popen(self, name, argv, log):
        with open(log, "w") as out:
            self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=out)
        return self.procs[name]

    def acct_run(self, argv):
        return subprocess.run(argv, check=True, env=self.env)

    def sacctmgr(self, *args):
        r = self.run(["sacctmgr", "-i"] + list(args))
        if r.returncode != 0 and "Nothing new added" not in r.stdout:
            raise RuntimeError("sacctmgr %s: %s%s" % (" ".join(args),
                                                      r.stdout, r.stderr))
        return r

    def _register(self):
        """The cluster, the fixture's accounts, its users with their first
        account as default, and QoS "double" (UsageFactor=2) that every
        user may use."""
        self.sacctmgr("add", "cluster", "banktest")
        self.sacctmgr("add", "qos", "double", "UsageFactor=2")
        accounts = [a["name"] for a in self.fixture["accounts"]]
        self.sacctmgr("add", "account", ",".join(accounts),
                      "Cluster=banktest")
        names = {uid: n for n, uid in USERS.items()}
        seen = {}
        for m in self.fixture["memberships"]:
            if m["uid"] in names:
                seen.setdefault(names[m["uid"]], []).append(m["account"])
        for user, accts in seen.items():
            self.sacctmgr("add", "user", user, "Account=" + ",".join(accts),
                          "DefaultAccount=" + accts[0], "Cluster=banktest",
                          "QOS=normal,double", "DefaultQOS=normal")

    def _start_slurm(self):
        self.pidfiles["slurmctld"] = self.path("slurmctld.pid")
        self.pidfiles["slurmd"] = self.path("slurmd.pid")
        # A clean state folder each time: no jobs from a previous run.
        subprocess.run(["slurmctld", "-i", "-f", self.path("slurm.conf")],
                       check=True, env=self.env)
        subprocess.run(["slurmd", "-f", self.path("slurm.conf")],
                       check=True, env=self.env)
        self._wait("the node to be idle",
                   lambda: "idle" in self.run(["sinfo", "-h", "-N", "-o",
                                               "%T"]).stdout, timeout=30)

    # ---- tear-down ----------------------------------------------------
    def _kill_proc(self, name):
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stdout is not None:
            p.stdout.close()

    def _kill_pidfile(self, name):
        pf = self.pidfiles.get(name)
        try:
            with open(pf) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError, TypeError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        end = time.time() + 10
        while time.time() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self):
        for name in ("slurmd", "slurmctld", "slurmdbd"):
            self._kill_pidfile(name)
        for name in list(self.procs):
            self._kill_proc(name)       # mariadbd among them, after slurmdbd
        self._kill_pidfile("munged")
        if self.mounted:
            subprocess.run(["umount", self.mounted])
            self.mounted = None
        if self.dir and not self.keep and os.environ.get("BANK_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- using it -----------------------------------------------------
    def run(self, argv, user=None, check=False, timeout=60):
        if user is not None:
            argv = ["runuser", "-u", user, "--"] + argv
        return subprocess.run(argv, env=self.env, capture_output=True,
                              text=True, check=check, timeout=timeout)

    def as_user(self, user, argv, nofile=None, **kw):
        """Popen argv as a non-root user, with up to `nofile` descriptors
        (raised while still root, then privileges dropped)."""
        pw = pwd.getpwnam(user)

        def drop():
            if nofile:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        return subprocess.Popen(argv, preexec_fn=drop, env=self.env,
                                cwd="/", **kw)

    def sbatch(self, user, args, script="sleep 2"):
        """Submit; returns (job id or None, CompletedProcess, seconds)."""
        t0 = time.time()
        r = self.run(["sbatch", "--parsable", "-o", "/dev/null",
                      "-e", "/dev/null", "--chdir", "/tmp"] + args +
                     ["--wrap", script], user=user)
        took = time.time() - t0
        job = int(r.stdout.strip().split(";")[0]) if r.returncode == 0 \
            else None
        return job, r, took

    def job(self, job_id):
        """scontrol's record of a job, as a dict (None once purged)."""
        r = self.run(["scontrol", "-o", "show", "job", str(job_id)])
        if r.returncode != 0:
            return None
        out = {}
        for tok in r.stdout.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                out.setdefault(k, v)
        return out

    def wait_state(self, job_id, states, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            j = self.job(job_id)
            if j and j.get("JobState") in states:
                return j
            time.sleep(0.1)
        raise AssertionError("job %s never reached %s (last: %s)" %
                             (job_id, states, j and j.get("JobState")))

    @staticmethod
    def elapsed(j):
        """Seconds between Slurm's StartTime and EndTime (TZ=UTC)."""
        fmt = "%Y-%m-%dT%H:%M:%S"
        t0 = time.mktime(time.strptime(j["StartTime"], fmt))
        t1 = time.mktime(time.strptime(j["EndTime"], fmt))
        return int(t1 - t0)

    # ---- the simulator's control surface ------------------------------
    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.ctl_url + path, data=data,
                                     method=method,
                                     headers={"Content-Type":
                                              "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def usage(self, account):
        return Decimal(self.ctl("GET", "/balances")["accounts"][account]
                       ["usage"])

    def stats(self):
        return self.ctl("GET", "/stats")["requests"]

    def sim_job(self, job_id):
        try:
            return self.ctl("GET", "/jobs/%d" % job_id)
        except urllib.error.HTTPError:
            return None

    def wait_charged(self, job_id, timeout=30):
        """The stored job once its completion (enddate) has arrived."""
        end = time.time() + timeout
        while time.time() < end:
            j = self.sim_job(job_id)
            if j and j.get("enddate"):
                return j
            time.sleep(0.1)
        raise AssertionError("job %d was never charged its completion" %
                             job_id)

    def status(self):
        r = self.bankctl("--json", "status")
        if r.returncode != 0:
            raise AssertionError("bankctl status failed: " + r.stderr)
        return json.loads(r.stdout)

    def wait_drained(self, timeout=60):
        """Until bankd's queue is empty (every report delivered)."""
        end = time.time() + timeout
        while time.time() < end:
            st = self.status()
            if st["queue"] == "0" and st["spool"] == "0":
                return st
            time.sleep(0.2)
        raise AssertionError("queue never drained: %s\n%s" %
                             (self.status(), self.bankctl("queue").stdout))

    def bankctl(self, *args):
        ctl = "/usr/bin/bankctl" if self.installed else \
            os.path.join(self.build, "bankctl", "bankctl")
        return self.run([ctl, "-f", self.path("bank.yaml")] + list(args))

    def log(self, name):
        try:
            with open(self.path(name)) as f:
                return f.read()
        except OSError:
            return ""
