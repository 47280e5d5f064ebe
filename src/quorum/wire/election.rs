//! The election port (3888): the connection-initiation message a dialler sends first, the
//! `int length`-framed notifications that follow, and the notification payload in every form
//! Apache 3.8 accepts (QUORUM.md §1–§2).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

/// Protocol version "V1" (3.5+): one election address follows the sid.
pub const PROTOCOL_V1: i64 = -65536;
/// Protocol version "V2" (3.6+, multiAddress): `|`-separated addresses.
pub const PROTOCOL_V2: i64 = -65535;
/// Longest address string a receiver accepts (`QuorumCnxManager.maxBuffer`).
pub const MAX_ADDR_LEN: usize = 2048;
/// Longest election frame (`QuorumCnxManager.PACKETMAXSIZE`).
pub const MAX_FRAME: usize = 512 * 1024;
/// The notification format version Apache 3.8 sends (`Notification.CURRENTVERSION`).
pub const NOTIFICATION_VERSION: i32 = 2;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InitialMessageError {
    #[error("Got unrecognized protocol version {0}")]
    BadProtocol(i64),
    #[error("Unreasonable buffer length: {0}")]
    BadLength(i32),
    #[error("address is not UTF-8")]
    BadUtf8,
    #[error("Badly formed address: {0}")]
    BadAddress(String),
}

/// The first thing on an election connection: who is dialling and its election address(es).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialMessage {
    pub sid: i64,
    /// `host:port` strings as sent (empty for the legacy sid-only form).
    pub addrs: Vec<String>,
}

impl InitialMessage {
    /// The V1 form Apache 3.8 sends by default: `long -65536, long sid, int len, host:port`.
    pub fn encode_v1(sid: i64, addr: &str) -> Bytes {
        let mut out = BytesMut::with_capacity(20 + addr.len());
        out.put_i64(PROTOCOL_V1);
        out.put_i64(sid);
        out.put_i32(addr.len() as i32);
        out.put_slice(addr.as_bytes());
        out.freeze()
    }

    /// Parses from the front of `buf`: `Ok(None)` until the whole message has arrived, then the
    /// message and how many bytes it took. A first long `>= 0` is the legacy form (it is the sid).
    pub fn parse(buf: &[u8]) -> Result<Option<(InitialMessage, usize)>, InitialMessageError> {
        let mut b = buf;
        if b.remaining() < 8 {
            return Ok(None);
        }
        let first = b.get_i64();
        if first >= 0 {
            let msg = InitialMessage {
                sid: first,
                addrs: Vec::new(),
            };
            return Ok(Some((msg, 8)));
        }
        if first != PROTOCOL_V1 && first != PROTOCOL_V2 {
            return Err(InitialMessageError::BadProtocol(first));
        }
        if b.remaining() < 12 {
            return Ok(None);
        }
        let sid = b.get_i64();
        let len = b.get_i32();
        if len <= 0 || len as usize > MAX_ADDR_LEN {
            return Err(InitialMessageError::BadLength(len));
        }
        let len = len as usize;
        if b.remaining() < len {
            return Ok(None);
        }
        let text = std::str::from_utf8(&b[..len]).map_err(|_| InitialMessageError::BadUtf8)?;
        let mut addrs = Vec::new();
        for a in text.split('|') {
            if split_host_port(a).is_none() {
                return Err(InitialMessageError::BadAddress(a.to_string()));
            }
            addrs.push(a.to_string());
        }
        Ok(Some((InitialMessage { sid, addrs }, 20 + len)))
    }
}

/// `host:port` or `[v6]:port` → (host, port), as `ConfigUtils.getHostAndPort` accepts them.
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':')?)
    } else {
        s.rsplit_once(':')?
    };
    if host.is_empty() {
        return None;
    }
    Some((host, port.parse().ok()?))
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NotificationDecodeError {
    #[error("short notification ({0} bytes)")]
    Short(usize),
    #[error("partial / malformed notification ({0} bytes)")]
    Malformed(usize),
    #[error("invalid configLength {len} in a {capacity}-byte notification")]
    BadConfigLength { len: i32, capacity: usize },
}

