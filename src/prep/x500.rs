//! Whether an `x509` ACL id is a distinguished name, as ZooKeeper's
//! `X509AuthenticationProvider.isValid` decides by parsing it with Java's
//! `new X500Principal(id)` (RFC 2253/1779 syntax: `,` or `;` between RDNs, `+` inside one,
//! keywords or dotted OIDs, quoted, `#hex` or backslash-escaped values). Pure.

/// Keywords Java's X500Name parser accepts (case-insensitive).
const KEYWORDS: &[&str] = &[
    "CN",
    "C",
    "L",
    "S",
    "ST",
    "O",
    "OU",
    "T",
    "IP",
    "STREET",
    "DC",
    "DNQUALIFIER",
    "DNQ",
    "SURNAME",
    "GIVENNAME",
    "INITIALS",
    "GENERATION",
    "EMAILADDRESS",
    "UID",
    "SERIALNUMBER",
];

/// Splits `s` on unescaped, unquoted separators.
fn split(s: &str, seps: &[char]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && seps.contains(&c) {
            parts.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
}

fn valid_type(t: &str) -> bool {
    let t = t.trim();
    if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(t)) {
        return true;
    }
    let oid = t
        .strip_prefix("OID.")
        .or_else(|| t.strip_prefix("oid."))
        .unwrap_or(t);
    let arcs: Vec<&str> = oid.split('.').collect();
    arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_escapes(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(c) if b",=+<>#;\"\\ ".contains(c) => i += 2,
                Some(h)
                    if h.is_ascii_hexdigit() && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) =>
                {
                    i += 3
                }
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

fn valid_value(v: &str) -> bool {
    let v = v.trim();
    if let Some(hex) = v.strip_prefix('#') {
        return !hex.is_empty() && hex.len() % 2 == 0 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(inner) = v.strip_prefix('"') {
        return !inner.is_empty()
            && inner.ends_with('"')
            && valid_escapes(&inner[..inner.len() - 1]);
    }
    let mut escaped = false;
    for c in v.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, '<' | '>' | '"') {
            return false;
        }
    }
    valid_escapes(v)
}

/// `new X500Principal(id)` would not throw.
pub fn valid_x500_name(id: &str) -> bool {
    if id.trim().is_empty() {
        return true;
    }
    split(id, &[',', ';']).iter().all(|rdn| {
        split(rdn, &['+'])
            .iter()
            .all(|ava| match ava.split_once('=') {
                Some((t, v)) => valid_type(t) && valid_value(v),
                None => false,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case was run through Java 17's `new X500Principal(s)`.
    #[test]
    fn matches_java() {
        let ok = [
            "",
            "CN=a",
            "cn=a,o=b",
            "CN=a, O=b",
            "CN=a;O=b",
            "CN=a+UID=b,O=c",
            "CN=\"q,uoted\"",
            "CN=#0c0161",
            "2.5.4.3=x",
            "OID.2.5.4.3=x",
            "CN=a\\,b",
            "CN=",
            "EMAILADDRESS=x@y",
            "CN=a\\41",
            " CN = a ",
            "CN=a=b",
            "SERIALNUMBER=1,DNQ=x,SURNAME=s,GIVENNAME=g,INITIALS=i,GENERATION=g,T=t,IP=1.2.3.4,STREET=s,DC=d,DNQUALIFIER=q,S=s,ST=s",
            "CN=a#b",
            "1.2=x",
            "CN=a\nO=b",
        ];
        let bad = [
            "foo",
            "CN",
            "=a",
            "XX=a",
            "CN=a,",
            ",CN=a",
            "CN=a,,O=b",
            "E=x@y",
            "CN=a\\",
            "CN=a\\zz",
            "CN=#zz",
            "CN=\"unterminated",
            "CN=a+",
            "CN=a<b",
            "CN=a>b",
            "CN=a\"b",
            "1=x",
        ];
        for s in ok {
            assert!(valid_x500_name(s), "should be valid: {s:?}");
        }
        for s in bad {
            assert!(!valid_x500_name(s), "should be invalid: {s:?}");
        }
    }
}
