"""The AdminServer (/commands) and Prometheus /metrics, with curl against the real binary, side
by side with Apache ZooKeeper 3.8 (Debian's package runs Jetty's AdminServer once the servlet
API jar is on its classpath; it has no Prometheus provider jars, so /metrics is checked against
ZooKeeper's names from its sources and the published dashboards' queries instead).

Shapes are compared, not values: field names, JSON types, nesting, HTTP status codes. Known
differences, asserted as such: zkserver has no JVM (environment/system_properties keep only
the keys that apply), serves a subset of Apache's metrics (every served key is Apache's), and
answers 3.9's auth-protected snapshot/restore (Apache 3.8 does not know them).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, impl_name, require, require_kazoo, SUPER_DIGEST

PROMETHEUS = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"


def curl(url, method="GET", headers=(), data=None):
    """(status, content_type, body) from a real curl."""
    require(shutil.which("curl") is not None, "curl (apt-get install curl)")
    with tempfile.NamedTemporaryFile() as hdr:
        cmd = ["curl", "-sS", "-X", method, "-D", hdr.name, "-o", "-", "-w", "\n%{http_code}",
               "--max-time", "10", url]
        if method == "HEAD":
            cmd[2:4] = ["-I"]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            cmd += ["--data-binary", data]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        body, _, status = out.stdout.rpartition("\n")
        with open(hdr.name) as f:
            m = re.search(r"(?im)^content-type:\s*(.+?)\s*$", f.read())
        return int(status), (m.group(1) if m else None), body


def get_json(url, **kw):
    status, ctype, body = curl(url, **kw)
    return status, ctype, json.loads(body)


def shape(v):
    """JSON types, recursively; arrays by their first element; maps keyed by session ids or
    paths by their first value (the keys are data there, not field names)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    if v and all(k.startswith("/") or k.isdigit() for k in v):
        return [shape(x) for x in list(v.values())[:1]]
    return {k: shape(x) for k, x in v.items()}


def admin_cfg(**extra):
    cfg = {"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1",
           "admin.serverPort": str(free_port())}
    cfg.update(extra)
    return cfg


def populate(srv):
    """The same small state on each server: a node, an ephemeral, two data watches."""
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=srv.hosts, timeout=10.0)
    zk.start(timeout=15)
    zk.create("/a", b"x")
    zk.create("/e", b"y", ephemeral=True)
    zk.get("/a", watch=lambda e: None)
    zk.exists("/zz", watch=lambda e: None)
    return zk


@pytest.fixture(scope="module")
def pair(zk_server_module):
    """(apache, candidate) with AdminServers on free ports and the same state, shared by the
    module (tests here read shapes, not values that other tests change)."""
    require_kazoo()
    ref = zk_server_module(cfg=admin_cfg(), impl="apache", name="ref")
    cand = zk_server_module(cfg=admin_cfg(), name="cand")
    clients = [populate(ref), populate(cand)]
    yield ref, cand
    for c in clients:
        c.stop()
        c.close()


def command_names(srv):
    status, _, page = curl(srv.admin_url())
    assert status == 200
    return re.findall(r'<a href="[^"]*/([a-z_]+)">\1</a>', page)


ALIASES = ["conf", "config", "crst", "cons", "env", "envi", "gtmk", "icfg", "isro", "lsnp",
           "lead", "mntr", "orst", "obsr", "srvr", "stmk", "srst", "stat", "sysp", "wchs", "wchc",
           "wchp"]
NOT_COMPARED = {"environment", "env", "envi", "system_properties", "sysp", "monitor", "mntr"}


def test_every_command_answers_with_apaches_fields(pair):
    ref, cand = pair
    names = command_names(ref)
    assert len(names) == 26, names
    compared = 0
    for name in names + ALIASES:
        s_ref, ct_ref, a = get_json(ref.admin_url("/" + name))
        s_cand, ct_cand, b = get_json(cand.admin_url("/" + name))
        assert (s_cand, ct_cand) == (s_ref, ct_ref), name
        assert b["command"] == a["command"], name
        if name in NOT_COMPARED:
            continue
        assert shape(b) == shape(a), "%s\nzkserver %s\napache   %s" % (name, b, a)
        compared += 1
    assert compared >= 40


