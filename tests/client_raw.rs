//! Raw bytes on the client port: golden byte strings captured from Apache ZooKeeper 3.8.0
//! (ConnectResponse with/without the readOnly byte, a getData reply, a header-only error reply, a
//! notification, ping), four-letter words, oversize frames, unknown opcodes, top-level check,
//! reconfig in standalone and sasl without SASL, the xid of every kind of reply, and which
//! packets keep a session alive. Varying fields (session id, password, times) are masked with
//! `X` before comparing.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::jute::{hex, mask, op, Enc};
use common::raw::{ConnectReq, RawConn};
use common::{four_letter, is_apache, Opts, ZkServer};

const CLOSE_WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn golden_conversation() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    // ConnectResponse = int protocolVersion, int timeOut, long sessionId, buffer passwd,
    // [bool readOnly] — the readOnly byte only if the client sent one.
    let mut c = RawConn::open(zk.port).await;
    let mut req = ConnectReq::new_session(30000);
    req.read_only = None;
    let r = c.handshake(&req).await.unwrap();
    let golden = "0000000000007530XXXXXXXXXXXXXXXX00000010XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
    assert_eq!(mask(&mask(&hex(&r.raw), 8, 8), 20, 16), golden);
    drop(c);
    let (mut c, r) = RawConn::session(zk.port).await;
    assert_eq!(
        mask(&mask(&hex(&r.raw), 8, 8), 20, 16),
        format!("{golden}00")
    );
    assert_eq!(r.read_only, Some(false));
    // Session creation took zxid 1 (the first session above was closed by dropping the socket
    // only, which does not end the session), so the second session is zxid 2 and create is 3.
    let body = Enc::new().str("/a").buf(b"hi").open_acl().int(0).bytes();
    let reply = c.call(op::CREATE, &body).await;
    assert_eq!(
        hex(&reply.raw),
        "00000001000000000000000300000000000000022f61"
    );

    // getData(/a, watch=true): header, buffer data, Stat (ctime/mtime masked).
    let reply = c
        .call(op::GET_DATA, &Enc::new().str("/a").bool(true).bytes())
        .await;
    let got = mask(&mask(&hex(&reply.raw), 16 + 6 + 16, 8), 16 + 6 + 24, 8);
    let stat = [
        "0000000000000003",         // czxid
        "0000000000000003",         // mzxid
        "XXXXXXXXXXXXXXXX",         // ctime
        "XXXXXXXXXXXXXXXX",         // mtime
        "000000000000000000000000", // version, cversion, aversion
        "0000000000000000",         // ephemeralOwner
        "0000000200000000",         // dataLength, numChildren
        "0000000000000003",         // pzxid
    ]
    .concat();
    let header = "00000002".to_string() + "0000000000000003" + "00000000";
    assert_eq!(got, format!("{header}000000026869{stat}"));

    // Error reply: header only, no body.
    let reply = c
        .call(op::GET_DATA, &Enc::new().str("/nope").bool(false).bytes())
        .await;
    assert_eq!(hex(&reply.raw), "000000030000000000000003ffffff9b");

    // setData fires the watch: the notification (xid -1, Apache 3.8 zxid -1, err 0,
    // WatcherEvent{type 3, state 3, path}) arrives before the setData reply.
    c.send(
        4,
        op::SET_DATA,
        &Enc::new().str("/a").buf(b"yo").int(-1).bytes(),
    )
    .await;
    let note = c.read_frame().await.unwrap();
    assert_eq!(
        hex(&note),
        "ffffffff".to_string()
            + "ffffffffffffffff"
            + "00000000"
            + "00000003"
            + "00000003"
            + "000000022f61"
    );
    let reply = c.read_reply().await.unwrap();
    assert_eq!(
        (reply.xid, reply.zxid, reply.err, reply.body.len()),
        (4, 4, 0, 68)
    );

    // Ping: xid -2, zxid = last processed zxid, no body.
    c.send(-2, op::PING, &[]).await;
    assert_eq!(
        hex(&c.read_frame().await.unwrap()),
        "fffffffe000000000000000400000000"
    );
}

#[tokio::test]
async fn four_letter_words() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    assert_eq!(four_letter(zk.port, "ruok"), "imok");
    let srvr = four_letter(zk.port, "srvr");
    assert!(srvr.starts_with("Zookeeper version: "), "{srvr}");
    for line in [
        "Mode: standalone\n",
        "Node count: 5\n",
        "Zxid: 0x0\n",
        "Outstanding: 0\n",
    ] {
        assert!(srvr.contains(line), "missing {line:?} in {srvr}");
    }
    // A bogus 4-byte "length" that is no 4lw is an oversize frame: closed without a reply.
    let mut c = RawConn::open(zk.port).await;
    c.send_raw(b"xyzw").await;
    assert!(c.closed_within(CLOSE_WAIT).await);

    let Some(zk) = ZkServer::start(Opts::default().cfg("4lw.commands.whitelist=srvr")) else {
        return;
    };
    assert_eq!(
        four_letter(zk.port, "ruok"),
        "ruok is not executed because it is not in the whitelist.\n"
    );
    assert!(four_letter(zk.port, "srvr").contains("Mode: standalone"));
}

