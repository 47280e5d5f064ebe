//! AuthPacket handling: ZooKeeper's digest provider (and superDigest) plus the implicit
//! `ip` identity every connection has.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::proto::records::Id;

/// `user:base64(sha1("user:password"))`, the digest id ZooKeeper derives from `user:password`.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or_default();
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The ids an auth packet adds, or `None` if the scheme has no provider (AUTHFAILED).
pub fn authenticate(scheme: &str, auth: &[u8], super_digest: Option<&str>) -> Option<Vec<Id>> {
    match scheme {
        "digest" => {
            let id = digest_id(&String::from_utf8_lossy(auth));
            let mut ids = vec![Id {
                scheme: "digest".into(),
                id: id.clone(),
            }];
            if super_digest == Some(id.as_str()) {
                ids.push(Id {
                    scheme: "super".into(),
                    id: String::new(),
                });
            }
            Some(ids)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Value from ZooKeeper's docs / DigestAuthenticationProvider.generateDigest("super:test").
    #[test]
    fn digest_matches_zookeeper() {
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }

    #[test]
    fn super_digest_grants_super() {
        let ids = authenticate(
            "digest",
            b"super:test",
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="),
        )
        .unwrap();
        assert_eq!(ids.len(), 2);
        assert!(authenticate("kerberos", b"x", None).is_none());
    }
}
