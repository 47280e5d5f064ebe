//! The client side of SASL DIGEST-MD5 (RFC 2831) as Java's `DigestMD5Client` runs it for an
//! Apache quorum learner (`SaslQuorumAuthLearner`): no initial response; the answer to the
//! server's challenge carries the user, the offered realm, a fresh cnonce, `nc=00000001`,
//! `qop=auth`, the service's digest-uri and `authzid` = the user (Java's client is created with
//! the user as authorization id); the server's `rspauth=` must match what the password gives,
//! which proves the server knows it too (mutual authentication).
//!
//! Pure: the cnonce is given by the caller.

use super::digest_md5::{digest_response, fail, parse_directives, SaslError, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Responded,
    Complete,
    Failed,
}

/// One DIGEST-MD5 login of `user`.
#[derive(Debug, Clone)]
pub struct DigestMd5Client {
    service: Service,
    user: String,
    password: String,
    cnonce: String,
    step: Step,
    /// The `rspauth` value the server must answer with.
    expected_rspauth: String,
}

/// `"value"` with `"` and `\` escaped (RFC 2831 quoted-string).
fn quoted(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl DigestMd5Client {
    pub fn new(service: Service, user: &str, password: &str, cnonce: String) -> DigestMd5Client {
        DigestMd5Client {
            service,
            user: user.to_string(),
            password: password.to_string(),
            cnonce,
            step: Step::Start,
            expected_rspauth: String::new(),
        }
    }

    pub fn is_complete(&self) -> bool {
        self.step == Step::Complete
    }

    /// Takes the server's next token. `Ok(Some(response))` is to be sent; `Ok(None)`: the
    /// server's `rspauth` checked out and the login is complete.
    pub fn evaluate(&mut self, token: &[u8]) -> Result<Option<Vec<u8>>, SaslError> {
        let result = match self.step {
            Step::Start => self.respond(token).map(Some),
            Step::Responded => self.check_rspauth(token).map(|()| None),
            Step::Complete => Err(fail("authentication already complete")),
            Step::Failed => Err(fail("authentication already failed")),
        };
        if result.is_err() {
            self.step = Step::Failed;
        }
        result
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let directives = parse_directives(challenge)?;
        let get = |k: &str| {
            directives
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let nonce = get("nonce").ok_or_else(|| fail("Missing nonce in challenge"))?;
        if let Some(qop) = get("qop") {
            if !qop.split(',').any(|q| q.trim() == "auth") {
                return Err(fail(&format!(
                    "No common protection layer between client and server (server offers {qop})"
                )));
            }
        }
        match get("algorithm") {
            Some(a) if a.eq_ignore_ascii_case("md5-sess") => {}
            other => {
                return Err(fail(&format!(
                    "Invalid algorithm in challenge: {}",
                    other.unwrap_or("(none)")
                )))
            }
        }
        // Java's client takes the first realm offered (the callback's default).
        let realm = get("realm").unwrap_or("").to_string();
        let uri = self.service.digest_uri();
        let nc = "00000001";
        let (user, pass, cnonce) = (&self.user, &self.password, &self.cnonce);
        let response = digest_response(
            user,
            &realm,
            pass,
            nonce,
            cnonce,
            Some(user),
            nc,
            "AUTHENTICATE",
            &uri,
        );
        self.expected_rspauth =
            digest_response(user, &realm, pass, nonce, cnonce, Some(user), nc, "", &uri);
        let charset = if get("charset").is_some_and(|c| c.eq_ignore_ascii_case("utf-8")) {
            "charset=utf-8,"
        } else {
            ""
        };
        self.step = Step::Responded;
        Ok(format!(
            "{charset}username={},realm={},nonce={},nc={nc},cnonce={},digest-uri={},maxbuf=65536,response={response},qop=auth,authzid={}",
            quoted(user),
            quoted(&realm),
            quoted(nonce),
            quoted(cnonce),
            quoted(&uri),
            quoted(user),
        )
        .into_bytes())
    }

    fn check_rspauth(&mut self, token: &[u8]) -> Result<(), SaslError> {
        let directives = parse_directives(token)?;
        let got = directives
            .iter()
            .find(|(k, _)| k == "rspauth")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| fail("Missing rspauth in the server's final answer"))?;
        if !got.eq_ignore_ascii_case(&self.expected_rspauth) {
            return Err(fail(
                "Server's rspauth value does not match what client expects",
            ));
        }
        self.step = Step::Complete;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sasl::DigestMd5Server;

    fn users(u: &str) -> Option<String> {
        (u == "test").then(|| "secret".to_string())
    }

    #[test]
    fn logs_in_to_our_server_for_both_services() {
        for service in [Service::QUORUM, Service::CLIENT] {
            let mut server = DigestMd5Server::for_service("n0nce".into(), service);
            let mut client = DigestMd5Client::new(service, "test", "secret", "cn\"x".into());
            let challenge = server.evaluate(b"", users).unwrap();
            let response = client.evaluate(&challenge).unwrap().unwrap();
            let text = String::from_utf8(response.clone()).unwrap();
            assert!(
                text.contains(&format!("digest-uri=\"{}\"", service.digest_uri())),
                "{text}"
            );
            assert!(text.contains("authzid=\"test\""), "{text}");
            let rspauth = server.evaluate(&response, users).unwrap();
            assert_eq!(server.authorization_id(), Some("test"));
            assert_eq!(server.requested_authzid(), Some("test"));
            assert_eq!(client.evaluate(&rspauth).unwrap(), None);
            assert!(client.is_complete());
        }
    }

    #[test]
    fn wrong_password_or_service_is_refused_and_a_forged_rspauth_is_caught() {
        let mut server = DigestMd5Server::for_service("n".into(), Service::QUORUM);
        let mut client = DigestMd5Client::new(Service::QUORUM, "test", "wrong", "c".into());
        let resp = client
            .evaluate(&server.evaluate(b"", users).unwrap())
            .unwrap()
            .unwrap();
        let e = server.evaluate(&resp, users).unwrap_err();
        assert!(e.0.contains("Mismatched response"), "{e}");

        // A client of the client port cannot log in to the quorum service.
        let mut server = DigestMd5Server::for_service("n".into(), Service::QUORUM);
        let mut client = DigestMd5Client::new(Service::CLIENT, "test", "secret", "c".into());
        let resp = client
            .evaluate(&server.evaluate(b"", users).unwrap())
            .unwrap()
            .unwrap();
        assert!(server.evaluate(&resp, users).is_err());

        // A server that does not know the password cannot fake the final answer.
        let mut client = DigestMd5Client::new(Service::QUORUM, "test", "secret", "c".into());
        let challenge =
            b"realm=\"zk-quorum-sasl-md5\",nonce=\"n\",charset=utf-8,algorithm=md5-sess";
        client.evaluate(challenge).unwrap().unwrap();
        let e = client
            .evaluate(b"rspauth=00000000000000000000000000000000")
            .unwrap_err();
        assert!(e.0.contains("rspauth"), "{e}");
        assert!(client.evaluate(b"").is_err(), "failed stays failed");
    }

    #[test]
    fn challenges_it_cannot_answer_fail() {
        for challenge in [
            &b"realm=\"r\",charset=utf-8,algorithm=md5-sess"[..],
            b"realm=\"r\",nonce=\"n\",qop=\"auth-conf\",algorithm=md5-sess",
            b"realm=\"r\",nonce=\"n\",algorithm=md5",
            b"\"unbalanced",
        ] {
            let mut client = DigestMd5Client::new(Service::QUORUM, "u", "p", "c".into());
            assert!(client.evaluate(challenge).is_err(), "{challenge:?}");
        }
    }
}
