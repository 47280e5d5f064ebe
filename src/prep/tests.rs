//! Prep checks in ZooKeeper's order, against tree + pending changes.

use super::*;
use crate::proto::records::{
    Acl, CheckVersionRequest, CreateRequest, DeleteRequest, SetDataRequest,
};
use crate::proto::request::MultiOp;
use crate::proto::txn::{Txn, TxnHeader};

fn open() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn ctx() -> Context<'static> {
    Context {
        session: 7,
        ids: &[],
        skip_acl: false,
        extended_types: false,
        reconfig_enabled: false,
    }
}

fn create(path: &str, flags: i32) -> Request {
    Request::Create(
        OpCode::Create,
        CreateRequest {
            path: path.into(),
            data: None,
            acl: open(),
            flags,
        },
    )
}

/// Prepares and immediately applies, like a server whose log is instant.
fn run(
    tree: &mut DataTree,
    pending: &mut PendingChanges,
    req: &Request,
    zxid: i64,
) -> Result<Prepared, ErrorCode> {
    let p = prepare(tree, pending, &ctx(), req, zxid)?;
    let header = TxnHeader {
        client_id: 7,
        cxid: 0,
        zxid,
        time: 0,
        txn_type: p.txn_type.code(),
    };
    tree.apply(&Txn {
        header,
        body: p.body.clone(),
    });
    pending.applied(zxid);
    Ok(p)
}

#[test]
fn sequential_names_come_from_parent_cversion() {
    let (mut t, mut pc) = (DataTree::new(), PendingChanges::default());
    run(&mut t, &mut pc, &create("/q", 0), 1).unwrap();
    run(&mut t, &mut pc, &create("/q/x", 0), 2).unwrap();
    let p = run(&mut t, &mut pc, &create("/q/n-", 2), 3).unwrap();
    let TxnBody::Create(c) = p.body else {
        panic!("not a create")
    };
    assert_eq!(c.path, "/q/n-0000000001");
}

#[test]
fn pending_creates_are_visible_before_apply() {
    let (t, mut pc) = (DataTree::new(), PendingChanges::default());
    prepare(&t, &mut pc, &ctx(), &create("/a", 0), 1).unwrap();
    assert_eq!(
        prepare(&t, &mut pc, &ctx(), &create("/a", 0), 2),
        Err(ErrorCode::NodeExists)
    );
    prepare(&t, &mut pc, &ctx(), &create("/a/b", 0), 2).unwrap();
    let del = Request::Delete(DeleteRequest {
        path: "/a".into(),
        version: -1,
    });
    assert_eq!(
        prepare(&t, &mut pc, &ctx(), &del, 3),
        Err(ErrorCode::NotEmpty)
    );
}

#[test]
fn check_order_and_codes() {
    let (mut t, mut pc) = (DataTree::new(), PendingChanges::default());
    let del = |p: &str, v| {
        Request::Delete(DeleteRequest {
            path: p.into(),
            version: v,
        })
    };
    assert_eq!(
        run(&mut t, &mut pc, &del("/zookeeper", -1), 1).err(),
        Some(ErrorCode::BadArguments)
    );
    assert_eq!(
        run(&mut t, &mut pc, &del("/nope/x", -1), 1).err(),
        Some(ErrorCode::NoNode)
    );
    assert_eq!(
        run(&mut t, &mut pc, &create("bad", 0), 1).err(),
        Some(ErrorCode::BadArguments)
    );
    assert_eq!(
        run(&mut t, &mut pc, &create("/a", 5), 1).err(),
        Some(ErrorCode::Unimplemented)
    );
    run(&mut t, &mut pc, &create("/e", 1), 1).unwrap();
    assert_eq!(
        run(&mut t, &mut pc, &create("/e/c", 0), 2).err(),
        Some(ErrorCode::NoChildrenForEphemerals)
    );
    let set = Request::SetData(SetDataRequest {
        path: "/e".into(),
        data: None,
        version: 3,
    });
    assert_eq!(
        run(&mut t, &mut pc, &set, 2).err(),
        Some(ErrorCode::BadVersion)
    );
    let mut acl_less = create("/x", 0);
    if let Request::Create(_, r) = &mut acl_less {
        r.acl.clear();
    }
    assert_eq!(
        run(&mut t, &mut pc, &acl_less, 2).err(),
        Some(ErrorCode::InvalidAcl)
    );
    assert!(pc.is_empty());
}

#[test]
fn failed_multi_rolls_back_and_reports_per_op() {
    let (t, mut pc) = (DataTree::new(), PendingChanges::default());
    let ops = vec![
        MultiOp::Create(
            OpCode::Create,
            CreateRequest {
                path: "/m".into(),
                data: None,
                acl: open(),
                flags: 0,
            },
        ),
        MultiOp::Check(CheckVersionRequest {
            path: "/m".into(),
            version: 5,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/m".into(),
            version: -1,
        }),
    ];
    let p = prepare(&t, &mut pc, &ctx(), &Request::Multi(ops), 1).unwrap();
    assert!(multi::failed(&p));
    let TxnBody::Multi(entries) = &p.body else {
        panic!("not multi")
    };
    let codes: Vec<i32> = entries
        .iter()
        .map(|(_, b)| match b {
            TxnBody::Error(e) => e.err,
            _ => 1,
        })
        .collect();
    assert_eq!(codes, vec![0, -103, -2]);
    assert!(pc.get(&t, "/m").is_none(), "rolled back");
}

#[test]
fn multi_logs_create2_as_create_and_keeps_other_create_types() {
    let (t, mut pc) = (DataTree::new(), PendingChanges::default());
    let req = |op, path: &str, flags| {
        MultiOp::Create(
            op,
            CreateRequest {
                path: path.into(),
                data: None,
                acl: open(),
                flags,
            },
        )
    };
    let ops = vec![
        req(OpCode::Create2, "/two", 0),
        req(OpCode::Create, "/one", 0),
        req(OpCode::CreateContainer, "/box", 4),
    ];
    let p = prepare(&t, &mut pc, &ctx(), &Request::Multi(ops), 1).unwrap();
    let TxnBody::Multi(entries) = &p.body else {
        panic!("not multi")
    };
    let types: Vec<OpCode> = entries.iter().map(|(op, _)| *op).collect();
    // Apache's DataTree only knows create (1) inside a multi txn, not create2 (15).
    assert_eq!(
        types,
        vec![OpCode::Create, OpCode::Create, OpCode::CreateContainer]
    );
}
