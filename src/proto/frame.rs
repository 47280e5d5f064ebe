//! Length-prefixed framing: every packet is a 4-byte big-endian signed length and a
//! payload. A negative length or one above `jute.maxbuffer` ends the connection, as in
//! ZooKeeper ("Len error"), so one client cannot make the server allocate without bound.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    #[error("Len error {len} (length is greater than jute.maxbuffer={max})")]
    TooLong { len: i64, max: usize },
    #[error("Len error {len} (negative length)")]
    Negative { len: i64 },
}

/// The 4-byte length prefix at the front of `buf`, if it has arrived.
pub fn peek_len(buf: &[u8]) -> Option<i32> {
    let head: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(head))
}

/// Takes one whole frame's payload off the front of `buf`; `Ok(None)` = need more bytes.
pub fn decode_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(len) = peek_len(buf) else {
        return Ok(None);
    };
    if len < 0 {
        return Err(FrameError::Negative { len: len.into() });
    }
    let len = len as usize;
    if len > max {
        return Err(FrameError::TooLong {
            len: len as i64,
            max,
        });
    }
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Appends a frame holding whatever `body` writes, patching the length in afterwards.
pub fn write_frame(out: &mut BytesMut, body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_wait_for_more() {
        let mut buf = BytesMut::new();
        write_frame(&mut buf, |o| o.extend_from_slice(b"abc"));
        write_frame(&mut buf, |o| o.extend_from_slice(b"de"));
        let mut partial = BytesMut::from(&buf[..5]);
        assert_eq!(decode_frame(&mut partial, 100), Ok(None));
        assert_eq!(
            decode_frame(&mut buf, 100).unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert_eq!(
            decode_frame(&mut buf, 100).unwrap().unwrap(),
            Bytes::from_static(b"de")
        );
        assert_eq!(decode_frame(&mut buf, 100), Ok(None));
    }

    #[test]
    fn oversize_and_negative_lengths_are_refused() {
        let mut buf = BytesMut::from(&(DEFAULT_MAX_BUFFER as i32 + 1).to_be_bytes()[..]);
        assert!(matches!(
            decode_frame(&mut buf, DEFAULT_MAX_BUFFER),
            Err(FrameError::TooLong { .. })
        ));
        let mut buf = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        assert_eq!(
            decode_frame(&mut buf, DEFAULT_MAX_BUFFER),
            Err(FrameError::Negative { len: -5 })
        );
    }
}
