//! Client request and response records, fields in `zookeeper.jute` order.

use bytes::{BufMut, Bytes, BytesMut};

use super::jute::{DecodeError, Jute, Reader};
use crate::jute_record;

jute_record! {
    /// An identity: `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`, `auth:`, `super:`.
    #[derive(Hash, PartialOrd, Ord)]
    pub struct Id { pub scheme: String, pub id: String }
}

jute_record! {
    #[derive(Hash, PartialOrd, Ord)]
    pub struct Acl { pub perms: i32, pub id: Id }
}

jute_record! {
    /// Node metadata as clients see it (68 bytes on the wire).
    #[derive(Copy)]
    pub struct Stat {
        pub czxid: i64, pub mzxid: i64, pub ctime: i64, pub mtime: i64,
        pub version: i32, pub cversion: i32, pub aversion: i32,
        pub ephemeral_owner: i64, pub data_length: i32, pub num_children: i32, pub pzxid: i64,
    }
}

jute_record! { pub struct RequestHeader { pub xid: i32, pub op: i32 } }
jute_record! { pub struct ReplyHeader { pub xid: i32, pub zxid: i64, pub err: i32 } }
jute_record! { pub struct MultiHeader { pub op: i32, pub done: bool, pub err: i32 } }
jute_record! { pub struct AuthPacket { pub auth_type: i32, pub scheme: String, pub auth: Bytes } }
jute_record! { pub struct WatcherEvent { pub event_type: i32, pub state: i32, pub path: String } }
jute_record! { pub struct ErrorResponse { pub err: i32 } }

jute_record! {
    pub struct SetWatches {
        pub relative_zxid: i64, pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>, pub child_watches: Vec<String>,
    }
}
jute_record! {
    pub struct SetWatches2 {
        pub relative_zxid: i64, pub data_watches: Vec<String>, pub exist_watches: Vec<String>,
        pub child_watches: Vec<String>, pub persistent_watches: Vec<String>,
        pub persistent_recursive_watches: Vec<String>,
    }
}

jute_record! { pub struct CreateRequest { pub path: String, pub data: Option<Bytes>, pub acl: Vec<Acl>, pub flags: i32 } }
jute_record! {
    pub struct CreateTtlRequest { pub path: String, pub data: Option<Bytes>, pub acl: Vec<Acl>, pub flags: i32, pub ttl: i64 }
}
jute_record! { pub struct DeleteRequest { pub path: String, pub version: i32 } }
jute_record! { pub struct PathWatchRequest { pub path: String, pub watch: bool } }
jute_record! { pub struct SetDataRequest { pub path: String, pub data: Option<Bytes>, pub version: i32 } }
jute_record! { pub struct PathRequest { pub path: String } }
jute_record! { pub struct SetAclRequest { pub path: String, pub acl: Vec<Acl>, pub version: i32 } }
jute_record! { pub struct CheckVersionRequest { pub path: String, pub version: i32 } }
jute_record! {
    pub struct ReconfigRequest {
        pub joining_servers: String, pub leaving_servers: String, pub new_members: String, pub cur_config_id: i64,
    }
}
jute_record! { pub struct WatchesRequest { pub path: String, pub watcher_type: i32 } }
jute_record! { pub struct AddWatchRequest { pub path: String, pub mode: i32 } }
jute_record! { pub struct SaslRequest { pub token: Bytes } }

jute_record! { pub struct PathResponse { pub path: String } }
jute_record! { pub struct Create2Response { pub path: String, pub stat: Stat } }
jute_record! { pub struct StatResponse { pub stat: Stat } }
jute_record! { pub struct GetDataResponse { pub data: Option<Bytes>, pub stat: Stat } }
jute_record! { pub struct GetAclResponse { pub acl: Vec<Acl>, pub stat: Stat } }
jute_record! { pub struct GetChildrenResponse { pub children: Vec<String> } }
jute_record! { pub struct GetChildren2Response { pub children: Vec<String>, pub stat: Stat } }
jute_record! { pub struct GetEphemeralsResponse { pub ephemerals: Vec<String> } }
jute_record! { pub struct GetAllChildrenNumberResponse { pub total_number: i32 } }
jute_record! { pub struct ClientInfo { pub auth_scheme: String, pub user: String } }
jute_record! { pub struct WhoAmIResponse { pub client_info: Vec<ClientInfo> } }
jute_record! { pub struct SaslResponse { pub token: Option<Bytes> } }

/// The first packet of a connection. `read_only` is optional on the wire: old clients
/// stop after the password, and the reply must then omit it too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: Option<bool>,
}

impl Jute for ConnectRequest {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(self.protocol_version);
        out.put_i64(self.last_zxid_seen);
        out.put_i32(self.timeout);
        out.put_i64(self.session_id);
        self.passwd.write(out);
        if let Some(ro) = self.read_only {
            ro.write(out);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.i32()?,
            last_zxid_seen: r.i64()?,
            timeout: r.i32()?,
            session_id: r.i64()?,
            passwd: r.buffer()?,
            read_only: if r.remaining() > 0 {
                Some(r.bool()?)
            } else {
                None
            },
        })
    }
}

/// The handshake answer; `read_only` is written only if the client sent the flag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: Option<bool>,
}

impl Jute for ConnectResponse {
    fn write(&self, out: &mut BytesMut) {
        out.put_i32(self.protocol_version);
        out.put_i32(self.timeout);
        out.put_i64(self.session_id);
        self.passwd.write(out);
        if let Some(ro) = self.read_only {
            ro.write(out);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: r.i32()?,
            timeout: r.i32()?,
            session_id: r.i64()?,
            passwd: r.buffer()?,
            read_only: if r.remaining() > 0 {
                Some(r.bool()?)
            } else {
                None
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_68_bytes() {
        assert_eq!(Stat::default().to_bytes().len(), 68);
    }

    /// Bytes of the Java client's 3.8 handshake (protocol 0, zxid 0, timeout 30000,
    /// session 0, 16 zero bytes of password, readOnly false): 45-byte body.
    #[test]
    fn java_client_handshake_decodes() {
        let mut body = vec![0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x75, 0x30];
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&[0, 0, 0, 16]);
        body.extend_from_slice(&[0; 16]);
        body.push(0);
        assert_eq!(body.len(), 45);
        let req = ConnectRequest::from_bytes(Bytes::from(body.clone())).unwrap();
        assert_eq!(req.timeout, 30000);
        assert_eq!(req.read_only, Some(false));
        assert_eq!(&req.to_bytes()[..], &body[..]);
        let old = ConnectRequest::from_bytes(Bytes::from(body[..44].to_vec())).unwrap();
        assert_eq!(old.read_only, None);
    }

    #[test]
    fn connect_response_omits_read_only_for_old_clients() {
        let mut resp = ConnectResponse {
            timeout: 4000,
            session_id: 0x0100_0000_0000_0001,
            passwd: Bytes::from_static(&[7; 16]),
            ..Default::default()
        };
        assert_eq!(resp.to_bytes().len(), 36);
        resp.read_only = Some(false);
        assert_eq!(resp.to_bytes().len(), 37);
    }
}
