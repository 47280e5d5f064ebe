#!/usr/bin/env python3
"""Drives a real Apache ZooKeeper 3.8 ensemble (3 participants + 1 observer) through the
scenarios that produce every quorum message type, with relay.py recording every election-port
and quorum-port connection between members.

Usage: scenarios.py OUT          (OUT/ gets the relay recordings, member logs, phases.log)
Environment: CAPTURE_PORT_BASE (default 31000; ports BASE..BASE+299 are used),
             ZK_JAR (default /usr/share/java/zookeeper.jar).

Topology: member i really listens on 0.0.0.0:Q_i (quorum) and 0.0.0.0:E_i (election); every
other member's zoo.cfg names 127.0.0.1:<relay port for that ordered pair> instead, so each
direction of each member pair crosses its own relay link (q<i>-<j>, e<i>-<j>). A member's own
line uses 0.0.0.0 so that the address it advertises in the election handshake is a wildcard,
which Apache ignores: the dial-back of a larger sid then uses its config (the relay) too.

Phases (each logged to OUT/phases.log with a timestamp):
  cold-start   1,2,3 start together (3 LOOKING); followers sync by empty DIFF, or by a SNAP
               of zxid epoch<<32 if they reach the leader after it has started
  writes       kazoo on a follower with digest auth: create/ephemeral/set/setACL/multi/failed
               multi/error/sync/delete (REQUEST with authinfo, PROPOSAL with TxnDigest, SYNC,
               PING sessions); a client on the leader too
  revalidate   raw client: session made on follower A, resumed on follower B (REVALIDATE
               valid), closeSession forwarded; unknown session with a right password
               (REVALIDATE invalid)
  diff         follower A stopped, writes, restarted (FOLLOWING/LEADING election replies, DIFF)
  snap         follower B stopped, dataDir wiped, writes, restarted (SNAP)
  observer     observer 4 joins (OBSERVERINFO, sync), writes (INFORM), write via the observer
  trunc        leader cut off by the relay (blackhole), a write it logs but cannot commit,
               leader killed, followers elect a new leader (epoch+1), old leader restarted (TRUNC)
  epoch-diff   follower A stopped, writes, leader killed, A restarted: the remaining member
               leads epoch+1 and syncs A by DIFF while waiting for the NEWLEADER quorum
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError
from kazoo.security import make_digest_acl

BASE = int(os.environ.get("CAPTURE_PORT_BASE", "31000"))
ZK_JAR = os.environ.get("ZK_JAR", "/usr/share/java/zookeeper.jar")
HERE = os.path.dirname(os.path.abspath(__file__))
PARTICIPANTS = [1, 2, 3]
OBSERVER = 4
MEMBERS = PARTICIPANTS + [OBSERVER]


def q_port(i):
    return BASE + 10 * i


def e_port(i):
    return BASE + 10 * i + 1


def c_port(i):
    return BASE + 10 * i + 2


def rq_port(i, j):
    return BASE + 100 + 10 * i + j


def re_port(i, j):
    return BASE + 200 + 10 * i + j


class Capture:
    def __init__(self, out):
        self.out = os.path.abspath(out)
        self.rec = os.path.join(self.out, "rec")
        os.makedirs(self.rec, exist_ok=True)
        self.phases = open(os.path.join(self.out, "phases.log"), "a", buffering=1)
        self.procs = {}
        self.relay = None

    def phase(self, name):
        line = f"{time.time():.6f} {name}"
        self.phases.write(line + "\n")
        print("==", name, flush=True)

    # --- members -------------------------------------------------------------------------
    def data_dir(self, i):
        return os.path.join(self.out, f"m{i}", "data")

    def write_config(self, i):
        d = os.path.join(self.out, f"m{i}")
        os.makedirs(self.data_dir(i), exist_ok=True)
        with open(os.path.join(self.data_dir(i), "myid"), "w") as f:
            f.write(f"{i}\n")
        lines = [
            "tickTime=2000",
            "initLimit=10",
            "syncLimit=5",
            f"dataDir={self.data_dir(i)}",
            f"clientPort={c_port(i)}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=*",
        ]
        if i == OBSERVER:
            lines.append("peerType=observer")
        for j in MEMBERS:
            role = ":observer" if j == OBSERVER else ""
            if j == i:
                lines.append(f"server.{j}=0.0.0.0:{q_port(j)}:{e_port(j)}{role}")
            else:
                lines.append(f"server.{j}=127.0.0.1:{rq_port(i, j)}:{re_port(i, j)}{role}")
        cfg = os.path.join(d, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        return cfg

    def start(self, i):
        cfg = self.write_config(i)
        log = open(os.path.join(self.out, f"m{i}", "server.log"), "ab")
        cp = ["/etc/zookeeper/conf", ZK_JAR]
        if os.path.exists("/usr/share/java/slf4j-simple.jar"):
            cp.append("/usr/share/java/slf4j-simple.jar")
        cmd = [
            "java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
            "-cp", ":".join(cp),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg,
        ]
        log.write(f"\n$ {' '.join(cmd)}\n".encode())
        log.flush()
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, i, sig=signal.SIGTERM):
        p = self.procs.pop(i, None)
        if p is None:
            return
        p.send_signal(sig)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def mode(self, i):
        try:
            with socket.create_connection(("127.0.0.1", c_port(i)), timeout=2) as s:
                s.sendall(b"srvr")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return None
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def wait_mode(self, i, modes=("leader", "follower", "observer"), timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.mode(i)
            if m in modes:
                return m
            time.sleep(0.2)
        raise RuntimeError(f"member {i} did not reach {modes} within {timeout}s")

    def leader(self, among):
        for i in among:
            if self.mode(i) == "leader":
                return i
        return None

    def wait_leader(self, among, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            l = self.leader(among)
            if l is not None:
                return l
            time.sleep(0.2)
        raise RuntimeError(f"no leader among {among}")

    # --- relay ---------------------------------------------------------------------------
    def start_relay(self):
        links = []
        for i in MEMBERS:
            for j in MEMBERS:
                if i != j:
                    links.append(f"q{i}-{j}:{rq_port(i, j)}:{q_port(j)}")
                    links.append(f"e{i}-{j}:{re_port(i, j)}:{e_port(j)}")
        log = open(os.path.join(self.out, "relay.log"), "ab")
        self.relay = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "relay.py"), self.rec] + links,
            stdout=log, stderr=subprocess.STDOUT)
        time.sleep(1.0)

    def blackhole(self, sids):
        path = os.path.join(self.rec, "blackhole")
        if sids:
            with open(path, "w") as f:
                f.write(" ".join(str(s) for s in sids))
        elif os.path.exists(path):
            os.remove(path)

    def shutdown(self):
        for i in list(self.procs):
            self.stop(i)
        if self.relay is not None:
            self.relay.send_signal(signal.SIGTERM)
            self.relay.wait(10)


def kazoo(port, **kw):
    c = KazooClient(hosts=f"127.0.0.1:{port}", **kw)
    c.start(timeout=30)
    return c


# --- a raw client for the session handshake (kazoo cannot resume a given session id) -----
def java_random_bytes(seed, n):
    """java.util.Random(seed).nextBytes(n)."""
    mask = (1 << 48) - 1
    s = (seed ^ 0x5DEECE66D) & mask
    out = bytearray()
    while len(out) < n:
        s = (s * 0x5DEECE66D + 0xB) & mask
        r = s >> 16
        for _ in range(min(4, n - len(out))):
            out.append(r & 0xFF)
            r >>= 8
    return bytes(out)


def session_password(session_id):
    return java_random_bytes((session_id ^ 0xB3415C00) & ((1 << 64) - 1), 16)


def recv_frame(s):
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise ConnectionError("closed")
            b += chunk
        return b
    (n,) = struct.unpack(">i", exact(4))
    return exact(n)


def raw_connect(port, session_id=0, passwd=b"\0" * 16, timeout_ms=30000):
    """ConnectRequest → (socket, negotiated timeout, session id, password)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    body = struct.pack(">iqiq", 0, 0, timeout_ms, session_id)
    body += struct.pack(">i", len(passwd)) + passwd + b"\0"
    s.sendall(struct.pack(">i", len(body)) + body)
    r = recv_frame(s)
    _proto, to, sid, plen = struct.unpack(">iiqi", r[:20])
    return s, to, sid, r[20:20 + plen]


