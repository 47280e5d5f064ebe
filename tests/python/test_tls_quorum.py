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
from conftest import Server, free_port, impl_name, require, require_kazoo

NETTY_FACTORY = "org.apache.zookeeper.server.NettyServerCnxnFactory"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    require(tlscerts.have_tools(), "openssl (apt-get install openssl)")
    return tlscerts.make_certs(str(tmp_path_factory.mktemp("qcerts")))


class Ensemble:
    """Members 1..n of one ensemble; `impls[i]` is member i+1's implementation."""

    def __init__(self, impls, certs, keystores=None, extra=None, per_member=None, tick_time=1000):
        n = len(impls)
        ports = [(free_port(), free_port()) for _ in range(n)]
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
            s = Server(impl, cfg=cfg, tick_time=tick_time, name="q%d-%s" % (i + 1, impl))
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


def test_mixed_apache_and_zkserver_ensemble_over_tls(ensembles, certs):
    """Members 1 and 3 are Apache 3.8, member 2 is ZK_IMPL: first Apache leads (sid 3 wins a
    fresh election), then it is stopped and member 2 must lead Apache member 1, all over TLS."""
    e = ensembles(["apache", impl_name(), "apache"], certs).start()
    wait_for(lambda: e.modes() == {1: "follower", 2: "follower", 3: "leader"},
             "Apache member 3 leading, members 1 and 2 following (%r)" % (e.modes(),), 90)
    replicate(e.member(2), e.members, "/tlsq/m1", b"zk follower -> apache leader")
    assert "Using TLS encrypted quorum communication" in e.member(3).log_tail(3000)
    assert "Accepted TLS connection" in e.member(3).log_tail(3000)
    e.member(3).kill()
    wait_for(lambda: (lambda m: m[2] == "leader" and m[1] == "follower")(e.modes()),
             "member 2 leading Apache member 1 (%r)" % (e.modes(),), 90)
    replicate(e.member(1), [e.member(1), e.member(2)], "/tlsq/m2", b"apache follower -> zk leader")


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
    wait_for(lambda: e.modes() == {1: "follower", 2: "follower", 3: "leader"},
             "ensemble formed across TLS and plaintext members (%r)" % (e.modes(),), 90)
    replicate(e.member(1), e.members, "/tlsq/u", b"unified")
    e.member(3).kill()
    wait_for(lambda: (lambda m: m[2] == "leader" and m[1] == "follower")(e.modes()),
             "member 2 leading TLS member 1 (%r)" % (e.modes(),), 90)
    replicate(e.member(1), [e.member(1), e.member(2)], "/tlsq/u2", b"unified 2")