/// One election notification (`FastLeaderElection.Notification` / `ToSend`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The sender's `ServerState` ordinal (LOOKING 0, FOLLOWING 1, LEADING 2, OBSERVING 3);
    /// kept raw because a non-voter's message is answered whatever its state.
    pub state: i32,
    /// Proposed (or believed) leader sid.
    pub leader: i64,
    /// Last zxid of that leader as the sender knows it.
    pub zxid: i64,
    /// The sender's logical clock (election round).
    pub election_epoch: i64,
    /// Epoch of the proposed leader.
    pub peer_epoch: i64,
    /// Message format version: 0 for the 28/40-byte legacy forms, 2 from 3.5 on.
    pub version: i32,
    /// UTF-8 `QuorumVerifier.toString()` of the sender (version > 1 only).
    pub config: Bytes,
}

impl Notification {
    /// The 44 + N byte form Apache 3.8 sends.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(44 + self.config.len());
        out.put_i32(self.state);
        out.put_i64(self.leader);
        out.put_i64(self.zxid);
        out.put_i64(self.election_epoch);
        out.put_i64(self.peer_epoch);
        out.put_i32(NOTIFICATION_VERSION);
        out.put_i32(self.config.len() as i32);
        out.put_slice(&self.config);
        out.freeze()
    }

    /// Decodes any form `WorkerReceiver` accepts: 28 bytes (peerEpoch derived from the zxid),
    /// exactly 40 (the trailing int ignored), or ≥ 41 with a version and, above version 1, a
    /// length-checked config. Trailing bytes are ignored, as Apache does.
    pub fn decode(buf: &[u8]) -> Result<Notification, NotificationDecodeError> {
        let capacity = buf.len();
        if capacity < 28 {
            return Err(NotificationDecodeError::Short(capacity));
        }
        let malformed = NotificationDecodeError::Malformed(capacity);
        let mut b = buf;
        let state = b.get_i32();
        let leader = b.get_i64();
        let zxid = b.get_i64();
        let election_epoch = b.get_i64();
        let (peer_epoch, version) = if capacity == 28 {
            (super::super::zxid::epoch_of(zxid), 0)
        } else {
            if b.remaining() < 8 {
                return Err(malformed);
            }
            let pe = b.get_i64();
            if capacity == 40 {
                (pe, 0)
            } else if b.remaining() < 4 {
                return Err(malformed);
            } else {
                (pe, b.get_i32())
            }
        };
        let mut config = Bytes::new();
        if version > 1 {
            if b.remaining() < 4 {
                return Err(malformed);
            }
            let len = b.get_i32();
            if len < 0 || len as usize > capacity {
                return Err(NotificationDecodeError::BadConfigLength { len, capacity });
            }
            if b.remaining() < len as usize {
                return Err(malformed);
            }
            config = Bytes::copy_from_slice(&b[..len as usize]);
        }
        Ok(Notification {
            state,
            leader,
            zxid,
            election_epoch,
            peer_epoch,
            version,
            config,
        })
    }
}

