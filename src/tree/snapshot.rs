//! The tree's snapshot body: sessions, ACL lists and every node in pre-order (parents
//! before children), jute-encoded. The storage layer wraps it in a checksummed file; this
//! module only turns a tree into bytes and back.
//!
//! Layout: `u32 magic "ZKTR"`, `i32 version (1)`, `long lastZxid`, `int nSessions` +
//! (`long id, int timeout`)*, `int nAcls` + (`int index, vector<ACL>`)*, `long nNodes` +
//! (`ustring path, buffer data, int aclIndex, long czxid, long mzxid, long ctime, long mtime,
//! int version, int cversion, int aversion, long ephemeralOwner, long pzxid`)*.

use std::collections::HashMap;
use std::io::{self, Write};

use bytes::{BufMut, Bytes, BytesMut};

use super::node::{Node, StatPersisted};
use super::{digest, path, DataTree};
use crate::proto::jute::{DecodeError, Jute, Reader};
use crate::proto::records::Acl;

const MAGIC: u32 = u32::from_be_bytes(*b"ZKTR");
const VERSION: i32 = 1;
/// Flush the encode buffer to the writer at about this size.
const CHUNK: usize = 1 << 20;
/// The smallest node record: path (length + one byte), data length, ACL index, stat.
const MIN_NODE_BYTES: usize = 4 + 1 + 4 + 4 + 60;

/// Parsed records in flight between the snapshot parser and the inserter.
const LOAD_QUEUE_BATCHES: usize = 8;
/// Records per batch handed from the parser to the inserter.
const LOAD_BATCH: usize = 4096;

/// One node record of a snapshot, parsed and checked, ready to insert: the node is built
/// (path and data copied out of the file into its one buffer, digest prefix computed) on the
/// parsing thread, so the inserter only indexes and links it.
struct Record {
    node: Node,
    /// The ACL index as the file numbers it.
    acl: i32,
}

/// Parses `n` node records off `r` in batches, stopping at the first error (sent on) or
/// when the inserter hangs up. `most` bounds the records the bytes left can hold: batches
/// are sized by it, not by the file's count.
fn parse_nodes(
    mut r: Reader,
    n: i64,
    most: usize,
    digest_on: bool,
    tx: std::sync::mpsc::SyncSender<Result<Vec<Record>, DecodeError>>,
) {
    let batch_len = LOAD_BATCH.min(most);
    let mut batch = Vec::with_capacity(batch_len);
    for _ in 0..n {
        match parse_node(&mut r, digest_on) {
            Ok(rec) => batch.push(rec),
            Err(e) => {
                // The records before it first: errors surface in file order.
                let _ = tx.send(Ok(std::mem::take(&mut batch)));
                let _ = tx.send(Err(e));
                return;
            }
        }
        if batch.len() >= batch_len {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_len));
            if tx.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(Ok(batch));
}

fn parse_node(r: &mut Reader, digest_on: bool) -> Result<Record, DecodeError> {
    let path = r.string()?;
    let data: Option<Bytes> = Jute::read(r)?;
    let acl = r.i32()?;
    let stat = StatPersisted {
        czxid: r.i64()?,
        mzxid: r.i64()?,
        ctime: r.i64()?,
        mtime: r.i64()?,
        version: r.i32()?,
        cversion: r.i32()?,
        aversion: r.i32()?,
        ephemeral_owner: r.i64()?,
        pzxid: r.i64()?,
    };
    if path::validate(&path).is_err() {
        return Err(DecodeError::Invalid("invalid path in snapshot"));
    }
    // Copied out of the file's buffer, which would otherwise stay whole while any node lives.
    let mut node = Node::new(&path, data.as_deref(), 0, stat);
    if digest_on && digest::is_digested(&path) {
        node.digest_prefix = digest::prefix(&path, data.as_deref());
    }
    Ok(Record { node, acl })
}

