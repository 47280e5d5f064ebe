#!/usr/bin/env python3
"""Prints what relay.py recorded: per connection, every election message or quorum packet in
both directions, merged in time order (chunk timestamps from events.log; order within one
direction is exact). For reading captures and choosing fixtures; the Rust golden tests
(tests/quorum_golden/) are what check our codecs against the same bytes.

Usage: dump.py [--quiet-pings] REC_DIR [CONN ...]   (CONN like q1-3.2 or e2-1.1; default all)
"""

import os
import struct
import sys

TYPES = {1: "REQUEST", 2: "PROPOSAL", 3: "ACK", 4: "COMMIT", 5: "PING", 6: "REVALIDATE",
         7: "SYNC", 8: "INFORM", 9: "COMMITANDACTIVATE", 10: "NEWLEADER", 11: "FOLLOWERINFO",
         12: "UPTODATE", 13: "DIFF", 14: "TRUNC", 15: "SNAP", 16: "OBSERVERINFO",
         17: "LEADERINFO", 18: "ACKEPOCH", 19: "INFORMANDACTIVATE"}
STATES = {0: "LOOKING", 1: "FOLLOWING", 2: "LEADING", 3: "OBSERVING"}
SIGNATURE = struct.pack(">i", 10) + b"BenWasHere"


def chunk_times(rec):
    """conn -> dir -> list of (end offset, time)."""
    out = {}
    with open(os.path.join(rec, "events.log")) as f:
        for line in f:
            t, conn, what, off, n = line.split()
            if what in ("fwd", "rev"):
                out.setdefault(conn, {}).setdefault(what, []).append((int(off) + int(n), float(t)))
    return out


def time_at(times, end):
    for e, t in times:
        if e >= end:
            return t
    return float("inf")


def txn_summary(d):
    if len(d) < 32:
        return f"txn? {len(d)}B"
    cid, cxid, zxid, tm, typ = struct.unpack(">qiqqi", d[:32])
    rest = d[32:]
    extra = ""
    if typ in (1, 2, 5, 7, 13, 15, 19, 20, 21) and len(rest) >= 4:
        (n,) = struct.unpack(">i", rest[:4])
        extra = " " + rest[4:4 + n].decode(errors="replace")
    dig = ""
    if len(d) >= 44:
        ver, digest = struct.unpack(">iq", d[-12:])
        if ver == 2:
            dig = f" digest={digest}"
    return f"txn type={typ} session=0x{cid:x} cxid={cxid} zxid=0x{zxid:x}{extra}{dig}"


def quorum_packets(b):
    pos = 0
    while pos + 16 <= len(b):
        start = pos
        typ, zxid, dlen = struct.unpack(">iqi", b[pos:pos + 16])
        pos += 16
        data = None
        if dlen >= 0:
            data = b[pos:pos + dlen]
            pos += dlen
        if pos + 4 > len(b):
            break
        (cnt,) = struct.unpack(">i", b[pos:pos + 4])
        pos += 4
        auth = None
        if cnt >= 0:
            auth = []
            for _ in range(cnt):
                parts = []
                for _ in range(2):
                    (n,) = struct.unpack(">i", b[pos:pos + 4])
                    parts.append(b[pos + 4:pos + 4 + max(n, 0)].decode())
                    pos += 4 + max(n, 0)
                auth.append(":".join(parts))
        desc = describe_packet(typ, zxid, data, auth)
        if typ == 15:
            sig = b.find(SIGNATURE, pos)
            desc += f" | body {pos}..{sig} ({sig - pos} B) then signature at {sig}"
            pos = sig + len(SIGNATURE)
        yield start, pos, desc


