//! ZooKeeper's txn records: the unit that is logged, replicated and applied.
//! A txn is `TxnHeader` followed by the record its `type` names, exactly as Apache
//! ZooKeeper writes them, so one encoding serves the log, peers and imports.
//!
//! Apache 3.6+ may append `TxnDigest{int version, long treeDigest}` after the record, in
//! PROPOSAL/INFORM payloads and txn-log entries alike (`Util.marshallTxnEntry`): the tree
//! digest the leader expects *after* applying the txn. A follower checks it by applying the
//! txn and then calling `DataTree::check_digest` (compares `DataTree::digest()` when the digest
//! is on here and the version is `tree::digest::DIGEST_VERSION`); a mismatch is counted and
//! logged, rate-limited, and never stops the server (Apache 3.8 `DataTree.compareDigest`). To
//! send one, a leader needs the digest before applying: `DataTree::digest_after` or, with
//! txns outstanding, `tree::digest_preview::DigestPreview`.

use bytes::{Bytes, BytesMut};

use super::jute::{DecodeError, Jute, Reader};
use super::opcode::OpCode;
use super::records::Acl;
use crate::jute_record;

jute_record! {
    pub struct TxnHeader { pub client_id: i64, pub cxid: i32, pub zxid: i64, pub time: i64, pub txn_type: i32 }
}
jute_record! {
    pub struct CreateTxn { pub path: String, pub data: Option<Bytes>, pub acl: Vec<Acl>, pub ephemeral: bool, pub parent_cversion: i32 }
}
jute_record! {
    pub struct CreateContainerTxn { pub path: String, pub data: Option<Bytes>, pub acl: Vec<Acl>, pub parent_cversion: i32 }
}
jute_record! {
    pub struct CreateTtlTxn { pub path: String, pub data: Option<Bytes>, pub acl: Vec<Acl>, pub parent_cversion: i32, pub ttl: i64 }
}
jute_record! { pub struct DeleteTxn { pub path: String } }
jute_record! { pub struct SetDataTxn { pub path: String, pub data: Option<Bytes>, pub version: i32 } }
jute_record! { pub struct CheckVersionTxn { pub path: String, pub version: i32 } }
jute_record! { pub struct SetAclTxn { pub path: String, pub acl: Vec<Acl>, pub version: i32 } }
jute_record! { pub struct ErrorTxn { pub err: i32 } }
jute_record! { pub struct CreateSessionTxn { pub timeout: i32 } }
jute_record! { pub struct CloseSessionTxn { pub paths_to_delete: Vec<String> } }
jute_record! { pub struct MultiTxnEntry { pub txn_type: i32, pub data: Bytes } }
jute_record! {
    /// The tree digest expected after a txn (12 bytes after the txn record).
    #[derive(Copy)]
    pub struct TxnDigest { pub version: i32, pub tree_digest: i64 }
}

/// Encoded size of a [`TxnDigest`].
pub const TXN_DIGEST_LEN: usize = 12;
/// The digest version Apache 3.6–3.9 computes (`DigestCalculator.DIGEST_VERSION`).
pub const DIGEST_VERSION: i32 = 2;

/// A decoded txn body. `Create` covers create and create2 (type 1/15), `Delete` covers
/// delete and deleteContainer (2/20): the header type keeps the distinction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    CreateSession(CreateSessionTxn),
    CloseSession(CloseSessionTxn),
    Create(CreateTxn),
    CreateContainer(CreateContainerTxn),
    CreateTtl(CreateTtlTxn),
    Delete(DeleteTxn),
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    Check(CheckVersionTxn),
    Multi(Vec<(OpCode, TxnBody)>),
    Error(ErrorTxn),
}

impl TxnBody {
    pub fn write(&self, out: &mut BytesMut) {
        match self {
            TxnBody::CreateSession(t) => t.write(out),
            TxnBody::CloseSession(t) => t.write(out),
            TxnBody::Create(t) => t.write(out),
            TxnBody::CreateContainer(t) => t.write(out),
            TxnBody::CreateTtl(t) => t.write(out),
            TxnBody::Delete(t) => t.write(out),
            TxnBody::SetData(t) => t.write(out),
            TxnBody::SetAcl(t) => t.write(out),
            TxnBody::Check(t) => t.write(out),
            TxnBody::Error(t) => t.write(out),
            TxnBody::Multi(ops) => {
                let entries: Vec<MultiTxnEntry> = ops
                    .iter()
                    .map(|(op, body)| {
                        let mut data = BytesMut::new();
                        body.write(&mut data);
                        MultiTxnEntry {
                            txn_type: op.code(),
                            data: data.freeze(),
                        }
                    })
                    .collect();
                entries.write(out)
            }
        }
    }

