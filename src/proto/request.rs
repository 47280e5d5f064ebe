//! A client request decoded from its frame: the RequestHeader's opcode picks the record.

use bytes::{Bytes, BytesMut};

use super::jute::{DecodeError, Jute, Reader};
use super::opcode::OpCode;
use super::records::*;

/// One operation inside a multi or multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create / create2 / createContainer (the opcode says which reply shape).
    Create(OpCode, CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(PathWatchRequest),
    GetData(PathWatchRequest),
}

impl MultiOp {
    pub fn op(&self) -> OpCode {
        match self {
            MultiOp::Create(op, _) => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(_, r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) | MultiOp::GetData(r) => &r.path,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetChildren(_) | MultiOp::GetData(_))
    }
}

/// A decoded request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// create, create2, createContainer share a record; `OpCode` keeps which one.
    Create(OpCode, CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    Exists(PathWatchRequest),
    GetData(PathWatchRequest),
    SetData(SetDataRequest),
    GetAcl(PathRequest),
    SetAcl(SetAclRequest),
    GetChildren(PathWatchRequest),
    GetChildren2(PathWatchRequest),
    Sync(PathRequest),
    Ping,
    /// A top-level check is not a valid request on its own (only inside multi).
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(WatchesRequest),
    RemoveWatches(WatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches2),
    Sasl(SaslRequest),
    GetEphemerals(PathRequest),
    GetAllChildrenNumber(PathRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

/// Why a request frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Opcode unknown or not a client request: ZooKeeper answers UNIMPLEMENTED.
    Unimplemented(i32),
    /// The record did not decode: MARSHALLINGERROR.
    Malformed(DecodeError),
}

impl Request {
    /// Decodes the body that follows a RequestHeader of type `op`.
    pub fn decode(op: i32, body: Bytes) -> Result<Request, RequestError> {
        let code = OpCode::from_i32(op).ok_or(RequestError::Unimplemented(op))?;
        let mut r = Reader::new(body);
        Self::decode_op(code, &mut r).map_err(|e| match e {
            DecodeError::Unknown {
                what: "opcode",
                value,
            } => RequestError::Unimplemented(value),
            e => RequestError::Malformed(e),
        })
    }

    fn decode_op(op: OpCode, r: &mut Reader) -> Result<Request, DecodeError> {
        use OpCode as O;
        Ok(match op {
            O::Create | O::Create2 | O::CreateContainer => Request::Create(op, Jute::read(r)?),
            O::CreateTtl => Request::CreateTtl(Jute::read(r)?),
            O::Delete => Request::Delete(Jute::read(r)?),
            O::Exists => Request::Exists(Jute::read(r)?),
            O::GetData => Request::GetData(Jute::read(r)?),
            O::SetData => Request::SetData(Jute::read(r)?),
            O::GetAcl => Request::GetAcl(Jute::read(r)?),
            O::SetAcl => Request::SetAcl(Jute::read(r)?),
            O::GetChildren => Request::GetChildren(Jute::read(r)?),
            O::GetChildren2 => Request::GetChildren2(Jute::read(r)?),
            O::Sync => Request::Sync(Jute::read(r)?),
            O::Ping => Request::Ping,
            O::Check => Request::Check(Jute::read(r)?),
            O::Multi => Request::Multi(read_multi(r, false)?),
            O::MultiRead => Request::MultiRead(read_multi(r, true)?),
            O::Reconfig => Request::Reconfig(Jute::read(r)?),
            O::CheckWatches => Request::CheckWatches(Jute::read(r)?),
            O::RemoveWatches => Request::RemoveWatches(Jute::read(r)?),
            O::Auth => Request::Auth(Jute::read(r)?),
            O::SetWatches => {
                let w = SetWatches::read(r)?;
                Request::SetWatches(SetWatches2 {
                    relative_zxid: w.relative_zxid,
                    data_watches: w.data_watches,
                    exist_watches: w.exist_watches,
                    child_watches: w.child_watches,
                    ..Default::default()
                })
            }
            O::SetWatches2 => Request::SetWatches(Jute::read(r)?),
            O::Sasl => Request::Sasl(Jute::read(r)?),
            O::GetEphemerals => Request::GetEphemerals(Jute::read(r)?),
            O::GetAllChildrenNumber => Request::GetAllChildrenNumber(Jute::read(r)?),
            O::AddWatch => Request::AddWatch(Jute::read(r)?),
            O::WhoAmI => Request::WhoAmI,
            O::CloseSession => Request::CloseSession,
            O::Notification | O::DeleteContainer | O::CreateSession | O::Error => {
                return Err(DecodeError::Unknown {
                    what: "opcode",
                    value: op.code(),
                })
            }
        })
    }

    pub fn op(&self) -> OpCode {
        use OpCode as O;
        match self {
            Request::Create(op, _) => *op,
            Request::CreateTtl(_) => O::CreateTtl,
            Request::Delete(_) => O::Delete,
            Request::Exists(_) => O::Exists,
            Request::GetData(_) => O::GetData,
            Request::SetData(_) => O::SetData,
            Request::GetAcl(_) => O::GetAcl,
            Request::SetAcl(_) => O::SetAcl,
            Request::GetChildren(_) => O::GetChildren,
            Request::GetChildren2(_) => O::GetChildren2,
            Request::Sync(_) => O::Sync,
            Request::Ping => O::Ping,
            Request::Check(_) => O::Check,
            Request::Multi(_) => O::Multi,
            Request::MultiRead(_) => O::MultiRead,
            Request::Reconfig(_) => O::Reconfig,
            Request::CheckWatches(_) => O::CheckWatches,
            Request::RemoveWatches(_) => O::RemoveWatches,
            Request::Auth(_) => O::Auth,
            Request::SetWatches(_) => O::SetWatches2,
            Request::Sasl(_) => O::Sasl,
            Request::GetEphemerals(_) => O::GetEphemerals,
            Request::GetAllChildrenNumber(_) => O::GetAllChildrenNumber,
            Request::AddWatch(_) => O::AddWatch,
            Request::WhoAmI => O::WhoAmI,
            Request::CloseSession => O::CloseSession,
        }
    }

    /// Writes the record that follows the RequestHeader, as a client would: the inverse of
    /// [`Request::decode`] (a decoded request re-encodes to bytes that decode to it again).
    /// The server forwards client bytes verbatim and never needs this; the fuzz round-trip
    /// checks and the structure-aware fuzzers do. `SetWatches` is written as setWatches2
    /// (opcode 105, which [`Request::op`] names), the form it is kept in.
    pub fn write_body(&self, out: &mut BytesMut) {
        match self {
            Request::Create(_, r) => r.write(out),
            Request::CreateTtl(r) => r.write(out),
            Request::Delete(r) => r.write(out),
            Request::Exists(r)
            | Request::GetData(r)
            | Request::GetChildren(r)
            | Request::GetChildren2(r) => r.write(out),
            Request::SetData(r) => r.write(out),
            Request::GetAcl(r)
            | Request::Sync(r)
            | Request::GetEphemerals(r)
            | Request::GetAllChildrenNumber(r) => r.write(out),
            Request::SetAcl(r) => r.write(out),
            Request::Check(r) => r.write(out),
            Request::Multi(ops) | Request::MultiRead(ops) => write_multi(ops, out),
            Request::Reconfig(r) => r.write(out),
            Request::CheckWatches(r) | Request::RemoveWatches(r) => r.write(out),
            Request::Auth(r) => r.write(out),
            Request::SetWatches(r) => r.write(out),
            Request::Sasl(r) => r.write(out),
            Request::AddWatch(r) => r.write(out),
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        }
    }

    /// Requests that change the tree and so become txns.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create(..)
                | Request::CreateTtl(_)
                | Request::Delete(_)
                | Request::SetData(_)
                | Request::SetAcl(_)
                | Request::Multi(_)
                | Request::Reconfig(_)
                | Request::CloseSession
        )
    }
}

