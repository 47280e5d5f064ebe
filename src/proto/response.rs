//! Reply encoding: ReplyHeader plus the success body; on an error the body is omitted
//! (multi and multiRead carry their errors per op instead).

use bytes::{Bytes, BytesMut};

use super::error::ErrorCode;
use super::frame::write_frame;
use super::jute::Jute;
use super::opcode::{xid, OpCode, STATE_SYNC_CONNECTED};
use super::records::*;

/// The success body of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Empty,
    Path(String),
    Create2(String, Stat),
    Stat(Stat),
    Data(Option<Bytes>, Stat),
    Acl(Vec<Acl>, Stat),
    Children(Vec<String>),
    Children2(Vec<String>, Stat),
    Paths(Vec<String>),
    Count(i32),
    WhoAmI(Vec<ClientInfo>),
    /// addWatch answers with an ErrorResponse(0) body.
    ErrorBody(i32),
    Multi(Vec<MultiResult>),
    Sasl(Option<Bytes>),
}

/// One sub-result of multi / multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    Create(String),
    Create2(String, Stat),
    Delete,
    SetData(Stat),
    Check,
    GetChildren(Vec<String>),
    GetData(Option<Bytes>, Stat),
    Error(ErrorCode),
}

impl MultiResult {
    fn header(&self) -> MultiHeader {
        let (op, err) = match self {
            MultiResult::Create(_) => (OpCode::Create, 0),
            MultiResult::Create2(..) => (OpCode::Create2, 0),
            MultiResult::Delete => (OpCode::Delete, 0),
            MultiResult::SetData(_) => (OpCode::SetData, 0),
            MultiResult::Check => (OpCode::Check, 0),
            MultiResult::GetChildren(_) => (OpCode::GetChildren, 0),
            MultiResult::GetData(..) => (OpCode::GetData, 0),
            MultiResult::Error(e) => (OpCode::Error, e.code()),
        };
        MultiHeader {
            op: op.code(),
            done: false,
            err,
        }
    }

    fn write(&self, out: &mut BytesMut) {
        self.header().write(out);
        match self {
            MultiResult::Create(path) => path.write(out),
            MultiResult::Create2(path, stat) => {
                path.write(out);
                stat.write(out)
            }
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData(stat) => stat.write(out),
            MultiResult::GetChildren(children) => children.write(out),
            MultiResult::GetData(data, stat) => {
                data.write(out);
                stat.write(out)
            }
            MultiResult::Error(e) => e.code().write(out),
        }
    }
}

impl Response {
    pub fn write(&self, out: &mut BytesMut) {
        match self {
            Response::Empty => {}
            Response::Path(p) => p.write(out),
            Response::Create2(p, s) => {
                p.write(out);
                s.write(out)
            }
            Response::Stat(s) => s.write(out),
            Response::Data(d, s) => {
                d.write(out);
                s.write(out)
            }
            Response::Acl(a, s) => {
                a.write(out);
                s.write(out)
            }
            Response::Children(c) | Response::Paths(c) => c.write(out),
            Response::Children2(c, s) => {
                c.write(out);
                s.write(out)
            }
            Response::Count(n) => n.write(out),
            Response::WhoAmI(infos) => infos.write(out),
            Response::ErrorBody(e) => e.write(out),
            Response::Multi(results) => {
                for r in results {
                    r.write(out);
                }
                MultiHeader {
                    op: -1,
                    done: true,
                    err: -1,
                }
                .write(out);
            }
            Response::Sasl(token) => token.write(out),
        }
    }
}

/// Appends one framed reply. `zxid` is the server's last processed zxid.
pub fn write_reply(out: &mut BytesMut, xid: i32, zxid: i64, result: &Result<Response, ErrorCode>) {
    write_frame(out, |o| match result {
        Ok(resp) => {
            ReplyHeader { xid, zxid, err: 0 }.write(o);
            resp.write(o);
        }
        Err(e) => ReplyHeader {
            xid,
            zxid,
            err: e.code(),
        }
        .write(o),
    })
}

/// Serializes one watch notification frame; the bytes are shared by every watcher.
pub fn notification_frame(zxid: i64, event_type: i32, path: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(32 + path.len());
    write_frame(&mut out, |o| {
        ReplyHeader {
            xid: xid::NOTIFICATION,
            zxid,
            err: 0,
        }
        .write(o);
        WatcherEvent {
            event_type,
            state: STATE_SYNC_CONNECTED,
            path: path.to_string(),
        }
        .write(o);
    });
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_have_no_body() {
        let mut out = BytesMut::new();
        write_reply(&mut out, 7, 0x10, &Err(ErrorCode::NoNode));
        assert_eq!(
            &out[..],
            &[0, 0, 0, 16, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0x10, 0xff, 0xff, 0xff, 0x9b]
        );
    }

    #[test]
    fn multi_error_results_carry_the_code_twice() {
        let mut out = BytesMut::new();
        Response::Multi(vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::BadVersion),
        ])
        .write(&mut out);
        let expect: Vec<u8> = [
            &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0][..],
            &[0, 0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x99],
            &[0xff, 0xff, 0xff, 0x99],
            &[0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff],
        ]
        .concat();
        assert_eq!(&out[..], &expect[..]);
    }
}
