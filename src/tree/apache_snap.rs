//! Apache ZooKeeper's database serialization — the body of a SNAP sync on the quorum port and
//! of a `snapshot.<zxid>` file between its header and seal (`SerializeUtils.serializeSnapshot`
//! + `DataTree.serialize`, QUORUM.md §5.1):
//!
//! `int nSessions` + (`long id, int timeoutMs`)* · ACL map `int n` + (`long aclId,
//! vector<ACL>`)* · nodes pre-order (`ustring path`, `buffer data`, `long aclId`, StatPersisted
//! 68 B)* with the root's path `""` · terminator `ustring "/"`.
//! No file header, seal or signature here (the SNAP transport appends `"BenWasHere"`).
//!
//! The writer is deterministic: sessions by id, children by name, and ACL ids numbered 1..n
//! in the order of the lists themselves; the root, `/zookeeper` and `/zookeeper/quota` with
//! `world:anyone` ALL get Apache's built-in null ACL id -1 as Apache's own tree has them.
//! ACL ids are private to one stream (Apache's are per server), so a reader maps them back.
//!
//! The reader applies Apache's receiver rules (`ZKDatabase.deserializeSnapshot`, QUORUM.md §5.2)
//! and rejects, without panicking, what Apache would choke on: a null ACL vector, a node
//! before its parent, a length above `max_len` or below -1, a truncated stream. It is stricter
//! where Apache silently builds a broken tree (invalid or duplicate paths, non-UTF-8 text); a
//! node naming an unknown ACL id is kept, as by Apache, and given an ACL that grants nothing
//! (Apache fails every later ACL lookup on it). Ephemeral, container and TTL sets and the digest
//! are rebuilt from each node as it is inserted.
//!
//! Owns: the format. Must not touch sockets or files (callers hand bytes in and out).

use std::collections::HashMap;
use std::io::{self, Write};

use bytes::{BufMut, Bytes, BytesMut};

use super::node::{Node, StatPersisted};
use super::{open_acl, path, DataTree};
use crate::proto::records::{Acl, Id};

/// Apache's default `jute.maxbuffer` (0xfffff) plus the default extra size (the same): the
/// longest string or buffer its `BinaryInputArchive` accepts.
pub const DEFAULT_MAX_LEN: usize = 2 * 0xfffff;
/// The string a leader writes after the SNAP body (`LearnerHandler.run`).
pub const SIGNATURE: &str = "BenWasHere";
/// The built-in "null ACL" id: reads as `world:anyone` ALL.
const NULL_ACL_ID: i64 = -1;
/// Nodes Apache's DataTree constructor creates with the null ACL.
const NULL_ACL_NODES: [&str; 3] = ["/", "/zookeeper", "/zookeeper/quota"];
/// Flush the encode buffer at about this size.
const CHUNK: usize = 1 << 20;

/// Why a SNAP body was refused (the learner drops the sync, as an Apache learner would).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ApacheSnapError {
    #[error("SNAP body truncated at offset {offset}")]
    Truncated { offset: usize },
    #[error("unreasonable length {len} at offset {offset}")]
    BadLength { offset: usize, len: i64 },
    #[error("null {what} at offset {offset}")]
    Null { what: &'static str, offset: usize },
    #[error("text at offset {offset} is not UTF-8")]
    BadUtf8 { offset: usize },
    #[error("invalid path {path:?} in SNAP body")]
    BadPath { path: String },
    #[error("path {path:?} appears twice in SNAP body")]
    Duplicate { path: String },
    #[error("Invalid Datatree, unable to find parent of path {path:?}")]
    NoParent { path: String },
    #[error("SNAP body has no root node")]
    NoRoot,
}

/// What reading a body produced.
#[derive(Debug, Clone)]
pub struct SnapLoad {
    pub tree: DataTree,
    /// Bytes the body took, terminator included (what follows is the signature).
    pub len: usize,
    /// Nodes whose ACL id was not in the ACL map (each logged).
    pub unknown_acl_nodes: usize,
}

fn put_ustring(buf: &mut BytesMut, s: &str) {
    buf.put_i32(s.len() as i32);
    buf.put_slice(s.as_bytes());
}

fn put_stat(buf: &mut BytesMut, s: &StatPersisted) {
    for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
        buf.put_i64(v);
    }
    for v in [s.version, s.cversion, s.aversion] {
        buf.put_i32(v);
    }
    buf.put_i64(s.ephemeral_owner);
    buf.put_i64(s.pzxid);
}