/// MultiHeader + op pairs, then the `done` terminator (`op -1, done true, err -1`).
fn write_multi(ops: &[MultiOp], out: &mut BytesMut) {
    for op in ops {
        MultiHeader {
            op: op.op().code(),
            done: false,
            err: -1,
        }
        .write(out);
        match op {
            MultiOp::Create(_, r) => r.write(out),
            MultiOp::CreateTtl(r) => r.write(out),
            MultiOp::Delete(r) => r.write(out),
            MultiOp::SetData(r) => r.write(out),
            MultiOp::Check(r) => r.write(out),
            MultiOp::GetChildren(r) | MultiOp::GetData(r) => r.write(out),
        }
    }
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
    .write(out);
}

/// Reads MultiHeader + op pairs until the `done` terminator. Mixing reads into a multi
/// (or writes into a multiRead) is malformed, as ZooKeeper's "Mixing different kind of ops".
fn read_multi(r: &mut Reader, read_only: bool) -> Result<Vec<MultiOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Ok(ops);
        }
        let op = match OpCode::from_i32(h.op) {
            Some(op @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer)) => {
                MultiOp::Create(op, Jute::read(r)?)
            }
            Some(OpCode::CreateTtl) => MultiOp::CreateTtl(Jute::read(r)?),
            Some(OpCode::Delete) => MultiOp::Delete(Jute::read(r)?),
            Some(OpCode::SetData) => MultiOp::SetData(Jute::read(r)?),
            Some(OpCode::Check) => MultiOp::Check(Jute::read(r)?),
            Some(OpCode::GetChildren) => MultiOp::GetChildren(Jute::read(r)?),
            Some(OpCode::GetData) => MultiOp::GetData(Jute::read(r)?),
            _ => {
                return Err(DecodeError::Unknown {
                    what: "multi op",
                    value: h.op,
                })
            }
        };
        if op.is_read() != read_only {
            return Err(DecodeError::Invalid("Mixing different kind of ops"));
        }
        ops.push(op);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type OpWriter<'a> = (i32, &'a dyn Fn(&mut BytesMut));

    fn multi_bytes(ops: &[OpWriter]) -> Bytes {
        let mut out = BytesMut::new();
        for (op, body) in ops {
            MultiHeader {
                op: *op,
                done: false,
                err: -1,
            }
            .write(&mut out);
            body(&mut out);
        }
        MultiHeader {
            op: -1,
            done: true,
            err: -1,
        }
        .write(&mut out);
        out.freeze()
    }

    #[test]
    fn multi_with_check_decodes() {
        let bytes = multi_bytes(&[
            (13, &|o| {
                CheckVersionRequest {
                    path: "/a".into(),
                    version: 1,
                }
                .write(o)
            }),
            (2, &|o| {
                DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }
                .write(o)
            }),
        ]);
        let req = Request::decode(14, bytes).unwrap();
        let Request::Multi(ops) = req else {
            panic!("not multi")
        };
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].op(), OpCode::Check);
    }

    #[test]
    fn mixing_reads_into_multi_is_malformed() {
        let bytes = multi_bytes(&[(4, &|o| {
            PathWatchRequest {
                path: "/a".into(),
                watch: false,
            }
            .write(o)
        })]);
        assert!(matches!(
            Request::decode(14, bytes),
            Err(RequestError::Malformed(_))
        ));
    }

    #[test]
    fn requests_re_encode_to_what_decodes_to_them() {
        let bytes = multi_bytes(&[
            (13, &|o| {
                CheckVersionRequest {
                    path: "/a".into(),
                    version: 1,
                }
                .write(o)
            }),
            (1, &|o| {
                CreateRequest {
                    path: "/a/b".into(),
                    data: None,
                    acl: vec![],
                    flags: 2,
                }
                .write(o)
            }),
        ]);
        let req = Request::decode(14, bytes.clone()).unwrap();
        let mut out = BytesMut::new();
        req.write_body(&mut out);
        assert_eq!(out.freeze(), bytes);
        let watches = SetWatches {
            relative_zxid: 7,
            data_watches: vec!["/d".into()],
            exist_watches: vec![],
            child_watches: vec!["/c".into()],
        };
        let req = Request::decode(101, watches.to_bytes()).unwrap();
        let mut out = BytesMut::new();
        req.write_body(&mut out);
        assert_eq!(Request::decode(req.op().code(), out.freeze()), Ok(req));
    }

    #[test]
    fn unknown_opcodes_are_unimplemented() {
        assert_eq!(
            Request::decode(999, Bytes::new()),
            Err(RequestError::Unimplemented(999))
        );
        assert_eq!(
            Request::decode(20, Bytes::new()),
            Err(RequestError::Unimplemented(20))
        );
    }
}
