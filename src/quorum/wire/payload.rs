//! The payloads inside `QuorumPacket.data`: LearnerInfo, LEADERINFO/ACKEPOCH ints, REVALIDATE,
//! forwarded REQUESTs, the session lists of PING replies, and the txn + TxnDigest of
//! PROPOSAL/INFORM (QUORUM.md §3.2, §6.1, §6.5–§6.7).
//! Apache reads several of these raw with a ByteBuffer, so the decoders accept what it accepts.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::proto::jute::{DecodeError, Jute, Reader};
use crate::proto::opcode::OpCode;
use crate::proto::txn::{Txn, TxnBody, TxnHeader};

/// The Zab 1.0 protocol version learners and leaders exchange.
pub const PROTOCOL_VERSION: i32 = 0x10000;

/// FOLLOWERINFO / OBSERVERINFO payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnerInfo {
    pub sid: i64,
    pub protocol_version: i32,
    pub config_version: i64,
}

impl LearnerInfo {
    /// Always the full 20 bytes: shorter forms send Apache down its pre-Zab-1.0 path.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(20);
        out.put_i64(self.sid);
        out.put_i32(self.protocol_version);
        out.put_i64(self.config_version);
        out.freeze()
    }

    /// Raw parse as `LearnerHandler.run` does it: ≥ 8 bytes give the sid, ≥ 12 the protocol
    /// version (else 0), ≥ 20 the config version (else 0). `None` when there is no sid.
    pub fn decode(data: &[u8]) -> Option<LearnerInfo> {
        let mut b = data;
        if b.len() < 8 {
            return None;
        }
        let sid = b.get_i64();
        let protocol_version = if b.len() >= 4 { b.get_i32() } else { 0 };
        let config_version = if b.len() >= 8 { b.get_i64() } else { 0 };
        Some(LearnerInfo {
            sid,
            protocol_version,
            config_version,
        })
    }
}

/// A 4-byte big-endian int payload (LEADERINFO's protocol version, ACKEPOCH's epoch).
pub fn encode_int(v: i32) -> Bytes {
    Bytes::copy_from_slice(&v.to_be_bytes())
}

/// The leading int of a payload; `None` if shorter than 4 bytes (Apache disconnects).
pub fn decode_int(data: &[u8]) -> Option<i32> {
    let head: [u8; 4] = data.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(head))
}

/// REVALIDATE learner → leader: `long sessionId, int timeoutMs`.
pub fn encode_revalidate(session: i64, timeout_ms: i32) -> Bytes {
    let mut out = BytesMut::with_capacity(12);
    out.put_i64(session);
    out.put_i32(timeout_ms);
    out.freeze()
}

pub fn decode_revalidate(data: &[u8]) -> Option<(i64, i32)> {
    let mut b = data;
    (b.len() >= 12).then(|| (b.get_i64(), b.get_i32()))
}

/// REVALIDATE leader → learner: `long sessionId, bool valid`.
pub fn encode_revalidate_reply(session: i64, valid: bool) -> Bytes {
    let mut out = BytesMut::with_capacity(9);
    out.put_i64(session);
    out.put_u8(u8::from(valid));
    out.freeze()
}

pub fn decode_revalidate_reply(data: &[u8]) -> Option<(i64, bool)> {
    let mut b = data;
    (b.len() >= 9).then(|| (b.get_i64(), b.get_u8() != 0))
}

/// A client write forwarded to the leader: `long sessionId, int cxid, int type` + the request
/// record exactly as the client sent it (after its RequestHeader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedRequest {
    pub session: i64,
    pub cxid: i32,
    pub op: i32,
    pub body: Bytes,
}

impl ForwardedRequest {
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(16 + self.body.len());
        out.put_i64(self.session);
        out.put_i32(self.cxid);
        out.put_i32(self.op);
        out.put_slice(&self.body);
        out.freeze()
    }

    pub fn decode(data: &Bytes) -> Option<ForwardedRequest> {
        if data.len() < 16 {
            return None;
        }
        let mut head = &data[..16];
        Some(ForwardedRequest {
            session: head.get_i64(),
            cxid: head.get_i32(),
            op: head.get_i32(),
            body: data.slice(16..),
        })
    }
}

/// A learner's PING reply: `(long sessionId, int timeoutMs)*`, possibly empty (never null:
/// a null payload kills Apache's LearnerHandler).
pub fn encode_touched(sessions: &[(i64, i32)]) -> Bytes {
    let mut out = BytesMut::with_capacity(12 * sessions.len());
    for &(id, timeout) in sessions {
        out.put_i64(id);
        out.put_i32(timeout);
    }
    out.freeze()
}

/// The sessions a PING reply reports; a trailing partial entry is ignored.
pub fn decode_touched(data: &[u8]) -> Vec<(i64, i32)> {
    let mut b = data;
    let mut out = Vec::with_capacity(b.len() / 12);
    while b.len() >= 12 {
        out.push((b.get_i64(), b.get_i32()));
    }
    out
}

/// The `TxnDigest` version Apache 3.8 writes (`DigestCalculator.DIGEST_VERSION`).
pub const TXN_DIGEST_VERSION: i32 = 2;

