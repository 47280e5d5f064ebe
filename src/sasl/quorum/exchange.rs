//! The two sides of one quorum SASL exchange, as Apache's `SaslQuorumAuthLearner` and
//! `SaslQuorumAuthServer` run it, one packet at a time (no sockets):
//!
//! ```text
//! learner → server  IN_PROGRESS ""              (DIGEST-MD5 has no initial response)
//! server  → learner IN_PROGRESS challenge
//! learner → server  IN_PROGRESS response
//! server  → learner SUCCESS rspauth=…           (or ERROR "" on any failure)
//! ```
//!
//! The learner checks `rspauth` (the server knows the password too) and is done; an ERROR, an
//! unknown status, or a SUCCESS that does not complete its login is a failure. The server
//! authorizes the user as Apache's `SaslQuorumServerCallbackHandler` does: the authorization id
//! must equal the authenticated one, and a `name/host@REALM` user's host must be a member's.
//! What happens to the connection after a failure is [`ServerPolicy`]'s business.

use super::packet::{QuorumAuthPacket, Status};
use crate::sasl::digest_client::DigestMd5Client;
use crate::sasl::digest_md5::{DigestMd5Server, Service};
use crate::sasl::SaslUsers;

/// A learner's credentials (the `QuorumLearner` section's `username` and `password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerLogin {
    pub user: String,
    pub password: String,
}

/// What the learner does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearnerStep {
    Send(QuorumAuthPacket),
    /// Authenticated: the connection carries the protocol from here on.
    Done,
}

/// The learner's side (the member that dialled).
#[derive(Debug, Clone)]
pub struct LearnerExchange {
    client: DigestMd5Client,
}

impl LearnerExchange {
    /// A new exchange and the packet that opens it.
    pub fn start(login: &LearnerLogin, cnonce: String) -> (LearnerExchange, QuorumAuthPacket) {
        let client = DigestMd5Client::new(Service::QUORUM, &login.user, &login.password, cnonce);
        let opening = QuorumAuthPacket::new(Status::InProgress, Some(Vec::new()));
        (LearnerExchange { client }, opening)
    }

    /// Takes the server's packet. Errors say why the login failed.
    pub fn on_packet(&mut self, p: &QuorumAuthPacket) -> Result<LearnerStep, String> {
        let token = p.token.as_deref();
        match p.status() {
            Status::Error => {
                Err("the server answered ERROR (wrong user or password, or not allowed)".into())
            }
            Status::InProgress => {
                let token = token.ok_or("the server's SASL token is null")?;
                match self.client.evaluate(token).map_err(|e| e.to_string())? {
                    Some(resp) => Ok(LearnerStep::Send(QuorumAuthPacket::new(
                        Status::InProgress,
                        Some(resp),
                    ))),
                    None => Err(
                        "the server never confirmed the completed login (status IN_PROGRESS)"
                            .into(),
                    ),
                }
            }
            Status::Success => {
                let token = token.ok_or("the server's SASL token is null")?;
                match self.client.evaluate(token).map_err(|e| e.to_string())? {
                    None if self.client.is_complete() => Ok(LearnerStep::Done),
                    _ => Err("Protocol error: attempting to send response after completion".into()),
                }
            }
        }
    }
}

/// What the server does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send and wait for the learner's next packet.
    Continue(QuorumAuthPacket),
    /// Send SUCCESS; `user` is authenticated and authorized.
    Authenticated {
        reply: QuorumAuthPacket,
        user: String,
    },
    /// Send ERROR; the login failed for `error`.
    Failed {
        reply: QuorumAuthPacket,
        error: String,
    },
}

/// The server's side (the member that accepted the connection).
#[derive(Debug, Clone)]
pub struct ServerExchange {
    digest: DigestMd5Server,
}

/// An ERROR packet (Apache sends an empty token with it).
fn error_packet() -> QuorumAuthPacket {
    QuorumAuthPacket::new(Status::Error, Some(Vec::new()))
}

impl ServerExchange {
    pub fn new(nonce: String) -> ServerExchange {
        ServerExchange {
            digest: DigestMd5Server::for_service(nonce, Service::QUORUM),
        }
    }

    /// Takes the learner's packet. `authz_hosts` are the members' host names.
    pub fn on_packet(
        &mut self,
        p: &QuorumAuthPacket,
        users: &SaslUsers,
        authz_hosts: &[String],
    ) -> ServerStep {
        let failed = |error: String| ServerStep::Failed {
            reply: error_packet(),
            error,
        };
        let token = p.token.as_deref().unwrap_or_default();
        let answer = match self.digest.evaluate(token, |u| users.password(u)) {
            Ok(a) => a,
            Err(e) => return failed(e.to_string()),
        };
        if !self.digest.is_complete() {
            return ServerStep::Continue(QuorumAuthPacket::new(Status::InProgress, Some(answer)));
        }
        let Some(user) = self.digest.authorization_id().map(str::to_string) else {
            return failed("DIGEST-MD5: no authenticated user".into());
        };
        if let Some(z) = self.digest.requested_authzid() {
            if z != user {
                return failed(format!(
                    "SASL authorization failed: {user} may not act as {z}"
                ));
            }
        }
        // `name/host@REALM`: the host must be one of the ensemble's.
        let parts: Vec<&str> = user.split(['/', '@']).collect();
        if parts.len() == 3 && !authz_hosts.iter().any(|h| h == parts[1]) {
            return failed(format!(
                "SASL authorization completed, {} is not authorized to connect",
                parts[1]
            ));
        }
        ServerStep::Authenticated {
            reply: QuorumAuthPacket::new(Status::Success, Some(answer)),
            user,
        }
    }
}

