#!/usr/bin/env bash
# Fault soak outside CI: runs tests/nemesis (seeded fault schedules against real members,
# history checked for linearizability, per-session order, lost writes and divergent trees)
# once per seed, so one failing seed does not stop the soak, then prints a summary.
#   scripts/nemesis.sh                    seeds 1..20, 60 s each, 3 members
#   NEMESIS_FIRST=100 NEMESIS_COUNT=50 NEMESIS_SECONDS=120 NEMESIS_MEMBERS=5 scripts/nemesis.sh
#   sync+reads are checked as linearizable (NEMESIS_STRICT_SYNC=0 turns that off; off for Apache)
#   ZK_IMPL=apache runs the same against Apache ZooKeeper 3.8 members.
# Needs root and iptables (network partitions). The report goes to stdout and to
# target/nemesis-<UTC time>.txt; a failing seed's evidence folder path is in that report
# (under target/nemesis-tmp unless NEMESIS_TMPDIR says otherwise).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FIRST="${NEMESIS_FIRST:-1}"
COUNT="${NEMESIS_COUNT:-20}"
export NEMESIS_SECONDS="${NEMESIS_SECONDS:-60}"
export NEMESIS_MEMBERS="${NEMESIS_MEMBERS:-3}"
cargo build --release --test nemesis >&2
# Ensembles and failure folders under target/, away from whatever cleans /tmp (a soak run once
# lost a running ensemble's whole directory to something outside the test).
export TMPDIR="${NEMESIS_TMPDIR:-$PWD/target/nemesis-tmp}"
mkdir -p "$TMPDIR"
chmod 755 "$TMPDIR"
REPORT="target/nemesis-$(date -u +%Y%m%dT%H%M%SZ).txt"
RAW="$REPORT.raw"
: >"$RAW"
failed=()
for ((seed = FIRST; seed < FIRST + COUNT; seed++)); do
    echo "== seed $seed (${NEMESIS_SECONDS}s, ${NEMESIS_MEMBERS} members, ${ZK_IMPL:-zkserver})" >&2
    if ! NEMESIS_SEEDS="$seed" cargo test --release --test nemesis seeded -- --nocapture \
            >"$RAW.seed" 2>&1; then
        failed+=("$seed")
        grep -E "NEMESIS FAILURE|panicked at" -A2 "$RAW.seed" >&2 || tail -20 "$RAW.seed" >&2
    fi
    grep -E "^nemesis: seed [0-9]+: |NEMESIS FAILURE" "$RAW.seed" >>"$RAW" || true
done
rm -f "$RAW.seed"
python3 - "$RAW" "${#failed[@]}" "${failed[*]:-}" >"$REPORT" <<'PY'
import re, sys, collections
raw, nfail, failed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
faults = collections.Counter()
tot = collections.Counter()
seeds = 0
evidence = []
for line in open(raw):
    if "NEMESIS FAILURE" in line:
        evidence.append(line.strip())
        continue
    m = re.search(r"faults=\d+ (\{.*?\}) (.*)", line)
    if not m:
        continue
    seeds += 1
    for k, v in re.findall(r'"(\w+)": (\d+)', m.group(1)):
        faults[k] += int(v)
    for k, v in re.findall(r"(\w+)=(\d+)", m.group(2)):
        tot[k] += int(v)
print(f"nemesis soak: {seeds} seeds passed, {nfail} failed {failed}")
print(f"faults: {sum(faults.values())} " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
print(f"register operations: {tot['register_ops']}, indeterminate: {tot['indeterminate']}, "
      f"queue operations: {tot['queue_ops']}, lease holds: {tot['leases']}, "
      f"acknowledged creates: {tot['acked_creates']}, sessions: {tot['sessions']}")
print(f"violations: {nfail}")
for e in evidence:
    print(e)
PY
cat "$REPORT"
echo "report: $REPORT" >&2
[ "${#failed[@]}" = 0 ]
