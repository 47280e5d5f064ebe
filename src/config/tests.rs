//! Table-driven tests for zoo.cfg parsing: defaults, good configs, and bad ones whose error
//! message must name file, line and key.

use std::path::Path;

use super::*;

const FILE: &str = "conf/zoo.cfg";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new(FILE), "")
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}\n{text}"),
    }
}

const QUORUM: &str = "tickTime=2000\ndataDir=/var/zk\ninitLimit=10\nsyncLimit=5\nclientPort=2181\n\
server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888:observer;zk3:2182\n";

#[test]
fn defaults_for_a_minimal_file() {
    let c = ok("dataDir=/tmp/zk\nclientPort=2181\n");
    assert_eq!(c.tick_time_ms, 3000);
    assert_eq!(c.data_dir, Path::new("/tmp/zk"));
    assert_eq!(c.data_log_dir, Path::new("/tmp/zk"));
    assert_eq!(
        (c.min_session_timeout_ms, c.max_session_timeout_ms),
        (6000, 60000)
    );
    assert_eq!(
        (c.max_client_cnxns, c.max_cnxns, c.global_outstanding_limit),
        (60, 0, 1000)
    );
    assert_eq!(
        (c.snap_count, c.pre_alloc_size_bytes),
        (100_000, 64 * 1024 * 1024)
    );
    assert_eq!(
        (
            c.autopurge_snap_retain_count,
            c.autopurge_purge_interval_hours
        ),
        (3, 0)
    );
    assert_eq!(c.jute_max_buffer, 1_048_575);
    assert!(c.force_sync && !c.skip_acl && !c.extended_types_enabled);
    assert_eq!(
        (c.container_check_interval_ms, c.container_max_per_minute),
        (60_000, 10_000)
    );
    assert!(c.four_letter_words.allows("srvr") && !c.four_letter_words.allows("ruok"));
    assert_eq!((c.server_id, c.is_distributed()), (0, false));
    assert_eq!((c.admin.enable_server, c.admin.server_port), (true, 8080));
    assert_eq!(c.admin.command_url, "/commands");
    assert_eq!(
        (c.metrics.http_port, c.metrics.prometheus_enabled()),
        (7000, false)
    );
    assert!(c.properties.is_empty() && c.warnings.is_empty());
}

