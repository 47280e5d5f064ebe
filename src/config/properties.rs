//! Java `Properties.load` rules, keeping the line number each entry starts on: `#`/`!`
//! comment lines, `key=value`, `key: value` or `key value`, leading whitespace skipped,
//! backslash line continuation, and the `\t \n \r \f \uXXXX \c` escapes. Keys and values are then
//! trimmed, as ZooKeeper's `QuorumPeerConfig` does. Must not interpret any key.

/// One `key=value` entry and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A malformed escape, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub msg: String,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// True when `s` ends with an odd number of backslashes (the last one escapes the newline).
fn continues(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Split `text` into logical lines (comments and blank lines dropped, continuations joined),
/// each with the line number it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    // Java ends a natural line at \n, \r or \r\n.
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let pieces: Vec<&str> = normalized.split('\n').collect();
    let last = pieces.len() - 1;
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (idx, raw) in pieces.iter().enumerate() {
        let lineno = idx + 1;
        let body = raw.trim_start_matches(is_ws);
        let (start, mut acc) = match current.take() {
            Some(open) => open,
            None => {
                if body.is_empty() || body.starts_with('#') || body.starts_with('!') {
                    continue;
                }
                (lineno, String::new())
            }
        };
        if continues(body) {
            acc.push_str(&body[..body.len() - 1]);
            current = Some((start, acc));
        } else {
            acc.push_str(body);
            // Java's LineReader drops a joined line that is empty (`\` then a blank line),
            // except when the continued newline is the file's last character.
            if !acc.is_empty() || (idx == last && raw.is_empty()) {
                out.push((start, acc));
            }
        }
    }
    // A continuation on the last line simply ends the entry, even an empty one (as in Java).
    if let Some(open) = current {
        out.push(open);
    }
    out
}

/// Undo Java-properties escapes.
fn unescape(s: &str, line: usize) -> Result<String, SyntaxError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                // Four hex digits exactly, as Java checks them (`from_str_radix` alone would
                // also take a sign: `\u+00D`).
                let code = (hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| SyntaxError {
                        line,
                        msg: format!("malformed \\uxxxx escape: \\u{hex}"),
                    })?;
                // Lone surrogates cannot be represented in a Rust string; keep U+FFFD.
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
        }
    }
    Ok(out)
}

/// Split one logical line into raw (still escaped) key and value.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut rest_start = line.len();
    let mut has_sep = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' {
            key_end = i;
            rest_start = i + 1;
            has_sep = true;
            break;
        } else if is_ws(c) {
            key_end = i;
            rest_start = i + 1;
            break;
        }
    }
    let mut rest = &line[rest_start..];
    rest = rest.trim_start_matches(is_ws);
    if !has_sep {
        if let Some(stripped) = rest.strip_prefix(['=', ':']) {
            rest = stripped.trim_start_matches(is_ws);
        }
    }
    (&line[..key_end], rest)
}

/// Java's `String.trim()`, which `QuorumPeerConfig` applies to every key and value: it strips
/// the characters up to U+0020 (controls included) and nothing else, where Rust's `str::trim`
/// strips Unicode whitespace (U+00A0, U+3000, ...) and keeps controls such as U+0001.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Parse properties text. Later duplicates are kept too (the caller decides; Java's last wins).
pub fn parse(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut out = Vec::new();
    for (line, logical) in logical_lines(text) {
        let (k, v) = split_key_value(&logical);
        let key = java_trim(&unescape(k, line)?).to_string();
        let value = java_trim(&unescape(v, line)?).to_string();
        out.push(Entry { key, value, line });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value, e.line))
            .collect()
    }

    fn e(k: &str, v: &str, l: usize) -> (String, String, usize) {
        (k.to_string(), v.to_string(), l)
    }

    #[test]
    fn separators_comments_and_whitespace() {
        let text = "# comment\n! also comment\n\n  a=1\nb: 2\nc 3\nd = 4 \ne\t:\t5\nf\ng==x\n";
        assert_eq!(
            kv(text),
            vec![
                e("a", "1", 4),
                e("b", "2", 5),
                e("c", "3", 6),
                e("d", "4", 7),
                e("e", "5", 8),
                e("f", "", 9),
                e("g", "=x", 10),
            ]
        );
    }

    #[test]
    fn continuation_lines_join_and_keep_start_line() {
        let text = "x=1\nlist=a,\\\n    b,\\\n  # not a comment\nafter=2\n";
        assert_eq!(
            kv(text),
            vec![
                e("x", "1", 1),
                e("list", "a,b,# not a comment", 2),
                e("after", "2", 5)
            ]
        );
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        assert_eq!(kv("p=c:\\\\\nq=1"), vec![e("p", "c:\\", 1), e("q", "1", 2)]);
    }

    #[test]
    fn comment_lines_cannot_continue() {
        assert_eq!(kv("# a \\\nk=v"), vec![e("k", "v", 2)]);
    }

    #[test]
    fn escapes() {
        assert_eq!(kv("k\\=ey=a\\tb\\u0041\\q"), vec![e("k=ey", "a\tbAq", 1)]);
        assert_eq!(kv("sp\\ ace = v"), vec![e("sp ace", "v", 1)]);
        let err = parse("\n\nk=\\u12").unwrap_err();
        assert_eq!(err.line, 3);
        // Found by the zoo_cfg corpus run against Java's Properties: a sign is not a hex digit.
        assert!(parse("d\\u+00Dt").is_err());
        assert!(parse("d\\u-00Dt").is_err());
    }

    #[test]
    fn keys_and_values_are_trimmed_as_java_trims() {
        // A no-break space pasted after a path stays part of it (Apache keeps it); control
        // characters around a value go (Java's trim drops everything up to U+0020).
        assert_eq!(
            kv("dataDir=/var/zk\u{a0}\n\ninitLimit=\u{1} 5\u{1f}\nk=v\u{3000}"),
            vec![
                e("dataDir", "/var/zk\u{a0}", 1),
                e("initLimit", "5", 3),
                e("k", "v\u{3000}", 4)
            ]
        );
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        assert_eq!(
            kv("a=1\r\nb=2\rc=3"),
            vec![e("a", "1", 1), e("b", "2", 2), e("c", "3", 3)]
        );
    }

    #[test]
    fn trailing_continuation_at_eof() {
        assert_eq!(kv("a=1\\"), vec![e("a", "1", 1)]);
    }

    /// Found by the zoo_cfg corpus run against Java's Properties: a lone `\` continued onto a
    /// blank line made an entry with an empty key; Java drops a logical line that is empty.
    #[test]
    fn continued_empty_lines_are_no_entry() {
        // Each as Java 17's Properties.load reads it (checked with tests/zoo_cfg_java.rs).
        assert_eq!(
            kv("a=1\n\\\n\r\nb=2\n\\"),
            vec![e("a", "1", 1), e("b", "2", 4), e("", "", 5)]
        );
        assert_eq!(kv("\\\n"), vec![e("", "", 1)]);
        assert_eq!(kv("\\\n  "), vec![]);
        assert_eq!(kv("\\"), vec![e("", "", 1)]);
    }
}
