"""The submit decision over bankd's socket: from the cache vs asking the API.

Starts the myBRC simulator and bankd on loopback and a Unix socket in a
private folder (no Slurm); bankload sends CHECK requests exactly as
job_submit/bank does (dry_run, so no holds pile up and every request asks
the same question).  Two bankd configurations, measured in one run:

  cache   cache.ttl_s 600: the first check asks the API, the rest are
          decided from what it answered
  api     cache.ttl_s 0: every check is a GET /can_submit_job/ to the
          simulator (answering at once, over a kept-alive connection)

for 1, 8 and 64 concurrent clients (one connection per request, as the
plugin did so far).  If bankload knows `--persist` (each client keeps one
connection open for all its requests, as job_submit/bank does inside
slurmctld), the cache case is also run that way ("cache-persist"); without
the flag those rows are left out.  Prints p50/p99/p99.9 and the rate, the
simulator's count of can_submit_job calls for each case (the cache cases
must show at most 1), and the ratios.  Stops everything it started by PID.

    python3 bench/decision_latency.py [--build build] [-n 20000]
        [--json FILE] [--no-persist]

--json FILE also writes the results as JSON (for bench/run).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def fixture():
    return {
        "tokens": [{"key": TOKEN, "staff": True}],
        "period": {"start": "2026-01-01T00:00:00Z",
                   "end": "2036-12-31T23:59:59Z"},
        "users": [{"uid": 47001, "username": "benchu",
                   "email": "b@example.org"}],
        "accounts": [{"name": "fc_bench", "allocation": "100000000.00",
                      "usage": "0.00", "active": True}],
        "memberships": [{"uid": 47001, "account": "fc_bench",
                         "allocation": "100000000.00", "usage": "0.00"}],
        "partitions": [],
    }


def start_sim(build, d):
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump(fixture(), f)
    p = subprocess.Popen([os.path.join(build, "tests/sim/mybrc-sim"),
                          "--listen", "127.0.0.1:0", "--control",
                          "127.0.0.1:0", "--fixture",
                          os.path.join(d, "fixture.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    m = re.search(r"api=([\d.]+:\d+) control=([\d.]+:\d+)",
                  p.stdout.readline())
    if not m:
        p.kill()
        raise SystemExit("mybrc-sim did not start")
    return p, m.group(1), m.group(2)


def stats(ctl):
    with urllib.request.urlopen("http://%s/stats" % ctl, timeout=5) as r:
        return json.loads(r.read())["requests"]["can_submit_job"]


def reset(ctl):
    req = urllib.request.Request("http://%s/stats/reset" % ctl, data=b"{}",
                                 method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def start_bankd(build, d, name, api, ttl, prefix=(), extra="",
                timeout=10):
    """bankd with its own bank.yaml and socket in d; prefix: a wrapper
    command (valgrind); extra: more top-level bank.yaml lines."""
    sock = os.path.join(d, name + ".sock")
    conf = os.path.join(d, name + ".yaml")
    with open(conf, "w") as f:
        f.write(f"""socket: {sock}
state_dir: {d}/{name}-state
spool_dir: {d}/{name}-spool
fsync: false
api:
  url: http://{api}/mybrc-rest
  token: "{TOKEN}"
prices:
  partitions:
    normal: "1.00"
deadlines:
  submit_ms: 5000
  decision_ms: 4000
holds:
  reconcile_s: 0
cache:
  ttl_s: {ttl}
{extra}""")
    log = open(os.path.join(d, name + ".log"), "w")
    p = subprocess.Popen(list(prefix) + [os.path.join(build, "bankd/bankd"),
                                         "-f", conf],
                         stdout=log, stderr=log)
    log.close()
    end = time.time() + timeout
    while not os.path.exists(sock):
        if time.time() > end or p.poll() is not None:
            if p.poll() is None:
                p.kill()
                p.wait()
            raise SystemExit("bankd did not start: see %s.log" % name)
        time.sleep(0.05)
    return p, sock


def stop_all(procs, timeout=20):
    """Stop what a benchmark started, by PID, last started first."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p.stdout:
            p.stdout.close()