#[test]
fn typical_standalone_file() {
    let text = "# sample\ntickTime = 2000\ninitLimit: 10\nsyncLimit 5\ndataDir=/d\ndataLogDir=/l\n\
clientPort=2182\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nminSessionTimeout=3000\n\
4lw.commands.whitelist=srvr, ruok,\\\n   mntr\nautopurge.snapRetainCount=1\nautopurge.purgeInterval=24\n\
admin.enableServer=false\nadmin.serverPort=9090\nmetricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
metricsProvider.httpPort=7001\nmetricsProvider.exportJvmInfo=false\nsnapCount=5000\npreAllocSize=1024\nforceSync=no\n";
    let c = ok(text);
    assert_eq!((c.tick_time_ms, c.init_limit, c.sync_limit), (2000, 10, 5));
    assert_eq!(c.data_log_dir, Path::new("/l"));
    assert_eq!(c.client_port, 2182);
    assert_eq!(c.client_port_address, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(
        (c.min_session_timeout_ms, c.max_session_timeout_ms),
        (3000, 40000)
    );
    assert!(c.four_letter_words.allows("mntr") && c.four_letter_words.allows("ruok"));
    assert!(!c.four_letter_words.allows("stat"));
    assert_eq!(c.autopurge_snap_retain_count, 3, "raised to the minimum");
    assert!(c.warnings.iter().any(|w| w.to_string()
        == "conf/zoo.cfg:13: Invalid autopurge.snapRetainCount: 1. Defaulting to 3"));
    assert_eq!(c.autopurge_purge_interval_hours, 24);
    assert_eq!((c.admin.enable_server, c.admin.server_port), (false, 9090));
    assert!(c.metrics.prometheus_enabled());
    assert_eq!(
        (c.metrics.http_port, c.metrics.export_jvm_info),
        (7001, false)
    );
    assert_eq!(
        (c.snap_count, c.pre_alloc_size_bytes, c.force_sync),
        (5000, 1024 * 1024, false)
    );
    assert_eq!(
        c.properties
            .get("zookeeper.admin.serverPort")
            .map(String::as_str),
        Some("9090")
    );
    assert_eq!(
        c.properties
            .get("zookeeper.4lw.commands.whitelist")
            .map(String::as_str),
        Some("srvr, ruok,mntr")
    );
}

#[test]
fn jvm_flags_and_precedence() {
    let flags = "-Xmx1g -Djute.maxbuffer=4194304 -Dzookeeper.skipACL=yes -Dzookeeper.snapCount=10 \
-Dzookeeper.extendedTypesEnabled=true -Dreadonlymode.enabled=true \
-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU= \
-Dzookeeper.znode.container.checkIntervalMs=100 -Dzookeeper.4lw.commands.whitelist=*";
    let text = "dataDir=/d\nclientPort=1\nsnapCount=20\n4lw.commands.whitelist=ruok\n";
    let c = Config::parse(text, Path::new(FILE), flags).unwrap();
    assert_eq!(c.jute_max_buffer, 4_194_304);
    assert!(c.skip_acl && c.extended_types_enabled && c.read_only_mode_enabled);
    assert_eq!(
        c.snap_count, 20,
        "zoo.cfg key overrides -Dzookeeper.snapCount, as in ZooKeeper"
    );
    assert!(c.four_letter_words.allows("ruok") && !c.four_letter_words.allows("stat"));
    assert!(
        c.four_letter_words.allows("isro"),
        "read-only mode adds isro"
    );
    assert_eq!(
        c.super_digest.as_deref(),
        Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
    );
    assert_eq!(c.container_check_interval_ms, 100);
    assert_eq!(
        c.properties.get("jute.maxbuffer").map(String::as_str),
        Some("4194304")
    );
}

#[test]
fn flag_only_properties_in_zoo_cfg_are_warned_not_applied() {
    let c = ok("dataDir=/d\nclientPort=1\njute.maxbuffer=5000000\n");
    assert_eq!(c.jute_max_buffer, 0xfffff);
    assert!(c
        .warnings
        .iter()
        .any(|w| w.message.contains("-Djute.maxbuffer")));
}

#[test]
fn unknown_four_letter_words_are_warned() {
    let c = ok("dataDir=/d\nclientPort=1\n4lw.commands.whitelist=ruok,bogus\n");
    let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        vec!["conf/zoo.cfg:3: 4lw.commands.whitelist: unknown four-letter words ignored: bogus"]
    );
}

#[test]
fn quorum_config_with_myid() {
    let c = Config::parse_with_myid(QUORUM, Path::new(FILE), "", Some("2\n")).unwrap();
    assert!(c.is_distributed());
    assert_eq!(c.server_id, 2);
    assert_eq!(c.servers.len(), 3);
    assert_eq!(c.servers[&3].peer_type, PeerType::Observer);
    assert_eq!(c.me().map(|s| s.host.as_str()), Some("zk2"));
    let conf = c.conf_text(10, 20);
    assert!(conf.starts_with(
        "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/zk/version-2\ndataDirSize=10\n"
    ));
    assert!(conf.contains("serverId=2\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \n"));
    assert!(conf.contains(
        "membership: \nserver.1=zk1:2888:3888:participant\nserver.2=zk2:2888:3888:participant\n"
    ));
    assert!(conf.ends_with("server.3=zk3:2888:3888:observer;zk3:2182\nversion=0"));
    // The observer takes its client port from its server line.
    let text = QUORUM.replace("clientPort=2181\n", "");
    let c = Config::parse_with_myid(&text, Path::new(FILE), "", Some("3")).unwrap();
    assert_eq!((c.client_port, c.peer_type), (2182, PeerType::Observer));
}

#[test]
fn election_alg_is_an_integer_and_duplicates_warn() {
    let c = ok("dataDir=/d\nclientPort=1\nelectionAlg=03\nclientPort=2\n");
    assert_eq!(
        (c.election_alg, c.client_port),
        (3, 2),
        "last duplicate wins, as in Java"
    );
    let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        w,
        vec!["conf/zoo.cfg:4: clientPort repeats line 2; the later value wins"]
    );
}

