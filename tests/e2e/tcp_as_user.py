"""A user's own client of a controller bankd's TCP listener, for
tests/e2e/test_cluster.py (run inside a host, as the user under test).

It makes one request the way bp_call_tcp does (the frame, then a MUNGE
credential of the caller's own, from `munge -S SOCKET`, whose payload is
the SHA-256 of the frame without it, appended as field `cred`) and sends
the very same bytes TIMES times, each on a new connection: the second
time, a replay.  Prints one JSON list: each connection's reply.

    tcp_as_user.py HOST PORT MUNGE_SOCKET TYPE TIMES key=value...
"""

import hashlib
import json
import socket
import struct
import subprocess
import sys

from hostile_client import read_replies

HDR = struct.Struct(">2sBBII")
TYPES = {"status": 1, "check": 2, "estimate": 3, "start": 4, "end": 5,
         "queue": 6, "retry": 8, "drop": 9, "pause": 10, "balance": 14}


def encode(typ, rid, fields):
    body = b"".join(k.encode() + b"=" + v.encode() + b"\n"
                    for k, v in fields)
    return HDR.pack(b"BK", 1, typ, rid, len(body)) + body


def main():
    host, port, msock, typ, times = sys.argv[1:6]
    fields = [tuple(a.split("=", 1)) for a in sys.argv[6:]]
    bare = encode(TYPES[typ], 7, fields)
    cred = subprocess.run(["munge", "-S", msock],
                          input=hashlib.sha256(bare).digest(),
                          capture_output=True, check=True,
                          timeout=10).stdout.decode().strip()
    frame = encode(TYPES[typ], 7, fields + [("cred", cred)])
    out = []
    for _ in range(int(times)):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(frame)
            reps = read_replies(s, 1, 10)
        out.append(reps[0] if reps else None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
