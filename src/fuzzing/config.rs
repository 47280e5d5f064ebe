//! zoo.cfg as `Config::parse_with_myid` reads it, with the `myid` file and `SERVER_JVMFLAGS`.
//!
//! Input: zoo.cfg bytes, then optionally a NUL and the `myid` text, then a NUL and the JVM
//! flags. The zoo.cfg bytes become text as `Config::load` reads a file (UTF-8, else Latin-1).
//! Properties: no panic and errors that render; the Java-properties layer reads back the same
//! entries from its own escaped output; every `server.N` line re-encodes (as `QuorumServer`
//! prints it) to a value that parses to the same server; the `conf` rendering works. Must not:
//! read files (the `myid` text is handed in).

use std::path::Path;

use crate::config::properties;
use crate::config::{parse_server, quorum_verifier_text, Config};

/// Escapes `s` so that `properties::parse` reads it back as it is (keys and values alike).
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '=' | ':' | ' ' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// zoo.cfg text from file bytes, as `Config::load` decodes them.
fn text_of(bytes: &[u8]) -> String {
    match String::from_utf8(bytes.to_vec()) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    }
}

pub fn check_zoo_cfg(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0);
    let text = text_of(parts.next().unwrap_or_default());
    let myid = parts
        .next()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let flags = parts
        .next()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    match properties::parse(&text) {
        Ok(entries) => {
            let mut again = String::new();
            for e in &entries {
                assert!(e.line >= 1);
                again.push_str(&escape_property(&e.key));
                again.push('=');
                again.push_str(&escape_property(&e.value));
                again.push('\n');
            }
            let back = properties::parse(&again).expect("escaped properties parse");
            let pairs = |v: &[properties::Entry]| -> Vec<(String, String)> {
                v.iter().map(|e| (e.key.clone(), e.value.clone())).collect()
            };
            assert_eq!(
                pairs(&back),
                pairs(&entries),
                "properties do not round-trip"
            );
        }
        Err(e) => assert!(e.line >= 1 && !e.msg.is_empty()),
    }
    let cfg =
        match Config::parse_with_myid(&text, Path::new("/fuzz/zoo.cfg"), &flags, myid.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        };
    let _ = cfg.conf_text(0, 0);
    let _ = cfg.is_distributed();
    let _ = cfg.me();
    for w in &cfg.warnings {
        let _ = w.to_string();
    }
    for s in cfg.servers.values() {
        let client = s
            .client_port
            .map(|p| (s.client_host.as_deref().unwrap_or("0.0.0.0"), p));
        let value = s.to_config_value(client);
        match parse_server(s.id, &value, 1) {
            Ok(back) => {
                assert_eq!(
                    (
                        &back.host,
                        back.quorum_port,
                        back.election_port,
                        back.peer_type
                    ),
                    (&s.host, s.quorum_port, s.election_port, s.peer_type),
                    "server.{} = {value} does not read back",
                    s.id
                );
                assert_eq!(back.client_port, s.client_port);
            }
            Err(e) => panic!(
                "server.{} prints as {value:?}, which does not parse: {e}",
                s.id
            ),
        }
    }
    let _ = quorum_verifier_text(cfg.servers.values(), 0);
}