def bankload(build, sock, clients, n, extra=()):
    r = subprocess.run([os.path.join(build, "bench/bankload"), "-S", sock,
                        "-c", str(clients), "-n", str(n), "-a", "fc_bench",
                        "-u", "47001", "-p", "normal", "--type", "check"] +
                       list(extra), capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("bankload failed (%d): %s %s" % (
            r.returncode, r.stdout.strip(), r.stderr.strip()))
    return {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)", r.stdout)}


def knows_persist(build):
    """Does this bankload have --persist?  Its usage (no arguments, on
    stderr) or --help names it if so."""
    exe = os.path.join(build, "bench/bankload")
    text = ""
    for argv in ([exe], [exe, "--help"]):
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        text += r.stdout + r.stderr
    return "--persist" in text


def knows_window(build):
    """Does this bankload have --window (requests in flight)?"""
    r = subprocess.run([os.path.join(build, "bench/bankload")],
                       capture_output=True, text=True, timeout=10)
    return "--window" in r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--no-persist", action="store_true",
                    help="leave out the cache-persist rows")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    persist = not a.no_persist and knows_persist(build)
    if not persist and not a.no_persist:
        print("note: bankload has no --persist; the cache-persist rows are "
              "left out", file=sys.stderr)
    d = tempfile.mkdtemp(prefix="bank-bench.")
    procs = []
    try:
        sim, api, ctl = start_sim(build, d)
        procs.append(sim)
        cached, csock = start_bankd(build, d, "cache", api, 600)
        procs.append(cached)
        direct, dsock = start_bankd(build, d, "api", api, 0)
        procs.append(direct)
        rows = []
        cases = [("cache", csock, ()), ("api", dsock, ())]
        if persist:
            cases.insert(1, ("cache-persist", csock, ("--persist",)))
        if persist and knows_window(build):
            # What bankd itself sustains: 16 checks in flight per
            # connection, so the kernel is not waking a sleeping client
            # for every decision.
            cases.insert(2, ("cache-window", csock,
                             ("--persist", "--window", "16")))
        for clients in (1, 8, 64):
            for name, sock, extra in cases:
                reset(ctl)
                n = a.n if name != "api" else max(a.n // 4, clients * 10)
                if name == "cache-window":
                    n = a.n * 4     # over in a blink otherwise
                r = bankload(build, sock, clients, n, extra)
                rows.append((name, clients, r, stats(ctl)))
        print("%-13s %7s %9s %9s %9s %10s %10s" % ("source", "clients",
              "p50_us", "p99_us", "p999_us", "checks/s", "API calls"))
        for name, clients, r, calls in rows:
            print("%-13s %7d %9.1f %9.1f %9.1f %10.0f %10d" % (
                name, clients, r["p50_us"], r["p99_us"], r["p999_us"],
                r["rate"], calls))
        print("\nratios (api / cache), same run:")
        by = {(n, c): r for n, c, r, _ in rows}
        for c in (1, 8, 64):
            print("  %2d clients: p50 %.1fx, p99 %.1fx, rate %.2fx" % (
                c, by[("api", c)]["p50_us"] / by[("cache", c)]["p50_us"],
                by[("api", c)]["p99_us"] / by[("cache", c)]["p99_us"],
                by[("cache", c)]["rate"] / by[("api", c)]["rate"]))
        if persist:
            print("\nratios (cache, fresh connection / persistent):")
            for c in (1, 8, 64):
                f, p = by[("cache", c)], by[("cache-persist", c)]
                print("  %2d clients: p50 %.1fx, p99 %.1fx, rate %.2fx" % (
                    c, f["p50_us"] / p["p50_us"], f["p99_us"] / p["p99_us"],
                    p["rate"] / f["rate"]))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"n": a.n, "persist": persist,
                           "rows": [{"source": n, "clients": c,
                                     "api_calls": calls, **r}
                                    for n, c, r, calls in rows]}, f,
                          indent=1)
        bad = [calls for n, c, r, calls in rows if n != "api" and calls > 1]
        if bad:
            print("error: the cache case asked the API", bad)
            return 1
        return 0
    finally:
        stop_all(procs)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
