//! System properties: `-Dkey=value` tokens from `SERVER_JVMFLAGS`, then every zoo.cfg key
//! ZooKeeper does not know itself, set as `zookeeper.<key>`, each remembering where it came
//! from so a bad value is reported at its source. Also the typed readers for the settings
//! ZooKeeper takes from system properties (`jute.maxbuffer`, `zookeeper.snapCount`, ...).
//!
//! Precedence, as in ZooKeeper: the JVM sets `-D` properties at startup, then
//! `QuorumPeerConfig.parseProperties` calls `System.setProperty("zookeeper." + key, value)` for
//! each unknown zoo.cfg key, so **zoo.cfg wins** over a `-Dzookeeper.<key>` flag for the same
//! name. Properties without the `zookeeper.` prefix (`jute.maxbuffer`, `readonlymode.enabled`)
//! can only come from flags. Must not read files or the environment: the caller passes the flags.

use std::collections::BTreeMap;

use super::error::ConfigError;

/// Where a property's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// zoo.cfg line and the key as written there (without the `zookeeper.` prefix).
    File { line: usize, key: String },
    /// A `-D` token in `SERVER_JVMFLAGS`.
    Flag,
}

/// System properties with their origins.
#[derive(Debug, Clone, Default)]
pub(crate) struct SysProps {
    map: BTreeMap<String, (String, Origin)>,
}

impl SysProps {
    /// Parse `-Dkey=value` tokens. Tokens are split on whitespace without quote handling, the
    /// way zkServer.sh's unquoted `$SERVER_JVMFLAGS` reaches java; `-Dkey` alone sets `""`.
    /// Other tokens (`-Xmx512m`, ...) are ignored.
    pub fn from_jvm_flags(flags: &str) -> Self {
        let mut props = SysProps::default();
        for token in flags.split_whitespace() {
            let Some(def) = token.strip_prefix("-D") else {
                continue;
            };
            let (k, v) = def.split_once('=').unwrap_or((def, ""));
            if !k.is_empty() {
                props
                    .map
                    .insert(k.to_string(), (v.to_string(), Origin::Flag));
            }
        }
        props
    }

    /// A zoo.cfg key ZooKeeper does not know: becomes `zookeeper.<key>`, replacing a flag.
    pub fn set_from_file(&mut self, key: &str, value: &str, line: usize) {
        let origin = Origin::File {
            line,
            key: key.to_string(),
        };
        self.map
            .insert(format!("zookeeper.{key}"), (value.to_string(), origin));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(|(v, _)| v.as_str())
    }

    /// Every property and its value, for `envi`/`conf` and the server.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.map
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// An error naming the source of property `name`.
    pub fn error(&self, file: &str, name: &str, msg: String) -> ConfigError {
        match self.map.get(name).map(|(_, o)| o) {
            Some(Origin::File { line, key }) => ConfigError::Value {
                file: file.to_string(),
                line: *line,
                key: key.clone(),
                msg,
            },
            _ => ConfigError::Flag {
                key: name.to_string(),
                msg,
            },
        }
    }

    /// `file:line: key` or `SERVER_JVMFLAGS: -Dname`, for warnings about property `name`.
    pub fn location(&self, file: &str, name: &str) -> String {
        match self.map.get(name).map(|(_, o)| o) {
            Some(Origin::File { line, key }) => format!("{file}:{line}: {key}"),
            _ => format!("SERVER_JVMFLAGS: -D{name}"),
        }
    }

    /// An integer property `>= min`, or `default` when unset.
    pub fn int(&self, file: &str, name: &str, default: u64, min: u64) -> Result<u64, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(self.error(file, name, expected_int(min, v))),
        }
    }

    /// `yes`/`no` property (ZooKeeper compares with `"yes"`/`"no"`; anything else is refused
    /// here so a `true` does not silently mean the opposite of what was meant).
    pub fn yes_no(&self, file: &str, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::trim) {
            None => Ok(default),
            Some("yes") => Ok(true),
            Some("no") => Ok(false),
            Some(v) => Err(self.error(file, name, format!("expected yes or no, got \"{v}\""))),
        }
    }

    /// `true`/`false` property, case-insensitive like Java's `Boolean.parseBoolean`.
    pub fn bool(&self, file: &str, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| self.error(file, name, expected_bool(v))),
        }
    }
}

/// `true`/`false`, case-insensitive (ZooKeeper's `parseBoolean` for zoo.cfg keys).
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

pub(crate) fn expected_bool(v: &str) -> String {
    format!("expected true or false, got \"{v}\"")
}

pub(crate) fn expected_int(min: u64, v: &str) -> String {
    match min {
        0 => format!("expected a non-negative integer, got \"{v}\""),
        1 => format!("expected a positive integer, got \"{v}\""),
        m => format!("expected an integer >= {m}, got \"{v}\""),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_parsed_and_file_keys_win() {
        let mut p = SysProps::from_jvm_flags(
            "-Xmx1g -Djute.maxbuffer=4194304 -Dzookeeper.snapCount=5 -Dflag  -D=x",
        );
        assert_eq!(p.get("jute.maxbuffer"), Some("4194304"));
        assert_eq!(p.get("flag"), Some(""));
        assert_eq!(p.get(""), None);
        p.set_from_file("snapCount", "7", 3);
        assert_eq!(p.get("zookeeper.snapCount"), Some("7"));
    }

    #[test]
    fn errors_name_their_source() {
        let mut p = SysProps::from_jvm_flags("-Dzookeeper.skipACL=maybe");
        let e = p.yes_no("zoo.cfg", "zookeeper.skipACL", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SERVER_JVMFLAGS: -Dzookeeper.skipACL: expected yes or no, got \"maybe\""
        );
        p.set_from_file("skipACL", "true", 9);
        let e = p.yes_no("zoo.cfg", "zookeeper.skipACL", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "zoo.cfg:9: skipACL: expected yes or no, got \"true\""
        );
    }

    #[test]
    fn typed_readers() {
        let p = SysProps::from_jvm_flags("-Da=10 -Db=0 -Dc=TRUE -Dd=x");
        assert_eq!(p.int("f", "a", 1, 1).unwrap(), 10);
        assert!(p.int("f", "b", 1, 1).is_err());
        assert_eq!(p.int("f", "missing", 42, 1).unwrap(), 42);
        assert!(p.bool("f", "c", false).unwrap());
        assert!(p.bool("f", "d", false).is_err());
    }
}
