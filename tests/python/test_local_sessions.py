"""Local sessions in a 3-member ensemble (`localSessionsEnabled`, `localSessionsUpgradingEnabled`),
side by side with a real 3-member Apache ZooKeeper 3.8 ensemble: a session is local to the
member its client connected to (counted in that member's `local_sessions`, unknown to the
others), it writes through the leader, creating an ephemeral upgrades it to a global session
(a createSession txn, so the ephemeral lives and dies with it everywhere), and without
upgrading the ephemeral create fails with EPHEMERALONLOCALSESSION (-120).
"""

import os
import socket
import time

import pytest

import zkraw
from conftest import Server, free_port, require_kazoo
from test_zkcli import run_cli

EPHEMERAL = 1


def start_ensemble(impl, factory_list, cfg):
    """Three members of `impl` (or of each implementation in a list of three), started
    together; returns once every one serves."""
    impls = impl if isinstance(impl, list) else [impl] * 3
    ports = [(free_port(), free_port()) for _ in range(3)]
    members = []
    for i, impl in enumerate(impls, 1):
        c = {"initLimit": "10", "syncLimit": "5"}
        c.update({"server.%d" % j: "127.0.0.1:%d:%d" % p for j, p in enumerate(ports, 1)})
        c.update(cfg)
        s = Server(impl, cfg=c, tick_time=500, name="%s%d" % (impl, i))
        with open(os.path.join(s.data_dir, "myid"), "w") as f:
            f.write(str(i))
        factory_list.append(s)
        s.wait_ready, ready = (lambda *a, **k: None), s.wait_ready
        s.start()
        s.wait_ready = ready
        members.append(s)
    for s in members:
        s.wait_ready()
    return members


def mode(s):
    for line in s.four("srvr").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


def mntr(s, key):
    for line in s.four("mntr").splitlines():
        k, _, v = line.partition("\t")
        if k == "zk_" + key:
            return int(v)
    return None


@pytest.fixture
def members():
    started = []
    yield started
    for s in started:
        s.cleanup()


def exists_once(srv, path):
    """exists() from a short-lived session that is closed again: (err, stat)."""
    c = zkraw.RawClient(srv.host, srv.port)
    try:
        return c.exists(path)
    finally:
        c.call(zkraw.CLOSE_SESSION)
        c.sock.close()


def reconnect_timeout(srv, session_id, passwd):
    """Handshake with an existing session id: the negotiated timeout (0 = refused)."""
    sock = socket.create_connection((srv.host, srv.port), timeout=10)
    try:
        payload = zkraw.connect_request(10000, session_id=session_id, passwd=passwd)
        sock.sendall(zkraw.i32(len(payload)) + payload)
        r = zkraw.Reader(zkraw.read_frame(sock))
        r.int()
        return r.int()
    except zkraw.Closed:
        return 0
    finally:
        sock.close()


def upgrading_story(impl, members):
    ens = start_ensemble(impl, members, {"localSessionsEnabled": "true",
                                         "localSessionsUpgradingEnabled": "true"})
    followers = [s for s in ens if mode(s) == "follower"]
    leader = [s for s in ens if mode(s) == "leader"][0]
    f1, f2 = followers[0], followers[1]
    facts = []
    c = zkraw.RawClient(f1.host, f1.port, timeout_ms=10000)
    sid, pw = c.session_id, c.passwd
    facts.append(("local on f1", mntr(f1, "local_sessions"), mntr(leader, "global_sessions")))
    facts.append(("persistent create", c.create("/p", b"x")[0]))
    # Another member does not know a local session.
    facts.append(("reconnect elsewhere", reconnect_timeout(f2, sid, pw)))
    facts.append(("ephemeral create", c.create("/p/e", b"", flags=EPHEMERAL)[0]))
    time.sleep(0.5)
    facts.append(("after upgrade", mntr(f1, "local_sessions"), mntr(leader, "global_sessions")))
    owner = exists_once(f2, "/p/e")[1]["ephemeralOwner"]
    facts.append(("owner is the session", owner == sid))
    # Now global: it can move to another member.
    facts.append(("reconnect elsewhere after upgrade", reconnect_timeout(f2, sid, pw) > 0))
    c.send(zkraw.CLOSE_SESSION)
    time.sleep(1.0)
    facts.append(("ephemeral gone", exists_once(leader, "/p/e")[0]))
    return facts


def test_local_session_upgrade_matches_apache(members):
    got = {impl: upgrading_story(impl, members) for impl in ("apache", "zkserver")}
    assert got["zkserver"] == got["apache"], got
    facts = dict((f[0], f[1:]) for f in got["zkserver"])
    assert facts["local on f1"] == (1, 0)
    assert facts["reconnect elsewhere"] == (0,)
    assert facts["ephemeral create"] == (0,)
    assert facts["after upgrade"] == (0, 1)
    assert facts["ephemeral gone"] == (-101,)


def no_upgrade_story(impl, members):
    ens = start_ensemble(impl, members, {"localSessionsEnabled": "true"})
    leader = [s for s in ens if mode(s) == "leader"][0]
    c = zkraw.RawClient(leader.host, leader.port, timeout_ms=10000)
    return [
        ("local on leader", mntr(leader, "local_sessions")),
        ("ephemeral create", c.create("/e", b"", flags=EPHEMERAL)[0]),
        ("persistent create", c.create("/n", b"")[0]),
        ("still local", mntr(leader, "local_sessions"), mntr(leader, "global_sessions")),
    ]


def test_ephemeral_on_local_session_without_upgrading_matches_apache(members):
    got = {impl: no_upgrade_story(impl, members) for impl in ("apache", "zkserver")}
    assert got["zkserver"] == got["apache"], got
    assert ("ephemeral create", -120) in got["zkserver"]


def test_zkcli_on_a_local_session_expires_it_locally(members):
    require_kazoo()
    ens = start_ensemble("zkserver", members, {"localSessionsEnabled": "true",
                                               "localSessionsUpgradingEnabled": "true"})
    f = [s for s in ens if mode(s) == "follower"][0]
    p = run_cli(f, "create /z x\ncreate -e /z/e y\nstat /z/e\nls /z\nquit\n")
    assert p.returncode == 0, p.stderr
    assert "Created /z/e" in p.stderr, p.stderr
    assert "[e]" in p.stdout, p.stdout
    # zkCli closed its (upgraded, global) session: the ephemeral is gone on every member.
    for s in ens:
        assert zkraw.RawClient(s.host, s.port).exists("/z/e")[0] == -101
    # A local session that is never closed expires on its member alone.
    base = mntr(f, "local_sessions")
    c = zkraw.RawClient(f.host, f.port, timeout_ms=2000)
    assert mntr(f, "local_sessions") == base + 1
    assert mntr([s for s in ens if mode(s) == "leader"][0], "global_sessions") == 0
    c.sock.close()
    deadline = time.time() + 6
    while time.time() < deadline and mntr(f, "local_sessions") != base:
        time.sleep(0.2)
    assert mntr(f, "local_sessions") == base
    assert reconnect_timeout(f, c.session_id, c.passwd) == 0