def describe_packet(typ, zxid, data, auth):
    name = TYPES.get(typ, f"UNKNOWN{typ}")
    dl = -1 if data is None else len(data)
    s = f"{name} zxid=0x{zxid & 0xffffffffffffffff:x} len={dl}"
    if auth is not None:
        s += f" auth={auth}"
    if data is None:
        return s
    if typ in (11, 16) and len(data) >= 20:
        sid, pv, cv = struct.unpack(">qiq", data[:20])
        s += f" [sid={sid} proto=0x{pv:x} configVersion={cv}]"
    elif typ in (17, 18) and len(data) >= 4:
        s += f" [int={struct.unpack('>i', data[:4])[0]:#x}]"
    elif typ in (2, 8):
        s += " [" + txn_summary(data) + "]"
    elif typ == 1 and len(data) >= 16:
        sess, cxid, op = struct.unpack(">qii", data[:16])
        s += f" [session=0x{sess:x} cxid={cxid} op={op} body={len(data) - 16}B]"
    elif typ == 6:
        if len(data) == 12:
            sess, to = struct.unpack(">qi", data)
            s += f" [session=0x{sess:x} timeout={to}]"
        elif len(data) == 9:
            sess, ok = struct.unpack(">q?", data)
            s += f" [session=0x{sess:x} valid={ok}]"
    elif typ == 5 and data:
        ents = [struct.unpack(">qi", data[i:i + 12]) for i in range(0, len(data) - 11, 12)]
        s += " [" + ", ".join(f"0x{a:x}/{t}" for a, t in ents) + "]"
    elif typ == 10:
        s += f" [{data.decode(errors='replace')!r}]"
    return s


def election_messages(b, fwd):
    pos = 0
    last_config = None
    if fwd and len(b) >= 8:
        (first,) = struct.unpack(">q", b[:8])
        if first >= 0:
            yield 0, 8, f"INITIAL legacy sid={first}"
            pos = 8
        else:
            sid, n = struct.unpack(">qi", b[8:20])
            addr = b[20:20 + n].decode(errors="replace")
            yield 0, 20 + n, f"INITIAL proto={first} sid={sid} addr={addr!r}"
            pos = 20 + n
    while pos + 4 <= len(b):
        (n,) = struct.unpack(">i", b[pos:pos + 4])
        m = b[pos + 4:pos + 4 + n]
        start = pos
        pos += 4 + n
        if len(m) < n:
            break
        st, leader, zxid, round_, pe = struct.unpack(">iqqqq", m[:36])
        s = (f"NOTIFY {STATES.get(st, st)} leader={leader} zxid=0x{zxid:x} round={round_} "
             f"peerEpoch={pe} len={n}")
        if n >= 44:
            ver, cl = struct.unpack(">ii", m[36:44])
            config = m[44:44 + cl].decode(errors="replace")
            s += f" v{ver} config=" + ("(as before)" if config == last_config else repr(config))
            last_config = config
        yield start, pos, s


def is_idle_ping(desc):
    return desc.startswith("PING ") and (desc.endswith("len=-1") or desc.endswith("len=0"))


def dump(rec, conn, times, quiet_pings=False):
    """quiet_pings: show only the first session-less PING of each direction."""
    kind = conn[0]
    a, b = conn[1:].split(".")[0].split("-")
    rows = []
    for d in ("fwd", "rev"):
        path = os.path.join(rec, f"{conn}.{d}")
        if not os.path.exists(path):
            continue
        data = open(path, "rb").read()
        who = f"{a}->{b}" if d == "fwd" else f"{b}->{a}"
        gen = quorum_packets(data) if kind == "q" else election_messages(data, d == "fwd")
        for i, (start, end, desc) in enumerate(gen):
            t = time_at(times.get(conn, {}).get(d, []), end)
            rows.append((t, d, i, f"{who} @{start:<6} {desc}", desc))
    rows.sort()
    t0 = rows[0][0] if rows else 0
    print(f"### {conn}")
    shown, omitted = set(), 0
    for t, d, _, line, desc in rows:
        if quiet_pings and is_idle_ping(desc):
            if d in shown:
                omitted += 1
                continue
            shown.add(d)
        print(f"  {t:.3f} +{t - t0:7.3f} {line}")
    if omitted:
        print(f"  ({omitted} more PINGs without sessions omitted)")


def main():
    args = sys.argv[1:]
    quiet = "--quiet-pings" in args
    args = [a for a in args if a != "--quiet-pings"]
    rec = args[0]
    times = chunk_times(rec)
    conns = args[1:] or sorted({f.rsplit(".", 1)[0] for f in os.listdir(rec)
                                    if f.endswith((".fwd", ".rev"))})
    for c in conns:
        dump(rec, c, times, quiet)


if __name__ == "__main__":
    main()
