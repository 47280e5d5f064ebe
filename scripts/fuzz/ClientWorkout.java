// One session of Apache's Java client (Debian's 3.8 jar) exercising every request it can send:
// creates of every mode (TTL and container included), reads with watches, ACLs and auth, multi
// and multiRead, sync, ephemerals, persistent watches, watch removal, whoAmI. Run through the
// recording relay by scripts/fuzz/capture-clients.sh; errors are printed, never fatal (the
// bytes on the wire are what matters).
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.*;
import org.apache.zookeeper.data.*;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class ClientWorkout {
    interface Step { void run() throws Exception; }

    static void step(String name, Step s) {
        try { s.run(); } catch (Exception e) { System.out.println(name + ": " + e); }
    }

    public static void main(String[] args) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        Watcher w = e -> { if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown(); };
        ZooKeeper zk = new ZooKeeper(args[0], 10000, w);
        connected.await(20, TimeUnit.SECONDS);
        byte[] d = "java".getBytes(StandardCharsets.UTF_8);
        String root = "/java-workout";
        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        step("create", () -> zk.create(root, d, open, CreateMode.PERSISTENT));
        step("create2", () -> zk.create(root + "/c2", d, open, CreateMode.PERSISTENT, new Stat()));
        step("ephemeral", () -> zk.create(root + "/e", d, open, CreateMode.EPHEMERAL));
        step("sequential", () -> zk.create(root + "/s-", null, open, CreateMode.PERSISTENT_SEQUENTIAL));
        step("ephemeral seq", () -> zk.create(root + "/es-", d, open, CreateMode.EPHEMERAL_SEQUENTIAL));
        step("container", () -> zk.create(root + "/container", d, open, CreateMode.CONTAINER));
        step("ttl", () -> zk.create(root + "/ttl", d, open, CreateMode.PERSISTENT_WITH_TTL, new Stat(), 60000));
        step("exists watch", () -> zk.exists(root + "/missing", true));
        step("getData watch", () -> zk.getData(root, true, new Stat()));
        step("getChildren", () -> zk.getChildren(root, true));
        step("getChildren2", () -> zk.getChildren(root, false, new Stat()));
        step("setData", () -> zk.setData(root, "v2".getBytes(StandardCharsets.UTF_8), -1));
        step("setData bad version", () -> zk.setData(root, d, 42));
        step("getACL", () -> zk.getACL(root, new Stat()));
        step("addAuth", () -> zk.addAuthInfo("digest", "user:secret".getBytes(StandardCharsets.UTF_8)));
        step("setACL", () -> zk.setACL(root + "/c2", Arrays.asList(
            new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("user:secret"))),
            new ACL(ZooDefs.Perms.READ, new Id("ip", "127.0.0.1")),
            new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, new Id("world", "anyone"))), -1));
        step("auth acl", () -> zk.create(root + "/authed", d, ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        step("multi", () -> zk.multi(Arrays.asList(
            Op.create(root + "/m1", d, open, CreateMode.PERSISTENT),
            Op.create(root + "/m2", null, open, CreateMode.EPHEMERAL),
            Op.setData(root + "/m1", "x".getBytes(StandardCharsets.UTF_8), 0),
            Op.check(root, -1),
            Op.delete(root + "/m1", -1))));
        step("failed multi", () -> zk.multi(Arrays.asList(
            Op.create(root + "/m3", d, open, CreateMode.PERSISTENT),
            Op.delete(root + "/nope", -1))));
        step("multiRead", () -> zk.multi(Arrays.asList(
            Op.getChildren(root), Op.getData(root), Op.getData(root + "/nope"))));
        step("sync", () -> { CountDownLatch l = new CountDownLatch(1); zk.sync(root, (rc, p, c) -> l.countDown(), null); l.await(5, TimeUnit.SECONDS); });
        step("getEphemerals", () -> zk.getEphemerals(root));
        step("getAllChildrenNumber", () -> zk.getAllChildrenNumber(root));
        step("addWatch", () -> zk.addWatch(root, e -> {}, AddWatchMode.PERSISTENT));
        step("addWatch recursive", () -> zk.addWatch("/", e -> {}, AddWatchMode.PERSISTENT_RECURSIVE));
        step("removeWatches", () -> zk.removeAllWatches(root, Watcher.WatcherType.Any, true));
        step("whoAmI", () -> zk.whoAmI());
        step("getConfig", () -> zk.getConfig(false, new Stat()));
        step("delete", () -> zk.delete(root + "/e", -1));
        step("delete missing", () -> zk.delete(root + "/e", -1));
        step("close", () -> zk.close());
    }
}