#[tokio::test]
async fn oversize_frames_close_the_connection() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    // Before the handshake.
    let mut c = RawConn::open(zk.port).await;
    c.send_raw(&1_048_576i32.to_be_bytes()).await;
    c.send_raw(&[0; 16]).await;
    assert!(c.closed_within(CLOSE_WAIT).await);
    // Inside a session: length 1048576 > jute.maxbuffer (1048575).
    let (mut c, _) = RawConn::session(zk.port).await;
    c.send_raw(&1_048_576i32.to_be_bytes()).await;
    c.send_raw(&[0; 16]).await;
    assert!(c.closed_within(CLOSE_WAIT).await);
    // Negative length.
    let (mut c, _) = RawConn::session(zk.port).await;
    c.send_raw(&(-5i32).to_be_bytes()).await;
    assert!(c.closed_within(CLOSE_WAIT).await);
}

#[tokio::test]
async fn odd_opcodes() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut c, _) = RawConn::session(zk.port).await;
    let body = Enc::new().str("/n").buf(b"").open_acl().int(0).bytes();
    assert_eq!(c.call(op::CREATE, &body).await.err, 0);

    // sasl (102) with no SASL configured: err 0, zxid 0, body = null token (-1).
    let reply = c.call(op::SASL, &Enc::new().buf(b"abc").bytes()).await;
    assert_eq!(
        (reply.zxid, reply.err, hex(&reply.body)),
        (0, 0, "ffffffff".to_string())
    );

    // reconfig (16) standalone with reconfigEnabled=false: RECONFIGDISABLED (-123), header only.
    // (PROTOCOL.md lists -6 for standalone; Apache 3.8 answers -123 first.)
    let rc = Enc::new()
        .str("server.2=127.0.0.1:2888:3888;2182")
        .null()
        .null()
        .long(-1)
        .bytes();
    let reply = c.call(op::RECONFIG, &rc).await;
    assert_eq!((reply.err, reply.body.len()), (-123, 0));

    // Top-level check (13), only meant for multi. Apache 3.8: a failing check answers its
    // error header-only; a passing one is never answered (the next request's reply comes
    // first), and the connection stays usable.
    let reply = c
        .call(op::CHECK, &Enc::new().str("/n").int(5).bytes())
        .await;
    assert_eq!((reply.err, reply.body.len()), (-103, 0));
    let reply = c
        .call(op::CHECK, &Enc::new().str("/missing").int(0).bytes())
        .await;
    assert_eq!(reply.err, -101);
    c.send(50, op::CHECK, &Enc::new().str("/n").int(0).bytes())
        .await;
    c.send(51, op::EXISTS, &Enc::new().str("/n").bool(false).bytes())
        .await;
    // Apache never answers the passing check (an NPE on the server); zkserver answers it
    // with an empty OK so no client waits forever. Both keep the connection usable.
    let mut reply = c.read_reply().await.unwrap();
    if reply.xid == 50 {
        assert!(
            !is_apache(),
            "Apache does not answer a passing top-level check"
        );
        assert_eq!((reply.err, reply.body.len()), (0, 0));
        reply = c.read_reply().await.unwrap();
    }
    assert_eq!((reply.xid, reply.err), (51, 0));

    // Unknown opcode: err -6 UNIMPLEMENTED with zxid -1, then the connection is closed.
    c.send(60, 99, &[]).await;
    let reply = c.read_reply().await.unwrap();
    assert_eq!(
        (reply.xid, reply.zxid, reply.err, reply.body.len()),
        (60, -1, -6, 0)
    );
    assert!(c.closed_within(CLOSE_WAIT).await);
}

/// Unusual xids: go-zookeeper and kazoo number every request, setWatches and auth included,
/// from 1 upwards; the Java client uses -8 and -4; a client may wrap to 0 or sit at i32::MAX.
/// (-1 is left out only because this raw client reads it as a notification.)
const ODD_XIDS: [i32; 8] = [1, 0, 7, 123_456, i32::MAX, -8, -4, -3];

