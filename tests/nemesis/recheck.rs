//! Re-checks a history saved in a failure folder (`history.txt`: one `Op` per line, as the
//! evidence writes it) with both linearizability checks, e.g. after a checker change:
//! `NEMESIS_RECHECK=/path/history.txt cargo test --release --test nemesis recheck -- --ignored --nocapture`.

use crate::checker::{check_linearizable, Call, Op, Outcome, Reg};
use crate::versions::check_by_versions;

/// The text after `key` up to the next `,` or ` }` (numbers), or the quoted string after it.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(key)? + key.len()..];
    if let Some(q) = rest.strip_prefix('"') {
        return q.find('"').map(|end| &q[..end]);
    }
    let end = rest.find([',', ' ', '}', ')']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn parse(line: &str) -> Option<Op> {
    let num = |k: &str| field(line, k)?.parse::<u64>().ok();
    let (call_part, outcome_part) = line.split_once("outcome: ")?;
    let call = if call_part.contains("call: Read") {
        Call::Read {
            synced: call_part.contains("synced: true"),
        }
    } else {
        let expected = match field(call_part, "expected: ")? {
            "None" => None,
            _ => field(call_part, "expected: Some(")?.parse().ok(),
        };
        Call::Write {
            value: field(call_part, "value: ")?.to_string(),
            expected,
        }
    };
    let int = |k: &str| field(outcome_part, k)?.parse::<i64>().ok();
    let outcome = if outcome_part.starts_with("Read") {
        Outcome::Read {
            value: field(outcome_part, "value: ")?.to_string(),
            version: int("version: ")? as i32,
            mzxid: int("mzxid: ")?,
        }
    } else if outcome_part.starts_with("Written") {
        Outcome::Written {
            version: int("version: ")? as i32,
            mzxid: int("mzxid: ")?,
        }
    } else if outcome_part.starts_with("BadVersion") {
        Outcome::BadVersion
    } else if outcome_part.starts_with("Failed") {
        Outcome::Failed
    } else {
        Outcome::Unknown
    };
    Some(Op {
        session: num("session: ")?,
        call,
        invoke: num("invoke: ")?,
        complete: num("complete: ")?,
        outcome,
    })
}

#[test]
#[ignore = "a tool: set NEMESIS_RECHECK to a saved history.txt"]
fn recheck_saved_history() {
    let path = std::env::var("NEMESIS_RECHECK").expect("NEMESIS_RECHECK=/path/history.txt");
    let text = std::fs::read_to_string(&path).expect("history file");
    let ops: Vec<Op> = text.lines().filter_map(parse).collect();
    assert_eq!(ops.len(), text.lines().count(), "every line parses");
    let init = Reg {
        version: 0,
        value: "init".into(),
    };
    let linearizable: Vec<Op> = ops
        .iter()
        .filter(|o| !matches!(o.call, Call::Read { synced: false }))
        .cloned()
        .collect();
    eprintln!(
        "{} ops, {} in the register check",
        ops.len(),
        linearizable.len()
    );
    match check_linearizable(&linearizable, init) {
        Ok(n) => eprintln!("search: linearizable ({n} ops)"),
        Err(e) => eprintln!(
            "search: not linearizable, exhausted={}, deepest {}",
            e.exhausted, e.deepest
        ),
    }
    eprintln!("version order: {:?}", check_by_versions(&linearizable));
}
