//! Watches: which sessions to notify when a node changes. Pure bookkeeping — the runtime
//! serializes each event once and sends it to the sessions returned here.
//!
//! One table keyed by path holds, per session, a bit set of watch kinds: one-shot data
//! (getData/exists), one-shot child (getChildren), persistent, persistent-recursive.
//! A session is notified at most once per triggered event, as ZooKeeper dedups per watcher.

use std::collections::{HashMap, HashSet};

use super::node::PathHasher;
use super::path;
use crate::proto::opcode::{EventType, WatcherType};

const DATA: u8 = 1;
const CHILD: u8 = 2;
const PERSISTENT: u8 = 4;
const RECURSIVE: u8 = 8;
/// The kinds ZooKeeper keeps in its data-watch table, and in its child-watch table.
const DATA_TABLE: u8 = DATA | PERSISTENT | RECURSIVE;
const CHILD_TABLE: u8 = CHILD | PERSISTENT | RECURSIVE;

/// The kind of watch a request registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// getData / exists (also on a missing node).
    Data,
    /// getChildren / getChildren2.
    Child,
    Persistent,
    PersistentRecursive,
}

impl WatchKind {
    fn bit(self) -> u8 {
        match self {
            WatchKind::Data => DATA,
            WatchKind::Child => CHILD,
            WatchKind::Persistent => PERSISTENT,
            WatchKind::PersistentRecursive => RECURSIVE,
        }
    }
}

fn watcher_type_bits(t: WatcherType) -> u8 {
    match t {
        WatcherType::Children => CHILD,
        WatcherType::Data => DATA,
        WatcherType::Any => DATA | CHILD | PERSISTENT | RECURSIVE,
        WatcherType::Persistent => PERSISTENT,
        WatcherType::PersistentRecursive => RECURSIVE,
    }
}

#[derive(Debug, Default, Clone)]
pub struct WatchManager {
    by_path: HashMap<String, HashMap<i64, u8>, PathHasher>,
    by_session: HashMap<i64, HashSet<String, PathHasher>>,
    recursive: usize,
}

impl WatchManager {
    pub fn add(&mut self, session: i64, path: &str, kind: WatchKind) {
        let bits = self
            .by_path
            .entry(path.to_string())
            .or_default()
            .entry(session)
            .or_insert(0);
        if kind == WatchKind::PersistentRecursive && *bits & RECURSIVE == 0 {
            self.recursive += 1;
        }
        *bits |= kind.bit();
        self.by_session
            .entry(session)
            .or_default()
            .insert(path.to_string());
    }