/// Takes one `int length`-framed election message off `buf`; `Ok(None)` = need more bytes.
/// A length ≤ 0 or above 512 KiB is an error (Apache drops the connection).
pub fn decode_election_frame(buf: &mut BytesMut) -> Result<Option<Bytes>, i32> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len <= 0 || len as usize > MAX_FRAME {
        return Err(len);
    }
    let len = len as usize;
    if buf.len() < 4 + len {
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Appends `payload` as one election frame.
pub fn encode_election_frame(out: &mut BytesMut, payload: &[u8]) {
    out.put_i32(payload.len() as i32);
    out.put_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Notification {
        Notification {
            state: 0,
            leader: 3,
            zxid: 0x1_0000_0005,
            election_epoch: 2,
            peer_epoch: 1,
            version: 2,
            config: Bytes::from_static(b"server.1=127.0.0.1:2888:3888:participant\nversion=0"),
        }
    }

    #[test]
    fn notification_round_trips_in_the_3_8_form() {
        let n = sample();
        let bytes = n.encode();
        assert_eq!(bytes.len(), 44 + n.config.len());
        assert_eq!(&bytes[36..40], &[0, 0, 0, 2]);
        assert_eq!(Notification::decode(&bytes).unwrap(), n);
    }

    #[test]
    fn legacy_forms_are_accepted_as_apache_accepts_them() {
        let full = sample().encode();
        let n28 = Notification::decode(&full[..28]).unwrap();
        assert_eq!((n28.peer_epoch, n28.version), (1, 0));
        let n40 = Notification::decode(&full[..40]).unwrap();
        assert_eq!((n40.peer_epoch, n40.version), (1, 0));
        assert!(n40.config.is_empty());
        for len in [0, 27] {
            assert_eq!(
                Notification::decode(&full[..len]),
                Err(NotificationDecodeError::Short(len))
            );
        }
        // 29..=39 underflow (36 included), 41..=43 lack the config length.
        for len in (29..40).chain(41..44) {
            assert!(Notification::decode(&full[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn version_one_ignores_the_rest() {
        let mut b = BytesMut::from(&sample().encode()[..]);
        b[39] = 1;
        let n = Notification::decode(&b).unwrap();
        assert_eq!(n.version, 1);
        assert!(n.config.is_empty());
    }

    #[test]
    fn config_length_is_checked() {
        let mut b = BytesMut::from(&sample().encode()[..]);
        b[40..44].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            Notification::decode(&b),
            Err(NotificationDecodeError::BadConfigLength { len: -1, .. })
        ));
        b[40..44].copy_from_slice(&(5000i32).to_be_bytes());
        assert!(Notification::decode(&b).is_err());
    }

    #[test]
    fn initial_message_v1_round_trips_and_waits_for_all_bytes() {
        let bytes = InitialMessage::encode_v1(2, "127.0.0.1:3888");
        for n in 0..bytes.len() {
            assert_eq!(InitialMessage::parse(&bytes[..n]), Ok(None), "{n}");
        }
        let (m, used) = InitialMessage::parse(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(m.sid, 2);
        assert_eq!(m.addrs, vec!["127.0.0.1:3888".to_string()]);
    }

    #[test]
    fn initial_message_variants_and_errors() {
        let legacy = 7i64.to_be_bytes();
        let (m, used) = InitialMessage::parse(&legacy).unwrap().unwrap();
        assert_eq!((m.sid, used), (7, 8));
        assert!(m.addrs.is_empty());

        let bad = (-3i64).to_be_bytes();
        assert_eq!(
            InitialMessage::parse(&bad),
            Err(InitialMessageError::BadProtocol(-3))
        );

        let mut v2 = BytesMut::new();
        v2.put_i64(PROTOCOL_V2);
        v2.put_i64(4);
        let addrs = b"[::1]:3888|10.0.0.1:3889";
        v2.put_i32(addrs.len() as i32);
        v2.put_slice(addrs);
        let (m, _) = InitialMessage::parse(&v2).unwrap().unwrap();
        assert_eq!(m.addrs.len(), 2);

        for len in [0i32, -1, 2049] {
            let mut b = BytesMut::new();
            b.put_i64(PROTOCOL_V1);
            b.put_i64(1);
            b.put_i32(len);
            assert_eq!(
                InitialMessage::parse(&b),
                Err(InitialMessageError::BadLength(len))
            );
        }
        let no_port = InitialMessage::encode_v1(1, "localhost");
        assert!(matches!(
            InitialMessage::parse(&no_port),
            Err(InitialMessageError::BadAddress(_))
        ));
    }

    #[test]
    fn election_frames() {
        let mut out = BytesMut::new();
        encode_election_frame(&mut out, b"abc");
        let mut partial = BytesMut::from(&out[..5]);
        assert_eq!(decode_election_frame(&mut partial), Ok(None));
        assert_eq!(
            decode_election_frame(&mut out),
            Ok(Some(Bytes::from_static(b"abc")))
        );
        let mut zero = BytesMut::from(&[0u8, 0, 0, 0][..]);
        assert_eq!(decode_election_frame(&mut zero), Err(0));
        let mut huge = BytesMut::new();
        huge.put_i32(MAX_FRAME as i32 + 1);
        assert!(decode_election_frame(&mut huge).is_err());
    }
}
