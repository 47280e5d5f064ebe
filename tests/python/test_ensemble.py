"""Real clients against a real ensemble (3 voters + 1 observer on loopback, `ensemble_factory`):

- kazoo recipes (Lock, Election, Counter, LockingQueue, Party, DataWatch/ChildrenWatch) with
  one client per member — leader, followers and the observer — so every write is forwarded
  and every watch fires for a change made through another member;
- a kazoo session whose member is SIGKILLed moves to another member: same session, its
  ephemeral, its lock and its watch survive (REVALIDATE and SetWatches on the new member);
- a piped `zkCli.sh` session (Apache's Java client) against a follower, its writes seen with
  the same stat through the leader.

`ZK_IMPL=apache` runs the same tests against an Apache ZooKeeper 3.8 ensemble.
"""

import os
import re
import signal
import threading
import time

import pytest

from conftest import require_kazoo
from test_zkcli import assert_in_order, run_cli, stat_block


@pytest.fixture(scope="module")
def ensemble():
    """One 3+1 ensemble for the module (cleaned up at the end)."""
    from conftest import Ensemble, impl_name
    e = Ensemble(impl_name(), voters=3, observers=1)
    try:
        yield e.start()
    finally:
        e.cleanup()


def by_mode(ens):
    leader = ens.leader()
    assert leader is not None, ens.modes()
    followers = ens.followers()
    observers = ens.observers()
    assert len(followers) == 2 and len(observers) == 1, ens.modes()
    return leader, followers, observers[0]


def test_every_member_reports_its_mode(ensemble):
    leader, followers, observer = by_mode(ensemble)
    assert observer.myid == 4
    assert sorted([leader.myid] + [f.myid for f in followers]) == [1, 2, 3]


