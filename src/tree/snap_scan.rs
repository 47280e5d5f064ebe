//! Finds where an Apache SNAP body ends while it arrives: the body (see `apache_snap`) has no
//! length prefix, so a learner reading it from a socket must follow its structure to know
//! when the terminator `"/"` has come (the signature follows it).
//!
//! [`SnapScanner`] is fed successive chunks and answers "need more" or "complete after N
//! bytes". It keeps O(1) state (at most 8 pending bytes of a number) and touches each byte
//! once, so feeding a body in any split costs O(body). Lengths are checked against the cap as
//! soon as they are read, before anything could be allocated for them.
//!
//! Owns: structure only. Must not build the tree (that is `DataTree::read_apache_snap`).

use super::apache_snap::ApacheSnapError;

/// What the scanner knows after a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    NeedMore,
    /// The body is complete: it is the first `len` bytes fed (terminator included).
    Complete {
        len: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SessionCount,
    AclCount,
    AclId,
    AclVector,
    AclPerms,
    /// `n` strings of the current ACL still to read (scheme, id).
    AclString(u8),
    NodePath,
    /// The one byte of a 1-byte path: `/` ends the body.
    PathByte,
    NodeData,
    Done,
}

/// Incremental structural parser of a SNAP body.
#[derive(Debug, Clone)]
pub struct SnapScanner {
    state: State,
    max_len: usize,
    /// Bytes of the current fixed-size field gathered so far.
    pending: [u8; 8],
    have: usize,
    /// Bytes to pass over before the next field.
    skip: u64,
    acls_left: i64,
    entries_left: i64,
    /// Bytes consumed so far.
    offset: u64,
}

impl SnapScanner {
    /// A scanner refusing strings and buffers longer than `max_len` (see
    /// `apache_snap::DEFAULT_MAX_LEN`).
    pub fn new(max_len: usize) -> Self {
        SnapScanner {
            state: State::SessionCount,
            max_len,
            pending: [0; 8],
            have: 0,
            skip: 0,
            acls_left: 0,
            entries_left: 0,
            offset: 0,
        }
    }

