"""Dynamic reconfiguration (`reconfigEnabled=true`) with Apache's own client, `zkCli.sh`, on a
3-member ensemble (`ZK_IMPL=apache` runs the same tests against Apache ZooKeeper 3.8):

- at first start each member splits zoo.cfg as Apache does: `zoo.cfg.bak` keeps the original,
  `zoo.cfg.dynamic.<version>` holds the sorted `server.N` lines (the version is the first
  epoch's NEWLEADER zxid), zoo.cfg points at it with `dynamicConfigFile=`; `config` prints the
  members and `version=`, with mZxid = the version and dataVersion -1;
- bad requests get Apache's errors: no super user (NOAUTH), leaving too few voters
  (BADARGUMENTS), a stale `-v` (BADVERSION); an unknown id to remove commits an unchanged
  membership under a new version, as in Apache;
- `reconfig -remove` of a follower: every member activates the new configuration (new dynamic
  file, `config`), writes go on, and the removed member no longer counts: with the other
  follower gone the leader alone is no quorum, even though the removed member still runs;
- `reconfig -add` brings the member back as a voter; a removed member whose leader goes
  away follows the next one (a non-voting participant, not an observer); bulk `-members` replaces the list.
"""

import os
import re
import time

import pytest

from conftest import SUPER_DIGEST
from test_zkcli import run_cli

SUPER = "addauth digest super:secret\n"


# zoo.cfg of a reconfigurable ensemble: reconfig on, a super user to send it.
RECONFIG_CFG = {
    "reconfigEnabled": "true",
    "DigestAuthenticationProvider.superDigest": "super:" + SUPER_DIGEST,
}


@pytest.fixture(scope="module")
def ensemble():
    from conftest import Ensemble, impl_name
    e = Ensemble(impl_name(), voters=3, cfg=RECONFIG_CFG)
    try:
        yield e.start()
    finally:
        e.cleanup()


def cli(member, script):
    p = run_cli(member, script=script + "quit\n")
    return p.stdout + p.stderr


def config_of(member):
    """The `config` lines: server.N entries and version."""
    out = cli(member, "config\n")
    return [l for l in out.splitlines() if re.match(r"^(server\.\d+=|version=)", l)]


def server_line(m, with_client=False):
    q, e = m.cfg["server.%d" % m.myid].split(":")[1:3]
    line = "server.%d=127.0.0.1:%s:%s:participant" % (m.myid, q, e)
    return line + (";127.0.0.1:%d" % m.port if with_client else "")


def dynamic_file(m):
    cfg = open(m.cfg_path).read()
    found = re.search(r"^dynamicConfigFile=(.*)$", cfg, re.M)
    assert found, cfg
    return found.group(1)


