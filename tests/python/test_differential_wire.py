"""Differential wire tests: what the conversation in test_differential.py cannot see, compared
between a fresh Apache ZooKeeper 3.8 (reference) and a fresh server of ZK_IMPL (candidate).

  * Reply xids: every kind of reply (session-level packets, reads, writes, errors, multi, and
    the replies that end a connection) for requests sent with unusual xids (0, positive, large,
    the Java client's -8/-4, -1, -2). Frames are compared byte for byte after zxids are
    replaced by labels in order of first appearance (0 and -1 kept as they are).
  * A SASL login against a server without SASL (kazoo with DIGEST-MD5 credentials): how it
    ends (kazoo's state), how soon (the session timeout: SASL packets do not refresh the
    session on Apache), and, for zkserver, how much it logs.
"""

import os
import socket
import sys
import threading
import time

import pytest

from conftest import require, require_kazoo
import zkraw
from zkraw import boolean, i32, i64, string, buf

XIDS = [0, 1, 7, 123456, 0x7FFFFFFF, -8, -4, -2, -1, -3]
MARKER = 0x5A5A0000  # xid of the sync that closes each exchange


def strings(items):
    return i32(len(items)) + b"".join(string(s) for s in items)


def requests(zxid):
    """(name, opcode, body) of one request per reply path. Watches are re-registered relative to
    `zxid`, so no event is synthesised; bodies avoid Stat records (times differ by server)."""
    watches = i64(zxid) + strings(["/x"]) + strings(["/nx"]) + strings(["/x"])
    return [
        ("ping", zkraw.PING, b""),
        ("setWatches", zkraw.SET_WATCHES, watches),
        ("setWatches2", 105, watches + strings([]) + strings([])),
        ("auth digest", zkraw.AUTH, i32(0) + string("digest") + buf(b"u:p")),
        ("sasl", 102, buf(b"")),
        ("exists NONODE", zkraw.EXISTS, string("/missing") + boolean(False)),
        ("getData NONODE", zkraw.GET_DATA, string("/missing") + boolean(False)),
        ("sync", zkraw.SYNC, string("/x")),
        ("checkWatches NOWATCHER", zkraw.CHECK_WATCHES, string("/missing") + i32(1)),
        ("multi empty", zkraw.MULTI, i32(-1) + boolean(True) + i32(-1)),
        ("create sequential", zkraw.CREATE, string("/c-") + buf(b"") + zkraw.acl_vec(zkraw.OPEN_ACL) + i32(2)),
        ("garbage getData", zkraw.GET_DATA, i32(9) + b"/"),
    ]


# Requests after which the server closes the connection: each gets a fresh session.
CLOSING = [
    ("auth unknown scheme", zkraw.AUTH, i32(0) + string("nosuch") + buf(b"u:p"), 77),
    ("unknown opcode", 99, b"", 0x7FFFFFFF),
    ("closeSession", zkraw.CLOSE_SESSION, b"", 0),
]


class Labels:
    def __init__(self):
        self.seen = {}

    def __call__(self, zxid):
        if zxid in (0, -1):
            return zxid
        return self.seen.setdefault(zxid, "z%d" % (len(self.seen) + 1))


def frame(data, label):
    r = zkraw.Reader(data)
    xid, zxid, err = r.int(), r.long(), r.int()
    return [xid, label(zxid), err, data[16:].hex()]


def frames_until(cl, stop_xid, label):
    """Frames in wire order up to and including the reply with `stop_xid` (or the close)."""
    out = []
    while True:
        try:
            data = zkraw.read_frame(cl.sock)
        except socket.timeout:
            out.append("NO ANSWER within %ss" % cl.sock.gettimeout())
            return out
        except (zkraw.Closed, OSError):
            out.append("CLOSED")
            return out
        f = frame(data, label)
        out.append(f)
        if f[0] == stop_xid and stop_xid != -1:
            return out


def wire_transcript(srv):
    label = Labels()
    out = []
    cl = srv.raw()
    try:
        rep = cl.call(zkraw.CREATE, string("/x") + buf(b"") + zkraw.acl_vec(zkraw.OPEN_ACL) + i32(0))
        assert rep.err == 0, rep
        marker = MARKER
        for name, op, body in requests(rep.zxid):
            for xid in XIDS:
                cl.send(op, body, xid=xid)
                marker += 1
                cl.send(zkraw.SYNC, string("/"), xid=marker)
                out.append(["%s xid=%d" % (name, xid), frames_until(cl, marker, label)])
    finally:
        cl.close()
    for name, op, body, xid in CLOSING:
        cl = srv.raw()
        try:
            cl.send(op, body, xid=xid)
            out.append([name, frames_until(cl, -1, label)])
        finally:
            cl.sock.close()
    return out


