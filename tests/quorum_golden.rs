//! Golden tests for `zkserver::quorum::wire`: member-to-member traffic captured from a real
//! Apache ZooKeeper 3.8.0 ensemble (Debian's package; 3 participants + 1 observer) is split
//! with our decoders, every field is checked for sense, and every message is re-encoded to
//! the identical bytes. The bytes are in tests/fixtures/quorum (README.md there says how
//! scripts/capture-quorum.sh made them); nothing outside this repository runs at test time.
//!
//! Streams are classified by what they contain (sync mode, learner role), not by file name,
//! so a recapture in which another member wins the election still passes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use zkserver::proto::opcode::OpCode;
use zkserver::proto::request::Request;
use zkserver::proto::txn::TxnBody;
use zkserver::quorum::wire::election::{
    decode_election_frame, encode_election_frame, InitialMessage, PROTOCOL_V1,
};
use zkserver::quorum::wire::payload::{
    decode_int, decode_revalidate, decode_revalidate_reply, decode_touched, encode_int,
    encode_revalidate, encode_revalidate_reply, encode_touched, ForwardedRequest, LearnerInfo,
    ProposalTxn, PROTOCOL_VERSION, TXN_DIGEST_VERSION,
};
use zkserver::quorum::wire::{decode_packet, Notification, PacketType, QuorumPacket};

/// jute.maxbuffer + extrasize defaults, as the quorum port enforces them.
const MAX: usize = 2 * 0xfffff;
/// `ustring "BenWasHere"` as LearnerHandler writes it after a SNAP body.
const SIGNATURE: &[u8] = b"\x00\x00\x00\x0aBenWasHere";

fn fixture_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/quorum")
        .join(sub)
}

/// `(stem, bytes)` of every `<stem><suffix>` in a fixture directory, sorted by name.
fn fixtures(sub: &str, suffix: &str) -> Vec<(String, Bytes)> {
    let dir = fixture_dir(sub);
    let mut out: Vec<(String, Bytes)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let stem = name.strip_suffix(suffix)?.to_string();
            Some((stem, Bytes::from(std::fs::read(&p).expect("fixture"))))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        !out.is_empty(),
        "no *{suffix} fixtures in {}",
        dir.display()
    );
    out
}

fn epoch(zxid: i64) -> i64 {
    zxid >> 32
}

fn counter(zxid: i64) -> i64 {
    zxid & 0xffff_ffff
}

// --------------------------------------------------------------------------------------
// Quorum port (2888)
// --------------------------------------------------------------------------------------

/// One packet as captured: decoded, the exact bytes it came from, and for SNAP the database
/// body that followed it (up to, not including, the signature).
struct Captured {
    packet: QuorumPacket,
    raw: Bytes,
    offset: usize,
    snap_body: Option<(usize, Bytes)>,
}

impl Captured {
    fn kind(&self) -> PacketType {
        self.packet.packet_type().unwrap_or_else(|| {
            panic!(
                "unknown packet type {} at {}",
                self.packet.kind, self.offset
            )
        })
    }
}

/// Splits a whole captured stream with `decode_packet`. The SNAP body is Apache's database
/// serialization (parsed by tree::apache_snap elsewhere); here it is skipped by finding the
/// "BenWasHere" signature that must follow it. Every byte must be accounted for.
fn split_quorum(name: &str, bytes: &Bytes) -> Vec<Captured> {
    let mut buf = BytesMut::from(&bytes[..]);
    let mut out = Vec::new();
    let mut offset = 0;
    while !buf.is_empty() {
        let before = buf.len();
        let packet = decode_packet(&mut buf, MAX)
            .unwrap_or_else(|e| panic!("{name} @{offset}: {e}"))
            .unwrap_or_else(|| panic!("{name} @{offset}: stream ends inside a packet"));
        let used = before - buf.len();
        let raw = bytes.slice(offset..offset + used);
        let start = offset;
        offset += used;
        let mut snap_body = None;
        if packet.packet_type() == Some(PacketType::Snap) {
            let rel = bytes[offset..]
                .windows(SIGNATURE.len())
                .position(|w| w == SIGNATURE)
                .unwrap_or_else(|| panic!("{name}: SNAP @{start} without a BenWasHere signature"));
            snap_body = Some((offset, bytes.slice(offset..offset + rel)));
            let skip = rel + SIGNATURE.len();
            offset += skip;
            let _ = buf.split_to(skip);
        }
        out.push(Captured {
            packet,
            raw,
            offset: start,
            snap_body,
        });
    }
    out
}

