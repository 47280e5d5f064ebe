//! `arbitrary`-derived shapes of what outsiders send, turned into zkserver's own records and
//! encoded with its own encoders. Paths, ACL schemes and ids come mostly from small sets that
//! name nodes of the checks' base tree and the schemes the server knows, so generated requests
//! and txns meet existing nodes, parents, ephemerals and ACLs instead of dying on a lookup;
//! every field keeps a "raw" arm so anything stays reachable.

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};

use zkserver::proto::jute::Jute;
use zkserver::proto::opcode::OpCode;
use zkserver::proto::records::*;
use zkserver::proto::request::{MultiOp, Request};

pub use crate::txn_shapes::{TxnBodyShape, TxnShape};

/// Paths of the base tree (`zkserver::fuzzing::txn::base_tree`) and of the whole-server harness.
pub const KNOWN_PATHS: &[&str] = &[
    "/",
    "/a",
    "/a/b",
    "/e",
    "/s",
    "/c",
    "/t",
    "/zookeeper",
    "/zookeeper/config",
    "/zookeeper/quota",
    "/fuzz",
    "/fuzz/w",
];
const NAMES: &[&str] = &[
    "x",
    "y",
    "seq-",
    "b",
    "zookeeper",
    "..",
    ".",
    "",
    "n\u{0}",
    "\u{e000}",
];

#[derive(Debug, Clone, Arbitrary)]
pub enum PathShape {
    Known(u8),
    Child(u8, u8),
    Grandchild(u8, u8, u8),
    Raw(String),
}

