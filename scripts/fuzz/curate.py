#!/usr/bin/env python3
"""Pick the small committed corpus of one fuzz target out of a large one.

Input: a libFuzzer merge control file (`TARGET -merge=1 -merge_control_file=CTL OUT DIRS...`,
written by `scripts/fuzz.sh curate`), which lists every candidate file and the features (FT)
and coverage edges (COV) each one reaches. Output: the chosen paths, one a line, on stdout;
figures on stderr.

Choice, by greedy weighted set cover (cheapest new item first: size of the file plus a fixed
per-file cost, divided by the items it adds that the files already chosen lack):
  1. every coverage edge any candidate reaches, whatever it costs;
  2. then libFuzzer's finer features (edge hit counts, value profiles) while the corpus stays
     under the file and byte budget.
libFuzzer's own merge keeps every file that adds any feature (thousands here); this keeps the
committed corpus small enough for git and for a replay of seconds without losing an edge.
"""
import argparse
import heapq
import sys

PER_FILE_COST = 256  # bytes: a file's weight beyond its length (git object, one replay)


def parse(ctl_path):
    with open(ctl_path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    n = int(lines[0])
    files = lines[2 : 2 + n]
    size, ft, cov = {}, {}, {}
    for line in lines[2 + n :]:
        parts = line.split()
        if not parts:
            continue
        kind, idx = parts[0], int(parts[1])
        if kind == "STARTED":
            size[idx] = int(parts[2])
        elif kind == "FT":
            ft[idx] = set(map(int, parts[2:]))
        elif kind == "COV":
            cov[idx] = set(map(int, parts[2:]))
    return files, size, ft, cov


def cover(size, items, chosen, max_files, max_bytes):
    """Extends `chosen` (indices) greedily over `items` (index -> set) within the budget."""
    covered = set().union(*(items.get(i, set()) for i in chosen)) if chosen else set()
    spent = sum(size.get(i, 0) for i in chosen)
    # Lazy greedy: a heap of (cost per new feature, index) whose keys only grow over time.
    heap = [
        ((size.get(i, 0) + PER_FILE_COST) / len(f), i)
        for i, f in items.items()
        if f - covered
    ]
    heapq.heapify(heap)
    while heap and len(chosen) < max_files:
        _, i = heapq.heappop(heap)
        new = len(items[i] - covered)
        if new == 0:
            continue
        key = (size.get(i, 0) + PER_FILE_COST) / new
        if heap and key > heap[0][0]:
            heapq.heappush(heap, (key, i))
            continue
        if spent + size.get(i, 0) > max_bytes:
            continue
        chosen.append(i)
        covered |= items[i]
        spent += size.get(i, 0)
    return chosen


def curate(files, size, ft, cov, max_files, max_bytes):
    chosen = cover(size, cov, [], len(files), float("inf"))
    return cover(size, ft, chosen, max_files, max_bytes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("control_file")
    ap.add_argument("--max-files", type=int, default=200)
    ap.add_argument("--max-kb", type=int, default=192)
    args = ap.parse_args()
    files, size, ft, cov = parse(args.control_file)
    chosen = curate(files, size, ft, cov, args.max_files, args.max_kb * 1024)
    spent = sum(size.get(i, 0) for i in chosen)
    covered = set().union(*(ft.get(i, set()) for i in chosen)) if chosen else set()
    all_ft = set().union(*ft.values()) if ft else set()
    all_cov = set().union(*cov.values()) if cov else set()
    kept_cov = set().union(*(cov.get(i, set()) for i in chosen)) if chosen else set()
    print(
        f"curate: {len(chosen)} of {len(files)} files, {spent // 1024} KiB; "
        f"features {len(covered)}/{len(all_ft)} ({100 * len(covered) // max(len(all_ft), 1)}%), "
        f"edges {len(kept_cov)}/{len(all_cov)} ({100 * len(kept_cov) // max(len(all_cov), 1)}%)",
        file=sys.stderr,
    )
    for i in chosen:
        print(files[i])


if __name__ == "__main__":
    main()
