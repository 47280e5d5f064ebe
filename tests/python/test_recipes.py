"""kazoo recipes and session/watch behaviour against a real server.

One server per module with tickTime=500 (session timeouts 1000..10000 ms) so that dropped
sessions expire quickly. A "dropped session" is a child python process holding the session,
killed with SIGKILL: its TCP connection dies but the session (and its ephemerals / lock
nodes) must live on until the session timeout, then vanish.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import require_kazoo
import zkraw

require_kazoo()

from kazoo.exceptions import LockTimeout, NodeExistsError  # noqa: E402
from kazoo.recipe.barrier import Barrier, DoubleBarrier  # noqa: E402
from kazoo.recipe.counter import Counter  # noqa: E402
from kazoo.recipe.election import Election  # noqa: E402
from kazoo.recipe.lock import Lock  # noqa: E402
from kazoo.recipe.party import Party  # noqa: E402
from kazoo.recipe.queue import LockingQueue, Queue  # noqa: E402

TICK = 500
HOLDER_TIMEOUT = 2.0  # seconds, session timeout asked for by the child process

HOLDER = r"""
import sys, time
from kazoo.client import KazooClient
from kazoo.recipe.lock import Lock
hosts, mode, path, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
c = KazooClient(hosts=hosts, timeout=timeout)
c.start(timeout=15)
if mode == "ephemeral":
    c.create(path, b"held", ephemeral=True, makepath=True)
elif mode == "lock":
    assert Lock(c, path, "child").acquire(timeout=15)
