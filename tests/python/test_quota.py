"""Quotas driven by Apache's own CLI (zkCli.sh setquota/listquota/delquota), side by side with
a real Apache ZooKeeper 3.8: the same script against both must print the same quota lines,
leave the same `zookeeper_stats`, refuse the same writes with QUOTAEXCEEDED when
`zookeeper.enforceQuota=true`, and report the same quota metrics in `mntr`.
"""

import re

import pytest

from conftest import require_kazoo
from test_local_sessions import members, start_ensemble  # noqa: F401 (fixture)
from test_zkcli import run_cli

SCRIPT = """\
create /q a
create /q/one 12345
setquota -n 3 /q
setquota -B 20 /q
listquota /q
create /q/two x
create /q/three yyy
create /q/big 0123456789abcdef
set /q/one 0123456789abcdefghij
set /q/one 123
get /zookeeper/quota/q/zookeeper_stats
get /zookeeper/quota/q/zookeeper_limits
setquota -N 10 /q
listquota /q
delquota -B /q
listquota /q
delquota /q
listquota /q
create /q/after 0123456789abcdefghijklmnop
quit
"""

# Lines that tell what the quota machinery did (zkCli prints them on stdout or stderr).
INTERESTING = re.compile(
    r"(absolute path is|Output quota for|Output stat for|count=|Quota has exceeded|"
    r"Created /q|quota for path|\[Warning\]|KeeperErrorCode)")


def quota_lines(p):
    return [l.strip() for l in (p.stdout + "\n" + p.stderr).splitlines()
            if INTERESTING.search(l)]


def mntr_quota(server):
    return sorted(l for l in server.four("mntr").splitlines() if "quota" in l)


def run(factory, impl):
    srv = factory(impl=impl, name=impl, jvm_flags=["-Dzookeeper.enforceQuota=true"])
    p = run_cli(srv, SCRIPT)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return srv, p


def test_zkcli_quota_matches_apache(zk_server_factory):
    apache, pa = run(zk_server_factory, "apache")
    ours, pz = run(zk_server_factory, "zkserver")
    lines = quota_lines(pz)
    assert lines == quota_lines(pa), "\n".join(lines)
    # Not vacuous: the quota was listed with its stats, and the hard byte limit refused writes.
    text = "\n".join(lines)
    assert "Output stat for /q count=4,bytes=8" in text, text
    assert text.count("Quota has exceeded") == 2, text
    # /q/after was created once the quota was gone.
    assert "Created /q/after" in text, text
    # Both servers log the soft-limit overrun (and the refused hard-limit ones).
    for srv in (apache, ours):
        log = open(srv.log_path, errors="replace").read()
        assert "Quota exceeded: /q [current count=4, softCountLimit=3]" in log, srv.impl
        assert "Quota exceeded: /q [current bytes=26, hardByteLimit=20]" in log, srv.impl


def test_quota_metrics_match_apache(zk_server_factory):
    script = ("create /m x\ncreate /m/a 1234\nsetquota -n 5 /m\nsetquota -B 100 /m\n"
              "create /m/b 12\nquit\n")
    got = {}
    for impl in ("apache", "zkserver"):
        srv = zk_server_factory(impl=impl, name=impl)
        assert run_cli(srv, script).returncode == 0
        got[impl] = mntr_quota(srv)
    assert got["zkserver"] == got["apache"]
    assert "zk_m_quota_count_usage_per_namespace\t3" in got["zkserver"], got


def test_enforced_hard_limit_refuses_kazoo_writes(zk_server_factory, kazoo_factory):
    require_kazoo()
    from kazoo.exceptions import ZookeeperError
    srv = zk_server_factory(jvm_flags=["-Dzookeeper.enforceQuota=true"])
    zk = kazoo_factory(srv)
    zk.create("/k", b"")
    zk.create("/zookeeper/quota/k", b"")
    zk.create("/zookeeper/quota/k/zookeeper_limits", b"count=-1,bytes=-1=;countHardLimit=2")
    zk.create("/zookeeper/quota/k/zookeeper_stats", b"count=0,bytes=0")
    assert zk.get("/zookeeper/quota/k/zookeeper_stats")[0] == b"count=1,bytes=0"
    zk.create("/k/a", b"12")
    with pytest.raises(ZookeeperError) as e:
        zk.create("/k/b", b"")
    assert "-125" in str(e.value) or "Quota" in type(e.value).__name__, repr(e.value)
    # A multi with the refused create fails as a whole.
    t = zk.transaction()
    t.create("/k/c", b"")
    t.create("/k/d", b"")
    results = t.commit()
    assert any(isinstance(r, Exception) for r in results), results
    assert zk.get_children("/k") == ["a"]
    assert zk.get("/zookeeper/quota/k/zookeeper_stats")[0] == b"count=2,bytes=2"
    mntr = srv.four("mntr")
    assert "zk_k_quota_exceeded_error_per_namespace\t2" in mntr, mntr
    # Garbage in the quota nodes never stops the server: unparsable pairs read as no limit.
    zk.set("/zookeeper/quota/k/zookeeper_limits", b"count=zz,,==;countHardLimit")
    zk.set("/zookeeper/quota/k/zookeeper_stats", b"\xff\x00=")
    zk.create("/k/e", b"")
    # The empty value of the garbage pair reads as -1; the create still counts.
    assert zk.get("/zookeeper/quota/k/zookeeper_stats")[0].startswith(b"count=0,bytes=-1=;")
    assert "Mode:" in srv.four("srvr")


def test_quota_stats_agree_across_a_mixed_ensemble(members, kazoo_factory):
    """2 Apache members + 1 zkserver: the stats each member keeps while applying the same
    txns are the same, whichever member the writes come through."""
    ens = start_ensemble(["apache", "apache", "zkserver"], members, {})
    ours = ens[2]
    p = run_cli(ours, "create /mq a\nsetquota -n 10 /mq\nquit\n")
    assert p.returncode == 0, p.stderr
    zk = kazoo_factory(ens[0])
    for i in range(5):
        zk.create("/mq/n%d" % i, b"x" * i)
    zk.set("/mq/n4", b"yy")
    zk.delete("/mq/n0")
    stats = []
    for s in ens:
        c = kazoo_factory(s)
        c.sync("/zookeeper/quota/mq/zookeeper_stats")
        stats.append(c.get("/zookeeper/quota/mq/zookeeper_stats")[0])
    # /mq (1 byte) and n1..n4 (1 + 2 + 3 + 2 bytes).
    assert stats == [b"count=5,bytes=9"] * 3, stats
