//! After heal, the members' txn logs agree: each member's log rises strictly, and at every zxid
//! that two members logged as part of their history they logged the same txn. Two leaders taking
//! writes in one epoch would both number theirs from `<epoch>00000001` and differ here. A
//! member's history starts above the newest SNAP it loaded (`version-2/zkserver.syncBase`):
//! older records may be a divergent, never-committed tail the SNAP replaced (a TRUNC removes
//! such a tail from the log itself). Reads only; the ensemble keeps running.

use std::collections::BTreeMap;

use zkserver::storage::{read_segments_from, read_sync_base};

use crate::common::ensemble::Ensemble;

/// Panics (through `Ensemble::fail`, which keeps the evidence) on the first disagreement;
/// returns how many (member, zxid) records were compared.
pub fn check_logs(ens: &Ensemble) -> usize {
    let mut seen: BTreeMap<i64, (u64, Vec<u8>)> = BTreeMap::new();
    let mut compared = 0;
    for id in ens.ids() {
        let data = ens.member(id).data_dir();
        let base = read_sync_base(&data).unwrap_or(0);
        let records = match read_segments_from(&data.join("version-2"), 0) {
            Ok(r) => r,
            Err(e) => ens.fail(&format!("member {id}: reading its txn log failed: {e}")),
        };
        let mut last = i64::MIN;
        for (zxid, txn) in records {
            if zxid <= base {
                continue;
            }
            if zxid <= last {
                ens.fail(&format!("member {id} logged 0x{zxid:x} after 0x{last:x}"));
            }
            last = zxid;
            compared += 1;
            match seen.get(&zxid) {
                Some((other, bytes)) if bytes[..] != txn[..] => ens.fail(&format!(
                    "members {other} and {id} logged different txns at 0x{zxid:x}: two leaders in one epoch?"
                )),
                Some(_) => {}
                None => {
                    seen.insert(zxid, (id, txn.to_vec()));
                }
            }
        }
    }
    compared
}