/// Checks one packet on its own: identical re-encoding, and a payload that our payload codecs
/// decode and re-encode identically, with values that make sense for its direction.
fn check_packet(name: &str, from_leader: bool, c: &Captured, seen: &mut Seen) {
    let p = &c.packet;
    let at = format!("{name} @{} {}", c.offset, p.describe());
    assert_eq!(p.to_bytes(), c.raw, "{at}: re-encoding differs");
    let kind = c.kind();
    seen.types.insert(p.kind);
    if kind != PacketType::Request {
        assert_eq!(p.auth, None, "{at}: only REQUEST carries authinfo");
    }
    let data = p.data.clone();
    use PacketType as T;
    match kind {
        T::FollowerInfo | T::ObserverInfo => {
            assert!(!from_leader, "{at}");
            let d = data.expect("LearnerInfo");
            let li = LearnerInfo::decode(&d).expect("LearnerInfo");
            assert_eq!(li.encode(), d, "{at}");
            assert_eq!(d.len(), 20, "{at}");
            assert!((1..=255).contains(&li.sid), "{at}");
            assert_eq!(li.protocol_version, PROTOCOL_VERSION, "{at}");
            assert_eq!(li.config_version, 0, "{at}: static config ⇒ QV version 0");
            assert_eq!(counter(p.zxid), 0, "{at}: zxid = acceptedEpoch << 32");
        }
        T::LeaderInfo => {
            assert!(from_leader, "{at}");
            let d = data.expect("LEADERINFO data");
            assert_eq!(decode_int(&d), Some(PROTOCOL_VERSION), "{at}");
            assert_eq!(encode_int(PROTOCOL_VERSION), d, "{at}");
            assert_eq!(counter(p.zxid), 0, "{at}");
            assert!(epoch(p.zxid) >= 1, "{at}");
        }
        T::AckEpoch => {
            assert!(!from_leader, "{at}");
            let d = data.expect("ACKEPOCH data");
            let v = decode_int(&d).expect("ACKEPOCH int");
            assert_eq!(encode_int(v), d, "{at}");
            assert!(v == -1 || v >= 0, "{at}");
            seen.ackepoch_ints.insert(v.signum());
        }
        T::Diff | T::Trunc | T::Snap | T::UpToDate | T::Sync | T::Commit | T::Ack => {
            assert_eq!(data, None, "{at}: null data expected");
            if kind == T::UpToDate {
                assert_eq!(p.zxid, -1, "{at}");
            }
            if kind == T::Sync {
                assert!(from_leader, "{at}");
                assert_eq!(p.zxid, 0, "{at}");
            }
        }
        T::NewLeader => {
            assert!(from_leader, "{at}");
            let d = data.expect("NEWLEADER carries the leader's QV");
            let text = std::str::from_utf8(&d).expect("UTF-8 config");
            check_config(&at, text);
            seen.configs.insert(text.to_string());
        }
        T::Proposal | T::Inform => {
            assert!(from_leader, "{at}");
            let d = data.expect("txn");
            let t = ProposalTxn::decode(d.clone()).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(t.encode(), d, "{at}: txn re-encoding differs");
            assert_eq!(t.txn.header.zxid, p.zxid, "{at}: header zxid");
            assert!(t.txn.header.time > 1_600_000_000_000, "{at}: wall-clock ms");
            let op = t.txn.op().expect("known txn type");
            seen.txn_types.insert(op.code());
            if op == OpCode::Error {
                assert_eq!(
                    t.digest, None,
                    "{at}: 3.8.0 sends error txns without a digest"
                );
            } else {
                let dg = t
                    .digest
                    .unwrap_or_else(|| panic!("{at}: TxnDigest missing"));
                assert_eq!(dg.version, TXN_DIGEST_VERSION, "{at}");
                assert!(dg.tree_digest > 0, "{at}");
            }
            if let TxnBody::Multi(ops) = &t.txn.body {
                for (sub, _) in ops {
                    seen.multi_ops.insert(sub.code());
                }
            }
        }
        T::Ping => {
            if from_leader {
                assert_eq!(data, None, "{at}: leader PING data is null");
            } else {
                let d = data.expect("a learner's PING reply is never null");
                assert_eq!(d.len() % 12, 0, "{at}");
                let touched = decode_touched(&d);
                assert_eq!(encode_touched(&touched), d, "{at}");
                for (session, timeout) in &touched {
                    assert!(*session > 0 && *timeout > 0, "{at}");
                }
                seen.max_touched = seen.max_touched.max(touched.len());
            }
        }
        T::Revalidate => {
            assert_eq!(p.zxid, -1, "{at}");
            let d = data.expect("REVALIDATE data");
            if from_leader {
                let (session, valid) = decode_revalidate_reply(&d).expect("reply");
                assert_eq!(encode_revalidate_reply(session, valid), d, "{at}");
                seen.revalidate_replies.insert(valid);
            } else {
                let (session, timeout) = decode_revalidate(&d).expect("request");
                assert_eq!(d.len(), 12, "{at}");
                assert_eq!(encode_revalidate(session, timeout), d, "{at}");
                assert!(timeout > 0, "{at}");
            }
        }
        T::Request => {
            assert!(!from_leader, "{at}");
            assert_eq!(p.zxid, -1, "{at}");
            let d = data.expect("REQUEST data");
            let r = ForwardedRequest::decode(&d).expect("forwarded request");
            assert_eq!(r.encode(), d, "{at}");
            assert!(r.session > 0, "{at}");
            seen.request_ops.insert(r.op);
            match r.op {
                -10 => {
                    assert_eq!(r.cxid, 0, "{at}");
                    assert_eq!(r.body.len(), 4, "{at}: createSession body = int timeout");
                    assert_eq!(
                        p.auth, None,
                        "{at}: createSession is forwarded without authinfo"
                    );
                }
                -11 => assert!(r.body.is_empty(), "{at}"),
                op => {
                    Request::decode(op, r.body.clone())
                        .unwrap_or_else(|e| panic!("{at}: body: {e:?}"));
                }
            }
            if r.op != -10 {
                let auth = p.auth.clone().unwrap_or_else(|| panic!("{at}: authinfo"));
                assert!(
                    auth.iter()
                        .any(|id| id.scheme == "ip" && id.id == "127.0.0.1"),
                    "{at}: the client's ip Id is always forwarded"
                );
                seen.max_auth = seen.max_auth.max(auth.len());
            }
        }
        T::CommitAndActivate | T::InformAndActivate => {
            panic!("{at}: reconfig packets are not expected with reconfigEnabled=false")
        }
    }
}

