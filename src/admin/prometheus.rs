//! Prometheus `/metrics` (ZooKeeper's `PrometheusMetricsProvider`, enabled by
//! `metricsProvider.className=...PrometheusMetricsProvider`, on `metricsProvider.httpHost`
//! : `metricsProvider.httpPort`).
//!
//! Names and types are ZooKeeper's, as its provider (Prometheus simpleclient 0.9) exposes
//! them: each gauge and counter under its bare name (`znode_count`, `commit_count`, no
//! `_total`), each summary as `<name>{quantile="0.5"}` (plus 0.9 and 0.99 for the advanced
//! ones), `<name>_sum` and `<name>_count`, in milliseconds; the HELP text is the name.
//! The text format is written by the `prometheus` crate's `TextEncoder` from metric
//! families built out of a status snapshot.
//!
//! Not served: the JVM collectors (`exportJvmInfo`: `jvm_*`), which a Rust process does
//! not have, and the string values (`version`, `server_state`), which ZooKeeper does not
//! export either.
//!
//! Owns: the metric families and the `/metrics` listener. Must not read server state
//! except through the [`StatusHandle`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::Router;
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};
use tokio::net::TcpListener;

use super::monitor::{self, Value};
use crate::status::summary::{Detail, SummarySnapshot};
use crate::status::{Detail as SnapshotDetail, Snapshot, StatusHandle};

fn family(name: &str, kind: MetricType, metric: proto::Metric) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    // simpleclient's `build(name, name)`: the help text is the name.
    f.set_help(name.to_string());
    f.set_field_type(kind);
    f.set_metric(vec![metric]);
    f
}

fn gauge(name: &str, v: f64) -> MetricFamily {
    let mut g = proto::Gauge::default();
    g.set_value(v);
    let mut m = proto::Metric::default();
    m.set_gauge(g);
    family(name, MetricType::GAUGE, m)
}

fn counter(name: &str, v: u64) -> MetricFamily {
    let mut c = proto::Counter::default();
    c.set_value(v as f64);
    let mut m = proto::Metric::default();
    m.set_counter(c);
    family(name, MetricType::COUNTER, m)
}

/// The quantiles ZooKeeper's provider asks simpleclient for at each detail level.
fn quantiles(detail: Detail) -> &'static [f64] {
    match detail {
        Detail::Basic => &[0.5],
        Detail::Advanced => &[0.5, 0.9, 0.99],
    }
}

fn summary(name: &str, s: &SummarySnapshot) -> MetricFamily {
    let qs = quantiles(s.detail)
        .iter()
        .map(|&q| {
            let mut x = proto::Quantile::default();
            x.set_quantile(q);
            // simpleclient's CKMS answers NaN while its window is empty.
            x.set_value(if s.window_count == 0 {
                f64::NAN
            } else {
                s.quantile(q)
            });
            x
        })
        .collect();
    let mut p = proto::Summary::default();
    p.set_sample_count(s.count);
    p.set_sample_sum(s.sum);
    p.set_quantile(qs);
    let mut m = proto::Metric::default();
    m.set_summary(p);
    family(name, MetricType::SUMMARY, m)
}

/// A family of one metric per label value (`key`, the label ZooKeeper's provider gives
/// gauge and counter sets); `None` when there is no value (simpleclient then prints nothing).
fn labelled(name: &str, kind: MetricType, values: Vec<(String, f64)>) -> Option<MetricFamily> {
    if values.is_empty() {
        return None;
    }
    let metrics = values
        .into_iter()
        .map(|(key, v)| {
            let mut label = proto::LabelPair::default();
            label.set_name("key".into());
            label.set_value(key);
            let mut m = proto::Metric::default();
            m.set_label(vec![label]);
            if kind == MetricType::COUNTER {
                let mut c = proto::Counter::default();
                c.set_value(v);
                m.set_counter(c);
            } else {
                let mut g = proto::Gauge::default();
                g.set_value(v);
                m.set_gauge(g);
            }
            m
        })
        .collect();
    let mut f = family(name, kind, proto::Metric::default());
    f.set_metric(metrics);
    Some(f)
}

/// The quota gauge sets (limits and usage per namespace) and the QUOTAEXCEEDED counter set.
fn quota_families(s: &Snapshot) -> Vec<MetricFamily> {
    let mut out: Vec<MetricFamily> = crate::status::QUOTA_GAUGE_SETS
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let values = s
                .quota
                .iter()
                .filter_map(|(ns, v)| v[i].map(|x| (ns.clone(), x as f64)))
                .collect();
            labelled(name, MetricType::GAUGE, values)
        })
        .collect();
    let exceeded = s
        .metrics
        .quota_exceeded
        .iter()
        .map(|(ns, v)| (ns.clone(), *v as f64))
        .collect();
    let name = crate::status::QUOTA_EXCEEDED_COUNTER_SET;
    out.extend(labelled(name, MetricType::COUNTER, exceeded));
    out
}