def test_kazoo_recipes_with_a_client_on_every_member(ensemble, kazoo_factory):
    require_kazoo()
    leader, followers, observer = by_mode(ensemble)
    members = [leader] + followers + [observer]
    clients = [kazoo_factory(m) for m in members]
    base = "/recipes-%d" % int(time.time() * 1000)
    clients[0].ensure_path(base)
    for c in clients:
        c.sync(base)

    # Counter: concurrent increments through every member (versioned setData, retried on
    # BadVersion) add up exactly.
    def bump(c, n):
        counter = c.Counter(base + "/counter")
        for _ in range(n):
            counter += 1

    threads = [threading.Thread(target=bump, args=(c, 25), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in clients:
        c.sync(base + "/counter")
        counter = c.Counter(base + "/counter")
        counter.pre_value = None
        assert counter.value == 25 * len(clients)

    # Lock: held through a follower, contended through the observer, handed over on release.
    lock_a = clients[1].Lock(base + "/lock", "a")
    lock_b = clients[3].Lock(base + "/lock", "b")
    assert lock_a.acquire(timeout=10)
    from kazoo.exceptions import LockTimeout
    with pytest.raises(LockTimeout):
        lock_b.acquire(timeout=1)
    got = threading.Event()

    def wait_for_lock():
        if lock_b.acquire(timeout=20):
            got.set()

    waiter = threading.Thread(target=wait_for_lock, daemon=True)
    waiter.start()
    deadline = time.time() + 10
    while sorted(clients[0].Lock(base + "/lock").contenders()) != ["a", "b"]:
        assert time.time() < deadline, clients[0].Lock(base + "/lock").contenders()
        time.sleep(0.05)
    lock_a.release()
    assert got.wait(20), "the waiter on the observer gets the lock once the follower releases it"
    waiter.join(5)
    lock_b.release()

    # Election: contenders on three members; each leads once, never two at a time.
    elected, active, overlap = [], [0], []
    done = threading.Event()
    mutex = threading.Lock()

    def run(c, name):
        def lead():
            with mutex:
                active[0] += 1
                overlap.append(active[0])
                elected.append(name)
            time.sleep(0.2)
            with mutex:
                active[0] -= 1
        c.Election(base + "/election", name).run(lead)
        if len(elected) == 3:
            done.set()

    runners = [threading.Thread(target=run, args=(clients[i], "e%d" % i), daemon=True)
               for i in (0, 2, 3)]
    for r in runners:
        r.start()
    assert done.wait(30), elected
    assert sorted(elected) == ["e0", "e2", "e3"] and max(overlap) == 1, (elected, overlap)

    # LockingQueue: put through the leader and a follower, consumed through the observer.
    q_put = clients[0].LockingQueue(base + "/queue")
    q_put.put(b"one")
    clients[2].LockingQueue(base + "/queue").put(b"two")
    q_get = clients[3].LockingQueue(base + "/queue")
    clients[3].sync(base + "/queue")
    assert q_get.get(10) == b"one"
    assert q_get.consume()
    assert q_get.get(10) == b"two"
    assert q_get.consume()

    # Party: a member joins through each server; everyone sees all of them.
    parties = [c.Party(base + "/party", "p%d" % i) for i, c in enumerate(clients)]
    for p in parties:
        p.join()
    for c in clients:
        c.sync(base + "/party")
        assert sorted(c.Party(base + "/party")) == ["p0", "p1", "p2", "p3"]

    # Watches fire on the observer and a follower for writes through the leader.
    seen_data, seen_children = [], []
    data_event, child_event = threading.Event(), threading.Event()
    clients[0].create(base + "/watched", b"v0")
    # Reads on a member may lag: sync first, or the watch is set on a node not there yet.
    clients[3].sync(base + "/watched")
    clients[1].sync(base + "/watched")

    @clients[3].DataWatch(base + "/watched")
    def on_data(data, stat):
        seen_data.append(data)
        if data == b"v1":
            data_event.set()

    @clients[1].ChildrenWatch(base + "/watched")
    def on_children(children):
        seen_children.append(sorted(children))
        if children:
            child_event.set()

    clients[0].set(base + "/watched", b"v1")
    clients[0].create(base + "/watched/kid", b"")
    assert data_event.wait(10), seen_data
    assert child_event.wait(10), seen_children
    assert seen_children[-1] == ["kid"]


def test_session_moves_to_another_member_when_its_member_is_killed(ensemble_factory,
                                                                 kazoo_factory):
    require_kazoo()
    from kazoo.protocol.states import KazooState
    ens = ensemble_factory(voters=3)
    leader = ens.leader()
    first, second = ens.followers()
    c = kazoo_factory("%s,%s" % (first.hosts, second.hosts), randomize_hosts=False,
                      timeout=10.0)
    states = []
    c.add_listener(states.append)
    session = c.client_id[0]
    c.create("/moving", b"")
    c.create("/moving/eph", b"mine", ephemeral=True)
    lock = c.Lock("/moving/lock", "holder")
    assert lock.acquire(timeout=10)
    changed = threading.Event()
    c.get("/moving", watch=lambda event: changed.set())

    ens.kill(first)  # SIGKILL the member this session is connected to
    deadline = time.time() + 20
    while time.time() < deadline and not (states and states[-1] == KazooState.CONNECTED
                                          and KazooState.SUSPENDED in states):
        time.sleep(0.05)
    assert states[-2:] == [KazooState.SUSPENDED, KazooState.CONNECTED], states
    assert KazooState.LOST not in states
    assert c.client_id[0] == session, "the same session continues on the other member"

    other = kazoo_factory(leader)
    # The watch set through the dead member was re-registered on the new one (SetWatches).
    other.set("/moving", b"changed")
    assert changed.wait(10), "a watch must survive the move to another member"
    other.sync("/moving")
    data, stat = other.get("/moving/eph")
    assert data == b"mine" and stat.ephemeralOwner == session
    assert other.Lock("/moving/lock").contenders() == ["holder"]
    c.set("/moving/eph", b"moved")
    other.sync("/moving/eph")
    assert other.get("/moving/eph")[0] == b"moved"
    lock.release()


def test_zkcli_session_against_a_follower(ensemble, kazoo_factory):
    require_kazoo()
    leader, followers, _ = by_mode(ensemble)
    follower = followers[0]
    script = "\n".join([
        "create /cli-ens first",
        "create -e /cli-ens/eph e",
        "create -s /cli-ens/seq- s",
        "set /cli-ens second",
        "get -s /cli-ens",
        "ls /cli-ens",
        "sync /cli-ens",
        "delete /cli-ens/seq-0000000001",
        "ls /cli-ens",
        "quit",
    ]) + "\n"
    p = run_cli(follower, script)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Exception" not in p.stdout + p.stderr.replace("Failed to load class", ""), p.stderr
    assert_in_order(p.stderr, [
        "Created /cli-ens",
        "Created /cli-ens/eph",
        "Created /cli-ens/seq-0000000001",
    ], "zkCli stderr on a follower")
    assert_in_order(p.stdout, [
        "Connecting to " + follower.hosts,
        "WatchedEvent state:SyncConnected type:None path:null",
        "second",
        *stat_block(dataVersion=1, numChildren=2, ephemeralOwner="0x0"),
        "[eph, seq-0000000001]",
        "Sync is OK",
        "[eph]",
        "WatchedEvent state:Closed type:None path:null",
    ], "zkCli stdout on a follower")
    m = re.search(r"^cZxid = (0x[0-9a-f]+)$", p.stdout, re.M)
    assert m, p.stdout

    # Through the leader: the same node, same stat; the CLI's ephemeral is gone with its
    # session once zkCli quit (closeSession forwarded by the follower).
    k = kazoo_factory(leader)
    k.sync("/cli-ens")
    data, stat = k.get("/cli-ens")
    assert data == b"second" and stat.version == 1
    assert "0x%x" % stat.czxid == m.group(1)
    assert k.get_children("/cli-ens") == []