/// `server.<id>=<host>:<quorumPort>:<electionPort>:participant|observer` lines, then
/// `version=0` (no trailing newline) — `QuorumMaj.toString()` for a static config.
fn check_config(at: &str, text: &str) {
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.last(), Some(&"version=0"), "{at}: {text:?}");
    assert!(lines.len() >= 4, "{at}: {text:?}");
    for line in &lines[..lines.len() - 1] {
        let (key, value) = line.split_once('=').expect("key=value");
        let id: u64 = key
            .strip_prefix("server.")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("{at}: {line}"));
        let parts: Vec<&str> = value.split(':').collect();
        assert_eq!(parts.len(), 4, "{at}: {line}");
        assert!(
            parts[0] == "127.0.0.1" || parts[0] == "0.0.0.0",
            "{at}: {line}"
        );
        for port in &parts[1..3] {
            port.parse::<u16>()
                .unwrap_or_else(|_| panic!("{at}: {line}"));
        }
        let role = if id == 4 { "observer" } else { "participant" };
        assert_eq!(parts[3], role, "{at}: {line}");
    }
}

/// What the whole set of captures exercised, to prove coverage.
#[derive(Default)]
struct Seen {
    types: BTreeSet<i32>,
    txn_types: BTreeSet<i32>,
    /// Sub-txn types inside multi txns (a failed multi is all error sub-txns).
    multi_ops: BTreeSet<i32>,
    request_ops: BTreeSet<i32>,
    revalidate_replies: BTreeSet<bool>,
    ackepoch_ints: BTreeSet<i32>,
    configs: BTreeSet<String>,
    sync_modes: BTreeSet<String>,
    ack_orders: BTreeSet<&'static str>,
    max_touched: usize,
    max_auth: usize,
}