def test_reply_xids_match_apache(differential_servers):
    ref, cand = differential_servers
    want, got = wire_transcript(ref), wire_transcript(cand)
    assert len(want) == len(got)
    bad = [(w[0], w[1], g[1]) for w, g in zip(want, got) if w != g]
    if bad:
        lines = ["%d of %d exchanges differ; first ones:" % (len(bad), len(want))]
        for name, w, g in bad[:8]:
            lines.append("  %s\n    apache:    %s\n    %-10s %s" % (name, w, cand.impl + ":", g))
        pytest.fail("\n".join(lines), pytrace=False)
    # The reference itself shows what the test is about.
    ref_map = dict((name, frames) for name, frames in want)
    assert ref_map["setWatches xid=123456"][0][0] == 123456
    assert ref_map["ping xid=123456"][0][0] == -2


# ---- SASL login without SASL on the server ---------------------------------------------------
SASL_TIMEOUT_S = 2.0  # kazoo's session timeout; tickTime 1000 allows 2 s


def require_puresasl():
    try:
        import puresasl  # noqa: F401
    except ImportError:
        require(False, "python module pure-sasl (pip install pure-sasl), kazoo's SASL support")


def sasl_login(srv):
    """Starts kazoo with DIGEST-MD5 credentials; returns (the session states kazoo went through,
    seconds until AUTH_FAILED or None). kazoo passes AUTH_FAILED on to CLOSED at once, so the
    states are recorded as kazoo reports them to itself rather than polled."""
    from kazoo.client import KazooClient
    from kazoo.protocol.states import KeeperState

    states = []
    t0 = time.time()

    class Recording(KazooClient):
        def _session_callback(self, state):
            states.append((state, time.time() - t0))
            super()._session_callback(state)

    c = Recording(hosts=srv.hosts, timeout=SASL_TIMEOUT_S,
                  sasl_options={"mechanism": "DIGEST-MD5", "username": "user", "password": "pw"})
    try:
        try:
            c.start(timeout=10)
        except Exception as e:  # noqa: BLE001 - the outcome is the states below
            print("kazoo start: %r" % e, file=sys.stderr)
        deadline = time.time() + 20
        ended = (KeeperState.AUTH_FAILED, KeeperState.EXPIRED_SESSION, KeeperState.CLOSED)
        while time.time() < deadline and not any(s in ended for s, _ in states):
            time.sleep(0.05)
        failed = [t for s, t in states if s == KeeperState.AUTH_FAILED]
        return [s for s, _ in states], (failed[0] if failed else None)
    finally:
        # kazoo's SASL loop does not look at stop(): against a server that never ends the
        # loop, stop() would hang the suite. The server is killed at teardown, which ends it.
        stopper = threading.Thread(target=lambda: (c.stop(), c.close()), daemon=True)
        stopper.start()
        stopper.join(5)


def test_sasl_login_without_sasl_matches_apache(zk_server_factory):
    """Apache 3.8 without a JAAS config answers each SASL token with err 0 and a null token;
    kazoo sends another empty token each time, and since SASL packets do not refresh the session
    it expires after the session timeout, the connection drops and kazoo reports AUTH_FAILED.
    zkserver must end the same way, as quickly, and write only a few log lines doing so."""
    require_kazoo()
    require_puresasl()
    ref = zk_server_factory(impl="apache", tick_time=1000, name="ref")
    cand = zk_server_factory(tick_time=1000, name="cand")
    results = {}
    for srv in (ref, cand):
        results[srv.impl if srv is cand else "apache"] = sasl_login(srv)
    print("sasl without SASL: %r" % results, file=sys.stderr)
    (want, _), (got, took) = results["apache"], results[cand.impl]
    assert "AUTH_FAILED" in want, "reference run: %r" % (results,)
    assert got == want, "kazoo's states: apache %r, %s %r" % (want, cand.impl, got)
    # Session timeout plus expiry rounding (a tick or two), not an endless loop.
    assert took < SASL_TIMEOUT_S + 4, "%s: AUTH_FAILED only after %.1fs" % (cand.impl, took)
    if cand.impl == "zkserver":
        with open(cand.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        sasl_lines = [line for line in log.splitlines() if "SASL" in line]
        assert 0 < len(sasl_lines) <= 10, "\n".join(sasl_lines)
        assert os.path.getsize(cand.log_path) < 8 * 1024, log