    /// Decodes the body that a header of type `op` announces.
    pub fn read(op: OpCode, r: &mut Reader) -> Result<TxnBody, DecodeError> {
        use OpCode::*;
        Ok(match op {
            CreateSession => TxnBody::CreateSession(Jute::read(r)?),
            // An empty closeSession body is legal (older servers wrote none).
            CloseSession if r.remaining() == 0 => TxnBody::CloseSession(CloseSessionTxn::default()),
            CloseSession => TxnBody::CloseSession(Jute::read(r)?),
            Create | Create2 => TxnBody::Create(Jute::read(r)?),
            CreateContainer => TxnBody::CreateContainer(Jute::read(r)?),
            CreateTtl => TxnBody::CreateTtl(Jute::read(r)?),
            Delete | DeleteContainer => TxnBody::Delete(Jute::read(r)?),
            // reconfig rewrites /zookeeper/config with a SetDataTxn.
            SetData | Reconfig => TxnBody::SetData(Jute::read(r)?),
            SetAcl => TxnBody::SetAcl(Jute::read(r)?),
            Check => TxnBody::Check(Jute::read(r)?),
            Error => TxnBody::Error(Jute::read(r)?),
            Multi => {
                let entries: Vec<MultiTxnEntry> = Jute::read(r)?;
                let mut ops = Vec::with_capacity(entries.len());
                for e in entries {
                    let sub = OpCode::from_i32(e.txn_type).filter(|o| *o != Multi).ok_or(
                        DecodeError::Unknown {
                            what: "multi txn type",
                            value: e.txn_type,
                        },
                    )?;
                    ops.push((sub, TxnBody::read(sub, &mut Reader::new(e.data))?));
                }
                TxnBody::Multi(ops)
            }
            other => {
                return Err(DecodeError::Unknown {
                    what: "txn type",
                    value: other.code(),
                })
            }
        })
    }
}

/// A whole txn: header and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub header: TxnHeader,
    pub body: TxnBody,
}

impl Txn {
    pub fn op(&self) -> Option<OpCode> {
        OpCode::from_i32(self.header.txn_type)
    }

    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(64);
        self.header.write(&mut out);
        self.body.write(&mut out);
        out.freeze()
    }

    /// The txn followed by its `TxnDigest`, as an Apache leader proposes it.
    pub fn encode_with_digest(&self, digest: &TxnDigest) -> Bytes {
        let mut out = BytesMut::with_capacity(64 + TXN_DIGEST_LEN);
        self.header.write(&mut out);
        self.body.write(&mut out);
        digest.write(&mut out);
        out.freeze()
    }

    /// Decodes a txn, accepting (and dropping) a trailing `TxnDigest`.
    pub fn decode(bytes: Bytes) -> Result<Txn, DecodeError> {
        Txn::decode_with_digest(bytes).map(|(txn, _)| txn)
    }

    /// Decodes a txn and its trailing `TxnDigest`, if any. Nothing after the record means no
    /// digest; 1–11 bytes are a truncated digest and an error (Apache would silently treat them
    /// as no digest); bytes after a whole digest are ignored, as Apache does.
    pub fn decode_with_digest(bytes: Bytes) -> Result<(Txn, Option<TxnDigest>), DecodeError> {
        let mut r = Reader::new(bytes);
        let header = TxnHeader::read(&mut r)?;
        let op = OpCode::from_i32(header.txn_type).ok_or(DecodeError::Unknown {
            what: "txn type",
            value: header.txn_type,
        })?;
        let body = if op == OpCode::CloseSession && legacy_close_with_digest(&r) {
            TxnBody::CloseSession(CloseSessionTxn::default())
        } else {
            TxnBody::read(op, &mut r)?
        };
        let digest = match r.remaining() {
            0 => None,
            n if n < TXN_DIGEST_LEN => {
                return Err(DecodeError::Truncated {
                    offset: r.position(),
                    needed: TXN_DIGEST_LEN - n,
                })
            }
            _ => Some(TxnDigest::read(&mut r)?),
        };
        Ok((Txn { header, body }, digest))
    }
}