/// Every reply carries the xid of the request it answers, whatever that xid is; only a ping is
/// answered with -2 whatever it carried (Apache 3.8 writes -2 there). The table holds one
/// request of each kind of reply path (session-level packets, reads, writes, errors, multi),
/// so a path that writes a fixed xid fails here for the first client that numbers differently.
#[tokio::test]
async fn replies_echo_the_request_xid() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut c, _) = RawConn::session(zk.port).await;
    let create = Enc::new().str("/x").buf(b"").open_acl().int(0).bytes();
    let zxid = c.call(op::CREATE, &create).await.zxid;
    // Watches as a reconnecting client re-registers them; relative to the current zxid so no
    // event is synthesised: data and child on /x (unchanged), exist on a missing node.
    let watches = Enc::new()
        .long(zxid)
        .int(1)
        .str("/x")
        .int(1)
        .str("/nx")
        .int(1)
        .str("/x");
    let requests: Vec<(&str, i32, Vec<u8>)> = vec![
        ("setWatches", op::SET_WATCHES, watches.clone().bytes()),
        (
            "setWatches2",
            op::SET_WATCHES2,
            watches.int(0).int(1).str("/x").bytes(),
        ),
        (
            "auth",
            op::AUTH,
            Enc::new().int(0).str("digest").buf(b"u:p").bytes(),
        ),
        ("sasl", op::SASL, Enc::new().buf(b"").bytes()),
        (
            "exists",
            op::EXISTS,
            Enc::new().str("/x").bool(false).bytes(),
        ),
        (
            "getData NONODE",
            op::GET_DATA,
            Enc::new().str("/missing").bool(false).bytes(),
        ),
        ("sync", op::SYNC, Enc::new().str("/x").bytes()),
        (
            "checkWatches NOWATCHER",
            op::CHECK_WATCHES,
            Enc::new().str("/missing").int(1).bytes(),
        ),
        (
            "multi (empty)",
            op::MULTI,
            Enc::new().int(-1).bool(true).int(-1).bytes(),
        ),
        (
            "setData",
            op::SET_DATA,
            Enc::new().str("/x").buf(b"v").int(-1).bytes(),
        ),
        (
            "create NODEEXISTS",
            op::CREATE,
            Enc::new().str("/x").buf(b"").open_acl().int(0).bytes(),
        ),
    ];
    for (name, opcode, body) in &requests {
        for xid in ODD_XIDS {
            c.send(xid, *opcode, body).await;
            let reply = c.read_reply().await.expect("connection closed");
            assert_eq!(reply.xid, xid, "{name} sent with xid {xid}: {reply:?}");
        }
    }
    for xid in ODD_XIDS {
        c.send(xid, op::PING, &[]).await;
        let reply = c.read_reply().await.expect("connection closed");
        assert_eq!((reply.xid, reply.err), (-2, 0), "ping sent with xid {xid}");
    }
    // Replies that end the connection echo too.
    for (xid, opcode, body) in [
        (
            77,
            op::AUTH,
            Enc::new().int(0).str("nosuch").buf(b"u:p").bytes(),
        ),
        (i32::MAX, 99, Vec::new()),
        (0, op::CLOSE_SESSION, Vec::new()),
    ] {
        let (mut c, _) = RawConn::session(zk.port).await;
        c.send(xid, opcode, &body).await;
        let reply = c.read_reply().await.expect("a reply before the close");
        assert_eq!(reply.xid, xid, "op {opcode}: {reply:?}");
        assert!(c.closed_within(CLOSE_WAIT).await, "op {opcode} closes");
    }
}

/// Sends `body` every 100 ms for up to `within`, draining replies; true if the server closed
/// the connection meanwhile.
async fn closed_while_sending(
    c: &mut RawConn,
    xid: i32,
    opcode: i32,
    body: &[u8],
    within: Duration,
) -> bool {
    let mut frame = Enc::new().int(0).int(xid).int(opcode).bytes();
    frame.extend_from_slice(body);
    let len = i32::try_from(frame.len() - 4).unwrap();
    frame[..4].copy_from_slice(&len.to_be_bytes());
    let deadline = Instant::now() + within;
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline {
        if c.stream.write_all(&frame).await.is_err() {
            return true;
        }
        let pause = tokio::time::sleep(Duration::from_millis(100));
        tokio::pin!(pause);
        loop {
            tokio::select! {
                read = c.stream.read(&mut sink) => match read {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => {}
                },
                _ = &mut pause => break,
            }
        }
    }
    false
}

/// Auth and SASL packets are not session activity (Apache answers them before its session
/// bookkeeping); pings are. A client that only negotiates, like kazoo retrying SASL against a
/// server without SASL, must see its session expire and its connection dropped, or it loops
/// for ever. Runs the three clients side by side on a 1 s session timeout.
#[tokio::test]
async fn negotiation_packets_do_not_keep_a_session_alive() {
    let Some(zk) = ZkServer::start(Opts::default().tick(500)) else {
        return;
    };
    let open = || async {
        let mut c = RawConn::open(zk.port).await;
        c.handshake(&ConnectReq::new_session(1000)).await.unwrap();
        c
    };
    let (mut sasl, mut auth, mut ping) = (open().await, open().await, open().await);
    let window = Duration::from_secs(5);
    let sasl_body = Enc::new().buf(b"").bytes();
    let auth_body = Enc::new().int(0).str("digest").buf(b"u:p").bytes();
    let (sasl_closed, auth_closed, ping_closed) = tokio::join!(
        closed_while_sending(&mut sasl, 1, op::SASL, &sasl_body, window),
        closed_while_sending(&mut auth, -4, op::AUTH, &auth_body, window),
        closed_while_sending(&mut ping, -2, op::PING, &[], window),
    );
    assert!(sasl_closed, "a session fed only SASL packets must expire");
    assert!(auth_closed, "a session fed only auth packets must expire");
    assert!(!ping_closed, "pings keep a session alive");
}
