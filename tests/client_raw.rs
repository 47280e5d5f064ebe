//! Raw bytes on the client port: golden byte strings captured from Apache ZooKeeper 3.8.0
//! (ConnectResponse with/without the readOnly byte, a getData reply, a header-only error reply, a
//! notification, ping), four-letter words, oversize frames, unknown opcodes, top-level check,
//! reconfig in standalone and sasl without SASL. Varying fields (session id, password, times)
//! are masked with `X` before comparing.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

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

/// Found by the whole-server fuzz target (fuzz/regressions/server/set-watches-xid): the reply
/// to setWatches (101) and setWatches2 (105) carries the request's xid, as Apache 3.8 answers
/// it (checked against Apache: clients send -8, a raw client may send any xid); only ping's
/// reply has a fixed xid (-2) whatever the request's.
#[tokio::test]
async fn set_watches_replies_carry_the_request_xid() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut c, _) = RawConn::session(zk.port).await;
    let set_watches = Enc::new().long(0).int(0).int(0).int(0).bytes();
    let set_watches2 = Enc::new()
        .long(0)
        .int(0)
        .int(0)
        .int(0)
        .int(0)
        .int(0)
        .bytes();
    c.send(85, 101, &set_watches).await;
    c.send(86, op::PING, &[]).await;
    c.send(89, 105, &set_watches2).await;
    let mut xids = Vec::new();
    for _ in 0..3 {
        let r = c.read_reply().await.unwrap();
        xids.push((r.xid, r.err));
    }
    assert_eq!(xids, vec![(85, 0), (-2, 0), (89, 0)]);
}