/// The learner → leader and leader → learner halves of one quorum connection.
struct Connection {
    name: String,
    learner: Vec<Captured>,
    leader: Vec<Captured>,
}

fn connections() -> Vec<Connection> {
    let learners = fixtures("sync", ".learner.bin");
    let leaders = fixtures("sync", ".leader.bin");
    assert_eq!(learners.len(), leaders.len());
    learners
        .into_iter()
        .zip(leaders)
        .map(|((name, learner), (name2, leader))| {
            assert_eq!(name, name2);
            Connection {
                learner: split_quorum(&format!("{name}.learner"), &learner),
                leader: split_quorum(&format!("{name}.leader"), &leader),
                name,
            }
        })
        .collect()
}

/// Checks the Zab handshake and synchronization of one connection and returns its sync mode.
fn check_sync(c: &Connection, seen: &mut Seen) -> String {
    use PacketType as T;
    let name = &c.name;
    let (l, d) = (&c.learner, &c.leader);
    let observer = l[0].kind() == T::ObserverInfo;
    assert!(
        matches!(l[0].kind(), T::FollowerInfo | T::ObserverInfo),
        "{name}"
    );
    assert_eq!(l[1].kind(), T::AckEpoch, "{name}");
    assert_eq!(d[0].kind(), T::LeaderInfo, "{name}");
    let new_epoch_zxid = d[0].packet.zxid;
    let accepted = epoch(l[0].packet.zxid);
    assert!(
        epoch(new_epoch_zxid) >= accepted,
        "{name}: new epoch ≥ acceptedEpoch"
    );
    let peer_last = l[1].packet.zxid;
    let ackepoch_int = decode_int(l[1].packet.payload()).expect("int");
    if epoch(new_epoch_zxid) > accepted {
        assert!(
            ackepoch_int >= 0,
            "{name}: currentEpoch when the epoch is new to it"
        );
    } else {
        assert_eq!(
            ackepoch_int, -1,
            "{name}: -1 when the epoch was already accepted"
        );
    }

    // Leader side: op packet, {PROPOSAL, COMMIT}*, NEWLEADER, UPTODATE.
    let op = &d[1];
    let mut i = 2;
    let mut synced = Vec::new();
    while d[i].kind() == T::Proposal {
        assert_eq!(
            d[i + 1].kind(),
            T::Commit,
            "{name}: COMMIT right after each sync PROPOSAL"
        );
        assert_eq!(d[i + 1].packet.zxid, d[i].packet.zxid, "{name}");
        synced.push(d[i].packet.zxid);
        i += 2;
    }
    assert!(synced.windows(2).all(|w| w[0] < w[1]), "{name}: zxid order");
    assert_eq!(d[i].kind(), T::NewLeader, "{name}");
    assert_eq!(
        d[i].packet.zxid, new_epoch_zxid,
        "{name}: NEWLEADER zxid = newEpoch << 32"
    );
    assert_eq!(d[i + 1].kind(), T::UpToDate, "{name}");
    let mode = match op.kind() {
        T::Diff => {
            if let Some(last) = synced.last() {
                assert_eq!(
                    op.packet.zxid, *last,
                    "{name}: DIFF zxid = last synced zxid"
                );
                assert!(synced[0] > peer_last, "{name}: only txns the peer lacks");
                "diff"
            } else {
                assert_eq!(
                    op.packet.zxid, peer_last,
                    "{name}: empty DIFF at the peer's zxid"
                );
                "empty-diff"
            }
        }
        T::Trunc => {
            assert!(
                op.packet.zxid < peer_last,
                "{name}: TRUNC below the peer's last zxid"
            );
            assert_eq!(
                epoch(op.packet.zxid),
                epoch(peer_last),
                "{name}: never across epochs"
            );
            "trunc"
        }
        T::Snap => {
            let (start, body) = op.snap_body.clone().expect("body");
            assert!(op.packet.zxid >= peer_last, "{name}");
            // §5.1: the body ends with the `ustring "/"` end marker; the signature follows.
            assert!(
                body.ends_with(b"\x00\x00\x00\x01/"),
                "{name}: body ends with \"/\""
            );
            assert_eq!(
                start,
                op.offset + op.raw.len(),
                "{name}: body right after SNAP"
            );
            "snap"
        }
        other => panic!("{name}: first sync packet {other:?}"),
    };

    // Learner side: the NEWLEADER ACK is the next thing it sends after ACKEPOCH (Apache's
    // leader requires exactly that). Then come the UPTODATE ACK (same zxid) and — from a
    // 3.8.0 follower, whose sync thread ACKs the DIFF txns it logged at NEWLEADER after fsync
    // — one ACK per synced txn, in order, before OR after the UPTODATE ACK (both captured).
    assert_eq!(l[2].kind(), T::Ack, "{name}");
    assert_eq!(l[2].packet.zxid, new_epoch_zxid, "{name}: NEWLEADER ACK");
    let acks: Vec<i64> = l[3..]
        .iter()
        .filter(|c| c.kind() == T::Ack)
        .map(|c| c.packet.zxid)
        .collect();
    let uptodate_ack = acks
        .iter()
        .position(|z| *z == new_epoch_zxid)
        .unwrap_or_else(|| panic!("{name}: no UPTODATE ACK"));
    let txn_acks: Vec<i64> = acks
        .iter()
        .copied()
        .filter(|z| *z != new_epoch_zxid)
        .collect();
    assert_eq!(
        acks.len(),
        txn_acks.len() + 1,
        "{name}: two epoch ACKs in all"
    );
    if observer {
        assert!(
            txn_acks.is_empty(),
            "{name}: observers ACK nothing but NEWLEADER/UPTODATE"
        );
    } else {
        // A follower ACKs every txn it logs, in order — the sync ones first.
        assert!(txn_acks.starts_with(&synced), "{name}: {txn_acks:x?}");
        assert!(txn_acks.windows(2).all(|w| w[0] < w[1]), "{name}");
        if !synced.is_empty() {
            seen.ack_orders.insert(if uptodate_ack == 0 {
                "txn ACKs after UPTODATE ACK"
            } else {
                assert_eq!(uptodate_ack, synced.len(), "{name}: {acks:x?}");
                "txn ACKs before UPTODATE ACK"
            });
        }
    }
    let role = if observer { "observer" } else { "follower" };
    format!("{role}-{mode}")
}