print("READY %d" % c.client_id[0], flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def server(zk_server_module):
    return zk_server_module(tick_time=TICK)


@pytest.fixture
def zk(server, kazoo_factory):
    return kazoo_factory(server)


@pytest.fixture
def zk2(server, kazoo_factory):
    return kazoo_factory(server)


class Holder:
    """A child process owning a session that holds `path` (ephemeral node or lock)."""

    def __init__(self, server, mode, path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, server.hosts, mode, path, str(HOLDER_TIMEOUT)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.proc.kill()
            raise AssertionError("holder failed: %r %s" % (line, self.proc.stderr.read()))
        self.session_id = int(line.split()[1])

    def sigkill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        return time.time()

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def holders():
    made = []

    def make(server, mode, path):
        h = Holder(server, mode, path)
        made.append(h)
        return h

    yield make
    for h in made:
        h.cleanup()


def wait_for(cond, timeout, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()


# ---- ephemerals and sessions -------------------------------------------------------------------

def test_ephemeral_removed_after_sigkilled_session_expires(server, zk, holders):
    h = holders(server, "ephemeral", "/eph/held")
    stat = zk.exists("/eph/held")
    assert stat is not None and stat.ephemeralOwner == h.session_id
    gone = threading.Event()

    def watch(ev):
        if ev.type == "DELETED":
            gone.set()

    assert zk.exists("/eph/held", watch=watch) is not None
    killed = h.sigkill()
    # the session outlives its TCP connection: the node must still be there shortly after
    time.sleep(0.3)
    assert zk.exists("/eph/held") is not None, "ephemeral deleted on disconnect, not on expiry"
    assert gone.wait(HOLDER_TIMEOUT + 4 * TICK / 1000 + 5), "ephemeral still present after expiry"
    elapsed = time.time() - killed
    assert elapsed >= HOLDER_TIMEOUT * 0.5, "deleted after %.2fs, before the session timeout" % elapsed
    assert zk.exists("/eph/held") is None
    assert zk.get_children("/eph") == []


def test_ephemeral_removed_on_clean_close(server, zk, kazoo_factory):
    other = kazoo_factory(server)
    other.create("/eph2", b"x", ephemeral=True)
    assert zk.exists("/eph2").ephemeralOwner == other.client_id[0]
    other.stop()
    # closeSession removes ephemerals at once
    assert wait_for(lambda: zk.exists("/eph2") is None, 3)


# ---- watches -----------------------------------------------------------------------------------

def test_children_watch_fires_once(zk, zk2):
    zk.ensure_path("/cw")
    events = []
    got = threading.Event()

    def watcher(ev):
        events.append((ev.type, ev.path))
        got.set()

    assert zk.get_children("/cw", watch=watcher) == []
    zk2.create("/cw/a")
    assert got.wait(5)
    zk2.create("/cw/b")  # one-shot: no second event
    zk2.set("/cw", b"data")  # data change is not a child event
    zk2.sync("/cw")
    zk.sync("/cw")
    time.sleep(0.3)
    assert events == [("CHILD", "/cw")]


def test_children_watch_recipe_sees_all_changes(zk, zk2):
    zk.ensure_path("/cw2")
    seen = []
    cond = threading.Condition()

    @zk.ChildrenWatch("/cw2")
    def kids(children):
        with cond:
            seen.append(sorted(children))
            cond.notify_all()

    def wait_seen(expected):
        with cond:
            return cond.wait_for(lambda: seen and seen[-1] == expected, 5)

    assert wait_seen([])
    zk2.create("/cw2/x")
    assert wait_seen(["x"])
    zk2.create("/cw2/y", ephemeral=True)
    assert wait_seen(["x", "y"])
    zk2.delete("/cw2/x")
    assert wait_seen(["y"])


def test_data_watch_sequence(zk, zk2):
    seen = []
    cond = threading.Condition()

    @zk.DataWatch("/dw")
    def data(value, stat):
        with cond:
            seen.append((value, stat.version if stat else None))
            cond.notify_all()

    def wait_seen(expected):
        with cond:
            return cond.wait_for(lambda: seen and seen[-1] == expected, 5)

    assert wait_seen((None, None))
    zk2.create("/dw", b"v0")
    assert wait_seen((b"v0", 0))
    zk2.set("/dw", b"v1")
    assert wait_seen((b"v1", 1))
    zk2.delete("/dw")
    assert wait_seen((None, None))


def test_persistent_recursive_watch(server, zk):
    # kazoo 2.11 has no add_watch: the watcher is a raw session (opcode 106, mode 1)
    zk.ensure_path("/prw")
    with server.raw() as w:
        assert w.add_watch("/prw", zkraw.PERSISTENT_RECURSIVE) == (0, 0)
        zk.create("/prw/a", b"1")
        zk.create("/prw/a/b", b"2")
        zk.set("/prw/a/b", b"3")
        zk.set("/prw", b"root")
        zk.delete("/prw/a/b")
        zk.create("/elsewhere", b"")  # outside the watched subtree
        zk.delete("/elsewhere")
        zk.create("/prw/c", b"")
        w.wait_events(6, timeout=10)
        time.sleep(0.3)
        w.wait_events(7, timeout=0.2)
        got = [(zkraw.EVENT_NAMES[t], p) for t, _s, p, _z in w.take_events()]
        # never NodeChildrenChanged for recursive watchers; still registered after firing
        assert got == [("CREATED", "/prw/a"), ("CREATED", "/prw/a/b"), ("CHANGED", "/prw/a/b"),
                       ("CHANGED", "/prw"), ("DELETED", "/prw/a/b"), ("CREATED", "/prw/c")]
        # removeWatches(path, Any=3) stops the events (3.8 knows only types 1..3; 4/5 are 3.9+)
        assert w.remove_watches("/prw", 3) == (0, None)
        assert w.remove_watches("/prw", 3) == (-121, None)  # NOWATCHER the second time
        zk.create("/prw/d", b"")
        assert w.sync("/prw") == (0, "/prw")
        time.sleep(0.3)
        assert w.wait_events(1, timeout=0.5) == []


def test_persistent_watch_on_node(server, zk):
    zk.ensure_path("/pw")
    with server.raw() as w:
        assert w.add_watch("/pw", zkraw.PERSISTENT) == (0, 0)
        zk.create("/pw/a", b"")
        zk.create("/pw/a/deep", b"")  # grandchild: not seen by a non-recursive watch
        zk.set("/pw", b"1")
        zk.set("/pw", b"2")
        zk.delete("/pw/a/deep")
        zk.delete("/pw/a")
        w.wait_events(4, timeout=10)
        time.sleep(0.3)
        w.wait_events(5, timeout=0.2)
        got = [(zkraw.EVENT_NAMES[t], p) for t, _s, p, _z in w.take_events()]
        assert got == [("CHILD", "/pw"), ("CHANGED", "/pw"), ("CHANGED", "/pw"), ("CHILD", "/pw")]


# ---- recipes -----------------------------------------------------------------------------------

def test_lock_contention_and_release(zk, zk2):
    l1 = Lock(zk, "/locks/one", "first")
    l2 = Lock(zk2, "/locks/one", "second")
    assert l1.acquire(timeout=5)
    with pytest.raises(LockTimeout):
        l2.acquire(timeout=0.5)
    got = threading.Event()

    def contend():
        if l2.acquire(timeout=15):
            got.set()

    t = threading.Thread(target=contend)
    t.start()
    time.sleep(0.5)
    assert sorted(l1.contenders()) == ["first", "second"]
    assert not got.is_set()
    l1.release()
    assert got.wait(10), "second client did not get the lock after release"
    t.join(5)
    assert l2.is_acquired
    assert l2.contenders() == ["second"]
    l2.release()
    assert zk.get_children("/locks/one") == []


def test_lock_passes_on_when_holder_session_dies(server, zk, holders):
    h = holders(server, "lock", "/locks/two")
    lock = Lock(zk, "/locks/two", "survivor")
    with pytest.raises(LockTimeout):
        lock.acquire(timeout=0.3)
    killed = h.sigkill()
    assert lock.acquire(timeout=HOLDER_TIMEOUT + 10), "lock never passed on after holder died"
    elapsed = time.time() - killed
    assert elapsed >= HOLDER_TIMEOUT * 0.5, "lock freed after %.2fs, before session expiry" % elapsed
    lock.release()


def test_election(zk, zk2):
    e1 = Election(zk, "/election", "c1")
    e2 = Election(zk2, "/election", "c2")
    leaders = []
    release = {"c1": threading.Event(), "c2": threading.Event()}
    elected = threading.Semaphore(0)

    def lead(name):
        leaders.append(name)
        elected.release()
        release[name].wait(15)

    t1 = threading.Thread(target=e1.run, args=(lead, "c1"))
    t1.start()
    assert elected.acquire(timeout=5)
    t2 = threading.Thread(target=e2.run, args=(lead, "c2"))
    t2.start()
    assert wait_for(lambda: len(e1.contenders()) == 2, 5)
    assert e1.contenders() == ["c1", "c2"]
    assert leaders == ["c1"]
    release["c1"].set()  # c1 abdicates; c2 must take over
    assert elected.acquire(timeout=10)
    assert leaders == ["c1", "c2"]
    release["c2"].set()
    t1.join(5)
    t2.join(5)


def test_party(zk, zk2):
    p1 = Party(zk, "/party", "alice")
    p2 = Party(zk2, "/party", "bob")
    p1.join()
    p2.join()
    assert sorted(p1) == ["alice", "bob"]
    assert len(p2) == 2
    p1.leave()
    assert list(p2) == ["bob"]
    zk2.stop()  # ephemeral membership ends with the session
    assert wait_for(lambda: len(p1) == 0, 5)


def test_queue_fifo_and_priority(zk, zk2):
    q1 = Queue(zk, "/queue")
    q2 = Queue(zk2, "/queue")
    for i in range(5):
        q1.put(b"item%d" % i)
    q1.put(b"urgent", priority=1)
    assert len(q2) == 6
    got = [q2.get() for _ in range(6)]
    assert got == [b"urgent", b"item0", b"item1", b"item2", b"item3", b"item4"]
    assert q2.get() is None


def test_locking_queue(zk, zk2):
    q1 = LockingQueue(zk, "/lqueue")
    q2 = LockingQueue(zk2, "/lqueue")
    q1.put_all([b"a", b"b"])
    assert q2.get(timeout=5) == b"a"
    assert q2.holds_lock()
    # q1 cannot take the entry q2 is holding; it gets the next one
    assert q1.get(timeout=5) == b"b"
    assert q2.release()  # not consumed: "a" goes back to the queue
    assert q1.consume()
    assert q1.get(timeout=5) == b"a"
    assert q1.consume()
    assert len(q2) == 0
    assert q2.get(timeout=0.5) is None


def test_barrier(zk, zk2):
    b1 = Barrier(zk, "/barrier")
    b2 = Barrier(zk2, "/barrier")
    b1.create()
    assert not b2.wait(timeout=0.5)
    passed = threading.Event()
    t = threading.Thread(target=lambda: b2.wait(timeout=10) and passed.set())
    t.start()
    time.sleep(0.3)
    assert not passed.is_set()
    b1.remove()
    assert passed.wait(10)
    t.join(5)


def test_double_barrier(server, kazoo_factory):
    n = 3
    clients = [kazoo_factory(server) for _ in range(n)]
    barriers = [DoubleBarrier(c, "/dbarrier", n) for c in clients]
    entered, left = [], []
    lock = threading.Lock()

    def participant(i):
        barriers[i].enter()
        with lock:
            entered.append(i)
        barriers[i].leave()
        with lock:
            left.append(i)

    threads = [threading.Thread(target=participant, args=(i,)) for i in range(n - 1)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    assert entered == [], "entered before all %d participants arrived" % n
    threads.append(threading.Thread(target=participant, args=(n - 1,)))
    threads[-1].start()
    for t in threads:
        t.join(15)
    assert sorted(entered) == list(range(n))
    assert sorted(left) == list(range(n))
    assert clients[0].exists("/dbarrier/ready") is None


def test_counter(zk, zk2):
    c1 = Counter(zk, "/counter")
    c2 = Counter(zk2, "/counter")
    errors = []

    def bump(c, k):
        try:
            for _ in range(k):
                c += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=bump, args=(c, 25)) for c in (c1, c2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert errors == []
    assert c1.value == 50 and c2.value == 50
    c2 -= 10
    assert c1.value == 40
    fc = Counter(zk, "/fcounter", default=0.5)
    fc += 1.25
    assert Counter(zk2, "/fcounter", default=0.5).value == 1.75


def test_sequential_and_exists_races(zk, zk2):
    zk.ensure_path("/seq")
    names = [zk.create("/seq/n-", sequence=True) for _ in range(3)]
    names += [zk2.create("/seq/n-", sequence=True, ephemeral=True) for _ in range(2)]
    assert names == ["/seq/n-%010d" % i for i in range(5)]
    with pytest.raises(NodeExistsError):
        zk2.create(names[0])
