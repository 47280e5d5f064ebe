//! The jute binary encoding (ZooKeeper's `BinaryInputArchive`/`BinaryOutputArchive`):
//! big-endian ints and longs, one-byte booleans, length-prefixed buffers and strings
//! (-1 = null, read back as empty), count-prefixed vectors. Records are their fields
//! concatenated, declared once with [`jute_record!`] so wire order and struct order agree.
//!
//! Owns: primitive encode/decode and the record macro. Must not know opcodes or sockets.

use bytes::{BufMut, Bytes, BytesMut};
use thiserror::Error;

/// Why a record could not be decoded. The server answers MARSHALLINGERROR or closes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record truncated: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("invalid length {len} at offset {offset}")]
    BadLength { offset: usize, len: i64 },
    #[error("string at offset {offset} is not UTF-8")]
    BadUtf8 { offset: usize },
    #[error("unknown {what} {value}")]
    Unknown { what: &'static str, value: i32 },
    #[error("{0}")]
    Invalid(&'static str),
}

/// A cursor over a received frame. Buffers are sliced out of it without copying.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    pos: usize,
}

impl Reader {
    pub fn new(buf: Bytes) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread rest of the frame (e.g. a request body after its header).
    pub fn rest(&self) -> Bytes {
        self.buf.slice(self.pos..)
    }

    pub fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    /// Reads a fixed-size primitive straight from the frame: no refcounted slice per int.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let Some(bytes) = self.buf.get(self.pos..self.pos + N) else {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: N - self.remaining(),
            });
        };
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        self.pos += N;
        Ok(out)
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.array::<1>()?[0] != 0)
    }

    /// A length prefix: -1 means null (treated as empty); anything else negative, or
    /// longer than what is left in the frame, is malformed. Bounding by the frame keeps a
    /// hostile length from allocating memory.
    fn len(&mut self) -> Result<Option<usize>, DecodeError> {
        let offset = self.pos;
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.remaining() {
            return Err(DecodeError::BadLength {
                offset,
                len: len.into(),
            });
        }
        Ok(Some(len as usize))
    }

    pub fn buffer(&mut self) -> Result<Bytes, DecodeError> {
        match self.len()? {
            None => Ok(Bytes::new()),
            Some(n) => self.take(n),
        }
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        let offset = self.pos;
        let bytes = self.buffer()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadUtf8 { offset })
    }

    /// A vector's element count; each element needs at least one byte, which bounds it.
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        Ok(self.len()?.unwrap_or(0))
    }
}

/// A value with a jute encoding.
pub trait Jute: Sized {
    fn write(&self, out: &mut BytesMut);
    fn read(r: &mut Reader) -> Result<Self, DecodeError>;

    /// Decodes a whole record from `bytes` (trailing bytes are ignored, as ZooKeeper does).
    fn from_bytes(bytes: Bytes) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(bytes))
    }

    fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.write(&mut out);
        out.freeze()
    }
}

impl Jute for i32 {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(*self)
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        r.i32()
    }
}

impl Jute for i64 {
    fn write(&self, out: &mut BytesMut) {
        out.put_i64(*self)
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        r.i64()
    }
}

impl Jute for bool {
    fn write(&self, out: &mut BytesMut) {
        out.put_u8(u8::from(*self))
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        r.bool()
    }
}

impl Jute for String {
    fn write(&self, out: &mut BytesMut) {
        write_buffer(out, self.as_bytes())
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        r.string()
    }
}

impl Jute for Bytes {
    fn write(&self, out: &mut BytesMut) {
        write_buffer(out, self)
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        r.buffer()
    }
}

/// A buffer that may be null (-1 length), kept distinct from empty: ZooKeeper stores null
/// data as null and reads it back as null.
impl Jute for Option<Bytes> {
    fn write(&self, out: &mut BytesMut) {
        match self {
            Some(b) => write_buffer(out, b),
            None => out.put_i32(-1),
        }
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let offset = r.position();
        match r.i32()? {
            -1 => Ok(None),
            n if n < 0 || n as usize > r.remaining() => Err(DecodeError::BadLength {
                offset,
                len: n.into(),
            }),
            n => r.take(n as usize).map(Some),
        }
    }
}

impl<T: Jute> Jute for Vec<T> {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(self.len() as i32);
        for item in self {
            item.write(out);
        }
    }
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let n = r.count()?;
        let mut items = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            items.push(T::read(r)?);
        }
        Ok(items)
    }
}

pub fn write_buffer(out: &mut BytesMut, bytes: &[u8]) {
    out.put_i32(bytes.len() as i32);
    out.put_slice(bytes);
}

/// Declares a jute record: the struct and its encoding, fields in `zookeeper.jute` order.
#[macro_export]
macro_rules! jute_record {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::proto::jute::Jute for $name {
            #[allow(unused_variables)]
            fn write(&self, out: &mut ::bytes::BytesMut) {
                $($crate::proto::jute::Jute::write(&self.$field, out);)*
            }
            #[allow(unused_variables)]
            fn read(r: &mut $crate::proto::jute::Reader) -> Result<Self, $crate::proto::jute::DecodeError> {
                Ok(Self { $($field: $crate::proto::jute::Jute::read(r)?),* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_buffer_and_string_read_as_empty() {
        let mut r = Reader::new(Bytes::from_static(&[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]));
        assert_eq!(r.buffer().unwrap(), Bytes::new());
        assert_eq!(r.string().unwrap(), "");
    }

    #[test]
    fn lengths_beyond_the_frame_are_rejected() {
        let mut r = Reader::new(Bytes::from_static(&[0, 0, 0, 9, b'a']));
        assert!(matches!(
            r.buffer(),
            Err(DecodeError::BadLength { len: 9, .. })
        ));
        let mut r = Reader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xfe]));
        assert!(matches!(
            r.buffer(),
            Err(DecodeError::BadLength { len: -2, .. })
        ));
    }

    #[test]
    fn vectors_round_trip() {
        let v = vec!["a".to_string(), "bc".to_string()];
        let bytes = v.to_bytes();
        assert_eq!(
            &bytes[..],
            &[0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']
        );
        assert_eq!(Vec::<String>::from_bytes(bytes).unwrap(), v);
    }

    #[test]
    fn truncated_ints_are_errors() {
        let mut r = Reader::new(Bytes::from_static(&[0, 0, 1]));
        assert_eq!(
            r.i32(),
            Err(DecodeError::Truncated {
                offset: 0,
                needed: 1
            })
        );
    }
}
