//! The client port (2181), before and after authentication: four-letter-word sniffing, the
//! 4-byte framing with `jute.maxbuffer`, the ConnectRequest handshake and every request record
//! (multi, ACLs, watches, auth, SASL, reconfig included), as `server::connection` reads them.
//!
//! Properties: framing gives the same frames and the same error whether the bytes arrive at
//! once or in small reads; a decoded handshake or request re-encodes to bytes that decode to
//! it again, never longer than what was read; refusals are `FrameError` / `RequestError` with
//! offsets inside the frame; no allocation beyond the frame cap (plus a small multiple of the
//! input) happens before the bytes are there. Must not: talk to a server (see `server`).

use bytes::{Bytes, BytesMut};

use super::alloc;
use crate::config::{FourLetterWhitelist, ALL_FOUR_LETTER_WORDS};
use crate::proto::frame::{decode_frame, FrameError, DEFAULT_MAX_BUFFER};
use crate::proto::jute::{DecodeError, Jute, Reader};
use crate::proto::opcode::OpCode;
use crate::proto::records::{ConnectRequest, RequestHeader};
use crate::proto::request::{Request, RequestError};
use crate::server::four_letter_word;

/// `jute.maxbuffer` for the checks: small, so a reservation sized by a declared length instead
/// of by the bytes present stands out against the allocation bound.
pub const FUZZ_MAX_BUFFER: usize = 64 * 1024;

/// What any decoder may allocate at once for `n` input bytes beyond its fixed buffers: copies
/// and parsed records are a small multiple of the bytes they came from.
pub fn input_slack(n: usize) -> usize {
    64 * 1024 + 32 * n
}

/// Frames cut off a connection's bytes: the payloads, the framing error that ended them (if
/// any) and how many bytes were left waiting for more.
#[derive(Debug, PartialEq, Eq)]
pub struct Framed {
    pub frames: Vec<Bytes>,
    pub error: Option<FrameError>,
    pub waiting: usize,
}

