"""Quorum TLS (`sslQuorum=true`, `ssl.quorum.*` PEM stores): the election and quorum ports
speak TLS between members, and zkserver interoperates with Apache ZooKeeper 3.8 members doing
the same.

Ensembles are started with a small self-contained helper (`Ensemble`) built on conftest's
Server, so this suite can move onto a shared ensemble harness later. Certificates come from
tlscerts.py (one server certificate with SAN 127.0.0.1 for every member, as hostname
verification is on by default).
"""

import socket
import struct
import time

import pytest

import tlscerts
from conftest import Server, impl_name, require, require_kazoo

NETTY_FACTORY = "org.apache.zookeeper.server.NettyServerCnxnFactory"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    require(tlscerts.have_tools(), "openssl (apt-get install openssl)")
    return tlscerts.make_certs(str(tmp_path_factory.mktemp("qcerts")))


def distinct_ports(n):
    """`n` different free ports: all sockets stay bound until every port is picked, so no
    port is handed out twice (one member's quorum port must not be another's client port)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Ensemble:
    """Members 1..n of one ensemble; `impls[i]` is member i+1's implementation."""

    def __init__(self, impls, certs, keystores=None, extra=None, per_member=None, tick_time=1000):
        n = len(impls)
        flat = distinct_ports(3 * n)
        ports = [(flat[3 * i], flat[3 * i + 1]) for i in range(n)]
        client_ports = [flat[3 * i + 2] for i in range(n)]
        servers = {"server.%d" % (i + 1): "127.0.0.1:%d:%d" % ports[i] for i in range(n)}
        self.members = []
        for i, impl in enumerate(impls):
            cfg = {
                "initLimit": "10",
                "syncLimit": "5",
                "sslQuorum": "true",
                "ssl.quorum.keyStore.location": (keystores or {}).get(i + 1, certs.server),
                "ssl.quorum.trustStore.location": certs.ca,
            }
            cfg.update(servers)
            cfg.update(extra or {})
            cfg.update((per_member or {}).get(i + 1, {}))
            cfg["clientPort"] = str(client_ports[i])
            s = Server(impl, cfg=cfg, tick_time=tick_time, name="q%d-%s" % (i + 1, impl))
            s.port = client_ports[i]
            with open(s.data_dir + "/myid", "w") as f:
                f.write("%d\n" % (i + 1))
            s.election_port = ports[i][1]
            self.members.append(s)

    def start(self, wait_for=None):
        for s in self.members:
            s.start(wait=False)
        for i in (wait_for or range(len(self.members))):
            self.members[i].wait_ready()
        return self

    def member(self, sid):
        return self.members[sid - 1]

    def modes(self):
        out = {}
        for i, s in enumerate(self.members):
            try:
                text = s.four("srvr")
                out[i + 1] = next((l.split(": ")[1] for l in text.splitlines()
                                   if l.startswith("Mode: ")), "not serving")
            except OSError:
                out[i + 1] = "down"
        return out

    def cleanup(self):
        for s in self.members:
            s.cleanup()


@pytest.fixture
def ensembles():
    made = []

    def make(*a, **kw):
        e = Ensemble(*a, **kw)
        made.append(e)
        return e

    yield make
    for e in made:
        e.cleanup()


def kazoo_plain(srv):
    from kazoo.client import KazooClient
    c = KazooClient(hosts=srv.hosts, timeout=15.0)
    c.start(timeout=30)
    return c


def wait_for(pred, what, timeout=60):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.time() < deadline, what
        time.sleep(0.2)


def replicate(writer, readers, path, data):
    """Writes through `writer`, reads back through every reader (after sync)."""
    require_kazoo()
    w = kazoo_plain(writer)
    try:
        w.ensure_path("/tlsq")
        w.create(path, data)
    finally:
        w.stop()
        w.close()
    for r in readers:
        c = kazoo_plain(r)
        try:
            c.sync(path)
            assert c.get(path)[0] == data, r.name
        finally:
            c.stop()
            c.close()


