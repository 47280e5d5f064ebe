//! Builders shared by the handler tests of `election`, `leader`, `learner` and `member`: the
//! ensemble they run in, txns whose header carries their zxid, and the packets peers send.
//! Test-only; it owns no behaviour.

use bytes::{BufMut, Bytes, BytesMut};

use super::action::{Action, LinkId};
use super::view::QuorumView;
use super::wire::payload::{encode_int, LearnerInfo, PROTOCOL_VERSION};
use super::wire::{Notification, PacketType, QuorumPacket};
use super::zxid::make_zxid;
use super::{ServerState, Timing};

/// The member list every test ensemble sends in notifications and NEWLEADER.
pub const CONFIG: &[u8] = b"server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\nserver.3=c:2888:3888:participant\nserver.4=d:2888:3888:observer\nversion=0";

/// Voters 1, 2, 3 and observer 4.
pub fn view() -> QuorumView {
    QuorumView::new([1, 2, 3], [4], Bytes::from_static(CONFIG))
}

/// zoo_sample's timing: tick 2000 ms, initLimit 10 (20 s), syncLimit 5 (10 s).
pub fn timing() -> Timing {
    Timing::default()
}

/// `epoch << 32 | counter`.
pub fn z(epoch: i64, counter: i64) -> i64 {
    make_zxid(epoch, counter)
}

/// A txn as learners parse it: a `TxnHeader` (clientId, cxid, zxid, time, type) whose zxid is
/// `zxid`, then a body that tells txns apart.
pub fn txn(zxid: i64) -> Bytes {
    let mut b = BytesMut::with_capacity(32);
    b.put_i64(0x100);
    b.put_i32(1);
    b.put_i64(zxid);
    b.put_i64(1_700_000_000_000);
    b.put_i32(5);
    b.put_i64(!zxid);
    b.freeze()
}

pub fn pkt(kind: PacketType, zxid: i64, data: Option<Bytes>) -> QuorumPacket {
    QuorumPacket::new(kind, zxid, data)
}

/// `Action::Send` of a packet on `link`.
pub fn send(link: LinkId, kind: PacketType, zxid: i64, data: Option<Bytes>) -> Action {
    Action::Send {
        link,
        packet: pkt(kind, zxid, data),
    }
}

/// FOLLOWERINFO (or OBSERVERINFO) as an Apache 3.8 learner sends it.
pub fn learner_info(kind: PacketType, sid: i64, accepted_epoch: i64) -> QuorumPacket {
    let info = LearnerInfo {
        sid,
        protocol_version: PROTOCOL_VERSION,
        config_version: 0,
    };
    pkt(kind, make_zxid(accepted_epoch, 0), Some(info.encode()))
}

pub fn follower_info(sid: i64, accepted_epoch: i64) -> QuorumPacket {
    learner_info(PacketType::FollowerInfo, sid, accepted_epoch)
}

pub fn observer_info(sid: i64, accepted_epoch: i64) -> QuorumPacket {
    learner_info(PacketType::ObserverInfo, sid, accepted_epoch)
}

/// LEADERINFO for `epoch`: zxid `epoch << 32`, data the protocol version 0x10000.
pub fn leader_info(epoch: i64) -> QuorumPacket {
    pkt(
        PacketType::LeaderInfo,
        make_zxid(epoch, 0),
        Some(encode_int(PROTOCOL_VERSION)),
    )
}

/// ACKEPOCH: the learner's current epoch (or -1) and last logged zxid.
pub fn ack_epoch(current_epoch: i32, last_zxid: i64) -> QuorumPacket {
    pkt(
        PacketType::AckEpoch,
        last_zxid,
        Some(encode_int(current_epoch)),
    )
}

pub fn ack(zxid: i64) -> QuorumPacket {
    pkt(PacketType::Ack, zxid, None)
}

/// A notification in 3.8's form (version 2) carrying the test config.
pub fn note(
    state: ServerState,
    leader: i64,
    zxid: i64,
    round: i64,
    peer_epoch: i64,
) -> Notification {
    Notification {
        state: state as i32,
        leader,
        zxid,
        election_epoch: round,
        peer_epoch,
        version: super::wire::election::NOTIFICATION_VERSION,
        config: Bytes::from_static(CONFIG),
    }
}

/// The notifications among `out`, as (to, n).
pub fn notifies(out: &[Action]) -> Vec<(u64, Notification)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify { to, n } => Some((*to, n.clone())),
            _ => None,
        })
        .collect()
}

/// `out` without its election notifications.
pub fn without_notifies(out: &[Action]) -> Vec<Action> {
    out.iter()
        .filter(|a| !matches!(a, Action::Notify { .. }))
        .cloned()
        .collect()
}

/// A reconfig txn at `zxid` (type 16: a `SetDataTxn` of `/zookeeper/config`) carrying `text`.
pub fn reconfig_txn(zxid: i64, text: &str) -> Bytes {
    use crate::proto::txn::{SetDataTxn, Txn, TxnBody, TxnHeader};
    super::wire::payload::ProposalTxn {
        txn: Txn {
            header: TxnHeader {
                client_id: 0x100,
                cxid: 1,
                zxid,
                time: 1_700_000_000_000,
                txn_type: 16,
            },
            body: TxnBody::SetData(SetDataTxn {
                path: "/zookeeper/config".into(),
                data: Some(Bytes::from(text.to_string())),
                version: -1,
            }),
        },
        digest: None,
    }
    .encode()
}