def test_monitor_and_environment_keys_are_apaches(pair):
    ref, cand = pair
    _, _, a = get_json(ref.admin_url("/monitor"))
    _, _, b = get_json(cand.admin_url("/mntr"))
    extra = sorted(set(b) - set(a))
    assert extra == [], "monitor keys Apache does not have: %s" % extra
    for k in b:
        assert shape(b[k]) == shape(a[k]), k
    assert b["znode_count"] == 7 and b["ephemerals_count"] == 1 and b["watch_count"] == 2
    _, _, env_a = get_json(ref.admin_url("/environment"))
    _, _, env_b = get_json(cand.admin_url("/env"))
    assert set(env_b) - set(env_a) <= {"server.implementation"}
    _, _, sysp = get_json(cand.admin_url("/sysp"))
    assert sysp["zookeeper.admin.serverPort"] == cand.cfg["admin.serverPort"]


def test_mntr_four_letter_word_and_monitor_agree(pair):
    _, cand = pair
    _, _, mon = get_json(cand.admin_url("/monitor"))
    lines = dict(l.split("\t", 1) for l in cand.four("mntr").splitlines())
    assert set(lines) == {"zk_" + k for k in mon if k not in ("command", "error")}
    assert lines["zk_znode_count"] == str(mon["znode_count"])
    assert lines["zk_server_state"] == mon["server_state"] == "standalone"


def test_links_page_and_unknown_commands(pair):
    ref, cand = pair
    extra = set(command_names(cand)) - set(command_names(ref))
    assert extra == ({"snapshot", "restore"} if impl_name() == "zkserver" else set())
    for name in ("nosuch", "MNTR", "ruok/extra", ""):
        a = curl(ref.admin_url("/" + name))
        b = curl(cand.admin_url("/" + name))
        assert b[0] == a[0], name
        if name:
            assert json.loads(b[2]) == json.loads(a[2]), name
    for path in ("/commandsx", "/"):
        host = "http://127.0.0.1:%s" % cand.cfg["admin.serverPort"]
        assert curl(host + path)[0] == 404


def test_auth_protected_commands(zk_server_factory, kazoo_factory):
    """snapshot/restore as Apache 3.9 guards them (Commands.runCommand): 401 without or with
    an unusable Authorization header, 403 when the root ACL does not grant ALL; past the
    check zkserver answers 503 (its snapshots are not in ZooKeeper's format)."""
    if impl_name() != "zkserver":
        pytest.skip("Apache 3.8 has no snapshot/restore commands")
    srv = zk_server_factory(cfg=admin_cfg(**{
        "DigestAuthenticationProvider.superDigest": "super:" + SUPER_DIGEST}))
    url = srv.admin_url("/snapshot")
    s, _, body = get_json(url)
    assert (s, body) == (401, {"command": "snapshot", "error": "Auth info is missing for the command"})
    for bad in ("kerberos x", "digest", "digest a b"):
        s, _, body = get_json(url, headers=["Authorization: " + bad])
        assert (s, body["error"]) == (401, "Not authenticated"), bad
    s, _, body = get_json(url, headers=["Authorization: digest alice:pw"])
    assert s == 503 and "not in ZooKeeper's file format" in body["error"], body
    s, _, _ = get_json(url, headers=["Authorization: ip"])
    assert s == 503
    zk = kazoo_factory(srv)
    from kazoo.security import make_digest_acl
    zk.set_acls("/", [make_digest_acl("bob", "pw", all=True)])
    s, _, body = get_json(url, headers=["Authorization: digest alice:pw"])
    assert (s, body["error"]) == (403, "Not authorized")
    assert get_json(url, headers=["Authorization: ip"])[0] == 403
    assert get_json(url, headers=["Authorization: digest bob:pw"])[0] == 503
    assert get_json(url, headers=["Authorization: digest super:secret"])[0] == 503
    s, _, body = get_json(srv.admin_url("/restore"), method="POST", data="x")
    assert (s, body["command"]) == (401, "restore")
    s, _, _ = get_json(srv.admin_url("/rest"), headers=["Authorization: digest bob:pw"])
    assert s == 405
    assert "AdminServer: snapshot is not supported" in open(srv.log_path).read()


