"""Dynamic reconfiguration across implementations: 3-member ensembles mixing zkserver and
Apache ZooKeeper 3.8 members, reconfigured with `zkCli.sh` (as a super user), once with a
zkserver leader over Apache followers and once with an Apache leader over zkserver followers.

In each:
- every member, of either implementation, puts the same configurations in force (`config`
  and the `zoo.cfg.dynamic.<version>` file agree member by member);
- a removed follower keeps following as a non-voter (it still serves reads of new writes) and
  `reconfig -add` makes it a voter again;
- removing the leader hands leadership to a designated member of the other configuration and
  writes go on; the old leader can be added back.
"""

import re
import socket
import time

import pytest

from test_reconfig import RECONFIG_CFG, SUPER, cli, config_of, dynamic_file, server_line, wait_for

# Member 3 leads (highest id, equal zxids): its implementation leads the ensemble.
LAYOUTS = {
    "zkserver-leads": ["apache", "apache", "zkserver"],
    "apache-leads": ["zkserver", "zkserver", "apache"],
}


def wait_listening(host, port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("nothing listens on %s:%d" % (host, port))


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def mixed(request):
    from conftest import Ensemble
    e = Ensemble(LAYOUTS[request.param], voters=3, cfg=RECONFIG_CFG)
    try:
        # Member 3 first, so that the others find it when they elect.
        third = e.member(3)
        third.start(wait=False)
        election = int(third.cfg["server.3"].split(":")[2])
        wait_listening("127.0.0.1", election)
        for m in e.members[:2]:
            m.start(wait=False)
        e.wait_ready()
        # zkserver members elect in milliseconds and may settle before the JVM's votes are
        # out; the leader then steps aside (equal histories: the highest id wins among the
        # rest) and comes back as a follower.
        for _ in range(3):
            leader = e.leader()
            if leader is third:
                break
            e.kill(leader)
            wait_for("a new leader", lambda: e.leader() not in (None, leader), timeout=30)
            leader.start(wait=False)
            e.wait_ready()
        assert e.leader() is third, e.modes()
        yield e
    finally:
        e.cleanup()


def servers_of(m):
    return [l for l in config_of(m) if l.startswith("server.")]


def agreed(ensemble, expected):
    """Every member has `expected` (server lines) in force, under one version, in its dynamic
    file too."""
    configs = {m.myid: config_of(m) for m in ensemble.members}
    if any([l for l in c if l.startswith("server.")] != expected for c in configs.values()):
        return None
    if len({tuple(c) for c in configs.values()}) != 1:
        return None
    files = {m.myid: open(dynamic_file(m)).read() for m in ensemble.members}
    if any(f != "\n".join(expected) for f in files.values()):
        return None
    return configs


def test_members_of_both_implementations_agree_on_the_first_configuration(mixed):
    lines = sorted(server_line(m) for m in mixed.members)
    wait_for("one configuration on every member", lambda: agreed(mixed, lines))


def test_remove_a_follower_then_add_it_back(mixed):
    leader = mixed.leader()
    removed = mixed.member(1)
    out = cli(leader, SUPER + "reconfig -remove 1\n")
    assert "Committed new configuration:" in out, out
    keep = sorted(server_line(m) for m in mixed.members if m is not removed)
    wait_for("every member to activate the removal", lambda: agreed(mixed, keep))
    # The removed member still follows: it sees writes made after the removal.
    out = cli(mixed.member(2), "create /mixed-after-remove x\n")
    assert "Created /mixed-after-remove" in out, out
    out = cli(removed, "sync /mixed-after-remove\nget /mixed-after-remove\n")
    assert re.search(r"^x$", out, re.M), out

    joiner = server_line(removed, with_client=True)
    out = cli(leader, SUPER + "reconfig -add %s\n" % joiner)
    assert "Committed new configuration:" in out, out
    back = sorted(server_line(m) for m in mixed.members)
    wait_for("member 1 back in every configuration",
             lambda: [l.split(";")[0] for l in servers_of(removed)] == back
             and all([l.split(";")[0] for l in servers_of(m)] == back for m in mixed.members))


def test_removing_the_leader_hands_over_to_the_other_implementation(mixed):
    old = mixed.leader()
    assert old is mixed.member(3)
    # Member 1 is the designated leader (Apache's and zkserver's choice alike: the lowest id
    # that acknowledged the most): it leaves following as soon as it commits, and Apache's
    # follower may close its clients before the answer is out (its CommitProcessor answers
    # asynchronously), so the answer may be a ConnectionLoss; the outcome is checked below.
    out = cli(mixed.member(1), SUPER + "reconfig -remove 3\n")
    assert "Committed new configuration:" in out or "ConnectionLoss" in out, out
    wait_for("member 3 out of member 1's configuration",
             lambda: servers_of(mixed.member(1))
             and not any(l.startswith("server.3=") for l in servers_of(mixed.member(1))))
    wait_for("every member to activate the same configuration",
             lambda: len({tuple(config_of(m)) for m in mixed.members}) == 1)
    new = wait_for("a leader among the remaining voters",
                   lambda: mixed.leader() if mixed.leader() in mixed.members[:2] else None,
                   timeout=30)
    assert new.impl != old.impl
    out = cli(new, "create /mixed-after-handover y\n")
    assert "Created /mixed-after-handover" in out, out
    for m in mixed.members:
        out = wait_for("member %d to serve the write" % m.myid,
                       lambda: (lambda o: o if re.search(r"^y$", o, re.M) else None)(
                           cli(m, "sync /mixed-after-handover\nget /mixed-after-handover\n")),
                       timeout=30)

    out = cli(new, SUPER + "reconfig -add %s\n" % server_line(old, with_client=True))
    assert "Committed new configuration:" in out, out
    wait_for("member 3 back in every configuration",
             lambda: all(any(l.startswith("server.3=") for l in servers_of(m))
                         for m in mixed.members))
