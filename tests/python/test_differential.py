"""Differential test: one scripted conversation against a fresh Apache ZooKeeper (reference) and a
fresh server of ZK_IMPL (candidate); normalised results must be identical.

Normalisation keeps what a client may rely on and drops what legitimately differs:
  * zxids become labels z1, z2, ... in order of first appearance (so equalities such as
    czxid == mzxid, "same zxid for every op of a multi", "pzxid moved" are compared exactly,
    but absolute values and unobserved txns are not);
  * ctime/mtime become 0 / "now" and the relation ctime == mtime;
  * ephemeralOwner becomes the name of the owning client (A, B, R, S), CONTAINER, TTL(ms) or 0;
  * children lists are sorted; exceptions become their ZooKeeper error name.
Watch events are recorded by a raw-protocol session (R) in wire order (type, state, path), so
"event before a later reply" is checked; the notification zxid is not (3.8 sends -1).

The servers run with extendedTypesEnabled=true, a superDigest for super:secret, and
znode.container.checkIntervalMs=500 so container and TTL reaping happen within the test.
"""

import base64
import hashlib
import json
import threading
import time

import pytest

from conftest import require_kazoo
import zkraw

require_kazoo()

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import KazooException, ZookeeperError  # noqa: E402
from kazoo.protocol.states import ZnodeStat  # noqa: E402
from kazoo.security import ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, Id, make_digest_acl  # noqa: E402

ERRNAMES = {
    0: "OK", -2: "RUNTIMEINCONSISTENCY", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED",
    -8: "BADARGUMENTS", -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -114: "INVALIDACL", -115: "AUTHFAILED", -121: "NOWATCHER",
}
CONTAINER_OWNER = -0x8000000000000000
TTL_MASK = -0x0100000000000000  # 0xFF00000000000000 as a signed long

JVM_FLAGS = ["-Dznode.container.checkIntervalMs=500"]  # same as conftest.differential_servers


def digest_id(user, pw):
    return "%s:%s" % (user, base64.b64encode(hashlib.sha1(("%s:%s" % (user, pw)).encode()).digest()).decode())


class Ctx:
    """Clients and normalisation state for one run of the conversation."""

    def __init__(self, srv):
        self.srv = srv
        self.zx = {}
        self.kevents = []
        self.a = self._kazoo()
        self.b = self._kazoo()
        self.r = srv.raw()
        self.s = None
        self.owners = {self.a.client_id[0]: "A", self.b.client_id[0]: "B", self.r.session_id: "R", 0: 0}

    def _kazoo(self, **kw):
        c = KazooClient(hosts=self.srv.hosts, timeout=10.0, **kw)
        c.start(timeout=15)
        return c

    def super_client(self):
        self.s = self._kazoo(auth_data=[("digest", "super:secret")])
        self.owners[self.s.client_id[0]] = "S"
        return self.s

    def close(self):
        for c in (self.a, self.b, self.s):
            if c is not None:
                try:
                    c.stop()
                    c.close()
                except Exception:
                    pass
        self.r.close()

    # -- normalisation
    def z(self, zxid):
        if zxid == 0:
            return 0
        if zxid not in self.zx:
            self.zx[zxid] = "z%d" % (len(self.zx) + 1)
        return self.zx[zxid]

    def owner(self, eo):
        if eo in self.owners:
            return self.owners[eo]
        if eo == CONTAINER_OWNER:
            return "CONTAINER"
        if eo & TTL_MASK == TTL_MASK:
            return "TTL(%d)" % (eo & 0x000000FFFFFFFFFF)
        return "other-session"

    @staticmethod
    def t(ms):
        if ms == 0:
            return 0
        return "now" if abs(ms - time.time() * 1000) < 3600 * 1000 else ms

    def stat(self, st):
        d = st._asdict() if isinstance(st, ZnodeStat) else dict(st)
        d = {k: d[k] for k in ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                               "ephemeralOwner", "dataLength", "numChildren", "pzxid")}
        return {
            "czxid": self.z(d["czxid"]), "mzxid": self.z(d["mzxid"]), "pzxid": self.z(d["pzxid"]),
            "ctime": self.t(d["ctime"]), "mtime": self.t(d["mtime"]),
            # An unmodified node must have ctime == mtime; a modified one only mtime >= ctime
            # (a fast server may create and set within the same millisecond).
            "ctime==mtime": (d["ctime"] == d["mtime"] if d["mzxid"] == d["czxid"]
                             else "modified, mtime>=ctime: %s" % (d["mtime"] >= d["ctime"])),
            "version": d["version"], "cversion": d["cversion"], "aversion": d["aversion"],
            "owner": self.owner(d["ephemeralOwner"]),
            "dataLength": d["dataLength"], "numChildren": d["numChildren"],
        }

    def norm(self, v):
        if isinstance(v, dict) and "ctime==mtime" in v:
            return v  # already normalised (rawres inside a tuple)
        if isinstance(v, ZnodeStat) or (isinstance(v, dict) and "czxid" in v):
            return self.stat(v)
        if isinstance(v, ACL):
            return [v.perms, v.id.scheme, v.id.id]
        if isinstance(v, BaseException):
            return self.exc(v)
        if isinstance(v, bytes):
            if len(v) > 64:
                return "bytes[%d] sha1=%s" % (len(v), hashlib.sha1(v).hexdigest()[:12])
            return "b" + repr(v)[1:]
        if isinstance(v, zkraw.Reader):
            return "record[%d]" % len(v.data)
        if isinstance(v, dict):
            return {k: self.norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self.norm(x) for x in v]
        return v

    @staticmethod
    def exc(e):
        if isinstance(e, ZookeeperError) and getattr(e, "code", None) is not None:
            return "ERR %s" % ERRNAMES.get(e.code, e.code)
        return "EXC %s" % type(e).__name__

    def rawres(self, res):
        err, val = res
        if err:
            return "ERR %s" % ERRNAMES.get(err, err)
        return self.norm(val)

    def revents(self):
        """Drain R's events after a round trip (a sync orders them before its reply)."""
        assert self.r.sync("/")[0] == 0
        # The notification header zxid is not compared: Apache 3.8 sends -1, 3.9+ the txn zxid.
        return [[zkraw.EVENT_NAMES.get(t, t), s, p] for t, s, p, _z in self.r.take_events()]

    def kwatch(self, ev):
        self.kevents.append([ev.type, ev.state, ev.path])

    def kevents_wait(self, n, timeout=5.0):
        deadline = time.time() + timeout
        while len(self.kevents) < n and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # let any unexpected extra event arrive
        ev, self.kevents = self.kevents, []
        return ev


