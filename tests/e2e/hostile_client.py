"""A hostile local user of bankd's socket, for tests/e2e/test_hostile.py.

Run as the user under test (the test drops privileges before exec); it
speaks bankproto directly (libbankproto/bankproto.h) and prints one JSON
object with what it saw.

    hostile_client.py SOCKET ask TYPE key=value...    one request, its reply
    hostile_client.py SOCKET pipeline N key=value...  N checks in one write
    hostile_client.py SOCKET hold N SECONDS           N idle connections
    hostile_client.py SOCKET idle SECONDS             one idle connection:
                                                      when bankd closes it
"""

import json
import socket
import struct
import sys
import time

HDR = struct.Struct(">2sBBII")
TYPES = {"status": 1, "check": 2, "estimate": 3, "start": 4, "end": 5,
         "queue": 6, "show": 7, "holds": 12}


def frame(typ, rid, fields):
    body = b"".join(k.encode() + b"=" + v + b"\n" for k, v in fields)
    return HDR.pack(b"BK", 1, typ, rid, len(body)) + body


def parse_args(args):
    """key=value pairs; a value may carry \\xNN escapes (raw bytes)."""
    out = []
    for a in args:
        k, v = a.split("=", 1)
        out.append((k, v.encode("latin-1").decode("unicode_escape")
                    .encode("latin-1")))
    return out


def read_replies(s, n, timeout):
    """Up to n replies: a list of dicts of their fields (bytes decoded)."""
    s.settimeout(timeout)
    buf, out = b"", []
    while len(out) < n:
        try:
            chunk = s.recv(1 << 16)
        except OSError:         # a timeout, or bankd gone (reset)
            break
        if not chunk:
            break
        buf += chunk
        while len(buf) >= HDR.size:
            magic, ver, typ, rid, blen = HDR.unpack(buf[:HDR.size])
            if len(buf) < HDR.size + blen:
                break
            body = buf[HDR.size:HDR.size + blen]
            buf = buf[HDR.size + blen:]
            rep = {"_type": typ, "_id": rid}
            for line in body.split(b"\n"):
                if b"=" in line:
                    k, v = line.split(b"=", 1)
                    rep[k.decode()] = v.decode("utf-8", "replace")
            out.append(rep)
    return out


def cmd_ask(path, typ, args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t0 = time.time()
    s.sendall(frame(TYPES[typ], 7, parse_args(args)))
    reps = read_replies(s, 1, 10)
    return {"reply": reps[0] if reps else None,
            "seconds": time.time() - t0}


def cmd_pipeline(path, n, args):
    fields = parse_args(args)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t0 = time.time()
    data = b"".join(frame(TYPES["check"], i, fields)
                    for i in range(1, n + 1))
    # Written from a thread of its own: bankd stops reading while this
    # user's checks are at their cap, so the write may block for long.
    import threading
    w = threading.Thread(target=s.sendall, args=(data,), daemon=True)
    w.start()
    reps = read_replies(s, n, 60)
    statuses = {}
    for r in reps:
        statuses[r.get("status", "?")] = statuses.get(r.get("status", "?"),
                                                      0) + 1
    ids = [r["_id"] for r in reps]
    return {"replies": len(reps), "statuses": statuses,
            "in_order": ids == sorted(ids),
            "messages": sorted({r.get("message", "") for r in reps})[:10],
            "held_fields": sum(1 for r in reps if "held_account" in r),
            "seconds": time.time() - t0}


def cmd_hold(path, n, seconds):
    socks, failed, closed = [], 0, 0
    t0 = time.time()
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    opened = time.time() - t0
    print(json.dumps({"phase": "opened", "connected": len(socks),
                      "failed": failed, "seconds": opened}), flush=True)
    time.sleep(seconds)
    # Which of them bankd kept: a refused one reads EOF at once.
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    return {"phase": "done", "connected": len(socks), "failed": failed,
            "closed_by_bankd": closed, "kept": len(socks) - closed}


def cmd_idle(path, seconds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(seconds)
    t0 = time.time()
    try:
        got = s.recv(1)
    except socket.timeout:
        return {"closed": False, "seconds": time.time() - t0}
    return {"closed": got == b"", "seconds": time.time() - t0}


def main():
    path, cmd, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "ask":
        out = cmd_ask(path, rest[0], rest[1:])
    elif cmd == "pipeline":
        out = cmd_pipeline(path, int(rest[0]), rest[1:])
    elif cmd == "hold":
        out = cmd_hold(path, int(rest[0]), float(rest[1]))
    elif cmd == "idle":
        out = cmd_idle(path, float(rest[0]))
    else:
        raise SystemExit("unknown command " + cmd)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
