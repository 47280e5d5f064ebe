//! Quorum SASL on a member connection (`quorum.auth.*`), where Apache runs it: the dialling
//! member ("learner") right after its election-port initial message and, on the quorum port,
//! before its first packet; the accepting member ("server") right after reading the initial
//! message, or first thing on the quorum port. The exchange itself is `sasl::quorum`'s pure
//! state machine; this module moves its packets and applies the timeouts.
//!
//! The server side looks at the connection's first 8 bytes (Apache's `nextPacketIsAuth`): the
//! magic starts an exchange; anything else (or the peer hanging up) is a learner that does not
//! authenticate, let through unless `quorum.auth.serverRequireSasl`. Bytes read past the
//! exchange stay in the caller's buffer for the protocol that follows.
//!
//! Owns: reading and writing `QuorumAuthPacket`s on a stream, the log lines of the outcome.
//! Must not: decide anything the policy in `sasl::quorum` decides, or touch other framing.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::sasl::new_nonce;
use crate::sasl::quorum::{
    LearnerExchange, LearnerStep, QuorumAuthPacket, QuorumSasl, ServerExchange, ServerStep,
};

/// Quorum SASL settings shared by every connection of a member (None: `enableSasl=false`).
pub type PeerAuth = Option<Arc<QuorumSasl>>;

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, p: &QuorumAuthPacket) -> std::io::Result<()> {
    stream.write_all(&p.encode()).await?;
    stream.flush().await
}

