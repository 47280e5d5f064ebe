#!/usr/bin/env bash
# Regenerates the quorum-protocol golden fixtures (tests/fixtures/quorum/) from a real Apache
# ZooKeeper 3.8 ensemble: 3 participants + 1 observer run from the Debian package, every
# member-to-member connection (election and quorum ports) crossing a recording relay.
# Not part of CI: the golden tests (tests/quorum_golden/) only read the committed bytes.
#
#   scripts/capture-quorum.sh [WORK_DIR]     (default: a fresh temp dir, kept for inspection)
#
# Needs java, /usr/share/java/zookeeper.jar and kazoo (a .venv is made if kazoo is missing).
# Environment: CAPTURE_PORT_BASE (default 31000; BASE..BASE+299 must be free).
# Takes about a minute. See scripts/quorum-capture/scenarios.py for what it drives.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
WORK=${1:-$(mktemp -d /tmp/quorum-capture.XXXXXX)}
FIX="$ROOT/tests/fixtures/quorum"

[ -f /usr/share/java/zookeeper.jar ] || { echo "need Debian's zookeeper package (apt-get install zookeeper)" >&2; exit 1; }
command -v java >/dev/null || { echo "need java" >&2; exit 1; }

PY=python3
if ! "$PY" -c 'import kazoo' 2>/dev/null; then
  if ! [ -x .venv/bin/python ] || ! .venv/bin/python -c 'import kazoo' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check kazoo
  fi
  PY="$ROOT/.venv/bin/python"
fi

VERSION=$(java -cp /usr/share/java/zookeeper.jar org.apache.zookeeper.version.VersionInfoMain 2>/dev/null | head -1)
echo "capturing ${VERSION:-Apache ZooKeeper ?} into $WORK" >&2
"$PY" scripts/quorum-capture/scenarios.py "$WORK"
"$PY" scripts/quorum-capture/extract.py "$WORK/rec" "$FIX"
{
  echo "apache_zookeeper=${VERSION:-unknown}"
  echo "debian_package=$(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo unknown)"
  echo "java=$(java -version 2>&1 | head -1)"
  echo "captured_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "port_base=${CAPTURE_PORT_BASE:-31000}"
  echo
  echo "# phases (unix time, name)"
  cat "$WORK/phases.log"
} > "$FIX/capture-info.txt"
echo "fixtures written to $FIX (raw recording and member logs kept in $WORK)" >&2
