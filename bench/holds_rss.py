"""bankd's memory with many holds, and what holds cost a decision.

Starts the myBRC simulator and one bankd (cache.ttl_s 600, reconciliation
off: there is no slurmctld to bind holds to jobs) in a private folder, then:

1. bankd's VmRSS idle (0.5 s after start, after one warm-up check);
2. decision latency with no holds: bankload --type check (dry_run, one
   client), as job_submit/bank asks;
3. N (10,000) CHECK requests *without* dry_run, sent by a small client in
   this file speaking bankproto (12-byte header + key=value lines; see
   libbankproto/bankproto.h): each allowed check places a hold of 2.00 SU
   (2 CPUs x 60 min at 1.00 SU/CPU-hour) against an account with
   100,000,000 SU, and its reply carries the hold's token;
4. bankd's VmRSS with N holds; the count of holds bankd reports (STATUS
   `holds`) must be N and their sum (BP_T_HOLDS `total`) N x 2.00 SU;
5. the decision latency of step 2 again, now that every check adds up the
   account's N holds.

    python3 bench/holds_rss.py [--build build] [--holds 10000]
        [--check-n 2000] [--json FILE] [--keep]

Stops everything it started by PID.
"""

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decision_latency import (start_sim, start_bankd, bankload,  # noqa: E402
                              stop_all)

BP_T_STATUS = 1
BP_T_CHECK = 2
BP_T_HOLDS = 12
BP_REPLY = 0x80


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("bankd closed the connection")
        buf += chunk
    return buf


def call(sock_path, mtype, fields, req_id=1, timeout=10):
    """One request on a fresh connection, as the plugins make them;
    returns the reply's fields as a dict."""
    body = "".join("%s=%s\n" % kv for kv in fields.items()).encode()
    frame = b"BK" + bytes([1, mtype]) + struct.pack(">II", req_id,
                                                     len(body)) + body
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(frame)
        hdr = recv_exact(s, 12)
        if hdr[:3] != b"BK\x01" or hdr[3] != (mtype | BP_REPLY):
            raise ValueError("not a reply to our request: %r" % hdr)
        rid, blen = struct.unpack(">II", hdr[4:12])
        if rid != req_id:
            raise ValueError("reply id %d, expected %d" % (rid, req_id))
        rep = recv_exact(s, blen).decode(errors="replace")
    out = {}
    for line in rep.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def check_fields(account, uid):
    """What job_submit/bank sends for a 2-CPU, 60-minute job (no dry_run:
    an allowed job gets a hold)."""
    return {"uid": uid, "account": account, "partitions": "normal",
            "min_cpus": 2, "num_tasks": 2, "cpus_per_task": 1,
            "min_nodes": 1, "time_limit": 60, "plugin": "job_submit"}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--holds", type=int, default=10000)
    ap.add_argument("--check-n", type=int, default=2000,
                    help="dry-run checks for the latency before/after")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    d = tempfile.mkdtemp(prefix="bank-bench.")
    procs = []
    res = {"holds_wanted": a.holds}
    try:
        sim, api, _ = start_sim(build, d)
        procs.append(sim)
        bankd, sock = start_bankd(build, d, "holds", api, 600,
                                  extra="  probe_factor: 1000\n")
        procs.append(bankd)
        w = call(sock, BP_T_CHECK, dict(check_fields("fc_bench", 47001),
                                        dry_run=1))
        if w.get("status") != "allow":
            raise SystemExit("warm-up check not allowed: %s" % w)
        time.sleep(0.5)
        res["rss_idle_kb"] = rss_kb(bankd.pid)
        res["check_before"] = bankload(build, sock, 1, a.check_n)
        fields = check_fields("fc_bench", 47001)
        t0 = time.time()
        tokens = set()
        for i in range(a.holds):
            r = call(sock, BP_T_CHECK, fields, req_id=i + 1)
            if r.get("status") != "allow" or not r.get("hold"):
                raise SystemExit("check %d placed no hold: %s" % (i + 1, r))
            tokens.add(r["hold"])
        res["place_s"] = time.time() - t0
        res["place_rate"] = a.holds / res["place_s"]
        time.sleep(0.5)
        res["rss_holds_kb"] = rss_kb(bankd.pid)
        st = call(sock, BP_T_STATUS, {})
        res["holds_bankd"] = int(st.get("holds", -1))
        h = call(sock, BP_T_HOLDS, {"account": "fc_bench"})
        res["held_total"] = h.get("total")
        res["tokens_distinct"] = len(tokens)
        res["held_account"] = r.get("held_account")
        res["check_after"] = bankload(build, sock, 1, a.check_n)
    finally:
        stop_all(procs)
        if a.keep:
            print("kept: " + d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)

    n = a.holds
    ok = (res["holds_bankd"] == n and res["tokens_distinct"] == n and
          res["held_total"] == "%d.00" % (2 * n))
    print("holds placed: %d by non-dry-run checks in %.1f s (%.0f/s, one "
          "connection each, from Python); bankd reports %d holds of %s SU "
          "in all, %d distinct tokens%s" % (
              n, res["place_s"], res["place_rate"], res["holds_bankd"],
              res["held_total"], res["tokens_distinct"],
              "" if ok else ": MISMATCH"))
    print("bankd RSS idle / with %d holds (MiB): %.1f / %.1f  (%.0f bytes "
          "per hold)" % (n, res["rss_idle_kb"] / 1024,
                         res["rss_holds_kb"] / 1024,
                         (res["rss_holds_kb"] - res["rss_idle_kb"]) * 1024 /
                         max(n, 1)))
    b, f = res["check_before"], res["check_after"]
    print("warm decision, 1 client, dry run (p50 / p99 / p99.9 us, "
          "checks/s):")
    print("  no holds      %8.1f %8.1f %8.1f %9.0f" % (
        b["p50_us"], b["p99_us"], b["p999_us"], b["rate"]))
    print("  %5d holds   %8.1f %8.1f %8.1f %9.0f" % (
        n, f["p50_us"], f["p99_us"], f["p999_us"], f["rate"]))
    res["ok"] = ok
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
