#!/usr/bin/env python3
"""One kazoo session exercising what kazoo sends: creates of every mode, watches, ACLs and
digest auth, transactions, sync, recursive delete. Run through the recording relay by
scripts/fuzz/capture-clients.sh; errors are printed, never fatal."""

import sys

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, make_acl


def step(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (the bytes on the wire are what matters)
        print(f"{name}: {e!r}")


def main():
    zk = KazooClient(hosts=sys.argv[1], timeout=10)
    zk.start(timeout=20)
    root = "/kazoo-workout"
    step("create", lambda: zk.create(root, b"kazoo"))
    step("ensure_path", lambda: zk.ensure_path(root + "/a/b/c"))
    step("ephemeral", lambda: zk.create(root + "/e", b"", ephemeral=True))
    step("sequence", lambda: zk.create(root + "/s-", b"x", sequence=True))
    step("container", lambda: zk.create(root + "/ct", b"", container=True))
    step("ttl", lambda: zk.create(root + "/ttl", b"", ttl=10000))
    step("get watch", lambda: zk.get(root, watch=lambda e: None))
    step("children watch", lambda: zk.get_children(root, watch=lambda e: None, include_data=True))
    step("exists watch", lambda: zk.exists(root + "/nope", watch=lambda e: None))
    step("set", lambda: zk.set(root, b"v2"))
    step("add_auth", lambda: zk.add_auth("digest", "user:secret"))
    step("digest acl", lambda: zk.create(root + "/acl", b"", acl=[
        make_digest_acl("user", "secret", all=True), make_acl("ip", "127.0.0.1", read=True)]))
    step("get_acls", lambda: zk.get_acls(root + "/acl"))
    step("set_acls", lambda: zk.set_acls(root + "/a", [make_acl("world", "anyone", read=True, write=True)]))

    def txn():
        t = zk.transaction()
        t.create(root + "/t1", b"1")
        t.set_data(root, b"t")
        t.check(root, -1)
        t.delete(root + "/t1")
        return t.commit()

    step("transaction", txn)

    def bad_txn():
        t = zk.transaction()
        t.create(root + "/t2", b"2")
        t.delete(root + "/missing")
        return t.commit()

    step("failed transaction", bad_txn)
    step("sync", lambda: zk.sync(root))
    step("server_version", lambda: zk.server_version())
    step("delete recursive", lambda: zk.delete(root + "/a", recursive=True))
    zk.stop()
    zk.close()


if __name__ == "__main__":
    main()