/// Broadcast phase after UPTODATE: what the leader sends a follower vs an observer, and that
/// every COMMIT follows its PROPOSAL.
fn check_broadcast(c: &Connection) {
    use PacketType as T;
    let observer = c.learner[0].kind() == T::ObserverInfo;
    let start = c
        .leader
        .iter()
        .position(|p| p.kind() == T::UpToDate)
        .expect("UPTODATE");
    let mut proposed = BTreeSet::new();
    for p in &c.leader[start + 1..] {
        match p.kind() {
            T::Proposal | T::Commit if observer => {
                panic!("{}: observer got {}", c.name, p.packet.describe())
            }
            T::Inform if !observer => panic!("{}: follower got INFORM", c.name),
            T::Proposal => {
                proposed.insert(p.packet.zxid);
            }
            T::Commit => assert!(
                proposed.contains(&p.packet.zxid),
                "{}: COMMIT 0x{:x} before its PROPOSAL",
                c.name,
                p.packet.zxid
            ),
            T::Ping | T::Inform | T::Sync | T::Revalidate => {}
            other => panic!("{}: unexpected {other:?} after UPTODATE", c.name),
        }
    }
    // Learner PING replies echo the zxid of the leader's PING they answer.
    let leader_pings: BTreeSet<i64> = c
        .leader
        .iter()
        .filter(|p| p.kind() == T::Ping)
        .map(|p| p.packet.zxid)
        .collect();
    for p in c.learner.iter().filter(|p| p.kind() == T::Ping) {
        assert!(
            leader_pings.contains(&p.packet.zxid),
            "{}: PING zxid",
            c.name
        );
    }
}

