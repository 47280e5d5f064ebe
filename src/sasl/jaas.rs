//! JAAS login configuration files (the `java.security.auth.login.config` file Apache
//! ZooKeeper reads), parsed the way Java's `ConfigFile` reads them:
//!
//! ```text
//! Server {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     user_super="adminsecret"
//!     user_bob="bobsecret";
//! };
//! ```
//!
//! Sections of login-module entries (`class flag key=value ... ;`), values bare words or
//! double-quoted strings with backslash escapes, `//` and `/* */` comments. Pure: the caller
//! reads the file.

use std::collections::BTreeMap;

/// One `LoginModule` line of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginEntry {
    pub module: String,
    pub flag: String,
    pub options: BTreeMap<String, String>,
}

/// Every section of a file, by name.
pub type JaasFile = BTreeMap<String, Vec<LoginEntry>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

/// A syntax error, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct JaasError {
    pub line: usize,
    pub msg: String,
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, JaasError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let start = line;
                let mut prev = ' ';
                loop {
                    let Some(c) = chars.next() else {
                        return Err(JaasError {
                            line: start,
                            msg: "unterminated /* comment".into(),
                        });
                    };
                    if c == '\n' {
                        line += 1;
                    }
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '{' | '}' | ';' | '=' => out.push((Token::Punct(c), line)),
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(JaasError {
                                line: start,
                                msg: "unterminated quoted string".into(),
                            })
                        }
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => {}
                        },
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            s.push(c)
                        }
                    }
                }
                out.push((Token::Quoted(s), line));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '{' | '}' | ';' | '=' | '"') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push((Token::Word(s), line));
            }
        }
    }
    Ok(out)
}

/// Parses a whole JAAS file.
pub fn parse(text: &str) -> Result<JaasFile, JaasError> {
    let tokens = tokenize(text)?;
    let mut it = tokens.into_iter().peekable();
    let mut file = JaasFile::new();
    let last_line = text.lines().count().max(1);
    let err = |line: usize, msg: &str| JaasError {
        line,
        msg: msg.to_string(),
    };
    while let Some((tok, line)) = it.next() {
        let name = match tok {
            Token::Word(w) | Token::Quoted(w) => w,
            Token::Punct(c) => {
                return Err(err(line, &format!("expected a section name, got '{c}'")))
            }
        };
        match it.next() {
            Some((Token::Punct('{'), _)) => {}
            other => {
                let l = other.map_or(last_line, |(_, l)| l);
                return Err(err(l, &format!("expected '{{' after section name {name}")));
            }
        }
        let mut entries = Vec::new();
        loop {
            let (tok, line) = it
                .next()
                .ok_or_else(|| err(last_line, &format!("section {name} is not closed")))?;
            let module = match tok {
                Token::Punct('}') => break,
                Token::Word(w) => w,
                _ => return Err(err(line, "expected a login module class name")),
            };
            let flag = match it.next() {
                Some((Token::Word(w), _)) => w,
                other => {
                    let l = other.map_or(last_line, |(_, l)| l);
                    return Err(err(l, &format!("expected a control flag after {module}")));
                }
            };
            if !matches!(
                flag.to_ascii_lowercase().as_str(),
                "required" | "requisite" | "sufficient" | "optional"
            ) {
                return Err(err(line, &format!("invalid control flag {flag}")));
            }
            let mut options = BTreeMap::new();
            loop {
                match it.next() {
                    Some((Token::Punct(';'), _)) => break,
                    Some((Token::Word(key), l)) => {
                        if !matches!(it.next(), Some((Token::Punct('='), _))) {
                            return Err(err(l, &format!("expected '=' after option {key}")));
                        }
                        let value = match it.next() {
                            Some((Token::Word(v) | Token::Quoted(v), _)) => v,
                            _ => return Err(err(l, &format!("option {key} has no value"))),
                        };
                        options.insert(key, value);
                    }
                    Some((_, l)) => return Err(err(l, "expected an option or ';'")),
                    None => return Err(err(last_line, "login module entry not ended by ';'")),
                }
            }
            entries.push(LoginEntry {
                module,
                flag,
                options,
            });
        }
        // The ';' after '}' is required by Java's parser.
        match it.next() {
            Some((Token::Punct(';'), _)) => {}
            other => {
                let l = other.map_or(last_line, |(_, l)| l);
                return Err(err(l, &format!("expected ';' after section {name}")));
            }
        }
        file.entry(name).or_default().extend(entries);
    }
    Ok(file)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn apache_docs_example() {
        let text = r#"
// the server's users
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bob\"secret";
};
/* the client
   side */
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username=bob
       password="bobsecret";
};
"#;
        let f = parse(text).unwrap();
        let server = &f["Server"][0];
        assert_eq!(
            server.module,
            "org.apache.zookeeper.server.auth.DigestLoginModule"
        );
        assert_eq!(server.flag, "required");
        assert_eq!(server.options["user_super"], "adminsecret");
        assert_eq!(server.options["user_bob"], "bob\"secret");
        assert_eq!(f["Client"][0].options["username"], "bob");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("Server {\n  Mod required\n  user_a=\"x\"\n};").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(parse("Server {\n Mod sometimes;\n};").unwrap_err().line == 2);
        assert!(parse("Server {\n Mod required user_a;\n};").is_err());
        assert!(parse("Server {\n Mod required;\n}").is_err());
        assert!(parse("Server { Mod required user=\"open").is_err());
        assert_eq!(parse("").unwrap(), JaasFile::new());
    }
}