impl DataTree {
    /// Apache's ACL id for each cache index (`NULL_ACL_ID` where unused), and the lists to
    /// write in id order. A built-in node holding `world:anyone` ALL is written with the null
    /// id, so that list is written only if another node holds it too.
    fn apache_acl_ids(&self) -> (Vec<i64>, Vec<&[Acl]>, Option<u32>) {
        let open = open_acl();
        let mut builtin_refs: HashMap<u32, u64> = HashMap::new();
        let mut open_index = None;
        for p in NULL_ACL_NODES {
            if let Some(n) = self.nodes.get(p) {
                if self.acls.get(n.acl) == &open[..] {
                    *builtin_refs.entry(n.acl).or_default() += 1;
                    open_index = Some(n.acl);
                }
            }
        }
        let mut lists: Vec<(u32, &[Acl])> = self
            .acls
            .iter()
            .filter(|(i, _)| self.acls.refs(*i) > builtin_refs.get(i).copied().unwrap_or(0))
            .collect();
        lists.sort_unstable_by(|a, b| a.1.cmp(b.1));
        let mut ids = vec![NULL_ACL_ID; self.acls.slots()];
        for (n, (i, _)) in lists.iter().enumerate() {
            if let Some(slot) = ids.get_mut(*i as usize) {
                *slot = n as i64 + 1;
            }
        }
        (ids, lists.into_iter().map(|(_, l)| l).collect(), open_index)
    }

