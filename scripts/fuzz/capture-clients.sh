#!/usr/bin/env bash
# Records real client traffic and real data files for the fuzz seeds (scripts/fuzz/seeds.py):
# Apache ZooKeeper 3.8 (Debian's) and zkserver run standalone side by side, each behind the
# recording relay of scripts/quorum-capture/relay.py, while Apache's Java client
# (ClientWorkout.java), kazoo (kazoo_workout.py) and zkCli.sh (zkcli-commands.txt) run one
# session each against both. Writes:
#   fuzz/captures/clients/<impl>-<client>.<n>.fwd   client -> server bytes of each connection
#   fuzz/captures/files/<impl>/log.* snapshot.*     the data files both servers wrote
# Needs java + javac, /usr/share/java/zookeeper.jar, zkCli.sh, kazoo (.venv or system) and
# target/release/zkserver. PORT_BASE (default 34200) picks the ports (base .. base+21).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
OUT=$ROOT/fuzz/captures
BASE=${PORT_BASE:-34200}
JAR=/usr/share/java/zookeeper.jar
ZKCLI=/usr/share/zookeeper/bin/zkCli.sh
BIN=${ZKSERVER_BIN:-$ROOT/target/release/zkserver}
PY=python3
[ -x "$ROOT/.venv/bin/python" ] && PY=$ROOT/.venv/bin/python
for need in java javac "$JAR" "$ZKCLI" "$BIN"; do
  command -v "$need" >/dev/null 2>&1 || [ -e "$need" ] || { echo "capture-clients.sh: $need is missing" >&2; exit 1; }
done
"$PY" -c 'import kazoo' || { echo "capture-clients.sh: kazoo is missing" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cfg() { # dir port
  cat <<CFG
tickTime=2000
dataDir=$1
clientPort=$2
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=false
extendedTypesEnabled=true
snapCount=40
CFG
}

ruok() { # port
  for _ in $(seq 1 150); do
    if [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$1" && printf ruok >&3 && timeout 2 cat <&3) 2>/dev/null)" = imok ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "capture-clients.sh: nothing answers ruok on $1" >&2
  return 1
}

A=$BASE; Z=$((BASE + 10))
mkdir -p "$work/apache" "$work/zkserver" "$work/rec" "$work/classes"
cfg "$work/apache" "$A" >"$work/apache.cfg"
cfg "$work/zkserver" "$Z" >"$work/zkserver.cfg"
java -Xmx256m -cp "/etc/zookeeper/conf:$JAR" org.apache.zookeeper.server.quorum.QuorumPeerMain \
  "$work/apache.cfg" >"$work/apache.log" 2>&1 &
apache_pid=$!; pids+=("$apache_pid")
"$BIN" "$work/zkserver.cfg" >"$work/zkserver.log" 2>&1 &
zks_pid=$!; pids+=("$zks_pid")
"$PY" scripts/quorum-capture/relay.py "$work/rec" "apache:$((A + 1)):$A" "zkserver:$((Z + 1)):$Z" \
  >"$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")
ruok "$A"; ruok "$Z"
javac -cp "$JAR" -d "$work/classes" scripts/fuzz/ClientWorkout.java

# Runs one client against one server through the relay; names its connections.
client() { # impl port name command...
  local impl=$1 port=$2 name=$3; shift 3
  "$@" >>"$work/clients.log" 2>&1 || true
  sleep 1
  local f
  for f in "$work"/rec/"$impl".[0-9]*.fwd; do
    [ -e "$f" ] && mv "$f" "$work/rec/$impl-$name.${f##*/$impl.}"
  done
}

for impl in apache zkserver; do
  if [ "$impl" = apache ]; then port=$((A + 1)); else port=$((Z + 1)); fi
  client "$impl" "$port" java java -cp "$work/classes:$JAR" ClientWorkout "127.0.0.1:$port"
  client "$impl" "$port" kazoo "$PY" scripts/fuzz/kazoo_workout.py "127.0.0.1:$port"
  client "$impl" "$port" zkcli sh -c "$ZKCLI -server 127.0.0.1:$port < scripts/fuzz/zkcli-commands.txt"
done

cp "$work/clients.log" "$work/../capture-clients.log" 2>/dev/null || true
kill "$relay_pid" "$apache_pid" "$zks_pid" 2>/dev/null || true
wait "$zks_pid" 2>/dev/null || true
rm -rf "$OUT/clients" "$OUT/files"
mkdir -p "$OUT/clients" "$OUT/files/apache" "$OUT/files/zkserver"
for f in "$work"/rec/*-*.fwd; do
  [ -s "$f" ] && cp "$f" "$OUT/clients/"
done
cp "$work"/apache/version-2/* "$OUT/files/apache/" 2>/dev/null || true
cp "$work"/zkserver/version-2/log.* "$work"/zkserver/version-2/snapshot.* "$OUT/files/zkserver/" 2>/dev/null || true
# Segments are preallocated (64 MiB of zeros): keep the records and one zero record header.
for f in "$OUT"/files/*/log.*; do
  "$PY" - "$f" <<'PY'
import sys
p = sys.argv[1]
b = open(p, "rb").read()
end = len(b.rstrip(b"\0"))
open(p, "wb").write(b[: min(len(b), end + 16)])
PY
done
echo "capture-clients.sh: $(ls "$OUT/clients" | wc -l) connections, files: $(ls "$OUT"/files/* | tr '\n' ' ')"