impl DataTree {
    /// Streams the tree as a snapshot body.
    pub fn write_snapshot(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = BytesMut::with_capacity(CHUNK + 4096);
        buf.put_u32(MAGIC);
        buf.put_i32(VERSION);
        buf.put_i64(self.last_zxid);
        buf.put_i32(self.sessions.len() as i32);
        for (id, timeout) in &self.sessions {
            buf.put_i64(*id);
            buf.put_i32(*timeout);
        }
        let acls: Vec<(u32, &[Acl])> = self.acls.iter().collect();
        buf.put_i32(acls.len() as i32);
        for (index, list) in acls {
            buf.put_i32(index as i32);
            list.to_vec().write(&mut buf);
        }
        // The count must be what the walk from `/` below writes: orphans are not written.
        let count = if self.orphans {
            self.reachable_count()
        } else {
            self.nodes.len()
        };
        buf.put_i64(count as i64);
        let mut failed = None;
        self.walk_from("/", |p, node| {
            if failed.is_some() {
                return;
            }
            crate::proto::jute::write_buffer(&mut buf, p.as_bytes());
            match node.data() {
                Some(d) => crate::proto::jute::write_buffer(&mut buf, d),
                None => buf.put_i32(-1),
            }
            buf.put_i32(node.acl as i32);
            let s = &node.stat;
            for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
                buf.put_i64(v);
            }
            for v in [s.version, s.cversion, s.aversion] {
                buf.put_i32(v);
            }
            buf.put_i64(s.ephemeral_owner);
            buf.put_i64(s.pzxid);
            if buf.len() >= CHUNK {
                if let Err(e) = out.write_all(&buf) {
                    failed = Some(e);
                }
                buf.clear();
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        out.write_all(&buf)
    }

    /// Nodes reachable from `/` through child links (every node, unless a delete orphaned some).
    fn reachable_count(&self) -> usize {
        let mut n = 0;
        self.walk_from("/", |_, _| n += 1);
        n
    }

    /// Rebuilds a tree from a snapshot body.
    pub fn read_snapshot(body: Bytes) -> Result<DataTree, DecodeError> {
        let mut r = Reader::new(body);
        if r.i32()? as u32 != MAGIC {
            return Err(DecodeError::Invalid(
                "not a zkserver tree snapshot (bad magic)",
            ));
        }
        if r.i32()? != VERSION {
            return Err(DecodeError::Invalid("unsupported tree snapshot version"));
        }
        let mut tree = DataTree::new();
        tree.nodes.clear();
        tree.acls = Default::default();
        tree.data_size = 0;
        tree.digest.reset();
        tree.last_zxid = r.i64()?;
        let sessions = r.count()?;
        for _ in 0..sessions {
            let id = r.i64()?;
            let timeout = r.i32()?;
            tree.sessions.insert(id, timeout);
        }
        let n_acls = r.count()?;
        let mut acls: HashMap<i32, Vec<Acl>> = HashMap::with_capacity(n_acls);
        for _ in 0..n_acls {
            let index = r.i32()?;
            acls.insert(index, Jute::read(&mut r)?);
        }
        let n_nodes = r.i64()?;
        if n_nodes < 0 {
            return Err(DecodeError::Invalid("negative node count"));
        }
        // Sized up front (no rehash while loading), but never beyond what the bytes left
        // could hold: the count comes from the file.
        let most = r.remaining() / MIN_NODE_BYTES;
        tree.nodes
            .reserve((n_nodes as u64).min(most as u64) as usize);
        // Two threads: this one parses, validates and digests records while the caller's
        // inserts them (the inserts are cache misses into a million-entry table; the two
        // halves cost about the same, so a restart takes about half as long on two cores).
        let digest_on = tree.digest.enabled();
        let (tx, rx) = std::sync::mpsc::sync_channel(LOAD_QUEUE_BATCHES);
        std::thread::scope(|scope| {
            scope.spawn(move || parse_nodes(r, n_nodes, most, digest_on, tx));
            // File ACL index → interned index: each list is hashed once, not once per node.
            let mut interned: HashMap<i32, u32> = HashMap::with_capacity(acls.len());
            for batch in rx {
                for mut rec in batch? {
                    let index = match interned.get(&rec.acl) {
                        Some(&i) => {
                            tree.acls.add_ref(i);
                            i
                        }
                        None => {
                            let list = acls
                                .get(&rec.acl)
                                .ok_or(DecodeError::Invalid("node names an unknown ACL"))?;
                            let i = tree.acls.intern(list);
                            interned.insert(rec.acl, i);
                            i
                        }
                    };
                    rec.node.acl = index;
                    let inserted = tree.insert_node(rec.node);
                    // A second record for a path would replace the node and cut its children off.
                    if inserted.replaced {
                        return Err(DecodeError::Invalid("path appears twice in snapshot"));
                    }
                    if !inserted.linked {
                        return Err(DecodeError::Invalid("node before its parent in snapshot"));
                    }
                }
            }
            Ok(())
        })?;
        if !tree.nodes.contains_key("/") {
            return Err(DecodeError::Invalid("snapshot has no root"));
        }
        tree.setup_quota();
        Ok(tree)
    }
}
