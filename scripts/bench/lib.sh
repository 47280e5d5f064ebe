# scripts/bench/lib.sh — server lifecycle for scripts/bench.sh: zoo.cfg generation for
# N servers, starting Apache ZooKeeper 3.8 (Debian) and zkserver on their own ports and
# dataDirs, four-letter words, waiting for "Mode:", CPU/RSS/heap probes.
# Sourced, not run. Both implementations get byte-identical zoo.cfg keys.

ZK_CP="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
# WARN logging through Debian's log4j.properties (zookeeper.root.logger is its root).
ZK_JVM=(-Xms2g -Xmx2g -Dzookeeper.root.logger=WARN,CONSOLE -Dzookeeper.console.threshold=WARN)

# free_ports N: N currently unused TCP ports on loopback, space separated.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# four IMPL_PORT WORD: send a four-letter word, print the answer (empty on failure).
four() {
    python3 - "$1" "$2" <<'EOF' 2>/dev/null
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(sys.argv[2].encode()); out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    sys.stdout.write(out.decode(errors="replace"))
except Exception:
    pass
EOF
}

# cluster_init IMPL N DIR: writes DIR/IMPL/s<i>/{zoo.cfg,data/myid} for N servers and
# sets CLIENT_PORTS (array) and SERVERS (host:port,... for zkbench).
cluster_init() {
    local impl=$1 n=$2 dir=$3 i ports
    read -r -a ports <<<"$(free_ports $((n * 3)))"
    CLIENT_PORTS=()
    SERVERS=""
    for ((i = 1; i <= n; i++)); do
        local sd="$dir/$impl/s$i"
        mkdir -p "$sd/data"
        CLIENT_PORTS+=("${ports[$(((i - 1) * 3))]}")
        {
            echo "tickTime=2000"
            echo "initLimit=10"
            echo "syncLimit=5"
            echo "dataDir=$sd/data"
            echo "clientPort=${ports[$(((i - 1) * 3))]}"
            echo "maxClientCnxns=0"
            echo "admin.enableServer=false"
            echo "4lw.commands.whitelist=*"
            echo "snapCount=100000"
            echo "autopurge.snapRetainCount=3"
            echo "autopurge.purgeInterval=0"
            if ((n > 1)); then
                local j
                for ((j = 1; j <= n; j++)); do
                    echo "server.$j=127.0.0.1:${ports[$(((j - 1) * 3 + 1))]}:${ports[$(((j - 1) * 3 + 2))]}"
                done
            fi
        } >"$sd/zoo.cfg"
        echo "$i" >"$sd/data/myid"
        SERVERS+="${SERVERS:+,}127.0.0.1:${ports[$(((i - 1) * 3))]}"
    done
}

# server_start IMPL DIR I: starts server I in the background; sets LAST_PID.
server_start() {
    local impl=$1 sd="$2/$1/s$3"
    if [[ $impl == apache ]]; then
        java "${ZK_JVM[@]}" -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain \
            "$sd/zoo.cfg" >>"$sd/server.log" 2>&1 &
    else
        ZKSERVER_LOG=${ZKSERVER_LOG:-warn} "$ROOT/target/release/zkserver" "$sd/zoo.cfg" >>"$sd/server.log" 2>&1 &
    fi
    LAST_PID=$!
}

# wait_mode PORT PID TIMEOUT_S: waits until `srvr` answers with a Mode line; prints the
# seconds it took, or fails if the process died or the time ran out.
wait_mode() {
    local port=$1 pid=$2 limit=$3 t0
    t0=$(date +%s.%N)
    while true; do
        if four "$port" srvr | grep -q '^Mode:'; then
            python3 -c "import time;print(round(time.time()-$t0,3))"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        if python3 -c "import sys,time;sys.exit(time.time()-$t0<$limit)"; then return 1; fi
        sleep 0.02
    done
}

# cluster_start IMPL DIR N: starts all servers; sets PIDS (array) and PID_LIST (a,b,c).
cluster_start() {
    local impl=$1 dir=$2 n=$3 i
    PIDS=()
    for ((i = 1; i <= n; i++)); do
        server_start "$impl" "$dir" "$i"
        PIDS+=("$LAST_PID")
    done
    for ((i = 1; i <= n; i++)); do
        wait_mode "${CLIENT_PORTS[$((i - 1))]}" "${PIDS[$((i - 1))]}" 60 >/dev/null || return 1
    done
    PID_LIST=$(IFS=,; echo "${PIDS[*]}")
}

# stop_pid PID: SIGTERM, up to 10 s of grace, then SIGKILL.
stop_pid() {
    local p=$1 k
    kill "$p" 2>/dev/null || return 0
    for ((k = 0; k < 100; k++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

cluster_stop() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# heap_used_kb PID: full GC, then the Java heap in use (KiB) from GC.heap_info.
heap_used_kb() {
    jcmd "$1" GC.run >/dev/null 2>&1 || true
    jcmd "$1" GC.heap_info 2>/dev/null | grep -m1 -oE 'used [0-9]+K' | grep -oE '[0-9]+' || echo 0
}

# mntr_value PORT KEY: one value of `mntr`.
mntr_value() { four "$1" mntr | awk -v k="$2" '$1==k{print $2}'; }
