#!/usr/bin/env bash
# The one test command (README points here):
#   1. installs what is missing (as root on Debian: Apache ZooKeeper + JRE via apt if
#      /usr/share/java/zookeeper.jar is absent, a JDK if javac is, curl, iptables; Go and the go-zookeeper
#      client source via apt if `go` or /usr/share/gocode/.../go-zookeeper is absent; a venv at
#      <repo>/.venv with kazoo, pure-sasl, pytest and prometheus-client if not importable),
#   2. cargo build --release (the Python suite runs the release binary),
#   3. cargo test --release (all Rust tests; tests/fuzz_corpora.rs replays the committed fuzz
#      corpora and regressions on stable in seconds; libFuzzer campaigns and bursts need nightly
#      + cargo-fuzz and run from scripts/fuzz.sh, not here),
#   4. pytest -q tests/python with ZK_IMPL=zkserver.
# Extra arguments go to pytest (e.g. scripts/test.sh -k recipes -x).
# Environment: CI is left as given (CI=true turns "tool missing" skips into failures);
# ZK_IMPL (default zkserver; "apache" validates the suite against Apache ZooKeeper 3.8);
# ZKSERVER_BIN (default <target>/release/zkserver).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

log() { printf '\n== %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
have_apt() { command -v apt-get >/dev/null 2>&1; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

# --- outside tools -------------------------------------------------------------------------
if [ ! -f /usr/share/java/zookeeper.jar ]; then
  if is_root && have_apt; then
    log "installing Apache ZooKeeper (zookeeper zookeeper-bin default-jre-headless)"
    apt_install zookeeper zookeeper-bin default-jre-headless
  else
    echo "test.sh: /usr/share/java/zookeeper.jar is missing and I cannot apt-get it;" \
         "differential/zkCli tests will skip (or fail with CI=true)." >&2
  fi
fi

# javac compiles tests/fixtures/apache-gen/ApacheFormat.java (tests/apache_format.rs) and
# tests/fixtures/java/PropertiesDump.java (tests/zoo_cfg_java.rs).
if ! command -v javac >/dev/null 2>&1; then
  if is_root && have_apt; then
    log "installing a JDK for javac (default-jdk-headless)"
    apt_install default-jdk-headless
  else
    echo "test.sh: javac is missing and I cannot apt-get it;" \
         "tests/apache_format.rs and tests/zoo_cfg_java.rs will skip their Java part (or fail with CI=true)." >&2
  fi
fi

# iptables cuts peer links between ensemble members (tests/common/netfault.rs, tests/nemesis).
if is_root && ! command -v iptables >/dev/null 2>&1; then
  if have_apt; then
    log "installing iptables (network partitions of tests/nemesis)"
    apt_install iptables
  else
    echo "test.sh: iptables is missing; tests/nemesis will fail with CI=true (skip otherwise)." >&2
  fi
fi

# make and a C compiler build jemalloc (tikv-jemalloc-sys), the server's allocator.
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
  if is_root && have_apt; then
    log "installing make and a C compiler (jemalloc is built from source)"
    apt_install make gcc
  else
    echo "test.sh: make or cc is missing; building jemalloc will fail." >&2
  fi
fi

# openssl makes the throw-away certificates of the TLS suites (tests/python/tlscerts.py).
if ! command -v openssl >/dev/null 2>&1; then
  if is_root && have_apt; then
    log "installing openssl (TLS test certificates)"
    apt_install openssl
  else
    echo "test.sh: openssl is missing; the TLS tests will skip (or fail with CI=true)." >&2
  fi
fi

GO_ZK_SRC=/usr/share/gocode/src/github.com/samuel/go-zookeeper/zk
if ! command -v go >/dev/null 2>&1 || [ ! -d "$GO_ZK_SRC" ]; then
  if is_root && have_apt; then
    log "installing Go and go-zookeeper (golang-go golang-github-samuel-go-zookeeper-dev)"
    apt_install golang-go golang-github-samuel-go-zookeeper-dev
  else
    echo "test.sh: go or $GO_ZK_SRC is missing and I cannot apt-get them;" \
         "the Go client test will skip (or fail with CI=true)." >&2
  fi
fi

if ! command -v curl >/dev/null 2>&1 && is_root && have_apt; then
  log "installing curl (AdminServer and /metrics tests)"
  apt_install curl
fi

PY=python3
PY_MODS='import kazoo, puresasl, pytest, prometheus_client'
PIP_PKGS="kazoo pure-sasl pytest prometheus-client"
if ! "$PY" -c "$PY_MODS" 2>/dev/null; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c "$PY_MODS" 2>/dev/null; then
    PY="$ROOT/.venv/bin/python"
  elif [ -x .venv/bin/python ] && .venv/bin/python -c 'import kazoo, pytest' 2>/dev/null; then
    log "adding pure-sasl and prometheus-client to .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check $PIP_PKGS
    PY="$ROOT/.venv/bin/python"
  else
    log "creating .venv with $PIP_PKGS"
    if ! python3 -m venv .venv 2>/dev/null; then
      if is_root && have_apt; then
        apt_install python3-venv
        rm -rf .venv
        python3 -m venv .venv
      else
        echo "test.sh: python3 -m venv failed (install python3-venv)" >&2
        exit 1
      fi
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check $PIP_PKGS
    PY="$ROOT/.venv/bin/python"
  fi
fi

# --- Rust ----------------------------------------------------------------------------------
log "cargo build --release"
cargo build --release
log "cargo test --release"
cargo test --release

# --- Python suite against the release binary -----------------------------------------------
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export ZK_IMPL=${ZK_IMPL:-zkserver}
export ZKSERVER_BIN=${ZKSERVER_BIN:-$TARGET_DIR/release/zkserver}
log "pytest tests/python (ZK_IMPL=$ZK_IMPL, CI=${CI:-})"
"$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
