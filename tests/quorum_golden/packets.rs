//! One quorum-port stream: split into packets, each checked and re-encoded on its own.

use std::collections::BTreeSet;

use bytes::{Bytes, BytesMut};
use zkserver::proto::opcode::OpCode;
use zkserver::proto::request::Request;
use zkserver::proto::txn::TxnBody;
use zkserver::quorum::wire::payload::{
    decode_int, decode_revalidate, decode_revalidate_reply, decode_touched, encode_int,
    encode_revalidate, encode_revalidate_reply, encode_touched, ForwardedRequest, LearnerInfo,
    ProposalTxn, PROTOCOL_VERSION, TXN_DIGEST_VERSION,
};
use zkserver::quorum::wire::{decode_packet, PacketType, QuorumPacket};

use super::fixtures::{check_config, counter, epoch, MAX, SIGNATURE};

/// One packet as captured: decoded, the exact bytes it came from, and for SNAP the database
/// body that followed it (up to, not including, the signature).
pub(crate) struct Captured {
    pub(crate) packet: QuorumPacket,
    pub(crate) raw: Bytes,
    pub(crate) offset: usize,
    pub(crate) snap_body: Option<(usize, Bytes)>,
}

impl Captured {
    pub(crate) fn kind(&self) -> PacketType {
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
pub(crate) fn split_quorum(name: &str, bytes: &Bytes) -> Vec<Captured> {
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
pub(crate) fn check_packet(name: &str, from_leader: bool, c: &Captured, seen: &mut Seen) {
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

/// What the whole set of captures exercised, to prove coverage.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) types: BTreeSet<i32>,
    pub(crate) txn_types: BTreeSet<i32>,
    /// Sub-txn types inside multi txns (a failed multi is all error sub-txns).
    pub(crate) multi_ops: BTreeSet<i32>,
    pub(crate) request_ops: BTreeSet<i32>,
    pub(crate) revalidate_replies: BTreeSet<bool>,
    pub(crate) ackepoch_ints: BTreeSet<i32>,
    pub(crate) configs: BTreeSet<String>,
    pub(crate) sync_modes: BTreeSet<String>,
    pub(crate) ack_orders: BTreeSet<&'static str>,
    pub(crate) max_touched: usize,
    pub(crate) max_auth: usize,
}
