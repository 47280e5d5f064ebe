//! Configuration errors and warnings. Every message names where the bad setting came from:
//! `file:line: key: problem` for zoo.cfg lines, `SERVER_JVMFLAGS: -Dkey: problem` for flags.
//! Must not format anything else (no logging here: callers log warnings themselves).

use std::fmt;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (zoo.cfg or myid) could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A line that is not valid Java-properties text (a malformed `\uXXXX` escape).
    #[error("{file}:{line}: {msg}")]
    Syntax {
        file: String,
        line: usize,
        msg: String,
    },
    /// A key on a given line has a value of the wrong type or out of range, or contradicts
    /// another setting.
    #[error("{file}:{line}: {key}: {msg}")]
    Value {
        file: String,
        line: usize,
        key: String,
        msg: String,
    },
    /// A required key is missing, or a contradiction that no single line carries.
    #[error("{file}: {key}: {msg}")]
    Setting {
        file: String,
        key: String,
        msg: String,
    },
    /// A `-Dkey=value` flag from `SERVER_JVMFLAGS` has a bad value.
    #[error("SERVER_JVMFLAGS: -D{key}: {msg}")]
    Flag { key: String, msg: String },
    /// The `myid` file is missing, unreadable as a number, or names no `server.N` line.
    #[error("{file}: {msg}")]
    Myid { file: String, msg: String },
}

/// Something accepted but worth telling the operator (ZooKeeper logs these at WARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// `file:line` or `SERVER_JVMFLAGS` or `file`.
    pub location: String,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}
