//! Zxid arithmetic: a zxid is `epoch << 32 | counter` (ZooKeeper's `ZxidUtils`).

/// The epoch half of a zxid.
pub fn epoch_of(zxid: i64) -> i64 {
    zxid >> 32
}

/// The counter half of a zxid.
pub fn counter_of(zxid: i64) -> i64 {
    zxid & 0xffff_ffff
}

/// `epoch << 32 | counter`.
pub fn make_zxid(epoch: i64, counter: i64) -> i64 {
    (epoch << 32) | (counter & 0xffff_ffff)
}

/// A zxid that opens an epoch (counter 0): no txn carries it.
pub fn is_epoch_start(zxid: i64) -> bool {
    counter_of(zxid) == 0
}

/// The last counter a leader may hand out; proposing it makes the leader abdicate so that a
/// new epoch starts (ZooKeeper: "zxid lower 32 bits have rolled over").
pub const MAX_COUNTER: i64 = 0xffff_ffff;

/// A zxid as ZooKeeper logs it: `0x` and lowercase hex.
pub fn hex(zxid: i64) -> String {
    format!("0x{zxid:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_trip() {
        let z = make_zxid(3, 7);
        assert_eq!(z, 0x3_0000_0007);
        assert_eq!(epoch_of(z), 3);
        assert_eq!(counter_of(z), 7);
        assert!(is_epoch_start(make_zxid(5, 0)));
        assert!(!is_epoch_start(z));
        assert_eq!(hex(z), "0x300000007");
    }
}
