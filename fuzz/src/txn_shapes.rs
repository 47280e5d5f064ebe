//! `arbitrary` shapes of txns (every type a leader proposes or a log holds), built from the
//! request-side shapes in [`crate::shapes`] and encoded with zkserver's own txn encoders.

use arbitrary::Arbitrary;
use bytes::BytesMut;

use zkserver::proto::jute::Jute;
use zkserver::proto::opcode::OpCode;
use zkserver::proto::txn::*;

use crate::shapes::*;

/// A txn body, every type a leader proposes or a log holds.
#[derive(Debug, Clone, Arbitrary)]
pub enum TxnBodyShape {
    CreateSession(i32),
    CloseSession(Vec<PathShape>),
    CloseSessionEmpty,
    Create(u8, PathShape, Option<Vec<u8>>, Vec<AclShape>, bool, i32),
    CreateContainer(PathShape, Option<Vec<u8>>, Vec<AclShape>, i32),
    CreateTtl(PathShape, Option<Vec<u8>>, Vec<AclShape>, i32, i64),
    Delete(bool, PathShape),
    SetData(bool, PathShape, Option<Vec<u8>>, i32),
    SetAcl(PathShape, Vec<AclShape>, i32),
    Check(PathShape, i32),
    Error(i32),
    Multi(Vec<TxnBodyShape>),
    Raw(i32, Vec<u8>),
}

impl TxnBodyShape {
    /// (txn type, body); nested multis become error entries (a multi never nests).
    pub fn render(&self, depth: u8) -> (i32, Option<TxnBody>, Vec<u8>) {
        let small_cv = |cv: i32| if cv % 3 == 0 { -1 } else { cv % 16 };
        let (op, body) = match self {
            TxnBodyShape::Raw(t, b) => return (*t, None, b.clone()),
            TxnBodyShape::CreateSession(t) => (
                OpCode::CreateSession,
                TxnBody::CreateSession(CreateSessionTxn { timeout: *t }),
            ),
            TxnBodyShape::CloseSession(p) => (
                OpCode::CloseSession,
                TxnBody::CloseSession(CloseSessionTxn {
                    paths_to_delete: paths(p),
                }),
            ),
            TxnBodyShape::CloseSessionEmpty => return (OpCode::CloseSession.code(), None, vec![]),
            TxnBodyShape::Create(k, p, d, a, e, cv) => (
                if k % 2 == 0 {
                    OpCode::Create
                } else {
                    OpCode::Create2
                },
                TxnBody::Create(CreateTxn {
                    path: p.render(),
                    data: data(d),
                    acl: acls(a),
                    ephemeral: *e,
                    parent_cversion: small_cv(*cv),
                }),
            ),
            TxnBodyShape::CreateContainer(p, d, a, cv) => (
                OpCode::CreateContainer,
                TxnBody::CreateContainer(CreateContainerTxn {
                    path: p.render(),
                    data: data(d),
                    acl: acls(a),
                    parent_cversion: small_cv(*cv),
                }),
            ),
            TxnBodyShape::CreateTtl(p, d, a, cv, ttl) => (
                OpCode::CreateTtl,
                TxnBody::CreateTtl(CreateTtlTxn {
                    path: p.render(),
                    data: data(d),
                    acl: acls(a),
                    parent_cversion: small_cv(*cv),
                    ttl: *ttl,
                }),
            ),
            TxnBodyShape::Delete(container, p) => (
                if *container {
                    OpCode::DeleteContainer
                } else {
                    OpCode::Delete
                },
                TxnBody::Delete(DeleteTxn { path: p.render() }),
            ),
            TxnBodyShape::SetData(reconfig, p, d, v) => (
                if *reconfig {
                    OpCode::Reconfig
                } else {
                    OpCode::SetData
                },
                TxnBody::SetData(SetDataTxn {
                    path: p.render(),
                    data: data(d),
                    version: *v,
                }),
            ),
            TxnBodyShape::SetAcl(p, a, v) => (
                OpCode::SetAcl,
                TxnBody::SetAcl(SetAclTxn {
                    path: p.render(),
                    acl: acls(a),
                    version: *v,
                }),
            ),
            TxnBodyShape::Check(p, v) => (
                OpCode::Check,
                TxnBody::Check(CheckVersionTxn {
                    path: p.render(),
                    version: *v,
                }),
            ),
            TxnBodyShape::Error(e) => (OpCode::Error, TxnBody::Error(ErrorTxn { err: *e })),
            TxnBodyShape::Multi(subs) if depth == 0 => {
                let ops = subs
                    .iter()
                    .filter_map(|s| match s.render(1) {
                        (t, Some(b), _) => OpCode::from_i32(t).map(|o| (o, b)),
                        _ => None,
                    })
                    .collect();
                (OpCode::Multi, TxnBody::Multi(ops))
            }
            TxnBodyShape::Multi(_) => (OpCode::Error, TxnBody::Error(ErrorTxn { err: -2 })),
        };
        (op.code(), Some(body), vec![])
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct TxnShape {
    pub session: u8,
    pub cxid: i32,
    pub zxid: u16,
    pub raw_zxid: Option<i64>,
    pub time: i64,
    pub body: TxnBodyShape,
    pub digest: Option<(bool, i64)>,
}

impl TxnShape {
    /// The txn bytes as a leader proposes them (digest trailer when chosen).
    pub fn encode(&self) -> Vec<u8> {
        let (txn_type, body, raw) = self.body.render(0);
        let header = TxnHeader {
            client_id: [0x100, 0x200, 0, -1][self.session as usize % 4],
            cxid: self.cxid,
            zxid: self
                .raw_zxid
                .unwrap_or(0x1_0000_0010 + i64::from(self.zxid)),
            time: self.time,
            txn_type,
        };
        let mut out = BytesMut::new();
        header.write(&mut out);
        match body {
            Some(b) => b.write(&mut out),
            None => out.extend_from_slice(&raw),
        }
        if let Some((v2, d)) = self.digest {
            TxnDigest {
                version: if v2 { DIGEST_VERSION } else { 1 },
                tree_digest: d,
            }
            .write(&mut out);
        }
        out.to_vec()
    }
}
