//! The quorum port (2888): a stream of jute `QuorumPacket{int type, long zxid, buffer data,
//! vector<Id> authinfo}` records back to back, with no outer length (QUORUM.md §3.1).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

use crate::proto::jute::Jute;
use crate::proto::records::Id;

/// `Leader.*` packet type constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum PacketType {
    Request = 1,
    Proposal = 2,
    Ack = 3,
    Commit = 4,
    Ping = 5,
    Revalidate = 6,
    Sync = 7,
    Inform = 8,
    CommitAndActivate = 9,
    NewLeader = 10,
    FollowerInfo = 11,
    UpToDate = 12,
    Diff = 13,
    Trunc = 14,
    Snap = 15,
    ObserverInfo = 16,
    LeaderInfo = 17,
    AckEpoch = 18,
    InformAndActivate = 19,
}

impl PacketType {
    pub fn from_i32(v: i32) -> Option<PacketType> {
        use PacketType::*;
        Some(match v {
            1 => Request,
            2 => Proposal,
            3 => Ack,
            4 => Commit,
            5 => Ping,
            6 => Revalidate,
            7 => Sync,
            8 => Inform,
            9 => CommitAndActivate,
            10 => NewLeader,
            11 => FollowerInfo,
            12 => UpToDate,
            13 => Diff,
            14 => Trunc,
            15 => Snap,
            16 => ObserverInfo,
            17 => LeaderInfo,
            18 => AckEpoch,
            19 => InformAndActivate,
            _ => return None,
        })
    }

    /// The name Apache logs (`LearnerHandler.packetToString`).
    pub fn name(self) -> &'static str {
        use PacketType::*;
        match self {
            Request => "REQUEST",
            Proposal => "PROPOSAL",
            Ack => "ACK",
            Commit => "COMMIT",
            Ping => "PING",
            Revalidate => "REVALIDATE",
            Sync => "SYNC",
            Inform => "INFORM",
            CommitAndActivate => "COMMITANDACTIVATE",
            NewLeader => "NEWLEADER",
            FollowerInfo => "FOLLOWERINFO",
            UpToDate => "UPTODATE",
            Diff => "DIFF",
            Trunc => "TRUNC",
            Snap => "SNAP",
            ObserverInfo => "OBSERVERINFO",
            LeaderInfo => "LEADERINFO",
            AckEpoch => "ACKEPOCH",
            InformAndActivate => "INFORMANDACTIVATE",
        }
    }
}

/// One quorum packet. `kind` stays raw: an unknown type is Apache's "unexpected packet" warning,
/// not a decode error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumPacket {
    pub kind: i32,
    pub zxid: i64,
    /// `None` is jute's null buffer (-1), distinct from an empty one.
    pub data: Option<Bytes>,
    /// `None` is a null vector (-1).
    pub auth: Option<Vec<Id>>,
}

impl QuorumPacket {
    pub fn new(kind: PacketType, zxid: i64, data: Option<Bytes>) -> QuorumPacket {
        QuorumPacket {
            kind: kind as i32,
            zxid,
            data,
            auth: None,
        }
    }

    pub fn packet_type(&self) -> Option<PacketType> {
        PacketType::from_i32(self.kind)
    }

    /// The payload, or empty for a null buffer.
    pub fn payload(&self) -> &[u8] {
        self.data.as_deref().unwrap_or(&[])
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_i32(self.kind);
        out.put_i64(self.zxid);
        self.data.write(out);
        match &self.auth {
            None => out.put_i32(-1),
            Some(ids) => ids.write(out),
        }
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(24 + self.payload().len());
        self.encode(&mut out);
        out.freeze()
    }

