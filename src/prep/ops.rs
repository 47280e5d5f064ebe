//! The single-operation checks, each in the order PrepRequestProcessor applies them.

use super::changes::{Mark, NodeView, PendingChanges};
use super::{acl, Context, Prepared};
use crate::proto::opcode::{perms, CreateMode};
use crate::proto::records::{
    Acl, CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, SetAclRequest,
    SetDataRequest,
};
use crate::proto::request::Request;
use crate::proto::txn::*;
use crate::proto::{ErrorCode, OpCode};
use crate::tree::node::{
    next_version, owner_kind, OwnerKind, StatPersisted, CONTAINER_OWNER, MAX_TTL, TTL_MARK,
};
use crate::tree::{acl::permits, path, DataTree};

pub(super) struct Prep<'a> {
    pub tree: &'a DataTree,
    pub pending: &'a mut PendingChanges,
    pub ctx: &'a Context<'a>,
    pub zxid: i64,
    /// Set while preparing a multi, so a failure can roll back.
    pub mark: Option<Mark>,
}

/// Paths no client may delete.
fn is_special(path: &str) -> bool {
    matches!(
        path,
        "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    )
}

/// The parent of a create/delete path as ZooKeeper derives it (text before the last
/// slash, the root for `/x`), refusing only paths without a slash or with NUL.
fn create_parent(path: &str) -> Result<&str, ErrorCode> {
    match path.rfind('/') {
        Some(_) if path.contains('\0') => Err(ErrorCode::BadArguments),
        Some(0) => Ok("/"),
        Some(i) => Ok(&path[..i]),
        None => Err(ErrorCode::BadArguments),
    }
}

/// Expected version -1 means any; the new version skips -1 on overflow.
fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(next_version(current))
}

