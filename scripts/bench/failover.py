#!/usr/bin/env python3
"""Failover time of a ZooKeeper ensemble, the same way for any implementation: a raw client
keeps creating znodes through the members that are not the leader, the leader is killed
(SIGKILL) or paused (SIGSTOP), and the time until the next create is acknowledged is measured.
A refused or dropped connection moves the client to the next member after 5 ms.

    failover.py --servers h:p,h:p --pid PID --kind kill|stop [--timeout S]

Prints one JSON object: {"kind": ..., "ms": ..., "attempts": ...}.
"""
import argparse, json, os, signal, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "python"))
import zkraw  # noqa: E402


def connect(servers, i):
    host, port = servers[i % len(servers)]
    c = zkraw.RawClient(host, port, timeout_ms=4000, sock_timeout=2.0)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--kind", choices=("kill", "stop"), default="kill")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    servers = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in a.servers.split(",")]
    client, i = None, 0
    # One acknowledged create first, so the measurement starts from a working session.
    while client is None:
        try:
            client = connect(servers, i)
            client.create("/failover", b"")
        except zkraw.Closed:
            client = None
        except Exception:
            if client is not None:
                break
            i += 1
            time.sleep(0.005)
    os.kill(a.pid, signal.SIGKILL if a.kind == "kill" else signal.SIGSTOP)
    t0 = time.monotonic()
    attempts = 0
    while time.monotonic() - t0 < a.timeout:
        attempts += 1
        try:
            if client is None:
                client = connect(servers, i)
            err, _ = client.create("/failover/n-", b"", flags=2)
            if err == 0:
                break
            raise zkraw.Closed("create failed with %d" % err)
        except Exception:
            try:
                client.sock.close()
            except Exception:
                pass
            client = None
            i += 1
            time.sleep(0.005)
    ms = (time.monotonic() - t0) * 1000
    print(json.dumps({"kind": a.kind, "ms": round(ms, 1), "attempts": attempts}))


if __name__ == "__main__":
    main()
