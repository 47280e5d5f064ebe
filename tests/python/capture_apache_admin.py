"""Captures Apache ZooKeeper's AdminServer answers into tests/fixtures/apache-admin.json.

    .venv/bin/python tests/python/capture_apache_admin.py

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


if __name__ == "__main__":
    main()
