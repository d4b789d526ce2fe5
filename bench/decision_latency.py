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
plugin does).  Prints p50/p99/p99.9 and the rate, the simulator's count of
can_submit_job calls for each case (the cache case must show 1), and the
ratios.  Stops everything it started by PID.

    python3 bench/decision_latency.py [--build build] [-n 20000]
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


def start_bankd(build, d, name, api, ttl):
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
""")
    log = open(os.path.join(d, name + ".log"), "w")
    p = subprocess.Popen([os.path.join(build, "bankd/bankd"), "-f", conf],
                         stdout=log, stderr=log)
    end = time.time() + 10
    while not os.path.exists(sock):
        if time.time() > end or p.poll() is not None:
            raise SystemExit("bankd did not start: see %s.log" % name)
        time.sleep(0.05)
    return p, sock


def bankload(build, sock, clients, n):
    out = subprocess.run([os.path.join(build, "bench/bankload"), "-S", sock,
                          "-c", str(clients), "-n", str(n), "-a", "fc_bench",
                          "-u", "47001", "-p", "normal", "--type", "check"],
                         capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)", out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-n", type=int, default=20000)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
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
        for clients in (1, 8, 64):
            for name, sock in (("cache", csock), ("api", dsock)):
                reset(ctl)
                n = a.n if name == "cache" else max(a.n // 4, clients * 10)
                r = bankload(build, sock, clients, n)
                rows.append((name, clients, r, stats(ctl)))
        print("%-6s %7s %9s %9s %9s %10s %10s" % ("source", "clients",
              "p50_us", "p99_us", "p999_us", "checks/s", "API calls"))
        for name, clients, r, calls in rows:
            print("%-6s %7d %9.1f %9.1f %9.1f %10.0f %10d" % (
                name, clients, r["p50_us"], r["p99_us"], r["p999_us"],
                r["rate"], calls))
        print("\nratios (api / cache), same run:")
        by = {(n, c): r for n, c, r, _ in rows}
        for c in (1, 8, 64):
            print("  %2d clients: p50 %.1fx, p99 %.1fx, rate %.2fx" % (
                c, by[("api", c)]["p50_us"] / by[("cache", c)]["p50_us"],
                by[("api", c)]["p99_us"] / by[("cache", c)]["p99_us"],
                by[("cache", c)]["rate"] / by[("api", c)]["rate"]))
        bad = [calls for n, c, r, calls in rows if n == "cache" and calls > 1]
        if bad:
            print("error: the cache case asked the API", bad)
            return 1
        return 0
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