impl PathShape {
    pub fn render(&self) -> String {
        let known = |i: &u8| KNOWN_PATHS[*i as usize % KNOWN_PATHS.len()];
        let name = |i: &u8| NAMES[*i as usize % NAMES.len()];
        let join = |p: &str, c: &str| {
            if p == "/" {
                format!("/{c}")
            } else {
                format!("{p}/{c}")
            }
        };
        match self {
            PathShape::Known(i) => known(i).to_string(),
            PathShape::Child(i, j) => join(known(i), name(j)),
            PathShape::Grandchild(i, j, k) => join(&join(known(i), name(j)), name(k)),
            PathShape::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub enum IdShape {
    WorldAnyone,
    Digest(u8),
    Ip(u8),
    Auth,
    Super,
    Sasl(String),
    X509(String),
    Raw(String, String),
}

const DIGESTS: &[&str] = &[
    "u:NnYUD7u/EbzS6VPLaKgeK9ELYFQ=",
    "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
    "u:",
    ":",
    "nocolon",
];
const IPS: &[&str] = &[
    "127.0.0.1",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "::1",
    "fe80::/10",
    "1.2.3.4/33",
    "300.1.1.1",
    "",
];

impl IdShape {
    pub fn render(&self) -> Id {
        let (scheme, id) = match self {
            IdShape::WorldAnyone => ("world".into(), "anyone".into()),
            IdShape::Digest(i) => ("digest".into(), DIGESTS[*i as usize % DIGESTS.len()].into()),
            IdShape::Ip(i) => ("ip".into(), IPS[*i as usize % IPS.len()].into()),
            IdShape::Auth => ("auth".into(), String::new()),
            IdShape::Super => ("super".into(), String::new()),
            IdShape::Sasl(s) => ("sasl".into(), s.clone()),
            IdShape::X509(s) => ("x509".into(), s.clone()),
            IdShape::Raw(a, b) => (a.clone(), b.clone()),
        };
        Id { scheme, id }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct AclShape {
    pub perms: u8,
    pub raw_perms: Option<i32>,
    pub id: IdShape,
}

impl AclShape {
    pub fn render(&self) -> Acl {
        Acl {
            perms: self.raw_perms.unwrap_or(i32::from(self.perms & 31)),
            id: self.id.render(),
        }
    }
}

pub(crate) fn acls(v: &[AclShape]) -> Vec<Acl> {
    v.iter().map(AclShape::render).collect()
}

/// Versions: mostly -1 and small ones, sometimes anything.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum VersionShape {
    Any,
    Small(u8),
    Raw(i32),
}

impl VersionShape {
    pub fn get(self) -> i32 {
        match self {
            VersionShape::Any => -1,
            VersionShape::Small(v) => i32::from(v % 4),
            VersionShape::Raw(v) => v,
        }
    }
}

/// Create flags: the modes ZooKeeper defines (0–6), sometimes anything.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum FlagsShape {
    Mode(u8),
    Raw(i32),
}

impl FlagsShape {
    pub fn get(self) -> i32 {
        match self {
            FlagsShape::Mode(m) => i32::from(m % 7),
            FlagsShape::Raw(v) => v,
        }
    }
}

pub(crate) fn data(d: &Option<Vec<u8>>) -> Option<Bytes> {
    d.as_ref().map(|v| Bytes::copy_from_slice(v))
}

#[derive(Debug, Clone, Arbitrary)]
pub struct CreateShape {
    pub path: PathShape,
    pub data: Option<Vec<u8>>,
    pub acl: Vec<AclShape>,
    pub flags: FlagsShape,
}

impl CreateShape {
    fn render(&self) -> CreateRequest {
        CreateRequest {
            path: self.path.render(),
            data: data(&self.data),
            acl: acls(&self.acl),
            flags: self.flags.get(),
        }
    }
}

/// One op of a multi or multiRead.
#[derive(Debug, Clone, Arbitrary)]
pub enum MultiShape {
    Create(u8, CreateShape),
    CreateTtl(CreateShape, i64),
    Delete(PathShape, VersionShape),
    SetData(PathShape, Option<Vec<u8>>, VersionShape),
    Check(PathShape, VersionShape),
    GetChildren(PathShape),
    GetData(PathShape),
}

impl MultiShape {
    pub fn render(&self) -> MultiOp {
        match self {
            MultiShape::Create(k, c) => {
                let op =
                    [OpCode::Create, OpCode::Create2, OpCode::CreateContainer][*k as usize % 3];
                MultiOp::Create(op, c.render())
            }
            MultiShape::CreateTtl(c, ttl) => {
                let r = c.render();
                MultiOp::CreateTtl(CreateTtlRequest {
                    path: r.path,
                    data: r.data,
                    acl: r.acl,
                    flags: r.flags,
                    ttl: *ttl,
                })
            }
            MultiShape::Delete(p, v) => MultiOp::Delete(DeleteRequest {
                path: p.render(),
                version: v.get(),
            }),
            MultiShape::SetData(p, d, v) => MultiOp::SetData(SetDataRequest {
                path: p.render(),
                data: data(d),
                version: v.get(),
            }),
            MultiShape::Check(p, v) => MultiOp::Check(CheckVersionRequest {
                path: p.render(),
                version: v.get(),
            }),
            MultiShape::GetChildren(p) => MultiOp::GetChildren(PathWatchRequest {
                path: p.render(),
                watch: false,
            }),
            MultiShape::GetData(p) => MultiOp::GetData(PathWatchRequest {
                path: p.render(),
                watch: false,
            }),
        }
    }
}

/// A client request: every opcode, plus raw (opcode, body) pairs.
#[derive(Debug, Clone, Arbitrary)]
pub enum RequestShape {
    Create(u8, CreateShape),
    CreateTtl(CreateShape, i64),
    Delete(PathShape, VersionShape),
    Exists(PathShape, bool),
    GetData(PathShape, bool),
    SetData(PathShape, Option<Vec<u8>>, VersionShape),
    GetAcl(PathShape),
    SetAcl(PathShape, Vec<AclShape>, VersionShape),
    GetChildren(PathShape, bool),
    GetChildren2(PathShape, bool),
    Sync(PathShape),
    Ping,
    Check(PathShape, VersionShape),
    Multi(Vec<MultiShape>),
    MultiRead(Vec<MultiShape>),
    Reconfig(String, String, String, i64),
    CheckWatches(PathShape, u8),
    RemoveWatches(PathShape, u8),
    Auth(IdShape, Vec<u8>),
    SetWatches(i64, Vec<PathShape>, Vec<PathShape>, Vec<PathShape>),
    SetWatches2(
        i64,
        Vec<PathShape>,
        Vec<PathShape>,
        Vec<PathShape>,
        Vec<PathShape>,
        Vec<PathShape>,
    ),
    Sasl(Vec<u8>),
    GetEphemerals(PathShape),
    GetAllChildrenNumber(PathShape),
    AddWatch(PathShape, u8),
    WhoAmI,
    CloseSession,
    Raw(i32, Vec<u8>),
}

pub(crate) fn paths(v: &[PathShape]) -> Vec<String> {
    v.iter().map(PathShape::render).collect()
}

impl RequestShape {
    /// The opcode and the encoded body.
    pub fn encode(&self) -> (i32, Bytes) {
        let pw = |p: &PathShape, watch: bool| PathWatchRequest {
            path: p.render(),
            watch,
        };
        let req = match self {
            RequestShape::Raw(op, body) => return (*op, Bytes::copy_from_slice(body)),
            RequestShape::SetWatches(z, d, e, c) => {
                let w = SetWatches {
                    relative_zxid: *z,
                    data_watches: paths(d),
                    exist_watches: paths(e),
                    child_watches: paths(c),
                };
                return (OpCode::SetWatches.code(), w.to_bytes());
            }
            RequestShape::Create(k, c) => {
                let op =
                    [OpCode::Create, OpCode::Create2, OpCode::CreateContainer][*k as usize % 3];
                Request::Create(op, c.render())
            }
            RequestShape::CreateTtl(c, ttl) => {
                let r = c.render();
                Request::CreateTtl(CreateTtlRequest {
                    path: r.path,
                    data: r.data,
                    acl: r.acl,
                    flags: r.flags,
                    ttl: *ttl,
                })
            }
            RequestShape::Delete(p, v) => Request::Delete(DeleteRequest {
                path: p.render(),
                version: v.get(),
            }),
            RequestShape::Exists(p, w) => Request::Exists(pw(p, *w)),
            RequestShape::GetData(p, w) => Request::GetData(pw(p, *w)),
            RequestShape::SetData(p, d, v) => Request::SetData(SetDataRequest {
                path: p.render(),
                data: data(d),
                version: v.get(),
            }),
            RequestShape::GetAcl(p) => Request::GetAcl(PathRequest { path: p.render() }),
            RequestShape::SetAcl(p, a, v) => Request::SetAcl(SetAclRequest {
                path: p.render(),
                acl: acls(a),
                version: v.get(),
            }),
            RequestShape::GetChildren(p, w) => Request::GetChildren(pw(p, *w)),
            RequestShape::GetChildren2(p, w) => Request::GetChildren2(pw(p, *w)),
            RequestShape::Sync(p) => Request::Sync(PathRequest { path: p.render() }),
            RequestShape::Ping => Request::Ping,
            RequestShape::Check(p, v) => Request::Check(CheckVersionRequest {
                path: p.render(),
                version: v.get(),
            }),
            RequestShape::Multi(ops) => {
                Request::Multi(ops.iter().map(MultiShape::render).collect())
            }
            RequestShape::MultiRead(ops) => {
                Request::MultiRead(ops.iter().map(MultiShape::render).collect())
            }
            RequestShape::Reconfig(j, l, n, id) => Request::Reconfig(ReconfigRequest {
                joining_servers: j.clone(),
                leaving_servers: l.clone(),
                new_members: n.clone(),
                cur_config_id: *id,
            }),
            RequestShape::CheckWatches(p, t) => Request::CheckWatches(WatchesRequest {
                path: p.render(),
                watcher_type: i32::from(*t % 5),
            }),
            RequestShape::RemoveWatches(p, t) => Request::RemoveWatches(WatchesRequest {
                path: p.render(),
                watcher_type: i32::from(*t % 5),
            }),
            RequestShape::Auth(id, auth) => {
                let id = id.render();
                Request::Auth(AuthPacket {
                    auth_type: 0,
                    scheme: id.scheme,
                    auth: if auth.is_empty() {
                        Bytes::from(id.id.into_bytes())
                    } else {
                        Bytes::copy_from_slice(auth)
                    },
                })
            }
            RequestShape::SetWatches2(z, d, e, c, p, r) => Request::SetWatches(SetWatches2 {
                relative_zxid: *z,
                data_watches: paths(d),
                exist_watches: paths(e),
                child_watches: paths(c),
                persistent_watches: paths(p),
                persistent_recursive_watches: paths(r),
            }),
            RequestShape::Sasl(t) => Request::Sasl(SaslRequest {
                token: Bytes::copy_from_slice(t),
            }),
            RequestShape::GetEphemerals(p) => {
                Request::GetEphemerals(PathRequest { path: p.render() })
            }
            RequestShape::GetAllChildrenNumber(p) => {
                Request::GetAllChildrenNumber(PathRequest { path: p.render() })
            }
            RequestShape::AddWatch(p, m) => Request::AddWatch(AddWatchRequest {
                path: p.render(),
                mode: i32::from(*m % 3),
            }),
            RequestShape::WhoAmI => Request::WhoAmI,
            RequestShape::CloseSession => Request::CloseSession,
        };
        let mut body = BytesMut::new();
        req.write_body(&mut body);
        (req.op().code(), body.freeze())
    }

    /// A whole request frame: length, `RequestHeader{xid, op}`, body.
    pub fn frame(&self, xid: i32) -> Vec<u8> {
        let (op, body) = self.encode();
        let mut out = BytesMut::new();
        zkserver::proto::frame::write_frame(&mut out, |o| {
            RequestHeader { xid, op }.write(o);
            o.extend_from_slice(&body);
        });
        out.to_vec()
    }
}

/// The handshake: mostly the Java client's, sometimes anything.
#[derive(Debug, Clone, Arbitrary)]
pub struct ConnectShape {
    pub protocol_version: u8,
    pub last_zxid_seen: i64,
    pub timeout: i32,
    pub session_id: Option<i64>,
    pub passwd: Option<Vec<u8>>,
    pub read_only: Option<bool>,
}

impl ConnectShape {
    pub fn frame(&self) -> Vec<u8> {
        let req = ConnectRequest {
            protocol_version: i32::from(self.protocol_version % 2),
            last_zxid_seen: self.last_zxid_seen,
            timeout: self.timeout,
            session_id: self.session_id.unwrap_or(0),
            passwd: Bytes::from(self.passwd.clone().unwrap_or_else(|| vec![0; 16])),
            read_only: self.read_only,
        };
        let mut out = BytesMut::new();
        zkserver::proto::frame::write_frame(&mut out, |o| req.write(o));
        out.to_vec()
    }
}

/// Anything generated from a slice of bytes.
pub fn generate<T: for<'a> Arbitrary<'a>>(bytes: &[u8]) -> Option<T> {
    T::arbitrary(&mut Unstructured::new(bytes)).ok()
}
