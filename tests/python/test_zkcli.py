"""Apache's own CLI (zkCli.sh, Java client 3.8) driving the server.

A scripted session is piped into `zkCli.sh -server 127.0.0.1:PORT`; zkCli prints results on
stdout and KeeperException messages ("Node does not exist: /x") on stderr, so each stream is
checked for the expected lines in order. zkCli.sh missing ⇒ fail under CI=true, skip otherwise.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import ZKCLI, require


@pytest.fixture(scope="module")
def server(zk_server_module):
    return zk_server_module(cfg={"extendedTypesEnabled": "true"})


def run_cli(server, script=None, args=(), timeout=90):
    require(os.path.exists(ZKCLI), ZKCLI + " (apt-get install zookeeper)")
    require(shutil.which("java") is not None, "java (apt-get install default-jre-headless)")
    env = dict(os.environ, JVMFLAGS="-Xmx128m -XX:TieredStopAtLevel=1")
    p = subprocess.run([ZKCLI, "-server", server.hosts] + list(args), input=script,
                       capture_output=True, text=True, timeout=timeout, env=env)
    return p


def assert_in_order(text, expected, what):
    """Each expected item (string = exact line, re.Pattern = full-line regex) appears in order."""
    lines = text.splitlines()
    pos = 0
    for exp in expected:
        for i in range(pos, len(lines)):
            line = lines[i].rstrip()
            if (exp.fullmatch(line) if isinstance(exp, re.Pattern) else line == exp):
                pos = i + 1
                break
        else:
            pytest.fail("%s: expected line %r (after line %d) not found in:\n%s" % (
                what, getattr(exp, "pattern", exp), pos, text), pytrace=False)


def stat_block(**exact):
    """Lines of zkCli's stat printout; values given in `exact` must match, others by shape."""
    shape = {
        "cZxid": r"0x[0-9a-f]+", "ctime": r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}",
        "mZxid": r"0x[0-9a-f]+", "mtime": r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \w+ \d{4}",
        "pZxid": r"0x[0-9a-f]+", "cversion": r"-?\d+", "dataVersion": r"\d+", "aclVersion": r"\d+",
        "ephemeralOwner": r"0x[0-9a-f]+", "dataLength": r"\d+", "numChildren": r"\d+",
    }
    out = []
    for k, pat in shape.items():
        v = re.escape(str(exact[k])) if k in exact else pat
        out.append(re.compile(r"%s = %s" % (k, v)))
    return out


SCRIPT = """\
create /cli data1
create -e /cli/eph e
create -s /cli/seq- s
create -s /cli/seq- s
create -c /cli/cont
create -t 100000 /cli/ttl t
create /cli
ls /cli
ls -R /cli
get -s /cli
set /cli data2
get /cli
stat /cli
set -v 0 /cli bad
stat /cli/eph
delete /cli/seq-0000000001
delete /cli
getEphemerals /cli
getAllChildrenNumber /cli
whoami
getAcl /cli
addauth digest u:p
whoami
setAcl /cli auth:u:p:cdrwa
getAcl /cli
addWatch -m PERSISTENT_RECURSIVE /cli
create /cli/w1 x
set /cli/w1 y
sync /cli
get /nonexistent
create /bad/child x
config
deleteall /cli
ls /
quit
"""


