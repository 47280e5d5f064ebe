"""Shared fixtures: start a ZooKeeper-compatible server (zkserver or Apache ZooKeeper) on a free
port with a temporary dataDir, wait until `srvr` answers, and kill it at teardown.

    ZK_IMPL=zkserver (default)  binary from $ZKSERVER_BIN, else <repo>/target/release/zkserver,
                                else <repo>/target/debug/zkserver
    ZK_IMPL=apache              java QuorumPeerMain from the Debian `zookeeper` package

Server output goes to <tmp>/server.log and is attached to the report of a failing test.
Outside tools (java, zkCli.sh, kazoo): missing ⇒ FAIL when CI=true, else a loud skip.

`ensemble_factory` starts ensembles (N voters + M observers on 127.0.0.1, one Server per
member) of the same implementation; the Rust twin is tests/common/ensemble.rs.
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


_next_low_port = [20000 + (os.getpid() % 1000) * 12 + 6]


def free_low_port():
    """A free port below Linux's ephemeral range (32768+): an ensemble member binds it only
    after its siblings' configs name it, and an outgoing connection of any process could
    take an ephemeral one meanwhile."""
    while True:
        p = _next_low_port[0]
        _next_low_port[0] = p + 1 if p < 32700 else 20000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
            return p


class Server:
    """One running server process."""

    def __init__(self, impl, cfg=None, jvm_flags=(), env=None, tick_time=2000, name="zk",
                 port=None, myid=None, tmp=None):
        self.impl = impl
        self.name = name
        self.host = "127.0.0.1"
        self.port = port or free_port()
        # Another port in cfg (secureClientPort, ...) may have been picked just before.
        while port is None and str(self.port) in {str(v) for v in (cfg or {}).values()}:
            self.port = free_port()
        self.tmp = tmp or tempfile.mkdtemp(prefix="zk-%s-%s-" % (impl, name))
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        if myid is not None:
            with open(os.path.join(self.data_dir, "myid"), "w") as f:
                f.write("%d\n" % myid)
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
        env.setdefault("NO_COLOR", "1")
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

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

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

    def send_signal(self, sig):
        """Send a signal without waiting (SIGSTOP/SIGCONT)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            if sig != signal.SIGCONT:
                try:
                    os.killpg(self.proc.pid, signal.SIGCONT)  # a stopped member must see it
                except ProcessLookupError:
                    pass
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


class Ensemble:
    """N voters + M observers on 127.0.0.1, each member a Server with its own zoo.cfg, dataDir
    (holding myid) and log; member ids 1..N are voters, N+1..N+M observers. tickTime 300 ms,
    initLimit 10, syncLimit 5, maxSessionTimeout 30 s by default."""

    def __init__(self, impl, voters=3, observers=0, cfg=None, jvm_flags=(), tick_time=300):
        total = voters + observers
        # One implementation for all, or a list naming each member's (a mixed ensemble).
        impls = list(impl) if isinstance(impl, (list, tuple)) else [impl] * total
        assert len(impls) == total, impls
        self.impl = impl if isinstance(impl, str) else "mixed"
        self.tmp = tempfile.mkdtemp(prefix="zk-ensemble-%s-" % self.impl)
        ports = {i: (free_low_port(), free_low_port(), free_low_port()) for i in range(1, total + 1)}
        servers = {}
        for i, (_, quorum, election) in ports.items():
            suffix = ":observer" if i > voters else ""
            servers["server.%d" % i] = "127.0.0.1:%d:%d%s" % (quorum, election, suffix)
        self.members = []
        for i, (client, _, _) in ports.items():
            member_cfg = {"initLimit": "10", "syncLimit": "5", "maxSessionTimeout": "30000"}
            if i > voters:
                member_cfg["peerType"] = "observer"
            member_cfg.update(cfg or {})
            member_cfg.update(servers)
            m = Server(impls[i - 1], cfg=member_cfg, jvm_flags=jvm_flags, tick_time=tick_time,
                       name="m%d" % i, port=client, myid=i,
                       tmp=os.path.join(self.tmp, "m%d" % i))
            m.myid = i
            m.observer = i > voters
            self.members.append(m)

    @property
    def hosts(self):
        return ",".join(m.hosts for m in self.members)

    def member(self, myid):
        return self.members[myid - 1]

    def start(self, timeout=START_TIMEOUT):
        for m in self.members:
            m.start(wait=False)
        self.wait_ready(timeout)
        return self

    @staticmethod
    def mode(m):
        """leader/follower/observer while `m` serves, else None."""
        if not m.running():
            return None
        try:
            out = m.four("srvr")
        except OSError:
            return None
        for line in out.splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):].strip()
        return None

    def modes(self):
        return {m.myid: self.mode(m) for m in self.members if m.running()}

    def leader(self):
        leaders = [m for m in self.members if self.mode(m) == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def followers(self):
        return [m for m in self.members if self.mode(m) == "follower"]

    def observers(self):
        return [m for m in self.members if self.mode(m) == "observer"]

    def wait_ready(self, timeout=START_TIMEOUT):
        """Every running member serves and exactly one leads."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None and m in _LIVE:
                    raise RuntimeError("member %d exited with %s:\n%s" %
                                       (m.myid, m.proc.returncode, m.log_tail()))
            modes = self.modes()
            if modes and all(modes.values()) and list(modes.values()).count("leader") == 1:
                return self.leader()
            time.sleep(0.05)
        raise RuntimeError("ensemble not ready after %ss: %r" % (timeout, self.modes()))

    def kill(self, m, sig=signal.SIGKILL):
        m.kill(sig)

    def restart(self, m):
        m.kill(signal.SIGTERM)
        m.start(wait=False)

    def wipe(self, m):
        """Everything in a stopped member's dataDir except myid."""
        assert not m.running()
        for name in os.listdir(m.data_dir):
            if name == "myid":
                continue
            p = os.path.join(m.data_dir, name)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)

    def cleanup(self):
        for m in self.members:
            m.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def ensemble_factory():
    """start(voters=3, observers=0, cfg={...}, jvm_flags=[...], tick_time=300, impl=None)
    -> a started Ensemble (all members serving, one leader) of ZK_IMPL; killed at teardown."""
    started = []

    def start(voters=3, observers=0, cfg=None, jvm_flags=(), tick_time=300, impl=None):
        e = Ensemble(impl or impl_name(), voters=voters, observers=observers, cfg=cfg,
                     jvm_flags=jvm_flags, tick_time=tick_time)
        started.append(e)
        return e.start()

    yield start
    for e in started:
        e.cleanup()


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
        """`srv`: a Server, an Ensemble, or a hosts string."""
        kw.setdefault("timeout", 10.0)
        hosts = srv if isinstance(srv, str) else srv.hosts
        c = KazooClient(hosts=hosts, **kw)
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
