//! Whole quorum connections: the Zab handshake, the sync sequences and the broadcast phase,
//! across every captured learner connection.

use std::collections::BTreeSet;

use zkserver::quorum::wire::payload::decode_int;
use zkserver::quorum::wire::PacketType;

use super::fixtures::{epoch, fixture_dir, fixtures, SIGNATURE};
use super::packets::{check_packet, split_quorum, Captured, Seen};

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
