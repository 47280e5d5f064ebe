//! The AdminServer's commands (ZooKeeper's `server/admin/Commands.java`): names and
//! aliases, which need a running server or auth, and how one request is run into an HTTP
//! status and a JSON object with ZooKeeper's field names (`views`).
//!
//! Order of checks, as in `Commands.runCommand`: unknown name (200, `error`), server not
//! serving (200, `error`), auth for the protected commands (401 without or with a bad
//! `Authorization` header, 403 when the ACL of `/` does not grant ALL), then the command.
//!
//! The command set is Apache 3.8's plus 3.9's auth-protected `snapshot` and `restore`
//! (zkserver reports version 3.9). Those two pass the auth check as ZooKeeper's do and then
//! answer 503 with an error, because zkserver's snapshot files are not in ZooKeeper's
//! format; `set_trace_mask` answers an error (zkserver has no ZooTrace logging).
//!
//! Owns: the command table and the run order. Must not touch sockets or server state.

mod views;

use std::collections::HashMap;
use std::net::IpAddr;

use super::json::Object;
use crate::status::{AuthOutcome, Detail, Snapshot, StatusHandle};

/// HTTP method a command answers (`GetCommand` / `PostCommand`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One command: primary name first, then aliases.
#[derive(Debug)]
pub struct Command {
    pub names: &'static [&'static str],
    /// `CommandBase.serverRequired`: answers an error while the server is not serving.
    pub server_required: bool,
    /// `AuthRequest(ZooDefs.Perms.ALL, "/")`.
    pub needs_auth: bool,
    pub method: Method,
}

impl Command {
    pub fn primary(&self) -> &'static str {
        self.names.first().copied().unwrap_or_default()
    }
}

const fn get(names: &'static [&'static str], server_required: bool) -> Command {
    Command {
        names,
        server_required,
        needs_auth: false,
        method: Method::Get,
    }
}

/// Every command, as registered in ZooKeeper's `Commands` static block.
pub const COMMANDS: &[Command] = &[
    get(&["connection_stat_reset", "crst"], true),
    get(&["configuration", "conf", "config"], true),
    get(&["connections", "cons"], true),
    get(&["hash"], true),
    get(&["dirs"], true),
    get(&["dump"], true),
    get(&["environment", "env", "envi"], false),
    get(&["get_trace_mask", "gtmk"], false),
    get(&["initial_configuration", "icfg"], true),
    get(&["is_read_only", "isro"], true),
    get(&["last_snapshot", "lsnp"], true),
    get(&["leader", "lead"], true),
    get(&["monitor", "mntr"], false),
    get(&["observer_connection_stat_reset", "orst"], true),
    Command {
        names: &["restore", "rest"],
        server_required: true,
        needs_auth: true,
        method: Method::Post,
    },
    get(&["ruok"], true),
    get(&["set_trace_mask", "stmk"], false),
    Command {
        names: &["snapshot", "snap"],
        server_required: true,
        needs_auth: true,
        method: Method::Get,
    },
    get(&["server_stats", "srvr"], true),
    get(&["stats", "stat"], true),
    get(&["stat_reset", "srst"], true),
    get(&["observers", "obsr"], true),
    get(&["system_properties", "sysp"], false),
    get(&["voting_view"], true),
    get(&["watches", "wchc"], true),
    get(&["watches_by_path", "wchp"], true),
    get(&["watch_summary", "wchs"], true),
    get(&["zabstate"], false),
];

/// The command registered under `name` (primary name or alias, case-sensitive as in Java).
pub fn lookup(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.names.contains(&name))
}

/// Primary names, sorted (the `/commands` page lists these).
pub fn primary_names() -> Vec<&'static str> {
    let mut names: Vec<_> = COMMANDS.iter().map(Command::primary).collect();
    names.sort_unstable();
    names
}

/// An HTTP status and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Object,
}

impl Reply {
    /// `CommandResponse(command, error, status)`: just the two keys every answer has.
    pub fn error(command: &str, error: &str, status: u16) -> Reply {
        let mut body = Object::new();
        body.put("command", command).put("error", error);
        Reply { status, body }
    }

    fn ok(command: &str, mut data: Object) -> Reply {
        // `CommandResponse.toMap`: data first, then command and error; an `error` the
        // command put into its data keeps its place and its value.
        let error = data.0.iter().position(|(k, _)| k == "error");
        let value = error.map(|i| data.0.remove(i).1);
        match (error, value) {
            (Some(i), Some(v)) => {
                data.0.insert(i, ("error".into(), v));
                data.put("command", command);
            }
            _ => {
                data.put("command", command)
                    .put("error", serde_json::Value::Null);
            }
        }
        Reply {
            status: 200,
            body: data,
        }
    }
}