    /// Bytes consumed so far (all of them once complete: the body's length).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Feeds the next chunk. Once complete, later chunks are not looked at and the same
    /// answer is returned; bytes of `chunk` past the body belong to what follows it.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<ScanStatus, ApacheSnapError> {
        let mut pos = 0;
        while self.state != State::Done {
            if self.skip > 0 {
                let n = self.skip.min((chunk.len() - pos) as u64);
                pos += n as usize;
                self.offset += n;
                self.skip -= n;
                if self.skip > 0 {
                    return Ok(ScanStatus::NeedMore);
                }
                continue;
            }
            let need = self.field_len();
            let n = (need - self.have).min(chunk.len() - pos);
            self.pending[self.have..self.have + n].copy_from_slice(&chunk[pos..pos + n]);
            self.have += n;
            pos += n;
            self.offset += n as u64;
            if self.have < need {
                return Ok(ScanStatus::NeedMore);
            }
            self.have = 0;
            self.step(need)?;
        }
        Ok(ScanStatus::Complete { len: self.offset })
    }

    fn field_len(&self) -> usize {
        match self.state {
            State::AclId => 8,
            State::PathByte => 1,
            _ => 4,
        }
    }

    fn int(&self) -> i32 {
        i32::from_be_bytes([
            self.pending[0],
            self.pending[1],
            self.pending[2],
            self.pending[3],
        ])
    }

    /// Offset of the field just read (for error messages).
    fn field_offset(&self, len: usize) -> usize {
        (self.offset as usize).saturating_sub(len)
    }

    /// A length field: -1 (null) is allowed only where `nullable`.
    fn length(&self, nullable: bool, what: &'static str) -> Result<u64, ApacheSnapError> {
        let len = self.int();
        let offset = self.field_offset(4);
        match len {
            -1 if nullable => Ok(0),
            -1 => Err(ApacheSnapError::Null { what, offset }),
            n if n < 0 || n as usize > self.max_len => Err(ApacheSnapError::BadLength {
                offset,
                len: n.into(),
            }),
            n => Ok(n as u64),
        }
    }

    /// One ACL entry finished: the next entry, or the nodes.
    fn next_acl_entry(&mut self) {
        self.acls_left -= 1;
        self.state = if self.acls_left > 0 {
            State::AclId
        } else {
            State::NodePath
        };
    }

    fn step(&mut self, len: usize) -> Result<(), ApacheSnapError> {
        match self.state {
            State::SessionCount => {
                // Apache reads `while (count > 0)`: a negative count means none.
                self.skip = 12 * u64::from(self.int().max(0) as u32);
                self.state = State::AclCount;
            }
            State::AclCount => {
                self.acls_left = i64::from(self.int());
                self.state = if self.acls_left > 0 {
                    State::AclId
                } else {
                    State::NodePath
                };
            }
            State::AclId => self.state = State::AclVector,
            State::AclVector => {
                let count = self.int();
                if count == -1 {
                    return Err(ApacheSnapError::Null {
                        what: "ACL vector",
                        offset: self.field_offset(len),
                    });
                }
                self.entries_left = i64::from(count.max(0));
                if self.entries_left > 0 {
                    self.state = State::AclPerms;
                } else {
                    self.next_acl_entry();
                }
            }
            State::AclPerms => self.state = State::AclString(2),
            State::AclString(n) => {
                self.skip = self.length(false, "ACL string")?;
                if n > 1 {
                    self.state = State::AclString(n - 1);
                } else {
                    self.entries_left -= 1;
                    if self.entries_left > 0 {
                        self.state = State::AclPerms;
                    } else {
                        self.next_acl_entry();
                    }
                }
            }
            State::NodePath => {
                let n = self.length(false, "path")?;
                if n == 1 {
                    self.state = State::PathByte;
                } else {
                    self.skip = n;
                    self.state = State::NodeData;
                }
            }
            State::PathByte => {
                self.state = if self.pending[0] == b'/' {
                    State::Done
                } else {
                    State::NodeData
                };
            }
            State::NodeData => {
                // data, then `long aclId` and the 60-byte StatPersisted.
                self.skip = self.length(true, "data")? + 8 + 60;
                self.state = State::NodePath;
            }
            State::Done => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::apache_snap::DEFAULT_MAX_LEN;

    fn body() -> Vec<u8> {
        let mut tree = crate::tree::DataTree::new();
        tree.sessions.insert(7, 4000);
        let mut out = Vec::new();
        tree.write_apache_snap(&mut out).unwrap();
        out
    }

    #[test]
    fn finds_the_end_in_any_split() {
        let mut b = body();
        let len = b.len() as u64;
        crate::tree::apache_snap::write_signature(&mut b);
        for split in [1, 2, 3, 7, 13, 64, b.len()] {
            let mut s = SnapScanner::new(DEFAULT_MAX_LEN);
            let mut done = None;
            for chunk in b.chunks(split) {
                if let ScanStatus::Complete { len } = s.feed(chunk).unwrap() {
                    done = Some(len);
                    break;
                }
            }
            assert_eq!(done, Some(len), "chunks of {split}");
            assert_eq!(s.feed(b"more").unwrap(), ScanStatus::Complete { len });
        }
        let mut s = SnapScanner::new(DEFAULT_MAX_LEN);
        assert_eq!(
            s.feed(&b[..len as usize - 1]).unwrap(),
            ScanStatus::NeedMore
        );
    }

    #[test]
    fn refuses_huge_and_null_lengths_before_reading_them() {
        // no sessions, no ACLs, then a path claiming 2 GiB.
        let mut b = vec![0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
        let err = SnapScanner::new(DEFAULT_MAX_LEN).feed(&b).unwrap_err();
        assert!(matches!(err, ApacheSnapError::BadLength { offset: 8, .. }));
        let mut b = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        b.extend_from_slice(&(-1i32).to_be_bytes());
        let err = SnapScanner::new(DEFAULT_MAX_LEN).feed(&b).unwrap_err();
        assert!(matches!(err, ApacheSnapError::Null { offset: 16, .. }));
        let b = [0u8, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(SnapScanner::new(DEFAULT_MAX_LEN).feed(&b).is_err());
    }
}
