//! Whole-server fuzzing over real sockets: one fuzz input is one client connection to a
//! running server, while a witness session with watches in place keeps working beside it.
//!
//! Input: a flags byte, then the connection's bytes. Flags bit 0: the bytes start with the
//! client's own handshake (or a four-letter word); otherwise the harness opens a session with
//! a Java-client handshake first and the bytes are request frames.
//!
//! After every input: the connection ended cleanly (a sentinel request after complete frames
//! was answered, or the server closed the connection) within a deadline; replies came in the
//! order the requests were sent (per-session FIFO); a fresh connection gets `imok` from `ruok`;
//! the witness session still writes, reads back what it wrote and gets the watch event its
//! write triggers before the write's reply. The witness authenticates as `super` (the harness
//! sets the super digest), so it can clear whatever fuzzed sessions created.
//!
//! Owns: the client side of the harness (std sockets, zkserver's own encoders). Must not:
//! start servers (the fuzz target runs one in-process; the corpus replay runs the binary).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::proto::frame::write_frame;
use crate::proto::jute::{Jute, Reader};
use crate::proto::opcode::{perms, OpCode};
use crate::proto::records::*;
use crate::proto::request::Request;
use crate::proto::ErrorCode;

/// `super`'s password and the digest to configure
/// (`zookeeper.DigestAuthenticationProvider.superDigest`).
pub const SUPER_AUTH: &str = "super:fuzz-witness";
pub const SUPER_DIGEST: &str = "super:dBS/3QHNSHDE5MDhR0rQ/46w0oM=";
/// The witness's node.
pub const WITNESS_PATH: &str = "/fuzz/w";
/// How long one input may keep the server busy before the harness calls it stuck.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// xid of the request that closes every fuzzed request stream.
const SENTINEL_XID: i32 = 0x7fff_fff0;

/// zoo.cfg lines the harness needs on top of `dataDir` and `clientPort`: every four-letter
/// word, no connection cap, short sessions (so abandoned ones expire fast), no fsync, super.
pub fn harness_config(data_dir: &str, client_port: u16) -> String {
    format!(
        "tickTime=100\ndataDir={data_dir}\nclientPort={client_port}\nclientPortAddress=127.0.0.1\n\
         4lw.commands.whitelist=*\nmaxClientCnxns=0\nforceSync=no\nadmin.enableServer=false\n\
         DigestAuthenticationProvider.superDigest={SUPER_DIGEST}\n\
         extendedTypesEnabled=true\nsnapCount=1000000\n"
    )
}

/// A raw client connection speaking jute over a std socket.
pub struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    next_xid: i32,
}

fn io(e: std::io::Error) -> String {
    e.to_string()
}

impl Conn {
    /// Connects and opens a session with the Java client's handshake.
    pub fn open(addr: SocketAddr, timeout_ms: i32) -> Result<(Conn, ConnectResponse), String> {
        let s = TcpStream::connect_timeout(&addr, DEADLINE).map_err(io)?;
        s.set_nodelay(true).map_err(io)?;
        let mut c = Conn {
            s,
            buf: Vec::new(),
            next_xid: 1,
        };
        let mut out = BytesMut::new();
        write_frame(&mut out, |o| {
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
        c.s.write_all(&out).map_err(io)?;
        let frame = c
            .read_frame(Instant::now() + DEADLINE)?
            .ok_or("the server closed the connection instead of answering the handshake")?;
        let resp = ConnectResponse::from_bytes(frame).map_err(|e| e.to_string())?;
        if resp.timeout <= 0 {
            return Err("the server refused a fresh session".into());
        }
        Ok((c, resp))
    }

    /// The next frame, `None` at EOF; an error when `deadline` passes first.
    pub fn read_frame(&mut self, deadline: Instant) -> Result<Option<Bytes>, String> {
        loop {
            if self.buf.len() >= 4 {
                let n = i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                let n = usize::try_from(n).map_err(|_| format!("reply frame length {n}"))?;
                if self.buf.len() >= 4 + n {
                    let frame = Bytes::copy_from_slice(&self.buf[4..4 + n]);
                    self.buf.drain(..4 + n);
                    return Ok(Some(frame));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("no reply before the deadline".into());
            }
            self.s.set_read_timeout(Some(left)).map_err(io)?;
            let mut chunk = [0u8; 16 * 1024];
            match self.s.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err("no reply before the deadline".into())
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Ok(None),
            }
        }
    }

    /// Sends `req` and reads up to its reply: (reply header, reply body, watch events before it).
    pub fn call(
        &mut self,
        req: &Request,
    ) -> Result<(ReplyHeader, Bytes, Vec<WatcherEvent>), String> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let mut out = BytesMut::new();
        write_frame(&mut out, |o| {
            RequestHeader {
                xid,
                op: req.op().code(),
            }
            .write(o);
            req.write_body(o);
        });
        self.s.write_all(&out).map_err(io)?;
        let deadline = Instant::now() + DEADLINE;
        let mut events = Vec::new();
        loop {
            let frame = self
                .read_frame(deadline)?
                .ok_or_else(|| format!("connection closed before the reply to {:?}", req.op()))?;
            let mut r = Reader::new(frame);
            let h = ReplyHeader::read(&mut r).map_err(|e| e.to_string())?;
            if h.xid == -1 {
                events.push(WatcherEvent::read(&mut r).map_err(|e| e.to_string())?);
                continue;
            }
            if h.xid != xid {
                return Err(format!("reply xid {} while waiting for {xid}", h.xid));
            }
            return Ok((h, r.rest(), events));
        }
    }
}

/// Runs a four-letter word on a fresh connection and returns its answer.
pub fn four_letter(addr: SocketAddr, cmd: &str) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, DEADLINE).map_err(io)?;
    s.set_read_timeout(Some(DEADLINE)).map_err(io)?;
    s.write_all(cmd.as_bytes()).map_err(io)?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(io)?;
    Ok(out)
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn super_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "digest".into(),
            id: SUPER_DIGEST.into(),
        },
    }]
}

