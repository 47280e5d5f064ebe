use super::*;
use crate::quorum::zxid::make_zxid;

fn log_of(zxids: &[i64]) -> CommittedLog {
    let mut log = CommittedLog::new(0);
    for &z in zxids {
        log.push(z, Bytes::from(format!("txn{z:x}")));
    }
    log
}

fn kinds(plan: &SyncPlan) -> Vec<(i32, i64)> {
    plan.packets.iter().map(|p| (p.kind, p.zxid)).collect()
}

fn input<'a>(peer: i64, committed: &'a CommittedLog, last: i64) -> SyncInput<'a> {
    SyncInput {
        peer_zxid: peer,
        committed,
        last_processed: last,
        log: None,
        force_snap: false,
    }
}

const DIFF: i32 = PacketType::Diff as i32;
const TRUNC: i32 = PacketType::Trunc as i32;
const PROPOSAL: i32 = PacketType::Proposal as i32;
const COMMIT: i32 = PacketType::Commit as i32;

#[test]
fn in_sync_peer_gets_an_empty_diff() {
    let log = log_of(&[make_zxid(1, 1), make_zxid(1, 2)]);
    let plan = plan_sync(&input(make_zxid(1, 2), &log, make_zxid(1, 2)));
    assert_eq!(kinds(&plan), vec![(DIFF, make_zxid(1, 2))]);
    assert!(!plan.snap);
    assert_eq!(plan.kind(), "DIFF");
}

#[test]
fn lagging_peer_gets_the_txns_it_lacks() {
    let z = |c| make_zxid(1, c);
    let log = log_of(&[z(1), z(2), z(3), z(4)]);
    let plan = plan_sync(&input(z(2), &log, z(4)));
    assert_eq!(
        kinds(&plan),
        vec![
            (DIFF, z(4)),
            (PROPOSAL, z(3)),
            (COMMIT, z(3)),
            (PROPOSAL, z(4)),
            (COMMIT, z(4))
        ]
    );
    assert_eq!(plan.queued_zxid, z(4));
    assert_eq!(plan.packets[1].data.as_deref(), Some(&b"txn100000003"[..]));
}

#[test]
fn peer_ahead_is_truncated_to_the_last_committed() {
    let z = |c| make_zxid(1, c);
    let log = log_of(&[z(1), z(2)]);
    let plan = plan_sync(&input(z(5), &log, z(2)));
    assert_eq!(kinds(&plan), vec![(TRUNC, z(2))]);
    assert_eq!(plan.kind(), "TRUNC");
}

#[test]
fn divergent_peer_in_the_same_epoch_is_truncated_then_diffed() {
    // The peer logged (1,3) that the quorum never committed; the leader has (1,2) then (2,1).
    let log = log_of(&[
        make_zxid(1, 1),
        make_zxid(1, 2),
        make_zxid(1, 4),
        make_zxid(2, 1),
    ]);
    let plan = plan_sync(&input(make_zxid(1, 3), &log, make_zxid(2, 1)));
    assert_eq!(
        kinds(&plan),
        vec![
            (TRUNC, make_zxid(1, 2)),
            (PROPOSAL, make_zxid(1, 4)),
            (COMMIT, make_zxid(1, 4)),
            (PROPOSAL, make_zxid(2, 1)),
            (COMMIT, make_zxid(2, 1)),
        ]
    );
}

#[test]
fn divergent_peer_across_epochs_gets_a_snapshot() {
    let log = log_of(&[make_zxid(1, 1), make_zxid(3, 1)]);
    let plan = plan_sync(&input(make_zxid(2, 5), &log, make_zxid(3, 1)));
    assert!(plan.snap);
    assert_eq!(plan.queued_zxid, make_zxid(3, 1));
}

#[test]
fn new_epoch_peer_gets_a_diff_not_a_trunc() {
    let log = log_of(&[make_zxid(1, 1), make_zxid(2, 1)]);
    let plan = plan_sync(&input(make_zxid(2, 0), &log, make_zxid(2, 1)));
    assert_eq!(
        kinds(&plan),
        vec![
            (DIFF, make_zxid(2, 1)),
            (PROPOSAL, make_zxid(2, 1)),
            (COMMIT, make_zxid(2, 1))
        ]
    );
}

#[test]
fn old_peer_without_disk_history_gets_a_snapshot() {
    let log = log_of(&[make_zxid(1, 10), make_zxid(1, 11)]);
    assert!(plan_sync(&input(make_zxid(1, 2), &log, make_zxid(1, 11))).snap);
    assert!(plan_sync(&input(0, &log, make_zxid(1, 11))).snap);
}

struct Disk(Vec<(i64, Bytes)>);

impl LogSource for Disk {
    fn txns_between(&self, after: i64, upto: i64) -> Option<Vec<(i64, Bytes)>> {
        if !self.0.iter().any(|(z, _)| *z == after) {
            return None;
        }
        Some(
            self.0
                .iter()
                .filter(|(z, _)| *z > after && *z <= upto)
                .cloned()
                .collect(),
        )
    }
}

#[test]
fn old_peer_is_diffed_from_the_disk_log_then_memory() {
    let z = |c| make_zxid(1, c);
    let disk = Disk((1..=6).map(|c| (z(c), Bytes::from_static(b"d"))).collect());
    let mem = log_of(&[z(5), z(6)]);
    let mut i = input(z(2), &mem, z(6));
    i.log = Some(&disk);
    let plan = plan_sync(&i);
    assert!(!plan.snap);
    let zx: Vec<i64> = plan
        .packets
        .iter()
        .filter(|p| p.kind == PROPOSAL)
        .map(|p| p.zxid)
        .collect();
    assert_eq!(zx, vec![z(3), z(4), z(5), z(6)]);
    assert_eq!(plan.packets[0].kind, DIFF);
    // A gap between the disk log's end and memory falls back to a snapshot.
    let gap = Disk(vec![(z(2), Bytes::new()), (z(3), Bytes::new())]);
    let mem = log_of(&[z(8), z(9)]);
    let mut i = input(z(2), &mem, z(9));
    i.log = Some(&gap);
    assert!(plan_sync(&i).snap);
}

#[test]
fn committed_log_is_bounded_and_truncatable() {
    let mut log = CommittedLog::new(0);
    for c in 1..=600 {
        log.push(make_zxid(1, c), Bytes::new());
    }
    assert_eq!(log.len(), DEFAULT_COMMIT_LOG_COUNT);
    assert_eq!(log.min_zxid(), Some(make_zxid(1, 101)));
    log.truncate_after(make_zxid(1, 200));
    assert_eq!(log.max_zxid(), Some(make_zxid(1, 200)));
    log.push(make_zxid(1, 150), Bytes::new());
    assert_eq!(
        log.max_zxid(),
        Some(make_zxid(1, 200)),
        "older zxids are ignored"
    );
}
