"""A reconfig proposed but not committed when its leader dies is resumed by the next leader
(Apache's `lastSeenQuorumVerifier`, kept in `zoo.cfg.dynamic.next`), on zkserver and, with
`ZK_IMPL=apache`, on Apache ZooKeeper 3.8 alike.

The followers' ACKs to the leader are dropped with iptables, so the leader proposes
`reconfig -remove <leader>` and the followers log it, but it cannot commit; the leader is then
SIGKILLed. The two followers elect a leader among themselves, which must put the removal in
force in the new epoch: every survivor writes `zoo.cfg.dynamic.<version of the reconfig>`,
shows it in `config`, and the old leader no longer counts as a voter.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import require
from test_reconfig import RECONFIG_CFG, SUPER, config_of, dynamic_file, wait_for
from test_zkcli import ZKCLI


def iptables(*args):
    subprocess.run(["iptables", "-w"] + list(args), check=True, capture_output=True)


@pytest.fixture
def ensemble():
    from conftest import Ensemble, impl_name
    require(os.geteuid() == 0 and shutil.which("iptables") is not None,
            "root and iptables (apt-get install iptables), to drop the followers' ACKs")
    e = Ensemble(impl_name(), voters=3, cfg=RECONFIG_CFG)
    try:
        yield e.start()
    finally:
        e.cleanup()


def quorum_port(m):
    return int(m.cfg["server.%d" % m.myid].split(":")[1])


def test_the_next_leader_resumes_a_reconfig_its_leader_could_not_commit(ensemble):
    leader = ensemble.leader()
    survivors = [m for m in ensemble.members if m is not leader]
    # Nothing the followers send on the leader's quorum port arrives (ACKs, PINGs): the
    # proposal goes out, its ACKs never come back.
    rule = ["INPUT", "-p", "tcp", "-d", "127.0.0.1", "--dport", str(quorum_port(leader)),
            "-j", "DROP"]
    require(os.path.exists(ZKCLI), ZKCLI + " (apt-get install zookeeper)")
    env = dict(os.environ, JVMFLAGS="-Xmx128m -XX:TieredStopAtLevel=1")
    proc = subprocess.Popen([ZKCLI, "-server", leader.hosts], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        # Connected and authenticated first (the JVM takes seconds to start), so that the
        # reconfig goes out while the leader still counts its followers as synced.
        proc.stdin.write(SUPER + "whoami\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if "super" in line:
                break
        iptables("-I", *rule)
        proc.stdin.write("reconfig -remove %d\n" % leader.myid)
        proc.stdin.flush()
        # The followers have logged the proposal once it is their last seen configuration.
        nexts = [s.cfg_path + ".dynamic.next" for s in survivors]
        wait_for("the followers to see the proposal",
                 lambda: all(os.path.exists(p) for p in nexts), timeout=20)
        version = re.search(r"^version=([0-9a-f]+)$", open(nexts[0]).read(), re.M).group(1)
        ensemble.kill(leader)
    finally:
        proc.kill()
        iptables("-D", *rule)

    new = wait_for("a leader among the survivors",
                   lambda: ensemble.leader() if ensemble.leader() in survivors else None,
                   timeout=30)
    for m in survivors:
        wait_for("member %d to put version %s in force" % (m.myid, version),
                 lambda: dynamic_file(m).endswith(".dynamic." + version), timeout=30)
        assert not os.path.exists(m.cfg_path + ".dynamic.next")
        config = config_of(m)
        assert "version=" + version in config, config
        assert not any(l.startswith("server.%d=" % leader.myid) for l in config), config
    # Two voters left, and the old leader is none of them: without the other survivor, the
    # new leader and a restarted old leader are no quorum.
    other = [m for m in survivors if m is not new][0]
    leader.start(wait=False)
    ensemble.kill(other)
    wait_for("the leader to step down without a quorum of the new configuration",
             lambda: ensemble.mode(new) != "leader", timeout=30)
