//! Client-side encoding of requests and decoding of replies, on top of the crate's
//! jute records. The server side never encodes requests, so this small layer lives
//! here rather than in `proto/`.

use bytes::{Bytes, BytesMut};
use zkserver::proto::frame::write_frame;
use zkserver::proto::jute::{Jute, Reader};
use zkserver::proto::opcode::{perms, xid, OpCode};
use zkserver::proto::records::*;

/// One request as the benchmark issues it.
#[derive(Debug, Clone)]
pub enum Req {
    Create {
        path: String,
        data: Bytes,
        flags: i32,
    },
    Delete {
        path: String,
    },
    SetData {
        path: String,
        data: Bytes,
    },
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    /// A write multi; only Create / Delete / SetData members are encoded.
    Multi(Vec<Req>),
    Ping,
    Close,
}

/// `world:anyone` with all permissions, the ACL every benchmark node gets.
fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

impl Req {
    pub fn opcode(&self) -> OpCode {
        match self {
            Req::Create { .. } => OpCode::Create,
            Req::Delete { .. } => OpCode::Delete,
            Req::SetData { .. } => OpCode::SetData,
            Req::GetData { .. } => OpCode::GetData,
            Req::Exists { .. } => OpCode::Exists,
            Req::GetChildren { .. } => OpCode::GetChildren,
            Req::Multi(_) => OpCode::Multi,
            Req::Ping => OpCode::Ping,
            Req::Close => OpCode::CloseSession,
        }
    }

    /// Writes the record that follows the RequestHeader.
    fn write_body(&self, out: &mut BytesMut) {
        match self {
            Req::Create { path, data, flags } => CreateRequest {
                path: path.clone(),
                data: Some(data.clone()),
                acl: open_acl(),
                flags: *flags,
            }
            .write(out),
            Req::Delete { path } => DeleteRequest {
                path: path.clone(),
                version: -1,
            }
            .write(out),
            Req::SetData { path, data } => SetDataRequest {
                path: path.clone(),
                data: Some(data.clone()),
                version: -1,
            }
            .write(out),
            Req::GetData { path, watch }
            | Req::Exists { path, watch }
            | Req::GetChildren { path, watch } => PathWatchRequest {
                path: path.clone(),
                watch: *watch,
            }
            .write(out),
            Req::Multi(ops) => {
                for op in ops {
                    MultiHeader {
                        op: op.opcode().code(),
                        done: false,
                        err: -1,
                    }
                    .write(out);
                    op.write_body(out);
                }
                MultiHeader {
                    op: -1,
                    done: true,
                    err: -1,
                }
                .write(out);
            }
            Req::Ping | Req::Close => {}
        }
    }
}

/// Appends one framed request with `xid`.
pub fn encode(out: &mut BytesMut, xid: i32, req: &Req) {
    write_frame(out, |o| {
        RequestHeader {
            xid,
            op: req.opcode().code(),
        }
        .write(o);
        req.write_body(o);
    });
}

/// Appends the framed ping (reserved xid, no body).
pub fn encode_ping(out: &mut BytesMut) {
    encode(out, xid::PING, &Req::Ping);
}

/// The handshake a 3.8 Java client sends: protocol 0, fresh session, 16-byte password.
pub fn encode_connect(out: &mut BytesMut, timeout_ms: i32) {
    write_frame(out, |o| {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout: timeout_ms,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: Some(false),
        }
        .write(o)
    });
}

/// A reply as received: header fields plus the undecoded body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The server's last zxid; kept so that future checks (e.g. read-your-writes) can use it.
    #[allow(dead_code)]
    pub zxid: i64,
    pub err: i32,
    pub body: Bytes,
    /// Payload length of the frame, to see how close a reply came to the packet limit.
    pub frame_len: usize,
}

impl Reply {
    /// The Stat of an exists / setData reply.
    pub fn stat(&self) -> Option<Stat> {
        Stat::from_bytes(self.body.clone()).ok()
    }

    /// The child count of a getChildren reply, without building the strings.
    pub fn child_count(&self) -> Option<usize> {
        Reader::new(self.body.clone()).count().ok()
    }
}

/// A decoded watch notification.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: i32,
    pub path: String,
}

/// Splits a reply frame into its header and body.
pub fn decode_reply(frame: Bytes) -> Option<(i32, Reply)> {
    let frame_len = frame.len();
    let mut r = Reader::new(frame);
    let h = ReplyHeader::read(&mut r).ok()?;
    Some((
        h.xid,
        Reply {
            zxid: h.zxid,
            err: h.err,
            body: r.rest(),
            frame_len,
        },
    ))
}

/// Decodes the body of a notification frame.
pub fn decode_event(body: Bytes) -> Option<Event> {
    let e = WatcherEvent::from_bytes(body).ok()?;
    Some(Event {
        event_type: e.event_type,
        path: e.path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkserver::proto::frame::{decode_frame, DEFAULT_MAX_BUFFER};
    use zkserver::proto::request::Request;

    /// The client's encoding must be what the server's decoder expects.
    fn round_trip(req: Req) -> Request {
        let mut buf = BytesMut::new();
        encode(&mut buf, 7, &req);
        let frame = decode_frame(&mut buf, DEFAULT_MAX_BUFFER).unwrap().unwrap();
        let mut r = Reader::new(frame);
        let h = RequestHeader::read(&mut r).unwrap();
        assert_eq!((h.xid, h.op), (7, req.opcode().code()));
        Request::decode(h.op, r.rest()).unwrap()
    }

    #[test]
    fn requests_decode_on_the_server_side() {
        let data = Bytes::from_static(b"abc");
        let create = Req::Create {
            path: "/a".into(),
            data: data.clone(),
            flags: 1,
        };
        let Request::Create(_, c) = round_trip(create) else {
            panic!("not a create")
        };
        assert_eq!((c.path.as_str(), c.flags, c.acl.len()), ("/a", 1, 1));
        let multi = Req::Multi(vec![
            Req::Create {
                path: "/m".into(),
                data,
                flags: 0,
            },
            Req::Delete { path: "/m".into() },
        ]);
        let Request::Multi(ops) = round_trip(multi) else {
            panic!("not a multi")
        };
        assert_eq!(ops.len(), 2);
        assert!(
            matches!(round_trip(Req::Exists { path: "/w".into(), watch: true }), Request::Exists(p) if p.watch)
        );
        assert!(matches!(round_trip(Req::Close), Request::CloseSession));
    }

    #[test]
    fn replies_split_header_and_body() {
        let mut out = BytesMut::new();
        ReplyHeader {
            xid: 3,
            zxid: 9,
            err: -101,
        }
        .write(&mut out);
        let (xid, reply) = decode_reply(out.freeze()).unwrap();
        assert_eq!(
            (xid, reply.zxid, reply.err, reply.body.len()),
            (3, 9, -101, 0)
        );
    }
}