def wait_gone(c, path, timeout=8.0):
    """Poll until `path` disappears (container/TTL reaper); returns True if it did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if c.exists(path) is None:
            return True
        time.sleep(0.1)
    return False


# ---- the conversation ----------------------------------------------------------------------------
# Each step: (name, function(ctx) -> value). Exceptions are results, not failures.

U1 = make_digest_acl("user1", "pw1", all=True)
U1_READ = make_digest_acl("user1", "pw1", read=True)
WORLD_READ = ACL(1, Id("world", "anyone"))


def raw_bad_path(p):
    return lambda c: c.rawres(c.r.create(p, b"", op=zkraw.CREATE))


STEPS = [
    # -- initial tree
    ("root stat", lambda c: c.a.exists("/")),
    ("ls /", lambda c: sorted(c.a.get_children("/"))),
    ("srvr node count", lambda c: [l for l in c.srv.four("srvr").splitlines() if l.startswith("Node count")]),
    ("ls /zookeeper", lambda c: sorted(c.a.get_children("/zookeeper"))),
    ("get /zookeeper/config", lambda c: c.a.get("/zookeeper/config")),
    ("getAcl /zookeeper/config", lambda c: c.a.get_acls("/zookeeper/config")),
    ("getAcl /", lambda c: c.a.get_acls("/")),
    # -- create / get / set / delete, versions and stats
    ("create /d", lambda c: c.a.create("/d", b"hello")),
    ("create /d again", lambda c: c.a.create("/d", b"x")),
    ("create2 /d/c1", lambda c: c.a.create("/d/c1", b"c1", include_data=True)),
    ("get /d", lambda c: c.a.get("/d")),
    ("set /d any", lambda c: c.a.set("/d", b"v2")),
    ("set /d bad version", lambda c: c.a.set("/d", b"v3", version=0)),
    ("set /d version 1", lambda c: c.a.set("/d", b"v3", version=1)),
    ("delete non-empty /d", lambda c: c.a.delete("/d")),
    ("delete /d/c1 bad version", lambda c: c.a.delete("/d/c1", version=5)),
    ("delete /d/c1 version 0", lambda c: c.a.delete("/d/c1", version=0)),
    ("stat /d after child delete", lambda c: c.a.exists("/d")),
    ("create seq 1", lambda c: c.a.create("/d/seq-", b"", sequence=True)),
    ("create seq 2", lambda c: c.a.create("/d/seq-", b"", sequence=True)),
    ("create eph seq", lambda c: c.a.create("/d/eseq-", b"e", ephemeral=True, sequence=True)),
    ("create seq with trailing slash", lambda c: c.a.create("/d/", b"", sequence=True)),
    ("ls /d", lambda c: sorted(c.a.get_children("/d"))),
    ("ls /d with stat", lambda c: (lambda r: (sorted(r[0]), r[1]))(c.a.get_children("/d", include_data=True))),
    ("stat eph", lambda c: c.a.exists("/d/eseq-0000000003")),
    ("child of ephemeral", lambda c: c.a.create("/d/eseq-0000000003/x")),
    ("create eph", lambda c: c.b.create("/d/eph", b"", ephemeral=True)),
    ("stat eph of B from A", lambda c: c.a.exists("/d/eph")),
    ("create no parent", lambda c: c.a.create("/nope/child")),
    ("get missing", lambda c: c.a.get("/nope")),
    ("set missing", lambda c: c.a.set("/nope", b"")),
    ("delete missing", lambda c: c.a.delete("/nope")),
    ("exists missing", lambda c: c.a.exists("/nope")),
    ("ls missing", lambda c: c.a.get_children("/nope")),
    ("getAcl missing", lambda c: c.a.get_acls("/nope")),
    ("binary data", lambda c: (c.a.create("/bin", b"\x00\xff\x01"), c.a.get("/bin"))),
    ("empty data", lambda c: (c.a.create("/empty"), c.a.get("/empty"))),
    ("big data 512KiB", lambda c: (c.a.set("/bin", bytes(range(256)) * 2048), c.a.get("/bin"))),
    ("raw null data", lambda c: (c.rawres(c.r.create("/nulldata", None)), c.rawres(c.r.get_data("/nulldata")))),
    # -- bad paths and protected nodes (raw, so the server does the checking)
    ("bad path empty", raw_bad_path("")),
    ("bad path relative", raw_bad_path("d")),
    ("bad path trailing slash", raw_bad_path("/d/x/")),
    ("bad path double slash", raw_bad_path("/d//x")),
    ("bad path dot", raw_bad_path("/d/./x")),
    ("bad path dotdot", raw_bad_path("/d/../x")),
    ("bad path control char", raw_bad_path("/d/\u0001x")),
    ("bad path NUL", raw_bad_path("/d/\u0000x")),
    ("bad path trailing slash, parent exists", raw_bad_path("/d/")),
    ("bad path dot, parent exists", raw_bad_path("/d/.")),
    ("bad path dotdot, parent exists", raw_bad_path("/d/..")),
    ("bad path double slash at root", raw_bad_path("//d")),
    ("bad path 0x7f", raw_bad_path("/d/\u007f")),
    ("bad path private use char", raw_bad_path("/d/\ue000")),
    ("bad path exists (reads do not validate)", lambda c: c.rawres(c.r.exists("/d/"))),
    ("bad path getData", lambda c: c.rawres(c.r.get_data("no/slash"))),
    ("delete /zookeeper", lambda c: c.a.delete("/zookeeper")),
    ("delete /zookeeper/quota", lambda c: c.a.delete("/zookeeper/quota")),
    ("delete /zookeeper/config", lambda c: c.rawres(c.r.delete("/zookeeper/config"))),
    ("delete /", lambda c: c.rawres(c.r.delete("/"))),
    ("create under /zookeeper", lambda c: c.a.create("/zookeeper/mine", b"")),
    ("set /zookeeper/config", lambda c: c.a.set("/zookeeper/config", b"x")),
    # -- one-shot watches, seen by the raw session R in wire order
    ("R exists-watch missing /w", lambda c: c.rawres(c.r.exists("/w", watch=True))),
    ("create /w fires created", lambda c: (c.a.create("/w", b"1"), c.revents(), c.a.exists("/w"))),
    ("R data+child watches on /w", lambda c: (c.rawres(c.r.get_data("/w", True)),
                                             c.rawres(c.r.get_children("/w", True)))),
    ("set /w and create child", lambda c: (c.a.set("/w", b"2"), c.a.create("/w/k"), c.a.set("/w", b"3"),
                                           c.revents())),
    ("R watches again, delete child then /w", lambda c: (
        c.rawres(c.r.get_data("/w", True)), c.rawres(c.r.get_children("/w", True)),
        c.a.delete("/w/k"), c.a.delete("/w"), c.revents())),
    ("R getData watch on missing is not set", lambda c: (
        c.rawres(c.r.get_data("/w", True)), c.a.create("/w"), c.revents())),
    ("setACL and sync fire no watch", lambda c: (
        c.rawres(c.r.get_data("/w", True)), c.a.set_acls("/w", OPEN_ACL_UNSAFE), c.a.sync("/w"),
        c.revents(), c.a.delete("/w"), c.revents())),
    ("kazoo exists watch", lambda c: (c.a.exists("/kw", watch=c.kwatch), c.b.create("/kw", b"k"),
                                      c.kevents_wait(1))),
    ("kazoo data watch on delete", lambda c: (c.a.get("/kw", watch=c.kwatch), c.b.delete("/kw"),
                                              c.kevents_wait(1))),
    # -- persistent watches (addWatch 106)
    ("addWatch recursive /pr", lambda c: (c.a.create("/pr"), c.rawres(c.r.add_watch("/pr", 1)))),
    ("recursive events", lambda c: (c.a.create("/pr/a", b"1"), c.a.create("/pr/a/b"), c.a.set("/pr/a/b", b"x"),
                                    c.a.delete("/pr/a/b"), c.a.set("/pr", b"p"), c.revents())),
    ("addWatch persistent /pr/a", lambda c: (c.rawres(c.r.add_watch("/pr/a", 0)), c.a.create("/pr/a/z"),
                                            c.a.delete("/pr/a/z"), c.revents())),
    ("removeWatches any /pr", lambda c: (c.rawres(c.r.remove_watches("/pr", 3)),
                                         c.rawres(c.r.remove_watches("/pr", 3)),
                                         c.a.set("/pr", b"q"), c.a.set("/pr/a", b"q"), c.revents())),
    ("checkWatches none", lambda c: c.rawres(c.r.remove_watches("/nothing", 1, op=zkraw.CHECK_WATCHES))),
    # -- multi (kazoo transaction + raw)
    ("multi ok", lambda c: (lambda t: (t.create("/m1", b"m"), t.create("/m1/a"), t.set_data("/d", b"v4"),
                                       t.check("/d", 3), t.commit()))(c.a.transaction())[-1]),
    ("multi stats share zxid", lambda c: (c.a.exists("/m1"), c.a.exists("/m1/a"), c.a.exists("/d"))),
    ("multi fails on check", lambda c: (lambda t: (t.create("/m2"), t.check("/d", 99), t.create("/m3"),
                                                   t.commit()))(c.a.transaction())[-1]),
    ("multi nothing applied", lambda c: (c.a.exists("/m2"), c.a.exists("/m3"), c.a.get("/d"))),
    ("raw multi failure codes", lambda c: c.rawres(c.r.multi([
        zkraw.op_create("/m4"), zkraw.op_delete("/nope"), zkraw.op_set("/d", b"zz")]))),
    ("raw multi delete+create same", lambda c: c.rawres(c.r.multi([
        zkraw.op_delete("/m1/a"), zkraw.op_create("/m1/a", b"again"), zkraw.op_check("/m1/a", 0),
        zkraw.op_set("/m1/a", b"set", 0)]))),
    ("raw multi NOTEMPTY", lambda c: c.rawres(c.r.multi([zkraw.op_delete("/m1")]))),
    ("raw multiRead", lambda c: c.rawres(c.r.multi([
        zkraw.op_get_data("/d"), zkraw.op_get_children("/m1"), zkraw.op_get_data("/nope")],
        op=zkraw.MULTI_READ))),
    ("empty multi", lambda c: c.rawres(c.r.multi([]))),
    # -- ACLs and auth
    ("create digest acl node", lambda c: c.a.create("/acl", b"secret", acl=[U1, WORLD_READ])),
    ("B getAcl redacted", lambda c: c.b.get_acls("/acl")),
    ("B get ok (world read)", lambda c: c.b.get("/acl")),
    ("B set NOAUTH", lambda c: c.b.set("/acl", b"x")),
    ("B create child NOAUTH", lambda c: c.b.create("/acl/x")),
    ("B setAcl NOAUTH", lambda c: c.b.set_acls("/acl", OPEN_ACL_UNSAFE)),
    ("A addauth", lambda c: c.a.add_auth("digest", "user1:pw1")),
    ("A set", lambda c: c.a.set("/acl", b"s2")),
    ("A getAcl full", lambda c: c.a.get_acls("/acl")),
    ("A create child", lambda c: c.a.create("/acl/kid", b"")),
    ("A setAcl bad aversion", lambda c: c.a.set_acls("/acl", [U1], version=3)),
    ("A setAcl read-only", lambda c: c.a.set_acls("/acl", [U1_READ], version=0)),
    ("A setAcl without ADMIN", lambda c: c.a.set_acls("/acl", [U1], version=1)),
    ("A set now NOAUTH", lambda c: c.a.set("/acl", b"s3")),
    ("B get now NOAUTH", lambda c: c.b.get("/acl")),
    ("B ls now NOAUTH", lambda c: c.b.get_children("/acl")),
    ("B exists still ok", lambda c: c.b.exists("/acl")),
    ("B delete child NOAUTH (no DELETE on parent)", lambda c: c.b.delete("/acl/kid")),
    ("super reads and writes", lambda c: (c.super_client().get("/acl"), c.s.set("/acl", b"super"),
                                          c.s.delete("/acl/kid"), c.s.get_acls("/acl"))),
    ("auth ACL without auth", lambda c: c.b.create("/creator", b"", acl=CREATOR_ALL_ACL)),
    ("B wrong-password auth then NOAUTH", lambda c: (c.b.add_auth("digest", "user1:wrong"), c.b.get("/acl"))),
    ("auth ACL with auth", lambda c: (c.a.create("/creator", b"", acl=CREATOR_ALL_ACL),
                                      c.a.get_acls("/creator"))),
    ("unknown scheme", lambda c: c.a.create("/badacl", b"", acl=[ACL(31, Id("foo", "bar"))])),
    ("empty acl list", lambda c: c.rawres(c.r.create("/noacl", b"", acl=[]))),
    ("bad perms accepted?", lambda c: c.rawres(c.r.create("/perms0", b"", acl=[(0, "world", "anyone")]))),
    ("ip acl", lambda c: (c.a.create("/ipacl", b"", acl=[ACL(31, Id("ip", "127.0.0.1"))]), c.b.get("/ipacl"))),
    ("whoAmI", lambda c: (c.rawres(c.r.who_am_i()), c.r.auth("digest", b"user2:pw2"), c.rawres(c.r.who_am_i()))),
    # -- session-scoped reads
    ("R ephemerals", lambda c: (c.rawres(c.r.create("/e", b"")), c.rawres(c.r.create("/e/1", b"", flags=1)),
                                c.rawres(c.r.create("/e/2", b"", flags=3)))),
    ("getEphemerals /e", lambda c: c.rawres(c.r.get_ephemerals("/e"))),
    ("getEphemerals /", lambda c: c.rawres(c.r.get_ephemerals("/"))),
    ("getEphemerals prefix", lambda c: c.rawres(c.r.get_ephemerals("/e/"))),
    ("getAllChildrenNumber /d", lambda c: c.rawres(c.r.get_all_children_number("/d"))),
    ("getAllChildrenNumber /e", lambda c: c.rawres(c.r.get_all_children_number("/e"))),
    ("getAllChildrenNumber missing", lambda c: c.rawres(c.r.get_all_children_number("/nope"))),
    # -- containers and TTL
    ("create container", lambda c: c.rawres(c.r.create("/cont", b"", flags=4, op=zkraw.CREATE_CONTAINER))),
    ("container child", lambda c: (c.a.create("/cont/kid", b""), c.a.exists("/cont"))),
    ("container reaped after last child", lambda c: (c.a.delete("/cont/kid"), wait_gone(c.a, "/cont"))),
    ("create ttl", lambda c: c.rawres(c.r.create("/ttl", b"t", flags=5, ttl=400))),
    ("create ttl seq", lambda c: c.rawres(c.r.create("/ttlseq-", b"", flags=6, ttl=60000))),
    ("create ttl zero", lambda c: c.rawres(c.r.create("/ttl0", b"", flags=5, ttl=0))),
    ("create ttl too big", lambda c: c.rawres(c.r.create("/ttlbig", b"", flags=5, ttl=1 << 41))),
    ("ttl flag with plain create2", lambda c: c.rawres(c.r.create("/ttlp", b"", flags=5))),
    ("ttl with non-ttl flags", lambda c: c.rawres(c.r.create("/ttlq", b"", flags=0, ttl=1000))),
    ("ttl node reaped", lambda c: wait_gone(c.a, "/ttl")),
    ("ttl seq node kept", lambda c: sorted(x for x in c.a.get_children("/") if x.startswith("ttlseq"))),
    # -- sync, ephemeral cleanup on close
    ("sync", lambda c: c.a.sync("/d")),
    ("B closes, its ephemeral goes", lambda c: (c.b.stop(), c.a.exists("/d/eph"), sorted(c.a.get_children("/d")))),
    ("final tree", lambda c: sorted(c.a.get_children("/"))),
    ("final getAllChildrenNumber /", lambda c: c.rawres(c.r.get_all_children_number("/"))),
    ("final /d stat", lambda c: c.a.exists("/d")),
]


STEP_TIMEOUT = 30.0


def run_step(ctx, fn):
    """Run one step in a thread so that a hung server cannot hang the suite."""
    box = {}

    def target():
        try:
            box["val"] = fn(ctx)
        except (KazooException, zkraw.Closed, OSError, ValueError, TypeError) as e:
            box["val"] = e
        except BaseException as e:  # noqa: BLE001 - recorded as the step's result
            box["val"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(STEP_TIMEOUT)
    if t.is_alive():
        return None, False
    return box["val"], True


def run_conversation(srv):
    ctx = Ctx(srv)
    out = []
    try:
        for idx, (name, fn) in enumerate(STEPS):
            val, finished = run_step(ctx, fn)
            if not finished:
                out.append((name, "TIMEOUT after %ss" % STEP_TIMEOUT))
                out.extend((n, "NOT RUN") for n, _ in STEPS[idx + 1:])
                break
            out.append((name, json.loads(json.dumps(ctx.norm(val), default=repr))))
    finally:
        ctx.close()
    return out


def first_mismatch(ref, cand):
    for i, ((name, r), (_n, c)) in enumerate(zip(ref, cand)):
        if r != c:
            return i
    return None


def explain(ref, cand, i, ref_impl, cand_impl):
    lines = ["first mismatch at step %d %r (of %d):" % (i, ref[i][0], len(ref))]
    for j in range(max(0, i - 3), i):
        lines.append("  ok   step %d %-40s %s" % (j, ref[j][0], json.dumps(ref[j][1])[:150]))
    lines.append("  %-10s %s" % (ref_impl + ":", json.dumps(ref[i][1], indent=None)))
    lines.append("  %-10s %s" % (cand_impl + ":", json.dumps(cand[i][1], indent=None)))
    rest = [j for j in range(i + 1, len(ref)) if ref[j][1] != cand[j][1]]
    if rest:
        lines.append("  later mismatching steps: " + ", ".join("%d %r" % (j, ref[j][0]) for j in rest))
    return "\n".join(lines)


def test_differential_conversation(differential_servers):
    ref, cand = differential_servers
    ref_out = run_conversation(ref)
    cand_out = run_conversation(cand)
    assert len(ref_out) == len(STEPS) == len(cand_out)
    i = first_mismatch(ref_out, cand_out)
    if i is not None:
        pytest.fail(explain(ref_out, cand_out, i, "apache", cand.impl), pytrace=False)


def test_steps_are_meaningful(zk_server_factory):
    """Guard against a conversation that proves nothing: the reference run must contain the
    errors and events this suite is about (checked against Apache only)."""
    cfg = {"extendedTypesEnabled": "true",
           "DigestAuthenticationProvider.superDigest": digest_id("super", "secret")}
    ref = zk_server_factory(cfg=cfg, jvm_flags=JVM_FLAGS, impl="apache", name="ref")
    out = dict(run_conversation(ref))
    text = json.dumps(out)
    for code in ("NODEEXISTS", "NONODE", "NOTEMPTY", "BADVERSION", "NOAUTH", "BADARGUMENTS",
                 "INVALIDACL", "NOCHILDRENFOREPHEMERALS", "RUNTIMEINCONSISTENCY", "NOWATCHER"):
        assert code in text, code
    assert out["create seq 1"] == "/d/seq-0000000001"
    assert out["delete /zookeeper"] == "ERR BADARGUMENTS"
    assert out["container reaped after last child"][1] is True
    assert out["ttl node reaped"] is True
    assert "CREATED" in json.dumps(out["create /w fires created"])
    assert out["B getAcl redacted"][0] == [[31, "digest", "user1:x"], [1, "world", "anyone"]]
