//! The election port: initial messages, frames and notifications.

use std::collections::BTreeSet;

use bytes::BytesMut;
use zkserver::quorum::wire::election::{
    decode_election_frame, encode_election_frame, InitialMessage, PROTOCOL_V1,
};
use zkserver::quorum::wire::Notification;

use super::fixtures::{check_config, fixtures};

/// `e<dialler>-<listener>.<n>` → (dialler sid, listener sid).
fn link_sids(name: &str) -> (i64, i64) {
    let link = name
        .strip_prefix('e')
        .and_then(|s| s.split('.').next())
        .expect("e<a>-<b>.<n>");
    let (a, b) = link.split_once('-').expect("a-b");
    (a.parse().expect("sid"), b.parse().expect("sid"))
}

/// Splits frames with `decode_election_frame`, decodes each notification, and checks that
/// framing and notification re-encode to the captured bytes.
fn split_notifications(name: &str, bytes: &[u8], sender: i64) -> Vec<Notification> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    let mut offset = 0;
    while !buf.is_empty() {
        let before = buf.len();
        let payload = decode_election_frame(&mut buf)
            .unwrap_or_else(|len| panic!("{name} @{offset}: frame length {len}"))
            .unwrap_or_else(|| panic!("{name} @{offset}: stream ends inside a frame"));
        let used = before - buf.len();
        let mut framed = BytesMut::new();
        encode_election_frame(&mut framed, &payload);
        assert_eq!(
            &framed[..],
            &bytes[offset..offset + used],
            "{name} @{offset}"
        );
        let n = Notification::decode(&payload).unwrap_or_else(|e| panic!("{name} @{offset}: {e}"));
        assert_eq!(
            n.encode(),
            payload,
            "{name} @{offset}: notification re-encoding"
        );
        assert_eq!(n.version, 2, "{name} @{offset}");
        assert!((0..=3).contains(&n.state), "{name} @{offset}");
        let config = std::str::from_utf8(&n.config).expect("UTF-8 config");
        check_config(&format!("{name} @{offset}"), config);
        // The config is the sender's own QV: its own line names the wildcard host.
        assert!(
            config.contains(&format!("server.{sender}=0.0.0.0:")),
            "{name} @{offset}: {config:?}"
        );
        out.push(n);
        offset += used;
    }
    out
}

#[test]
fn election_streams_decode_and_reencode_byte_for_byte() {
    let dialled = fixtures("election", ".dialler.bin");
    let answered = fixtures("election", ".listener.bin");
    assert_eq!(dialled.len(), answered.len());
    let mut states = BTreeSet::new();
    let mut observer_votes = 0;
    let mut dropped_dials = 0;
    let mut replies_to_looking = 0;
    for ((name, out), (name2, back)) in dialled.iter().zip(&answered) {
        assert_eq!(name, name2);
        let (dialler, listener) = link_sids(name);
        let (msg, used) = InitialMessage::parse(out)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: partial initial message"));
        assert_eq!(
            &out[..8],
            &PROTOCOL_V1.to_be_bytes(),
            "{name}: stock 3.8 sends V1"
        );
        assert_eq!(msg.sid, dialler, "{name}");
        assert_eq!(msg.addrs.len(), 1, "{name}");
        assert!(
            msg.addrs[0].starts_with("0.0.0.0:"),
            "{name}: {:?}",
            msg.addrs
        );
        assert_eq!(
            InitialMessage::encode_v1(msg.sid, &msg.addrs[0]),
            out.slice(..used),
            "{name}: initial message re-encoding"
        );
        if dialler < listener {
            // §1.3: a smaller sid's connection is dropped at once (the larger one dials back).
            assert_eq!(used, out.len(), "{name}: nothing after the initial message");
            assert!(back.is_empty(), "{name}: nothing comes back");
            dropped_dials += 1;
            continue;
        }
        let sent = split_notifications(&format!("{name}.dialler"), &out[used..], dialler);
        let got = split_notifications(&format!("{name}.listener"), back, listener);
        for n in sent.iter().chain(&got) {
            states.insert(n.state);
        }
        for n in &sent {
            if dialler == 4 && n.state == 0 && n.leader == i64::MIN {
                // An observer's own initial vote (§2.5): no leader, zxid or epoch.
                assert_eq!((n.zxid, n.peer_epoch), (i64::MIN, i64::MIN), "{name}");
                observer_votes += 1;
            }
        }
        if sent.iter().any(|n| n.state == 0) && got.iter().any(|n| matches!(n.state, 1 | 2)) {
            replies_to_looking += 1;
        }
    }
    assert_eq!(
        states,
        (0..=3).collect(),
        "LOOKING, FOLLOWING, LEADING and OBSERVING seen"
    );
    assert!(observer_votes > 0, "an observer's initial vote");
    assert!(dropped_dials > 0, "a smaller sid dialling a larger one");
    assert!(
        replies_to_looking > 0,
        "FOLLOWING/LEADING replies to a LOOKING peer"
    );
}

#[test]
fn cold_start_election_is_three_looking_peers_agreeing() {
    // The first connection between the two largest participants carries the cold-start
    // election: both start LOOKING with zxid 0 and epoch 0, voting for themselves in round 1.
    let out = fixtures("election", ".dialler.bin")
        .into_iter()
        .find(|(n, _)| n == "e3-2.1")
        .expect("e3-2.1");
    let back = fixtures("election", ".listener.bin")
        .into_iter()
        .find(|(n, _)| n == "e3-2.1")
        .expect("e3-2.1");
    let (_, used) = InitialMessage::parse(&out.1).expect("ok").expect("whole");
    let sent = split_notifications("e3-2.1.dialler", &out.1[used..], 3);
    let got = split_notifications("e3-2.1.listener", &back.1, 2);
    let first = &sent[0];
    assert_eq!(
        (first.state, first.leader, first.zxid, first.peer_epoch),
        (0, 3, 0, 0)
    );
    assert_eq!(first.election_epoch, 1);
    // Member 2 ends up voting for 3 (the larger sid wins a tie on epoch and zxid).
    assert!(
        got.iter().any(|n| n.state == 0 && n.leader == 3),
        "2 adopts 3's vote"
    );
}