/// What the accepting member does with a connection whose learner did not authenticate
/// (`quorum.auth.serverRequireSasl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerPolicy {
    pub required: bool,
}

impl ServerPolicy {
    /// The learner sent no authentication packet: let it through unless SASL is required.
    pub fn without_auth(self) -> Result<(), String> {
        if self.required {
            Err("Learner not trying to authenticate and authentication is required".into())
        } else {
            Ok(())
        }
    }

    /// The learner's login failed (`error`): refused when SASL is required, else let through
    /// as Apache does ("Maintaining learner connection despite SASL authentication failure").
    pub fn after_failure(self, error: &str) -> Result<(), String> {
        if self.required {
            Err(format!("Failed to authenticate using SASL: {error}"))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sasl::jaas;

    fn users() -> SaslUsers {
        let file = jaas::parse(
            "QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required \
             user_test=\"test\" user_zk/host9@EX.COM=\"k\"; };",
        )
        .unwrap();
        SaslUsers::from_section(&file["QuorumServer"], None)
    }

    fn login(user: &str, password: &str) -> LearnerLogin {
        LearnerLogin {
            user: user.into(),
            password: password.into(),
        }
    }

    /// Runs both sides against each other; the server's last step.
    fn run(l: &LearnerLogin, hosts: &[String]) -> (ServerStep, Result<LearnerStep, String>) {
        let (mut learner, mut to_server) = LearnerExchange::start(l, "cn".into());
        let mut server = ServerExchange::new("nonce".into());
        let users = users();
        for _ in 0..5 {
            let step = server.on_packet(&to_server, &users, hosts);
            let reply = match &step {
                ServerStep::Continue(p) => p.clone(),
                ServerStep::Authenticated { reply, .. } | ServerStep::Failed { reply, .. } => {
                    let learned = learner.on_packet(reply);
                    return (step, learned);
                }
            };
            match learner.on_packet(&reply).unwrap() {
                LearnerStep::Send(p) => to_server = p,
                LearnerStep::Done => panic!("learner done before the server"),
            }
        }
        panic!("no end");
    }

    #[test]
    fn the_right_password_authenticates_both_ways_in_two_rounds() {
        let (step, learned) = run(&login("test", "test"), &[]);
        match step {
            ServerStep::Authenticated { reply, user } => {
                assert_eq!(user, "test");
                assert_eq!(reply.status(), Status::Success);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(learned, Ok(LearnerStep::Done));
    }

    #[test]
    fn a_wrong_password_or_unknown_user_gets_error_and_the_learner_fails() {
        for l in [login("test", "nope"), login("eve", "test")] {
            let (step, learned) = run(&l, &[]);
            let ServerStep::Failed { reply, error } = step else {
                panic!("{step:?}")
            };
            assert_eq!(reply.status(), Status::Error);
            assert_eq!(reply.token, Some(Vec::new()));
            assert!(error.starts_with("DIGEST-MD5"), "{error}");
            assert!(learned.unwrap_err().contains("ERROR"));
        }
    }

    #[test]
    fn a_kerberos_style_user_must_come_from_a_member_host() {
        let l = login("zk/host9@EX.COM", "k");
        let (step, _) = run(&l, &["host1".into()]);
        assert!(
            matches!(&step, ServerStep::Failed { error, .. } if error.contains("host9 is not authorized")),
            "{step:?}"
        );
        let (step, learned) = run(&l, &["host9".into()]);
        assert!(matches!(step, ServerStep::Authenticated { .. }), "{step:?}");
        assert_eq!(learned, Ok(LearnerStep::Done));
    }

    #[test]
    fn the_learner_refuses_answers_that_do_not_complete_its_login() {
        let (mut learner, _) = LearnerExchange::start(&login("test", "test"), "c".into());
        // SUCCESS before any challenge: its token is not a challenge the client can finish on.
        let early = QuorumAuthPacket::new(Status::Success, Some(b"rspauth=00".to_vec()));
        assert!(learner.on_packet(&early).is_err());
        let (mut learner, _) = LearnerExchange::start(&login("test", "test"), "c".into());
        assert!(learner
            .on_packet(&QuorumAuthPacket::new(Status::InProgress, None))
            .is_err());
        let (mut learner, _) = LearnerExchange::start(&login("test", "test"), "c".into());
        let unknown = QuorumAuthPacket {
            status: 5,
            ..QuorumAuthPacket::new(Status::InProgress, Some(Vec::new()))
        };
        assert!(learner.on_packet(&unknown).is_err());
    }

    #[test]
    fn the_server_policy_lets_unauthenticated_learners_through_only_when_not_required() {
        let lax = ServerPolicy { required: false };
        let strict = ServerPolicy { required: true };
        assert_eq!(lax.without_auth(), Ok(()));
        assert_eq!(lax.after_failure("x"), Ok(()));
        assert!(strict
            .without_auth()
            .unwrap_err()
            .contains("authentication is required"));
        assert!(strict.after_failure("bad").unwrap_err().contains("bad"));
    }
}
