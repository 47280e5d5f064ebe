//! Structure-aware mutation of peer traffic and of trees: quorum-port streams built from
//! generated packets (every payload: LearnerInfo, epochs, proposals with and without digest,
//! forwarded requests, PING session lists, REVALIDATE, SNAP with a real database body), and
//! SNAP bodies / snapshot bodies of trees grown by generated txns.

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzzer_mutate;

use crate::mutate::{byte_mutate, Rng};
use crate::shapes::{RequestShape, TxnShape};
use zkserver::fuzzing::quorum::{quorum_items, Item};
use zkserver::fuzzing::txn::base_tree;
use zkserver::proto::records::Id;
use zkserver::proto::txn::Txn;
use zkserver::quorum::wire::packet::{PacketType, QuorumPacket};
use zkserver::quorum::wire::payload::{
    encode_int, encode_revalidate, encode_revalidate_reply, encode_touched, ForwardedRequest,
    LearnerInfo, PROTOCOL_VERSION,
};
use zkserver::tree::apache_snap::write_signature;
use zkserver::tree::DataTree;

#[derive(Debug, Clone, Arbitrary)]
pub enum PacketShape {
    FollowerInfo(u8, bool),
    ObserverInfo(u8, bool),
    LeaderInfo(bool),
    AckEpoch(u16, i32),
    Proposal(TxnShape),
    Inform(TxnShape),
    Commit(u16),
    Ack(u16),
    Ping(Vec<(i64, i32)>),
    Revalidate(i64, i32),
    RevalidateReply(i64, bool),
    Request(u8, i32, RequestShape, Vec<(String, String)>),
    Sync(u16),
    Diff(u16),
    Trunc(u16),
    NewLeader(String),
    UpToDate,
    Snap(Vec<TxnShape>),
    Raw(i32, i64, Option<Vec<u8>>, Option<Vec<(String, String)>>),
}

fn zxid(z: u16) -> i64 {
    0x1_0000_0000 + i64::from(z)
}

impl PacketShape {
    /// The packet's bytes (a SNAP is followed by its database body and signature).
    pub fn encode(&self) -> Vec<u8> {
        let p = |t: PacketType, z: i64, d: Option<Bytes>| QuorumPacket::new(t, z, d);
        let packet = match self {
            PacketShape::FollowerInfo(sid, full) | PacketShape::ObserverInfo(sid, full) => {
                let t = if matches!(self, PacketShape::FollowerInfo(..)) {
                    PacketType::FollowerInfo
                } else {
                    PacketType::ObserverInfo
                };
                let li = LearnerInfo {
                    sid: i64::from(*sid % 5),
                    protocol_version: PROTOCOL_VERSION,
                    config_version: 0,
                };
                let mut d = li.encode();
                if !full {
                    d = d.slice(..8);
                }
                p(t, zxid(0), Some(d))
            }
            PacketShape::LeaderInfo(v) => p(
                PacketType::LeaderInfo,
                zxid(0),
                Some(encode_int(if *v { PROTOCOL_VERSION } else { 0 })),
            ),
            PacketShape::AckEpoch(z, e) => p(PacketType::AckEpoch, zxid(*z), Some(encode_int(*e))),
            PacketShape::Proposal(t) | PacketShape::Inform(t) => {
                let bytes = Bytes::from(t.encode());
                let z = Txn::decode(bytes.clone()).map_or(zxid(1), |t| t.header.zxid);
                let kind = if matches!(self, PacketShape::Proposal(_)) {
                    PacketType::Proposal
                } else {
                    PacketType::Inform
                };
                p(kind, z, Some(bytes))
            }
            PacketShape::Commit(z) => p(PacketType::Commit, zxid(*z), None),
            PacketShape::Ack(z) => p(PacketType::Ack, zxid(*z), None),
            PacketShape::Ping(s) => p(PacketType::Ping, zxid(0), Some(encode_touched(s))),
            PacketShape::Revalidate(s, t) => {
                p(PacketType::Revalidate, -1, Some(encode_revalidate(*s, *t)))
            }
            PacketShape::RevalidateReply(s, v) => p(
                PacketType::Revalidate,
                -1,
                Some(encode_revalidate_reply(*s, *v)),
            ),
            PacketShape::Request(session, cxid, req, auth) => {
                let (op, body) = req.encode();
                let f = ForwardedRequest {
                    session: 0x100 + i64::from(*session % 4),
                    cxid: *cxid,
                    op,
                    body,
                };
                QuorumPacket {
                    kind: PacketType::Request as i32,
                    zxid: -1,
                    data: Some(f.encode()),
                    auth: Some(ids(auth)),
                }
            }
            PacketShape::Sync(z) => p(PacketType::Sync, zxid(*z), None),
            PacketShape::Diff(z) => p(PacketType::Diff, zxid(*z), None),
            PacketShape::Trunc(z) => p(PacketType::Trunc, zxid(*z), None),
            PacketShape::NewLeader(qv) => p(
                PacketType::NewLeader,
                zxid(0),
                Some(Bytes::from(qv.clone().into_bytes())),
            ),
            PacketShape::UpToDate => p(PacketType::UpToDate, -1, None),
            PacketShape::Snap(txns) => {
                let mut out = p(PacketType::Snap, zxid(9), None).to_bytes().to_vec();
                grown_tree(txns)
                    .write_apache_snap(&mut out)
                    .expect("write to a Vec");
                write_signature(&mut out);
                return out;
            }
            PacketShape::Raw(kind, z, d, auth) => QuorumPacket {
                kind: *kind,
                zxid: *z,
                data: d.as_ref().map(|v| Bytes::copy_from_slice(v)),
                auth: auth.as_ref().map(|a| ids(a)),
            },
        };
        packet.to_bytes().to_vec()
    }
}

