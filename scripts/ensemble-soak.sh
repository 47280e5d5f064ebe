#!/usr/bin/env bash
# Long variants of the ensemble tests, outside CI:
#   scripts/ensemble-soak.sh [ROUNDS]   leader SIGKILL under pipelined load, ROUNDS times in a row
#                                       (default 20), then the whole ensemble suite 3 times.
# ZK_IMPL=apache runs the same against Apache ZooKeeper 3.8 members.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS="${1:-20}"
cargo build --release --tests
ENSEMBLE_SOAK_ROUNDS="$ROUNDS" cargo test --release --test ensemble -- --nocapture \
    failover::leader_sigkill_under_load_loses_no_acknowledged_write
for i in 1 2 3; do
    echo "== ensemble suite, pass $i" >&2
    cargo test --release --test ensemble
done
