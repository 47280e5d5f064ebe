use super::tests::*;
use super::*;
use crate::quorum::testkit::*;
use crate::quorum::wire::PacketType::NewLeader;
use bytes::Bytes;

/// Found by the simulator (seed 2861): a SNAP loaded in memory and never made durable (the
/// leader died before NEWLEADER) must not survive the failed sync, or a later DIFF builds on a
/// history this member's disk does not have.
#[test]
fn a_sync_that_fails_after_a_snap_reloads_the_state_on_disk() {
    let mut m = following();
    step(&mut m, 300, Input::LeaderConnected { link: LEARNER_LINK });
    packet(&mut m, 300, LEARNER_LINK, leader_info(2));
    let body = Bytes::from_static(b"leader's database");
    let out = step(
        &mut m,
        310,
        Input::Snapshot {
            link: LEARNER_LINK,
            zxid: z(1, 9),
            body: body.clone(),
        },
    );
    assert_eq!(
        out,
        vec![Action::LoadSnapshot {
            zxid: z(1, 9),
            body
        }]
    );
    assert_eq!(m.last_zxid(), z(1, 9));
    let out = step(&mut m, 320, Input::LinkClosed { link: LEARNER_LINK });
    assert!(
        out.contains(&Action::TruncateLog { zxid: z(1, 3) }),
        "reload what the disk holds: {out:?}"
    );
    assert_eq!(m.last_zxid(), z(1, 3), "elects with the durable history");
}

#[test]
fn a_snap_made_durable_at_newleader_is_kept_when_the_sync_fails_later() {
    let mut m = following();
    step(&mut m, 300, Input::LeaderConnected { link: LEARNER_LINK });
    packet(&mut m, 300, LEARNER_LINK, leader_info(2));
    let body = Bytes::from_static(b"db");
    step(
        &mut m,
        310,
        Input::Snapshot {
            link: LEARNER_LINK,
            zxid: z(1, 9),
            body,
        },
    );
    let out = packet(
        &mut m,
        400,
        LEARNER_LINK,
        pkt(NewLeader, z(2, 0), Some(Bytes::from_static(CONFIG))),
    );
    assert_eq!(out[0], Action::TakeSnapshot);
    let out = step(&mut m, 420, Input::LinkClosed { link: LEARNER_LINK });
    assert!(
        !out.iter().any(|a| matches!(a, Action::TruncateLog { .. })),
        "{out:?}"
    );
    assert_eq!(m.last_zxid(), z(1, 9));
}
