#!/usr/bin/env python3
"""Side-by-side table for scripts/bench.sh.

Reads the runs file (one zkbench JSON object per line, plus W9/W10 lines written by
bench.sh), takes the median of repeats per implementation, prints
workload | Apache | zkserver | ratio (zkserver / Apache) | server CPU-us/op, and writes
everything (machine, runs, summary rows) to one JSON file.
"""
import argparse
import json
import os
import platform
import statistics
import time


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    runs.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return runs


def dig(obj, *keys):
    for k in keys:
        if not isinstance(obj, dict) or obj.get(k) is None:
            return None
        obj = obj[k]
    return obj


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def per_znode(r, num, den_after, den_before, scale=1024):
    a, b = dig(r, num), dig(r, num + "_before")
    n1, n0 = dig(r, den_after), dig(r, den_before)
    if None in (a, b, n1, n0) or n1 <= n0 or a <= 0:
        return None
    return (a - b) * scale / (n1 - n0)


def w9(r, impl, what):
    r = r["result"]
    if what == "live":
        if impl == "apache":
            return per_znode(r, "heap_kb", "znodes", "znodes_before")
        return per_znode(r, "rss_kb", "znodes", "znodes_before")
    if what == "rss":
        return per_znode(r, "rss_kb", "znodes", "znodes_before")
    if what == "rss_mb":
        return (r.get("rss_kb") or 0) / 1024
    if what == "approx":
        n = r.get("znodes") or 0
        return (r.get("approx_data_size") or 0) / n if n else None
    return None


# (row label, workload, extractor(run, impl), higher_is_better, unit)
ROWS = [
    ("W1 lat-write p50", "W1", lambda r, i: dig(r, "result", "latency", "p50_us"), False, "us"),
    ("W1 lat-write p99", "W1", lambda r, i: dig(r, "result", "latency", "p99_us"), False, "us"),
    ("W2 lat-read p50", "W2", lambda r, i: dig(r, "result", "latency", "p50_us"), False, "us"),
    ("W2 lat-read p99", "W2", lambda r, i: dig(r, "result", "latency", "p99_us"), False, "us"),
]
for w, name in [("W3", "tput-create"), ("W4", "tput-set"), ("W5", "tput-read"), ("W6", "mix-90-10")]:
    ROWS.append((f"{w} {name}", w, lambda r, i: dig(r, "result", "throughput"), True, "ops/s"))
    ROWS.append((f"{w} {name} p99", w, lambda r, i: dig(r, "result", "latency", "p99_us"), False, "us"))


def txns_per_fsync(r):
    t, f, m = dig(r, "result", "txns"), dig(r, "result", "fsyncs"), dig(r, "result", "members")
    return t * (m or 1) / f if t and f else None


for w in ("W1", "W3", "W4", "W6"):
    ROWS.append((f"{w} txns per fsync", f"{w}-fsync", lambda r, i: txns_per_fsync(r), True, "txns"))
ROWS += [
    ("W9 B/znode (heap|RSS delta)", "W9-mem", lambda r, i: w9(r, i, "live"), False, "B"),
    ("W9 RSS delta B/znode", "W9-mem", lambda r, i: w9(r, i, "rss"), False, "B"),
    ("W9 RSS total", "W9-mem", lambda r, i: w9(r, i, "rss_mb"), False, "MB"),
    ("W9 approx_data_size/znode", "W9-mem", lambda r, i: w9(r, i, "approx"), False, "B"),
    ("W9 load rate", "W9", lambda r, i: dig(r, "result", "children", "rate"), True, "ops/s"),
    ("W10 restart to Mode", "W10", lambda r, i: dig(r, "result", "restart_seconds")
     if dig(r, "result", "znodes") == dig(r, "result", "znodes_before") else None, False, "s"),
    ("W11 snap-stall max 1s p99", "W11", lambda r, i: dig(r, "result", "max_1s_p99_us"), False, "us"),
    ("W11 snap-stall p99", "W11", lambda r, i: dig(r, "result", "latency", "p99_us"), False, "us"),
    ("W12 watch-fanout last notif.", "W12", lambda r, i: (dig(r, "result", "last_notification_us") or 0) / 1000, False, "ms"),
    ("W13 session connects", "W13", lambda r, i: dig(r, "result", "connects_per_s"), True, "/s"),
    ("W13 ephemerals gone after", "W13", lambda r, i: dig(r, "result", "expiry_seconds"), False, "s"),
    ("F1 failover: leader SIGKILL", "F1", lambda r, i: dig(r, "result", "ms"), False, "ms"),
    ("F2 failover: leader SIGSTOP", "F2", lambda r, i: dig(r, "result", "ms"), False, "ms"),
    ("W14 getChildren p50 @max", "W14", lambda r, i: dig((dig(r, "result", "points") or [{}])[-1], "latency", "p50_us"), False, "us"),
    ("W14 1MiB limit trips at", "W14", lambda r, i: dig(r, "result", "packet_limit", "first_refused_count"), None, "children"),
]


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) < 100:
        return f"{v:.2f}"
    return f"{v:,.0f}"


def summarize(runs):
    rows = []
    for label, w, get, higher, unit in ROWS:
        vals, cpu = {}, {}
        for impl in ("apache", "zkserver"):
            rs = [r for r in runs if r.get("workload") == w and r.get("label") == impl]
            vals[impl] = med([get(r, impl) for r in rs])
            cpu[impl] = med([dig(r, "result", "resources", "server_cpu_us_per_op") for r in rs])
        a, z = vals["apache"], vals["zkserver"]
        ratio = z / a if a and z is not None else None
        rows.append({"row": label, "workload": w, "unit": unit, "higher_is_better": higher,
                     "apache": a, "zkserver": z, "ratio": ratio,
                     "cpu_us_per_op": cpu, "repeats": len([r for r in runs if r.get("workload") == w])})
    return rows


def print_table(rows):
    head = f"{'workload':<30} {'unit':>8} {'Apache':>12} {'zkserver':>12} {'ratio z/A':>10} {'CPU-us/op A|z':>16}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if r["apache"] is None and r["zkserver"] is None:
            continue
        c = r["cpu_us_per_op"]
        cpu = f"{fmt(c['apache'])}|{fmt(c['zkserver'])}" if any(c.values()) else ""
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        print(f"{r['row']:<30} {r['unit']:>8} {fmt(r['apache']):>12} {fmt(r['zkserver']):>12} {ratio:>10} {cpu:>16}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("out")
    ap.add_argument("--mode", default="quick")
    ap.add_argument("--servers", default="1")
    ap.add_argument("--seconds", default="0")
    a = ap.parse_args()
    runs = load(a.runs)
    rows = summarize(runs)
    print_table(rows)
    notes = [f"{r.get('label')}: {dig(r, 'result', 'text') or dig(r, 'result', 'error')}"
             for r in runs if r.get("workload") in ("note", "start")]
    for n in notes:
        print(f"note: {n}")
    machine = {"cores": os.cpu_count(), "kernel": platform.release(), "host": platform.node()}
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": a.mode,
           "servers": int(a.servers), "wall_seconds": int(a.seconds), "machine": machine,
           "summary": rows, "notes": notes, "runs": runs}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
