//! The election port (3888) and the quorum port (2888), read as `runtime::peers` reads them:
//! the initial message and `int`-framed notifications of an election connection; the stream of
//! `QuorumPacket`s of a learner link, every payload it carries (LearnerInfo, LEADERINFO and
//! ACKEPOCH ints, REVALIDATE both ways, forwarded REQUESTs, PING session lists, PROPOSAL/INFORM
//! txns with and without digest) and, on the learner side, the SNAP body and its signature.
//!
//! Properties: the same messages and the same error whether the bytes arrive at once or in small
//! reads; the initial message is `Ok(None)` on every shorter prefix and re-encodes to the bytes it
//! came from; notifications and packets re-encode to what decodes to them again (packets to the
//! same length); raw payload parsers give what their encoders write back; allocation is bounded
//! by the bytes present. Must not: drive the quorum state machines (the simulator does).

use bytes::{Buf, Bytes, BytesMut};

use super::alloc;
use super::client::{check_request, input_slack};
use crate::quorum::wire::election::{
    decode_election_frame, InitialMessage, Notification, NotificationDecodeError, MAX_ADDR_LEN,
    MAX_FRAME, NOTIFICATION_VERSION, PROTOCOL_V1, PROTOCOL_V2,
};
use crate::quorum::wire::packet::{decode_packet, PacketType, QuorumPacket};
use crate::quorum::wire::payload::{
    decode_int, decode_revalidate, decode_revalidate_reply, decode_touched, encode_int,
    encode_revalidate, encode_revalidate_reply, encode_touched, ForwardedRequest, LearnerInfo,
};
use crate::tree::apache_snap::check_signature;
use crate::tree::snap_scan::{ScanStatus, SnapScanner};

/// The quorum port's cap for the checks (`jute.maxbuffer` + extrasize on a real server): small,
/// so a reservation sized by a declared length stands out.
pub const FUZZ_MAX_PACKET: usize = 64 * 1024;

/// Bytes a listener receives on an accepted election connection: the initial message, then
/// notifications (the dialler reads the listener's replies with the same frame decoder).
pub fn check_election(data: &[u8]) {
    alloc::reset();
    let rest = match InitialMessage::parse(data) {
        Ok(Some((msg, used))) => {
            check_initial_message(data, &msg, used);
            &data[used..]
        }
        Ok(None) => {
            assert!(
                data.len() < 20 + MAX_ADDR_LEN,
                "no initial message in {} bytes",
                data.len()
            );
            return;
        }
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let whole = election_frames(rest, rest.len());
    let split = election_frames(rest, 1 + rest.len() % 5);
    assert_eq!(
        whole, split,
        "election framing depends on how the bytes arrive"
    );
    alloc::assert_within("election framing", input_slack(data.len()));
    for payload in whole.0 {
        alloc::reset();
        check_notification(&payload);
        alloc::assert_within("notification", input_slack(payload.len()));
    }
}

fn check_initial_message(data: &[u8], msg: &InitialMessage, used: usize) {
    assert!(used <= data.len());
    for cut in [0, 7, 19, used / 2, used.saturating_sub(1)] {
        if cut < used {
            assert_eq!(
                InitialMessage::parse(&data[..cut]),
                Ok(None),
                "a {cut}-byte prefix of a {used}-byte initial message"
            );
        }
    }
    let mut again = Vec::new();
    if msg.addrs.is_empty() {
        assert_eq!(used, 8);
        assert!(msg.sid >= 0);
        again.extend_from_slice(&msg.sid.to_be_bytes());
    } else {
        let first = i64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
        assert!(first == PROTOCOL_V1 || first == PROTOCOL_V2);
        let text = msg.addrs.join("|");
        if first == PROTOCOL_V1 && msg.addrs.len() == 1 {
            again.extend_from_slice(&InitialMessage::encode_v1(msg.sid, &text));
        } else {
            again.extend_from_slice(&first.to_be_bytes());
            again.extend_from_slice(&msg.sid.to_be_bytes());
            again.extend_from_slice(&(text.len() as i32).to_be_bytes());
            again.extend_from_slice(text.as_bytes());
        }
    }
    assert_eq!(
        &again[..],
        &data[..used],
        "initial message does not re-encode"
    );
}

/// Election frames cut as the read loop cuts them, the bytes arriving `chunk` at a time: the
/// payloads and the bad length that closed the connection, if any.
pub fn election_frames(data: &[u8], chunk: usize) -> (Vec<Bytes>, Option<i32>) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        match decode_election_frame(&mut buf) {
            Ok(Some(p)) => {
                assert!(!p.is_empty() && p.len() <= MAX_FRAME);
                out.push(p);
            }
            Ok(None) if rest.is_empty() => return (out, None),
            Ok(None) => {
                let n = chunk.max(1).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
            Err(len) => {
                assert!(len <= 0 || len as usize > MAX_FRAME);
                return (out, Some(len));
            }
        }
    }
}

