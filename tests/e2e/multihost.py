"""Several Slurm hosts on one machine, for the multi-host end-to-end suite
(issue 13 item 5; ../shared/docs/slurm-multihost.md has the facts it is
built on).

Each host is a network namespace (`ip netns`, named bank-H) with a veth to
a bridge that lives in a namespace of its own (bank-sw), its own hostname
(UTS) and its own mount namespace in which a directory of its own is bound
on /run: every host sees its own /run/bankd/bankd.sock and its own
/run/bank-spool.  The hosts, on 10.77.0.0/24 (used by nothing else; the
start checks it):

    ctl    10.77.0.2   slurmctld, the controller bankd (listen_tcp :6830)
    ctl2   10.77.0.3   the standby bankd: the same state_dir, and the same
                       directory on /run/bank-spool as ctl (where slurmctld's
                       jobcomp spools when no bankd answers on ctl)
    c1     10.77.0.11  slurmd + a relay bankd
    c2     10.77.0.12  slurmd + a relay bankd
    login  10.77.0.21  a relay bankd only
    api    10.77.0.31  the myBRC simulator (:8000; its control API on the
                       namespace's own loopback, :8001)

The host namespaces have no default route: nothing sent to the test subnet
can leave the machine, and nothing is ever sent to it from the machine's
own namespace: every client (sbatch, squeue, bankctl, curl) runs inside a
host, through run_on().  One munged, in the root namespace, serves every
host through its socket file (AuthInfo=socket=, munge_socket:).

Every daemon's PID is recorded; stop() ends them by PID (also on failure,
on SIGINT/SIGTERM and at exit), then kills by PID whatever is still inside
a namespace (`ip netns pids`: slurmstepd, job steps) and deletes the
namespaces.  A namespace left by a crashed run makes start() refuse, saying
how to clean it:  python3 tests/e2e/multihost.py clean

    BANK_KEEP=1   keep the directory (logs, journals) after the run
    BANK_KEEP=up  leave the hosts and daemons running after the run (then
                  `multihost.py clean` ends them)
    python3 tests/e2e/multihost.py BUILD up     bring the hosts up and leave
    python3 tests/e2e/multihost.py check        can namespaces be made here?
"""

import atexit
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SLURM_PLUGIN_DIR, ensure_users, \
    slurm_common  # noqa: E402

NET = "10.77.0"
HOSTS = {"ctl": 2, "ctl2": 3, "c1": 11, "c2": 12, "login": 21, "api": 31}
NODES = ("c1", "c2")
RELAYS = ("c1", "c2", "login")
CONTROLLERS = ("ctl", "ctl2")
PREFIX = "bank-"
SWITCH = PREFIX + "sw"
TCP_PORT = 6830
API_PORT, CONTROL_PORT = 8000, 8001
# What start() leaves for `multihost.py clean` after a crash: the folder
# and the PIDs of what runs in the root namespace (munged).
STATE_FILE = "/tmp/bank-e2e-multihost.json"
RUN_SOCKET = "/run/bankd/bankd.sock"
RUN_SPOOL = "/run/bank-spool"
RELAY_STATE = "/run/bankd-relay"
THIS = os.path.abspath(__file__)


def addr(host):
    return "%s.%d" % (NET, HOSTS[host])


def ns(host):
    return PREFIX + host


def sh(argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True,
                          **kw)


def our_namespaces():
    r = sh(["ip", "netns", "list"], check=False)
    return [ln.split()[0] for ln in r.stdout.splitlines()
            if ln.split() and ln.split()[0].startswith(PREFIX)]


