"""A tiny synchronous ZooKeeper wire client (jute over TCP) for tests.

Used where kazoo (2.11) has no API: addWatch (106), createTTL (21), createContainer (19),
getEphemerals (103), getAllChildrenNumber (104), whoAmI (107), unknown opcodes, and for
hand-made broken frames.  Notifications (xid -1) that arrive before a reply are queued in
`events` in wire order, so a test can check that an event came before the reply.
"""

import socket
import struct
import time

# opcodes
CREATE, DELETE, EXISTS, GET_DATA, SET_DATA, GET_ACL, SET_ACL, GET_CHILDREN, SYNC = 1, 2, 3, 4, 5, 6, 7, 8, 9
PING, GET_CHILDREN2, CHECK, MULTI, CREATE2 = 11, 12, 13, 14, 15
CHECK_WATCHES, REMOVE_WATCHES, CREATE_CONTAINER, CREATE_TTL, MULTI_READ = 17, 18, 19, 21, 22
AUTH, SET_WATCHES, GET_EPHEMERALS, GET_ALL_CHILDREN_NUMBER, ADD_WATCH, WHO_AM_I = 100, 101, 103, 104, 106, 107
CLOSE_SESSION = -11

PERSISTENT, PERSISTENT_RECURSIVE = 0, 1  # addWatch modes

OPEN_ACL = [(31, "world", "anyone")]

EVENT_NAMES = {1: "CREATED", 2: "DELETED", 3: "CHANGED", 4: "CHILD"}


class Closed(Exception):
    """The server closed the connection."""