/// One notification payload in any of the forms Apache accepts.
pub fn check_notification(payload: &[u8]) {
    match Notification::decode(payload) {
        Ok(n) => {
            assert!(payload.len() >= 28);
            let again = n.encode();
            let back = Notification::decode(&again).expect("an encoded notification decodes");
            assert_eq!(
                (
                    back.state,
                    back.leader,
                    back.zxid,
                    back.election_epoch,
                    back.peer_epoch
                ),
                (n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch)
            );
            assert_eq!(back.config, n.config);
            assert_eq!(back.version, NOTIFICATION_VERSION);
            if n.version == NOTIFICATION_VERSION {
                assert_eq!(
                    &again[..],
                    &payload[..again.len()],
                    "notification re-encodes"
                );
            }
            if n.version <= 1 {
                assert!(n.config.is_empty());
            }
        }
        Err(NotificationDecodeError::Short(c)) => assert!(c < 28 && c == payload.len()),
        Err(NotificationDecodeError::Malformed(c)) => assert_eq!(c, payload.len()),
        Err(NotificationDecodeError::BadConfigLength { len, capacity }) => {
            assert_eq!(capacity, payload.len());
            assert!(len < 0 || len as usize > capacity);
        }
    }
}

/// What a quorum-port read loop produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// A packet and the number of bytes it took on the wire.
    Packet(QuorumPacket, usize),
    /// A SNAP body (learner side), its signature consumed.
    Snap(Bytes),
}

/// The items of a quorum stream, the bytes arriving `chunk` at a time, and why it ended early.
/// Mirrors `runtime::peers::links::{read_loop, read_snap_body}`: on the learner side a SNAP
/// packet is followed by Apache's database serialization and `"BenWasHere"`.
pub fn quorum_items(data: &[u8], chunk: usize, learner_side: bool) -> (Vec<Item>, Option<String>) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut rest = data;
    let mut items = Vec::new();
    let mut fill = |buf: &mut BytesMut| -> bool {
        if rest.is_empty() {
            return false;
        }
        let n = chunk.max(1).min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        true
    };
    loop {
        let before = buf.len();
        let packet = match decode_packet(&mut buf, FUZZ_MAX_PACKET) {
            Ok(p) => p,
            Err(e) => return (items, Some(e.to_string())),
        };
        let Some(packet) = packet else {
            if !fill(&mut buf) {
                return (items, None);
            }
            continue;
        };
        let used = before - buf.len();
        let snap = learner_side && packet.packet_type() == Some(PacketType::Snap);
        items.push(Item::Packet(packet, used));
        if !snap {
            continue;
        }
        let mut scanner = SnapScanner::new(FUZZ_MAX_PACKET);
        let mut fed = 0;
        let len = loop {
            match scanner.feed(&buf[fed..]) {
                Err(e) => return (items, Some(format!("bad SNAP body: {e}"))),
                Ok(ScanStatus::Complete { len }) => break len as usize,
                Ok(ScanStatus::NeedMore) => {
                    fed = buf.len();
                    if !fill(&mut buf) {
                        return (items, None);
                    }
                }
            }
        };
        let body = buf.split_to(len).freeze();
        loop {
            match check_signature(&buf) {
                Ok(Some(n)) => {
                    buf.advance(n);
                    break;
                }
                Ok(None) => {
                    if !fill(&mut buf) {
                        return (items, None);
                    }
                }
                Err(e) => return (items, Some(e.to_string())),
            }
        }
        items.push(Item::Snap(body));
    }
}