/// The session that must keep working whatever the fuzzed connections do.
pub struct Witness {
    conn: Conn,
    addr: SocketAddr,
    counter: u64,
    /// The negotiated session timeout (short: the harness's tickTime is 100 ms).
    timeout: Duration,
    /// When the server last answered the witness.
    last_answer: Instant,
}

fn ok(h: &ReplyHeader, what: &str) -> Result<(), String> {
    if h.err == 0 {
        Ok(())
    } else {
        Err(format!(
            "{what}: {:?}",
            ErrorCode::from_i32(h.err).map_or(h.err.to_string(), |c| c.to_string())
        ))
    }
}

impl Witness {
    /// Opens the witness session, authenticates as super, creates its node and sets a watch.
    pub fn start(addr: SocketAddr) -> Result<Witness, String> {
        let (conn, resp) = Conn::open(addr, 30_000)?;
        let mut w = Witness {
            conn,
            addr,
            counter: 0,
            timeout: Duration::from_millis(u64::try_from(resp.timeout).unwrap_or(0)),
            last_answer: Instant::now(),
        };
        let (scheme, auth) = ("digest", SUPER_AUTH);
        let (h, _, _) = w.conn.call(&Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: scheme.into(),
            auth: Bytes::from(auth.as_bytes().to_vec()),
        }))?;
        ok(&h, "addauth")?;
        w.ensure_node()?;
        Ok(w)
    }

    /// `/fuzz` lets anyone create under it but not delete its children or change its ACL, so
    /// no fuzzed session can remove the witness's node (only super, the witness, could).
    fn ensure_node(&mut self) -> Result<(), String> {
        let mut fuzz_acl = open_acl();
        fuzz_acl[0].perms = perms::READ | perms::WRITE | perms::CREATE;
        let data = if self.counter == 0 {
            Bytes::new()
        } else {
            Bytes::from(self.counter.to_string())
        };
        for (path, acl, data) in [
            ("/fuzz", fuzz_acl, Bytes::new()),
            (WITNESS_PATH, super_acl(), data),
        ] {
            let (h, _, _) = self.conn.call(&Request::Create(
                OpCode::Create,
                CreateRequest {
                    path: path.into(),
                    data: Some(data),
                    acl,
                    flags: 0,
                },
            ))?;
            if h.err != 0 && h.err != ErrorCode::NodeExists.code() {
                ok(&h, "create witness node")?;
            }
        }
        self.watch()
    }

    fn watch(&mut self) -> Result<(), String> {
        let (h, body, _) = self.conn.call(&Request::GetData(PathWatchRequest {
            path: WITNESS_PATH.into(),
            watch: true,
        }))?;
        ok(&h, "getData with watch")?;
        let got = GetDataResponse::from_bytes(body).map_err(|e| e.to_string())?;
        let want = self.counter.to_string();
        if self.counter > 0 && got.data.as_deref() != Some(want.as_bytes()) {
            return Err(format!("read {:?} back, wrote {want}", got.data));
        }
        Ok(())
    }

    /// The server still answers `ruok`, and the witness still writes, reads and is notified.
    /// A witness silent for longer than its session timeout (the fuzzing process was starved
    /// of CPU between inputs) may have expired, rightly: it then starts a new session once.
    pub fn check(&mut self) -> Result<(), String> {
        let silent = self.last_answer.elapsed();
        match self.check_once() {
            Err(e) if silent >= self.timeout => {
                eprintln!(
                    "witness silent for {silent:?} (session timeout {:?}): {e}; a new session",
                    self.timeout
                );
                let counter = self.counter;
                *self = Witness::start(self.addr)?;
                self.counter = counter;
                self.check_once()
            }
            r => r,
        }
    }

    fn check_once(&mut self) -> Result<(), String> {
        let ruok = four_letter(self.addr, "ruok")?;
        if ruok != "imok" {
            return Err(format!("ruok answered {ruok:?}"));
        }
        self.counter += 1;
        let (h, _, events) = self.conn.call(&Request::SetData(SetDataRequest {
            path: WITNESS_PATH.into(),
            data: Some(Bytes::from(self.counter.to_string())),
            version: -1,
        }))?;
        if h.err == ErrorCode::NoNode.code() {
            return Err("the witness's node is gone (only super may delete it)".into());
        }
        ok(&h, "setData")?;
        let fired = events
            .iter()
            .any(|e| e.path == WITNESS_PATH && e.event_type == 3);
        if !fired {
            return Err(format!(
                "no NodeDataChanged before the setData reply: {events:?}"
            ));
        }
        self.watch()?;
        self.last_answer = Instant::now();
        Ok(())
    }

    /// Deletes every node fuzzed sessions left (keeps `/zookeeper` and the witness).
    pub fn sweep(&mut self) -> Result<(), String> {
        let mut stack = vec!["/".to_string()];
        let mut order = Vec::new();
        while let Some(p) = stack.pop() {
            let (h, body, _) = self.conn.call(&Request::GetChildren(PathWatchRequest {
                path: p.clone(),
                watch: false,
            }))?;
            if h.err != 0 {
                continue;
            }
            let kids = GetChildrenResponse::from_bytes(body).map_err(|e| e.to_string())?;
            for k in kids.children {
                let child = if p == "/" {
                    format!("/{k}")
                } else {
                    format!("{p}/{k}")
                };
                if child == "/zookeeper" || child == "/fuzz" || child == WITNESS_PATH {
                    if child == "/fuzz" {
                        stack.push(child);
                    }
                    continue;
                }
                order.push(child.clone());
                stack.push(child);
            }
        }
        for p in order.iter().rev() {
            self.conn.call(&Request::Delete(DeleteRequest {
                path: p.clone(),
                version: -1,
            }))?;
        }
        Ok(())
    }
}

