//! What ZooKeeper reads out of a peer's certificate: the subject as the `x509` auth id (Java's
//! `X500Principal.getName()`, RFC 2253 form) and host name verification for the quorum
//! (Apache's `ZKHostnameVerifier`). Pure functions of the DER bytes.
//!
//! Must not: verify signatures or chains (rustls/webpki do that during the handshake).

use std::net::IpAddr;

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag, ToDer};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Java's RFC 2253 keywords (`AVAKeyword` entries marked RFC 2253 compliant); every other
/// attribute is written as its dotted OID with a `#hex` DER value.
const KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// The certificate's subject exactly as Java's `X500Principal.getName()` prints it: RDNs from
/// last to first, `,` between them, `+` inside a multi-valued RDN, values escaped as
/// `sun.security.x509.AVA.toRFC2253String` does.
pub fn subject_rfc2253(cert_der: &[u8]) -> Result<String, String> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| format!("bad certificate: {e}"))?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| ava_rfc2253(&ava.attr_type().to_id_string(), ava.attr_value()))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Ok(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

fn ava_rfc2253(oid: &str, value: &Any) -> String {
    let keyword = KEYWORDS.iter().find(|(o, _)| *o == oid).map(|(_, k)| *k);
    let text = keyword.and_then(|_| directory_string(value));
    match (keyword, text) {
        (Some(k), Some(s)) => format!("{k}={}", escape(&s)),
        // Java: a dotted OID, or a value of a non-string type, is `#` + the DER bytes in hex.
        (k, _) => {
            let der = value.to_der_vec().unwrap_or_default();
            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
            format!("{}=#{hex}", k.unwrap_or(oid))
        }
    }
}

/// The value of the string types Java treats as strings (`AVA.isDerString`, non-canonical).
fn directory_string(v: &Any) -> Option<String> {
    if v.class() != Class::Universal || v.header.is_constructed() {
        return None;
    }
    let data = v.data;
    match v.tag() {
        Tag::Utf8String => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::PrintableString | Tag::Ia5String | Tag::GeneralString => {
            Some(String::from_utf8_lossy(data).into_owned())
        }
        // Java reads T.61 bytes as ISO-8859-1.
        Tag::T61String => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// `AVA.toRFC2253String`'s escaping: `,=+<>#;"\` get a backslash, NUL becomes `\00`, and
/// leading or trailing spaces (and CRs) are escaped with a backslash.
fn escape(s: &str) -> String {
    const SPECIAL: &str = ",=+<>#;\"\\";
    let mut chars: Vec<String> = Vec::with_capacity(s.len());
    for c in s.chars() {
        if SPECIAL.contains(c) {
            chars.push(format!("\\{c}"));
        } else if c == '\0' {
            chars.push("\\00".into());
        } else {
            chars.push(c.to_string());
        }
    }
    let blank = |c: &String| c == " " || c == "\r";
    let lead = chars.iter().take_while(|c| blank(c)).count();
    let trail = chars.iter().rev().take_while(|c| blank(c)).count();
    let n = chars.len();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if i < lead || i >= n - trail.min(n - lead) {
            out.push('\\');
        }
        out.push_str(c);
    }
    out
}

/// Apache's `ZKHostnameVerifier.verify(host, cert)`: with DNS or IP subject alternative names,
/// an IP host must equal an IP SAN and a DNS host must match a DNS SAN (one wildcard in the
/// leftmost label, never spanning dots); without such SANs the subject's CN is compared.
pub fn verify_host(cert_der: &[u8], host: &str) -> Result<(), String> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| format!("bad certificate: {e}"))?;
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut dns: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    let host_ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if ips.is_empty() && dns.is_empty() {
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|a| directory_string(a.attr_value()))
            .ok_or_else(|| {
                format!("Certificate subject for <{host}> doesn't contain a common name and does not have alternative names")
            })?;
        return if wildcard_match(&host.to_lowercase(), &cn.to_lowercase()) {
            Ok(())
        } else {
            Err(format!(
                "Certificate for <{host}> doesn't match common name of the certificate subject: {cn}"
            ))
        };
    }
    let ok = match host_ip {
        Some(ip) => ips.contains(&ip),
        None => {
            let h = host.to_lowercase();
            dns.iter().any(|d| wildcard_match(&h, &d.to_lowercase()))
        }
    };
    if ok {
        Ok(())
    } else {
        let mut alts: Vec<String> = dns;
        alts.extend(ips.iter().map(IpAddr::to_string));
        Err(format!(
            "Certificate for <{host}> doesn't match any of the subject alternative names: [{}]",
            alts.join(", ")
        ))
    }
}