fn ids(v: &[(String, String)]) -> Vec<Id> {
    v.iter()
        .map(|(scheme, id)| Id {
            scheme: scheme.clone(),
            id: id.clone(),
        })
        .collect()
}

/// The checks' base tree after the generated txns (applied as a follower would).
pub fn grown_tree(txns: &[TxnShape]) -> DataTree {
    let mut tree = base_tree();
    grow(&mut tree, txns);
    tree
}

fn grow(tree: &mut DataTree, txns: &[TxnShape]) {
    for t in txns {
        if let Ok(txn) = Txn::decode(Bytes::from(t.encode())) {
            tree.apply(&txn);
        }
    }
}

/// The byte spans of a quorum stream's items (packets; SNAP body + signature) and the rest.
fn stream_items(stream: &[u8], learner_side: bool) -> (Vec<Vec<u8>>, Vec<u8>) {
    let (items, _) = quorum_items(stream, stream.len(), learner_side);
    let mut pos = 0;
    let mut out = Vec::new();
    for item in items {
        let n = match item {
            Item::Packet(_, used) => used,
            Item::Snap(body) => body.len() + 14,
        };
        out.push(stream[pos..pos + n].to_vec());
        pos += n;
    }
    (out, stream[pos..].to_vec())
}

/// A quorum stream: a side byte, then packets.
pub fn quorum(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    if rng.chance(3) || size == 0 {
        return fuzzer_mutate(data, size, max_size);
    }
    let side = data[0];
    let (mut items, tail) = stream_items(&data[1..size], side & 1 == 1);
    let mut gen = |rng: &mut Rng| rng.shape::<PacketShape>().map(|p| p.encode());
    match rng.below(8) {
        0..=5 => crate::mutate::edit_items(&mut rng, &mut items, 0, &mut gen),
        6 if !items.is_empty() => {
            let i = rng.below(items.len());
            let mut buf = BytesMut::from(&items[i][..]);
            if let Ok(Some(mut p)) = zkserver::quorum::wire::decode_packet(&mut buf, 1 << 20) {
                let mut d = p.payload().to_vec();
                byte_mutate(&mut d, 32);
                p.data = Some(Bytes::from(d));
                items[i] = p.to_bytes().to_vec();
            }
        }
        _ => {
            if let Some(p) = gen(&mut rng) {
                items.push(p);
            }
        }
    }
    let mut out = vec![if rng.chance(16) { side ^ 1 } else { side }];
    out.extend(items.concat());
    if rng.chance(4) {
        out.extend_from_slice(&tail);
    }
    if rng.chance(6) {
        byte_mutate(&mut out, 32);
    }
    crate::mutate::emit(data, max_size, &out).unwrap_or_else(|| fuzzer_mutate(data, size, max_size))
}

/// How a tree body is written for a target.
#[derive(Clone, Copy)]
pub enum TreeFormat {
    /// Apache's SNAP body (apache_snap target).
    ApacheSnap,
    /// A flags byte with bit 0 set, then our snapshot body (snapshot target).
    OursWrapped,
}

