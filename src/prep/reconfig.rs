//! The membership a `reconfig` request asks for (PrepRequestProcessor's `reconfig` case):
//! bulk `newMembers` (comma- or newline-separated `server.N=…` lines) or incremental
//! `leavingServers` (ids) and `joiningServers` (`server.N=host:q:e[:type];[host:]client`,
//! all three ports required), checked as Apache checks them. The leader-state checks (one in
//! progress, `fromConfig`, a synced quorum of the new members) and the ACL are the
//! runtime's, in Apache's order around this.
//!
//! Owns: request text → the new `server.N` map. Must not: know the quorum state or the tree.

use std::collections::BTreeMap;

use crate::config::{dynamic::parse_dynamic, parse_server, PeerType, ServerSpec};
use crate::proto::records::ReconfigRequest;
use crate::proto::ErrorCode;

/// The members after `req` is applied to `current`. Errors are the client's error code and
/// the reason Apache logs.
pub fn next_members(
    current: &BTreeMap<u64, ServerSpec>,
    req: &ReconfigRequest,
    standalone_enabled: bool,
) -> Result<BTreeMap<u64, ServerSpec>, (ErrorCode, String)> {
    let bad = |msg: String| (ErrorCode::BadArguments, msg);
    let next = if !req.new_members.is_empty() {
        let text = req.new_members.replace(',', "\n");
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("version"))
            .collect::<Vec<_>>()
            .join("\n");
        parse_dynamic(&text).map_err(bad)?
    } else {
        let mut next = current.clone();
        for leaving in split_list(&req.leaving_servers) {
            // Apache parses with Long.parseLong outside its ConfigException handler: a
            // non-number fails the whole request with MARSHALLINGERROR.
            let sid: u64 = leaving.parse().map_err(|_| {
                (
                    ErrorCode::MarshallingError,
                    format!("leaving server id \"{leaving}\" is not a number"),
                )
            })?;
            next.remove(&sid);
        }
        for joiner in split_list(&req.joining_servers) {
            let spec = joining_server(joiner).map_err(bad)?;
            for other in next.values().filter(|o| o.id != spec.id) {
                if shares_address(&spec, other) {
                    return Err(bad("Reconfiguration failed".into()));
                }
            }
            next.insert(spec.id, spec);
        }
        next
    };
    let voters = next
        .values()
        .filter(|s| s.peer_type == PeerType::Participant)
        .count();
    if standalone_enabled && voters < 2 {
        return Err(bad(
            "Reconfig failed - new configuration must include at least 2 followers".into(),
        ));
    }
    if voters < 1 {
        return Err(bad(
            "Reconfig failed - new configuration must include at least 1 follower".into(),
        ));
    }
    Ok(next)
}

/// Apache's `StringUtils.split(s, ",")`: trimmed, empty parts dropped.
fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// One `server.N=spec;client` joiner.
fn joining_server(joiner: &str) -> Result<ServerSpec, String> {
    let parts: Vec<&str> = joiner.split('=').map(str::trim).collect();
    let [key, value] = parts.as_slice() else {
        return Err("Wrong format of server string".into());
    };
    let id = key
        .rsplit('.')
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| "Wrong format of server string".to_string())?;
    let spec = parse_server(id, value, 0).map_err(|_| "Reconfiguration failed".to_string())?;
    if spec.client_port.is_none() {
        return Err(
            "Wrong format of server string - each server should have 3 ports specified".into(),
        );
    }
    Ok(spec)
}

/// `QuorumServer.checkAddressDuplicate`: two members on one quorum or election address.
fn shares_address(a: &ServerSpec, b: &ServerSpec) -> bool {
    let ports_a = [a.quorum_port, a.election_port];
    let ports_b = [b.quorum_port, b.election_port];
    a.host.eq_ignore_ascii_case(&b.host) && ports_a.iter().any(|p| ports_b.contains(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn three() -> BTreeMap<u64, ServerSpec> {
        parse_dynamic("server.1=h:11:12\nserver.2=h:21:22\nserver.3=h:31:32").unwrap()
    }

    fn req(join: &str, leave: &str, members: &str) -> ReconfigRequest {
        ReconfigRequest {
            joining_servers: join.into(),
            leaving_servers: leave.into(),
            new_members: members.into(),
            cur_config_id: -1,
        }
    }

    #[test]
    fn incremental_and_bulk() {
        let next = next_members(&three(), &req("", "3", ""), true).unwrap();
        assert_eq!(next.keys().copied().collect::<Vec<_>>(), [1, 2]);
        let next = next_members(&three(), &req("server.4=h:41:42;2184", "", ""), true).unwrap();
        assert_eq!(next[&4].client_port, Some(2184));
        // An unknown id leaves the members as they are, as in Apache.
        assert_eq!(
            next_members(&three(), &req("", "9", ""), true)
                .unwrap()
                .len(),
            3
        );
        let next = next_members(
            &three(),
            &req("", "", "server.1=h:11:12,server.2=h:21:22"),
            true,
        )
        .unwrap();
        assert_eq!(next.len(), 2);
    }

    #[test]
    fn refusals() {
        let code = |r: ReconfigRequest| next_members(&three(), &r, true).unwrap_err().0;
        assert_eq!(code(req("", "2,3", "")), ErrorCode::BadArguments);
        assert_eq!(
            code(req("server.4=h:41:42", "", "")),
            ErrorCode::BadArguments
        );
        assert_eq!(
            code(req("server.4=h:31:42;2184", "", "")),
            ErrorCode::BadArguments
        );
        assert_eq!(code(req("bogus", "", "")), ErrorCode::BadArguments);
        assert_eq!(code(req("", "x", "")), ErrorCode::MarshallingError);
        assert_eq!(code(req("", "", "tickTime=1")), ErrorCode::BadArguments);
        assert!(next_members(&three(), &req("", "2,3", ""), false).is_ok());
    }
}