#[test]
fn quorum_streams_decode_and_reencode_byte_for_byte() {
    let mut seen = Seen::default();
    for c in connections() {
        for p in &c.learner {
            check_packet(&c.name, false, p, &mut seen);
        }
        for p in &c.leader {
            check_packet(&c.name, true, p, &mut seen);
        }
        let mode = check_sync(&c, &mut seen);
        seen.sync_modes.insert(mode);
        check_broadcast(&c);
    }
    // Every packet type Apache uses without reconfig was captured and checked.
    let all: BTreeSet<i32> = (1..=18).filter(|t| *t != 9).collect();
    assert_eq!(seen.types, all, "packet types captured");
    let modes: Vec<&str> = seen.sync_modes.iter().map(String::as_str).collect();
    for want in [
        "follower-empty-diff",
        "follower-diff",
        "follower-trunc",
        "follower-snap",
        "observer-snap",
    ] {
        assert!(modes.contains(&want), "{want} missing from {modes:?}");
    }
    assert_eq!(
        seen.revalidate_replies.len(),
        2,
        "valid and invalid REVALIDATE"
    );
    assert!(
        seen.ackepoch_ints.contains(&-1) && seen.ackepoch_ints.len() >= 2,
        "ACKEPOCH -1 and a currentEpoch"
    );
    assert!(seen.max_touched >= 2, "a PING reply listing sessions");
    assert!(seen.max_auth >= 2, "a REQUEST with ip + digest authinfo");
    for op in [-10, -11, 1, 2, 5, 7, 9, 14] {
        assert!(seen.request_ops.contains(&op), "forwarded op {op}");
    }
    for t in [-10, -11, -1, 1, 2, 5, 7, 14] {
        assert!(
            seen.txn_types.contains(&t),
            "txn type {t}: {:?}",
            seen.txn_types
        );
    }
    assert_eq!(seen.multi_ops, BTreeSet::from([-1, 1, 5]), "multi sub-txns");
    assert!(
        seen.configs.len() >= 2,
        "NEWLEADER from two different leaders"
    );
    // Which order a capture shows is timing (fsync vs the leader's UPTODATE); the committed
    // capture has the txn ACKs before the UPTODATE ACK in both DIFF syncs, an earlier run
    // had them after (fixtures README).
    assert!(
        !seen.ack_orders.is_empty(),
        "a follower DIFF sync with txn ACKs"
    );
}

