#!/usr/bin/env bash
# scripts/bench.sh — zkserver vs Apache ZooKeeper 3.8, side by side, same client (zkbench),
# same zoo.cfg, same machine, fsync on for both. See shared/PERFORMANCE.md §8.
#
#   scripts/bench.sh [--quick|--full] [--only W3,W5] [--impl both|apache|zkserver]
#                    [--servers N | --ensemble] [--repeats R] [--warm S] [--duration S] [--keep]
#                    [--failovers K]
#
# --quick (default): ~5 s per workload, 10 s JVM warm-up, 200k znodes for W9; < 5 min.
# --full: 60 s per workload, 30 s warm-up, 3 repeats (medians), 1M znodes, 10k sessions.
# --ensemble is --servers 3. Write workloads also report txns per fsync (all members).
# With --servers 3 or more, F1 (leader SIGKILL) and F2 (leader SIGSTOP) measure the time to the
# next acknowledged write, K times each (default 5 quick, 10 full; median reported).
# Results: target/bench/<timestamp>.json (all runs + summary) and a table on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/bench/lib.sh"

MODE=quick ONLY="" IMPL=both NSERV=1 REPEATS="" KEEP=0 WARM_ARG="" DUR_ARG="" FAILOVERS=""
while (($#)); do
    case $1 in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --only) ONLY=$2; shift ;;
    --impl) IMPL=$2; shift ;;
    --servers) NSERV=$2; shift ;;
    --ensemble) NSERV=3 ;;
    --repeats) REPEATS=$2; shift ;;
    --warm) WARM_ARG=$2; shift ;;
    --duration) DUR_ARG=$2; shift ;;
    --keep) KEEP=1 ;;
    --failovers) FAILOVERS=$2; shift ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [[ $MODE == full ]]; then
    WARM=30 WU=5 DUR=60 REPEATS=${REPEATS:-3} FANOUT=10000 STORM=10000 BIGMAX=100000
    W9_PARENTS=1000 W11_DUR=60 FAILOVERS=${FAILOVERS:-10}
else
    WARM=10 WU=1 DUR=5 REPEATS=${REPEATS:-1} FANOUT=1000 STORM=1000 BIGMAX=50000
    W9_PARENTS=200 W11_DUR=10 FAILOVERS=${FAILOVERS:-5}
fi
WARM=${WARM_ARG:-$WARM} DUR=${DUR_ARG:-$DUR}
case $IMPL in both) IMPLS=(apache zkserver) ;; apache | zkserver) IMPLS=("$IMPL") ;; *)
    echo "--impl both|apache|zkserver" >&2; exit 2 ;;
esac
# W11 needs W9's tree and a rate from Apache's W3, so it runs only in --full or when named.
ALL="W1 W2 W3 W4 W5 W6 W12 W13 W14 F1 F2 W9 W10"
[[ $MODE == full ]] && ALL="W1 W2 W3 W4 W5 W6 W12 W13 W14 F1 F2 W9 W11 W10"
selected() { [[ -z $ONLY && " $ALL " == *" $1 "* ]] || [[ ",$ONLY," == *",$1,"* ]]; }

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT="$ROOT/target/bench/$STAMP"
WORK="$OUT.d"
JSONL="$OUT.jsonl"
mkdir -p "$WORK"
: >"$JSONL"
BENCH="$ROOT/target/release/zkbench"

echo "== building (cargo build --release -j 2)" >&2
(cd "$ROOT" && cargo build --release -j 2 --bins >&2)

# emit WORKLOAD IMPL JSON_OBJECT: one extra result line (W9/W10) in the runs file.
emit() { printf '{"workload":"%s","label":"%s","result":%s}\n' "$1" "$2" "$3" >>"$JSONL"; }

zkb() { "$BENCH" "$@" --servers "$SERVERS" --label "$impl" --json "$JSONL"; }

# W11's fixed rate: half of Apache's measured W3 peak (or 5000/s without one).
w11_rate() {
    python3 - "$JSONL" <<'EOF'
import json, statistics, sys
t = [r["result"]["throughput"] for r in map(json.loads, open(sys.argv[1]))
     if r.get("workload") == "W3" and r.get("label") == "apache"]
print(round(statistics.median(t) / 2) if t else 5000)
EOF
}

