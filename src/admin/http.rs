//! The AdminServer's HTTP side (ZooKeeper's `JettyAdminServer`): `admin.serverAddress` :
//! `admin.serverPort`, `GET <admin.commandURL>` lists the commands as links, `GET|POST
//! <admin.commandURL>/<name>` runs one and answers JSON. Other paths answer 404, other
//! methods 405, and hyper answers malformed requests with a 4xx and closes; nothing here
//! can take the server down.
//!
//! Paths are matched by hand rather than by axum routes because `admin.commandURL` comes
//! from zoo.cfg and may be any string (axum would refuse some at startup).
//!
//! Owns: the listener and request decoding. Must not decide what a command answers
//! (`commands`) or read server state except through the [`StatusHandle`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::Router;
use tokio::net::TcpListener;

use super::commands::{self, Method as CmdMethod};
use super::json::to_jackson_string;
use crate::status::StatusHandle;

struct Ctx {
    command_url: String,
    status: StatusHandle,
}

/// Binds `address:port`; the caller logs a failure and runs on without the AdminServer.
pub async fn bind(address: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((address, port)).await
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, command_url: String, status: StatusHandle) {
    let ctx = Arc::new(Ctx {
        command_url,
        status,
    });
    let app = Router::new().fallback(handle).with_state(ctx);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, service).await {
        tracing::error!("AdminServer stopped: {e}");
    }
}

/// What a request path means under the command URL.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// The URL itself (or with a trailing `/`): the list of commands.
    Links,
    /// `<url>/<name>`, percent-decoded; may contain `/` (ZooKeeper then reports an
    /// unknown command, as Jetty hands it the whole rest of the path).
    Command(String),
    NotFound,
    /// A malformed percent-escape, or one that is not valid UTF-8.
    BadPath,
}

fn target(command_url: &str, path: &str) -> Target {
    let base = command_url.trim_end_matches('/');
    let Some(rest) = path.strip_prefix(base) else {
        return Target::NotFound;
    };
    if rest.is_empty() || rest == "/" {
        return Target::Links;
    }
    let Some(name) = rest.strip_prefix('/') else {
        return Target::NotFound;
    };
    // Jetty refuses a `%` that does not start a two-digit hex escape (400).
    let bytes = name.as_bytes();
    let bad_escape = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if bad_escape {
        return Target::BadPath;
    }
    match percent_encoding::percent_decode_str(name).decode_utf8() {
        Ok(n) => Target::Command(n.into_owned()),
        Err(_) => Target::BadPath,
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// `JettyAdminServer.commandLinks`: one link and a `<br/>` per primary name.
fn links(command_url: &str) -> String {
    let base = command_url.trim_end_matches('/');
    commands::primary_names()
        .into_iter()
        .map(|c| format!("<a href=\"{base}/{c}\">{c}</a>\n<br/>\n"))
        .collect()
}

async fn handle(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    if super::headers_too_large(req.headers()) {
        return respond(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "text/plain",
            String::new(),
        );
    }
    let method = match *req.method() {
        Method::GET | Method::HEAD => CmdMethod::Get,
        Method::POST => CmdMethod::Post,
        _ => return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", String::new()),
    };
    let name = match target(&ctx.command_url, req.uri().path()) {
        Target::Links => return respond(StatusCode::OK, "text/html", links(&ctx.command_url)),
        Target::NotFound => return respond(StatusCode::NOT_FOUND, "text/plain", String::new()),
        Target::BadPath => {
            return respond(StatusCode::BAD_REQUEST, "text/plain", "Bad Request".into())
        }
        Target::Command(name) => name,
    };
    let params: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(p)| p)
        .unwrap_or_default();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let request = commands::Request {
        name: &name,
        method,
        params: &params,
        authorization,
        client: peer.ip(),
    };
    let reply = commands::run(&request, &ctx.status).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    respond(status, "application/json", to_jackson_string(&reply.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_command_url() {
        let t = |p| target("/commands", p);
        assert_eq!(t("/commands"), Target::Links);
        assert_eq!(t("/commands/"), Target::Links);
        assert_eq!(t("/commands/mntr"), Target::Command("mntr".into()));
        assert_eq!(
            t("/commands/ruok/extra"),
            Target::Command("ruok/extra".into())
        );
        assert_eq!(t("/commands/wch%73"), Target::Command("wchs".into()));
        assert_eq!(t("/commands/%ff"), Target::BadPath);
        assert_eq!(t("/commands/%zz"), Target::BadPath);
        assert_eq!(t("/commands/a%2"), Target::BadPath);
        assert_eq!(t("/commandsx"), Target::NotFound);
        assert_eq!(t("/"), Target::NotFound);
        assert_eq!(
            target("/admin/", "/admin/ruok"),
            Target::Command("ruok".into())
        );
    }

    #[test]
    fn links_list_every_primary_name_sorted() {
        let page = links("/commands");
        assert!(page.starts_with("<a href=\"/commands/configuration\">configuration</a>\n<br/>\n"));
        assert_eq!(page.matches("<br/>").count(), commands::COMMANDS.len());
    }
}
