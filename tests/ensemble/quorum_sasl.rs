//! Quorum SASL (`quorum.auth.enableSasl`, `learnerRequireSasl`, `serverRequireSasl`) with the
//! JAAS file Apache's documentation gives (`QuorumServer` users, `QuorumLearner` login), on the
//! election and the quorum port: an ensemble requiring it forms and replicates; a member with a
//! wrong password, or without SASL, cannot join and the logs say why; and mixed ensembles with
//! Apache 3.8 members configured the same way, zkserver as learner of an Apache leader and as
//! leader of Apache learners.

use std::time::Duration;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::common::Impl;
use crate::common::Impl::{Apache as A, ZkServer as Z};
use crate::mixed::MIXED;
use crate::replication::writes_through_every_member;

/// Apache's and zkserver's line for a finished login, on either side.
const SUCCESS: &str = "Successfully completed the authentication using SASL";

const JAAS: &str = r#"
QuorumServer {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_test="test";
};
QuorumLearner {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="test"
       password="test";
};
BadLearner {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="test"
       password="not-the-password";
};
"#;

/// Options requiring quorum SASL everywhere, and the JAAS file's directory (kept alive).
fn sasl_opts(opts: EnsembleOpts) -> (EnsembleOpts, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("quorum.jaas");
    std::fs::write(&path, JAAS).expect("write jaas");
    let opts = opts
        .cfg("quorum.auth.enableSasl=true")
        .cfg("quorum.auth.learnerRequireSasl=true")
        .cfg("quorum.auth.serverRequireSasl=true")
        .env(
            "SERVER_JVMFLAGS",
            &format!("-Djava.security.auth.login.config={}", path.display()),
        );
    (opts, dir)
}

/// Every follower logged its finished login to the leader's quorum port (Apache's and
/// zkserver's learner line names the server address), and every member some login.
fn assert_logins(ens: &Ensemble) {
    let leader = ens.leader().expect("leader");
    let quorum_port = format!(":{}", ens.member(leader).quorum_port);
    for id in ens.ids() {
        let log = ens.member(id).log();
        let to_leader = log
            .lines()
            .any(|l| l.contains(SUCCESS) && l.contains("server addr") && l.contains(&quorum_port));
        assert!(
            log.contains(SUCCESS) && (id == leader || to_leader),
            "member {id} logged no SASL login to the leader's quorum port{}",
            ens.log_tails(40)
        );
    }
}

/// Replaces `key=...` (or appends `key=value`) in member `id`'s zoo.cfg.
fn set_cfg(ens: &Ensemble, id: u64, key: &str, value: Option<&str>) {
    let text = std::fs::read_to_string(ens.member(id).cfg_path()).expect("read zoo.cfg");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{key}=")))
        .map(str::to_string)
        .collect();
    if let Some(v) = value {
        lines.push(format!("{key}={v}"));
    }
    ens.write_cfg(id, &(lines.join("\n") + "\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ensemble_requiring_quorum_sasl_forms_and_replicates() {
    let (opts, _jaas) = sasl_opts(EnsembleOpts::new(3, 0));
    let Some(ens) = writes_through_every_member(opts).await else {
        return;
    };
    assert_logins(&ens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_a_wrong_password_or_without_sasl_cannot_join() {
    let (opts, _jaas) = sasl_opts(EnsembleOpts::new(3, 0));
    let Some(mut ens) = Ensemble::prepare(opts) else {
        return;
    };
    // Member 1 is dialled by 2 and 3 on the election port (their logins are right), so it
    // learns who leads; its own login to the leader's quorum port fails.
    set_cfg(
        &ens,
        1,
        "quorum.auth.learner.saslLoginContext",
        Some("BadLearner"),
    );
    for id in [2, 3] {
        ens.start_member(id);
    }
    let leader = ens.wait_serving(&[2, 3], Duration::from_secs(30)).await;
    let from = ens.member(leader).log_len();
    ens.start_member(1);
    let log = ens
        .wait_log(
            1,
            0,
            "uthentication failed against server addr",
            Duration::from_secs(20),
        )
        .await;
    if ens.imp() == Impl::ZkServer {
        assert!(log.contains("wrong user or password"), "{log}");
    }
    ens.wait_log(
        leader,
        from,
        "Failed to authenticate using SASL",
        Duration::from_secs(10),
    )
    .await;
    // Still not serving a while later (it keeps trying).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ens.mode(1), None, "{:?}", ens.srvr(1));

    // Without quorum SASL at all, the leader refuses it too.
    ens.kill(1);
    for key in [
        "quorum.auth.learner.saslLoginContext",
        "quorum.auth.enableSasl",
        "quorum.auth.learnerRequireSasl",
        "quorum.auth.serverRequireSasl",
    ] {
        set_cfg(&ens, 1, key, None);
    }
    let from = ens.member(leader).log_len();
    ens.start_member(1);
    // Refused on the election port already (Apache logs the reason at DEBUG only).
    let needle = match ens.imp() {
        Impl::ZkServer => "Learner not trying to authenticate and authentication is required",
        Impl::Apache => "closing server connection",
    };
    ens.wait_log(leader, from, needle, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ens.mode(1), None, "{:?}", ens.srvr(1));
    assert_eq!(ens.leader(), Some(leader));
}

/// A mixed ensemble requiring quorum SASL (member 3 leads) replicates, and its followers
/// logged in to the leader.
async fn mixed(impls: [Impl; 3]) {
    let _turn = MIXED.lock().await;
    let (opts, _jaas) = sasl_opts(EnsembleOpts::new(3, 0).mixed(&impls).led_by(3));
    let Some(ens) = writes_through_every_member(opts).await else {
        return;
    };
    assert_eq!(ens.leader(), Some(3));
    assert_logins(&ens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_learner_logs_in_to_an_apache_leader() {
    mixed([Z, A, A]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_learners_log_in_to_a_zkserver_leader() {
    mixed([A, A, Z]).await;
}