def test_resets_and_methods(pair, kazoo_factory):
    ref, cand = pair
    for srv in (ref, cand):
        kazoo_factory(srv).get("/a")
        _, _, before = get_json(srv.admin_url("/srvr"))
        assert before["server_stats"]["packets_received"] >= 2
        assert get_json(srv.admin_url("/stat_reset"))[0] == 200
        _, _, after = get_json(srv.admin_url("/srvr"))
        assert after["server_stats"]["packets_received"] <= 1, srv.impl
        assert get_json(srv.admin_url("/crst"))[0] == 200
        _, _, cons = get_json(srv.admin_url("/cons"))
        # A ping may land between the reset and the look.
        assert [c["packets_received"] <= 1 for c in cons["connections"]] == [True, True], srv.impl
        assert curl(srv.admin_url("/ruok"), method="HEAD")[0] == 200
        assert curl(srv.admin_url("/ruok"), method="PUT")[0] == 405
        assert curl(srv.admin_url("/ruok"), method="POST", data="")[0] == 405


def raw_http(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except OSError:
            pass
    return out


BAD_REQUESTS = [
    b"GARBAGE\r\n\r\n",
    b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET /commands/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /commands/" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nX-A: " + b"b" * 70000 + b"\r\n\r\n",
    bytes(range(256)) * 10,
]


def test_malformed_http_gets_a_4xx_and_the_server_lives(pair):
    for srv in pair:
        port = int(srv.cfg["admin.serverPort"])
        for req in BAD_REQUESTS:
            out = raw_http(port, req)
            m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
            assert m and 400 <= int(m.group(1)) < 500, (srv.impl, req[:40], out[:120])
        assert get_json(srv.admin_url("/ruok"))[0] == 200
        assert srv.four("ruok") == "imok"


def test_busy_ports_are_logged_and_clients_still_served(zk_server_factory, kazoo_factory):
    if impl_name() != "zkserver":
        pytest.skip("Apache's standalone server exits when its AdminServer cannot start")
    with socket.socket() as a, socket.socket() as m:
        a.bind(("127.0.0.1", 0))
        a.listen()
        m.bind(("127.0.0.1", 0))
        m.listen()
        srv = zk_server_factory(cfg=admin_cfg(**{
            "admin.serverPort": str(a.getsockname()[1]),
            "metricsProvider.className": PROMETHEUS,
            "metricsProvider.httpHost": "127.0.0.1",
            "metricsProvider.httpPort": str(m.getsockname()[1])}))
        zk = kazoo_factory(srv)
        zk.create("/still-serving")
        log = open(srv.log_path).read()
        assert "Problem starting AdminServer on address 127.0.0.1, port %d" % a.getsockname()[1] in log
        assert "Cannot start /metrics server" in log


def test_disabled_and_custom_command_url(zk_server_factory):
    off = zk_server_factory()  # conftest writes admin.enableServer=false
    port = free_port()
    off_cfg = dict(off.cfg, **{"admin.serverPort": str(port)})
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert off_cfg["admin.enableServer"] == "false"
    srv = zk_server_factory(cfg=admin_cfg(**{"admin.commandURL": "/admin"}))
    s, _, body = get_json(srv.admin_url("/ruok"))
    assert (s, body) == (200, {"command": "ruok", "error": None})
    host = "http://127.0.0.1:%s" % srv.cfg["admin.serverPort"]
    assert curl(host + "/commands/ruok")[0] == 404


# --- Prometheus ------------------------------------------------------------------------------

# Queried by ZooKeeper's published Grafana dashboard (grafana.com 10465), its alert examples
# (zookeeperMonitor.md) and Grafana's zookeeper-observ-lib; jvm_* need a JVM and the quorum
# ones (quorum_size, leader_uptime, learners, synced_observers, election_time) an ensemble.
DASHBOARD = ["num_alive_connections", "open_file_descriptor_count", "outstanding_requests",
             "max_latency", "avg_latency", "min_latency", "global_sessions", "local_sessions",
             "znode_count", "ephemerals_count", "approximate_data_size", "watch_count",
             "packets_received", "packets_sent", "connection_rejected", "commit_count",
             "snap_count", "proposal_count", "fsynctime_sum", "snapshottime_sum",
             "election_time_sum"]


def scrape(port):
    from prometheus_client.parser import text_string_to_metric_families
    status, ctype, body = curl("http://127.0.0.1:%d/metrics" % port)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    samples = {s.name + json.dumps(s.labels, sort_keys=True): s.value
               for f in fams.values() for s in f.samples}
    # The parser renames counter samples to <name>_total (client convention); Prometheus
    # itself stores text-format samples under the names on the wire, which are these.
    wire = {line.split(" ")[0].split("{")[0] for line in body.splitlines()
            if line and not line.startswith("#")}
    return fams, samples, wire


@pytest.fixture
def metrics_server(zk_server_factory):
    if impl_name() != "zkserver":
        pytest.skip("Debian's ZooKeeper has no Prometheus provider jars")
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        require(False, "python module prometheus_client (pip install prometheus-client)")
    port = free_port()
    srv = zk_server_factory(cfg={"metricsProvider.className": PROMETHEUS,
                                 "metricsProvider.httpHost": "127.0.0.1",
                                 "metricsProvider.httpPort": str(port)})
    srv.metrics_port = port
    return srv


def test_metrics_names_types_and_values(metrics_server, kazoo_factory):
    srv = metrics_server
    zk = kazoo_factory(srv)
    for i in range(20):
        zk.create("/m%d" % i, b"v")
        zk.get("/m%d" % i)
    fams, samples, wire = scrape(srv.metrics_port)
    for name in DASHBOARD:
        assert name in wire, name
    kinds = {"znode_count": "gauge", "avg_latency": "gauge", "commit_count": "counter",
             "connection_request_count": "counter", "fsynctime": "summary",
             "readlatency": "summary", "updatelatency": "summary", "snapshottime": "summary"}
    for name, kind in kinds.items():
        assert fams[name].type == kind, name
    assert samples['znode_count{}'] == 25.0
    assert samples['num_alive_connections{}'] == 1.0
    assert samples['connection_request_count_total{}'] >= 1.0
    assert samples['updatelatency_count{}'] >= 20 and samples['readlatency_count{}'] >= 20
    assert samples['fsynctime_count{}'] >= 1 and samples['fsynctime_sum{}'] > 0
    for q in ("0.5", "0.9", "0.99"):
        assert 'updatelatency{"quantile": "%s"}' % q in samples
    assert 'fsynctime{"quantile": "0.5"}' in samples
    assert 'fsynctime{"quantile": "0.9"}' not in samples
    assert not [n for n in wire if n.endswith("_total")]
    assert samples["commit_count_total{}"] == 0 and "commit_count" in wire
    mntr = dict(l.split("\t", 1) for l in srv.four("mntr").splitlines())
    assert float(mntr["zk_znode_count"]) == samples["znode_count{}"]
    assert int(mntr["zk_cnt_updatelatency"]) >= 20


def test_metrics_bad_requests(metrics_server):
    port = metrics_server.metrics_port
    assert curl("http://127.0.0.1:%d/other" % port)[0] == 404
    assert curl("http://127.0.0.1:%d/metrics" % port, method="POST", data="")[0] == 405
    for req in BAD_REQUESTS:
        out = raw_http(port, req)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
        assert m and 400 <= int(m.group(1)) < 500, (req[:40], out[:120])
    assert scrape(port)[1]["znode_count{}"] >= 5


def test_watch_reports_list_the_data_watch_table_like_apache(zk_server_factory, kazoo_factory):
    """wchs/wchc/wchp (and their JSON) report ZooKeeper's data-watch table; mntr's watch_count
    adds the child-watch table, where persistent watches are counted again."""
    require_kazoo()
    import zkraw
    views = {}
    for impl in ("apache", impl_name()):
        srv = zk_server_factory(cfg=admin_cfg(), impl=impl, name="w-" + impl)
        zk = kazoo_factory(srv)
        zk.create("/cw/x", makepath=True)
        zk.get_children("/cw", watch=lambda e: None)
        zk.get("/cw", watch=lambda e: None)
        zk.exists("/none", watch=lambda e: None)
        sid = "0x%x" % zk.client_id[0]
        with srv.raw() as w:  # kazoo 2.11 has no addWatch
            assert w.add_watch("/cw", zkraw.PERSISTENT) == (0, 0)
            mntr = dict(l.split("\t", 1) for l in srv.four("mntr").splitlines())
            _, _, summary = get_json(srv.admin_url("/wchs"))
            _, _, by_path = get_json(srv.admin_url("/wchp"))
            wchc = srv.four("wchc").replace(sid, "SID")
            views[impl] = (srv.four("wchs"), len(wchc.splitlines()),
                           sorted(re.sub(r"0x[0-9a-f]+", "SID", srv.four("wchp")).split("\n")),
                           mntr["zk_watch_count"], summary["num_total_watches"],
                           sorted((p, len(s)) for p, s in by_path["path_to_session_ids"].items()))
    assert views[impl_name()] == views["apache"]
