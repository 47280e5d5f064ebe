//! After heal, the members' txn logs agree: each member's log rises strictly, and at every zxid
//! that two members logged as part of their history they logged the same txn. Two leaders taking
//! writes in one epoch would both number theirs from `<epoch>00000001` and differ here. A
//! member's history starts above the newest SNAP it loaded (`version-2/zkserver.syncBase`):
//! older records may be a divergent, never-committed tail the SNAP replaced (a TRUNC removes
//! such a tail from the log itself). Reads only; the ensemble keeps running.

use std::collections::BTreeMap;

use bytes::Bytes;
use zkserver::storage::{read_segments_from, read_sync_base};

use crate::common::ensemble::Ensemble;

/// One member's log: its id, the zxid of the newest SNAP it loaded, its records.
pub struct MemberLog {
    pub id: u64,
    pub sync_base: i64,
    pub records: Vec<(i64, Bytes)>,
}

/// Panics (through `Ensemble::fail`, which keeps the evidence) on the first disagreement;
/// returns how many (member, zxid) records were compared.
pub fn check_logs(ens: &Ensemble) -> usize {
    let mut logs = Vec::new();
    for id in ens.ids() {
        let data = ens.member(id).data_dir();
        let sync_base = read_sync_base(&data).unwrap_or(0);
        match read_segments_from(&data.join("version-2"), 0) {
            Ok(records) => logs.push(MemberLog {
                id,
                sync_base,
                records,
            }),
            Err(e) => ens.fail(&format!("member {id}: reading its txn log failed: {e}")),
        }
    }
    compare_logs(&logs).unwrap_or_else(|e| ens.fail(&e))
}

/// The check itself, on logs already read.
pub fn compare_logs(logs: &[MemberLog]) -> Result<usize, String> {
    let mut seen: BTreeMap<i64, (u64, &Bytes)> = BTreeMap::new();
    let mut compared = 0;
    for log in logs {
        let mut last = i64::MIN;
        for (zxid, txn) in log.records.iter().filter(|(z, _)| *z > log.sync_base) {
            if *zxid <= last {
                return Err(format!(
                    "member {} logged 0x{zxid:x} after 0x{last:x}",
                    log.id
                ));
            }
            last = *zxid;
            compared += 1;
            match seen.get(zxid) {
                Some((other, bytes)) if *bytes != txn => {
                    return Err(format!(
                        "members {other} and {} logged different txns at 0x{zxid:x}: two leaders in one epoch?",
                        log.id
                    ))
                }
                Some(_) => {}
                None => {
                    seen.insert(*zxid, (log.id, txn));
                }
            }
        }
    }
    Ok(compared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(id: u64, sync_base: i64, records: &[(i64, &'static str)]) -> MemberLog {
        MemberLog {
            id,
            sync_base,
            records: records
                .iter()
                .map(|(z, t)| (*z, Bytes::from_static(t.as_bytes())))
                .collect(),
        }
    }

    #[test]
    fn agreeing_logs_pass_and_count_what_was_compared() {
        let logs = [
            log(1, 0, &[(0x1_0000_0001, "a"), (0x1_0000_0002, "b")]),
            log(2, 0, &[(0x1_0000_0001, "a")]),
        ];
        assert_eq!(compare_logs(&logs), Ok(3));
    }

    #[test]
    fn two_txns_at_one_zxid_fail() {
        let logs = [
            log(1, 0, &[(0x2_0000_0001, "from leader 1")]),
            log(2, 0, &[(0x2_0000_0001, "from leader 2")]),
        ];
        assert!(compare_logs(&logs).is_err());
    }

    #[test]
    fn a_tail_below_the_snap_base_is_not_history() {
        let logs = [
            log(1, 0x2_0000_0000, &[(0x1_0000_0005, "never committed")]),
            log(2, 0, &[(0x1_0000_0005, "committed")]),
        ];
        assert_eq!(compare_logs(&logs), Ok(1));
    }

    #[test]
    fn a_log_going_back_fails() {
        let logs = [log(1, 0, &[(0x1_0000_0002, "b"), (0x1_0000_0001, "a")])];
        assert!(compare_logs(&logs).is_err());
    }
}