def wait_for(what, check, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    pytest.fail("timed out waiting for " + what)


def leader_epoch(m):
    """The epoch of `m`'s last zxid (`srvr`); 0 if it does not answer."""
    try:
        found = re.search(r"Zxid: 0x([0-9a-f]+)", m.four("srvr"))
    except OSError:
        return 0
    return int(found.group(1), 16) >> 32 if found else 0


def test_first_start_splits_zoo_cfg_as_apache_does(ensemble):
    members = ensemble.members
    epoch = leader_epoch(ensemble.leader())
    version = "%x" % (epoch << 32)
    lines = [server_line(m) for m in members]
    for m in members:
        assert os.path.exists(m.cfg_path + ".bak")
        assert "server.1=" in open(m.cfg_path + ".bak").read()
        path = dynamic_file(m)
        assert path == os.path.realpath(m.cfg_path) + ".dynamic." + version
        assert open(path).read() == "\n".join(sorted(lines))
        cfg = open(m.cfg_path).read()
        assert "server." not in cfg and "clientPort=%d" % m.port in cfg
    out = cli(members[0], "config -s\n")
    for line in lines + ["version=" + version, "mZxid = 0x" + version, "dataVersion = -1"]:
        assert line in out.splitlines(), out


def test_bad_requests_get_apaches_errors(ensemble):
    m = ensemble.members[0]
    assert "Insufficient permission" in cli(m, "reconfig -remove 3\n")
    assert "Arguments are not valid" in cli(m, SUPER + "reconfig -remove 2,3\n")
    assert "version No is not valid" in cli(m, SUPER + "reconfig -remove 3 -v 5\n")
    before = config_of(m)
    out = cli(m, SUPER + "reconfig -remove 9\n")
    assert "Committed new configuration:" in out, out
    after = config_of(m)
    assert after[:-1] == before[:-1] and after[-1] != before[-1], (before, after)


def test_remove_a_follower_then_add_it_back(ensemble):
    leader = ensemble.leader()
    follower, other = ensemble.followers()
    out = cli(leader, SUPER + "reconfig -remove %d\n" % follower.myid)
    assert "Committed new configuration:" in out, out
    keep = sorted(server_line(m) for m in (leader, other))
    for m in ensemble.members:
        wait_for("member %d to activate" % m.myid,
                 lambda: [l for l in config_of(m) if l.startswith("server.")] == keep)
        assert open(dynamic_file(m)).read() == "\n".join(keep)
    out = cli(other, "create /after-remove x\nget /after-remove\n")
    assert "Created /after-remove" in out, out

    # The removed member no longer votes: without the other follower, the leader and the
    # removed member are no quorum of the new configuration.
    ensemble.kill(other)
    wait_for("the leader to step down", lambda: ensemble.mode(leader) != "leader", timeout=30)
    other.start(wait=False)
    wait_for("a leader again", ensemble.leader, timeout=30)

    joiner = server_line(follower, with_client=True).replace(":participant", ":participant")
    out = cli(ensemble.leader(), SUPER + "reconfig -add %s\n" % joiner)
    assert "Committed new configuration:" in out, out
    wait_for("member %d back in every config" % follower.myid,
             lambda: all(any(l.startswith("server.%d=" % follower.myid) for l in config_of(m))
                         for m in ensemble.members))


def test_a_removed_follower_that_elects_again_follows_without_a_vote(ensemble):
    # A member that its configuration does not list is a non-voting participant: when its
    # leader goes away it elects, finds the next leader and follows it (not observes). (A
    # removed member cannot restart: Apache and zkserver refuse a myid not in the list.)
    leader = wait_for("a leader", ensemble.leader, timeout=30)
    follower = ensemble.followers()[0]
    out = cli(leader, SUPER + "reconfig -remove %d\n" % follower.myid)
    assert "Committed new configuration:" in out, out
    gone = "server.%d=" % follower.myid
    wait_for("member %d to activate" % follower.myid,
             lambda: not any(l.startswith(gone) for l in config_of(follower)))
    epoch = leader_epoch(leader)
    ensemble.restart(leader)
    # A leader of a later epoch: the removed member left the old one when it went away.
    wait_for("a leader of a later epoch",
             lambda: ensemble.leader() is not None and leader_epoch(ensemble.leader()) > epoch,
             timeout=30)
    wait_for("member %d to follow again" % follower.myid,
             lambda: ensemble.mode(follower) == "follower", timeout=30)
    out = cli(follower, "create /removed-follows x\nget /removed-follows\n")
    assert "Created /removed-follows" in out, out

    out = cli(ensemble.leader(), SUPER + "reconfig -add %s\n" % server_line(follower, True))
    assert "Committed new configuration:" in out, out
    wait_for("member %d back in every config" % follower.myid,
             lambda: all(any(l.startswith(gone) for l in config_of(m))
                         for m in ensemble.members))


def test_bulk_members(ensemble):
    leader = ensemble.leader()
    members = ",".join(server_line(m) for m in ensemble.members)
    out = cli(leader, SUPER + "reconfig -members %s\n" % members)
    assert "Committed new configuration:" in out, out
    for line in members.split(","):
        assert line in out.splitlines(), out


def test_a_new_client_address_moves_the_listener(ensemble):
    """`reconfig -add` of a member already in the configuration with another client address
    moves that member's client listener there (Apache's `cnxnFactory.reconfigure`)."""
    import zkraw
    from conftest import free_low_port
    m = ensemble.followers()[0]
    old_port, new_port = m.port, free_low_port()
    line = server_line(m) + ";127.0.0.1:%d" % new_port
    out = cli(ensemble.leader(), SUPER + "reconfig -add %s\n" % line)
    assert "Committed new configuration:" in out, out

    def answers(port):
        try:
            return zkraw.four_letter("127.0.0.1", port, "ruok", timeout=2) == "imok"
        except OSError:
            return False

    wait_for("member %d to listen on %d" % (m.myid, new_port), lambda: answers(new_port))
    wait_for("member %d to leave %d" % (m.myid, old_port), lambda: not answers(old_port))
    m.port = new_port
    out = cli(m, "create /moved-listener z\nget /moved-listener\n")
    assert re.search(r"^z$", out, re.M), out