#[test]
fn single_server_line_runs_standalone() {
    let c = ok("dataDir=/d\nclientPort=2181\nserver.1=localhost:2888:3888\n");
    assert!(!c.is_distributed());
    assert!(c
        .warnings
        .iter()
        .any(|w| w.message.contains("running standalone")));
    let conf = c.conf_text(0, 0);
    assert!(conf.ends_with("serverId=0\n") && !conf.contains("membership"));
}

#[test]
fn relative_data_dir_is_resolved_against_cwd() {
    let c = ok("dataDir=./data\nclientPort=1\n");
    assert_eq!(c.data_dir, std::env::current_dir().unwrap().join("./data"));
    assert!(c.warnings.is_empty(), "./ means the operator is sure");
    let c = ok("dataDir=data\nclientPort=1\n");
    assert!(c.data_dir.is_absolute());
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn bad_values_name_file_line_and_key() {
    let cases: &[(&str, &str)] = &[
        ("dataDir=/d\nclientPort=1\n\n\n\n\ntickTime=abc\n", "conf/zoo.cfg:7: tickTime: expected a positive integer, got \"abc\""),
        ("dataDir=/d\nclientPort=1\ntickTime=0\n", "conf/zoo.cfg:3: tickTime: expected a positive integer, got \"0\""),
        ("dataDir=/d\nclientPort=99999\n", "conf/zoo.cfg:2: clientPort: expected a port number 1-65535, got \"99999\""),
        ("dataDir=/d\nclientPort=1\nmaxClientCnxns=-1\n", "conf/zoo.cfg:3: maxClientCnxns: expected a non-negative integer, got \"-1\""),
        ("dataDir=/d\nclientPort=1\nstandaloneEnabled=yes\n", "conf/zoo.cfg:3: standaloneEnabled: expected true or false, got \"yes\""),
        ("dataDir=/d\nclientPort=1\nelectionAlg=03\nelectionAlg=1\n", "conf/zoo.cfg:4: electionAlg: only 3 (fast leader election) is supported, got \"1\""),
        ("dataDir=/d\nclientPort=1\npeerType=leader\n", "conf/zoo.cfg:3: peerType: expected participant or observer, got \"leader\""),
        ("dataDir=/d\nclientPort=1\nserver.1=a:1:1\n", "conf/zoo.cfg:3: server.1: quorum port and election port must differ, both are 1"),
        ("dataDir=/d\nclientPort=1\nserver.x=a:1:2\n", "conf/zoo.cfg:3: server.x: the server id after \"server.\" must be a non-negative integer"),
        ("dataDir=/d\nclientPort=1\nminSessionTimeout=5000\nmaxSessionTimeout=4000\n", "conf/zoo.cfg:4: maxSessionTimeout: minSessionTimeout (5000) must not be larger than maxSessionTimeout (4000)"),
        ("tickTime=2000\ndataDir=/d\nclientPort=1\nminSessionTimeout=50000\n", "conf/zoo.cfg:4: minSessionTimeout: minSessionTimeout (50000) must not be larger than maxSessionTimeout (40000)"),
        ("clientPort=1\n", "conf/zoo.cfg: dataDir: dataDir is not set"),
        ("dataDir=/d\n", "conf/zoo.cfg: clientPort: clientPort is not set (and neither secureClientPort nor this server's server.N line names a client port)"),
        ("dataDir=/d\nclientPortAddress=127.0.0.1\n", "conf/zoo.cfg:2: clientPortAddress: clientPortAddress is set but clientPort is not set"),
        ("dataDir=/d\nclientPort=1\nclientPortAddress=zk.example\n", "conf/zoo.cfg:3: clientPortAddress: expected an IP address (host names are not resolved), got \"zk.example\""),
        ("dataDir=/d\nclientPort=1\nsnapCount=lots\n", "conf/zoo.cfg:3: snapCount: expected an integer >= 2, got \"lots\""),
        ("dataDir=/d\nclientPort=1\nskipACL=true\n", "conf/zoo.cfg:3: skipACL: expected yes or no, got \"true\""),
        ("dataDir=/d\nclientPort=1\nadmin.serverPort=70000\n", "conf/zoo.cfg:3: admin.serverPort: expected a port number 1-65535, got \"70000\""),
        ("dataDir=/d\nclientPort=1\nDigestAuthenticationProvider.superDigest=nocolon\n", "conf/zoo.cfg:3: DigestAuthenticationProvider.superDigest: expected super:<base64 digest>, got \"nocolon\""),
        ("dataDir=/d\nclientPort=1\nsslQuorum=yes\n", "conf/zoo.cfg:3: sslQuorum: expected true or false, got \"yes\""),
        ("dataDir=/d\nclientPort=1\nsecureClientPortAddress=127.0.0.1\n", "conf/zoo.cfg:3: secureClientPortAddress: secureClientPortAddress is set but secureClientPort is not set"),
        ("dataDir=/d\nclientPort=1\nssl.clientAuth=sometimes\n", "conf/zoo.cfg:3: ssl.clientAuth: expected none, want or need, got \"sometimes\""),
        ("dataDir=/d\nclientPort=1\nssl.quorum.keyStore.location=/k/q.crt\n", "conf/zoo.cfg:3: ssl.quorum.keyStore.location: Unable to auto-detect store file type from file name: /k/q.crt (name it .pem or .p12, or set zookeeper.ssl.quorum.keyStore.type)"),
        ("dataDir=/d\nclientPort=1\nk=\\u00zz\n", "conf/zoo.cfg:3: malformed \\uxxxx escape: \\u00zz"),
        ("dataDir=/d\nclientPort=1\nstandaloneEnabled=false\n", "conf/zoo.cfg:3: standaloneEnabled: standaloneEnabled=false needs at least one participant server.N line"),
        ("dataDir=/d\nclientPort=1\nserver.1=a:1:2:observer\n", "conf/zoo.cfg: server: observers without participants is an invalid configuration"),
        (QUORUM, "/var/zk/myid: myid file is missing; an ensemble member needs its server id (1, 2, 3) there"),
    ];
    for (text, want) in cases {
        match parse(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => assert_eq!(&e.to_string(), want, "for:\n{text}"),
        }
    }
}

#[test]
fn bad_flags_and_myid() {
    let e = Config::parse(
        "dataDir=/d\nclientPort=1\n",
        Path::new(FILE),
        "-Djute.maxbuffer=big",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "SERVER_JVMFLAGS: -Djute.maxbuffer: expected a positive integer, got \"big\""
    );
    let bad = |myid: &str| {
        Config::parse_with_myid(QUORUM, Path::new(FILE), "", Some(myid))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(bad("x"), "/var/zk/myid: serverid \"x\" is not a number");
    assert_eq!(
        bad("9"),
        "/var/zk/myid: myid 9 does not match any server.N line in conf/zoo.cfg (ids: 1, 2, 3)"
    );
    let no_init = QUORUM.replace("initLimit=10\n", "");
    let e = Config::parse_with_myid(&no_init, Path::new(FILE), "", Some("1")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conf/zoo.cfg: initLimit: initLimit is not set"
    );
    let clash = QUORUM.replace("clientPort=2181", "clientPort=2000");
    let e = Config::parse_with_myid(&clash, Path::new(FILE), "", Some("3")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conf/zoo.cfg:8: server.3: client port 2182 differs from clientPort=2000 (line 5)"
    );
}

#[test]
fn members_sharing_a_host_and_port_are_refused() {
    let bad = |text: &str, myid: &str| {
        Config::parse_with_myid(text, Path::new(FILE), "", Some(myid))
            .unwrap_err()
            .to_string()
    };
    let local = "tickTime=2000\ndataDir=/var/zk\ninitLimit=10\nsyncLimit=5\nclientPort=2181\n\
server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n";
    Config::parse_with_myid(local, Path::new(FILE), "", Some("1")).unwrap();
    // A copied line: server.3 reuses server.2's ports.
    let copied = local.replace("2890:3890", "2889:3889");
    assert_eq!(
        bad(&copied, "1"),
        "conf/zoo.cfg:8: server.3: quorum port 127.0.0.1:2889 is already server.2's quorum port \
         (line 7); every member needs its own ports"
    );
    // One member's quorum port is another's election port.
    let crossed = local.replace("2890:3890", "3888:3890");
    assert_eq!(
        bad(&crossed, "2"),
        "conf/zoo.cfg:8: server.3: quorum port 127.0.0.1:3888 is already server.1's election port \
         (line 6); every member needs its own ports"
    );
    // The client port is one of this member's peer ports.
    let client = local.replace("clientPort=2181", "clientPort=3888");
    assert_eq!(
        bad(&client, "1"),
        "conf/zoo.cfg:5: clientPort: client port 3888 is also this server's election port \
         (line 6) on host 127.0.0.1"
    );
    assert_eq!(
        bad(&client, "2"),
        "conf/zoo.cfg:5: clientPort: client port 3888 is also server.1's election port \
         (line 6) on host 127.0.0.1"
    );
    // The same ports on different hosts are the usual layout.
    Config::parse_with_myid(QUORUM, Path::new(FILE), "", Some("1")).unwrap();
}

#[test]
fn load_reads_myid_from_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("myid"), "1\n").unwrap();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(&cfg, QUORUM.replace("/var/zk", &data.display().to_string())).unwrap();
    let c = Config::load(&cfg, "").unwrap();
    assert_eq!((c.server_id, c.client_port), (1, 2181));
    let e = Config::load(&dir.path().join("missing.cfg"), "").unwrap_err();
    assert!(e.to_string().contains("missing.cfg: cannot read"), "{e}");
}

