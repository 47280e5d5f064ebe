//! ZooKeeper path rules (`PathUtils.validatePath`) and parent/child splitting.

/// Why a path is invalid (answered as BADARGUMENTS).
pub fn validate(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("Path length must be > 0");
    }
    if !path.starts_with('/') {
        return Err("Path must start with / character");
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("Path must not end with / character");
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err("empty node name specified"),
            "." | ".." => return Err("relative paths not allowed"),
            _ => {}
        }
    }
    if path.chars().any(invalid_char) {
        return Err("invalid character");
    }
    Ok(())
}

fn invalid_char(c: char) -> bool {
    // Surrogates (d800-dfff) cannot occur in a Rust string; the rest of the range is checked.
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// `/a/b` → (`/a`, `b`); `/a` → (`/`, `a`); the root has no parent.
pub fn split(path: &str) -> Option<(&str, &str)> {
    let idx = path.rfind('/')?;
    if path.len() <= 1 {
        return None;
    }
    let parent = if idx == 0 { "/" } else { &path[..idx] };
    Some((parent, &path[idx + 1..]))
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    let mut out = String::with_capacity(parent.len() + child.len() + 1);
    out.push_str(parent);
    if parent != "/" {
        out.push('/');
    }
    out.push_str(child);
    out
}

/// The proper ancestors of `path`, nearest first, ending with `/`.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut cur = path;
    std::iter::from_fn(move || {
        let (parent, _) = split(cur)?;
        cur = parent;
        Some(parent)
    })
}

/// Whether `path` is `prefix` or lies under it.
pub fn is_under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_path_utils() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/zookeeper", "/ü"] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//a",
            "/a//b",
            "/a/./b",
            "/..",
            "/a\u{0}",
            "/a\u{1}",
            "/\u{fff5}",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn split_join_and_ancestors() {
        assert_eq!(split("/a/b"), Some(("/a", "b")));
        assert_eq!(split("/a"), Some(("/", "a")));
        assert_eq!(split("/"), None);
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(
            ancestors("/a/b/c").collect::<Vec<_>>(),
            vec!["/a/b", "/a", "/"]
        );
        assert!(is_under("/a/b", "/a") && is_under("/a", "/a") && !is_under("/ab", "/a"));
    }
}