def ns_pids(name):
    r = sh(["ip", "netns", "pids", name], check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def kill_pid(pid, timeout=10.0):
    """SIGTERM, then SIGKILL after timeout; returns once it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.time() + timeout
    while time.time() < end:
        try:
            # A child of ours stays a zombie until reaped.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _zombie(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def clean_namespaces():
    """Kill by PID what runs in our namespaces, then delete them; and the
    root namespace's munged of a crashed run (its PID from STATE_FILE,
    checked to be that run's munged).  Returns what was done."""
    done = []
    for name in our_namespaces():
        for pid in ns_pids(name):
            done.append("killed %d in %s" % (pid, name))
            kill_pid(pid, timeout=3)
    try:
        with open(STATE_FILE) as f:
            st = json.load(f)
    except (OSError, ValueError):
        st = {}
    for pid in st.get("root_pids", []):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if st.get("dir", "\0").encode() in cmd:
            done.append("killed %d (%s)" % (pid, cmd.split(b"\0")[0]
                                            .decode()))
            kill_pid(pid, timeout=3)
    for name in our_namespaces():
        if name != SWITCH:
            sh(["ip", "netns", "del", name], check=False)
            done.append("deleted namespace " + name)
    if SWITCH in our_namespaces():
        sh(["ip", "netns", "del", SWITCH], check=False)
        done.append("deleted namespace " + SWITCH)
    if st.get("dir"):       # small disks (tmpfs) below the run's folder
        with open("/proc/mounts") as f:
            for ln in f:
                mnt = ln.split()[1]
                if mnt.startswith(st["dir"] + "/"):
                    sh(["umount", "-l", mnt], check=False)
                    done.append("unmounted " + mnt)
    if st.get("dir") and os.environ.get("BANK_KEEP") is None:
        shutil.rmtree(st["dir"], ignore_errors=True)
    try:
        os.unlink(STATE_FILE)
    except OSError:
        pass
    return done


def netns_possible():
    """None if network namespaces, veths and bridges can be made here,
    else why not (scripts/test skips the suite, saying so)."""
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("ip") or not shutil.which("nsenter") or \
            not shutil.which("unshare"):
        return "ip, nsenter or unshare missing"
    probe = PREFIX + "probe%d" % os.getpid()
    r = sh(["ip", "netns", "add", probe], check=False)
    if r.returncode != 0:
        return "ip netns add: " + r.stderr.strip()
    try:
        r = sh(["ip", "-n", probe, "link", "add", "br0", "type", "bridge"],
               check=False)
        if r.returncode != 0:
            return "no bridge in a namespace: " + r.stderr.strip()
        r = sh(["ip", "-n", probe, "link", "add", "va", "type", "veth",
                "peer", "name", "vb"], check=False)
        if r.returncode != 0:
            return "no veth: " + r.stderr.strip()
        r = sh(["nsenter", "--net=/run/netns/" + probe, "unshare", "--uts",
                "--mount", "sh", "-c", "hostname probe && mount --bind "
                "/tmp /run && hostname"], check=False)
        if r.returncode != 0 or r.stdout.strip() != "probe":
            return "no UTS/mount namespace: " + r.stderr.strip()
    finally:
        sh(["ip", "netns", "del", probe], check=False)
    return None


class MultiCluster(Cluster):
    """The hosts above with Slurm and bankd (see the module's text).

    relays: start a relay bankd on c1, c2 and login (needs bankd's
    role: relay).  standby: start the standby bankd on ctl2 (needs the
    state_dir lock, or two bankds would write one journal)."""

    def __init__(self, build_dir, relays=True, standby=True,
                 small_disk=None, **kw):
        kw.setdefault("retry_max_ms", 1000)
        super().__init__(build_dir, **kw)
        self.relays = relays
        self.standby = standby
        # {host: size}: that relay's state_dir on a tmpfs of that size
        # (e.g. "2m"), which tests/chaos fills.
        self.small_disk = small_disk or {}
        self.mounts = []
        self.relay_conf = dict(timeout_ms=2000, window=64,
                               retry_max_ms=1000)
        self.pids = {}          # name -> PID, of everything we started
        self.nsdone = False
        self.stopped = True
        self.host = "ctl"

    # ---- set-up -------------------------------------------------------
    def start(self):
        self._refuse_leftovers()
        ensure_users()
        self.stopped = False
        atexit.register(self.stop)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _exit_on_signal)
        self.dir = tempfile.mkdtemp(prefix="bank-e2e.mh.")
        os.chmod(self.dir, 0o755)   # test users reach munge and slurm.conf
        self.env["SLURM_CONF"] = self.path("slurm.conf")
        try:
            self._start_munge()
            self.pids["munged"] = self._pidfile_pid("munged")
            self._save_state()
            self._make_hosts()
            self._start_sim()
            self._write_confs()
            self.start_bankd()
            if self.standby:
                self.start_bankd("ctl2")
            if self.accounting:
                self._start_accounting()
            self._start_slurm()
            if self.relays:
                for h in RELAYS:
                    self.start_relay(h)
        except BaseException:
            self.stop()
            raise
        return self

    def _refuse_leftovers(self):
        left = our_namespaces()
        if left:
            raise RuntimeError(
                "namespace(s) %s exist from an earlier run (processes in "
                "them: %s); end them with: python3 %s clean" % (
                    ", ".join(left),
                    {n: ns_pids(n) for n in left}, THIS))
        mine = NET + "."
        for what in (["ip", "-o", "addr"], ["ip", "route"]):
            out = sh(what).stdout
            if mine in out:
                raise RuntimeError("%s.0/24 is in use in the root namespace "
                                   "(%s): refusing to use it" % (
                                       NET, " ".join(what)))

    def _save_state(self):
        with open(STATE_FILE, "w") as f:
            json.dump({"dir": self.dir,
                       "root_pids": [self.pids["munged"]]}, f)

    def _pidfile_pid(self, name, timeout=10.0):
        pf = self.pidfiles[name]
        end = time.time() + timeout
        while True:
            try:
                with open(pf) as f:
                    return int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                if time.time() > end:
                    raise RuntimeError("no PID in " + pf)
                time.sleep(0.05)

    def hostdir(self, host, *rest):
        return os.path.join(self.dir, "hosts", host, *rest)

    def _make_hosts(self):
        sh(["ip", "netns", "add", SWITCH])
        self.nsdone = True
        sh(["ip", "-n", SWITCH, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", SWITCH, "link", "set", "br0", "up"])
        sh(["ip", "-n", SWITCH, "link", "set", "lo", "up"])
        os.makedirs(self.path("shared/bankd"), mode=0o700)
        os.makedirs(self.path("shared/spool"), mode=0o755)
        for h in HOSTS:
            sh(["ip", "netns", "add", ns(h)])
            # Both ends made inside namespaces: nothing appears, even for
            # a moment, in the root namespace.
            sh(["ip", "link", "add", "v-" + h, "netns", SWITCH, "type",
                "veth", "peer", "name", "eth0", "netns", ns(h)])
            sh(["ip", "-n", SWITCH, "link", "set", "v-" + h, "master",
                "br0", "up"])
            sh(["ip", "-n", ns(h), "addr", "add", addr(h) + "/24", "dev",
                "eth0"])
            sh(["ip", "-n", ns(h), "link", "set", "eth0", "up"])
            sh(["ip", "-n", ns(h), "link", "set", "lo", "up"])
            run = self.hostdir(h, "run")
            for d in ("bankd", "bank-spool", "bankd-relay"):
                os.makedirs(os.path.join(run, d), exist_ok=True)
            os.chmod(self.hostdir(h), 0o755)
            os.chmod(run, 0o755)
            os.chmod(os.path.join(run, "bankd"), 0o755)
            os.chmod(os.path.join(run, "bankd-relay"), 0o700)
            os.chmod(os.path.join(run, "bank-spool"), 0o755)
            if h in self.small_disk:
                self._small_disk(h, self.small_disk[h])
        # The veths' carrier comes up asynchronously: wait for both ends
        # of every cable (there is no ping here; slurmd's registration
        # and the first requests prove the rest).
        for h in HOSTS:
            self._wait("%s's cable to come up" % h, lambda h=h: all(
                "LOWER_UP" in sh(argv, check=False).stdout for argv in (
                    ["ip", "-n", SWITCH, "-o", "link", "show", "v-" + h],
                    ["ip", "-n", ns(h), "-o", "link", "show", "eth0"])),
                timeout=15)

    def _small_disk(self, host, size):
        d = self.relay_state(host)
        sh(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size,
            "bank-" + host, d])
        self.mounts.append(d)

    def relay_state(self, host):
        """The relay's state_dir on host, as seen from here."""
        return self.hostdir(host, "run", "bankd-relay")

    def host_argv(self, host, argv, user=None):
        """argv run inside host: its network namespace, its hostname, its
        own /run (and for ctl and ctl2, the shared spool on
        /run/bank-spool).  nsenter, unshare and sh each exec the next, so
        a daemon started so has the PID of the Popen."""
        # --rbind: a small disk mounted below run/ comes along.
        binds = ["mount --rbind %s /run" % shlex.quote(self.hostdir(host,
                                                                    "run"))]
        if host in CONTROLLERS:
            binds.append("mount --bind %s %s" % (
                shlex.quote(self.path("shared/spool")), RUN_SPOOL))
        script = "hostname %s && %s && exec \"$@\"" % (host,
                                                       " && ".join(binds))
        if user is not None:
            argv = ["runuser", "-u", user, "--"] + list(argv)
        return ["nsenter", "--net=/run/netns/" + ns(host), "unshare",
                "--uts", "--mount", "sh", "-c", script, "sh"] + list(argv)

    def run_on(self, host, argv, user=None, check=False, timeout=60,
               input=None, env=None):
        """A client run inside host (as user, if given); its result."""
        return subprocess.run(self.host_argv(host, argv, user),
                              env=env or self.env, capture_output=True,
                              text=True, check=check, timeout=timeout,
                              input=input)

    def popen_on(self, host, name, argv, log, user=None, **kw):
        with open(log, "a") as f:
            p = subprocess.Popen(self.host_argv(host, argv, user), stdout=f,
                                 stderr=f, env=self.env, **kw)
        self.procs[name] = p
        self.pids[name] = p.pid
        return p

    def _start_sim(self):
        with open(self.path("fixture.json"), "w") as f:
            json.dump(self.fixture, f, indent=1)
        # SIM_BIN: another build of it (scripts/test: the ASan one).
        sim = os.environ.get("SIM_BIN") or \
            os.path.join(self.build, "tests", "sim", "mybrc-sim")
        argv = [sim, "--listen", "%s:%d" % (addr("api"), API_PORT),
                "--control", "127.0.0.1:%d" % CONTROL_PORT, "--fixture",
                self.path("fixture.json"), "--log", self.path("sim.log"),
                "--state", self.path("sim-state.json")]
        p = self.popen_on("api", "sim", argv, self.path("sim.out"))
        self.api_url = "http://%s:%d/mybrc-rest" % (addr("api"), API_PORT)
        self.ctl_url = "http://127.0.0.1:%d" % CONTROL_PORT
        self._wait("mybrc-sim", lambda: "control=" in self.log("sim.out")
                   or p.poll() is not None)
        if p.poll() is not None:
            raise RuntimeError("mybrc-sim exited: " + self.log("sim.out"))

    # ---- configuration ------------------------------------------------
    def _write_confs(self):
        self._write_bank_yaml()
        self._write_slurm_conf()

    def _write_bank_yaml(self):
        """Every bank.yaml (also for the one-host reconfigure_bankd()).
        The plugins' one, beside slurm.conf, is the same on every host:
        its socket and spool resolve in each host's own /run."""
        # The plugins turn to the active controller over TCP when their
        # host's bankd does not answer (on ctl: it is the standby).
        fail = "".join("    - %s\n" % u for u in self.upstreams())
        with open(self.path("bank.yaml"), "w") as f:
            f.write(self.bank_yaml_text(
                RUN_SOCKET, self.path("unused"), RUN_SPOOL,
                "munge_socket: %s\nplugins:\n  failover:\n%s" % (
                    self.munge_socket, fail)))
        for h in CONTROLLERS:
            self.write_controller_yaml(h)
        for h in RELAYS:
            self.write_relay_yaml(h)

    def write_controller_yaml(self, host):
        top = ("listen_tcp: %s:%d\nmunge_socket: %s\n" %
               (addr(host), TCP_PORT, self.munge_socket))
        with open(self.path("bank-%s.yaml" % host), "w") as f:
            f.write(self.bank_yaml_text(RUN_SOCKET, self.path("shared/bankd"),
                                        RUN_SPOOL, top))

    def upstreams(self):
        return ["%s:%d" % (addr(h), TCP_PORT) for h in CONTROLLERS]

    def write_relay_yaml(self, host):
        ups = "".join("    - %s\n" % u for u in self.upstreams())
        rc = self.relay_conf
        with open(self.path("bank-%s.yaml" % host), "w") as f:
            f.write(f"""# tests/e2e/multihost.py: the relay on {host}
role: relay
socket: {RUN_SOCKET}
state_dir: {RELAY_STATE}
spool_dir: {RUN_SPOOL}
fsync: {"true" if self.fsync else "false"}
slurm_user: slurm
munge_socket: {self.munge_socket}
relay:
  upstreams:
{ups}  timeout_ms: {rc["timeout_ms"]}
  window: {rc["window"]}
  retry_max_ms: {rc["retry_max_ms"]}
""")

    def _write_slurm_conf(self):
        plugins = self.path("plugins")
        os.makedirs(plugins, mode=0o755, exist_ok=True)
        for so in ("job_submit_bank.so", "jobcomp_bank.so", "spank_bank.so"):
            shutil.copy(os.path.join(self.build, "plugins", so),
                        os.path.join(plugins, so))
            os.chmod(os.path.join(plugins, so), 0o755)
        with open(self.path("plugstack.conf"), "w") as f:
            f.write("required %s/spank_bank.so\n" % plugins)
        os.makedirs(self.path("slurm-state"), exist_ok=True)
        for h in NODES:
            os.makedirs(self.hostdir(h, "spool"), exist_ok=True)
        nodelist = ",".join(NODES)
        nodes = "\n".join(
            "NodeName=%s NodeAddr=%s NodeHostname=%s CPUs=2 RealMemory=1000 "
            "State=UNKNOWN" % (h, addr(h), h) for h in NODES)
        with open(self.path("slurm.conf"), "w") as f:
            f.write(f"""# written by tests/e2e/multihost.py
ClusterName=banktest
SlurmctldHost=ctl({addr("ctl")})
{slurm_common(self.munge_socket)}
StateSaveLocation={self.path("slurm-state")}
SlurmdSpoolDir={self.dir}/hosts/%n/spool
SlurmctldPidFile={self.hostdir("ctl", "slurmctld.pid")}
SlurmdPidFile={self.dir}/hosts/%n/slurmd.pid
SlurmctldLogFile={self.hostdir("ctl", "slurmctld.log")}
SlurmdLogFile={self.dir}/hosts/%n/slurmd.log
SlurmctldDebug=info
SlurmdDebug=debug
PluginDir={plugins}:{SLURM_PLUGIN_DIR}
JobSubmitPlugins=bank
JobCompType=jobcomp/bank
PlugStackConfig={self.path("plugstack.conf")}
PrologFlags=Alloc
{self._accounting_conf()}
ReturnToService=2
MinJobAge=600
{nodes}
PartitionName=debug Nodes={nodelist} Default=YES MaxTime=INFINITE State=UP
PartitionName=normal Nodes={nodelist} MaxTime=60 State=UP
{self.extra.get("slurm", "")}
""")

    # ---- daemons ------------------------------------------------------
    def bankd_bin(self):
        return os.environ.get("BANKD_BIN") or \
            os.path.join(self.build, "bankd", "bankd")

    def start_bankd(self, host="ctl", extra_env=None, nofile=None):
        """A controller bankd on ctl or ctl2.  On ctl it must open its
        socket; on ctl2 (standby while ctl's holds the lock) it need
        not."""
        name = "bankd@" + host
        sock = self.hostdir(host, "run", "bankd", "bankd.sock")
        try:        # a crashed bankd leaves its socket file behind
            os.unlink(sock)
        except FileNotFoundError:
            pass
        log = self.hostdir(host, "bankd.log")
        seen = len(self.hostlog(host, "bankd.log"))
        p = self.popen_on(host, name, [self.bankd_bin(), "-d", "-f",
                                       self.path("bank-%s.yaml" % host)],
                          log)
        if host == "ctl":
            self.procs["bankd"] = p     # the one-host name, for helpers
        # Up: its socket open, or (while the other holds state_dir) saying
        # it waits as the standby.
        self._wait("bankd on %s to start" % host,
                   lambda: os.path.exists(sock) or p.poll() is not None or
                   "standby:" in self.hostlog(host, "bankd.log")[seen:])
        if p.poll() is not None:
            tail = self.hostlog(host, "bankd.log").splitlines()[-5:]
            raise RuntimeError("bankd on %s exited: see %s:\n%s" % (
                host, log, "\n".join(tail)))
        return p

    def start_relay(self, host):
        name = "relay@" + host
        sock = self.hostdir(host, "run", "bankd", "bankd.sock")
        try:
            os.unlink(sock)
        except FileNotFoundError:
            pass
        log = self.hostdir(host, "relay.log")
        p = self.popen_on(host, name, [self.bankd_bin(), "-d", "-f",
                                       self.path("bank-%s.yaml" % host)],
                          log)
        self._wait("the relay's socket on " + host,
                   lambda: os.path.exists(sock) or p.poll() is not None)
        if p.poll() is not None:
            tail = self.hostlog(host, "relay.log").splitlines()[-5:]
            raise RuntimeError("relay on %s exited: see %s:\n%s" % (
                host, log, "\n".join(tail)))
        return p

    def stop_daemon(self, name):
        """SIGTERM by PID (then SIGKILL), e.g. "bankd@ctl", "relay@c2"."""
        p = self.procs.pop(name, None)
        if name == "bankd@ctl":
            self.procs.pop("bankd", None)
        self.pids.pop(name, None)
        if p is not None:
            kill_pid(p.pid)
            p.wait()

    def kill9(self, name):
        """A crash: SIGKILL by PID."""
        p = self.procs.pop(name, None)
        if name == "bankd@ctl":
            self.procs.pop("bankd", None)
        self.pids.pop(name, None)
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()

    def kill9_slurmctld(self):
        """slurmctld crashes (it daemonized: by its PID)."""
        pid = self.pids.pop("slurmctld", None)
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        end = time.time() + 10
        while time.time() < end and not _zombie(pid):
            time.sleep(0.05)

    def start_slurmctld(self):
        """slurmctld again, from its saved state (after kill9_slurmctld)."""
        try:        # a killed one leaves its PID file
            os.unlink(self.pidfiles["slurmctld"])
        except (KeyError, FileNotFoundError):
            pass
        self.pidfiles["slurmctld"] = self.hostdir("ctl", "slurmctld.pid")
        self.run_on("ctl", ["slurmctld", "-i", "-f",
                            self.path("slurm.conf")], check=True)
        self.pids["slurmctld"] = self._pidfile_pid("slurmctld")

    # MariaDB and slurmdbd (accounting=True) run on ctl, on its loopback:
    # slurmctld and sacct, also on ctl, reach them there.
    def acct_popen(self, name, argv, log):
        return self.popen_on("ctl", name, argv, log)

    def acct_run(self, argv):
        return self.run_on("ctl", argv, check=True)

    def _start_accounting(self):
        super()._start_accounting()
        self.pids["slurmdbd"] = self._pidfile_pid("slurmdbd")

    # The one-host helpers' names, on ctl.
    def stop_bankd(self):
        self.stop_daemon("bankd@ctl")

    def kill9_bankd(self):
        self.kill9("bankd@ctl")

    def _start_slurm(self):
        self.pidfiles["slurmctld"] = self.hostdir("ctl", "slurmctld.pid")
        self.run_on("ctl", ["slurmctld", "-i", "-f",
                            self.path("slurm.conf")], check=True)
        self.pids["slurmctld"] = self._pidfile_pid("slurmctld")
        for h in NODES:
            self.pidfiles["slurmd@" + h] = self.hostdir(h, "slurmd.pid")
            self.run_on(h, ["slurmd", "-f", self.path("slurm.conf")],
                        check=True)
            self.pids["slurmd@" + h] = self._pidfile_pid("slurmd@" + h)
        sinfo = ["sinfo", "-h", "-N", "-p", "debug", "-o", "%N %T"]
        self._wait("c1 and c2 to be idle", lambda: self.run(
            sinfo).stdout.split() == ["c1", "idle", "c2", "idle"],
            timeout=30)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    # ---- tear-down ----------------------------------------------------
    def stop(self):
        if self.stopped:
            return
        if os.environ.get("BANK_KEEP") == "up":
            self.stopped = True
            print("\nBANK_KEEP=up: the hosts run on; folder %s\n"
                  "  enter one: nsenter --net=/run/netns/%sctl unshare "
                  "--uts --mount sh -c 'hostname ctl; mount --bind %s /run;"
                  " exec bash'\n  end them:  python3 %s clean" % (
                      self.dir, PREFIX, self.hostdir("ctl", "run"),
                      THIS), file=sys.stderr)
            return
        self.stopped = True
        # Slurm first (its plugins talk to bankd until the end), then the
        # relays and controllers, the simulator, munged last.
        order = ["slurmd@c1", "slurmd@c2", "slurmctld"] + \
            ["relay@" + h for h in RELAYS] + \
            ["bankd@ctl", "bankd@ctl2", "slurmdbd", "mariadbd", "sim",
             "munged"]
        for name in order + [n for n in self.pids if n not in order]:
            pid = self.pids.pop(name, None)
            if pid is not None:
                kill_pid(pid)
            p = self.procs.pop(name, None)
            if p is not None:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs.clear()
        if self.nsdone:
            # What slurmd left (slurmstepd, the jobs' processes): ours.
            for name in our_namespaces():
                for pid in ns_pids(name):
                    kill_pid(pid, timeout=3)
            for h in HOSTS:
                sh(["ip", "netns", "del", ns(h)], check=False)
            sh(["ip", "netns", "del", SWITCH], check=False)
            self.nsdone = False
        for d in self.mounts:
            sh(["umount", "-l", d], check=False)
        self.mounts = []
        try:
            os.unlink(STATE_FILE)
        except OSError:
            pass
        if self.dir and not self.keep and os.environ.get("BANK_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- using it -----------------------------------------------------
    def run(self, argv, user=None, check=False, timeout=60, host="ctl"):
        """The one-host harness's run(): on ctl unless told otherwise."""
        return self.run_on(host, argv, user=user, check=check,
                           timeout=timeout)

    def bankctl_on(self, host, *args, user=None, conf=None):
        return self.run_on(host, [os.path.join(self.build, "bankctl",
                                               "bankctl"),
                                  "-f", conf or self.path("bank.yaml")] +
                           list(args), user=user)

    def bankctl(self, *args):
        return self.bankctl_on("ctl", *args)

    def status_on(self, host):
        r = self.bankctl_on(host, "--json", "status")
        if r.returncode != 0:
            raise AssertionError("bankctl status on %s failed: %s%s" % (
                host, r.stderr, r.stdout))
        return json.loads(r.stdout)

    def ctl(self, method, path, body=None):
        """The simulator's control API, from inside host api."""
        argv = ["curl", "-sS", "-X", method, "-H",
                "Content-Type: application/json", "-w", "\n%{http_code}",
                "--max-time", "10", self.ctl_url + path]
        if body is not None:
            argv[1:1] = ["--data-binary", json.dumps(body)]
        r = self.run_on("api", argv, timeout=20)
        if r.returncode != 0:
            raise RuntimeError("curl %s %s: %s" % (method, path, r.stderr))
        text, _, code = r.stdout.rpartition("\n")
        if int(code) >= 400:
            raise urllib.error.HTTPError(self.ctl_url + path, int(code),
                                         text, None, None)
        return json.loads(text or "null")

    def hostlog(self, host, name):
        try:
            with open(self.hostdir(host, name)) as f:
                return f.read()
        except OSError:
            return ""

    def log(self, name):
        """bankd.log: the controller's on ctl; other names in the folder."""
        if name == "bankd.log":
            return self.hostlog("ctl", "bankd.log")
        return super().log(name)

    def link(self, host, up):
        """Cut (or mend) host's cable to the bridge."""
        sh(["ip", "-n", SWITCH, "link", "set", "v-" + host,
            "up" if up else "down"])


def _exit_on_signal(signum, frame):
    # As SIGINT does: unittest lets KeyboardInterrupt through (it would
    # count SystemExit as one test's error and go on), and atexit's
    # stop() ends what we started.
    signal.signal(signum, signal.SIG_DFL)
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        why = netns_possible()
        print("multihost: network namespaces work here" if why is None else
              "multihost: e2e_cluster is SKIPPED: network namespaces cannot"
              " be made on this machine: " + why)
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "clean":
        for line in clean_namespaces():
            print(line)
        return
    if len(sys.argv) >= 3 and sys.argv[2] == "up":
        os.environ["BANK_KEEP"] = "up"
        c = MultiCluster(sys.argv[1],
                         relays="--no-relays" not in sys.argv,
                         standby="--no-standby" not in sys.argv).start()
        print("up: folder", c.dir)
        return
    raise SystemExit("usage: multihost.py BUILD up [--no-relays] "
                     "[--no-standby] | multihost.py clean | multihost.py "
                     "check")


if __name__ == "__main__":
    main()
