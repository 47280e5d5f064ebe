//! The server side of SASL DIGEST-MD5 (RFC 2831) as Apache ZooKeeper runs it through Java's
//! `DigestMD5Server`: for clients protocol `zookeeper`, server name and realm `zk-sasl-md5`;
//! between quorum members protocol `zookeeper-quorum`, server name and realm
//! `zk-quorum-sasl-md5` ([`Service`]); quality of protection `auth` only (no integrity or
//! confidentiality layer), UTF-8.
//!
//! Exchange: the client sends an empty token; the server answers with a challenge (realm,
//! nonce, qop, charset, algorithm); the client answers with its digest response; the server
//! checks it against the user's password and answers `rspauth=...`, and the exchange is
//! complete. Any failure is final for the connection, with Java's error text for the log.
//!
//! Pure: the nonce is given by the caller, passwords come through a lookup.

use md5::{Digest, Md5};

/// Java's `DigestMD5Server` realm and server name in Apache ZooKeeper.
pub const SERVER_NAME: &str = "zk-sasl-md5";
/// The digest-uri clients must send: `<protocol>/<server name>`.
pub const DIGEST_URI: &str = "zookeeper/zk-sasl-md5";

/// Who is authenticated to whom: the SASL protocol and server name Apache passes to Java's
/// `Sasl.createSaslServer`/`createSaslClient`. The server name is also the only realm offered,
/// and `<protocol>/<server name>` the digest-uri both sides must use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub protocol: &'static str,
    pub server_name: &'static str,
}

impl Service {
    /// Clients on the client port (`ZooKeeperSaslServer`).
    pub const CLIENT: Service = Service {
        protocol: "zookeeper",
        server_name: SERVER_NAME,
    };
    /// Quorum members (`QuorumAuth.QUORUM_SERVER_PROTOCOL_NAME` / `QUORUM_SERVER_SASL_DIGEST`).
    pub const QUORUM: Service = Service {
        protocol: "zookeeper-quorum",
        server_name: "zk-quorum-sasl-md5",
    };

    pub fn digest_uri(&self) -> String {
        format!("{}/{}", self.protocol, self.server_name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Challenged,
    Complete,
    Failed,
}

/// One connection's DIGEST-MD5 exchange.
#[derive(Debug, Clone)]
pub struct DigestMd5Server {
    step: Step,
    nonce: String,
    service: Service,
    authorization_id: Option<String>,
    /// The `authzid` directive the client sent, if any (Java's client sends its user name).
    requested_authzid: Option<String>,
}

/// A failed exchange: the text Java's `SaslException` carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SaslError(pub String);

pub(crate) fn fail(msg: &str) -> SaslError {
    SaslError(format!("DIGEST-MD5: {msg}"))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `key=value,key="quoted, value"` directives (RFC 2831 §7.1).
pub fn parse_directives(text: &[u8]) -> Result<Vec<(String, String)>, SaslError> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        let key = key.trim().to_ascii_lowercase();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(fail("digest response format violation. Unbalanced quotes"))
                    }
                    Some('"') => break,
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        if key.is_empty() {
            return Err(fail(
                "digest response format violation. Empty directive name",
            ));
        }
        out.push((key, value));
    }
}

/// `HEX(MD5(HEX(H(A1)) : nonce : nc : cnonce : qop : HEX(H(A2))))` with qop `auth`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn digest_response(
    user: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    cnonce: &str,
    authzid: Option<&str>,
    nc: &str,
    a2_prefix: &str,
    uri: &str,
) -> String {
    let secret = Md5::digest(format!("{user}:{realm}:{password}").as_bytes());
    let mut a1 = Md5::new();
    a1.update(secret);
    a1.update(format!(":{nonce}:{cnonce}").as_bytes());
    if let Some(z) = authzid {
        a1.update(format!(":{z}").as_bytes());
    }
    let ha1 = hex(&a1.finalize());
    let ha2 = hex(&Md5::digest(format!("{a2_prefix}:{uri}").as_bytes()));
    hex(&Md5::digest(
        format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}").as_bytes(),
    ))
}

impl DigestMd5Server {
    /// A new exchange with a client whose challenge will carry `nonce` (random, per
    /// connection).
    pub fn new(nonce: String) -> DigestMd5Server {
        Self::for_service(nonce, Service::CLIENT)
    }