#[test]
fn snap_streams_header_body_and_signature() {
    let conns = connections();
    let mut bodies = Vec::new();
    for c in &conns {
        let Some(snap) = c.leader.get(1).filter(|p| p.kind() == PacketType::Snap) else {
            continue;
        };
        let name = &c.name;
        // LEADERINFO is 24 bytes, the SNAP packet (null data, null authinfo) 20: the body
        // starts at offset 44 of the leader's stream.
        assert_eq!((snap.offset, snap.raw.len()), (24, 20), "{name}");
        assert_eq!(snap.packet.data, None, "{name}");
        let (start, body) = snap.snap_body.clone().expect("body");
        assert_eq!(start, 44, "{name}");
        let raw =
            std::fs::read(fixture_dir("sync").join(format!("{name}.leader.bin"))).expect("stream");
        let sig = start + body.len();
        assert_eq!(&raw[sig..sig + SIGNATURE.len()], SIGNATURE, "{name}");
        // NEWLEADER follows the signature directly.
        assert_eq!(c.leader[2].offset, sig + SIGNATURE.len(), "{name}");
        assert_eq!(c.leader[2].kind(), PacketType::NewLeader, "{name}");
        // The body opens with the session list: int count, (long id, int timeout) each.
        let sessions = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        assert!((0..100).contains(&sessions), "{name}: {sessions} sessions");
        bodies.push(body);
    }
    assert!(bodies.len() >= 2, "SNAP to a follower and to an observer");
    // snap-body.bin is the largest captured body, for tree::apache_snap's tests.
    let saved = std::fs::read(fixture_dir("sync").join("snap-body.bin")).expect("snap-body");
    let largest = bodies.iter().max_by_key(|b| b.len()).expect("a body");
    assert_eq!(&saved[..], &largest[..]);
}

// --------------------------------------------------------------------------------------
// Election port (3888)
// --------------------------------------------------------------------------------------

/// `e<dialler>-<listener>.<n>` → (dialler sid, listener sid).
fn link_sids(name: &str) -> (i64, i64) {
    let link = name
        .strip_prefix('e')
        .and_then(|s| s.split('.').next())
        .expect("e<a>-<b>.<n>");
    let (a, b) = link.split_once('-').expect("a-b");
    (a.parse().expect("sid"), b.parse().expect("sid"))
}

/// Splits frames with `decode_election_frame`, decodes each notification, and checks that
/// framing and notification re-encode to the captured bytes.
fn split_notifications(name: &str, bytes: &[u8], sender: i64) -> Vec<Notification> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    let mut offset = 0;
    while !buf.is_empty() {
        let before = buf.len();
        let payload = decode_election_frame(&mut buf)
            .unwrap_or_else(|len| panic!("{name} @{offset}: frame length {len}"))
            .unwrap_or_else(|| panic!("{name} @{offset}: stream ends inside a frame"));
        let used = before - buf.len();
        let mut framed = BytesMut::new();
        encode_election_frame(&mut framed, &payload);
        assert_eq!(
            &framed[..],
            &bytes[offset..offset + used],
            "{name} @{offset}"
        );
        let n = Notification::decode(&payload).unwrap_or_else(|e| panic!("{name} @{offset}: {e}"));
        assert_eq!(
            n.encode(),
            payload,
            "{name} @{offset}: notification re-encoding"
        );
        assert_eq!(n.version, 2, "{name} @{offset}");
        assert!((0..=3).contains(&n.state), "{name} @{offset}");
        let config = std::str::from_utf8(&n.config).expect("UTF-8 config");
        check_config(&format!("{name} @{offset}"), config);
        // The config is the sender's own QV: its own line names the wildcard host.
        assert!(
            config.contains(&format!("server.{sender}=0.0.0.0:")),
            "{name} @{offset}: {config:?}"
        );
        out.push(n);
        offset += used;
    }
    out
}

