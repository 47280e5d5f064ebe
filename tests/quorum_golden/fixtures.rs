//! Loading the captured bytes, and checks shared by both ports.

use std::path::{Path, PathBuf};

use bytes::Bytes;

/// jute.maxbuffer + extrasize defaults, as the quorum port enforces them.
pub(crate) const MAX: usize = 2 * 0xfffff;
/// `ustring "BenWasHere"` as LearnerHandler writes it after a SNAP body.
pub(crate) const SIGNATURE: &[u8] = b"\x00\x00\x00\x0aBenWasHere";

pub(crate) fn fixture_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/quorum")
        .join(sub)
}

/// `(stem, bytes)` of every `<stem><suffix>` in a fixture directory, sorted by name.
pub(crate) fn fixtures(sub: &str, suffix: &str) -> Vec<(String, Bytes)> {
    let dir = fixture_dir(sub);
    let mut out: Vec<(String, Bytes)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let stem = name.strip_suffix(suffix)?.to_string();
            Some((stem, Bytes::from(std::fs::read(&p).expect("fixture"))))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        !out.is_empty(),
        "no *{suffix} fixtures in {}",
        dir.display()
    );
    out
}

pub(crate) fn epoch(zxid: i64) -> i64 {
    zxid >> 32
}

pub(crate) fn counter(zxid: i64) -> i64 {
    zxid & 0xffff_ffff
}

/// `server.<id>=<host>:<quorumPort>:<electionPort>:participant|observer` lines, then
/// `version=0` (no trailing newline) — `QuorumMaj.toString()` for a static config.
pub(crate) fn check_config(at: &str, text: &str) {
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.last(), Some(&"version=0"), "{at}: {text:?}");
    assert!(lines.len() >= 4, "{at}: {text:?}");
    for line in &lines[..lines.len() - 1] {
        let (key, value) = line.split_once('=').expect("key=value");
        let id: u64 = key
            .strip_prefix("server.")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("{at}: {line}"));
        let parts: Vec<&str> = value.split(':').collect();
        assert_eq!(parts.len(), 4, "{at}: {line}");
        assert!(
            parts[0] == "127.0.0.1" || parts[0] == "0.0.0.0",
            "{at}: {line}"
        );
        for port in &parts[1..3] {
            port.parse::<u16>()
                .unwrap_or_else(|_| panic!("{at}: {line}"));
        }
        let role = if id == 4 { "observer" } else { "participant" };
        assert_eq!(parts[3], role, "{at}: {line}");
    }
}
