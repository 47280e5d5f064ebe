//! The operator's views of a running server, each a thin renderer of one status
//! [`Snapshot`](crate::status::Snapshot):
//!
//! - [`fourlw`]: the four-letter words' text, line for line as Apache ZooKeeper prints it;
//! - [`commands`] + [`http`]: the AdminServer (`admin.serverPort`, `/commands/<name>`),
//!   ZooKeeper's command names, aliases and JSON field names;
//! - [`prometheus`]: `/metrics` on `metricsProvider.httpPort` in Prometheus text format
//!   under ZooKeeper's metric names.
//!
//! [`monitor`] is the key/value list `mntr` and `monitor` share. Adding a command touches
//! one renderer; what it reports comes from the snapshot (`status/`).
//!
//! Owns: output formats and the HTTP endpoints. Must not reach into core state except
//! through a [`StatusHandle`](crate::status::StatusHandle).

pub mod commands;
pub mod fourlw;
pub mod http;
mod json;
pub mod monitor;
pub mod prometheus;

pub use crate::status::{full_version, zk_version};

/// Jetty's default request-header limit: larger headers get 431 rather than being held.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// True when a request's headers exceed [`MAX_HEADER_BYTES`] (both HTTP endpoints answer 431).
fn headers_too_large(headers: &axum::http::HeaderMap) -> bool {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        > MAX_HEADER_BYTES
}

use tokio::task::JoinHandle;

use crate::config::{Config, DEFAULT_METRICS_PROVIDER};
use crate::status::StatusHandle;

/// Starts the AdminServer (unless `admin.enableServer=false`) and the Prometheus endpoint
/// (when its provider is configured). A port that cannot be bound is logged and the server
/// runs on without that endpoint: the client port is what must not fail.
pub async fn start(cfg: &Config, status: &StatusHandle) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let a = &cfg.admin;
    if a.enable_server {
        match http::bind(&a.server_address, a.server_port).await {
            Ok(listener) => {
                tracing::info!(
                    "Started AdminServer on address {}, port {} and command URL {}",
                    a.server_address,
                    a.server_port,
                    a.command_url
                );
                tasks.push(tokio::spawn(http::serve(
                    listener,
                    a.command_url.clone(),
                    status.clone(),
                )));
            }
            Err(e) => tracing::error!(
                "Problem starting AdminServer on address {}, port {} and command URL {}: {e}; running without it (admin.enableServer=false turns it off)",
                a.server_address,
                a.server_port,
                a.command_url
            ),
        }
    }
    let m = &cfg.metrics;
    if m.prometheus_enabled() {
        match prometheus::bind(&m.http_host, m.http_port).await {
            Ok(listener) => {
                tracing::info!(
                    "Started /metrics HTTP endpoint at host: {}, port: {}",
                    m.http_host,
                    m.http_port
                );
                if m.export_jvm_info {
                    tracing::info!("metricsProvider.exportJvmInfo: zkserver runs no JVM, so no jvm_* metrics are served");
                }
                tasks.push(tokio::spawn(prometheus::serve(listener, status.clone())));
            }
            Err(e) => tracing::error!(
                "Cannot start /metrics server at host: {}, port: {}: {e}; running without it",
                m.http_host,
                m.http_port
            ),
        }
    } else if m.class_name != DEFAULT_METRICS_PROVIDER {
        tracing::warn!(
            "metricsProvider.className={} is not supported; metrics are served through mntr and the AdminServer only",
            m.class_name
        );
    }
    tasks
}
