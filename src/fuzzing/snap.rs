//! Apache's database serialization as a learner receives it after SNAP: the resumable
//! [`SnapScanner`] that finds where the body ends on the socket, and
//! `DataTree::read_apache_snap` that builds the tree from it.
//!
//! Properties: the scanner gives the same answer however the body is split; scanner and reader
//! agree (a body the reader loads is the length the scanner found; a body the scanner still waits
//! for is truncated for the reader; a length the scanner refuses is refused by the reader too,
//! unless the reader stopped earlier on something only it checks: text, paths, parents); a
//! loaded tree writes back to a body that loads to the same tree, and survives our snapshot
//! format too; allocation is bounded by the bytes present. Must not: touch sockets or files.

use super::alloc;
use super::client::input_slack;
use crate::tree::apache_snap::{check_signature, ApacheSnapError};
use crate::tree::snap_scan::{ScanStatus, SnapScanner};
use crate::tree::DataTree;

/// The cap on strings and buffers for the checks (the quorum port's cap on a real server).
pub const FUZZ_MAX_LEN: usize = 64 * 1024;

/// The scanner's verdict with the body fed `chunk` bytes at a time.
pub fn scan(data: &[u8], chunk: usize) -> Result<ScanStatus, ApacheSnapError> {
    let mut s = SnapScanner::new(FUZZ_MAX_LEN);
    let mut status = ScanStatus::NeedMore;
    for piece in data.chunks(chunk.max(1)) {
        status = s.feed(piece)?;
        if let ScanStatus::Complete { len } = status {
            assert!(len <= data.len() as u64);
            assert_eq!(
                s.feed(b"more").ok(),
                Some(status),
                "a complete scan changed"
            );
            return Ok(status);
        }
    }
    assert_eq!(s.offset(), data.len() as u64);
    Ok(status)
}

/// Errors only the reader can raise: it checks text, paths and the tree's shape, the scanner
/// only the structure.
fn reader_only(e: &ApacheSnapError) -> bool {
    matches!(
        e,
        ApacheSnapError::BadUtf8 { .. }
            | ApacheSnapError::BadPath { .. }
            | ApacheSnapError::Duplicate { .. }
            | ApacheSnapError::NoParent { .. }
            | ApacheSnapError::NoRoot
    )
}

/// The same field refused for the same reason (the two name fields differently).
fn same_refusal(a: &ApacheSnapError, b: &ApacheSnapError) -> bool {
    use ApacheSnapError::{BadLength, Null};
    match (a, b) {
        (BadLength { offset: o, len: l }, BadLength { offset: p, len: m }) => o == p && l == m,
        (Null { offset: o, .. }, Null { offset: p, .. }) => o == p,
        _ => false,
    }
}

/// A SNAP body (what follows the SNAP packet, signature and all).
pub fn check_apache_snap(data: &[u8]) {
    alloc::reset();
    let read = DataTree::read_apache_snap(data, FUZZ_MAX_LEN, true);
    alloc::assert_within("SNAP body", input_slack(data.len()));
    let whole = scan(data, data.len());
    let split = scan(data, 1 + data.len() % 13);
    assert_eq!(
        whole, split,
        "the SNAP scanner depends on how the bytes arrive"
    );
    match (&read, &whole) {
        (Ok(load), Ok(ScanStatus::Complete { len })) => assert_eq!(load.len as u64, *len),
        (Ok(_), other) => panic!("the reader loads a body the scanner sees as {other:?}"),
        (Err(e), _) if reader_only(e) => {}
        (Err(ApacheSnapError::Truncated { .. }), Ok(ScanStatus::NeedMore)) => {}
        (Err(e), Err(s)) => assert!(
            same_refusal(e, s),
            "reader ({e:?}) and scanner ({s:?}) refuse different things"
        ),
        (Err(e), other) => panic!("the reader refuses ({e}) a body the scanner sees as {other:?}"),
    }
    if let Ok(ScanStatus::Complete { len }) = whole {
        let _ = check_signature(&data[len as usize..]);
    }
    let Ok(load) = read else {
        return;
    };
    let mut again = Vec::new();
    load.tree
        .write_apache_snap(&mut again)
        .expect("write to a Vec");
    let back = match DataTree::read_apache_snap(&again, FUZZ_MAX_LEN.max(again.len()), true) {
        Ok(b) => b,
        Err(e) => panic!("a SNAP body this tree wrote does not load: {e}"),
    };
    assert_eq!(back.len, again.len());
    if let Some(d) = load.tree.content_diff(&back.tree) {
        panic!("SNAP round trip changed the tree: {d}");
    }
    super::txn::check_tree_formats(&load.tree);
}