def raw_close_session(s):
    body = struct.pack(">ii", 1, -11)
    s.sendall(struct.pack(">i", len(body)) + body)
    recv_frame(s)
    s.close()


def run(cap):
    cap.start_relay()

    cap.phase("cold-start")
    for i in PARTICIPANTS:
        cap.start(i)
    for i in PARTICIPANTS:
        cap.wait_mode(i)
    leader = cap.wait_leader(PARTICIPANTS)
    followers = [i for i in PARTICIPANTS if i != leader]
    fa, fb = followers
    cap.phase(f"cold-start-done leader={leader} followers={fa},{fb}")
    time.sleep(3)

    cap.phase(f"writes via follower {fa}")
    a = kazoo(c_port(fa), auth_data=[("digest", "golden:secret")])
    a.create("/golden", b"v0")
    a.create("/golden/eph", b"e", ephemeral=True)
    a.set("/golden", b"v1")
    a.create("/golden/acl", b"x", acl=[make_digest_acl("golden", "secret", all=True)])
    a.set_acls("/golden/acl", [make_digest_acl("golden", "secret", all=True),
                               make_digest_acl("other", "pw", read=True)])
    tx = a.transaction()
    tx.create("/golden/m1", b"m")
    tx.set_data("/golden", b"v2")
    tx.commit()
    tx = a.transaction()  # fails as a whole: a multi txn of error results
    tx.create("/golden/m2", b"m")
    tx.check("/golden", 99)
    tx.commit()
    try:
        a.create("/golden", b"dup")
    except NodeExistsError:
        pass
    a.sync("/golden")
    a.delete("/golden/m1")
    b = kazoo(c_port(leader))
    b.create("/golden/from-leader", b"L")
    b.create("/golden/leader-eph", b"E", ephemeral=True)  # in the SNAP body below
    time.sleep(3)  # PING replies carrying a's session
    a.stop()
    a.close()
    time.sleep(1)

    cap.phase(f"revalidate {fa}->{fb}")
    s1, to, sid, pw = raw_connect(c_port(fa))
    assert to > 0 and pw == session_password(sid), (to, hex(sid))
    s1.close()  # no closeSession: the session lives on
    time.sleep(0.5)
    s2, to2, sid2, _ = raw_connect(c_port(fb), sid, pw)
    assert to2 > 0 and sid2 == sid, "resume failed"
    raw_close_session(s2)
    bogus = 0x0500_0000_DEAD_BEEF
    s3, to3, _, _ = raw_connect(c_port(fb), bogus, session_password(bogus))
    assert to3 <= 0, "an unknown session was accepted"
    s3.close()
    time.sleep(2)

    cap.phase(f"diff: restart follower {fa}")
    cap.stop(fa)
    for k in range(3):
        b.create(f"/golden/diff{k}", b"d%d" % k)
    b.set("/golden", b"v3")
    cap.start(fa)
    cap.wait_mode(fa, ("follower",))
    time.sleep(3)

    cap.phase(f"snap: wipe follower {fb}")
    cap.stop(fb)
    shutil.rmtree(os.path.join(cap.data_dir(fb), "version-2"), ignore_errors=True)
    b.create("/golden/snap", b"s")
    cap.start(fb)
    cap.wait_mode(fb, ("follower",))
    time.sleep(3)

    cap.phase("observer joins")
    cap.start(OBSERVER)
    cap.wait_mode(OBSERVER, ("observer",))
    b.create("/golden/inform", b"i")
    c = kazoo(c_port(OBSERVER))
    c.create("/golden/via-observer", b"o")
    c.stop()
    c.close()
    b.stop()
    b.close()
    time.sleep(3)

    cap.phase(f"trunc: cut leader {leader}")
    d = kazoo(c_port(leader), timeout=30)
    d.create("/golden/before-trunc", b"t")
    cap.blackhole([leader])
    d.create_async("/golden/lost", b"never committed")
    time.sleep(1.0)
    cap.stop(leader, signal.SIGKILL)
    cap.blackhole([])
    d.stop()
    d.close()
    new_leader = cap.wait_leader(followers)
    cap.phase(f"trunc: new leader {new_leader}; restarting {leader}")
    cap.start(leader)
    cap.wait_mode(leader, ("follower",))
    time.sleep(2)
    e = kazoo(c_port(new_leader))
    e.create("/golden/after-trunc", b"a")
    for i in PARTICIPANTS:
        ec = kazoo(c_port(i))
        ec.sync("/golden")
        kids = sorted(ec.get_children("/golden"))
        ec.stop()
        ec.close()
        cap.phase(f"check member {i}: {kids}")
        assert "lost" not in kids and "after-trunc" in kids, kids
    e.stop()
    e.close()
    time.sleep(2)

    # A follower that is behind when a new epoch starts: its DIFF proposals are logged at
    # NEWLEADER while the new leader still waits for a NEWLEADER quorum, so the order of its
    # proposal ACKs and its UPTODATE ACK is visible.
    cap.phase(f"epoch-diff: follower {fa} falls behind, leader {new_leader} killed")
    cap.stop(fa)
    f = kazoo(c_port(new_leader))
    for k in range(3):
        f.create(f"/golden/behind{k}", b"b%d" % k)
    f.stop()
    f.close()
    cap.stop(new_leader, signal.SIGKILL)
    cap.start(fa)
    third = cap.wait_leader([fa, leader])
    cap.wait_mode(fa, ("follower",))
    cap.phase(f"epoch-diff: new leader {third}; restarting {new_leader}")
    cap.start(new_leader)
    cap.wait_mode(new_leader, ("follower",))
    cap.wait_mode(OBSERVER, ("observer",))
    time.sleep(3)
    cap.phase("done")


def main():
    cap = Capture(sys.argv[1])
    try:
        run(cap)
    finally:
        cap.shutdown()


if __name__ == "__main__":
    main()
