#!/usr/bin/env bash
# zkServer.sh for zkserver: the same commands, arguments, files and messages as Apache
# ZooKeeper's bin/zkServer.sh, starting the zkserver binary instead of a JVM.
#
#   zkServer.sh [--config <conf-dir>] {start|start-foreground|stop|restart|status|version|print-cmd} [zoo.cfg]
#
# Environment (as in Apache's zkEnv.sh): ZOOCFGDIR (default <repo>/conf), ZOOCFG (file name in
# ZOOCFGDIR, default zoo.cfg), ZOO_LOG_DIR (default <repo>/logs), ZOOPIDFILE (default
# <dataDir>/zookeeper_server.pid), SERVER_JVMFLAGS / JVMFLAGS (-Dkey=value tokens, read by the
# binary from SERVER_JVMFLAGS), ZOO_NOEXEC. The binary: $ZKSERVER_BIN, else
# <repo>/target/release/zkserver, else <repo>/target/debug/zkserver, else zkserver on PATH.

ZOOBIN="${BASH_SOURCE-$0}"
ZOOBIN="$(dirname "${ZOOBIN}")"
ZOOBINDIR="$(cd "${ZOOBIN}" && pwd)"
ZOOKEEPER_PREFIX="$(cd "${ZOOBINDIR}/.." && pwd)"

# --- zkEnv.sh equivalent ---
if [ $# -gt 1 ] && [ "--config" = "$1" ]; then
    shift
    ZOOCFGDIR=$1
    shift
fi
if [ "x$ZOOCFGDIR" = "x" ]; then
    ZOOCFGDIR="$ZOOKEEPER_PREFIX/conf"
fi
if [ -f "${ZOOCFGDIR}/zookeeper-env.sh" ]; then
    . "${ZOOCFGDIR}/zookeeper-env.sh"
fi
if [ "x$ZOOCFG" = "x" ]; then
    ZOOCFG="zoo.cfg"
fi
ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
if [ "x${ZOO_LOG_DIR}" = "x" ]; then
    ZOO_LOG_DIR="$ZOOKEEPER_PREFIX/logs"
fi
export ZOO_LOG_DIR ZOOCFGDIR

if [ "x$JVMFLAGS" != "x" ]; then
    SERVER_JVMFLAGS="$SERVER_JVMFLAGS $JVMFLAGS"
fi
export SERVER_JVMFLAGS

# An explicit config argument: a name inside ZOOCFGDIR, or any other path (Apache's rule).
if [ "x$2" != "x" ]; then
    ZOOCFG="$ZOOCFGDIR/$2"
fi
if [ "x$(dirname "$ZOOCFG")" != "x$ZOOCFGDIR" ]; then
    ZOOCFG="$2"
fi
echo "Using config: $ZOOCFG" >&2

# The binary is started with an absolute path so it does not depend on its working directory.
case "$ZOOCFG" in
    /*) ZOOCFG_ABS="$ZOOCFG" ;;
    *) ZOOCFG_ABS="$PWD/$ZOOCFG" ;;
esac

find_bin() {
    if [ -n "$ZKSERVER_BIN" ]; then
        ZKBIN="$ZKSERVER_BIN"
    elif [ -x "$ZOOKEEPER_PREFIX/target/release/zkserver" ]; then
        ZKBIN="$ZOOKEEPER_PREFIX/target/release/zkserver"
    elif [ -x "$ZOOKEEPER_PREFIX/target/debug/zkserver" ]; then
        ZKBIN="$ZOOKEEPER_PREFIX/target/debug/zkserver"
    elif command -v zkserver > /dev/null 2>&1; then
        ZKBIN="$(command -v zkserver)"
    else
        echo "zkserver binary not found: run 'cargo build --release' in $ZOOKEEPER_PREFIX or set ZKSERVER_BIN" >&2
        exit 1
    fi
}

# Last value of a key in the config (Java-properties: `key=value`, `key: value` or `key value`;
# the last occurrence wins), trimmed. Empty when absent or when the file is unreadable.
cfg_value() {
    [ -r "$ZOOCFG" ] || return 0
    sed -n -e "s/^[[:space:]]*$1[[:space:]]*[=:[:space:]][[:space:]]*//p" "$ZOOCFG" \
        | tail -n 1 | sed -e 's/[[:space:]]*$//' -e 's/\r$//'
}