# ---- jute encoding -------------------------------------------------------------------------
def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def buf(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def string(s):
    if s is None:
        return i32(-1)
    return buf(s.encode("utf-8"))


def acl_vec(acl):
    out = i32(len(acl))
    for perms, scheme, ident in acl:
        out += i32(perms) + string(scheme) + string(ident)
    return out


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("short record")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def long(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        return None if n < 0 else self._take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def strings(self):
        n = self.int()
        return None if n < 0 else [self.string() for _ in range(n)]

    def stat(self):
        names = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                 "ephemeralOwner", "dataLength", "numChildren", "pzxid")
        fmt = ">qqqqiiiqiiq"
        vals = struct.unpack(fmt, self._take(struct.calcsize(fmt)))
        return dict(zip(names, vals))

    def acls(self):
        n = self.int()
        return [(self.int(), self.string(), self.string()) for _ in range(n)]

    def remaining(self):
        return len(self.data) - self.pos


class Reply:
    def __init__(self, xid, zxid, err, body):
        self.xid, self.zxid, self.err, self.body = xid, zxid, err, Reader(body)

    def __repr__(self):
        return "Reply(xid=%d, zxid=%#x, err=%d, %d body bytes)" % (
            self.xid, self.zxid, self.err, len(self.body.data))


# ---- connection ----------------------------------------------------------------------------
def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise Closed("connection closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def read_frame(sock):
    (n,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, n)


def connect_request(timeout_ms=30000, session_id=0, passwd=b"\x00" * 16, last_zxid=0, read_only=False):
    return i32(0) + i64(last_zxid) + i32(timeout_ms) + i64(session_id) + buf(passwd) + boolean(read_only)


def is_closed(sock, wait=5.0):
    """True if the peer closes `sock` within `wait` seconds (EOF or reset), draining any data."""
    sock.settimeout(wait)
    deadline = time.time() + wait
    try:
        while time.time() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


class RawClient:
    def __init__(self, host, port, timeout_ms=30000, sock_timeout=10.0, read_only=False,
                 session_id=0, passwd=b"\x00" * 16):
        self.sock = socket.create_connection((host, port), timeout=sock_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = 0
        self.events = []  # (type, state, path, zxid)
        self.send_frame(connect_request(timeout_ms, session_id=session_id, passwd=passwd,
                                        read_only=read_only))
        r = Reader(read_frame(self.sock))
        self.protocol_version = r.int()
        self.timeout_ms = r.int()
        self.session_id = r.long()
        self.passwd = r.buffer()
        self.read_only = r.bool() if r.remaining() else None
        if self.session_id == 0:
            raise Closed("session refused")

    # -- framing
    def send_frame(self, payload):
        self.sock.sendall(i32(len(payload)) + payload)

    def send(self, op, body=b"", xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send_frame(i32(xid) + i32(op) + body)
        return xid

    def read_reply(self):
        """Next non-notification, non-ping reply; notifications are queued in self.events."""
        while True:
            data = read_frame(self.sock)
            r = Reader(data)
            xid, zxid, err = r.int(), r.long(), r.int()
            if xid == -1:
                self.events.append((r.int(), r.int(), r.string(), zxid))
                continue
            if xid == -2:
                continue
            return Reply(xid, zxid, err, data[16:])

    def call(self, op, body=b""):
        xid = self.send(op, body)
        rep = self.read_reply()
        if rep.xid != xid:
            raise AssertionError("xid mismatch: sent %d got %r" % (xid, rep))
        return rep

    def wait_events(self, n, timeout=10.0):
        """Block until at least n events are queued (reading notifications only)."""
        deadline = time.time() + timeout
        old = self.sock.gettimeout()
        ping_every = self.timeout_ms / 3000.0
        last_ping = time.time()
        try:
            while len(self.events) < n:
                now = time.time()
                if now >= deadline:
                    break
                if now - last_ping >= ping_every:  # keep the session alive while waiting
                    self.send_frame(i32(-2) + i32(PING))
                    last_ping = now
                self.sock.settimeout(min(deadline - now, ping_every / 2))
                try:
                    data = read_frame(self.sock)
                except socket.timeout:
                    continue
                r = Reader(data)
                xid, zxid, _err = r.int(), r.long(), r.int()
                if xid == -1:
                    self.events.append((r.int(), r.int(), r.string(), zxid))
        finally:
            self.sock.settimeout(old)
        return self.events

    def take_events(self):
        ev, self.events = self.events, []
        return ev

    # -- operations (return (err, result))
    def ping(self):
        self.send(PING, xid=-2)
        data = read_frame(self.sock)
        return Reader(data).int()

    def auth(self, scheme, cred):
        self.send(AUTH, i32(0) + string(scheme) + buf(cred), xid=-4)
        return self.read_reply().err

    def create(self, path, data=b"", acl=OPEN_ACL, flags=0, ttl=None, op=None):
        body = string(path) + buf(data) + acl_vec(acl) + i32(flags)
        if ttl is not None:
            body += i64(ttl)
            op = op or CREATE_TTL
        op = op or CREATE2
        rep = self.call(op, body)
        if rep.err:
            return rep.err, None
        if op == CREATE:
            return 0, rep.body.string()
        return 0, (rep.body.string(), rep.body.stat())

    def delete(self, path, version=-1):
        return self.call(DELETE, string(path) + i32(version)).err, None

    def exists(self, path, watch=False):
        rep = self.call(EXISTS, string(path) + boolean(watch))
        return rep.err, (None if rep.err else rep.body.stat())

    def get_data(self, path, watch=False):
        rep = self.call(GET_DATA, string(path) + boolean(watch))
        return rep.err, (None if rep.err else (rep.body.buffer(), rep.body.stat()))

    def set_data(self, path, data, version=-1):
        rep = self.call(SET_DATA, string(path) + buf(data) + i32(version))
        return rep.err, (None if rep.err else rep.body.stat())

    def get_children(self, path, watch=False):
        rep = self.call(GET_CHILDREN2, string(path) + boolean(watch))
        return rep.err, (None if rep.err else (sorted(rep.body.strings()), rep.body.stat()))

    def get_acl(self, path):
        rep = self.call(GET_ACL, string(path))
        return rep.err, (None if rep.err else (rep.body.acls(), rep.body.stat()))

    def add_watch(self, path, mode):
        rep = self.call(ADD_WATCH, string(path) + i32(mode))
        if rep.err:
            return rep.err, None
        return 0, rep.body.int()

    def remove_watches(self, path, wtype, op=REMOVE_WATCHES):
        return self.call(op, string(path) + i32(wtype)).err, None

    def get_ephemerals(self, prefix):
        rep = self.call(GET_EPHEMERALS, string(prefix))
        return rep.err, (None if rep.err else sorted(rep.body.strings()))

    def get_all_children_number(self, path):
        rep = self.call(GET_ALL_CHILDREN_NUMBER, string(path))
        return rep.err, (None if rep.err else rep.body.int())

    def who_am_i(self):
        rep = self.call(WHO_AM_I)
        if rep.err:
            return rep.err, None
        n = rep.body.int()
        return 0, sorted((rep.body.string(), rep.body.string()) for _ in range(n))

    def sync(self, path):
        rep = self.call(SYNC, string(path))
        return rep.err, (None if rep.err else rep.body.string())

    def multi(self, ops, op=MULTI):
        """ops: list of (opcode, body bytes). Returns (err, [(type, err, body-Reader)])."""
        body = b""
        for code, rec in ops:
            body += i32(code) + boolean(False) + i32(-1) + rec
        body += i32(-1) + boolean(True) + i32(-1)
        rep = self.call(op, body)
        if rep.err:
            return rep.err, None
        results = []
        r = rep.body
        while True:
            t, done, err = r.int(), r.bool(), r.int()
            if done:
                break
            if t == -1:
                results.append((t, r.int(), None))
            elif t in (CREATE,):
                results.append((t, err, r.string()))
            elif t in (CREATE2, CREATE_TTL, CREATE_CONTAINER):
                results.append((t, err, (r.string(), r.stat())))
            elif t == SET_DATA:
                results.append((t, err, r.stat()))
            elif t == GET_DATA:
                results.append((t, err, (r.buffer(), r.stat())))
            elif t == GET_CHILDREN:
                results.append((t, err, sorted(r.strings())))
            else:
                results.append((t, err, None))
        return 0, results

    def close(self):
        try:
            self.call(CLOSE_SESSION)
        except (OSError, Closed, ValueError):
            pass
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# multi sub-records
def op_create(path, data=b"", acl=OPEN_ACL, flags=0):
    return (CREATE, string(path) + buf(data) + acl_vec(acl) + i32(flags))


def op_delete(path, version=-1):
    return (DELETE, string(path) + i32(version))


def op_set(path, data, version=-1):
    return (SET_DATA, string(path) + buf(data) + i32(version))


def op_check(path, version):
    return (CHECK, string(path) + i32(version))


def op_get_data(path):
    return (GET_DATA, string(path) + boolean(False))


def op_get_children(path):
    return (GET_CHILDREN, string(path) + boolean(False))


def four_letter(host, port, cmd, timeout=5.0):
    """Send a 4lw and return the raw text the server writes before closing."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(cmd.encode())
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode("utf-8", "replace")
