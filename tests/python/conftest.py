"""Shared fixtures: start a ZooKeeper-compatible server (zkserver or Apache ZooKeeper) on a free
port with a temporary dataDir, wait until `srvr` answers, and kill it at teardown.

    ZK_IMPL=zkserver (default)  binary from $ZKSERVER_BIN, else <repo>/target/release/zkserver,
                                else <repo>/target/debug/zkserver
    ZK_IMPL=apache              java QuorumPeerMain from the Debian `zookeeper` package

Server output goes to <tmp>/server.log and is attached to the report of a failing test.
Outside tools (java, zkCli.sh, kazoo): missing ⇒ FAIL when CI=true, else a loud skip.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkraw  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APACHE_JAR = "/usr/share/java/zookeeper.jar"
APACHE_CP = ["/etc/zookeeper/conf", APACHE_JAR]
if os.path.exists("/usr/share/java/slf4j-simple.jar"):  # else Apache logs nothing at all
    APACHE_CP.append("/usr/share/java/slf4j-simple.jar")
# Jetty (the AdminServer) needs the servlet API, which zookeeper.jar's manifest omits; Debian's
# libservlet-api-java comes with the zookeeper package (through libjetty9-java).
if os.path.exists("/usr/share/java/servlet-api.jar"):
    APACHE_CP.append("/usr/share/java/servlet-api.jar")
# Debian's zookeeper.jar manifest omits two Netty jars that the Netty (TLS) connection code
# needs (io.netty.resolver / io.netty.handler.codec); add them where present.
NETTY_EXTRA = [p for p in ("/usr/share/java/netty-resolver.jar", "/usr/share/java/netty-codec.jar")
               if os.path.exists(p)]
APACHE_CP += NETTY_EXTRA
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
START_TIMEOUT = float(os.environ.get("ZK_START_TIMEOUT", "60"))

_LIVE = []  # servers currently running, for failure reports


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


def require(ok, what):
    """Missing outside tool: fail under CI=true, skip loudly otherwise."""
    if ok:
        return
    msg = "required tool missing: %s" % what
    if in_ci():
        pytest.fail(msg + " (CI=true, so this is a failure)")
    print("\nSKIPPING: " + msg, file=sys.stderr)
    pytest.skip(msg, allow_module_level=True)


def require_kazoo():
    try:
        import kazoo  # noqa: F401
    except ImportError:
        require(False, "python module kazoo (pip install kazoo)")


def impl_name():
    return os.environ.get("ZK_IMPL", "zkserver")


def zkserver_bin():
    env = os.environ.get("ZKSERVER_BIN")
    if env:
        return env
    for flavour in ("release", "debug"):
        p = os.path.join(REPO, "target", flavour, "zkserver")
        if os.path.exists(p):
            return p
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running server process."""

    def __init__(self, impl, cfg=None, jvm_flags=(), env=None, tick_time=2000, name="zk"):
        self.impl = impl
        self.name = name
        self.host = "127.0.0.1"
        self.port = free_port()
        # Another port in cfg (secureClientPort, ...) may have been picked just before.
        while str(self.port) in {str(v) for v in (cfg or {}).values()}:
            self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="zk-%s-%s-" % (impl, name))
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.cfg_path = os.path.join(self.tmp, "zoo.cfg")
        self.log_path = os.path.join(self.tmp, "server.log")
        lines = {
            "tickTime": str(tick_time),
            "dataDir": self.data_dir,
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "admin.enableServer": "false",
            "4lw.commands.whitelist": "*",
        }
        for k, v in (cfg or {}).items():
            if v is None:
                lines.pop(k, None)
            else:
                lines[k] = str(v)
        with open(self.cfg_path, "w") as f:
            for k, v in lines.items():
                f.write("%s=%s\n" % (k, v))
        self.cfg = lines
        self.jvm_flags = list(jvm_flags)
        self.extra_env = dict(env or {})
        self.proc = None

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    def command(self):
        if self.impl == "apache":
            require(shutil.which("java") is not None, "java (apt-get install default-jre-headless)")
            require(os.path.exists(APACHE_JAR), APACHE_JAR + " (apt-get install zookeeper)")
            return (["java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                     "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                     "-cp", ":".join(APACHE_CP)] + self.jvm_flags +
                    ["org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg_path])
        if self.impl == "zkserver":
            b = zkserver_bin()
            if b is None:
                pytest.fail("zkserver binary not found: set ZKSERVER_BIN or run `cargo build --release`")
            return [b, self.cfg_path]
        pytest.fail("unknown ZK_IMPL=%r (zkserver|apache)" % self.impl)

    def start(self, wait=True):
        """Runs the process; with wait=False the caller waits (ensemble members start together)."""
        env = dict(os.environ)
        env.update(self.extra_env)
        if self.impl == "zkserver" and self.jvm_flags:
            env["SERVER_JVMFLAGS"] = " ".join(self.jvm_flags)
        cmd = self.command()
        self.log = open(self.log_path, "ab")
        self.log.write(("$ %s\n" % " ".join(cmd)).encode())
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.tmp, start_new_session=True)
        _LIVE.append(self)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s server exited with %s before serving:\n%s" %
                                   (self.impl, self.proc.returncode, self.log_tail()))
            try:
                out = zkraw.four_letter(self.host, self.port, "srvr", timeout=2)
                if "Mode:" in out:
                    return
                last = out
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError("%s server not ready after %ss (last: %r)\n%s" %
                           (self.impl, timeout, last, self.log_tail()))

    def four(self, cmd):
        return zkraw.four_letter(self.host, self.port, cmd)

    def admin_url(self, path=""):
        """http://host:admin.serverPort<admin.commandURL><path> (needs admin.enableServer=true)."""
        return "http://%s:%s%s%s" % (self.host, self.cfg["admin.serverPort"],
                                     self.cfg.get("admin.commandURL", "/commands"), path)

    def raw(self, **kw):
        return zkraw.RawClient(self.host, self.port, **kw)

    def kill(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self in _LIVE:
            _LIVE.remove(self)

    def log_tail(self, n=80):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def cleanup(self):
        self.kill(signal.SIGKILL)
        try:
            self.log.close()
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def _make_factory():
    started = []

    def start(cfg=None, jvm_flags=(), env=None, tick_time=2000, impl=None, name="zk"):
        s = Server(impl or impl_name(), cfg=cfg, jvm_flags=jvm_flags, env=env,
                   tick_time=tick_time, name=name)
        started.append(s)
        return s.start()

    return start, started


@pytest.fixture
def zk_server_factory():
    """start(cfg={key: value}, jvm_flags=[...], env={...}, tick_time=2000, impl=None) -> Server.
    A value of None removes a default zoo.cfg line. Servers are SIGKILLed at teardown."""
    start, started = _make_factory()
    yield start
    for s in started:
        s.cleanup()


@pytest.fixture(scope="module")
def zk_server_module():
    """Module-scoped factory, for suites that share one server."""
    start, started = _make_factory()
    yield start
    for s in started:
        s.cleanup()


@pytest.fixture(scope="module")
def server(zk_server_module):
    """One plain server shared by a test module."""
    return zk_server_module()


@pytest.fixture
def kazoo_factory():
    """make(server, **KazooClient kwargs) -> started KazooClient; stopped+closed at teardown."""
    require_kazoo()
    from kazoo.client import KazooClient
    clients = []

    def make(srv, **kw):
        kw.setdefault("timeout", 10.0)
        c = KazooClient(hosts=srv.hosts, **kw)
        c.start(timeout=15)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


@pytest.fixture
def differential_servers(zk_server_factory):
    """(reference, candidate): a fresh Apache ZooKeeper and a fresh server of ZK_IMPL
    (Apache vs Apache when ZK_IMPL=apache), both with extendedTypesEnabled, a superDigest for
    super:secret and a 500 ms container/TTL sweep."""
    cfg = {
        "extendedTypesEnabled": "true",
        "DigestAuthenticationProvider.superDigest": "super:" + SUPER_DIGEST,
    }
    flags = ["-Dznode.container.checkIntervalMs=500"]
    ref = zk_server_factory(cfg=cfg, jvm_flags=flags, impl="apache", name="ref")
    cand = zk_server_factory(cfg=cfg, jvm_flags=flags, name="cand")
    return ref, cand


def _digest(user, password):
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha1(("%s:%s" % (user, password)).encode()).digest()).decode()


SUPER_DIGEST = _digest("super", "secret")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _LIVE:
        for s in list(_LIVE):
            rep.sections.append(("%s server log (%s, port %d, %s)" % (s.impl, s.name, s.port, s.log_path),
                                 s.log_tail(60)))
