//! SASL packets (opcode 102) and the enforcement of authenticated sessions, as Apache's
//! `ZooKeeperServer.processSasl` and `AuthenticationHelper.enforceAuthentication` do them.
//!
//! With a JAAS `Server` section loaded (`crate::sasl::SaslUsers`), each connection runs its
//! own DIGEST-MD5 exchange; on completion it gains `sasl:<user>` (and `super` if the user is
//! a `zookeeper.superUser`). A failed exchange is answered with AUTHFAILED (or
//! SESSIONCLOSEDREQUIRESASLAUTH when SASL is required) and the connection is closed, unless
//! `zookeeper.allowSaslFailedClients` keeps it. Without a JAAS file the answer is Apache's
//! without a SASL provider: err 0 and a null token.
//!
//! These packets are not session activity (see `requests`). Must not decide anything about
//! the session itself: only the connection's ids and its fate.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::core::{Core, Item};
use super::{ConnId, Outbound};
use crate::proto::frame::write_frame;
use crate::proto::jute::Jute;
use crate::proto::records::{Id, ReplyHeader, SaslResponse};
use crate::proto::response::Response;
use crate::proto::ErrorCode;
use crate::sasl::{new_nonce, DigestMd5Server};

impl Core {
    /// One SASL token from `conn`; the answer waits its turn in the session's FIFO.
    pub(super) fn sasl(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        token: Bytes,
        received: Instant,
    ) {
        let (result, close) = self.evaluate_sasl(session, conn, &token);
        let item = match result {
            // Apache answers a failed step with the error and an empty SetSASLResponse (a
            // null token) after the header.
            Err(code) => {
                let mut out = BytesMut::with_capacity(20);
                write_frame(&mut out, |o| {
                    ReplyHeader {
                        xid,
                        zxid: 0,
                        err: code.code(),
                    }
                    .write(o);
                    SaslResponse { token: None }.write(o);
                });
                Item::Encoded {
                    conn,
                    xid,
                    frame: out.freeze(),
                    close,
                    received,
                }
            }
            Ok(_) => Item::Auth {
                conn,
                xid,
                result,
                close,
                received,
            },
        };
        self.enqueue(session, item);
    }

    fn evaluate_sasl(
        &mut self,
        session: i64,
        conn: ConnId,
        token: &[u8],
    ) -> (Result<Response, ErrorCode>, bool) {
        let Some(users) = self.sasl_users.clone() else {
            // Without a SASL provider Apache 3.8 answers err 0 with a null token (zxid 0,
            // the request's xid) and leaves the connection open: the Java client fails
            // its login on the null token; kazoo sends another empty token until the
            // session expires (these packets do not refresh it).
            crate::warn_limited!(
                "SASL token received but no SASL provider is configured; \
                 answering with an empty token"
            );
            return (Ok(Response::Sasl(None)), false);
        };
        let auth = &self.cfg.auth;
        let Some(c) = self.conns.get_mut(&conn) else {
            return (Err(ErrorCode::ConnectionLoss), true);
        };
        let server = c
            .sasl
            .get_or_insert_with(|| DigestMd5Server::new(new_nonce()));
        match server.evaluate(token, |u| users.password(u)) {
            Ok(answer) => {
                if let Some(user) = server.authorization_id().map(str::to_string) {
                    tracing::info!(
                        session = format_args!("{session:#x}"),
                        "adding SASL authorization for authorizationID: {user}"
                    );
                    let mut ids = vec![Id {
                        scheme: "sasl".into(),
                        id: user.clone(),
                    }];
                    if auth.super_users.contains(&user) {
                        tracing::info!(
                            session = format_args!("{session:#x}"),
                            "Authenticated Id '{user}' as super user"
                        );
                        ids.push(Id {
                            scheme: "super".into(),
                            id: String::new(),
                        });
                    }
                    for id in ids {
                        if !c.ids.contains(&id) {
                            c.ids.push(id);
                        }
                    }
                }
                (Ok(Response::Sasl(Some(Bytes::from(answer)))), false)
            }
            Err(e) => {
                crate::warn_limited!(
                    session = format_args!("{session:#x}"),
                    client = %c.addr,
                    "Client failed to SASL authenticate: {e}"
                );
                self.stats.auth_failed += 1;
                if auth.allow_sasl_failed && !auth.sasl_required() {
                    tracing::warn!(
                        "Maintaining client connection despite SASL authentication failure."
                    );
                    return (Ok(Response::Sasl(None)), false);
                }
                let code = if auth.sasl_required() {
                    tracing::warn!(
                        "Closing client connection due to server requires client SASL \
                         authentication, but client SASL authentication has failed, or client \
                         is not configured with SASL authentication."
                    );
                    ErrorCode::SessionClosedRequireSaslAuth
                } else {
                    tracing::warn!("Closing client connection due to SASL authentication failure.");
                    ErrorCode::AuthFailed
                };
                (Err(code), true)
            }
        }
    }

    /// Sends an encoded reply (`Item::Encoded`), counted like any other.
    pub(super) fn send_encoded(
        &mut self,
        conn: ConnId,
        xid: i32,
        frame: Bytes,
        close: bool,
        received: Instant,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let latency = received.elapsed();
        c.stats.sent(xid, 0, latency, frame.len());
        self.stats.sent(latency, frame.len());
        let _ = c.out.send(Outbound::Reply(frame));
        if close {
            let _ = c.out.send(Outbound::Close);
        }
    }

    /// `enforce.auth`: false (and the connection is answered SESSIONCLOSEDREQUIRESASLAUTH and
    /// closed) if this request may not run because the connection holds no id of an enforced
    /// scheme.
    pub(super) fn auth_enforced(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        received: Instant,
    ) -> bool {
        let auth = &self.cfg.auth;
        if !auth.enforce {
            return true;
        }
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        if c.ids
            .iter()
            .any(|id| auth.enforce_schemes.contains(&id.scheme))
        {
            return true;
        }
        let held: Vec<&str> = c.ids.iter().map(|i| i.scheme.as_str()).collect();
        crate::warn_limited!(
            session = format_args!("{session:#x}"),
            "Client authentication scheme(s) {held:?} does not match with any of the expected \
             authentication scheme {:?}, closing session.",
            auth.enforce_schemes
        );
        let item = Item::Auth {
            conn,
            xid,
            result: Err(ErrorCode::SessionClosedRequireSaslAuth),
            close: true,
            received,
        };
        self.enqueue(session, item);
        false
    }
}