# dataDir, relative to the current working directory (as the server resolves it).
ZOO_DATADIR="$(cfg_value dataDir)"
case "$ZOO_DATADIR" in
    "" | /*) ;;
    *) ZOO_DATADIR="$PWD/$ZOO_DATADIR" ;;
esac

if [ -z "$ZOOPIDFILE" ]; then
    if [ -n "$ZOO_DATADIR" ] && [ ! -d "$ZOO_DATADIR" ]; then
        mkdir -p "$ZOO_DATADIR"
    fi
    ZOOPIDFILE="$ZOO_DATADIR/zookeeper_server.pid"
else
    # ensure it exists, otherwise stop will fail
    mkdir -p "$(dirname "$ZOOPIDFILE")"
fi

if [ ! -w "$ZOO_LOG_DIR" ]; then
    mkdir -p "$ZOO_LOG_DIR"
fi
ZOO_USER="${USER:-$(id -un 2> /dev/null)}"
ZOO_HOST="${HOSTNAME:-$(uname -n)}"
_ZOO_DAEMON_OUT="$ZOO_LOG_DIR/zookeeper-$ZOO_USER-server-$ZOO_HOST.out"

is_running() {
    [ -n "$1" ] && kill -0 "$1" > /dev/null 2>&1
}

# Send a four-letter word with bash's /dev/tcp (no nc needed); prints the reply.
four_letter_word() {
    timeout 5 bash -c 'exec 3<> "/dev/tcp/$1/$2" || exit 1; printf %s "$3" >&3; cat <&3' \
        _ "$1" "$2" "$3" 2> /dev/null
}

case $1 in
start)
    find_bin
    echo -n "Starting zookeeper ... "
    if [ -f "$ZOOPIDFILE" ]; then
        if is_running "$(cat "$ZOOPIDFILE")"; then
            echo already running as process "$(cat "$ZOOPIDFILE")".
            exit 1
        fi
    fi
    nohup "$ZKBIN" "$ZOOCFG_ABS" > "$_ZOO_DAEMON_OUT" 2>&1 < /dev/null &
    pid=$!
    if ! /bin/echo -n $pid > "$ZOOPIDFILE"; then
        echo FAILED TO WRITE PID
        exit 1
    fi
    sleep 1
    if is_running "$pid"; then
        echo STARTED
    else
        echo FAILED TO START
        exit 1
    fi
    ;;
start-foreground)
    find_bin
    if [ "${ZOO_NOEXEC}" != "" ]; then
        "$ZKBIN" "$ZOOCFG_ABS"
    else
        exec "$ZKBIN" "$ZOOCFG_ABS"
    fi
    ;;
print-cmd)
    find_bin
    echo "SERVER_JVMFLAGS=\"$SERVER_JVMFLAGS\" \"$ZKBIN\" \"$ZOOCFG_ABS\" > \"$_ZOO_DAEMON_OUT\" 2>&1 < /dev/null"
    ;;
stop)
    echo -n "Stopping zookeeper ... "
    if [ ! -f "$ZOOPIDFILE" ]; then
        echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
    else
        pid="$(cat "$ZOOPIDFILE")"
        if is_running "$pid"; then
            kill -TERM "$pid"
            # Wait up to 30 s for a clean shutdown (the server flushes its log on SIGTERM).
            for _ in $(seq 1 300); do
                is_running "$pid" || break
                sleep 0.1
            done
            if is_running "$pid"; then
                echo "FAILED TO STOP (process $pid still running after 30 seconds)"
                exit 1
            fi
        fi
        rm -f "$ZOOPIDFILE"
        echo STOPPED
    fi
    exit 0
    ;;
version)
    find_bin
    "$ZKBIN" --version 2> /dev/null
    ;;
restart)
    shift
    "$0" stop "${@}"
    sleep 3
    "$0" start "${@}"
    ;;
status)
    isSSL="false"
    clientPortAddress="$(cfg_value clientPortAddress)"
    if [ -z "$clientPortAddress" ]; then
        clientPortAddress="localhost"
    fi
    clientPort="$(cfg_value clientPort)"
    if ! [[ "$clientPort" =~ ^[0-9]+$ ]]; then
        clientPort=""
        myid="$(head -n 1 "$ZOO_DATADIR/myid" 2> /dev/null | tr -d '[:space:]')"
        if ! [[ "$myid" =~ ^[0-9]+$ ]]; then
            echo "myid could not be determined, will not able to locate clientPort in the server configs."
        else
            clientPortAndAddress="$(cfg_value "server\\.$myid" | sed -n -e 's/.*;//p')"
            if [ -z "$clientPortAndAddress" ]; then
                echo "Client port not found in the server configs"
            else
                if [[ "$clientPortAndAddress" =~ ^.*:[0-9]+ ]]; then
                    if [[ "$clientPortAndAddress" =~ \[.*\]:[0-9]+ ]]; then
                        clientPortAddress="$(echo "$clientPortAndAddress" | sed -e 's|\[||' -e 's|\]:.*||')"
                    else
                        clientPortAddress="$(echo "$clientPortAndAddress" | sed -e 's/:.*//')"
                    fi
                fi
                clientPort="$(echo "$clientPortAndAddress" | sed -e 's/.*://')"
            fi
        fi
    fi
    if [ -z "$clientPort" ]; then
        echo "Unable to find either secure or unsecure client port in any configs. Terminating."
        exit 1
    fi
    echo "Client port found: $clientPort. Client address: $clientPortAddress. Client SSL: $isSSL."
    STAT="$(four_letter_word "$clientPortAddress" "$clientPort" srvr | grep Mode)"
    if [ "x$STAT" = "x" ]; then
        echo "Error contacting service. It is probably not running."
        exit 1
    else
        echo $STAT
        exit 0
    fi
    ;;
*)
    echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|version|restart|status|print-cmd}" >&2
esac
