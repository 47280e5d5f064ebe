//! ACL input checks (ZooKeeper's `fixupACL`): dedup, expand `auth`, validate schemes.

use super::x500::valid_x500_name;
use crate::proto::records::{Acl, Id};
use crate::proto::ErrorCode;
use crate::tree::acl::valid_ip_pattern;

/// Validates and normalises an ACL list given with create/setACL by a session holding
/// `ids`. Known schemes: world:anyone, auth, digest, ip and x509 (a distinguished name, as
/// `X509AuthenticationProvider.isValid` checks it). Apache knows x509 only once its provider
/// is registered (a TLS client port is configured); zkserver always knows it, which only
/// makes a difference to servers without TLS, whose clients never hold an x509 id.
pub fn fixup(acl: &[Acl], ids: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    if acl.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let mut push = |a: Acl| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for a in acl {
        match a.id.scheme.as_str() {
            "world" if a.id.id == "anyone" => push(a.clone()),
            "auth" => {
                // Only ids from providers that authenticate (digest, x509) stand in for `auth`.
                let mut any = false;
                for held in ids
                    .iter()
                    .filter(|i| i.scheme == "digest" || i.scheme == "x509")
                {
                    push(Acl {
                        perms: a.perms,
                        id: held.clone(),
                    });
                    any = true;
                }
                if !any {
                    return Err(ErrorCode::InvalidAcl);
                }
            }
            "digest" if valid_digest_id(&a.id.id) => push(a.clone()),
            "ip" if valid_ip_pattern(&a.id.id) => push(a.clone()),
            "x509" if valid_x500_name(&a.id.id) => push(a.clone()),
            _ => return Err(ErrorCode::InvalidAcl),
        }
    }
    Ok(out)
}

/// `user:base64hash`, as DigestAuthenticationProvider.isValid requires.
fn valid_digest_id(id: &str) -> bool {
    id.split(':').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }
    }

    #[test]
    fn fixup_rules() {
        assert_eq!(fixup(&[], &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fixup(&[acl(31, "world", "someone")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[acl(31, "auth", "")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[acl(31, "nope", "x")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup(&[acl(31, "digest", "nocolon")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        let held = [
            Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            },
            Id {
                scheme: "digest".into(),
                id: "u:h".into(),
            },
        ];
        assert_eq!(
            fixup(&[acl(31, "auth", ""), acl(31, "digest", "u:h")], &held),
            Ok(vec![acl(31, "digest", "u:h")])
        );
        assert_eq!(
            fixup(&[acl(1, "ip", "10.0.0.0/8")], &[]),
            Ok(vec![acl(1, "ip", "10.0.0.0/8")])
        );
    }

    #[test]
    fn x509_ids_are_names_and_stand_in_for_auth() {
        assert_eq!(
            fixup(&[acl(1, "x509", "CN=a,O=b")], &[]),
            Ok(vec![acl(1, "x509", "CN=a,O=b")])
        );
        assert_eq!(
            fixup(&[acl(1, "x509", "not a name")], &[]),
            Err(ErrorCode::InvalidAcl)
        );
        let held = [
            Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            },
            Id {
                scheme: "super".into(),
                id: "CN=a".into(),
            },
            Id {
                scheme: "x509".into(),
                id: "CN=a".into(),
            },
        ];
        assert_eq!(
            fixup(&[acl(31, "auth", "")], &held),
            Ok(vec![acl(31, "x509", "CN=a")])
        );
    }
}