/// Grows the tree an input holds (or the base tree) by generated txns and writes it back.
pub fn tree_body(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    format: TreeFormat,
) -> usize {
    let mut rng = Rng::new(seed);
    if rng.chance(2) {
        return fuzzer_mutate(data, size, max_size);
    }
    let input = &data[..size];
    let loaded = match format {
        TreeFormat::ApacheSnap => DataTree::read_apache_snap(input, 1 << 20, true)
            .ok()
            .map(|l| l.tree),
        TreeFormat::OursWrapped => input
            .split_first()
            .and_then(|(_, b)| DataTree::read_snapshot(Bytes::copy_from_slice(b)).ok()),
    };
    let mut tree = loaded.unwrap_or_else(base_tree);
    let n = 1 + rng.below(4);
    let txns: Vec<TxnShape> = (0..n).filter_map(|_| rng.shape()).collect();
    grow(&mut tree, &txns);
    let mut out = Vec::new();
    match format {
        TreeFormat::ApacheSnap => tree.write_apache_snap(&mut out).expect("write to a Vec"),
        TreeFormat::OursWrapped => {
            out.push(1);
            tree.write_snapshot(&mut out).expect("write to a Vec");
        }
    }
    if rng.chance(3) {
        byte_mutate(&mut out, 16);
    }
    crate::mutate::emit(data, max_size, &out).unwrap_or_else(|| fuzzer_mutate(data, size, max_size))
}

/// Txn log segments (a flags byte, then `ZKRL` segments): records of generated txns,
/// truncations (torn tails), zeroed runs, split segments.
pub fn log(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    if rng.chance(3) || size == 0 {
        return fuzzer_mutate(data, size, max_size);
    }
    let mut out = data[..size].to_vec();
    if out.len() < 17 {
        out = vec![1];
        out.extend_from_slice(b"ZKRL\0\0\0\x01\0\0\0\0\0\0\0\0");
    }
    let record = |rng: &mut Rng, z: i64| -> Option<Vec<u8>> {
        let t = rng.shape::<TxnShape>()?;
        let mut txn = t.encode();
        if txn.len() >= 20 {
            txn[12..20].copy_from_slice(&z.to_be_bytes());
        }
        let mut r = (txn.len() as u32).to_be_bytes().to_vec();
        r.extend_from_slice(&0u32.to_be_bytes());
        r.extend_from_slice(&z.to_be_bytes());
        r.extend_from_slice(&txn);
        Some(r)
    };
    let last = last_record_zxid(&out[1..]).unwrap_or(0x1_0000_0000);
    match rng.below(7) {
        0..=2 => {
            let z = if rng.chance(8) {
                last
            } else {
                last.wrapping_add(1 + rng.below(3) as i64)
            };
            if let Some(r) = record(&mut rng, z) {
                out.extend_from_slice(&r);
            }
        }
        3 => {
            let cut = 1 + rng.below(out.len());
            out.truncate(cut);
        }
        4 => {
            let at = 1 + rng.below(out.len() - 1);
            let n = (1 + rng.below(32)).min(out.len() - at);
            out[at..at + n].fill(0);
        }
        5 => {
            let mut seg = b"ZKRL\0\0\0\x01\0\0\0\0\0\0\0\0".to_vec();
            if let Some(r) = record(&mut rng, last.wrapping_add(1)) {
                seg.extend_from_slice(&r);
            }
            out.extend_from_slice(&seg);
        }
        _ => out[0] ^= 1 << rng.below(3),
    }
    crate::mutate::emit(data, max_size, &out).unwrap_or_else(|| fuzzer_mutate(data, size, max_size))
}

/// The zxid of the last record header reachable by walking the last segment's records.
fn last_record_zxid(files: &[u8]) -> Option<i64> {
    let segs = zkserver::fuzzing::storage::split_segments(files);
    let seg = segs.last()?;
    let mut pos = 16;
    let mut last = None;
    while pos + 16 <= seg.len() {
        let len = u32::from_be_bytes(seg[pos..pos + 4].try_into().ok()?) as usize;
        if len == 0 || pos + 16 + len > seg.len() {
            break;
        }
        last = Some(i64::from_be_bytes(seg[pos + 8..pos + 16].try_into().ok()?));
        pos += 16 + len;
    }
    last
}
