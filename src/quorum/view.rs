//! Who votes and what a quorum is: ZooKeeper's `QuorumMaj` over the `server.N` list, plus the
//! member list text peers exchange (`QuorumVerifier.toString()`: `server.N=…` lines and
//! `version=<hex>`). With `reconfigEnabled` a view is replaced by a later one (a reconfig's
//! new config, or the NEWLEADER config that stamps the first version); views are values.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::Sid;

/// The ensemble as this member sees it: built by the runtime from zoo.cfg (or its dynamic
/// file), replaced as a whole when a new configuration is activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumView {
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
    /// UTF-8 `server.N=host:q:e:type[;client]` lines and `version=<hex>`, sent in
    /// notifications and NEWLEADER.
    config: Bytes,
    version: i64,
}

impl QuorumView {
    pub fn new(
        voters: impl IntoIterator<Item = Sid>,
        observers: impl IntoIterator<Item = Sid>,
        config: Bytes,
    ) -> QuorumView {
        QuorumView {
            voters: voters.into_iter().collect(),
            observers: observers.into_iter().collect(),
            config,
            version: 0,
        }
    }

    /// The view a config text describes (`server.N=host:q:e[:type][;client]` lines and an
    /// optional `version=<hex>`), as peers send it in NEWLEADER, notifications and a reconfig
    /// txn. `None` when a line is malformed or no server is listed.
    pub fn from_config(config: Bytes) -> Option<QuorumView> {
        let text = std::str::from_utf8(&config).ok()?;
        let mut voters = BTreeSet::new();
        let mut observers = BTreeSet::new();
        let mut version = 0;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            if key == "version" {
                version = i64::from_str_radix(value.trim(), 16).ok()?;
            } else if let Some(id) = key.strip_prefix("server.") {
                let id: Sid = id.parse().ok()?;
                let spec = crate::config::parse_server(id, value.trim(), 0).ok()?;
                match spec.peer_type {
                    crate::config::PeerType::Participant => voters.insert(id),
                    crate::config::PeerType::Observer => observers.insert(id),
                };
            } else {
                return None;
            }
        }
        if voters.is_empty() && observers.is_empty() {
            return None;
        }
        Some(QuorumView {
            voters,
            observers,
            config,
            version,
        })
    }

    /// The same members stamped with another version (the text's `version=` line replaced),
    /// as Apache's leader stamps a version-0 configuration with NEWLEADER's zxid.
    pub fn with_version(&self, version: i64) -> QuorumView {
        let text = String::from_utf8_lossy(&self.config);
        let mut lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("version="))
            .collect();
        let stamp = format!("version={version:x}");
        lines.push(&stamp);
        QuorumView {
            voters: self.voters.clone(),
            observers: self.observers.clone(),
            config: Bytes::from(lines.join("\n")),
            version,
        }
    }

    /// A standalone server: itself, the only voter.
    pub fn single(me: Sid) -> QuorumView {
        QuorumView::new([me], [], Bytes::new())
    }

    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(&sid)
    }

    /// `validVoter` on a raw notification id (negative ids are never voters).
    pub fn is_voter_id(&self, id: i64) -> bool {
        u64::try_from(id).is_ok_and(|s| self.is_voter(s))
    }

    pub fn is_observer(&self, sid: Sid) -> bool {
        self.observers.contains(&sid)
    }

    pub fn is_member(&self, sid: Sid) -> bool {
        self.is_voter(sid) || self.is_observer(sid)
    }

    pub fn observers(&self) -> impl Iterator<Item = Sid> + '_ {
        self.observers.iter().copied()
    }

    pub fn voters(&self) -> impl Iterator<Item = Sid> + '_ {
        self.voters.iter().copied()
    }

    pub fn voter_count(&self) -> usize {
        self.voters.len()
    }

    /// Smallest number of voters that form a quorum (majority).
    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Whether the voters among `sids` are a majority of all voters.
    pub fn is_quorum<'a>(&self, sids: impl IntoIterator<Item = &'a Sid>) -> bool {
        let votes = sids.into_iter().filter(|s| self.voters.contains(s)).count();
        votes > self.voters.len() / 2
    }

    pub fn config(&self) -> &Bytes {
        &self.config
    }

    pub fn version(&self) -> i64 {
        self.version
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn majority_counts_voters_only() {
        let v = QuorumView::new([1, 2, 3], [4], Bytes::new());
        assert!(!v.is_quorum(&[1]));
        assert!(!v.is_quorum(&[1, 4]));
        assert!(v.is_quorum(&[1, 2]));
        assert_eq!(v.quorum_size(), 2);
        let five = QuorumView::new([1, 2, 3, 4, 5], [], Bytes::new());
        assert!(!five.is_quorum(&[1, 2]));
        assert!(five.is_quorum(&[1, 2, 5]));
        assert!(QuorumView::single(7).is_quorum(&[7]));
        assert!(!v.is_voter_id(-1) && v.is_voter_id(2) && !v.is_voter_id(4));
    }

    #[test]
    fn config_text_round_trips_with_a_new_version() {
        let text = "server.1=127.0.0.1:2888:3888:participant\n\
                    server.2=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n\
                    server.3=127.0.0.1:2890:3890:observer\nversion=0";
        let v = QuorumView::from_config(Bytes::from(text)).unwrap();
        assert_eq!(v.voters().collect::<Vec<_>>(), [1, 2]);
        assert!(v.is_observer(3) && v.version() == 0);
        let stamped = v.with_version(0x1_0000_0000);
        assert_eq!(stamped.version(), 0x1_0000_0000);
        assert!(stamped.config().ends_with(b"observer\nversion=100000000"));
        assert_eq!(
            QuorumView::from_config(stamped.config().clone()),
            Some(stamped)
        );
        assert_eq!(QuorumView::from_config(Bytes::from("bogus=1")), None);
        assert_eq!(QuorumView::from_config(Bytes::from("version=1")), None);
    }
}
