"""Helpers for the TLS suites: zoo.cfg lines for a secure port, TLS sockets, kazoo with
`use_ssl`, and Apache's Java client (zkCli.sh with the Netty socket) over TLS."""

import os
import re
import shutil
import socket
import ssl
import struct
import subprocess

from conftest import NETTY_EXTRA, ZKCLI, free_port, require

NETTY_FACTORY = "org.apache.zookeeper.server.NettyServerCnxnFactory"


def tls_cfg(certs, **extra):
    """zoo.cfg lines for a secure client port with the test CA (keys as in Apache's docs)."""
    cfg = {
        "secureClientPort": str(free_port()),
        "serverCnxnFactory": NETTY_FACTORY,
        "ssl.keyStore.location": certs.server,
        "ssl.trustStore.location": certs.ca,
    }
    cfg.update(extra)
    return cfg


def secure_port(srv):
    return int(srv.cfg["secureClientPort"])


def context(certs, client="client1", ca=True, **kw):
    """A client SSLContext presenting `client`'s certificate (None: no certificate)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if ca:
        ctx.load_verify_locations(certs.ca)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(certs.crt(client), certs.key(client))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def tls_connect(port, ctx, timeout=10):
    """Connects and completes the handshake; raises ssl.SSLError on a refusal."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    return s


def connect_request():
    """A new-session ConnectRequest frame (protocol 0, timeout 10 s, 16 zero password bytes)."""
    body = struct.pack(">iqiqi", 0, 0, 10000, 0, 16) + b"\0" * 16 + b"\0"
    return struct.pack(">i", len(body)) + body


def read_all(s, limit=1 << 16):
    out = b""
    try:
        while len(out) < limit:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
        pass
    return out


def tls_session_answer(port, ctx):
    """Handshake, send a ConnectRequest, return the raw answer (b"" if refused/closed)."""
    s = tls_connect(port, ctx)
    try:
        s.sendall(connect_request())
        s.settimeout(5)
        return read_all(s, 64)
    finally:
        s.close()


def tls_four_letter(port, ctx, cmd):
    s = tls_connect(port, ctx)
    try:
        s.sendall(cmd.encode())
        return read_all(s).decode("utf-8", "replace")
    finally:
        s.close()


def handshake_error(port, ctx):
    """The ssl error reason a refused handshake ends with (None if it was accepted)."""
    try:
        s = tls_connect(port, ctx)
    except ssl.SSLError as e:
        return e.reason or str(e)
    except (ConnectionResetError, BrokenPipeError) as e:
        return type(e).__name__
    try:
        # TLS 1.3 reports a refused client certificate only on the first read.
        s.sendall(connect_request())
        s.settimeout(5)
        s.recv(64)
        return None
    except ssl.SSLError as e:
        return e.reason or str(e)
    except (ConnectionResetError, BrokenPipeError) as e:
        return type(e).__name__
    finally:
        s.close()


def kazoo(srv, certs, client="client1", port=None, **kw):
    from kazoo.client import KazooClient
    kw.setdefault("timeout", 15.0)
    c = KazooClient(hosts="127.0.0.1:%d" % (port or secure_port(srv)), use_ssl=True,
                    ca=certs.ca, certfile=certs.crt(client), keyfile=certs.key(client),
                    verify_certs=True, **kw)
    c.start(timeout=20)
    return c


def java_cli(port, certs, script, client="client1", timeout=120):
    """zkCli.sh (Java client 3.8, ClientCnxnSocketNetty) over TLS with PEM stores. Debian's
    zkEnv.sh fixes CLASSPATH, so the two Netty jars its manifest lacks come in through a later
    -cp in CLIENT_JVMFLAGS. Returns (stdout, stderr, exit code)."""
    require(os.path.exists(ZKCLI), ZKCLI + " (apt-get install zookeeper)")
    require(shutil.which("java") is not None, "java (apt-get install default-jre-headless)")
    cp = ":".join(["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar"] + NETTY_EXTRA)
    flags = [
        "-cp", cp,
        "-Dzookeeper.client.secure=true",
        "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
        "-Dzookeeper.ssl.keyStore.location=" + getattr(certs, client),
        "-Dzookeeper.ssl.trustStore.location=" + certs.ca,
    ]
    env = dict(os.environ, CLIENT_JVMFLAGS=" ".join(flags),
               JVMFLAGS="-Xmx128m -XX:TieredStopAtLevel=1")
    p = subprocess.run([ZKCLI, "-waitforconnection", "-server", "127.0.0.1:%d" % port],
                       input=script, capture_output=True, text=True, timeout=timeout, env=env)
    return p.stdout, p.stderr, p.returncode


def whoami_lines(stdout):
    """The `scheme: id` lines zkCli's whoami prints after "Auth scheme: User"."""
    lines = stdout.splitlines()
    try:
        start = lines.index("Auth scheme: User") + 1
    except ValueError:
        return None
    out = []
    for line in lines[start:]:
        m = re.fullmatch(r"(ip|x509|super|digest|sasl): (.*)", line.rstrip())
        if not m:
            break
        out.append(line.rstrip())
    return out
