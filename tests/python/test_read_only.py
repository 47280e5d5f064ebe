"""Read-only mode (`-Dreadonlymode.enabled=true`) on a real 3-member ensemble with local
sessions on (`localSessionsEnabled=true`: Apache 3.8's read-only server can create sessions only
then), through raw handshakes (`zkraw`, so both servers' exact answers are checked) and kazoo:

- a member cut off from its quorum (the two others SIGKILLed) serves read-only after its grace
  period: `srvr` says `Mode: read-only`, `isro` says `ro`;
- a new session with `canBeReadOnly` is answered read-only, reads, and its writes and `sync`
  get NOTREADONLY (-119); kazoo with `read_only=True` connects (CONNECTED_RO) and reads;
- a client without `canBeReadOnly`, and the reconnect of a global session, are refused (the
  socket is closed; Apache logs "Refusing global session reconnection in RO mode");
- when the quorum is back the member serves read-write again (`isro` says `rw`), the read-only
  connection is closed, and a new connection writes.

`ZK_IMPL=apache` runs the same test against Apache ZooKeeper 3.8.
"""

import socket
import struct
import time

import pytest

import zkraw

NOTREADONLY = -119

RO_FLAGS = ["-Dreadonlymode.enabled=true"]


def wait_for(what, check, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s" % what)


def mode_line(member):
    try:
        out = member.four("srvr")
    except OSError:
        return None
    for line in out.splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: "):].strip()
    return None


def test_member_without_quorum_serves_read_only_clients_until_the_quorum_returns(
        ensemble_factory, kazoo_factory):
    ens = ensemble_factory(voters=3, jvm_flags=RO_FLAGS,
                           cfg={"localSessionsEnabled": "true",
                                "localSessionsUpgradingEnabled": "true"})
    survivor = ens.followers()[0]
    host, port = "127.0.0.1", survivor.port
    setup = zkraw.RawClient(host, port, read_only=True)
    assert setup.read_only is False, "a read-write server says so"
    assert setup.create("/ro", b"before")[0] == 0
    # An ephemeral makes the session global (upgraded with a createSession txn).
    assert setup.create("/ro-eph", b"", flags=1)[0] == 0
    session, passwd = setup.session_id, setup.passwd
    setup.sock.close()

    others = [m for m in ens.members if m is not survivor]
    for m in others:
        ens.kill(m)
    wait_for("Mode: read-only", lambda: mode_line(survivor) == "read-only")
    assert survivor.four("isro").strip() == "ro"

    ro = zkraw.RawClient(host, port, read_only=True)
    assert ro.read_only is True and ro.session_id not in (0, session)
    err, (data, stat) = ro.get_data("/ro")
    assert (err, data, stat["version"]) == (0, b"before", 0)
    assert ro.create("/ro/x")[0] == NOTREADONLY
    assert ro.set_data("/ro", b"changed")[0] == NOTREADONLY
    assert ro.sync("/ro")[0] == NOTREADONLY
    assert ro.get_data("/ro")[1][0] == b"before"

    # Refused: a client that cannot live with a read-only server, a global session.
    with pytest.raises((zkraw.Closed, OSError)):
        zkraw.RawClient(host, port, read_only=False)
    with pytest.raises((zkraw.Closed, OSError)):
        zkraw.RawClient(host, port, read_only=True, session_id=session, passwd=passwd)

    from kazoo.exceptions import NotReadOnlyCallError
    from kazoo.protocol.states import KeeperState
    kz = kazoo_factory(survivor, read_only=True)
    assert kz.client_state == KeeperState.CONNECTED_RO
    assert kz.get("/ro")[0] == b"before"
    with pytest.raises(NotReadOnlyCallError):
        kz.create("/ro/kazoo", b"")
    kz.stop()

    for m in others:
        m.start(wait=False)
    ens.wait_ready()
    wait_for("isro rw", lambda: survivor.four("isro").strip() == "rw")
    # The read-only connection was closed; a new one is read-write and may write.
    assert zkraw.is_closed(ro.sock, wait=10)
    rw = zkraw.RawClient(host, port, read_only=True)
    assert rw.read_only is False
    assert rw.create("/ro/after", b"a")[0] == 0
