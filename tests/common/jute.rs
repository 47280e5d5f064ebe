//! A tiny hand-written jute codec for tests: build request bytes field by field and read reply
//! bodies back (ints/longs big-endian, buffers/strings/vectors length-prefixed, -1 = null).
//! Deliberately independent of the server's `proto/` module so the tests check it, not reuse it.

/// Opcodes used by the raw tests (ZooDefs.OpCode).
pub mod op {
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const CLOSE_SESSION: i32 = -11;
}

/// Request builder: each method appends one jute field.
#[derive(Clone, Debug, Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn new() -> Self {
        Enc(Vec::new())
    }
    pub fn int(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn long(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bool(mut self, v: bool) -> Self {
        self.0.push(u8::from(v));
        self
    }
    pub fn buf(self, v: &[u8]) -> Self {
        let len = i32::try_from(v.len()).expect("buffer too long");
        let mut s = self.int(len);
        s.0.extend_from_slice(v);
        s
    }
    pub fn null(self) -> Self {
        self.int(-1)
    }
    pub fn str(self, v: &str) -> Self {
        self.buf(v.as_bytes())
    }
    /// `vector<ACL>`: each entry `int perms, ustring scheme, ustring id`.
    pub fn acl(self, acl: &[(i32, &str, &str)]) -> Self {
        let mut s = self.int(i32::try_from(acl.len()).expect("acl length"));
        for (perms, scheme, id) in acl {
            s = s.int(*perms).str(scheme).str(id);
        }
        s
    }
    /// world:anyone with all permissions.
    pub fn open_acl(self) -> Self {
        self.acl(&[(31, "world", "anyone")])
    }
    pub fn bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reply reader over a body; panics (test failure) on truncated input.
pub struct Dec<'a> {
    pub buf: &'a [u8],
}

/// The 68-byte Stat record, fields in `zookeeper.jute` order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(
            self.buf.len() >= n,
            "truncated reply: need {n}, have {}",
            self.buf.len()
        );
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        head
    }
    pub fn int(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().expect("4 bytes"))
    }
    pub fn long(&mut self) -> i64 {
        i64::from_be_bytes(self.take(8).try_into().expect("8 bytes"))
    }
    pub fn bool(&mut self) -> bool {
        self.take(1)[0] != 0
    }
    /// `None` for a null (-1 length) buffer.
    pub fn buf(&mut self) -> Option<Vec<u8>> {
        let len = self.int();
        if len < 0 {
            return None;
        }
        Some(self.take(usize::try_from(len).expect("len")).to_vec())
    }
    pub fn str(&mut self) -> String {
        String::from_utf8(self.buf().expect("non-null string")).expect("utf-8")
    }
    pub fn strs(&mut self) -> Vec<String> {
        let n = self.int();
        (0..n).map(|_| self.str()).collect()
    }
    pub fn stat(&mut self) -> Stat {
        Stat {
            czxid: self.long(),
            mzxid: self.long(),
            ctime: self.long(),
            mtime: self.long(),
            version: self.int(),
            cversion: self.int(),
            aversion: self.int(),
            ephemeral_owner: self.long(),
            data_length: self.int(),
            num_children: self.int(),
            pzxid: self.long(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Lowercase hex of `bytes`, for golden-byte comparisons and failure messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Overwrites `len` bytes at `at` (hex-string offsets are byte offsets) with `X`s in a hex dump,
/// so fields that vary between runs (zxid, session id, times, password) can be compared.
pub fn mask(hex_dump: &str, at: usize, len: usize) -> String {
    let mut s = hex_dump.to_string();
    s.replace_range(at * 2..(at + len) * 2, &"X".repeat(len * 2));
    s
}
