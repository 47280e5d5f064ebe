//! The four-letter-word whitelist (`zookeeper.4lw.commands.whitelist`), with ZooKeeper's rules
//! from `FourLetterCommands.isEnabled`: comma list, `*` = every command, `srvr` always allowed
//! (zkServer.sh status depends on it), `isro` added when `readonlymode.enabled=true`.
//! Must not run commands; it only answers "is this one allowed".

use std::collections::BTreeSet;

/// Every four-letter word ZooKeeper 3.8/3.9 knows.
pub const ALL_FOUR_LETTER_WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst",
    "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
];

/// Which four-letter words may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourLetterWhitelist {
    allowed: BTreeSet<String>,
}

impl Default for FourLetterWhitelist {
    /// ZooKeeper's default when the property is unset: only `srvr`.
    fn default() -> Self {
        Self::parse(None, false).0
    }
}

impl FourLetterWhitelist {
    /// Build from the property value (None when unset). Returns the whitelist and the names
    /// that are not four-letter words (for a warning; they are ignored).
    pub fn parse(value: Option<&str>, readonly_mode: bool) -> (Self, Vec<String>) {
        let mut allowed = BTreeSet::new();
        let mut unknown = Vec::new();
        for name in value.unwrap_or("").split(',').map(str::trim) {
            if name.is_empty() {
                continue;
            }
            if name == "*" {
                allowed.extend(ALL_FOUR_LETTER_WORDS.iter().map(|s| s.to_string()));
            } else if ALL_FOUR_LETTER_WORDS.contains(&name) {
                allowed.insert(name.to_string());
            } else {
                unknown.push(name.to_string());
            }
        }
        if readonly_mode {
            allowed.insert("isro".to_string());
        }
        allowed.insert("srvr".to_string());
        (Self { allowed }, unknown)
    }

    /// May `cmd` run?
    pub fn allows(&self, cmd: &str) -> bool {
        self.allowed.contains(cmd)
    }

    /// The allowed commands, sorted.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_is_srvr_only() {
        let w = FourLetterWhitelist::default();
        assert!(w.allows("srvr"));
        assert!(!w.allows("ruok"));
        assert_eq!(w.commands().count(), 1);
    }

    #[test]
    fn star_allows_all_and_list_is_trimmed() {
        let (w, unknown) = FourLetterWhitelist::parse(Some("*"), false);
        assert!(ALL_FOUR_LETTER_WORDS.iter().all(|c| w.allows(c)));
        assert!(unknown.is_empty());
        let (w, unknown) = FourLetterWhitelist::parse(Some(" ruok , mntr,,kill"), false);
        assert!(w.allows("ruok") && w.allows("mntr") && w.allows("srvr"));
        assert!(!w.allows("stat") && !w.allows("kill"));
        assert_eq!(unknown, vec!["kill".to_string()]);
    }

    #[test]
    fn readonly_mode_adds_isro() {
        let (w, _) = FourLetterWhitelist::parse(Some("ruok"), true);
        assert!(w.allows("isro"));
    }
}