/// One side of a learner link. The first byte picks the side (odd: the learner's, reading what
/// a leader sends, SNAP bodies included); the rest is the stream.
pub fn check_quorum_stream(data: &[u8]) {
    let Some((&side, stream)) = data.split_first() else {
        return;
    };
    let learner_side = side & 1 == 1;
    alloc::reset();
    let whole = quorum_items(stream, stream.len(), learner_side);
    let split = quorum_items(stream, 1 + stream.len() % 11, learner_side);
    assert_eq!(
        whole, split,
        "quorum framing depends on how the bytes arrive"
    );
    alloc::assert_within("quorum framing", 64 * 1024 + input_slack(stream.len()));
    for item in whole.0 {
        match item {
            Item::Packet(p, used) => {
                alloc::reset();
                check_packet(&p, used);
                alloc::assert_within("quorum packet", input_slack(used));
            }
            Item::Snap(body) => super::snap::check_apache_snap(&body),
        }
    }
}

/// One packet: re-encoding, then its payload as the receiving side parses it.
pub fn check_packet(p: &QuorumPacket, used: usize) {
    let again = p.to_bytes();
    assert_eq!(again.len(), used, "packet re-encodes to another length");
    let mut buf = BytesMut::from(&again[..]);
    assert_eq!(
        decode_packet(&mut buf, FUZZ_MAX_PACKET)
            .ok()
            .flatten()
            .as_ref(),
        Some(p),
        "packet does not round-trip"
    );
    let _ = p.describe();
    let data = p.payload();
    match p.packet_type() {
        Some(PacketType::FollowerInfo | PacketType::ObserverInfo) => {
            match LearnerInfo::decode(data) {
                None => assert!(data.len() < 8),
                Some(li) => {
                    let enc = li.encode();
                    assert_eq!(LearnerInfo::decode(&enc), Some(li));
                    if data.len() >= 20 {
                        assert_eq!(&enc[..], &data[..20]);
                    }
                }
            }
        }
        Some(PacketType::LeaderInfo | PacketType::AckEpoch) => match decode_int(data) {
            None => assert!(data.len() < 4),
            Some(v) => assert_eq!(&encode_int(v)[..], &data[..4]),
        },
        Some(PacketType::Revalidate) => {
            match decode_revalidate(data) {
                None => assert!(data.len() < 12),
                Some((s, t)) => assert_eq!(&encode_revalidate(s, t)[..], &data[..12]),
            }
            match decode_revalidate_reply(data) {
                None => assert!(data.len() < 9),
                Some((s, v)) => {
                    let enc = encode_revalidate_reply(s, v);
                    assert_eq!(&enc[..8], &data[..8]);
                    assert_eq!(enc[8] != 0, data[8] != 0);
                }
            }
        }
        Some(PacketType::Request) => {
            let bytes = Bytes::copy_from_slice(data);
            match ForwardedRequest::decode(&bytes) {
                None => assert!(data.len() < 16),
                Some(f) => {
                    assert_eq!(&f.encode()[..], data);
                    check_request(f.op, f.body);
                }
            }
        }
        Some(PacketType::Proposal | PacketType::Inform | PacketType::InformAndActivate) => {
            let _ = super::txn::check_txn_bytes(Bytes::copy_from_slice(data));
        }
        Some(PacketType::Ping) => {
            let sessions = decode_touched(data);
            assert_eq!(sessions.len(), data.len() / 12);
            assert_eq!(&encode_touched(&sessions)[..], &data[..12 * sessions.len()]);
        }
        _ => {}
    }
}