    /// Streams the tree (sessions, ACL map, nodes, `"/"`) as Apache's SNAP body.
    pub fn write_apache_snap(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = BytesMut::with_capacity(CHUNK + 4096);
        let mut sessions: Vec<(i64, i32)> = self.sessions.iter().map(|(k, v)| (*k, *v)).collect();
        sessions.sort_unstable();
        buf.put_i32(sessions.len() as i32);
        for (id, timeout) in sessions {
            buf.put_i64(id);
            buf.put_i32(timeout);
        }
        let (ids, lists, open_index) = self.apache_acl_ids();
        buf.put_i32(lists.len() as i32);
        for (n, list) in lists.iter().enumerate() {
            buf.put_i64(n as i64 + 1);
            buf.put_i32(list.len() as i32);
            for acl in *list {
                buf.put_i32(acl.perms);
                put_ustring(&mut buf, &acl.id.scheme);
                put_ustring(&mut buf, &acl.id.id);
            }
        }
        let mut stack: Vec<&Node> = self.nodes.get("/").into_iter().collect();
        while let Some(node) = stack.pop() {
            let p = node.path();
            put_ustring(&mut buf, if p == "/" { "" } else { p });
            match node.data() {
                Some(d) => {
                    buf.put_i32(d.len() as i32);
                    buf.put_slice(d);
                }
                None => buf.put_i32(-1),
            }
            let builtin = open_index == Some(node.acl) && NULL_ACL_NODES.contains(&p);
            let id = if builtin {
                NULL_ACL_ID
            } else {
                ids.get(node.acl as usize).copied().unwrap_or(NULL_ACL_ID)
            };
            buf.put_i64(id);
            put_stat(&mut buf, &node.stat);
            let mut children: Vec<&Node> = self.child_nodes(node).collect();
            children.sort_unstable_by(|a, b| a.name().cmp(b.name()));
            stack.extend(children.into_iter().rev());
            if buf.len() >= CHUNK {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        put_ustring(&mut buf, "/");
        out.write_all(&buf)
    }

    /// Rebuilds a tree from an Apache SNAP body at the start of `body`. Strings and buffers
    /// longer than `max_len` are refused before anything is allocated for them.
    pub fn read_apache_snap(
        body: &[u8],
        max_len: usize,
        digest_enabled: bool,
    ) -> Result<SnapLoad, ApacheSnapError> {
        let mut r = Cursor {
            buf: body,
            pos: 0,
            max_len,
        };
        let mut tree = DataTree::with_digest(digest_enabled);
        tree.nodes.clear();
        tree.acls = Default::default();
        tree.data_size = 0;
        tree.digest.reset();
        for _ in 0..r.i32()?.max(0) {
            let id = r.i64()?;
            let timeout = r.i32()?;
            tree.sessions.insert(id, timeout);
        }
        let mut acls: HashMap<i64, Vec<Acl>> = HashMap::new();
        for _ in 0..r.i32()?.max(0) {
            let id = r.i64()?;
            let offset = r.pos;
            let count = r.i32()?;
            if count == -1 {
                return Err(ApacheSnapError::Null {
                    what: "ACL vector",
                    offset,
                });
            }
            let mut list = Vec::new();
            for _ in 0..count.max(0) {
                let perms = r.i32()?;
                let scheme = r.string("ACL scheme")?;
                let id = r.string("ACL id")?;
                list.push(Acl {
                    perms,
                    id: Id { scheme, id },
                });
            }
            acls.insert(id, list);
        }
        let mut unknown_acl_nodes = 0;
        // Apache id → cache index, so each list is hashed once, not once per node.
        let mut interned: HashMap<i64, u32> = HashMap::new();
        loop {
            let wire_path = r.string("path")?;
            if wire_path == "/" {
                break;
            }
            let data = r.data()?;
            let acl_id = r.i64()?;
            let stat = r.stat()?;
            let p = if wire_path.is_empty() {
                "/".to_string()
            } else {
                wire_path
            };
            if path::validate(&p).is_err() {
                return Err(ApacheSnapError::BadPath { path: p });
            }
            if tree.nodes.contains_key(p.as_str()) {
                return Err(ApacheSnapError::Duplicate { path: p });
            }
            if let Some((parent, _)) = path::split(&p) {
                if !tree.nodes.contains_key(parent) {
                    return Err(ApacheSnapError::NoParent { path: p });
                }
            }
            let index = match interned.get(&acl_id) {
                Some(&i) => {
                    tree.acls.add_ref(i);
                    i
                }
                None => {
                    let list = match acls.get(&acl_id) {
                        _ if acl_id == NULL_ACL_ID => open_acl(),
                        Some(list) => list.clone(),
                        None => deny_all(),
                    };
                    let i = tree.acls.intern(&list);
                    interned.insert(acl_id, i);
                    i
                }
            };
            if acl_id != NULL_ACL_ID && !acls.contains_key(&acl_id) {
                tracing::warn!(path = %p, acl = acl_id, "SNAP: node names an ACL id that is not in the ACL map; it will grant nothing");
                unknown_acl_nodes += 1;
            }
            let _ = tree.insert_raw(&p, data.as_deref(), index, stat);
        }
        if !tree.nodes.contains_key("/") {
            return Err(ApacheSnapError::NoRoot);
        }
        tree.setup_quota();
        Ok(SnapLoad {
            tree,
            len: r.pos,
            unknown_acl_nodes,
        })
    }
}

/// What a node with a dangling ACL id gets: a non-empty list that permits nothing (an empty
/// list would permit everything).
fn deny_all() -> Vec<Acl> {
    vec![Acl {
        perms: 0,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// Appends the SNAP signature (`ustring "BenWasHere"`).
pub fn write_signature(out: &mut Vec<u8>) {
    out.extend_from_slice(&(SIGNATURE.len() as i32).to_be_bytes());
    out.extend_from_slice(SIGNATURE.as_bytes());
}

/// Checks the signature at the start of `bytes`; `Ok(Some(len))` when it is there, `Ok(None)`
/// when more bytes are needed, an error ("Missing signature") otherwise.
pub fn check_signature(bytes: &[u8]) -> Result<Option<usize>, &'static str> {
    let want = 4 + SIGNATURE.len();
    let mut expected = Vec::with_capacity(want);
    write_signature(&mut expected);
    let n = bytes.len().min(want);
    if bytes[..n] != expected[..n] {
        return Err("Missing signature");
    }
    Ok((n == want).then_some(want))
}

/// A bounds- and cap-checked reader over the body.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    max_len: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ApacheSnapError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(end) = end else {
            return Err(ApacheSnapError::Truncated {
                offset: self.buf.len(),
            });
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], ApacheSnapError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i32(&mut self) -> Result<i32, ApacheSnapError> {
        Ok(i32::from_be_bytes(self.fixed()?))
    }

    fn i64(&mut self) -> Result<i64, ApacheSnapError> {
        Ok(i64::from_be_bytes(self.fixed()?))
    }

    /// A length prefix: `None` for -1 (null); below -1 or above the cap is refused.
    fn len(&mut self) -> Result<Option<usize>, ApacheSnapError> {
        let offset = self.pos;
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.max_len {
            return Err(ApacheSnapError::BadLength {
                offset,
                len: len.into(),
            });
        }
        Ok(Some(len as usize))
    }

    fn string(&mut self, what: &'static str) -> Result<String, ApacheSnapError> {
        let offset = self.pos;
        let Some(n) = self.len()? else {
            return Err(ApacheSnapError::Null { what, offset });
        };
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ApacheSnapError::BadUtf8 { offset })
    }

    /// Node data, copied out so the tree does not pin the whole body.
    fn data(&mut self) -> Result<Option<Bytes>, ApacheSnapError> {
        match self.len()? {
            None => Ok(None),
            Some(n) => Ok(Some(Bytes::copy_from_slice(self.take(n)?))),
        }
    }

    fn stat(&mut self) -> Result<StatPersisted, ApacheSnapError> {
        Ok(StatPersisted {
            czxid: self.i64()?,
            mzxid: self.i64()?,
            ctime: self.i64()?,
            mtime: self.i64()?,
            version: self.i32()?,
            cversion: self.i32()?,
            aversion: self.i32()?,
            ephemeral_owner: self.i64()?,
            pzxid: self.i64()?,
        })
    }
}

#[cfg(test)]
#[path = "apache_snap_tests.rs"]
mod tests;
