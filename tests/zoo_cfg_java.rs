//! zoo.cfg's Java-properties layer side by side with Java's own `java.util.Properties` plus
//! `String.trim()` (what `QuorumPeerConfig.parseProperties` does), over hand-picked cases and
//! every input of the zoo_cfg fuzz corpus: the entries (key, value) must be the same, and a
//! malformed `\uXXXX` must be refused by both. Needs java + javac
//! (`tests/fixtures/java/PropertiesDump.java`); skips loudly without them, fails with CI=true.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use zkserver::config::properties;

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("`{tool}` is missing (CI=true)");
    }
    ok
}

/// As PropertiesDump.java prints text: printable ASCII as is, anything else as `\u{hex}`.
fn esc(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (' '..='~').contains(&c) && c != '\\' {
                c.to_string()
            } else {
                format!("\\u{{{:x}}}", c as u32)
            }
        })
        .collect()
}

/// zoo.cfg bytes as zkserver reads them (UTF-8, else Latin-1).
fn text_of(bytes: &[u8]) -> String {
    match String::from_utf8(bytes.to_vec()) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    }
}

/// Our lines for one file, or `None` when two entries trim to the same key (Java keeps the one
/// its hash map iterates last, which no parser can reproduce).
fn ours(name: &str, text: &str) -> Option<Vec<String>> {
    let entries = match properties::parse(text) {
        Ok(e) => e,
        Err(_) => return Some(vec![format!("{name}\tERROR")]),
    };
    let mut map = BTreeMap::new();
    for e in entries {
        if map.insert(e.key.clone(), e.value).is_some() {
            return None;
        }
    }
    let mut lines: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{name}\t{}\t{}", esc(k), esc(v)))
        .collect();
    lines.sort();
    Some(lines)
}

fn cases() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        "dataDir=/var/zk\u{a0}\n\ninitLimit=\u{1} 5\u{1f}\nk=v\u{3000}\n",
        "# c\n! c\n  a=1\nb: 2\nc 3\nd = 4 \ne\t:\t5\nf\ng==x\n",
        "x=1\nlist=a,\\\n    b,\\\n  # not a comment\nafter=2\n",
        "p=c:\\\\\nq=1",
        "k\\=ey=a\\tb\\u0041\\q\nsp\\ ace = v\n",
        "a=1\r\nb=2\rc=3",
        "a=1\\",
        "bad=\\u12",
        "server.1=127.0.0.1:2888:3888;2181\nserver.2 [::1]:2889:3889:observer\n",
        "  \\  lead=\\  v \\ \n",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| (format!("case{i}"), t.to_string()))
    .collect();
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/zoo_cfg");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    assert!(files.len() >= 2, "fuzz/corpus/zoo_cfg is missing");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let cfg = bytes.split(|b| *b == 0).next().unwrap_or_default();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, text_of(cfg)));
    }
    out
}

#[test]
fn properties_read_as_java_reads_them() {
    if !have("java") || !have("javac") {
        eprintln!("SKIPPED: java/javac are not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/java/PropertiesDump.java");
    let javac = Command::new("javac")
        .arg("-d")
        .arg(dir.path())
        .arg(&src)
        .status()
        .unwrap();
    assert!(javac.success());
    let mut want = Vec::new();
    let mut args = Vec::new();
    for (name, text) in cases() {
        let Some(lines) = ours(&name, &text) else {
            continue;
        };
        std::fs::write(dir.path().join(&name), text.as_bytes()).unwrap();
        args.push(name);
        want.extend(lines);
    }
    let out = Command::new("java")
        .arg("-cp")
        .arg(dir.path())
        .arg("PropertiesDump")
        .args(&args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut by_file: BTreeMap<&str, (Vec<&String>, Vec<&String>)> = BTreeMap::new();
    for l in &want {
        by_file
            .entry(l.split('\t').next().unwrap())
            .or_default()
            .0
            .push(l);
    }
    for l in &got {
        by_file
            .entry(l.split('\t').next().unwrap())
            .or_default()
            .1
            .push(l);
    }
    for (file, (ours, java)) in &by_file {
        assert_eq!(
            ours, java,
            "{file} reads differently from Java's Properties"
        );
    }
    eprintln!("{} files read as Java reads them", args.len());
}