run_impl() {
    impl=$1
    echo "== $impl: $NSERV server(s)" >&2
    cluster_init "$impl" "$NSERV" "$WORK"
    if ! cluster_start "$impl" "$WORK" "$NSERV"; then
        echo "!! $impl did not start (log: $WORK/$impl/s1/server.log); skipped" >&2
        cluster_stop
        emit start "$impl" '{"error":"did not start"}'
        return 0
    fi
    echo "== $impl: warm-up ${WARM}s" >&2
    "$BENCH" load --servers "$SERVERS" --mix create=1,set=2,get=7 --sessions 16 --inflight 8 \
        --warmup 0 --duration "$WARM" --run warm --label "$impl" --json "$WORK/warm.jsonl" >&2 || true
    local w r
    for w in W1 W2 W3 W4 W5 W6; do
        selected $w || continue
        for ((r = 1; r <= REPEATS; r++)); do
            echo "== $impl $w run $r/$REPEATS" >&2
            # A subtree per repeat: W3's creates would otherwise hit the first repeat's nodes.
            local before after
            before=$(log_counters)
            zkb $w --run "$w.$r" --pids "$PID_LIST" --warmup "$WU" --duration "$DUR" || echo "!! $w failed" >&2
            after=$(log_counters)
            case $w in W1 | W3 | W4 | W6)
                emit "$w-fsync" "$impl" "$(fsync_result "$before" "$after")" ;;
            esac
        done
    done
    selected W12 && { zkb W12 --watchers "$FANOUT" --conc 128 || echo "!! W12 failed" >&2; }
    selected W13 && { zkb W13 --sessions "$STORM" --timeout-ms 4000 --conc 128 || echo "!! W13 failed" >&2; }
    selected W14 && { zkb W14 --max-children "$BIGMAX" --step 10000 || echo "!! W14 failed" >&2; }
    if ((NSERV >= 3)); then
        selected F1 && failovers F1 kill
        selected F2 && failovers F2 stop
    fi
    # Honesty check: a server that wrote nothing to its dataDir did not fsync anything.
    if [[ -z $(find "$WORK/$impl/s1/data" -type f ! -name myid 2>/dev/null | head -1) ]]; then
        emit note "$impl" '{"text":"wrote no files to dataDir: no txn log, no fsync; write figures are not comparable"}'
    fi
    cluster_stop
    if selected W9 || selected W10 || selected W11; then tree_phase; fi
}

# log_counters: "ZXID FSYNCS" — the highest zxid counter over the members (`srvr`) and the
# fsyncs of all members summed (`zk_cnt_fsynctime` of `mntr`, which both implementations keep).
log_counters() {
    local k z zmax=0 f fsum=0
    for ((k = 0; k < NSERV; k++)); do
        z=$(four "${CLIENT_PORTS[$k]}" srvr | awk '/^Zxid:/{print $2}')
        [[ -n $z ]] && (((z & 0xffffffff) > zmax)) && zmax=$((z & 0xffffffff))
        f=$(mntr_value "${CLIENT_PORTS[$k]}" zk_cnt_fsynctime)
        fsum=$((fsum + ${f:-0}))
    done
    echo "$zmax $fsum"
}

# fsync_result "Z0 F0" "Z1 F1": txns per fsync over the run, every member logging every txn.
fsync_result() {
    local z0 f0 z1 f1
    read -r z0 f0 <<<"$1"
    read -r z1 f1 <<<"$2"
    printf '{"txns":%s,"fsyncs":%s,"members":%s}' $((z1 - z0)) $((f1 - f0)) "$NSERV"
}

# failovers NAME kill|stop: FAILOVERS times, find the leader, kill -9 (or SIGSTOP) it while a
# client writes through the other members, record the time to the next acknowledged write,
# then bring the member back (restart, or SIGCONT) and wait until every member serves.
failovers() {
    local name=$1 kind=$2 f k leader others res
    local leaders tries
    for ((f = 1; f <= FAILOVERS; f++)); do
        # Exactly one leader: a leader woken from SIGSTOP still says so until its next quorum
        # check (up to a tick), and pausing it again would measure nothing.
        for ((tries = 0; tries < 120; tries++)); do
            leader=-1 others="" leaders=0
            for ((k = 0; k < NSERV; k++)); do
                if four "${CLIENT_PORTS[$k]}" srvr | grep -q '^Mode: leader'; then
                    leader=$k leaders=$((leaders + 1))
                else
                    others+="${others:+,}127.0.0.1:${CLIENT_PORTS[$k]}"
                fi
            done
            ((leaders == 1)) && break
            sleep 0.5
        done
        ((leaders == 1)) || { echo "!! $name: $leaders leaders" >&2; return 0; }
        echo "== $impl $name $f/$FAILOVERS: $kind the leader (server $((leader + 1)))" >&2
        res=$(python3 "$ROOT/scripts/bench/failover.py" --servers "$others" \
            --pid "${PIDS[$leader]}" --kind "$kind") || res='{"error":"failover.py failed"}'
        echo "   $res" >&2
        emit "$name" "$impl" "$res"
        if [[ $kind == kill ]]; then
            wait "${PIDS[$leader]}" 2>/dev/null || true
            server_start "$impl" "$WORK" $((leader + 1))
            PIDS[leader]=$LAST_PID
        else
            kill -CONT "${PIDS[$leader]}"
        fi
        for ((k = 0; k < NSERV; k++)); do
            wait_mode "${CLIENT_PORTS[$k]}" "${PIDS[$k]}" 120 >/dev/null || echo "!! server $((k + 1)) did not come back" >&2
        done
        PID_LIST=$(IFS=,; echo "${PIDS[*]}")
        sleep 1
    done
}

