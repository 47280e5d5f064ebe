"""SASL DIGEST-MD5 with the JAAS files Apache accepts, side by side with a real Apache
ZooKeeper 3.8: kazoo (`sasl_options`, pure-sasl) and zkCli.sh (a JAAS `Client` section) log in
as `sasl:bob`, `sasl` ACLs protect nodes, a wrong password is refused as Apache refuses it,
`zookeeper.sessionRequireClientSASLAuth` closes unauthenticated sessions with
SESSIONCLOSEDREQUIRESASLAUTH, and a missing JAAS file stops startup naming key and path.
"""

import os
import re

import pytest

import zkraw
from conftest import require, require_kazoo
from test_zkcli import run_cli

SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
SERVER_JAAS = """\
// users the server authenticates
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bobsecret";
};
"""
CLIENT_JAAS = """\
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="bob"
       password="%s";
};
"""
SASL = 102
GET_DATA = 4


def jaas(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def start(factory, tmp_path, impl, extra_flags=(), cfg=None):
    flags = ["-Djava.security.auth.login.config=" + jaas(tmp_path, "server.jaas", SERVER_JAAS)]
    flags += list(extra_flags)
    c = {"authProvider.1": SASL_PROVIDER}
    c.update(cfg or {})
    return factory(impl=impl, name=impl, cfg=c, jvm_flags=flags)


def kazoo_sasl(srv, password, **kw):
    from kazoo.client import KazooClient
    opts = {"mechanism": "DIGEST-MD5", "username": "bob", "password": password}
    zk = KazooClient(hosts=srv.hosts, sasl_options=opts, timeout=10.0, **kw)
    return zk


def kazoo_story(srv):
    """What a kazoo SASL user sees: returns comparable facts."""
    from kazoo.exceptions import AuthFailedError, NoAuthError
    from kazoo.client import KazooClient
    from kazoo.security import make_acl
    facts = []
    zk = kazoo_sasl(srv, "bobsecret")
    zk.start(timeout=15)
    try:
        zk.create("/s", b"secret", acl=[make_acl("sasl", "bob", all=True)])
        facts.append(("acl", [(a.id.scheme, a.id.id, a.perms) for a in zk.get_acls("/s")[0]]))
        facts.append(("get", zk.get("/s")[0]))
        # `auth` expands to the session's sasl id.
        zk.create("/s2", b"", acl=[make_acl("auth", "", all=True)])
        facts.append(("auth-acl", [(a.id.scheme, a.id.id) for a in zk.get_acls("/s2")[0]]))
    finally:
        zk.stop()
        zk.close()
    anon = KazooClient(hosts=srv.hosts, timeout=10.0)
    anon.start(timeout=15)
    try:
        try:
            anon.get("/s")
            facts.append(("anon", "read"))
        except NoAuthError:
            facts.append(("anon", "NoAuth"))
    finally:
        anon.stop()
        anon.close()
    bad = kazoo_sasl(srv, "wrong", connection_retry={"max_tries": 0})
    try:
        bad.start(timeout=10)
        # kazoo logs "AUTH_FAILED closing" and start() returns; requests then fail.
        try:
            bad.get("/s")
            facts.append(("wrong", "read"))
        except Exception as e:
            facts.append(("wrong", type(e).__name__))
    except AuthFailedError:
        facts.append(("wrong", "AuthFailedError"))
    except Exception as e:  # a timeout or another error is a difference
        facts.append(("wrong", type(e).__name__))
    finally:
        try:
            bad.stop()
            bad.close()
        except Exception:
            pass
    return facts


def test_kazoo_sasl_matches_apache(zk_server_factory, tmp_path):
    require_kazoo()
    try:
        import puresasl  # noqa: F401
    except ImportError:
        require(False, "python module pure-sasl (pip install pure-sasl)")
    got = {impl: kazoo_story(start(zk_server_factory, tmp_path, impl))
           for impl in ("apache", "zkserver")}
    assert got["zkserver"] == got["apache"]
    assert ("acl", [("sasl", "bob", 31)]) in got["zkserver"], got
    assert ("anon", "NoAuth") in got["zkserver"]
    assert ("wrong", "AuthFailedError") in got["zkserver"], got


CLI_SCRIPT = """\
whoami
create /cli x
setAcl /cli sasl:bob:cdrwa
getAcl /cli
get /cli
quit
"""


def zkcli_sasl(srv, tmp_path, password):
    client = jaas(tmp_path, "client-%s.jaas" % password, CLIENT_JAAS % password)
    old = os.environ.get("CLIENT_JVMFLAGS")
    # zkCli.sh passes CLIENT_JVMFLAGS to java (run_cli sets JVMFLAGS itself).
    os.environ["CLIENT_JVMFLAGS"] = "-Djava.security.auth.login.config=" + client
    try:
        return run_cli(srv, CLI_SCRIPT if password == "bobsecret" else "ls /\nquit\n", timeout=60)
    finally:
        if old is None:
            del os.environ["CLIENT_JVMFLAGS"]
        else:
            os.environ["CLIENT_JVMFLAGS"] = old


def cli_facts(p):
    keep = ("Auth scheme", "sasl:", "ip:", "'sasl", ": cdrwa", "Insufficient permission", "x")
    states = ("state:AuthFailed", "state:SaslAuthenticated")
    lines = [l.strip() for l in p.stdout.splitlines()]
    return [l for l in lines if l.startswith(keep) or any(s in l for s in states)]


def test_zkcli_sasl_matches_apache(zk_server_factory, tmp_path):
    got = {}
    for impl in ("apache", "zkserver"):
        srv = start(zk_server_factory, tmp_path, impl)
        ok = zkcli_sasl(srv, tmp_path, "bobsecret")
        bad = zkcli_sasl(srv, tmp_path, "wrong")
        # A refused login: AUTHFAILED, then the server closes the connection. Whether zkCli
        # reports AuthFailed or only the disconnect races with the close, on Apache too, so
        # only the outcome is compared: no login, and the request fails.
        refused = ("SaslAuthenticated" not in bad.stdout and
                   re.search(r"KeeperErrorCode = (AuthFailed|ConnectionLoss) for /", bad.stderr)
                   is not None)
        got[impl] = (cli_facts(ok), refused)
    assert got["zkserver"] == got["apache"], got
    ok, refused = got["zkserver"]
    assert "sasl: bob" in ok and "'sasl,'bob" in ok, ok
    assert any("SaslAuthenticated" in l for l in ok), ok
    assert refused


def raw_unauthenticated(srv):
    """A client without SASL sends getData: (err, closed afterwards)."""
    c = zkraw.RawClient(srv.host, srv.port)
    c.send(GET_DATA, zkraw.string("/") + zkraw.boolean(False))
    rep = c.read_reply()
    return rep.err, rep.zxid, zkraw.is_closed(c.sock)


def challenge_shape(token):
    """A DIGEST-MD5 challenge with the nonce's value replaced by its length."""
    parts = []
    for kv in token.decode().split(","):
        k, _, v = kv.partition("=")
        parts.append("%s=%s" % (k, len(v) if k == "nonce" else v))
    return ",".join(parts)


def raw_bad_tokens(srv):
    """Malformed SASL: a garbage response after the challenge, then a non-empty first token."""
    out = []
    for tokens in ([b"", b"\x00\xff=,,\"\\"], [b"garbage-first"]):
        c = zkraw.RawClient(srv.host, srv.port)
        errs = []
        for t in tokens:
            c.send(SASL, zkraw.buf(t))
            rep = c.read_reply()
            if rep.err:
                # The error and the body after it (Apache: a null token, 4 bytes of -1).
                errs.append((rep.err, rep.body.data))
            else:
                errs.append(challenge_shape(rep.body.buffer()))
        out.append((errs, zkraw.is_closed(c.sock)))
    return out


def test_required_sasl_and_bad_tokens_match_apache(zk_server_factory, tmp_path):
    got = {}
    for impl in ("apache", "zkserver"):
        srv = start(zk_server_factory, tmp_path, impl,
                    extra_flags=["-Dzookeeper.sessionRequireClientSASLAuth=true"])
        got[impl] = (raw_unauthenticated(srv), raw_bad_tokens(srv))
        assert srv.proc.poll() is None, "server died"
        assert "Mode:" in srv.four("srvr")
    assert got["zkserver"] == got["apache"], got
    (err, zxid, closed), _ = got["zkserver"]
    assert (err, zxid, closed) == (-124, 0, True)


def test_wrong_password_without_requirement_is_authfailed(zk_server_factory, tmp_path):
    got = {}
    for impl in ("apache", "zkserver"):
        srv = start(zk_server_factory, tmp_path, impl)
        got[impl] = raw_bad_tokens(srv)
    assert got["zkserver"] == got["apache"], got
    challenge = 'realm="zk-sasl-md5",nonce=42,charset=utf-8,algorithm=md5-sess'
    assert got["zkserver"][0] == ([challenge, (-115, b"\xff\xff\xff\xff")], True), got


@pytest.mark.parametrize("how", ["missing", "unreadable", "no-section", "syntax"])
def test_unusable_jaas_file_stops_startup(tmp_path, how):
    from conftest import Server
    path = str(tmp_path / "server.jaas")
    flags = ["-Djava.security.auth.login.config=" + path]
    if how == "unreadable":
        os.mkdir(path)  # root reads any file; a directory cannot be read as one
    elif how == "no-section":
        # Only a section named explicitly must exist (see the test below).
        open(path, "w").write(CLIENT_JAAS % "x")
        flags.append("-Dzookeeper.sasl.serverconfig=Server")
    elif how == "syntax":
        open(path, "w").write("Server {\n  Mod required user_a=\"x\"\n}\n")
    srv = Server("zkserver", jvm_flags=flags)
    try:
        with pytest.raises(RuntimeError) as e:
            srv.start()
        msg = str(e.value)
        assert "java.security.auth.login.config" in msg and path in msg, msg
        assert srv.proc.returncode not in (0, None)
    finally:
        srv.cleanup()


@pytest.mark.parametrize("impl", ["apache", "zkserver"])
def test_jaas_file_without_a_server_section_serves_without_client_sasl(zk_server_factory, tmp_path, impl):
    """The usual quorum SASL file (QuorumServer/QuorumLearner only): Apache 3.8 starts and
    serves plain clients, so zkserver must too."""
    require_kazoo()
    from kazoo.client import KazooClient
    path = jaas(tmp_path, "quorum.jaas", CLIENT_JAAS.replace("Client", "QuorumLearner") % "x")
    srv = zk_server_factory(impl=impl, name=impl, jvm_flags=["-Djava.security.auth.login.config=" + path])
    zk = KazooClient(hosts=srv.hosts, timeout=10.0)
    zk.start(timeout=15)
    try:
        zk.create("/plain", b"ok")
        assert zk.get("/plain")[0] == b"ok"
    finally:
        zk.stop()
        zk.close()