/// `matchIdentityStrict`: `*` only in the leftmost label, matching within that label.
fn wildcard_match(host: &str, pattern: &str) -> bool {
    let Some(star) = pattern.find('*') else {
        return host == pattern;
    };
    let first_dot = pattern.find('.').unwrap_or(pattern.len());
    if star > first_dot {
        return host == pattern;
    }
    let (prefix, rest) = pattern.split_at(star);
    let suffix = &rest[1..];
    host.len() >= prefix.len() + suffix.len()
        && host.starts_with(prefix)
        && host.ends_with(suffix)
        && !host[prefix.len()..host.len() - suffix.len()].contains('.')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_java() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b+c=d"), "a\\,b\\+c\\=d");
        assert_eq!(escape("#x<y>;\"q\"\\"), "\\#x\\<y\\>\\;\\\"q\\\"\\\\");
        assert_eq!(escape("  two  "), "\\ \\ two\\ \\ ");
        assert_eq!(escape("   "), "\\ \\ \\ ");
        assert_eq!(escape("nul\0"), "nul\\00");
        assert_eq!(escape("Grüße"), "Grüße");
    }

    fn cert(sans: &[&str], dn: &[(rcgen::DnType, rcgen::DnValue)]) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        let mut name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            name.push(t.clone(), v.clone());
        }
        params.distinguished_name = name;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    /// Expected strings are Java 17's `X500Principal.getName()` for the same subjects (the
    /// Python suite compares live certificates against Apache's `whoami` as well).
    #[test]
    fn subjects_print_as_java_does() {
        use rcgen::{DnType, DnValue};
        let printable = |s: &str| DnValue::PrintableString(s.try_into().unwrap());
        let der = cert(
            &[],
            &[
                (DnType::CountryName, printable("US")),
                (
                    DnType::OrganizationName,
                    DnValue::Utf8String("Acme, Inc.".into()),
                ),
                (
                    DnType::CommonName,
                    DnValue::Utf8String(" #1 a+b=c;d ".into()),
                ),
            ],
        );
        assert_eq!(
            subject_rfc2253(&der).unwrap(),
            "CN=\\ \\#1 a\\+b\\=c\\;d\\ ,O=Acme\\, Inc.,C=US"
        );
        // emailAddress has no RFC 2253 keyword: dotted OID and the DER value in hex.
        let der = cert(
            &[],
            &[
                (
                    DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
                    DnValue::Ia5String("c3@example.com".try_into().unwrap()),
                ),
                (DnType::CommonName, DnValue::Utf8String("Grüße".into())),
            ],
        );
        assert_eq!(
            subject_rfc2253(&der).unwrap(),
            "CN=Grüße,1.2.840.113549.1.9.1=#160e6333406578616d706c652e636f6d"
        );
        assert!(subject_rfc2253(b"not a certificate").is_err());
    }

    #[test]
    fn host_names_follow_zk_hostname_verifier() {
        use rcgen::{DnType, DnValue};
        let cn = |s: &str| vec![(DnType::CommonName, DnValue::Utf8String(s.into()))];
        let sans = cert(
            &["127.0.0.1", "*.zk.example", "::1"],
            &cn("ignored.example"),
        );
        assert!(verify_host(&sans, "127.0.0.1").is_ok());
        assert!(verify_host(&sans, "::1").is_ok());
        assert!(verify_host(&sans, "zk1.zk.example").is_ok());
        assert!(verify_host(&sans, "ZK1.ZK.EXAMPLE").is_ok());
        assert!(verify_host(&sans, "10.0.0.1").is_err());
        // With SANs the CN is never used.
        let e = verify_host(&sans, "ignored.example").unwrap_err();
        assert!(e.contains("subject alternative names"), "{e}");
        // Without SANs, the CN is.
        let plain = cert(&[], &cn("localhost"));
        assert!(verify_host(&plain, "localhost").is_ok());
        assert!(verify_host(&plain, "127.0.0.1").is_err());
        let none = cert(&[], &[]);
        let e = verify_host(&none, "localhost").unwrap_err();
        assert!(e.contains("doesn't contain a common name"), "{e}");
    }

    #[test]
    fn wildcards_are_strict() {
        assert!(wildcard_match("zk1.example.com", "*.example.com"));
        assert!(!wildcard_match("a.zk1.example.com", "*.example.com"));
        assert!(wildcard_match("zk1.example.com", "zk*.example.com"));
        assert!(!wildcard_match("zk1.example.com", "zk1.*.com"));
        assert!(wildcard_match("localhost", "localhost"));
    }
}
