#!/usr/bin/env python3
"""Recording TCP relay for capturing Apache ZooKeeper's quorum traffic.

Each link `NAME:LISTEN_PORT:TARGET_PORT` accepts connections on 127.0.0.1:LISTEN_PORT and
forwards them to 127.0.0.1:TARGET_PORT. Connection number N on link NAME writes the bytes it
forwards to OUT/NAME.N.fwd (dialler -> listener) and OUT/NAME.N.rev (listener -> dialler), and
one line per forwarded chunk to OUT/events.log:

    <unix time> <NAME.N> <fwd|rev|open|close|drop> <offset in that direction> <length>

so the interleaving of the two directions can be rebuilt at chunk granularity (the order within
one direction is exact).

The relay accepts before it knows whether the target listens; if the target refuses, it retries
for up to 3 s (a real dialler would have seen "refused" and retried) rather than handing the
dialler an instant EOF, which makes Apache learners abandon a leader it just elected.

Link names are `<kind><from>-<to>` (e.g. q1-3 = member 1 dialling member 3's quorum port).
If OUT/blackhole exists, its whitespace-separated sids name members whose QUORUM-port links
(`q*`) are cut: chunks to or from them are discarded (logged as `drop`), which simulates a
network partition without the bytes piling up in a stopped process's socket buffer.

Usage: relay.py OUT NAME:LISTEN:TARGET ...   (runs until SIGTERM/SIGINT)
"""

import asyncio
import os
import signal
import socket
import sys
import time


class Recorder:
    def __init__(self, out):
        self.out = out
        self.events = open(os.path.join(out, "events.log"), "a", buffering=1)
        self.counters = {}

    def next_conn(self, name):
        n = self.counters.get(name, 0) + 1
        self.counters[name] = n
        return f"{name}.{n}"

    def event(self, conn, what, offset, length):
        self.events.write(f"{time.time():.6f} {conn} {what} {offset} {length}\n")

    def blackholed(self, name):
        if not name.startswith("q"):
            return False
        try:
            with open(os.path.join(self.out, "blackhole")) as f:
                sids = set(f.read().split())
        except FileNotFoundError:
            return False
        a, b = name[1:].split("-")
        return a in sids or b in sids


async def pump(rec, name, conn, direction, reader, writer):
    path = os.path.join(rec.out, f"{conn}.{direction}")
    offset = 0
    with open(path, "wb") as f:
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if rec.blackholed(name):
                    rec.event(conn, "drop", offset, len(chunk))
                    continue
                f.write(chunk)
                f.flush()
                rec.event(conn, direction, offset, len(chunk))
                offset += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                if writer.can_write_eof():
                    writer.write_eof()
            except (ConnectionError, OSError):
                pass


def nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def handler(rec, name, target):
    async def handle(creader, cwriter):
        conn = rec.next_conn(name)
        # The dialler already sees an accepted connection; if the target is not listening
        # yet, keep trying for a while (Apache's learner would have retried a refused
        # connect) instead of handing it an instant EOF.
        treader = twriter = None
        for _ in range(60):
            try:
                treader, twriter = await asyncio.open_connection("127.0.0.1", target)
                break
            except OSError:
                await asyncio.sleep(0.05)
        if twriter is None:
            rec.event(conn, "refused", 0, 0)
            cwriter.close()
            return
        nodelay(cwriter)
        nodelay(twriter)
        rec.event(conn, "open", 0, 0)
        # One side ending (EOF or reset) ends the relay of that connection, as a real
        # close would: Apache never half-closes these sockets.
        a = asyncio.ensure_future(pump(rec, name, conn, "fwd", creader, twriter))
        b = asyncio.ensure_future(pump(rec, name, conn, "rev", treader, cwriter))
        await asyncio.wait([a, b], return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0.2)
        for w in (cwriter, twriter):
            w.close()
        await asyncio.gather(a, b, return_exceptions=True)
        rec.event(conn, "close", 0, 0)

    return handle


async def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rec = Recorder(out)
    servers = []
    for spec in sys.argv[2:]:
        name, listen, target = spec.split(":")
        servers.append(
            await asyncio.start_server(handler(rec, name, int(target)), "127.0.0.1", int(listen))
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"relay: {len(servers)} links recording into {out}", flush=True)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())