#[test]
fn election_streams_decode_and_reencode_byte_for_byte() {
    let dialled = fixtures("election", ".dialler.bin");
    let answered = fixtures("election", ".listener.bin");
    assert_eq!(dialled.len(), answered.len());
    let mut states = BTreeSet::new();
    let mut observer_votes = 0;
    let mut dropped_dials = 0;
    let mut replies_to_looking = 0;
    for ((name, out), (name2, back)) in dialled.iter().zip(&answered) {
        assert_eq!(name, name2);
        let (dialler, listener) = link_sids(name);
        let (msg, used) = InitialMessage::parse(out)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: partial initial message"));
        assert_eq!(
            &out[..8],
            &PROTOCOL_V1.to_be_bytes(),
            "{name}: stock 3.8 sends V1"
        );
        assert_eq!(msg.sid, dialler, "{name}");
        assert_eq!(msg.addrs.len(), 1, "{name}");
        assert!(
            msg.addrs[0].starts_with("0.0.0.0:"),
            "{name}: {:?}",
            msg.addrs
        );
        assert_eq!(
            InitialMessage::encode_v1(msg.sid, &msg.addrs[0]),
            out.slice(..used),
            "{name}: initial message re-encoding"
        );
        if dialler < listener {
            // §1.3: a smaller sid's connection is dropped at once (the larger one dials back).
            assert_eq!(used, out.len(), "{name}: nothing after the initial message");
            assert!(back.is_empty(), "{name}: nothing comes back");
            dropped_dials += 1;
            continue;
        }
        let sent = split_notifications(&format!("{name}.dialler"), &out[used..], dialler);
        let got = split_notifications(&format!("{name}.listener"), back, listener);
        for n in sent.iter().chain(&got) {
            states.insert(n.state);
        }
        for n in &sent {
            if dialler == 4 && n.state == 0 && n.leader == i64::MIN {
                // An observer's own initial vote (§2.5): no leader, zxid or epoch.
                assert_eq!((n.zxid, n.peer_epoch), (i64::MIN, i64::MIN), "{name}");
                observer_votes += 1;
            }
        }
        if sent.iter().any(|n| n.state == 0) && got.iter().any(|n| matches!(n.state, 1 | 2)) {
            replies_to_looking += 1;
        }
    }
    assert_eq!(
        states,
        (0..=3).collect(),
        "LOOKING, FOLLOWING, LEADING and OBSERVING seen"
    );
    assert!(observer_votes > 0, "an observer's initial vote");
    assert!(dropped_dials > 0, "a smaller sid dialling a larger one");
    assert!(
        replies_to_looking > 0,
        "FOLLOWING/LEADING replies to a LOOKING peer"
    );
}

#[test]
fn cold_start_election_is_three_looking_peers_agreeing() {
    // The first connection between the two largest participants carries the cold-start
    // election: both start LOOKING with zxid 0 and epoch 0, voting for themselves in round 1.
    let out = fixtures("election", ".dialler.bin")
        .into_iter()
        .find(|(n, _)| n == "e3-2.1")
        .expect("e3-2.1");
    let back = fixtures("election", ".listener.bin")
        .into_iter()
        .find(|(n, _)| n == "e3-2.1")
        .expect("e3-2.1");
    let (_, used) = InitialMessage::parse(&out.1).expect("ok").expect("whole");
    let sent = split_notifications("e3-2.1.dialler", &out.1[used..], 3);
    let got = split_notifications("e3-2.1.listener", &back.1, 2);
    let first = &sent[0];
    assert_eq!(
        (first.state, first.leader, first.zxid, first.peer_epoch),
        (0, 3, 0, 0)
    );
    assert_eq!(first.election_epoch, 1);
    // Member 2 ends up voting for 3 (the larger sid wins a tie on epoch and zxid).
    assert!(
        got.iter().any(|n| n.state == 0 && n.leader == 3),
        "2 adopts 3's vote"
    );
}