/// Every family `/metrics` serves for this snapshot.
pub fn families(s: &Snapshot) -> Vec<MetricFamily> {
    let mut out: Vec<MetricFamily> = monitor::gauges(s)
        .into_iter()
        .filter_map(|(name, v)| match v {
            Value::Int(i) => Some(gauge(name, i as f64)),
            Value::Float(f) => Some(gauge(name, f)),
            Value::Str(_) => None,
        })
        .collect();
    out.extend(s.metrics.counters.iter().map(|(n, v)| counter(n, *v)));
    out.push(counter(
        "digest_mismatches_count",
        s.stats.digest_mismatches,
    ));
    out.extend(quota_families(s));
    out.extend(s.metrics.summaries.iter().map(|(n, v)| summary(n, v)));
    out
}

/// The text exposition of `s` (Prometheus text format 0.0.4).
pub fn render(s: &Snapshot) -> Result<String, prometheus::Error> {
    let mut buf = Vec::with_capacity(16 * 1024);
    TextEncoder::new().encode(&families(s), &mut buf)?;
    String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
}

/// Binds `host:port`; the caller logs a failure and runs on without `/metrics`.
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port)).await
}

/// Serves `/metrics` until the task is dropped.
pub async fn serve(listener: TcpListener, status: StatusHandle) {
    let app = Router::new().fallback(handle).with_state(Arc::new(status));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("/metrics endpoint stopped: {e}");
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

async fn handle(State(status): State<Arc<StatusHandle>>, req: Request<Body>) -> Response<Body> {
    if super::headers_too_large(req.headers()) {
        return respond(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "text/plain",
            String::new(),
        );
    }
    if req.uri().path() != "/metrics" {
        return respond(StatusCode::NOT_FOUND, "text/plain", String::new());
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", String::new());
    }
    let detail = SnapshotDetail {
        host: true,
        ..SnapshotDetail::default()
    };
    let Some(snap) = status.snapshot(detail).await else {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "server is shutting down\n".into(),
        );
    };
    match render(&snap) {
        Ok(text) => respond(StatusCode::OK, prometheus::TEXT_FORMAT, text),
        Err(e) => {
            tracing::error!("/metrics: cannot encode: {e}");
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                String::new(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::commands::tests::snapshot;
    use crate::status::ServerMetrics;
    use std::time::Duration;

    #[test]
    fn names_types_and_quantiles_are_zookeepers() {
        let mut s = snapshot();
        let m = ServerMetrics::new();
        m.fsync_time.observe(Duration::from_micros(1500));
        m.update_latency.observe(Duration::from_millis(2));
        m.commit_count.add(4);
        s.metrics = m.snapshot();
        let text = render(&s).unwrap();
        for want in [
            "# TYPE znode_count gauge\nznode_count 7\n",
            "# TYPE commit_count counter\ncommit_count 4\n",
            // hdrhistogram keeps two significant digits: 1.5 ms reads back as 1.503.
            "# TYPE fsynctime summary\nfsynctime{quantile=\"0.5\"} 1.50",
            "\nfsynctime_sum 1.5\nfsynctime_count 1\n",
            "updatelatency{quantile=\"0.99\"} 2.0",
            "readlatency{quantile=\"0.9\"} NaN\n",
            "# HELP avg_latency avg_latency\n",
        ] {
            assert!(text.contains(want), "{want} missing:\n{text}");
        }
        assert!(!text.contains("_total") && !text.contains("version"));
        assert!(
            !text.contains("snapshottime{quantile=\"0.9\"}"),
            "basic summaries: median only"
        );
    }

    #[test]
    fn quota_sets_are_labelled_by_namespace() {
        let mut s = snapshot();
        s.quota
            .insert("a".into(), [Some(10), Some(-1), Some(3), Some(7)]);
        s.quota.insert("b".into(), [None, None, Some(1), Some(0)]);
        let m = ServerMetrics::new();
        m.quota_exceeded("a");
        s.metrics = m.snapshot();
        let text = render(&s).unwrap();
        for want in [
            "# TYPE quota_count_limit_per_namespace gauge
quota_count_limit_per_namespace{key=\"a\"} 10
",
            "quota_bytes_usage_per_namespace{key=\"b\"} 0
",
            "# TYPE quota_exceeded_error_per_namespace counter
quota_exceeded_error_per_namespace{key=\"a\"} 1
",
        ] {
            assert!(text.contains(want), "{want} missing:\n{text}");
        }
        assert!(!text.contains("quota_count_limit_per_namespace{key=\"b\"}"));
        let mntr = crate::admin::monitor::values(&s);
        let get = |k: &str| mntr.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("a_quota_count_usage_per_namespace"),
            Some(Value::Int(3))
        );
        assert_eq!(
            get("a_quota_exceeded_error_per_namespace"),
            Some(Value::Int(1))
        );
    }
}
