//! Rate limits for log lines a client can provoke (malformed frames, unknown opcodes, SASL
//! or auth attempts, refused reconnects, connection storms). Without one, a single
//! misbehaving client writes as fast as it can send: kazoo looping on SASL made a server
//! write 68 MB of warnings in 150 s.
//!
//! Each call site of [`warn_limited!`](crate::warn_limited) / [`info_limited!`](crate::info_limited)
//! owns one [`LogLimiter`] (a `static` inside the macro expansion), so the key is the message:
//! per interval the first [`BURST`] lines are written, the rest only counted, and the next
//! line written after the interval carries `suppressed=<count>`. The line that reaches the
//! burst says so (`rate_limit=...`), so an operator knows more happened. The total a client can
//! make the server write is therefore bounded by the number of call sites, however many
//! connections it opens.
//!
//! Owns: the counting. Must not format or write lines itself (the macros call `tracing`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines written per call site and interval.
pub const BURST: u32 = 10;
/// Length of a counting window.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// The note on the last line written before a call site goes quiet.
pub const LIMIT_NOTE: &str = "10 per 60 s written; more are counted and reported later";

/// What the caller may write now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Lines of this kind counted but not written in the previous window.
    pub suppressed: u64,
    /// This is the last line of the current window; later ones are only counted.
    pub last: bool,
}

#[derive(Debug)]
struct Window {
    start: Option<Instant>,
    written: u32,
    suppressed: u64,
}

/// Counts occurrences of one kind of log line; see the module doc.
#[derive(Debug)]
pub struct LogLimiter {
    burst: u32,
    interval: Duration,
    window: Mutex<Window>,
}

impl Default for LogLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl LogLimiter {
    /// [`BURST`] lines per [`INTERVAL`].
    pub const fn new() -> Self {
        Self::with(BURST, INTERVAL)
    }

    pub const fn with(burst: u32, interval: Duration) -> Self {
        LogLimiter {
            burst,
            interval,
            window: Mutex::new(Window {
                start: None,
                written: 0,
                suppressed: 0,
            }),
        }
    }

    /// Records one occurrence now; `Some` if the line should be written.
    pub fn check(&self) -> Option<Pass> {
        self.check_at(Instant::now())
    }

    /// Records one occurrence at `now` (explicit for tests).
    pub fn check_at(&self, now: Instant) -> Option<Pass> {
        // A panic while holding this lock cannot leave the counters inconsistent.
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let mut carried = 0;
        let expired = w
            .start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.interval);
        if expired {
            carried = w.suppressed;
            *w = Window {
                start: Some(now),
                written: 0,
                suppressed: 0,
            };
        }
        if w.written < self.burst {
            w.written += 1;
            return Some(Pass {
                suppressed: carried,
                last: w.written == self.burst,
            });
        }
        w.suppressed += 1;
        None
    }
}

/// Writes a `tracing` event at `$level` through a per-call-site [`LogLimiter`]; the fields
/// and message are those of `tracing::event!`.
#[macro_export]
macro_rules! log_limited {
    ($level:expr, $($arg:tt)+) => {{
        static LIMIT: $crate::logging::limit::LogLimiter = $crate::logging::limit::LogLimiter::new();
        if let Some(pass) = LIMIT.check() {
            match (pass.suppressed, pass.last) {
                (0, false) => ::tracing::event!($level, $($arg)+),
                (0, true) => ::tracing::event!(
                    $level,
                    rate_limit = $crate::logging::limit::LIMIT_NOTE,
                    $($arg)+
                ),
                (n, false) => ::tracing::event!($level, suppressed = n, $($arg)+),
                (n, true) => ::tracing::event!(
                    $level,
                    suppressed = n,
                    rate_limit = $crate::logging::limit::LIMIT_NOTE,
                    $($arg)+
                ),
            }
        }
    }};
}

/// `tracing::warn!` for lines a client can provoke; see [`log_limited!`].
#[macro_export]
macro_rules! warn_limited {
    ($($arg:tt)+) => { $crate::log_limited!(::tracing::Level::WARN, $($arg)+) };
}

/// `tracing::info!` for lines a client can provoke; see [`log_limited!`].
#[macro_export]
macro_rules! info_limited {
    ($($arg:tt)+) => { $crate::log_limited!(::tracing::Level::INFO, $($arg)+) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(l: &LogLimiter, at: Instant, n: usize) -> Vec<Option<Pass>> {
        (0..n).map(|_| l.check_at(at)).collect()
    }

    #[test]
    fn burst_then_counted_then_reported() {
        let l = LogLimiter::with(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let first = run(&l, t0, 5);
        let pass = |suppressed, last| Some(Pass { suppressed, last });
        assert_eq!(
            first,
            vec![pass(0, false), pass(0, false), pass(0, true), None, None]
        );
        // Still inside the window: nothing more is written however many arrive.
        assert!(run(&l, t0 + Duration::from_secs(9), 1000)
            .iter()
            .all(Option::is_none));
        // The first line after the window reports what was dropped in it.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(l.check_at(t1), pass(1002, false));
        assert_eq!(l.check_at(t1), pass(0, false));
        // A quiet window reports nothing.
        assert_eq!(l.check_at(t1 + Duration::from_secs(30)), pass(0, false));
    }

    #[test]
    fn written_lines_are_bounded_per_interval() {
        let l = LogLimiter::new();
        let t0 = Instant::now();
        let mut written = 0;
        // A million occurrences over 10 minutes: at most BURST per started minute.
        for i in 0..1_000_000u64 {
            if l.check_at(t0 + Duration::from_micros(i * 600)).is_some() {
                written += 1;
            }
        }
        assert_eq!(written, 10 * BURST);
    }

    /// Collects what a fmt subscriber writes, to count the lines the macros let through.
    #[derive(Clone, Default)]
    struct Capture(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_macros_limit_each_call_site_separately() {
        let capture = Capture::default();
        let sink = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..100 {
                crate::warn_limited!(client = i, "site a");
                crate::info_limited!("site b {}", i);
            }
        });
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let a: Vec<&&str> = lines.iter().filter(|l| l.contains("site a")).collect();
        let b: Vec<&&str> = lines.iter().filter(|l| l.contains("site b")).collect();
        assert_eq!(
            (a.len(), b.len()),
            (BURST as usize, BURST as usize),
            "{text}"
        );
        assert!(
            a[0].contains("WARN") && a[0].contains("client=0"),
            "{}",
            a[0]
        );
        assert!(
            b[0].contains("INFO") && b[0].contains("site b 0"),
            "{}",
            b[0]
        );
        assert!(
            a[9].contains("rate_limit=") && !a[8].contains("rate_limit="),
            "{text}"
        );
    }
}
