"""TLS on the client port, side by side with Apache ZooKeeper 3.8 (Netty factory) on the same
PEM/PKCS#12 files: kazoo with use_ssl, Apache's Java client (zkCli.sh, Netty socket), raw TLS
sockets; the x509 ACL scheme; refusals (plaintext on the secure port, untrusted or missing
client certificates, protocol/cipher mismatches) and malformed input; startup errors for bad
store files; port unification; reload of changed certificate files.

Certificates are generated per run (tlscerts.py, openssl CLI). Each side-by-side test runs the
same steps against an Apache server and a ZK_IMPL server and compares what the clients saw.
"""

import os
import socket
import ssl
import struct
import subprocess
import time

import pytest

import tlscerts
import tlsutil
from conftest import Server, free_port, impl_name, require, require_kazoo
from tlsutil import (context, handshake_error, java_cli, kazoo, secure_port, tls_cfg,
                     tls_connect, tls_session_answer, whoami_lines)

ADMIN = "CN=admin,O=zk-test"
CLIENT1 = "CN=client1,OU=clients,O=zk-test"
CLIENT2 = "CN=client2,OU=clients,O=zk-test"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    require(tlscerts.have_tools(), "openssl (apt-get install openssl)")
    return tlscerts.make_certs(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def pair(zk_server_module, certs):
    """(apache, candidate) with the same secure-port configuration and an x509 super user."""
    cfg = tls_cfg(certs, **{"X509AuthenticationProvider.superUser": ADMIN})
    ref = zk_server_module(cfg=cfg, impl="apache", name="tls-ref")
    cfg = dict(cfg, secureClientPort=str(free_port()))
    cand = zk_server_module(cfg=cfg, name="tls-cand")
    return ref, cand


def both(pair):
    return [("apache", pair[0]), (impl_name(), pair[1])]


def test_kazoo_over_tls(pair, certs):
    require_kazoo()
    from kazoo.exceptions import NoAuthError
    from kazoo.security import make_acl
    seen = {}
    for name, srv in both(pair):
        c1 = kazoo(srv, certs, "client1")
        c2 = kazoo(srv, certs, "client2")
        admin = kazoo(srv, certs, "admin")
        try:
            c1.create("/tls", b"v1")
            c1.set("/tls", b"v2")
            c1.create("/tls/mine", b"secret", acl=[make_acl("x509", CLIENT1, all=True)])
            c1.create("/tls/viaauth", b"a", acl=[make_acl("auth", "", read=True, write=True)])
            acl_mine, _ = c1.get_acls("/tls/mine")
            acl_auth, _ = c1.get_acls("/tls/viaauth")
            r = {
                "data": c2.get("/tls")[0],
                "children": sorted(c2.get_children("/tls")),
                "owner_reads": c1.get("/tls/mine")[0],
                "admin_reads": admin.get("/tls/mine")[0],
                "acl_mine": [(a.perms, a.id.scheme, a.id.id) for a in acl_mine],
                "acl_auth": [(a.perms, a.id.scheme, a.id.id) for a in acl_auth],
            }
            try:
                c2.get("/tls/mine")
                r["other_reads"] = "allowed"
            except NoAuthError:
                r["other_reads"] = "NoAuth"
            try:
                c1.create("/tls/bad", b"", acl=[make_acl("x509", "not a name", all=True)])
                r["bad_acl"] = "accepted"
            except Exception as e:
                r["bad_acl"] = type(e).__name__
            seen[name] = r
        finally:
            for c in (c1, c2, admin):
                c.stop()
                c.close()
    ref, cand = seen["apache"], seen[impl_name()]
    assert ref["other_reads"] == "NoAuth" and ref["acl_mine"] == [(31, "x509", CLIENT1)], ref
    assert cand == ref


def test_java_client_whoami_and_x509_names(pair, certs):
    """zkCli.sh over TLS; whoami shows the x509 id exactly as Java's X500Principal prints it,
    including a subject that needs escaping and a multi-valued RDN, and the super id."""
    script = "whoami\ncreate /jcli hello\nget /jcli\nquit\n"
    seen = {}
    for name, srv in both(pair):
        r = {}
        for client in ("client1", "tricky", "admin"):
            out, err, _ = java_cli(secure_port(srv), certs,
                                   script if client == "client1" else "whoami\nquit\n", client)
            r[client] = whoami_lines(out)
            if client == "client1":
                r["get"] = "hello" in out.splitlines()
        seen[name] = r
    ref, cand = seen["apache"], seen[impl_name()]
    assert ref["client1"] and "x509: " + CLIENT1 in ref["client1"], ref
    assert ref["get"], ref
    assert cand == ref


def test_plaintext_client_on_secure_port_is_dropped(pair):
    for name, srv in both(pair):
        s = socket.create_connection(("127.0.0.1", secure_port(srv)), timeout=10)
        s.sendall(tlsutil.connect_request())
        answer = tlsutil.read_all(s)
        s.close()
        assert answer == b"", (name, answer)
        # The server keeps serving.
        assert "Mode:" in srv.four("srvr")
    if impl_name() == "zkserver":
        deadline = time.time() + 5
        while "plaintext client on the secure client port" not in pair[1].log_tail(200):
            assert time.time() < deadline, pair[1].log_tail()
            time.sleep(0.1)


def test_untrusted_or_missing_client_certificate_is_refused_as_apache_does(pair, certs):
    seen = {}
    for name, srv in both(pair):
        port = secure_port(srv)
        seen[name] = {
            "rogue": handshake_error(port, context(certs, "rogue")),
            "none": handshake_error(port, context(certs, None)) is not None,
            "good": handshake_error(port, context(certs, "client1")),
            # The server's certificate is checked by the client against the test CA.
            "server_cert": handshake_error(port, context(certs, "client1", ca=False)),
        }
    ref, cand = seen["apache"], seen[impl_name()]
    assert ref["good"] is None and ref["rogue"] is not None and ref["none"], ref
    # Same alert for an untrusted certificate (Java: certificate_unknown). A missing
    # certificate is refused by both; the alert differs (see README).
    assert cand == ref


def test_malformed_input_over_tls_never_crashes(pair, certs):
    garbage = [
        struct.pack(">i", -1),                       # negative frame length
        struct.pack(">i", 0x7fffffff) + b"x" * 16,   # over jute.maxbuffer
        b"\x00\x00\x00\x05\x01\x02\x03\x04\x05",     # too short for a ConnectRequest
    ]
    for name, srv in both(pair):
        port = secure_port(srv)
        for g in garbage:
            s = tls_connect(port, context(certs, "client1"))
            s.sendall(g)
            s.settimeout(5)
            assert tlsutil.read_all(s) == b"", (name, g)
            s.close()
        # A "TLS" connection whose records are nonsense.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(64))
        tlsutil.read_all(s)
        s.close()
        # Still serving TLS clients.
        assert tls_session_answer(port, context(certs, "client1")) != b"", name


def test_protocols_and_cipher_suites(zk_server_factory, certs):
    # Apache's default cipher list has no TLSv1.3 suite ("No appropriate protocol"), so the
    # TLSv1.3 suites are named; zkserver's default has them (see README).
    cfg = tls_cfg(certs, **{
        "ssl.enabledProtocols": "TLSv1.3",
        "ssl.ciphersuites": "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
    })
    cfg2 = tls_cfg(certs, **{
        "ssl.ciphersuites": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    })
    seen = {}
    for impl in ("apache", impl_name()):
        srv = zk_server_factory(cfg=dict(cfg, secureClientPort=str(free_port())), impl=impl,
                                name="proto-" + impl)
        port = secure_port(srv)
        tls12 = context(certs, maximum_version=ssl.TLSVersion.TLSv1_2)
        s = tls_connect(port, context(certs))
        v13 = s.version()
        s.close()
        srv2 = zk_server_factory(cfg=dict(cfg2, secureClientPort=str(free_port())), impl=impl,
                                 name="cipher-" + impl)
        port2 = secure_port(srv2)
        only128 = context(certs, maximum_version=ssl.TLSVersion.TLSv1_2)
        only128.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
        s = tls_connect(port2, context(certs))
        negotiated = (s.version(), s.cipher()[0])
        s.close()
        seen[impl] = {
            "tls12_refused": handshake_error(port, tls12) is not None,
            "tls13": v13,
            "default_protocol": negotiated,
            "aes128_refused": handshake_error(port2, only128) is not None,
        }
    ref, cand = seen["apache"], seen[impl_name()]
    assert ref["tls12_refused"] and ref["tls13"] == "TLSv1.3", ref
    assert ref["default_protocol"] == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384"), ref
    assert cand == ref


@pytest.mark.parametrize("store", ["pkcs12", "encrypted-pem"])
def test_other_key_store_forms(zk_server_factory, certs, store):
    require_kazoo()
    if store == "pkcs12":
        require(tlscerts.have_keytool(), "keytool (a JDK)")
        extra = {
            "ssl.keyStore.location": certs.server_p12,
            "ssl.keyStore.password": tlscerts.STORE_PASSWORD,
            "ssl.trustStore.location": certs.trust_p12,
            "ssl.trustStore.password": tlscerts.STORE_PASSWORD,
        }
    else:
        extra = {
            "ssl.keyStore.location": certs.server_enc,
            "ssl.keyStore.password": tlscerts.KEY_PASSWORD,
        }
    for impl in ("apache", impl_name()):
        srv = zk_server_factory(cfg=tls_cfg(certs, **extra), impl=impl, name=store + "-" + impl)
        c = kazoo(srv, certs, "client1")
        try:
            c.ensure_path("/forms")
            assert c.exists("/forms"), impl
        finally:
            c.stop()
            c.close()


def test_client_port_unification(zk_server_factory, certs):
    require_kazoo()
    from kazoo.client import KazooClient
    for impl in ("apache", impl_name()):
        srv = zk_server_factory(cfg=tls_cfg(certs, **{"client.portUnification": "true"}),
                                impl=impl, name="unified-" + impl)
        secure = kazoo(srv, certs, "client1", port=srv.port)
        plain = KazooClient(hosts=srv.hosts, timeout=15.0)
        plain.start(timeout=20)
        try:
            secure.create("/unified", b"tls")
            assert plain.get("/unified")[0] == b"tls", impl
            assert "Mode:" in srv.four("srvr")
        finally:
            for c in (secure, plain):
                c.stop()
                c.close()


def _zkserver_only():
    if impl_name() != "zkserver":
        pytest.skip("zkserver-specific behaviour (Apache 3.8 has no equivalent)")


def _failed_start(cfg):
    s = Server("zkserver", cfg=cfg, name="bad-tls")
    try:
        with pytest.raises(RuntimeError) as e:
            s.start()
        return str(e.value)
    finally:
        s.cleanup()


def test_bad_store_files_stop_startup_naming_key_and_path(certs, tmp_path):
    """Apache starts and then fails every handshake; zkserver refuses to start and says why."""
    _zkserver_only()
    missing = str(tmp_path / "nope.pem")
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": missing}))
    assert "zookeeper.ssl.keyStore.location" in log and missing in log, log
    assert "zoo.cfg:" in log, log
    unreadable = tmp_path / "dir.pem"
    unreadable.mkdir()
    log = _failed_start(tls_cfg(certs, **{"ssl.trustStore.location": str(unreadable)}))
    assert "zookeeper.ssl.trustStore.location" in log and str(unreadable) in log, log
    nocert = tmp_path / "keyonly.pem"
    nocert.write_text(open(certs.key("server")).read())
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": str(nocert)}))
    assert "does not contain any certificates" in log and str(nocert) in log, log
    mismatch = tmp_path / "mismatch.pem"
    mismatch.write_text(open(certs.key("client1")).read() + open(certs.crt("server")).read())
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": str(mismatch)}))
    assert "does not match the certificate" in log, log
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": certs.server_enc}))
    assert "encrypted" in log, log
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": certs.server_enc,
                                          "ssl.keyStore.password": "wrong"}))
    assert "wrong password" in log, log
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": certs.path("server.crt"),
                                          "ssl.keyStore.type": "PEM"}))
    assert "did not find a private key" in log, log
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": certs.path("x.jks")}))
    assert "Java-only" in log and "keytool -importkeystore" in log, log
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": certs.path("x.crt")}))
    assert "Unable to auto-detect store file type" in log and "zoo.cfg:" in log, log
    log = _failed_start(tls_cfg(certs, **{"ssl.keyStore.location": None}))
    assert "zookeeper.ssl.keyStore.location is not set" in log, log