# W9 / W11 / W10 on a fresh cluster, so that leftovers of W3 do not differ between impls.
tree_phase() {
    rm -rf "$WORK/$impl"
    cluster_init "$impl" "$NSERV" "$WORK"
    cluster_start "$impl" "$WORK" "$NSERV" || { echo "!! $impl restart failed" >&2; return 0; }
    local pid=${PIDS[0]} port=${CLIENT_PORTS[0]} heap0=0 heap1=0 rss0 rss1 n0 n1 approx snap
    [[ $impl == apache ]] && heap0=$(heap_used_kb "$pid")
    rss0=$(rss_kb "$pid")
    n0=$(mntr_value "$port" zk_znode_count)
    echo "== $impl W9: loading $W9_PARENTS x 1000 znodes" >&2
    zkb W9 --parents "$W9_PARENTS" --children 1000 --sessions 8 --inflight 128 || echo "!! W9 failed" >&2
    [[ $impl == apache ]] && heap1=$(heap_used_kb "$pid")
    rss1=$(rss_kb "$pid")
    n1=$(mntr_value "$port" zk_znode_count)
    approx=$(mntr_value "$port" zk_approximate_data_size)
    snap=$( (du -cb "$WORK/$impl/s1/data/version-2/"snapshot.* 2>/dev/null || true) | tail -1 | cut -f1)
    emit W9-mem "$impl" "$(printf '{"znodes":%s,"znodes_before":%s,"heap_kb_before":%s,"heap_kb":%s,"rss_kb_before":%s,"rss_kb":%s,"approx_data_size":%s,"snapshot_bytes":%s}' \
        "${n1:-0}" "${n0:-0}" "${heap0:-0}" "${heap1:-0}" "${rss0:-0}" "${rss1:-0}" "${approx:-0}" "${snap:-0}")"
    if selected W11; then
        local rate
        rate=$(w11_rate)
        echo "== $impl W11: W3 at ${rate}/s for ${W11_DUR}s across snapshots" >&2
        zkb W11 --run W11 --rate "$rate" --pids "$PID_LIST" --warmup "$WU" --duration "$W11_DUR" || echo "!! W11 failed" >&2
    fi
    if selected W10; then
        # Standalone: the server; ensemble: a follower (PERFORMANCE.md W10).
        local secs n before k idx=0
        for ((k = 0; k < NSERV; k++)); do
            four "${CLIENT_PORTS[$k]}" srvr | grep -q '^Mode: follower' && { idx=$k; break; }
        done
        pid=${PIDS[$idx]} port=${CLIENT_PORTS[$idx]}
        before=$(mntr_value "$port" zk_znode_count)
        echo "== $impl W10: kill -9 server $((idx + 1)) and restart with $before znodes" >&2
        kill -9 "$pid"
        wait "$pid" 2>/dev/null || true
        server_start "$impl" "$WORK" $((idx + 1))
        PIDS[idx]=$LAST_PID
        secs=$(wait_mode "$port" "$LAST_PID" 120) || secs=null
        n=$(mntr_value "$port" zk_znode_count)
        emit W10 "$impl" "$(printf '{"restart_seconds":%s,"znodes":%s,"znodes_before":%s,"rss_kb":%s}' \
            "$secs" "${n:-0}" "${before:-0}" "$(rss_kb "$LAST_PID")")"
        if [[ ${n:-0} != "${before:-0}" ]]; then
            emit note "$impl" "{\"text\":\"W10: restarted with ${n:-0} znodes, had ${before:-0}: the tree was not recovered\"}"
        fi
    fi
    cluster_stop
}

trap 'cluster_stop 2>/dev/null || true' EXIT
START=$(date +%s)
for impl in "${IMPLS[@]}"; do run_impl "$impl"; done
python3 "$ROOT/scripts/bench/report.py" "$JSONL" "$OUT.json" --mode "$MODE" --servers "$NSERV" \
    --seconds $(($(date +%s) - START))
[[ $KEEP == 1 ]] || rm -rf "$WORK"
echo "results: $OUT.json" >&2