/// Feeds one input as a client connection (see the module doc); an error names what failed.
pub fn feed(addr: SocketAddr, input: &[u8]) -> Result<(), String> {
    let Some((&flags, bytes)) = input.split_first() else {
        return Ok(());
    };
    let raw_handshake = flags & 1 == 1;
    let mut conn = if raw_handshake {
        let s = TcpStream::connect_timeout(&addr, DEADLINE).map_err(io)?;
        s.set_nodelay(true).map_err(io)?;
        Conn {
            s,
            buf: Vec::new(),
            next_xid: 1,
        }
    } else {
        Conn::open(addr, 2_000)?.0
    };
    let framed = super::client::frames(bytes, bytes.len(), crate::proto::frame::DEFAULT_MAX_BUFFER);
    let four_letter = raw_handshake && crate::server::four_letter_word(bytes).is_some();
    // The reply xids the request frames sent after the handshake call for, in order (a ping is
    // answered with xid -2 whatever its own; -1 replies cannot be told from notifications).
    let skip = usize::from(raw_handshake);
    let mut sent: Vec<i32> = framed
        .frames
        .iter()
        .skip(skip)
        .map_while(|f| RequestHeader::read(&mut Reader::new(f.clone())).ok())
        .map(|h| {
            if h.op == OpCode::Ping.code() {
                -2
            } else {
                h.xid
            }
        })
        .filter(|&x| x != -1)
        .collect();
    let _ = conn.s.write_all(bytes);
    let complete = !four_letter
        && framed.error.is_none()
        && framed.waiting == 0
        && (!raw_handshake || !framed.frames.is_empty());
    if complete {
        let mut out = BytesMut::new();
        write_frame(&mut out, |o| {
            RequestHeader {
                xid: SENTINEL_XID,
                op: OpCode::Exists.code(),
            }
            .write(o);
            PathWatchRequest {
                path: "/".into(),
                watch: false,
            }
            .write(o);
        });
        let _ = conn.s.write_all(&out);
        sent.push(SENTINEL_XID);
    } else {
        let _ = conn.s.shutdown(Shutdown::Write);
    }
    let deadline = Instant::now() + DEADLINE;
    let mut next = 0;
    let mut handshake_seen = !raw_handshake;
    loop {
        let Some(frame) = conn.read_frame(deadline).map_err(|e| {
            format!(
                "the server neither answered nor closed ({e}); {next} of {} replies",
                sent.len()
            )
        })?
        else {
            break;
        };
        if four_letter {
            continue;
        }
        if !handshake_seen {
            handshake_seen = true;
            continue;
        }
        let xid = frame
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or("reply shorter than its header")?;
        if xid == -1 {
            continue;
        }
        match sent.get(next) {
            Some(&want) if want == xid => next += 1,
            // An unanswered malformed request may be skipped only if the server then closes.
            _ => {
                return Err(format!(
                    "reply xid {xid} out of order (expected {:?})",
                    sent.get(next)
                ))
            }
        }
        if xid == SENTINEL_XID {
            let _ = conn.call(&Request::CloseSession);
            break;
        }
    }
    Ok(())
}