/// A closeSession without its record (`zookeeper.closeSessionTxn.enabled=false` on the
/// writer) but with a digest: exactly 12 bytes starting with the digest version. As a
/// CloseSessionTxn those bytes would be two empty paths, which no server writes.
fn legacy_close_with_digest(r: &Reader) -> bool {
    let mut peek = r.clone();
    r.remaining() == TXN_DIGEST_LEN && peek.i32() == Ok(DIGEST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::Id;

    fn header(t: OpCode) -> TxnHeader {
        TxnHeader {
            client_id: 0x100,
            cxid: 3,
            zxid: 0x1_0000_0002,
            time: 1_700_000_000_000,
            txn_type: t.code(),
        }
    }

    #[test]
    fn multi_txn_round_trips() {
        let acl = vec![Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }];
        let txn = Txn {
            header: header(OpCode::Multi),
            body: TxnBody::Multi(vec![
                (
                    OpCode::Create,
                    TxnBody::Create(CreateTxn {
                        path: "/a".into(),
                        data: Some(Bytes::from_static(b"x")),
                        acl,
                        ephemeral: false,
                        parent_cversion: 1,
                    }),
                ),
                (
                    OpCode::SetData,
                    TxnBody::SetData(SetDataTxn {
                        path: "/a".into(),
                        data: None,
                        version: 1,
                    }),
                ),
                (OpCode::Error, TxnBody::Error(ErrorTxn { err: -101 })),
            ]),
        };
        assert_eq!(Txn::decode(txn.encode()).unwrap(), txn);
    }

    #[test]
    fn truncated_txns_are_errors_at_every_length() {
        let txn = Txn {
            header: header(OpCode::SetData),
            body: TxnBody::SetData(SetDataTxn {
                path: "/abc".into(),
                data: Some(Bytes::from_static(b"hello")),
                version: 2,
            }),
        };
        let bytes = txn.encode();
        for n in 0..bytes.len() {
            assert!(Txn::decode(bytes.slice(..n)).is_err(), "prefix {n} decoded");
        }
    }

    #[test]
    fn trailing_digest_round_trips_and_truncation_is_an_error() {
        let txn = Txn {
            header: header(OpCode::Delete),
            body: TxnBody::Delete(DeleteTxn { path: "/a".into() }),
        };
        let digest = TxnDigest {
            version: 2,
            tree_digest: 5_246_498_219,
        };
        let plain = txn.encode();
        let with = txn.encode_with_digest(&digest);
        assert_eq!(with.len(), plain.len() + TXN_DIGEST_LEN);
        assert_eq!(
            &with[plain.len()..],
            &[0, 0, 0, 2, 0, 0, 0, 1, 0x38, 0xb7, 0x35, 0xab][..]
        );
        assert_eq!(
            Txn::decode_with_digest(with.clone()).unwrap(),
            (txn.clone(), Some(digest))
        );
        assert_eq!(
            Txn::decode_with_digest(plain.clone()).unwrap(),
            (txn.clone(), None)
        );
        assert_eq!(Txn::decode(with.clone()).unwrap(), txn);
        for cut in 1..TXN_DIGEST_LEN {
            let bytes = with.slice(..plain.len() + cut);
            assert!(
                Txn::decode_with_digest(bytes.clone()).is_err(),
                "{cut} digest bytes"
            );
            assert!(Txn::decode(bytes).is_err(), "{cut} digest bytes");
        }
        let mut longer = with.to_vec();
        longer.extend_from_slice(&[9, 9]);
        assert_eq!(
            Txn::decode_with_digest(Bytes::from(longer)).unwrap().1,
            Some(digest)
        );
    }

    #[test]
    fn close_session_without_record_keeps_its_digest() {
        let txn = Txn {
            header: header(OpCode::CloseSession),
            body: TxnBody::CloseSession(CloseSessionTxn::default()),
        };
        let digest = TxnDigest {
            version: 2,
            tree_digest: 1_371_985_504,
        };
        let mut bytes = BytesMut::new();
        txn.header.write(&mut bytes);
        digest.write(&mut bytes);
        assert_eq!(
            Txn::decode_with_digest(bytes.freeze()).unwrap(),
            (txn.clone(), Some(digest))
        );
        let listed = Txn {
            body: TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: vec!["/e".into()],
            }),
            ..txn
        };
        let bytes = listed.encode_with_digest(&digest);
        assert_eq!(
            Txn::decode_with_digest(bytes).unwrap(),
            (listed, Some(digest))
        );
    }

    #[test]
    fn reconfig_txn_is_a_set_data() {
        let body = TxnBody::SetData(SetDataTxn {
            path: "/zookeeper/config".into(),
            data: Some(Bytes::from_static(b"server.1=a:1:2")),
            version: 1,
        });
        let txn = Txn {
            header: header(OpCode::Reconfig),
            body,
        };
        assert_eq!(Txn::decode(txn.encode()).unwrap(), txn);
    }

    #[test]
    fn empty_close_session_body_is_accepted() {
        let bytes = header(OpCode::CloseSession).to_bytes();
        let txn = Txn::decode(bytes).unwrap();
        assert_eq!(txn.body, TxnBody::CloseSession(CloseSessionTxn::default()));
    }
}
