#!/usr/bin/env python3
"""Turns a relay recording (scenarios.py OUT/rec) into the golden fixtures under
tests/fixtures/quorum/:

  election/<link>.<n>.dialler.bin   bytes the dialling member sent (initial message + frames)
  election/<link>.<n>.listener.bin  bytes the accepting member sent back (frames)
  sync/<name>.learner.bin           learner -> leader quorum-port stream
  sync/<name>.leader.bin            leader -> learner quorum-port stream
  sync/snap-body.bin                the largest captured SNAP body (between the SNAP packet
                                    and the "BenWasHere" signature), for tree::apache_snap
  timeline.txt                      dump.py's merged, timed listing of every connection
                                    (idle PINGs after the first of each direction omitted)

Quorum connections are named by what they contain: <follower|observer><sid>-<sync op>-epoch<E>
(sync op = diff, empty-diff, trunc or snap). The Rust tests classify streams by content, not by
name, so a recapture that elects a different leader still passes.

Usage: extract.py REC_DIR FIXTURE_DIR
"""

import io
import os
import shutil
import struct
import sys
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dump  # noqa: E402


def packets(data):
    """(type, zxid, data) of each packet, the SNAP body skipped."""
    out = []
    pos = 0
    while pos + 16 <= len(data):
        typ, zxid, dlen = struct.unpack(">iqi", data[pos:pos + 16])
        pos += 16
        payload = None
        if dlen >= 0:
            payload = data[pos:pos + dlen]
            pos += dlen
        (cnt,) = struct.unpack(">i", data[pos:pos + 4])
        pos += 4
        for _ in range(max(cnt, 0) * 2):
            (n,) = struct.unpack(">i", data[pos:pos + 4])
            pos += 4 + max(n, 0)
        out.append((typ, zxid, payload, pos))
        if typ == 15:
            sig = data.find(dump.SIGNATURE, pos)
            out[-1] = (typ, zxid, data[pos:sig], pos)
            pos = sig + len(dump.SIGNATURE)
    return out


def main():
    rec, fix = sys.argv[1], sys.argv[2]
    for sub in ("election", "sync"):
        shutil.rmtree(os.path.join(fix, sub), ignore_errors=True)
        os.makedirs(os.path.join(fix, sub))
    conns = sorted({f.rsplit(".", 1)[0] for f in os.listdir(rec) if f.endswith((".fwd", ".rev"))})
    snap_body = b""
    for conn in conns:
        def read(d):
            p = os.path.join(rec, f"{conn}.{d}")
            return open(p, "rb").read() if os.path.exists(p) else b""
        fwd, rev = read("fwd"), read("rev")
        if not fwd and not rev:
            continue
        if conn.startswith("e"):
            base = os.path.join(fix, "election", conn)
            open(base + ".dialler.bin", "wb").write(fwd)
            open(base + ".listener.bin", "wb").write(rev)
            continue
        learner = conn[1:].split("-")[0]
        lp, dp = packets(fwd), packets(rev)
        if len(lp) < 1 or len(dp) < 2:
            print(f"skipping {conn}: no complete handshake", file=sys.stderr)
            continue
        role = {11: "follower", 16: "observer"}.get(lp[0][0], f"type{lp[0][0]}")
        epoch = dp[0][1] >> 32
        op = {13: "diff", 14: "trunc", 15: "snap"}.get(dp[1][0], f"type{dp[1][0]}")
        if op == "diff" and len(dp) > 2 and dp[2][0] == 10:
            op = "empty-diff"
        name = f"{role}{learner}-{op}-epoch{epoch}"
        base = os.path.join(fix, "sync", name)
        if os.path.exists(base + ".learner.bin"):
            name += "-" + conn.split(".")[1]
            base = os.path.join(fix, "sync", name)
        open(base + ".learner.bin", "wb").write(fwd)
        open(base + ".leader.bin", "wb").write(rev)
        print(f"{conn} -> sync/{name}")
        if op == "snap" and len(dp[1][2]) > len(snap_body):
            snap_body = dp[1][2]
    if snap_body:
        open(os.path.join(fix, "sync", "snap-body.bin"), "wb").write(snap_body)
    buf = io.StringIO()
    with redirect_stdout(buf):
        times = dump.chunk_times(rec)
        for c in conns:
            dump.dump(rec, c, times, quiet_pings=True)
    open(os.path.join(fix, "timeline.txt"), "w").write(buf.getvalue())


if __name__ == "__main__":
    main()