/// Runs `decode_frame` as the connection does, the bytes arriving in reads of `chunk` bytes.
pub fn frames(data: &[u8], chunk: usize, max: usize) -> Framed {
    let mut buf = BytesMut::with_capacity(4096);
    let mut out = Framed {
        frames: Vec::new(),
        error: None,
        waiting: 0,
    };
    let mut rest = data;
    loop {
        match decode_frame(&mut buf, max) {
            Ok(Some(f)) => out.frames.push(f),
            Ok(None) if rest.is_empty() => break,
            Ok(None) => {
                let n = chunk.max(1).min(rest.len());
                buf.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    out.waiting = buf.len() + rest.len();
    out
}

/// One connection's bytes as the server reads them: a four-letter word, or a handshake
/// frame followed by request frames.
pub fn check_connection(data: &[u8]) {
    alloc::reset();
    if let Some(word) = four_letter_word(data) {
        assert_eq!(word.as_bytes(), &data[..4]);
        return;
    }
    let whole = frames(data, data.len(), FUZZ_MAX_BUFFER);
    let chunk = 1 + data.len() % 7;
    let split = frames(data, chunk, FUZZ_MAX_BUFFER);
    assert_eq!(whole, split, "framing depends on how the bytes arrive");
    if let Some(e) = &whole.error {
        let _ = e.to_string();
    }
    // The frame buffer may reserve up to the cap for a frame announced but not arrived.
    alloc::assert_within(
        "client framing",
        2 * (FUZZ_MAX_BUFFER + 4) + input_slack(data.len()),
    );
    let mut frames = whole.frames.into_iter();
    let Some(handshake) = frames.next() else {
        return;
    };
    if !check_connect(handshake) {
        return;
    }
    for frame in frames {
        alloc::reset();
        let len = frame.len();
        check_request_frame(frame);
        alloc::assert_within("request decoding", input_slack(len));
    }
}

/// The handshake; false when the server would close the connection.
pub fn check_connect(frame: Bytes) -> bool {
    match ConnectRequest::from_bytes(frame.clone()) {
        Ok(req) => {
            let again = req.to_bytes();
            assert!(
                again.len() <= frame.len(),
                "ConnectRequest re-encodes longer than it was read"
            );
            assert_eq!(
                ConnectRequest::from_bytes(again),
                Ok(req),
                "ConnectRequest does not round-trip"
            );
            true
        }
        Err(e) => {
            check_decode_error(&e, frame.len());
            false
        }
    }
}

/// One request frame: `RequestHeader` and the record its opcode names.
pub fn check_request_frame(frame: Bytes) {
    let mut r = Reader::new(frame);
    let Ok(header) = RequestHeader::read(&mut r) else {
        return;
    };
    check_request(header.op, r.rest());
}

/// A request body of type `op`, from a client frame or a follower's forwarded REQUEST.
pub fn check_request(op: i32, body: Bytes) {
    match Request::decode(op, body.clone()) {
        Ok(req) => {
            let code = req.op().code();
            let same_op = code == op
                || (op == OpCode::SetWatches.code() && code == OpCode::SetWatches2.code());
            assert!(same_op, "opcode {op} decoded as {:?}", req.op());
            let mut again = BytesMut::new();
            req.write_body(&mut again);
            let again = again.freeze();
            // setWatches (101) is kept as setWatches2: two more (empty) vectors.
            let grows = if op == OpCode::SetWatches.code() {
                8
            } else {
                0
            };
            assert!(
                again.len() <= body.len() + grows,
                "{:?} re-encodes to {} bytes from {}",
                req.op(),
                again.len(),
                body.len()
            );
            let back = Request::decode(code, again);
            assert_eq!(back.as_ref(), Ok(&req), "request does not round-trip");
            let _ = req.is_write();
        }
        Err(RequestError::Unimplemented(v)) => {
            // Only opcodes that are not client requests are refused this way.
            assert!(
                matches!(
                    OpCode::from_i32(v),
                    None | Some(
                        OpCode::Notification
                            | OpCode::DeleteContainer
                            | OpCode::CreateSession
                            | OpCode::Error
                    )
                ),
                "opcode {v} refused as unimplemented"
            );
        }
        Err(RequestError::Malformed(e)) => check_decode_error(&e, body.len()),
    }
}

/// A decode error names a place inside the record it was reading.
pub fn check_decode_error(e: &DecodeError, len: usize) {
    let _ = e.to_string();
    match *e {
        DecodeError::Truncated { offset, needed } => {
            // `needed` counts what the field lacked beyond the bytes left at `offset`.
            assert!(offset <= len && needed > 0, "{e:?} in {len} bytes");
        }
        DecodeError::BadLength { offset, .. } => {
            assert!(offset + 4 <= len, "{e:?} in {len} bytes");
        }
        DecodeError::BadUtf8 { offset } => assert!(offset + 4 <= len, "{e:?} in {len} bytes"),
        DecodeError::Unknown { .. } | DecodeError::Invalid(_) => {}
    }
}

/// Four-letter-word sniffing and the whitelist that gates it: the first four bytes are a
/// command exactly when they spell one; no command reads as a frame length a server would
/// accept; the whitelist (rest of the input, as zoo.cfg's value) always allows `srvr`, allows
/// exactly what it lists, and reads back the same from its own list.
pub fn check_four_letter(data: &[u8]) {
    let word = four_letter_word(data);
    let spelled = data
        .get(..4)
        .and_then(|b| ALL_FOUR_LETTER_WORDS.iter().find(|w| w.as_bytes() == b));
    assert_eq!(word, spelled.copied());
    for w in ALL_FOUR_LETTER_WORDS {
        let bytes: [u8; 4] = w.as_bytes().try_into().expect("four letters");
        let as_len = i64::from(i32::from_be_bytes(bytes));
        assert!(
            as_len > DEFAULT_MAX_BUFFER as i64 * 1000,
            "{w} is a plausible frame length"
        );
    }
    let value = String::from_utf8_lossy(data.get(4..).unwrap_or_default());
    let readonly = data.first().is_some_and(|b| b & 1 == 1);
    let (list, unknown) = FourLetterWhitelist::parse(Some(&value), readonly);
    assert!(list.allows("srvr"));
    assert!(!readonly || list.allows("isro"));
    for w in ALL_FOUR_LETTER_WORDS {
        assert_eq!(list.allows(w), list.commands().any(|c| c == *w));
    }
    for c in list.commands() {
        assert!(
            ALL_FOUR_LETTER_WORDS.contains(&c),
            "{c} allowed but unknown"
        );
    }
    for u in &unknown {
        assert!(!ALL_FOUR_LETTER_WORDS.contains(&u.as_str()) && !u.contains(','));
    }
    let joined: Vec<&str> = list.commands().collect();
    let (again, none) = FourLetterWhitelist::parse(Some(&joined.join(",")), readonly);
    assert_eq!(again, list);
    assert!(none.is_empty());
    if let Some(w) = word {
        let _ = list.allows(w);
    }
}