impl Prep<'_> {
    pub fn single(&mut self, req: &Request) -> Result<Prepared, ErrorCode> {
        match req {
            Request::Create(op, r) => self.create(*op, r, None),
            Request::CreateTtl(r) => self.create_ttl(r),
            Request::Delete(r) => self.delete(r),
            Request::SetData(r) => self.set_data(r),
            Request::SetAcl(r) => self.set_acl(r),
            Request::Check(r) => self.check(r),
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn get(&self, path: &str) -> Option<NodeView> {
        self.pending.get(self.tree, path)
    }

    fn put(&mut self, path: &str, node: Option<NodeView>) {
        self.pending.put(self.zxid, path, node, self.mark.as_mut());
    }

    fn check_acl(&self, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
        if self.ctx.skip_acl || permits(acl, perm, self.ctx.ids) {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    fn check_quota(&self, path: &str, bytes: i64, count: i64) -> Result<(), ErrorCode> {
        super::quota::check(self.tree, path, bytes, count, self.ctx.enforce_quota)
    }

    fn valid_path(path: &str) -> Result<(), ErrorCode> {
        path::validate(path).map_err(|_| ErrorCode::BadArguments)
    }

    pub fn create(
        &mut self,
        op: OpCode,
        r: &CreateRequest,
        ttl: Option<i64>,
    ) -> Result<Prepared, ErrorCode> {
        let mode = CreateMode::from_flags(r.flags).ok_or(ErrorCode::BadArguments)?;
        if mode.is_ttl() && !self.ctx.extended_types {
            return Err(ErrorCode::Unimplemented);
        }
        let ttl = ttl.unwrap_or(-1);
        if mode.is_ttl() {
            if ttl <= 0 || ttl > MAX_TTL {
                return Err(ErrorCode::BadArguments);
            }
        } else if ttl >= 0 {
            return Err(ErrorCode::BadArguments);
        }
        // Like validatePathForCreate: only a slash and no NUL are required before the parent
        // lookup; the full path check comes after the sequential suffix is added.
        let parent_path = create_parent(&r.path)?;
        let acl = acl::fixup_with(&r.acl, self.ctx.ids, self.ctx.sasl_acl)?;
        let parent = self.get(parent_path).ok_or(ErrorCode::NoNode)?;
        self.check_acl(&parent.acl, perms::CREATE)?;
        let mut path = r.path.clone();
        if mode.is_sequential() {
            path.push_str(&format!("{:010}", parent.stat.cversion));
        }
        Self::valid_path(&path)?;
        if path == "/" || self.get(&path).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        if matches!(
            owner_kind(parent.stat.ephemeral_owner),
            OwnerKind::Ephemeral(_)
        ) {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let data_len = r.data.as_ref().map_or(0, |d| d.len());
        self.check_quota(&path, data_len as i64, 1)?;
        let parent_cversion = parent.stat.cversion + 1;
        let owner = if mode.is_ephemeral() {
            self.ctx.session
        } else if mode.is_container() {
            CONTAINER_OWNER
        } else if mode.is_ttl() {
            TTL_MARK | ttl
        } else {
            0
        };
        let data = r.data.clone();
        let (txn_type, body) = if mode.is_container() {
            let t = CreateContainerTxn {
                path: path.clone(),
                data,
                acl: acl.clone(),
                parent_cversion,
            };
            (OpCode::CreateContainer, TxnBody::CreateContainer(t))
        } else if mode.is_ttl() {
            let t = CreateTtlTxn {
                path: path.clone(),
                data,
                acl: acl.clone(),
                parent_cversion,
                ttl,
            };
            (OpCode::CreateTtl, TxnBody::CreateTtl(t))
        } else {
            let t = CreateTxn {
                path: path.clone(),
                data,
                acl: acl.clone(),
                ephemeral: mode.is_ephemeral(),
                parent_cversion,
            };
            let txn_type = if op == OpCode::Create2 {
                OpCode::Create2
            } else {
                OpCode::Create
            };
            (txn_type, TxnBody::Create(t))
        };
        let mut new_parent = parent;
        new_parent.stat.cversion = parent_cversion;
        new_parent.stat.pzxid = self.zxid;
        new_parent.child_count += 1;
        self.put(parent_path, Some(new_parent));
        let stat = StatPersisted {
            czxid: self.zxid,
            mzxid: self.zxid,
            pzxid: self.zxid,
            ephemeral_owner: owner,
            ..Default::default()
        };
        self.put(
            &path,
            Some(NodeView {
                stat,
                child_count: 0,
                acl: acl.into(),
                data_len,
            }),
        );
        Ok(Prepared { txn_type, body })
    }

    /// createTTL: the create checks plus the TTL's own.
    pub fn create_ttl(&mut self, r: &CreateTtlRequest) -> Result<Prepared, ErrorCode> {
        let base = CreateRequest {
            path: r.path.clone(),
            data: r.data.clone(),
            acl: r.acl.clone(),
            flags: r.flags,
        };
        self.create(OpCode::CreateTtl, &base, Some(r.ttl))
    }

    pub fn delete(&mut self, r: &DeleteRequest) -> Result<Prepared, ErrorCode> {
        // getParentPathAndValidate: a slash, no NUL, not a special path; nothing more.
        if is_special(&r.path) {
            return Err(ErrorCode::BadArguments);
        }
        let parent_path = create_parent(&r.path)?;
        let parent = self.get(parent_path).ok_or(ErrorCode::NoNode)?;
        self.check_acl(&parent.acl, perms::DELETE)?;
        let node = self.get(&r.path).ok_or(ErrorCode::NoNode)?;
        check_version(node.stat.version, r.version)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.remove(&r.path, parent_path, parent);
        Ok(Prepared {
            txn_type: OpCode::Delete,
            body: TxnBody::Delete(DeleteTxn {
                path: r.path.clone(),
            }),
        })
    }

    fn remove(&mut self, path: &str, parent_path: &str, mut parent: NodeView) {
        parent.child_count -= 1;
        parent.stat.pzxid = self.zxid;
        self.put(parent_path, Some(parent));
        self.put(path, None);
    }

    /// Marks a node deleted by a closeSession (its ephemerals).
    pub fn mark_deleted(&mut self, path: &str) {
        if let Some((parent_path, _)) = path::split(path) {
            if let Some(parent) = self.get(parent_path) {
                self.remove(path, parent_path, parent);
            }
        }
    }

    pub fn delete_container(&mut self, path: &str) -> Result<Prepared, ErrorCode> {
        let (parent_path, _) = path::split(path).ok_or(ErrorCode::BadArguments)?;
        let node = self.get(path).ok_or(ErrorCode::NoNode)?;
        if !matches!(
            owner_kind(node.stat.ephemeral_owner),
            OwnerKind::Container | OwnerKind::Ttl(_)
        ) {
            return Err(ErrorCode::BadArguments);
        }
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let parent = self.get(parent_path).ok_or(ErrorCode::NoNode)?;
        self.remove(path, parent_path, parent);
        Ok(Prepared {
            txn_type: OpCode::DeleteContainer,
            body: TxnBody::Delete(DeleteTxn {
                path: path.to_string(),
            }),
        })
    }

    pub fn set_data(&mut self, r: &SetDataRequest) -> Result<Prepared, ErrorCode> {
        Self::valid_path(&r.path)?;
        let mut node = self.get(&r.path).ok_or(ErrorCode::NoNode)?;
        self.check_acl(&node.acl, perms::WRITE)?;
        let new_len = r.data.as_ref().map_or(0, |d| d.len());
        self.check_quota(&r.path, new_len as i64 - node.data_len as i64, 0)?;
        let version = check_version(node.stat.version, r.version)?;
        node.stat.version = version;
        node.stat.mzxid = self.zxid;
        node.data_len = new_len;
        self.put(&r.path, Some(node));
        let body = TxnBody::SetData(SetDataTxn {
            path: r.path.clone(),
            data: r.data.clone(),
            version,
        });
        Ok(Prepared {
            txn_type: OpCode::SetData,
            body,
        })
    }

    fn set_acl(&mut self, r: &SetAclRequest) -> Result<Prepared, ErrorCode> {
        Self::valid_path(&r.path)?;
        let acl = acl::fixup_with(&r.acl, self.ctx.ids, self.ctx.sasl_acl)?;
        let mut node = self.get(&r.path).ok_or(ErrorCode::NoNode)?;
        self.check_acl(&node.acl, perms::ADMIN)?;
        let version = check_version(node.stat.aversion, r.version)?;
        node.stat.aversion = version;
        node.acl = acl.clone().into();
        self.put(&r.path, Some(node));
        Ok(Prepared {
            txn_type: OpCode::SetAcl,
            body: TxnBody::SetAcl(SetAclTxn {
                path: r.path.clone(),
                acl,
                version,
            }),
        })
    }

    pub fn check(&mut self, r: &CheckVersionRequest) -> Result<Prepared, ErrorCode> {
        Self::valid_path(&r.path)?;
        let node = self.get(&r.path).ok_or(ErrorCode::NoNode)?;
        self.check_acl(&node.acl, perms::READ)?;
        let version = check_version(node.stat.version, r.version)?;
        Ok(Prepared {
            txn_type: OpCode::Check,
            body: TxnBody::Check(CheckVersionTxn {
                path: r.path.clone(),
                version,
            }),
        })
    }
}
