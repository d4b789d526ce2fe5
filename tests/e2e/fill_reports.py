"""Completion reports of made-up jobs, sent as root to a bankd's Unix
socket, pipelined, for tests/e2e/test_cluster.py: enough delivered
reports to make the controller's journal compact itself (it does once the
file is 1 MiB and four times what is still live).

    fill_reports.py SOCKET FIRST_JOB COUNT ACCOUNT UID

Prints one JSON object: the replies' statuses, counted.
"""

import json
import socket
import sys
import time

from hostile_client import frame, read_replies

WINDOW = 64


def report(job, account, uid, now):
    # Ended as it started: 0.00 SU, nothing charged.
    return [(k, v.encode()) for k, v in (
        ("job_id", str(job)), ("uid", str(uid)), ("account", account),
        ("partition", "normal"), ("qos", "normal"), ("state", "COMPLETED"),
        ("cpus", "1"), ("nodes", "c1"), ("num_nodes", "1"),
        ("req_nodes", "1"), ("submit", str(now - 20)),
        ("start", str(now - 10)), ("end", str(now - 10)),
        ("suspended", "0"), ("time_limit", "1"), ("run", "0"))]


def main():
    path, first, count, account, uid = sys.argv[1:6]
    first, count = int(first), int(count)
    now = int(time.time())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    statuses, sent = {}, 0
    while sent < count:
        n = min(WINDOW, count - sent)
        s.sendall(b"".join(frame(5, first + sent + i,
                                 report(first + sent + i, account, uid, now))
                           for i in range(n)))
        for r in read_replies(s, n, 30):
            st = r.get("status", "?") + (":" + r["message"]
                                         if r.get("status") != "ok" else "")
            statuses[st] = statuses.get(st, 0) + 1
        sent += n
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