/// One request as the HTTP layer hands it over.
#[derive(Debug)]
pub struct Request<'a> {
    pub name: &'a str,
    pub method: Method,
    /// Query parameters (first value of each).
    pub params: &'a HashMap<String, String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    pub client: IpAddr,
}

fn detail_for(primary: &str) -> Detail {
    Detail {
        connections: matches!(primary, "connections" | "stats"),
        watches_by_session: primary == "watches",
        watches_by_path: primary == "watches_by_path",
        sessions: primary == "dump",
        digests: primary == "hash",
        host: matches!(
            primary,
            "dirs"
                | "environment"
                | "last_snapshot"
                | "monitor"
                | "server_stats"
                | "stats"
                | "system_properties"
        ),
    }
}

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// Runs one command against the server.
pub async fn run(req: &Request<'_>, status: &StatusHandle) -> Reply {
    let Some(cmd) = lookup(req.name) else {
        tracing::warn!(command = req.name, "AdminServer: unknown command");
        return Reply::error(req.name, &format!("Unknown command: {}", req.name), 200);
    };
    let primary = cmd.primary();
    let snap = status.snapshot(detail_for(primary)).await;
    let snap = match snap {
        Some(s) if s.serving || !cmd.server_required => s,
        _ => return Reply::error(req.name, NOT_SERVING, 200),
    };
    if cmd.needs_auth {
        if let Some(denied) = check_auth(req, status).await {
            return denied;
        }
    }
    if req.method != cmd.method {
        let want = match cmd.method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        return Reply::error(
            primary,
            &format!("{primary} must be sent with HTTP {want}"),
            405,
        );
    }
    match primary {
        "connection_stat_reset" => reset(primary, status.reset_conn_stats().await),
        "stat_reset" => reset(primary, status.reset_server_stats().await),
        "snapshot" | "restore" => {
            tracing::warn!(
                command = primary,
                "AdminServer: {primary} is not supported: zkserver's snapshot files are not in ZooKeeper's format"
            );
            Reply::error(
                primary,
                "zkserver does not support this command: its snapshots are not in ZooKeeper's file format",
                503,
            )
        }
        _ => Reply::ok(primary, views::render(primary, req.params, &snap)),
    }
}

fn reset(primary: &str, done: bool) -> Reply {
    if done {
        Reply::ok(primary, Object::new())
    } else {
        Reply::error(primary, NOT_SERVING, 200)
    }
}

/// `Commands.handleAuthentication` + `handleAuthorization` for ALL on `/`; `None` when the
/// request may go on.
async fn check_auth(req: &Request<'_>, status: &StatusHandle) -> Option<Reply> {
    let name = req.name;
    let Some(header) = req.authorization else {
        tracing::warn!(command = name, "AdminServer: auth info is missing");
        return Some(Reply::error(
            name,
            "Auth info is missing for the command",
            401,
        ));
    };
    let parts: Vec<&str> = header.split(' ').collect();
    let (scheme, auth) = match parts.as_slice() {
        [scheme] => (*scheme, None),
        [scheme, auth] => (*scheme, Some(*auth)),
        _ => return Some(Reply::error(name, "Not authenticated", 401)),
    };
    // The digest provider needs `user:password`; ZooKeeper fails with a caught exception.
    if scheme == "digest" && auth.is_none() {
        return Some(Reply::error(name, "Not authenticated", 401));
    }
    let all = crate::proto::opcode::perms::ALL;
    let outcome = status
        .authorize(scheme, auth.unwrap_or("").as_bytes(), req.client, all, "/")
        .await;
    match outcome {
        Some(AuthOutcome::Authorized) => None,
        Some(AuthOutcome::NotAuthenticated) => Some(Reply::error(name, "Not authenticated", 401)),
        Some(AuthOutcome::NotAuthorized) => Some(Reply::error(name, "Not authorized", 403)),
        Some(AuthOutcome::NoNode) | None => {
            Some(Reply::error(name, "Error occurred during auth", 500))
        }
    }
}

/// The JSON object of `primary` for a snapshot (tests and the fixture comparison).
pub fn render_for_test(primary: &str, snap: &Snapshot) -> Object {
    Reply::ok(primary, views::render(primary, &HashMap::new(), snap)).body
}

#[cfg(test)]
pub(crate) mod tests;