def test_zkserver_ensemble_over_tls(ensembles, certs):
    if impl_name() != "zkserver":
        pytest.skip("zkserver ensemble (the mixed test covers Apache)")
    e = ensembles(["zkserver"] * 3, certs).start()
    modes = wait_for(lambda: (lambda m: m if sorted(m.values()) == ["follower", "follower", "leader"]
                              else None)(e.modes()), "a leader and two followers")
    leader = next(sid for sid, m in modes.items() if m == "leader")
    follower = next(sid for sid, m in modes.items() if m == "follower")
    replicate(e.member(follower), e.members, "/tlsq/a", b"over tls")
    # A plaintext peer is refused on the election port, with a log line.
    s = socket.create_connection(("127.0.0.1", e.member(leader).election_port), timeout=5)
    s.sendall(struct.pack(">qqi", -65536, 9, 14) + b"127.0.0.1:9999")
    s.settimeout(10)
    try:
        assert s.recv(16) == b""
    except ConnectionResetError:
        pass
    s.close()
    wait_for(lambda: "a plaintext peer on a port that requires TLS" in e.member(leader).log_tail(400),
             "log line for the plaintext peer")


def one_leader(e, members=None):
    """The sid leading while the others (of `members`) follow, or None."""
    m = e.modes()
    sids = members or list(m)
    leaders = [sid for sid in sids if m[sid] == "leader"]
    if len(leaders) == 1 and all(m[sid] == "follower" for sid in sids if sid != leaders[0]):
        return leaders[0]
    return None


def exercise_both_roles(e, zk, tag):
    """Member `zk` (ZK_IMPL, between two Apache members) is seen following an Apache leader and
    leading an Apache follower, replicating a write each time. Which member wins the first
    election depends on start-up timing, so the second phase is arranged from the first:
    if ZK_IMPL follows, its Apache leader is stopped (the higher sid left is ZK_IMPL's own);
    if ZK_IMPL leads, it is restarted and rejoins the Apache members as a follower."""
    leader = wait_for(lambda: one_leader(e), "one leader, two followers (%r)" % (e.modes(),), 90)
    replicate(e.member(zk), e.members, "/tlsq/%s1" % tag, b"first")
    if leader != zk:
        e.member(leader).kill()
        rest = [sid for sid in (1, 2, 3) if sid != leader]
        assert wait_for(lambda: one_leader(e, rest), "re-election (%r)" % (e.modes(),), 90) == zk
        others = [e.member(sid) for sid in rest]
    else:
        e.member(zk).kill()
        e.member(zk).start()
        wait_for(lambda: one_leader(e) not in (None, zk), "ZK_IMPL rejoined (%r)" % (e.modes(),), 90)
        others = e.members
    replicate(e.member(zk), others, "/tlsq/%s2" % tag, b"second")


def test_mixed_apache_and_zkserver_ensemble_over_tls(ensembles, certs):
    """Members 1 and 3 are Apache 3.8, member 2 is ZK_IMPL; every peer connection is TLS."""
    e = ensembles(["apache", impl_name(), "apache"], certs).start()
    wait_for(lambda: one_leader(e), "a leader (%r)" % (e.modes(),), 90)
    log = e.member(1).log_tail(3000)
    assert "Using TLS encrypted quorum communication" in log, log
    assert "SSL handshake complete" in log or "Accepted TLS connection" in log, log
    exercise_both_roles(e, 2, "m")


def test_member_with_untrusted_certificate_cannot_join(ensembles, certs):
    if impl_name() != "zkserver":
        pytest.skip("zkserver refusal log lines")
    e = ensembles(["zkserver"] * 3, certs, keystores={3: certs.rogue})
    e.start(wait_for=[0, 1])
    wait_for(lambda: sorted(v for k, v in e.modes().items() if k != 3) == ["follower", "leader"],
             "members 1 and 2 form a quorum")
    assert e.modes()[3] not in ("leader", "follower"), e.modes()
    logs = e.member(1).log_tail(400) + e.member(2).log_tail(400)
    assert "TLS handshake" in logs, logs


def test_port_unification_lets_tls_and_plaintext_members_meet(ensembles, certs):
    """portUnification=true (the rolling switch to sslQuorum): member 1 dials TLS, members 2
    and 3 dial plaintext, every listener takes both; Apache members on either side."""
    e = ensembles(["apache", impl_name(), "apache"], certs,
                  extra={"portUnification": "true"},
                  per_member={1: {"sslQuorum": "true"}, 2: {"sslQuorum": "false"},
                              3: {"sslQuorum": "false"}})
    e.start()
    exercise_both_roles(e, 2, "u")