/// The trailer a digest-enabled leader (3.8's default) appends to a PROPOSAL/INFORM txn: the
/// tree digest expected after applying it. Captured 3.8.0 traffic has it on every txn type
/// except error txns (type -1), whose proposals end right after the ErrorTxn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnDigest {
    pub version: i32,
    pub tree_digest: i64,
}

/// A PROPOSAL / INFORM payload: `TxnHeader` + record + optional `TxnDigest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalTxn {
    pub txn: Txn,
    pub digest: Option<TxnDigest>,
}

impl ProposalTxn {
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64);
        self.txn.header.write(&mut out);
        self.txn.body.write(&mut out);
        if let Some(d) = self.digest {
            out.put_i32(d.version);
            out.put_i64(d.tree_digest);
        }
        out.freeze()
    }

    /// Decodes as `SerializeUtils.deserializeTxn` does: header, the record its type names,
    /// then a digest if 12 more bytes are there (fewer ⇒ EOF ⇒ no digest; more are ignored).
    pub fn decode(data: Bytes) -> Result<ProposalTxn, DecodeError> {
        let mut r = Reader::new(data);
        let header = TxnHeader::read(&mut r)?;
        let op = OpCode::from_i32(header.txn_type).ok_or(DecodeError::Unknown {
            what: "txn type",
            value: header.txn_type,
        })?;
        let body = TxnBody::read(op, &mut r)?;
        let digest = if r.remaining() >= 12 {
            Some(TxnDigest {
                version: r.i32()?,
                tree_digest: r.i64()?,
            })
        } else {
            None
        };
        Ok(ProposalTxn {
            txn: Txn { header, body },
            digest,
        })
    }
}

/// The new configuration text of a reconfig txn (type 16: a SetDataTxn on
/// `/zookeeper/config`), which learners activate at COMMITANDACTIVATE/INFORMANDACTIVATE;
/// `None` for any other txn.
pub fn reconfig_config(txn: &Bytes) -> Option<Bytes> {
    if txn.get(28..32)? != OpCode::Reconfig.code().to_be_bytes() {
        return None;
    }
    match ProposalTxn::decode(txn.clone()).ok()?.txn.body {
        TxnBody::SetData(t) => t.data,
        _ => None,
    }
}

/// COMMITANDACTIVATE's payload: the designated leader's sid (a raw long).
pub fn decode_designated_leader(data: &[u8]) -> Option<i64> {
    let b: [u8; 8] = data.get(..8)?.try_into().ok()?;
    Some(i64::from_be_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::txn::{CreateSessionTxn, ErrorTxn};

    #[test]
    fn proposal_txn_with_and_without_digest() {
        let txn = |kind: OpCode, body| Txn {
            header: TxnHeader {
                client_id: 0x100,
                cxid: 0,
                zxid: 0x1_0000_0001,
                time: 1_700_000_000_000,
                txn_type: kind.code(),
            },
            body,
        };
        let with = ProposalTxn {
            txn: txn(
                OpCode::CreateSession,
                TxnBody::CreateSession(CreateSessionTxn { timeout: 30000 }),
            ),
            digest: Some(TxnDigest {
                version: TXN_DIGEST_VERSION,
                tree_digest: 1_371_985_504,
            }),
        };
        let bytes = with.encode();
        assert_eq!(bytes.len(), 32 + 4 + 12);
        assert_eq!(ProposalTxn::decode(bytes.clone()), Ok(with));
        // A short trailer is EOF for Apache: no digest, no error.
        let short = ProposalTxn::decode(bytes.slice(..bytes.len() - 1)).unwrap();
        assert_eq!(short.digest, None);
        let error = ProposalTxn {
            txn: txn(OpCode::Error, TxnBody::Error(ErrorTxn { err: -110 })),
            digest: None,
        };
        assert_eq!(error.encode().len(), 36);
        assert_eq!(ProposalTxn::decode(error.encode()), Ok(error));
        assert!(ProposalTxn::decode(Bytes::from_static(&[0; 20])).is_err());
    }

    #[test]
    fn learner_info_is_20_bytes_and_parses_short_forms() {
        let li = LearnerInfo {
            sid: 3,
            protocol_version: PROTOCOL_VERSION,
            config_version: 0,
        };
        let b = li.encode();
        assert_eq!(b.len(), 20);
        assert_eq!(LearnerInfo::decode(&b), Some(li));
        let short = LearnerInfo::decode(&b[..8]).unwrap();
        assert_eq!((short.sid, short.protocol_version), (3, 0));
        assert_eq!(LearnerInfo::decode(&b[..7]), None);
    }

    #[test]
    fn small_payloads_round_trip() {
        assert_eq!(decode_int(&encode_int(-1)), Some(-1));
        assert_eq!(decode_int(&[0, 1]), None);
        assert_eq!(
            decode_revalidate(&encode_revalidate(0x100, 4000)),
            Some((0x100, 4000))
        );
        assert_eq!(
            decode_revalidate_reply(&encode_revalidate_reply(9, true)),
            Some((9, true))
        );
        let sessions = vec![(1, 4000), (2, 6000)];
        assert_eq!(decode_touched(&encode_touched(&sessions)), sessions);
        assert!(encode_touched(&[]).is_empty());
        let req = ForwardedRequest {
            session: 5,
            cxid: 7,
            op: 1,
            body: Bytes::from_static(b"xyz"),
        };
        assert_eq!(ForwardedRequest::decode(&req.encode()), Some(req));
    }
}
