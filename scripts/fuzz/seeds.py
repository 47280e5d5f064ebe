#!/usr/bin/env python3
"""Builds the fuzz seed corpora (fuzz/seeds/<target>/) from real traffic and real files:

  client, server  client connections recorded in front of Apache 3.8 and zkserver while the
                  Java client, zkCli.sh and kazoo ran (fuzz/captures/clients/*.fwd, made by
                  scripts/fuzz/capture-clients.sh); whole connections and single requests
  four_letter     every four-letter word, with whitelist values
  election        election connections captured between Apache 3.8 members
                  (tests/fixtures/quorum/election): dialler streams as they are, listener
                  streams behind a legacy sid-only initial message
  quorum          quorum-port streams of the same capture (tests/fixtures/quorum/sync), side
                  byte 1 for what a learner reads (leader streams), 0 for what a leader reads;
                  each packet alone too
  txn             tests/fixtures/apache-gen/txns.bin (whole and one txn per seed) and every
                  PROPOSAL/INFORM payload of the quorum capture
  apache_snap     the captured SNAP body and the one Apache's classes wrote
  log, snapshot   segments and snapshots written by zkserver (fuzz/captures/files, made by
                  scripts/fuzz/capture-clients.sh), preallocated zeros trimmed
  zoo_cfg         conf/, Debian's and Apache's sample configs, ensemble configs

Seeds are the start; the curated corpora (fuzz/corpus/<target>/, picked by
scripts/fuzz/curate.py from the campaigns' full corpora) are what CI replays.
Usage: scripts/fuzz/seeds.py   (from anywhere; rewrites fuzz/seeds/)
"""

import glob
import hashlib
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
CAP = os.path.join(ROOT, "fuzz", "captures")
OUT = os.path.join(ROOT, "fuzz", "seeds")


def put(target, data, name=None):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def frames(data):
    """int-length frames of a client stream (stops at the first that does not fit)."""
    out, pos = [], 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack(">i", data[pos:pos + 4])
        if n < 0 or pos + 4 + n > len(data):
            break
        out.append(data[pos:pos + 4 + n])
        pos += 4 + n
    return out


def quorum_packets(data, learner_side):
    """Byte spans of quorum packets (a SNAP keeps its body and signature on the learner side)."""
    out, pos = [], 0
    sig = struct.pack(">i", 10) + b"BenWasHere"
    while pos + 16 <= len(data):
        start = pos
        typ, _zxid, dlen = struct.unpack(">iqi", data[pos:pos + 16])
        pos += 16 + max(dlen, 0)
        if pos + 4 > len(data):
            break
        (cnt,) = struct.unpack(">i", data[pos:pos + 4])
        pos += 4
        for _ in range(max(cnt, 0) * 2):
            (n,) = struct.unpack(">i", data[pos:pos + 4])
            pos += 4 + max(n, 0)
        if typ == 15 and learner_side:
            end = data.find(sig, pos)
            if end < 0:
                break
            pos = end + len(sig)
        out.append((typ, data[start:pos], data[start + 16:start + 16 + max(dlen, 0)]))
    return out


def client_seeds():
    for path in sorted(glob.glob(os.path.join(CAP, "clients", "*.fwd"))):
        data = read(path)
        if not data:
            continue
        if len(data) <= 64 * 1024:
            put("client", data)
            put("server", b"\x01" + data)
        fs = frames(data)
        for f in fs[1:]:
            put("server", b"\x00" + f)
            put("client", fs[0] + f)
        if len(fs) > 1:
            put("server", b"\x00" + b"".join(fs[1:])[: 64 * 1024])


def four_letter_seeds():
    words = ["conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr",
             "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs"]
    for w in words:
        put("four_letter", w.encode() + b"mntr,ruok")
        put("server", b"\x01" + w.encode())
    put("four_letter", b"xxxx*")
    put("four_letter", b"\x01bad!srvr, stat ,, isro,nope")


def election_seeds():
    legacy = struct.pack(">q", 9)
    for path in sorted(glob.glob(os.path.join(FIX, "quorum", "election", "*.bin"))):
        data = read(path)
        if not data:
            continue
        put("election", data if path.endswith("dialler.bin") else legacy + data)


def quorum_seeds():
    for path in sorted(glob.glob(os.path.join(FIX, "quorum", "sync", "*.bin"))):
        if "snap-body" in path:
            continue
        data = read(path)
        learner_side = path.endswith(".leader.bin")
        side = b"\x01" if learner_side else b"\x00"
        put("quorum", side + data)
        for typ, packet, payload in quorum_packets(data, learner_side):
            put("quorum", side + packet)
            if typ in (2, 8, 19) and payload:
                put("txn", struct.pack(">i", len(payload)) + payload)


def txn_seeds():
    data = read(os.path.join(FIX, "apache-gen", "txns.bin"))
    put("txn", data, "apache-gen-txns")
    for f in frames(data):
        put("txn", f)


def snap_seeds():
    put("apache_snap", read(os.path.join(FIX, "quorum", "sync", "snap-body.bin")), "captured")
    put("apache_snap", read(os.path.join(FIX, "apache-gen", "apache-snap.bin")), "apache-gen")


def trim_zeros(data):
    end = len(data)
    while end > 0 and data[end - 1] == 0:
        end -= 1
    return data[: end + 16] if end + 16 <= len(data) else data


def file_seeds():
    for path in sorted(glob.glob(os.path.join(CAP, "files", "*", "log.*"))):
        seg = trim_zeros(read(path))
        if len(seg) <= 256 * 1024:
            put("log", b"\x00" + seg)
    for path in sorted(glob.glob(os.path.join(CAP, "files", "*", "snapshot.*"))):
        snap = read(path)
        if len(snap) <= 256 * 1024:
            put("snapshot", b"\x00" + snap)
            body = snap[16:-16]
            put("snapshot", b"\x01" + body)


def cfg_seeds():
    paths = glob.glob(os.path.join(ROOT, "conf", "*.cfg"))
    paths += ["/etc/zookeeper/conf/zoo.cfg", "/usr/share/zookeeper/zoo.cfg"]
    paths += glob.glob(os.path.join(CAP, "cfg", "*"))
    for path in paths:
        if os.path.isfile(path):
            put("zoo_cfg", read(path))
    ensemble = (
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/var/lib/zk\n"
        "server.1=127.0.0.1:2888:3888;2181\nserver.2=[::1]:2889:3889:participant;127.0.0.1:2182\n"
        "server.3=zk3.example.com:2890:3890:observer\npeerType=observer\n"
        "4lw.commands.whitelist=mntr, ruok\nautopurge.purgeInterval=1\n"
        "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
    ).encode()
    put("zoo_cfg", ensemble + b"\x003\n\x00-Djute.maxbuffer=4096 -Dzookeeper.digest.enabled=false")
    put("zoo_cfg", b"dataDir=/tmp/zk\nclientPort=2181\nlist=a,\\\n  b\nk\\=ey=\\u0041\\t\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    client_seeds()
    four_letter_seeds()
    election_seeds()
    quorum_seeds()
    txn_seeds()
    snap_seeds()
    file_seeds()
    cfg_seeds()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f"{t:12} {len(files):5} seeds {size:9} bytes")


if __name__ == "__main__":
    main()