#[test]
fn standalone_conf_text() {
    let c = ok("tickTime=2000\ndataDir=/d\nclientPort=2181\n");
    assert_eq!(
        c.conf_text(1, 2),
        "clientPort=2181\nsecureClientPort=-1\ndataDir=/d/version-2\ndataDirSize=1\ndataLogDir=/d/version-2\n\
dataLogSize=2\ntickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n\
clientPortListenBacklog=-1\nserverId=0\n"
    );
}

#[test]
fn shipped_conf_zoo_cfg_parses() {
    let text = include_str!("../../conf/zoo.cfg");
    let c = ok(text);
    assert_eq!(
        (c.tick_time_ms, c.init_limit, c.sync_limit, c.client_port),
        (2000, 10, 5, 2181)
    );
    assert_eq!(c.data_dir, std::env::current_dir().unwrap().join("./data"));
    assert!(!c.admin.enable_server);
    let allowed: Vec<&str> = c.four_letter_words.commands().collect();
    assert_eq!(
        allowed,
        vec!["conf", "isro", "mntr", "ruok", "srvr", "stat"]
    );
    assert!(!c.is_distributed() && c.warnings.is_empty());
}

/// `conf` text captured from Apache ZooKeeper 3.8.0 (server 1 of a 2-server ensemble started
/// from this very file), compared byte for byte.
#[test]
fn quorum_conf_text_matches_apache() {
    let text =
        "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/cfgwork/q/d1\nclientPort=38453\n\
admin.enableServer=false\n4lw.commands.whitelist=*\nserver.1=127.0.0.1:46235:32773\n\
server.2=127.0.0.1:58813:47729;127.0.0.1:43923\n";
    let c = Config::parse_with_myid(text, Path::new(FILE), "", Some("1\n")).unwrap();
    let apache = "clientPort=38453\nsecureClientPort=-1\ndataDir=/tmp/cfgwork/q/d1/version-2\n\
dataDirSize=570\ndataLogDir=/tmp/cfgwork/q/d1/version-2\ndataLogSize=570\ntickTime=500\n\
maxClientCnxns=60\nminSessionTimeout=1000\nmaxSessionTimeout=10000\nclientPortListenBacklog=-1\n\
serverId=1\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=32773\nquorumPort=46235\n\
peerType=0\nmembership: \nserver.1=127.0.0.1:46235:32773:participant\n\
server.2=127.0.0.1:58813:47729:participant;127.0.0.1:43923\nversion=0";
    assert_eq!(c.conf_text(570, 570), apache);
}

