"""Captures Apache ZooKeeper's AdminServer answers into tests/fixtures/apache-admin.json.

    .venv/bin/python tests/python/capture_apache_admin.py              # standalone
    .venv/bin/python tests/python/capture_apache_admin.py --ensemble   # 3 servers, leader +
                                                      # follower -> apache-ensemble-admin.json

Starts Apache ZooKeeper (Debian's 3.8 package, Jetty AdminServer on a free port), opens a kazoo
session that leaves one ephemeral node, one data watch and one exists watch, then records for
every command name and alias (and the links page, an unknown command, the 3.9 auth commands)
the HTTP status, the Content-Type and the JSON body. The Rust renderer tests
(src/admin/commands/tests.rs) compare zkserver's field names and value types with it; the
live comparison is tests/python/test_admin_http.py.
"""

import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import conftest  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "apache-admin.json")
NAMES = [
    "configuration", "conf", "config", "connection_stat_reset", "crst", "connections", "cons",
    "dirs", "dump", "environment", "env", "envi", "get_trace_mask", "gtmk", "hash",
    "initial_configuration", "icfg", "is_read_only", "isro", "last_snapshot", "lsnp", "leader",
    "lead", "monitor", "mntr", "observer_connection_stat_reset", "orst", "observers", "obsr",
    "ruok", "server_stats", "srvr", "set_trace_mask", "stmk", "stat_reset", "srst", "stats",
    "stat", "system_properties", "sysp", "voting_view", "watch_summary", "wchs", "watches",
    "wchc", "watches_by_path", "wchp", "zabstate", "nosuch", "snapshot", "restore",
]


def fetch(url):
    try:
        r = urllib.request.urlopen(url, timeout=10)
        return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def main():
    from kazoo.client import KazooClient
    port = conftest.free_port()
    srv = conftest.Server("apache", cfg={"admin.enableServer": "true",
                                         "admin.serverAddress": "127.0.0.1",
                                         "admin.serverPort": str(port)}, name="capture")
    srv.start()
    try:
        zk = KazooClient(hosts=srv.hosts)
        zk.start()
        zk.create("/a", b"x")
        zk.create("/e", b"y", ephemeral=True)
        zk.get("/a", watch=lambda e: None)
        zk.exists("/zz", watch=lambda e: None)
        out = {}
        status, ctype, body = fetch(srv.admin_url())
        out["/"] = {"status": status, "content_type": ctype, "body": body}
        for name in NAMES:
            status, ctype, body = fetch(srv.admin_url("/" + name))
            out[name] = {"status": status, "content_type": ctype, "body": json.loads(body)}
        version = out["server_stats"]["body"]["version"]
        fixture = {"captured_from": "Apache ZooKeeper " + version, "answers": out}
        with open(OUT, "w") as f:
            json.dump(fixture, f, indent=1, sort_keys=False)
            f.write("\n")
        zk.stop()
        print("wrote", os.path.normpath(OUT))
    finally:
        srv.cleanup()


def four(port, word):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode()
            out += b


def ensemble():
    """Three Apache servers on 127.0.0.1; records what a leader and a follower answer."""
    import subprocess
    import time
    ids = (1, 2, 3)
    peer = {i: (conftest.free_port(), conftest.free_port()) for i in ids}
    servers = []
    for i in ids:
        srv = conftest.Server("apache", name="ens%d" % i, tick_time=500, cfg=dict(
            {"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1",
             "admin.serverPort": str(conftest.free_port()), "initLimit": "10", "syncLimit": "5"},
            **{"server.%d" % j: "127.0.0.1:%d:%d" % peer[j] for j in ids}))
        with open(os.path.join(srv.data_dir, "myid"), "w") as f:
            f.write(str(i))
        srv.log = open(srv.log_path, "ab")
        srv.proc = subprocess.Popen(srv.command(), stdout=srv.log, stderr=subprocess.STDOUT,
                                    cwd=srv.tmp, start_new_session=True)
        servers.append(srv)
    try:
        for srv in servers:
            srv.wait_ready()
        time.sleep(2)
        out = {}
        for srv in servers:
            status, _, body = fetch(srv.admin_url("/leader"))
            role = "leader" if json.loads(body).get("is_leader") else "follower"
            if role in out:
                continue
            out[role] = {c: json.loads(fetch(srv.admin_url("/" + c))[2])
                         for c in ("zabstate", "leader", "voting_view", "observers",
                                   "server_stats", "monitor")}
            out[role + "_mntr"] = four(srv.port, "mntr")
            out[role + "_srvr"] = four(srv.port, "srvr")
        version = out["leader"]["server_stats"]["version"]
        out = dict({"captured_from": "Apache ZooKeeper %s, a 3-server ensemble on 127.0.0.1 "
                    "(tests/python/capture_apache_admin.py --ensemble)" % version}, **out)
        path = os.path.join(HERE, "..", "fixtures", "apache-ensemble-admin.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
        print("wrote", os.path.normpath(path))
    finally:
        for srv in servers:
            srv.cleanup()


if __name__ == "__main__":
    ensemble() if "--ensemble" in sys.argv else main()