def test_pbes2_encrypted_key_and_password_file(certs, zk_server_factory, tmp_path):
    """OpenSSL's default key encryption (PBES2), which Apache 3.8 on Java 17 cannot read, and
    keyStore.passwordPath; zkserver only."""
    _zkserver_only()
    require_kazoo()
    pw = tmp_path / "pw"
    pw.write_text(tlscerts.KEY_PASSWORD + "\n")
    srv = zk_server_factory(cfg=tls_cfg(certs, **{"ssl.keyStore.location": certs.server_enc2,
                                                  "ssl.keyStore.passwordPath": str(pw)}))
    c = kazoo(srv, certs, "client1")
    try:
        assert c.exists("/zookeeper")
    finally:
        c.stop()
        c.close()


def test_tls_only_server(certs, zk_server_factory):
    """No clientPort at all, only secureClientPort (Apache allows it): 4lw over TLS works."""
    cfg = tls_cfg(certs, clientPort=None, clientPortAddress=None)
    for impl in ("apache", impl_name()):
        s = Server(impl, cfg=cfg, name="tlsonly-" + impl)
        s.cfg["secureClientPort"] = cfg["secureClientPort"] = str(free_port())
        with open(s.cfg_path, "w") as f:
            for k, v in s.cfg.items():
                f.write("%s=%s\n" % (k, v))
        s.start(wait=False)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    out = tlsutil.tls_four_letter(secure_port(s), context(certs), "srvr")
                    if "Mode: standalone" in out:
                        break
                except OSError:
                    pass
                assert time.time() < deadline, s.log_tail()
                time.sleep(0.2)
        finally:
            s.cleanup()