#[test]
fn authentication_settings_as_apache_reads_them() {
    let base = "dataDir=/tmp/zk\nclientPort=2181\n";
    let provider = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n";
    let c = ok(base);
    assert_eq!(c.auth, AuthConfig::default());
    assert!(!c.enforce_quota);
    // The JAAS file from a flag or a zoo.cfg line; enforcement with its provider.
    let flags = "-Djava.security.auth.login.config=/etc/jaas.conf -Dzookeeper.superUser=admin \
                 -Dzookeeper.sessionRequireClientSASLAuth=true -Dzookeeper.enforceQuota=true";
    let c = Config::parse(&format!("{base}{provider}"), Path::new(FILE), flags).unwrap();
    assert_eq!(
        c.auth.jaas_file.as_deref(),
        Some(Path::new("/etc/jaas.conf"))
    );
    assert_eq!(c.auth.jaas_section, "Server");
    assert!(c.auth.sasl_provider && c.auth.sasl_required() && c.enforce_quota);
    assert_eq!(c.auth.super_users, vec!["admin".to_string()]);
    let c = ok(&format!(
        "{base}java.security.auth.login.config=/x.jaas\nenforce.auth.enabled=true\n\
         enforce.auth.schemes=digest, ip\n"
    ));
    assert_eq!(c.auth.jaas_file.as_deref(), Some(Path::new("/x.jaas")));
    assert!(c.auth.enforce && !c.auth.sasl_required());
    assert_eq!(c.auth.enforce_schemes, vec!["digest", "ip"]);
    // A scheme without a provider, or enforcement without schemes, stops startup.
    let e = Config::parse(
        base,
        Path::new(FILE),
        "-Dzookeeper.sessionRequireClientSASLAuth=true",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("Authentication scheme sasl is not available"),
        "{e}"
    );
    let e = parse(&format!("{base}enforce.auth.enabled=true\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("zookeeper.enforce.auth.schemes must be"), "{e}");
    let e = parse(&format!(
        "{base}enforce.auth.enabled=true\nenforce.auth.schemes=x509\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("conf/zoo.cfg:4") && e.contains("x509"), "{e}");
    // With Apache's x509 provider registered (TLS clients), x509 may be enforced.
    let c = ok(&format!(
        "{base}enforce.auth.enabled=true\nenforce.auth.schemes=x509\n\
         authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n"
    ));
    assert!(c.auth.x509_provider && c.auth.enforce_schemes == ["x509"]);
}

#[test]
fn tls_keys_from_zoo_cfg() {
    let c = ok(
        "dataDir=/d\nsecureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n\
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
ssl.keyStore.location=/k/server.pem\nssl.trustStore.location=/k/ca.pem\nssl.clientAuth=want\n\
sslQuorum=true\nportUnification=true\nsslQuorumReloadCertFiles=true\nclient.portUnification=true\n\
X509AuthenticationProvider.superUser=CN=admin\n",
    );
    assert_eq!((c.client_port, c.secure_client_port), (0, Some(2281)));
    assert_eq!(
        c.secure_client_port_address,
        Some("127.0.0.1".parse().unwrap())
    );
    let ks = c.tls.client.key_store.as_ref().unwrap();
    assert_eq!(ks.source, "conf/zoo.cfg:5: ssl.keyStore.location");
    assert_eq!(c.tls.client.client_auth, ClientAuth::Want);
    assert!(c.tls.ssl_quorum && c.tls.quorum_port_unification && c.tls.quorum_cert_reload);
    assert!(c.tls.client_port_unification && !c.tls.client_cert_reload);
    assert_eq!(c.tls.x509_super_user.as_deref(), Some("CN=admin"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let conf = c.conf_lines(0, 0);
    assert_eq!(conf[0], ("clientPort".to_string(), "-1".to_string()));
    assert_eq!(
        conf[1],
        ("secureClientPort".to_string(), "2281".to_string())
    );
}

#[test]
fn a_zoo_cfg_key_with_its_own_zookeeper_prefix_is_named_as_unread() {
    let text =
        "dataDir=/d\nclientPort=1\nzookeeper.DigestAuthenticationProvider.superDigest=super:x\n";
    let c = Config::parse(text, Path::new(FILE), "").unwrap();
    assert_eq!(
        c.super_digest, None,
        "Apache reads no superDigest from it either"
    );
    let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "conf/zoo.cfg:3: zookeeper.DigestAuthenticationProvider.superDigest becomes"
        ) && w[0].contains("write DigestAuthenticationProvider.superDigest=..."),
        "{w:?}"
    );
}