def test_zkcli_session(server):
    p = run_cli(server, SCRIPT)
    out, err = p.stdout, p.stderr
    assert p.returncode == 0, (out, err)
    assert "Exception" not in out + err.replace("Failed to load class", ""), err
    assert_in_order(out, [
        "Connecting to " + server.hosts,
        "WatchedEvent state:SyncConnected type:None path:null",
        "[cont, eph, seq-0000000001, seq-0000000002, ttl]",  # ls
        "/cli", "/cli/cont", "/cli/eph", "/cli/seq-0000000001", "/cli/seq-0000000002", "/cli/ttl",  # ls -R
        "data1",  # get -s
        *stat_block(dataVersion=0, aclVersion=0, cversion=5, ephemeralOwner="0x0", dataLength=5,
                    numChildren=5),
        "data2",  # get after set
        *stat_block(dataVersion=1, cversion=5, ephemeralOwner="0x0", dataLength=5, numChildren=5),
        *stat_block(dataVersion=0, cversion=0, dataLength=1, numChildren=0),  # stat /cli/eph
        "[/cli/eph]",  # getEphemerals
        "4",  # getAllChildrenNumber after deleting one child
        "Auth scheme: User", "ip: 127.0.0.1",  # whoami
        "'world,'anyone", ": cdrwa",  # getAcl
        "Auth scheme: User", "ip: 127.0.0.1", "digest: u",  # whoami after addauth
        "'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=", ": cdrwa",  # getAcl after setAcl auth:
        "WatchedEvent state:SyncConnected type:NodeCreated path:/cli/w1",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/cli/w1",
        "Sync is OK",
        "[zookeeper]",  # ls / after deleteall
        "WatchedEvent state:Closed type:None path:null",
    ], "zkCli stdout")
    # the ephemeral is owned by zkCli's (non-zero) session
    assert re.search(r"ephemeralOwner = 0x[1-9a-f][0-9a-f]*\n(.*\n){0,3}numChildren = 0", out)
    # deleteall fires NodeDeleted for every node under the persistent recursive watch
    deleted = set(re.findall(r"type:NodeDeleted path:(\S+)", out))
    assert deleted == {"/cli", "/cli/eph", "/cli/cont", "/cli/ttl", "/cli/w1", "/cli/seq-0000000002"}
    assert "type:NodeChildrenChanged" not in out  # never for recursive watches
    assert_in_order(err, [
        "Created /cli", "Created /cli/eph", "Created /cli/seq-0000000001", "Created /cli/seq-0000000002",
        "Created /cli/cont", "Created /cli/ttl",
        "Node already exists: /cli",
        "version No is not valid : /cli",
        "Node not empty: /cli",
        "Created /cli/w1",
        "Node does not exist: /nonexistent",
        "Node does not exist: /bad/child",
    ], "zkCli stderr")
    with server.raw() as c:
        assert c.exists("/cli")[0] == -101


def test_zkcli_quit_closes_session_and_ephemerals(server):
    p = run_cli(server, "create /q x\ncreate -e /q/eph x\nquit\n")
    assert p.returncode == 0, p.stderr
    with server.raw() as c:
        # closeSession removes the ephemeral at once, not after a timeout
        err, (kids, stat) = c.get_children("/q")
        assert (err, kids, stat["cversion"], stat["numChildren"]) == (0, [], 2, 0)
        assert c.delete("/q") == (0, None)


def test_zkcli_one_shot_commands(server):
    p = run_cli(server, args=["create", "/oneshot", "v"])
    assert p.returncode == 0 and "Created /oneshot" in p.stdout + p.stderr, (p.stdout, p.stderr)
    p = run_cli(server, args=["get", "/oneshot"])
    assert p.returncode == 0 and "v" in p.stdout.splitlines(), p.stdout
    p = run_cli(server, args=["get", "/missing-node"])
    assert p.returncode == 1 and "Node does not exist: /missing-node" in p.stderr, (p.returncode, p.stderr)
    p = run_cli(server, args=["delete", "/oneshot"])
    assert p.returncode == 0, p.stderr
    p = run_cli(server, args=["stat", "/oneshot"])
    assert p.returncode == 1


def test_zkcli_ttl_requires_extended_types(zk_server_factory):
    plain = zk_server_factory()
    p = run_cli(plain, "create -t 1000 /ttl x\ncreate /plain x\nquit\n")
    assert "KeeperErrorCode = Unimplemented for /ttl" in p.stderr, p.stderr
    assert "Created /plain" in p.stderr
