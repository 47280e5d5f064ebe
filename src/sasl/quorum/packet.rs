//! `QuorumAuthPacket` (zookeeper.jute: `long magic, int status, buffer token`), the frame of
//! every quorum SASL message in both directions, written as a bare jute record (no length
//! prefix) straight onto the election or quorum socket.
//!
//! The magic is negative so that a member reading the first long of a connection can tell an
//! authentication packet from anything else the port carries (Apache's `nextPacketIsAuth`).

/// `QuorumAuth.QUORUM_AUTH_MAGIC_NUMBER` (`-0xa0dbcafecafe1234L` in Java, a long that
/// overflows; its two's-complement value).
pub const MAGIC: i64 = (0xa0db_cafe_cafe_1234_u64 as i64).wrapping_neg();

/// The largest token accepted (a DIGEST-MD5 token is a few hundred bytes).
pub const MAX_TOKEN: usize = 64 * 1024;

/// `QuorumAuth.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Success,
    Error,
}

impl Status {
    pub fn code(self) -> i32 {
        match self {
            Status::InProgress => 0,
            Status::Success => 1,
            Status::Error => -1,
        }
    }

    /// Apache maps an unknown code to ERROR (after logging it).
    pub fn from_code(code: i32) -> Status {
        match code {
            0 => Status::InProgress,
            1 => Status::Success,
            _ => Status::Error,
        }
    }
}

/// One packet. `token: None` is jute's null buffer (length -1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumAuthPacket {
    pub magic: i64,
    pub status: i32,
    pub token: Option<Vec<u8>>,
}

/// A packet that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("not a quorum authentication packet (magic 0x{0:016x})")]
    BadMagic(i64),
    #[error("quorum authentication token length {0} out of range (0..={MAX_TOKEN})")]
    BadLength(i32),
}

impl QuorumAuthPacket {
    /// `QuorumAuth.createPacket`.
    pub fn new(status: Status, token: Option<Vec<u8>>) -> QuorumAuthPacket {
        QuorumAuthPacket {
            magic: MAGIC,
            status: status.code(),
            token,
        }
    }

    pub fn status(&self) -> Status {
        Status::from_code(self.status)
    }

    pub fn encode(&self) -> Vec<u8> {
        let token = self.token.as_deref();
        let mut out = Vec::with_capacity(16 + token.map_or(0, <[u8]>::len));
        out.extend_from_slice(&self.magic.to_be_bytes());
        out.extend_from_slice(&self.status.to_be_bytes());
        match token {
            Some(t) => {
                out.extend_from_slice(&(t.len() as i32).to_be_bytes());
                out.extend_from_slice(t);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        out
    }

    /// Decodes one packet from the front of `buf`: `Ok(None)` until it is all there, else the
    /// packet and how many bytes it took. A wrong magic is an error (the peer speaks something
    /// else: most likely it does not have `quorum.auth.enableSasl=true`).
    pub fn decode(buf: &[u8]) -> Result<Option<(QuorumAuthPacket, usize)>, PacketError> {
        let Some(head) = buf.get(..16) else {
            if let Some(m) = buf.get(..8) {
                let magic = i64::from_be_bytes(m.try_into().unwrap_or_default());
                if magic != MAGIC {
                    return Err(PacketError::BadMagic(magic));
                }
            }
            return Ok(None);
        };
        let magic = i64::from_be_bytes(head[..8].try_into().unwrap_or_default());
        if magic != MAGIC {
            return Err(PacketError::BadMagic(magic));
        }
        let status = i32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
        let len = i32::from_be_bytes(head[12..16].try_into().unwrap_or_default());
        if len == -1 {
            return Ok(Some((
                QuorumAuthPacket {
                    magic,
                    status,
                    token: None,
                },
                16,
            )));
        }
        if len < 0 || len as usize > MAX_TOKEN {
            return Err(PacketError::BadLength(len));
        }
        let end = 16 + len as usize;
        let Some(token) = buf.get(16..end) else {
            return Ok(None);
        };
        let token = Some(token.to_vec());
        Ok(Some((
            QuorumAuthPacket {
                magic,
                status,
                token,
            },
            end,
        )))
    }
}

/// Whether a connection's first 8 bytes are the magic (Apache's `QuorumAuth.nextPacketIsAuth`).
pub fn starts_with_magic(first: &[u8; 8]) -> bool {
    i64::from_be_bytes(*first) == MAGIC
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn magic_is_javas_long() {
        // -0xa0dbcafecafe1234L as javac evaluates it.
        assert_eq!(MAGIC as u64, 0x5f24_3501_3501_edcc);
        assert!(starts_with_magic(&MAGIC.to_be_bytes()));
        assert!(!starts_with_magic(&[0, 0, 0, 11, 0, 0, 0, 0]));
    }

    #[test]
    fn round_trips_and_waits_for_the_whole_packet() {
        for p in [
            QuorumAuthPacket::new(Status::InProgress, Some(Vec::new())),
            QuorumAuthPacket::new(Status::Success, Some(b"rspauth=ab".to_vec())),
            QuorumAuthPacket::new(Status::Error, None),
        ] {
            let mut bytes = p.encode();
            for cut in 0..bytes.len() {
                assert_eq!(QuorumAuthPacket::decode(&bytes[..cut]).unwrap(), None);
            }
            bytes.extend_from_slice(b"next");
            let (got, used) = QuorumAuthPacket::decode(&bytes).unwrap().unwrap();
            assert_eq!((got, used), (p.clone(), bytes.len() - 4));
        }
        // IN_PROGRESS with an empty token, as Apache's learner opens: 16 bytes.
        let opening = QuorumAuthPacket::new(Status::InProgress, Some(Vec::new())).encode();
        assert_eq!(opening[8..], [0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Status::from_code(7), Status::Error);
    }

    #[test]
    fn other_bytes_are_refused() {
        // A FOLLOWERINFO packet's start (type 11, zxid) is not an auth packet.
        let e = QuorumAuthPacket::decode(&[0, 0, 0, 11, 0, 0, 0, 1, 0]).unwrap_err();
        assert!(matches!(e, PacketError::BadMagic(_)));
        let mut p = QuorumAuthPacket::new(Status::InProgress, None).encode();
        p[12..16].copy_from_slice(&(-2i32).to_be_bytes());
        assert_eq!(
            QuorumAuthPacket::decode(&p).unwrap_err(),
            PacketError::BadLength(-2)
        );
        p[12..16].copy_from_slice(&(MAX_TOKEN as i32 + 1).to_be_bytes());
        assert!(QuorumAuthPacket::decode(&p).is_err());
    }
}
