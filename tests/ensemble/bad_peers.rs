//! Bytes that are not ZooKeeper's quorum protocol, sent to a live ensemble's election and
//! quorum ports: garbage, an unknown protocol version, a truncated initial message, election
//! frames beyond 512 KiB or negative, a short notification, a QuorumPacket whose length field
//! is far beyond `jute.maxbuffer`. Each connection must be dropped (the test sees EOF) with a
//! log line saying why, no member may crash, the leader stays the leader, and the ensemble
//! keeps replicating. The connection-level behaviour is Apache's too (checked with
//! `ZK_IMPL=apache`); the log lines checked are zkserver's.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::util::{assert_same_everywhere, connect, persistent};

/// The initial message of the election port: protocol version, sid, address.
fn initial(version: i64, sid: i64, addr: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&sid.to_be_bytes());
    b.extend_from_slice(&(addr.len() as i32).to_be_bytes());
    b.extend_from_slice(addr.as_bytes());
    b
}

/// A QuorumPacket header (type, zxid) followed by a data length field and nothing else.
fn packet_head(kind: i32, zxid: i64, data_len: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&kind.to_be_bytes());
    b.extend_from_slice(&zxid.to_be_bytes());
    b.extend_from_slice(&data_len.to_be_bytes());
    b
}

struct Attack {
    what: &'static str,
    member: u64,
    port: u16,
    bytes: Vec<u8>,
    /// We close our side after sending (the member cannot close first).
    half_close: bool,
    /// The member keeps the connection (a bad notification is skipped, as in Apache).
    kept: bool,
    /// zkserver logs one of these.
    log: &'static [&'static str],
}

/// Sends `a.bytes` and reads until the member closes the connection; `false` if it is still
/// open after 5 s.
fn dropped_by_member(a: &Attack) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", a.port)).expect("connect to a peer port");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(&a.bytes);
    if a.half_close {
        let _ = s.shutdown(Shutdown::Write);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {} // an Apache member may greet a new election peer with its vote
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_packets_on_peer_ports_are_dropped_with_a_log_line() {
    let Some(mut ens) = Ensemble::start_ready(EnsembleOpts::new(3, 0)).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    let follower = ens.followers()[0];
    let (fe, lq) = (
        ens.member(follower).election_port,
        ens.member(leader).quorum_port,
    );
    let big_sid = 99;
    let hello = initial(-65536, big_sid, "127.0.0.1:1");
    let with = |mut a: Vec<u8>, b: &[u8]| {
        a.extend_from_slice(b);
        a
    };
    let attacks = vec![
        Attack {
            what: "HTTP request on the election port",
            member: follower,
            port: fe,
            bytes: b"GET / HTTP/1.1\r\nHost: zk\r\n\r\n".to_vec(),
            half_close: false,
            kept: false,
            log: &["election frame length out of range"],
        },
        Attack {
            what: "unknown protocol version",
            member: follower,
            port: fe,
            bytes: initial(-12345, big_sid, "127.0.0.1:1"),
            half_close: false,
            kept: false,
            log: &["Got unrecognized protocol version -12345"],
        },
        Attack {
            what: "truncated initial message",
            member: follower,
            port: fe,
            bytes: hello[..13].to_vec(),
            half_close: true,
            kept: false,
            log: &["closed before the initial message"],
        },
        Attack {
            what: "election frame above 512 KiB",
            member: follower,
            port: fe,
            bytes: with(hello.clone(), &(64_i32 << 20).to_be_bytes()),
            half_close: false,
            kept: false,
            log: &["election frame length out of range"],
        },
        Attack {
            what: "negative election frame length",
            member: follower,
            port: fe,
            bytes: with(hello.clone(), &(-5_i32).to_be_bytes()),
            half_close: false,
            kept: false,
            log: &["election frame length out of range"],
        },
        Attack {
            what: "short notification",
            member: follower,
            port: fe,
            bytes: with(hello.clone(), &[0, 0, 0, 5, 1, 2, 3, 4, 5]),
            half_close: true,
            kept: true,
            log: &["malformed notification"],
        },
        Attack {
            what: "garbage on the leader's quorum port",
            member: leader,
            port: lq,
            bytes: vec![0xff; 64],
            half_close: false,
            kept: false,
            log: &["is not FOLLOWERINFO or OBSERVERINFO"],
        },
        Attack {
            what: "QuorumPacket with a 2 GiB data length",
            member: leader,
            port: lq,
            bytes: packet_head(11, 0, i32::MAX),
            half_close: false,
            kept: false,
            log: &["Unreasonable length"],
        },
        Attack {
            what: "HTTP request on the leader's quorum port",
            member: leader,
            port: lq,
            bytes: b"GET / HTTP/1.1\r\nHost: zk\r\n\r\n".to_vec(),
            half_close: false,
            kept: false,
            log: &["Unreasonable length", "is not FOLLOWERINFO or OBSERVERINFO"],
        },
    ];
    for a in &attacks {
        let from = ens.member(a.member).log_len();
        let dropped = dropped_by_member(a);
        assert!(
            dropped || a.kept,
            "{}: member {} kept the connection open",
            a.what,
            a.member
        );
        if let Some(status) = ens.exited(a.member) {
            ens.fail(&format!(
                "{}: member {} exited ({status})",
                a.what, a.member
            ));
        }
        if !ens.is_apache() {
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let log = ens.member(a.member).log_since(from);
                if a.log.iter().any(|needle| log.contains(needle)) {
                    break;
                }
                if Instant::now() > deadline {
                    ens.fail(&format!(
                        "{}: member {} logged none of {:?}; it logged:\n{log}",
                        a.what, a.member, a.log
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    // Nothing was disturbed: same leader, everyone serving, writes replicate.
    assert_eq!(ens.wait_ready(Duration::from_secs(10)).await, leader);
    let c = connect(&ens.addr(follower)).await;
    c.create("/after-garbage", b"ok", &persistent())
        .await
        .unwrap();
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/after-garbage").await;
    assert_eq!(tree["/after-garbage"].data, b"ok");
}

/// zkserver binds its quorum port on every member (Apache only while leading): a follower
/// must drop a learner connection instead of holding it open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_drops_connections_to_its_quorum_port() {
    let Some(ens) = Ensemble::start_ready(EnsembleOpts::new(3, 0)).await else {
        return;
    };
    if ens.is_apache() {
        eprintln!("SKIPPED with ZK_IMPL=apache: an Apache follower does not listen there");
        return;
    }
    let follower = ens.followers()[0];
    let from = ens.member(follower).log_len();
    let a = Attack {
        what: "FOLLOWERINFO to a follower",
        member: follower,
        port: ens.member(follower).quorum_port,
        bytes: packet_head(11, 0, 0),
        half_close: false,
        kept: false,
        log: &["dropping a learner connection"],
    };
    assert!(dropped_by_member(&a), "{}: connection kept open", a.what);
    let log = ens.member(follower).log_since(from);
    assert!(log.contains(a.log[0]), "{}: no log line:\n{log}", a.what);
}