async fn receive<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<QuorumAuthPacket, String> {
    loop {
        if let Some((p, used)) = QuorumAuthPacket::decode(buf).map_err(|e| e.to_string())? {
            buf.advance(used);
            return Ok(p);
        }
        match stream.read_buf(buf).await {
            Ok(0) => return Err("connection closed during the SASL exchange".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Logs in to the member at `peer` when `quorum.auth.learnerRequireSasl` says so (otherwise
/// sends nothing, as Apache's learner). Bytes the peer sent after its final packet are left
/// in `buf`. Errors say why, for the caller's log line.
pub async fn as_learner<S: AsyncRead + AsyncWrite + Unpin>(
    auth: &PeerAuth,
    stream: &mut S,
    buf: &mut BytesMut,
    peer: &str,
    timeout: Duration,
) -> Result<(), String> {
    let Some(login) = auth.as_ref().and_then(|a| a.learner_login()) else {
        return Ok(());
    };
    let work = async {
        let (mut exchange, opening) = LearnerExchange::start(login, new_nonce());
        send(stream, &opening).await.map_err(|e| e.to_string())?;
        loop {
            let p = receive(stream, buf).await?;
            match exchange.on_packet(&p)? {
                LearnerStep::Send(next) => send(stream, &next).await.map_err(|e| e.to_string())?,
                LearnerStep::Done => return Ok::<(), String>(()),
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(())) => {
            tracing::info!(
                user = %login.user,
                "Successfully completed the authentication using SASL. server addr: {peer}"
            );
            Ok(())
        }
        Ok(Err(e)) => Err(format!(
            "SASL authentication failed against server addr: {peer} (as '{}'): {e}",
            login.user
        )),
        Err(_) => Err(format!(
            "SASL authentication against server addr: {peer} timed out after {timeout:?} (does it have quorum.auth.enableSasl=true?)"
        )),
    }
}

/// Reads until `buf` holds `n` bytes; false if the peer closed first.
async fn fill_to<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut BytesMut, n: usize) -> bool {
    while buf.len() < n {
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    true
}

/// The accepting member's side. `buf` holds what was already read from the connection and
/// keeps what follows the exchange. `Err`: refuse the connection (the reason, for the log).
pub async fn as_server<S: AsyncRead + AsyncWrite + Unpin>(
    auth: &QuorumSasl,
    stream: &mut S,
    buf: &mut BytesMut,
    peer: &str,
) -> Result<(), String> {
    let policy = auth.policy();
    let mut first = [0u8; 8];
    let is_auth = fill_to(stream, buf, 8).await && {
        first.copy_from_slice(&buf[..8]);
        crate::sasl::quorum::packet::starts_with_magic(&first)
    };
    if !is_auth {
        tracing::debug!(%peer, "member connection without quorum SASL");
        return policy.without_auth();
    }
    let mut exchange = ServerExchange::new(new_nonce());
    let outcome = loop {
        let p = match receive(stream, buf).await {
            Ok(p) => p,
            Err(e) => break Err(e),
        };
        let (reply, done) = match exchange.on_packet(&p, &auth.users, &auth.authz_hosts) {
            ServerStep::Continue(reply) => (reply, None),
            ServerStep::Authenticated { reply, user } => (reply, Some(Ok(user))),
            ServerStep::Failed { reply, error } => (reply, Some(Err(error))),
        };
        if let Err(e) = send(stream, &reply).await {
            break Err(e.to_string());
        }
        if let Some(done) = done {
            break done;
        }
    };
    match outcome {
        Ok(user) => {
            tracing::info!(
                %user,
                "Successfully completed the authentication using SASL. learner addr: {peer}"
            );
            Ok(())
        }
        Err(e) => {
            policy.after_failure(&e)?;
            tracing::warn!(
                "Failed to authenticate using SASL ({e}); maintaining learner connection despite SASL authentication failure. server addr: {peer}, quorum.auth.serverRequireSasl: false"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sasl::quorum::LearnerLogin;
    use crate::sasl::SaslUsers;

    fn sasl(required: bool, password: &str) -> QuorumSasl {
        let file = crate::sasl::jaas::parse(
            "S { org.apache.zookeeper.server.auth.DigestLoginModule required user_test=\"test\"; };",
        )
        .unwrap();
        QuorumSasl {
            server_required: required,
            learner_required: true,
            users: SaslUsers::from_section(&file["S"], None),
            learner: Some(LearnerLogin {
                user: "test".into(),
                password: password.into(),
            }),
            authz_hosts: Vec::new(),
        }
    }

    /// Both sides over an in-memory pipe; the learner sends `after` once authenticated.
    async fn pair(
        server: QuorumSasl,
        learner: PeerAuth,
        after: &[u8],
    ) -> (Result<(), String>, Result<(), String>, BytesMut) {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let after = after.to_vec();
        let learner_side = tokio::spawn(async move {
            let mut buf = BytesMut::new();
            let r = as_learner(&learner, &mut a, &mut buf, "s", Duration::from_secs(5)).await;
            a.write_all(&after).await.unwrap();
            drop(a);
            r
        });
        let mut buf = BytesMut::new();
        let s = as_server(&server, &mut b, &mut buf, "l").await;
        // What the protocol would read next: everything after the exchange.
        while b.read_buf(&mut buf).await.unwrap_or(0) > 0 {}
        let l = learner_side.await.unwrap();
        (s, l, buf)
    }

    #[tokio::test]
    async fn authenticated_learner_then_protocol_bytes_follow() {
        let learner = Some(Arc::new(sasl(true, "test")));
        let (s, l, buf) = pair(sasl(true, "test"), learner, b"PROTO").await;
        assert_eq!((s, l), (Ok(()), Ok(())));
        assert_eq!(buf.as_ref(), b"PROTO");
    }

    #[tokio::test]
    async fn wrong_password_is_refused_when_required_and_let_through_otherwise() {
        let (s, l, _) = pair(sasl(true, "test"), Some(Arc::new(sasl(true, "bad"))), b"").await;
        assert!(s.unwrap_err().contains("Mismatched response"));
        assert!(l.unwrap_err().contains("ERROR"));
        let (s, l, _) = pair(sasl(false, "test"), Some(Arc::new(sasl(true, "bad"))), b"").await;
        assert_eq!(s, Ok(()));
        assert!(l.is_err());
    }

    #[tokio::test]
    async fn a_learner_without_sasl_is_let_through_only_when_not_required() {
        let (s, l, buf) = pair(sasl(false, "test"), None, b"FOLLOWERINFO..").await;
        assert_eq!((s, l), (Ok(()), Ok(())));
        assert_eq!(
            buf.as_ref(),
            b"FOLLOWERINFO..",
            "peeked bytes stay for the protocol"
        );
        let (s, _, _) = pair(sasl(true, "test"), None, b"FOLLOWERINFO..").await;
        assert!(s.unwrap_err().contains("authentication is required"));
        // A dialler that hangs up without a byte (a smaller sid leaving the election port).
        let (s, _, _) = pair(sasl(false, "test"), None, b"").await;
        assert_eq!(s, Ok(()));
    }
}