    /// Sessions to notify of `event` on `path`; one-shot watches that fire are removed.
    pub fn trigger(&mut self, path: &str, event: EventType) -> Vec<i64> {
        let (fires, clears) = match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                (DATA | PERSISTENT | RECURSIVE, DATA)
            }
            EventType::NodeDeleted => (DATA | CHILD | PERSISTENT | RECURSIVE, DATA | CHILD),
            EventType::NodeChildrenChanged => (CHILD | PERSISTENT, CHILD),
        };
        let mut out = Vec::new();
        let mut emptied = Vec::new();
        if let Some(watchers) = self.by_path.get_mut(path) {
            for (&session, bits) in watchers.iter_mut() {
                if *bits & fires != 0 {
                    out.push(session);
                    *bits &= !clears;
                    if *bits == 0 {
                        emptied.push(session);
                    }
                }
            }
            for s in &emptied {
                watchers.remove(s);
            }
            if watchers.is_empty() {
                self.by_path.remove(path);
            }
        }
        for s in emptied {
            self.forget(s, path);
        }
        // Recursive watchers see every event below them except child changes.
        if self.recursive > 0 && event != EventType::NodeChildrenChanged {
            for ancestor in path::ancestors(path) {
                if let Some(watchers) = self.by_path.get(ancestor) {
                    for (&session, &bits) in watchers {
                        if bits & RECURSIVE != 0 && !out.contains(&session) {
                            out.push(session);
                        }
                    }
                }
            }
        }
        out
    }

    fn forget(&mut self, session: i64, path: &str) {
        if let Some(paths) = self.by_session.get_mut(&session) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_session.remove(&session);
            }
        }
    }

    /// checkWatches: whether the session holds a watch of that type on `path`.
    pub fn contains(&self, session: i64, path: &str, t: WatcherType) -> bool {
        let bits = self
            .by_path
            .get(path)
            .and_then(|w| w.get(&session))
            .copied()
            .unwrap_or(0);
        bits & watcher_type_bits(t) != 0
    }

    /// removeWatches: drops the session's watches of that type on `path`; false if none.
    pub fn remove(&mut self, session: i64, path: &str, t: WatcherType) -> bool {
        let mask = watcher_type_bits(t);
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(bits) = watchers.get_mut(&session) else {
            return false;
        };
        if *bits & mask == 0 {
            return false;
        }
        if *bits & mask & RECURSIVE != 0 {
            self.recursive -= 1;
        }
        *bits &= !mask;
        if *bits == 0 {
            watchers.remove(&session);
            if watchers.is_empty() {
                self.by_path.remove(path);
            }
            self.forget(session, path);
        }
        true
    }

    /// Drops every watch of a closed session.
    pub fn remove_session(&mut self, session: i64) {
        let Some(paths) = self.by_session.remove(&session) else {
            return;
        };
        for p in paths {
            if let Some(watchers) = self.by_path.get_mut(&p) {
                if let Some(bits) = watchers.remove(&session) {
                    if bits & RECURSIVE != 0 {
                        self.recursive -= 1;
                    }
                }
                if watchers.is_empty() {
                    self.by_path.remove(&p);
                }
            }
        }
    }

    /// Total watches, counting each (session, path, kind) once (`wchs`, mntr).
    pub fn watch_count(&self) -> usize {
        self.by_path
            .values()
            .flat_map(|w| w.values())
            .map(|b| b.count_ones() as usize)
            .sum()
    }

    pub fn path_count(&self) -> usize {
        self.by_path.len()
    }

    pub fn session_count(&self) -> usize {
        self.by_session.len()
    }

    /// ZooKeeper's `getWatchCount`: its data-watch table plus its child-watch table, each
    /// holding a (path, session) once; persistent watches sit in both.
    pub fn zookeeper_watch_count(&self) -> usize {
        self.by_path
            .values()
            .flat_map(|w| w.values())
            .map(|&b| usize::from(b & DATA_TABLE != 0) + usize::from(b & CHILD_TABLE != 0))
            .sum()
    }

    /// (sessions, paths, watches) in ZooKeeper's data-watch table (`wchs`).
    pub fn data_watch_summary(&self) -> (usize, usize, usize) {
        let mut sessions = HashSet::new();
        let (mut paths, mut total) = (0, 0);
        for w in self.by_path.values() {
            let before = total;
            for (s, &b) in w {
                if b & DATA_TABLE != 0 {
                    sessions.insert(*s);
                    total += 1;
                }
            }
            paths += usize::from(total > before);
        }
        (sessions.len(), paths, total)
    }

    /// What ZooKeeper's data-watch table holds (`wchs`, `wchc` and `wchp` report only that
    /// table): each path with the sessions that have a data, exists or persistent watch on it.
    pub fn data_watches_by_path(&self) -> impl Iterator<Item = (&String, Vec<i64>)> {
        self.by_path.iter().filter_map(|(p, w)| {
            let ids: Vec<i64> = w
                .iter()
                .filter(|(_, &b)| b & DATA_TABLE != 0)
                .map(|(s, _)| *s)
                .collect();
            (!ids.is_empty()).then_some((p, ids))
        })
    }

    /// Paths watched per session (`wchc`).
    pub fn by_session(&self) -> impl Iterator<Item = (i64, &HashSet<String, PathHasher>)> {
        self.by_session.iter().map(|(s, p)| (*s, p))
    }

    /// Sessions watching each path (`wchp`).
    pub fn by_path(&self) -> impl Iterator<Item = (&String, Vec<i64>)> {
        self.by_path
            .iter()
            .map(|(p, w)| (p, w.keys().copied().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventType::*;

    #[test]
    fn zookeeper_tables_data_child_and_persistent() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/a", WatchKind::Child);
        w.add(2, "/b", WatchKind::Child);
        w.add(3, "/c", WatchKind::Persistent);
        // Data table: (1,/a), (3,/c); child table: (1,/a), (2,/b), (3,/c).
        assert_eq!(w.zookeeper_watch_count(), 5);
        assert_eq!(w.data_watch_summary(), (2, 2, 2));
        let mut paths: Vec<_> = w
            .data_watches_by_path()
            .map(|(p, s)| (p.clone(), s))
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            [("/a".to_string(), vec![1]), ("/c".to_string(), vec![3])]
        );
    }

    #[test]
    fn one_shot_watches_fire_once() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Data);
        w.add(2, "/a", WatchKind::Child);
        assert_eq!(w.trigger("/a", NodeDataChanged), vec![1]);
        assert!(w.trigger("/a", NodeDataChanged).is_empty());
        assert_eq!(w.trigger("/a", NodeChildrenChanged), vec![2]);
        assert_eq!(w.watch_count(), 0);
        assert_eq!(w.session_count(), 0);
    }

    #[test]
    fn delete_notifies_each_session_once() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/a", WatchKind::Child);
        assert_eq!(w.trigger("/a", NodeDeleted), vec![1]);
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn persistent_watches_stay_and_recursive_skip_child_events() {
        let mut w = WatchManager::default();
        w.add(1, "/a", WatchKind::Persistent);
        w.add(2, "/a", WatchKind::PersistentRecursive);
        assert_eq!(sorted(w.trigger("/a", NodeDataChanged)), vec![1, 2]);
        assert_eq!(w.trigger("/a", NodeChildrenChanged), vec![1]);
        assert_eq!(w.trigger("/a/b/c", NodeCreated), vec![2]);
        assert!(w.trigger("/ab", NodeCreated).is_empty());
        assert!(w.remove(2, "/a", WatcherType::PersistentRecursive));
        assert!(!w.remove(2, "/a", WatcherType::PersistentRecursive));
        assert!(w.trigger("/a/b", NodeCreated).is_empty());
        assert_eq!(w.watch_count(), 1);
    }

    #[test]
    fn session_close_drops_its_watches() {
        let mut w = WatchManager::default();
        w.add(7, "/x", WatchKind::PersistentRecursive);
        w.add(7, "/y", WatchKind::Data);
        w.remove_session(7);
        assert_eq!(w.watch_count(), 0);
        assert!(w.trigger("/x/z", NodeCreated).is_empty());
    }

    fn sorted(mut v: Vec<i64>) -> Vec<i64> {
        v.sort();
        v
    }
}