    /// A new exchange for `service` (clients or quorum members).
    pub fn for_service(nonce: String, service: Service) -> DigestMd5Server {
        DigestMd5Server {
            step: Step::Start,
            nonce,
            service,
            authorization_id: None,
            requested_authzid: None,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.step == Step::Complete
    }

    /// The authenticated user (`sasl:<id>`), once complete.
    pub fn authorization_id(&self) -> Option<&str> {
        self.authorization_id.as_deref()
    }

    /// The `authzid` the client asked for (None when it sent none), once complete.
    pub fn requested_authzid(&self) -> Option<&str> {
        self.requested_authzid.as_deref()
    }

    /// Takes the client's next token; answers the server's token. `password` looks a user's
    /// password up (None: unknown user).
    pub fn evaluate(
        &mut self,
        token: &[u8],
        password: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<u8>, SaslError> {
        let result = match self.step {
            Step::Start => self.challenge(token),
            Step::Challenged => self.verify(token, password),
            Step::Complete => Err(fail("authentication already complete")),
            Step::Failed => Err(fail("authentication already failed")),
        };
        if result.is_err() {
            self.step = Step::Failed;
        }
        result
    }

    /// The first token's content is ignored, as Java's server ignores it (checked against
    /// Apache 3.8: a non-empty first token gets the challenge too).
    fn challenge(&mut self, _token: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.step = Step::Challenged;
        Ok(format!(
            "realm=\"{}\",nonce=\"{}\",charset=utf-8,algorithm=md5-sess",
            self.service.server_name, self.nonce
        )
        .into_bytes())
    }

    fn verify(
        &mut self,
        token: &[u8],
        password: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<u8>, SaslError> {
        let directives = parse_directives(token)?;
        let get = |k: &str| {
            directives
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let violation = |what: &str| fail(&format!("digest response format violation. {what}"));
        if let Some(cs) = get("charset") {
            if !cs.eq_ignore_ascii_case("utf-8") {
                return Err(violation("Incompatible charset"));
            }
        }
        let user = get("username").ok_or_else(|| violation("Missing username."))?;
        let realm = get("realm").unwrap_or("");
        let server_name = self.service.server_name;
        if !realm.is_empty() && realm != server_name {
            return Err(violation(&format!("Nonmatching realm: {realm}")));
        }
        if get("nonce") != Some(self.nonce.as_str()) {
            return Err(violation("Mismatched nonce."));
        }
        let cnonce = get("cnonce").ok_or_else(|| violation("Missing cnonce."))?;
        let nc = get("nc").unwrap_or("");
        if u32::from_str_radix(nc, 16) != Ok(1) {
            return Err(violation(&format!("Nonce count does not match: {nc}")));
        }
        let qop = get("qop").unwrap_or("auth");
        if qop != "auth" {
            return Err(fail(&format!(
                "digest response format violation. Invalid QOP: {qop}"
            )));
        }
        let uri = get("digest-uri").ok_or_else(|| violation("Missing digest-uri."))?;
        let want_uri = self.service.digest_uri();
        if !uri.eq_ignore_ascii_case(&want_uri) {
            return Err(violation(&format!(
                "Mismatched URI: {uri}; expecting: {want_uri}"
            )));
        }
        let response = get("response").ok_or_else(|| violation("Missing response."))?;
        let authzid = get("authzid").filter(|z| !z.is_empty());
        let Some(pass) = password(user) else {
            return Err(fail(&format!(
                "cannot acquire password for {user} in realm : {server_name}"
            )));
        };
        let expected = digest_response(
            user,
            realm,
            &pass,
            &self.nonce,
            cnonce,
            authzid,
            nc,
            "AUTHENTICATE",
            uri,
        );
        if !expected.eq_ignore_ascii_case(response) {
            return Err(violation("Mismatched response."));
        }
        // ZooKeeper's callback handler authorizes every authenticated user under the name it
        // authenticated with (an authzid does not change the id).
        self.authorization_id = Some(user.to_string());
        self.requested_authzid = authzid.map(str::to_string);
        self.step = Step::Complete;
        let rspauth = digest_response(
            user,
            realm,
            &pass,
            &self.nonce,
            cnonce,
            authzid,
            nc,
            "",
            uri,
        );
        Ok(format!("rspauth={rspauth}").into_bytes())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn users(u: &str) -> Option<String> {
        (u == "bob").then(|| "bobsecret".to_string())
    }

    /// A client response computed independently of `digest_response` (RFC 2831's formulas
    /// spelled out), as pure-sasl and Java's client compute it.
    fn client_response(user: &str, pass: &str, nonce: &str, cnonce: &str) -> String {
        let h = |s: &[u8]| Md5::digest(s).to_vec();
        let mut a1 = h(format!("{user}:{SERVER_NAME}:{pass}").as_bytes());
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        let ha1 = hex(&h(&a1));
        let ha2 = hex(&h(format!("AUTHENTICATE:{DIGEST_URI}").as_bytes()));
        let resp = hex(&h(
            format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}").as_bytes()
        ));
        format!(
            "charset=utf-8,username=\"{user}\",realm=\"{SERVER_NAME}\",nonce=\"{nonce}\",\
             nc=00000001,cnonce=\"{cnonce}\",digest-uri=\"{DIGEST_URI}\",maxbuf=65536,\
             response={resp},qop=auth"
        )
    }

    #[test]
    fn rfc2831_exchange_with_the_right_password() {
        let mut s = DigestMd5Server::new("N0nce".into());
        let challenge = s.evaluate(b"", users).unwrap();
        let c = parse_directives(&challenge).unwrap();
        assert!(c.contains(&("realm".into(), SERVER_NAME.into())));
        assert!(c.contains(&("nonce".into(), "N0nce".into())));
        // Java's server leaves qop out when it offers only `auth` (the default).
        assert!(!c.iter().any(|(k, _)| k == "qop"));
        let resp = client_response("bob", "bobsecret", "N0nce", "cn,o\"nce");
        let resp = resp.replace("cnonce=\"cn,o\"nce\"", "cnonce=\"cn,o\\\"nce\"");
        let rspauth = s.evaluate(resp.as_bytes(), users).unwrap();
        assert!(rspauth.starts_with(b"rspauth="));
        assert_eq!(rspauth.len(), 8 + 32);
        assert!(s.is_complete());
        assert_eq!(s.authorization_id(), Some("bob"));
        assert!(s.evaluate(b"", users).is_err());
    }

    #[test]
    fn rfc2831_example_values() {
        // RFC 2831 §4's IMAP example: chris / secret, realm elwood.innosoft.com.
        let got = {
            let secret = Md5::digest(b"chris:elwood.innosoft.com:secret");
            let mut a1 = Md5::new();
            a1.update(secret);
            a1.update(b":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk");
            let ha1 = hex(&a1.finalize());
            let ha2 = hex(&Md5::digest(b"AUTHENTICATE:imap/elwood.innosoft.com"));
            hex(&Md5::digest(
                format!("{ha1}:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:{ha2}").as_bytes(),
            ))
        };
        assert_eq!(got, "d388dad90d4bbd760a152321f2143af7");
        let ours = digest_response(
            "chris",
            "elwood.innosoft.com",
            "secret",
            "OA6MG9tEQGm2hh",
            "OA6MHXh6VqTrRk",
            None,
            "00000001",
            "AUTHENTICATE",
            "imap/elwood.innosoft.com",
        );
        assert_eq!(ours, got);
        let rspauth = digest_response(
            "chris",
            "elwood.innosoft.com",
            "secret",
            "OA6MG9tEQGm2hh",
            "OA6MHXh6VqTrRk",
            None,
            "00000001",
            "",
            "imap/elwood.innosoft.com",
        );
        assert_eq!(rspauth, "ea40f60335c427b5527b84dbabcdfffd");
    }

    #[test]
    fn wrong_password_unknown_user_and_bad_requests_fail() {
        let cases = [
            client_response("bob", "wrong", "N", "c"),
            client_response("eve", "bobsecret", "N", "c"),
            client_response("bob", "bobsecret", "other", "c"),
            client_response("bob", "bobsecret", "N", "c").replace(DIGEST_URI, "zookeeper/host"),
            client_response("bob", "bobsecret", "N", "c").replace("nc=00000001", "nc=00000002"),
            client_response("bob", "bobsecret", "N", "c").replace("qop=auth", "qop=auth-conf"),
            "username=\"bob".to_string(),
            "\u{0}\u{1}==,,=".to_string(),
        ];
        for resp in cases {
            let mut s = DigestMd5Server::new("N".into());
            s.evaluate(b"", users).unwrap();
            let e = s.evaluate(resp.as_bytes(), users).unwrap_err();
            assert!(e.0.starts_with("DIGEST-MD5: "), "{e}");
            assert!(!s.is_complete() && s.authorization_id().is_none());
            assert!(s.evaluate(b"", users).is_err(), "failed stays failed");
        }
        let mut s = DigestMd5Server::new("N".into());
        assert!(s.evaluate(b"x", users).unwrap().starts_with(b"realm="));
    }
}
