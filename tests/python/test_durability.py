"""No acknowledged write is lost: the real server under pipelined load from several kazoo
sessions is SIGKILLed at random moments and restarted on the same dataDir, many rounds.

After each restart: every acknowledged create is there with its data; every key's data is
consistent with its version (nothing half-applied) and at least as new as the last
acknowledged setData; the zxid never goes backwards; ephemerals of the killed sessions
disappear once their session timeout passes.
"""

import random
import signal
import threading
import time

import pytest

from conftest import require_kazoo

ROUNDS = 6
CLIENTS = 4
KEYS_PER_CLIENT = 8
IN_FLIGHT = 64  # requests each loader keeps outstanding


class Loader:
    """One session writing creates and setData pipelined, recording what was acknowledged."""

    def __init__(self, srv, idx, rnd):
        from kazoo.client import KazooClient
        from kazoo.retry import KazooRetry
        self.idx, self.rnd = idx, rnd
        self.client = KazooClient(hosts=srv.hosts, timeout=2.0,
                                  connection_retry=KazooRetry(max_tries=0))
        self.client.start(timeout=10)
        self.acked_creates = {}          # path -> data
        self.acked_sets = {}             # path -> highest acknowledged counter
        self.max_zxid = 0
        self.lock = threading.Lock()
        self.stop = False
        # Bound what is in flight: each async call writes a byte to kazoo's wake-up socket,
        # and once the server is killed nobody drains it, so an unbounded loader would block
        # in that write for ever (and so would client.stop()).
        self.slots = threading.BoundedSemaphore(IN_FLIGHT)
        self.client.create("/eph/r%d-c%d" % (rnd, idx), b"", ephemeral=True, makepath=True)

    def key(self, k):
        return "/sets/c%d-k%d" % (self.idx, k)

    def run(self):
        # Continue each key's counter from its version, which survived the last crash.
        counters = {self.key(k): self.client.exists(self.key(k)).version for k in range(KEYS_PER_CLIENT)}
        n = 0
        while not self.stop:
            if not self.slots.acquire(timeout=0.2):
                continue
            if not self.slots.acquire(timeout=0.2):
                self.slots.release()
                continue
            n += 1
            path = "/creates/r%d-c%d-%d" % (self.rnd, self.idx, n)
            data = ("%d" % n).encode()
            self.client.create_async(path, data).rawlink(self._on_create(path, data))
            k = self.key(n % KEYS_PER_CLIENT)
            counters[k] += 1
            self.client.set_async(k, str(counters[k]).encode()).rawlink(self._on_set(k, counters[k]))

    def _on_create(self, path, data):
        def done(result):
            self.slots.release()
            try:
                result.get_nowait()
            except Exception:
                return
            with self.lock:
                self.acked_creates[path] = data
        return done

    def _on_set(self, path, counter):
        def done(result):
            self.slots.release()
            try:
                stat = result.get_nowait()
            except Exception:
                return
            with self.lock:
                self.acked_sets[path] = max(self.acked_sets.get(path, 0), counter)
                self.max_zxid = max(self.max_zxid, stat.mzxid)
        return done


def test_sigkill_under_load_loses_no_acknowledged_write(zk_server_factory, kazoo_factory):
    require_kazoo()
    srv = zk_server_factory(tick_time=500)
    setup = kazoo_factory(srv)
    for path in ("/creates", "/eph"):
        setup.ensure_path(path)
    setup.ensure_path("/sets")
    for c in range(CLIENTS):
        for k in range(KEYS_PER_CLIENT):
            # The data counter and the version move together: data n <=> version n.
            setup.create("/sets/c%d-k%d" % (c, k), b"0")
    setup.stop()
    rng = random.Random(1234)
    acked_creates, acked_sets, last_zxid = {}, {}, 0
    for rnd in range(ROUNDS):
        loaders = [Loader(srv, i, rnd) for i in range(CLIENTS)]
        threads = [threading.Thread(target=l.run, daemon=True) for l in loaders]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.2))
        srv.kill(signal.SIGKILL)
        for l in loaders:
            l.stop = True
        for t in threads:
            t.join(10)
        for l in loaders:
            with l.lock:
                acked_creates.update(l.acked_creates)
                for p, c in l.acked_sets.items():
                    acked_sets[p] = max(acked_sets.get(p, 0), c)
                last_zxid = max(last_zxid, l.max_zxid)
            try:
                l.client.stop()
                l.client.close()
            except Exception:
                pass
        srv.start()
        check = kazoo_factory(srv)
        missing = [p for p, d in acked_creates.items() if check.exists(p) is None]
        assert not missing, "round %d: acknowledged creates lost: %s" % (rnd, missing[:5])
        for p, d in list(acked_creates.items())[:200]:
            assert check.get(p)[0] == d, p
        for c in range(CLIENTS):
            for k in range(KEYS_PER_CLIENT):
                p = "/sets/c%d-k%d" % (c, k)
                data, stat = check.get(p)
                assert int(data) == stat.version, "%s half-applied: data %s, version %d" % (p, data, stat.version)
                assert int(data) >= acked_sets.get(p, 0), "%s lost an acknowledged set" % p
        zxid = int([l for l in srv.four("srvr").splitlines() if l.startswith("Zxid:")][0].split("0x")[1], 16)
        assert zxid >= last_zxid, "zxid went backwards: 0x%x < 0x%x" % (zxid, last_zxid)
        last_zxid = zxid
        check.stop()
    assert len(acked_creates) > 100, "the load acknowledged too little to prove anything"
    # The killed sessions' ephemerals go once their 2 s session timeout has passed.
    check = kazoo_factory(srv)
    deadline = time.time() + 20
    while time.time() < deadline and check.get_children("/eph"):
        time.sleep(0.2)
    left = check.get_children("/eph")
    assert not left, "ephemerals of dead sessions still there: %s" % left[:5]