def test_changed_certificate_files_are_reloaded(certs, zk_server_factory, tmp_path):
    """client.certReload (Apache 3.9's key): a new key store and trust store on disk are used
    for new connections without a restart; a broken file keeps the old ones."""
    _zkserver_only()
    ks = tmp_path / "server.pem"
    ts = tmp_path / "ca.pem"
    ks.write_text(open(certs.server).read())
    ts.write_text(open(certs.ca).read())
    srv = zk_server_factory(cfg=tls_cfg(certs, **{
        "ssl.keyStore.location": str(ks),
        "ssl.trustStore.location": str(ts),
        "client.certReload": "true",
    }))
    port = secure_port(srv)

    def server_subject(ca):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(ca)
        ctx.load_cert_chain(certs.crt("client1"), certs.key("client1"))
        s = tls_connect(port, ctx)
        cert = s.getpeercert()
        s.close()
        return dict(x[0] for x in cert["subject"])["commonName"]

    assert server_subject(certs.ca) == "server"
    ks.write_text("garbage")
    time.sleep(2.5)
    assert server_subject(certs.ca) == "server"
    assert "keeping the previous ones" in srv.log_tail(200)
    ks.write_text(open(certs.server2).read())
    # Clients of CA 1 must still be trusted: the trust store holds both CAs now.
    ts.write_text(open(certs.ca).read() + open(certs.ca2).read())
    deadline = time.time() + 10
    while True:
        try:
            if server_subject(certs.ca2) == "server two":
                break
        except ssl.SSLError:
            pass
        assert time.time() < deadline, srv.log_tail()
        time.sleep(0.2)