    /// Apache's log form: `TYPE, 0x<zxid>, <data length>`.
    pub fn describe(&self) -> String {
        let name = self
            .packet_type()
            .map_or_else(|| format!("UNKNOWN{}", self.kind), |t| t.name().to_string());
        format!(
            "{name}, 0x{:x}, {}",
            self.zxid,
            self.data.as_ref().map_or(-1, |d| d.len() as i64)
        )
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PacketError {
    #[error("Unreasonable length = {len} at offset {offset} (max {max})")]
    BadLength { offset: usize, len: i64, max: usize },
    #[error("authinfo string at offset {0} is not UTF-8")]
    BadUtf8(usize),
}

/// Reads a jute length at `pos`; -1 (null) passes, anything else must be in `0..=max`.
fn length_at(buf: &[u8], pos: usize, max: usize) -> Result<Option<i32>, PacketError> {
    let Some(b) = buf.get(pos..pos + 4) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if len < -1 || len as i64 > max as i64 {
        return Err(PacketError::BadLength {
            offset: pos,
            len: len.into(),
            max,
        });
    }
    Ok(Some(len))
}

/// The size of the packet at the front of `buf` once it has fully arrived.
fn complete_len(buf: &[u8], max: usize) -> Result<Option<usize>, PacketError> {
    let mut pos = 12;
    let Some(data_len) = length_at(buf, pos, max)? else {
        return Ok(None);
    };
    pos += 4 + data_len.max(0) as usize;
    let Some(count) = length_at(buf, pos, max)? else {
        return Ok(None);
    };
    pos += 4;
    for _ in 0..count.max(0) {
        for _ in 0..2 {
            let Some(len) = length_at(buf, pos, max)? else {
                return Ok(None);
            };
            pos += 4 + len.max(0) as usize;
        }
    }
    Ok((buf.len() >= pos).then_some(pos))
}

/// Takes one packet off the front of `buf`; `Ok(None)` = need more bytes. Every length is
/// checked against `max` (jute.maxbuffer + extrasize) before anything is allocated; a bad one
/// ends the connection, as Apache's "Unreasonable length" does.
pub fn decode_packet(buf: &mut BytesMut, max: usize) -> Result<Option<QuorumPacket>, PacketError> {
    let Some(len) = complete_len(buf, max)? else {
        return Ok(None);
    };
    let mut frame = buf.split_to(len).freeze();
    let kind = frame.get_i32();
    let zxid = frame.get_i64();
    let data_len = frame.get_i32();
    let data = (data_len >= 0).then(|| frame.split_to(data_len as usize));
    let count = frame.get_i32();
    let auth = if count < 0 {
        None
    } else {
        let mut ids = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let mut s = [String::new(), String::new()];
            for item in &mut s {
                let n = frame.get_i32().max(0) as usize;
                let offset = len - frame.remaining();
                let bytes = frame.split_to(n);
                *item =
                    String::from_utf8(bytes.to_vec()).map_err(|_| PacketError::BadUtf8(offset))?;
            }
            let [scheme, id] = s;
            ids.push(Id { scheme, id });
        }
        Some(ids)
    };
    Ok(Some(QuorumPacket {
        kind,
        zxid,
        data,
        auth,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 2 * 0xfffff;

    fn with_auth() -> QuorumPacket {
        QuorumPacket {
            kind: PacketType::Request as i32,
            zxid: -1,
            data: Some(Bytes::from_static(b"\x00\x01")),
            auth: Some(vec![Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            }]),
        }
    }

    #[test]
    fn packets_round_trip_and_need_every_byte() {
        for p in [
            with_auth(),
            QuorumPacket::new(PacketType::UpToDate, -1, None),
            QuorumPacket::new(PacketType::Ping, 5, Some(Bytes::new())),
        ] {
            let bytes = p.to_bytes();
            for n in 0..bytes.len() {
                let mut partial = BytesMut::from(&bytes[..n]);
                assert_eq!(decode_packet(&mut partial, MAX), Ok(None), "{n}");
            }
            let mut two = BytesMut::new();
            p.encode(&mut two);
            p.encode(&mut two);
            assert_eq!(decode_packet(&mut two, MAX).unwrap().unwrap(), p);
            assert_eq!(decode_packet(&mut two, MAX).unwrap().unwrap(), p);
            assert!(two.is_empty());
        }
    }

    #[test]
    fn null_and_empty_stay_distinct() {
        let uptodate = QuorumPacket::new(PacketType::UpToDate, -1, None).to_bytes();
        assert_eq!(
            &uptodate[..],
            &[
                0, 0, 0, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff
            ]
        );
        let ping = QuorumPacket::new(PacketType::Ping, 0, Some(Bytes::new())).to_bytes();
        assert_eq!(&ping[12..16], &[0, 0, 0, 0]);
    }

    #[test]
    fn hostile_lengths_are_rejected_before_allocating() {
        let mut b = BytesMut::new();
        b.put_i32(2);
        b.put_i64(1);
        b.put_i32(i32::MAX);
        assert!(matches!(
            decode_packet(&mut b, MAX),
            Err(PacketError::BadLength { .. })
        ));
        let mut b = BytesMut::new();
        b.put_i32(2);
        b.put_i64(1);
        b.put_i32(-2);
        assert!(decode_packet(&mut b, MAX).is_err());
        let mut b = BytesMut::new();
        b.put_i32(1);
        b.put_i64(1);
        b.put_i32(-1);
        b.put_i32(i32::MAX);
        assert!(decode_packet(&mut b, MAX).is_err());
    }

    #[test]
    fn describe_names_the_type() {
        assert_eq!(
            QuorumPacket::new(PacketType::Commit, 0x100000002, None).describe(),
            "COMMIT, 0x100000002, -1"
        );
    }
}
