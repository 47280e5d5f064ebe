//! Log output: the tracing subscriber (plain text for people, one JSON object per line for
//! log shippers, terminal colours only on a terminal) and [`limit`], which keeps warnings a
//! client can provoke from filling the disk.
//!
//! Owns: the choice of format and colours, the log filter, per-call-site rate limits. Must
//! not decide what is logged where; call sites do that.

pub mod limit;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Environment variable that selects the log format (`text` or `json`).
pub const FORMAT_ENV: &str = "ZKSERVER_LOG_FORMAT";
/// Environment variable holding the tracing filter (`info` when unset).
pub const FILTER_ENV: &str = "ZKSERVER_LOG";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `timestamp LEVEL target: message key=value ...`, coloured only on a terminal.
    Text,
    /// One JSON object per line with `timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level, as ELK and Loki ingest them without a parsing rule.
    Json,
}

impl LogFormat {
    /// The format named by `ZKSERVER_LOG_FORMAT`: unset or empty means text. An unknown
    /// name is an error rather than a silent fallback, so a typo cannot ship unparseable
    /// lines to a pipeline that expects JSON.
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(LogFormat::Text),
            Some(v) if v.eq_ignore_ascii_case("text") => Ok(LogFormat::Text),
            Some(v) if v.eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
            Some(v) => Err(format!(
                "{FORMAT_ENV}={v:?} is not a log format (use `text` or `json`)"
            )),
        }
    }

    /// The format chosen by the environment.
    pub fn from_env() -> Result<LogFormat, String> {
        Self::parse(std::env::var(FORMAT_ENV).ok().as_deref())
    }
}

/// Colour escapes only when a person is looking: stderr is a terminal and `NO_COLOR` is not
/// set (<https://no-color.org>). Redirected output (`zkServer.sh start`, systemd, CI, a file)
/// stays plain, so `less`, grep and log shippers see the text as written.
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

/// Installs the global subscriber writing to stderr.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env(FILTER_ENV).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let colour = use_colour(
                std::io::stderr().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            builder.with_ansi(colour).init();
        }
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_ansi(false)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some(" JSON ")), Ok(LogFormat::Json));
        let err = LogFormat::parse(Some("xml")).unwrap_err();
        assert!(
            err.contains("ZKSERVER_LOG_FORMAT") && err.contains("json"),
            "{err}"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(!use_colour(false, None));
    }
}
