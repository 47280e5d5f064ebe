"""Hostile and malformed input on the client port, with raw sockets.

Expected behaviour was learnt from Apache ZooKeeper 3.8 (NIOServerCnxn):
  * frame length > jute.maxbuffer (1048575) or < 0: "Len error", socket closed, before or
    after the handshake; exactly maxbuffer is accepted (the server waits for the payload);
  * a request whose record fails to deserialize gets err -5 MARSHALLINGERROR and the
    connection and session stay usable; a frame too short for the RequestHeader closes it;
  * unknown opcode: reply err -6 UNIMPLEMENTED, then the connection is closed;
  * a 4lw is answered raw and the socket closed; a non-whitelisted one prints
    "<cmd> is not executed because it is not in the whitelist.\n"; the default whitelist is srvr;
  * maxClientCnxns=N: the N+1th connection from one IP is closed without a reply.
"""

import socket
import struct
import time

import pytest

import zkraw
from zkraw import Closed, i32, is_closed

MAXBUF = 1048575


def raw_socket(srv):
    return socket.create_connection((srv.host, srv.port), timeout=10)


def assert_healthy(srv, witness):
    """The witness session still answers, and a brand new session works."""
    err, stat = witness.exists("/")
    assert err == 0 and stat["numChildren"] >= 1
    with srv.raw() as c:
        assert c.exists("/zookeeper")[0] == 0


@pytest.fixture
def witness(server):
    c = server.raw()
    yield c
    c.close()


@pytest.mark.parametrize("handshake", [False, True], ids=["before-handshake", "after-handshake"])
@pytest.mark.parametrize("length", [MAXBUF + 1, 64 * 1024 * 1024, -1, -5], ids=lambda n: "len%d" % n)
def test_bad_frame_length_closes(server, witness, handshake, length):
    if handshake:
        c = server.raw()
        s = c.sock
    else:
        s = raw_socket(server)
    s.sendall(struct.pack(">i", length) + b"\x00" * 64)
    assert is_closed(s, 10), "server kept the connection open after frame length %d" % length
    s.close()
    assert_healthy(server, witness)


def test_frame_of_exactly_maxbuffer_is_accepted(server, witness):
    c = server.raw()
    c.sock.sendall(struct.pack(">i", MAXBUF) + b"\x00" * 100)
    # The server must wait for the rest of the frame, not reject the length.
    assert not is_closed(c.sock, 1.5)
    c.sock.close()
    assert_healthy(server, witness)


def test_garbage_record_gets_marshalling_error_and_session_survives(server, witness):
    c = server.raw()
    # getData whose path string claims 16 bytes but carries 2
    c.send_frame(i32(7) + i32(zkraw.GET_DATA) + b"\x00\x00\x00\x10ab")
    rep = c.read_reply()
    assert (rep.xid, rep.err) == (7, -5)
    # create with a truncated record: nothing is created
    c.send_frame(i32(8) + i32(zkraw.CREATE) + b"\x00\x00\x00\x09/garbage1")
    rep = c.read_reply()
    assert (rep.xid, rep.err) == (8, -5)
    # setData with a negative buffer length inside the body
    c.send_frame(i32(9) + i32(zkraw.SET_DATA) + b"\xff\xff\xff\xf0")
    rep = c.read_reply()
    assert (rep.xid, rep.err) == (9, -5)
    # same connection, same session keeps working
    c.xid = 9
    assert c.exists("/garbage1")[0] == -101
    assert c.create("/bad-input-ok", b"1")[0] == 0
    assert c.delete("/bad-input-ok")[0] == 0
    c.close()
    assert_healthy(server, witness)


def test_frame_shorter_than_request_header_closes(server, witness):
    c = server.raw()
    c.send_frame(b"\xff\xfe\xfd")
    with pytest.raises((Closed, ConnectionResetError)):
        c.read_reply()
    assert_healthy(server, witness)


def test_garbage_handshake_closes(server, witness):
    s = raw_socket(server)
    s.sendall(struct.pack(">i", 8) + b"garbage!")
    assert is_closed(s, 10)
    s.close()
    assert_healthy(server, witness)


@pytest.mark.parametrize("opcode", [999, 10, 23, -3])
def test_unknown_opcode_unimplemented_then_close(server, witness, opcode):
    c = server.raw()
    xid = c.send(opcode, b"")
    rep = c.read_reply()
    assert rep.xid == xid
    assert rep.err == -6, "expected UNIMPLEMENTED (-6), got %r" % rep
    assert is_closed(c.sock, 10), "connection not closed after unimplemented opcode %d" % opcode
    assert_healthy(server, witness)


def test_ruok(server):
    assert server.four("ruok") == "imok"


def test_srvr_format(server):
    out = server.four("srvr")
    lines = out.splitlines()
    assert lines[0].startswith("Zookeeper version: ")
    for prefix in ("Latency min/avg/max: ", "Received: ", "Sent: ", "Connections: ",
                   "Outstanding: ", "Zxid: 0x", "Mode: standalone", "Node count: "):
        assert any(l.startswith(prefix) for l in lines), (prefix, out)


def test_four_letter_whitelist(zk_server_factory):
    srv = zk_server_factory(cfg={"4lw.commands.whitelist": "ruok, srvr"})
    assert srv.four("ruok") == "imok"
    for cmd in ("stat", "mntr", "conf", "cons", "envi", "wchs", "dump", "isro"):
        assert srv.four(cmd) == "%s is not executed because it is not in the whitelist.\n" % cmd
    assert "Mode: standalone" in srv.four("srvr")
    # the server still serves clients after all that
    with srv.raw() as c:
        assert c.exists("/")[0] == 0


def test_default_whitelist_is_srvr_only(zk_server_factory):
    srv = zk_server_factory(cfg={"4lw.commands.whitelist": None})
    assert "Mode: standalone" in srv.four("srvr")
    assert srv.four("ruok") == "ruok is not executed because it is not in the whitelist.\n"
    assert srv.four("mntr") == "mntr is not executed because it is not in the whitelist.\n"


def test_unknown_four_letter_word_is_a_bad_length(server, witness):
    # "xxxx" read as a length is 0x78787878 > jute.maxbuffer: closed, nothing written
    assert server.four("xxxx") == ""
    assert_healthy(server, witness)


def test_max_client_cnxns_per_ip(zk_server_factory):
    srv = zk_server_factory(cfg={"maxClientCnxns": 5})
    clients = [srv.raw() for _ in range(5)]
    try:
        with pytest.raises((Closed, ConnectionResetError, BrokenPipeError)):
            srv.raw()
        # the five existing sessions are unaffected
        for c in clients:
            assert c.exists("/")[0] == 0
        # after one goes away, a new connection is accepted again
        clients.pop().close()
        deadline = time.time() + 10
        while True:
            try:
                clients.append(srv.raw())
                break
            except (Closed, ConnectionResetError, BrokenPipeError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        assert clients[-1].exists("/")[0] == 0
    finally:
        for c in clients:
            c.close()
