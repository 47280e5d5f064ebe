//! multi: every op prepared in order against the evolving pending view; the first failure
//! rolls the view back and turns the txn into per-op error results (earlier ops 0, the
//! failing op its code, later ops RUNTIMEINCONSISTENCY), which applies nothing.

use super::ops::Prep;
use super::Prepared;
use crate::proto::request::MultiOp;
use crate::proto::txn::{ErrorTxn, TxnBody};
use crate::proto::{ErrorCode, OpCode};

pub(super) fn prepare(p: &mut Prep, ops: &[MultiOp]) -> Prepared {
    p.mark = Some(p.pending.mark());
    let mut prepared = Vec::with_capacity(ops.len());
    let mut failure = None;
    for (i, op) in ops.iter().enumerate() {
        match prepare_op(p, op) {
            Ok(t) => prepared.push((logged_type(t.txn_type), t.body)),
            Err(e) => {
                failure = Some((i, e));
                break;
            }
        }
    }
    let mark = p.mark.take();
    let Some((failed, code)) = failure else {
        return Prepared {
            txn_type: OpCode::Multi,
            body: TxnBody::Multi(prepared),
        };
    };
    if let Some(mark) = mark {
        p.pending.rollback(mark);
    }
    let errors = (0..ops.len())
        .map(|i| {
            let err = match i.cmp(&failed) {
                std::cmp::Ordering::Less => ErrorCode::Ok,
                std::cmp::Ordering::Equal => code,
                std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
            };
            (OpCode::Error, TxnBody::Error(ErrorTxn { err: err.code() }))
        })
        .collect();
    Prepared {
        txn_type: OpCode::Multi,
        body: TxnBody::Multi(errors),
    }
}

fn prepare_op(p: &mut Prep, op: &MultiOp) -> Result<Prepared, ErrorCode> {
    match op {
        MultiOp::Create(code, r) => p.create(*code, r, None),
        MultiOp::CreateTtl(r) => p.create_ttl(r),
        MultiOp::Delete(r) => p.delete(r),
        MultiOp::SetData(r) => p.set_data(r),
        MultiOp::Check(r) => p.check(r),
        MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(ErrorCode::BadArguments),
    }
}

/// The sub-txn type a multi entry is logged and proposed with. Apache's prep logs a create2 op
/// as create (1) — its DataTree rejects type 15 inside a multi, so an Apache follower would
/// silently skip the whole multi — and answers it like create (path only).
fn logged_type(op: OpCode) -> OpCode {
    match op {
        OpCode::Create2 => OpCode::Create,
        other => other,
    }
}

/// Whether a prepared multi failed (all its entries are error txns).
pub fn failed(prepared: &Prepared) -> bool {
    matches!(&prepared.body, TxnBody::Multi(ops) if ops.iter().any(|(op, _)| *op == OpCode::Error))
}
