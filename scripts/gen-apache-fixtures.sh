#!/usr/bin/env bash
# Regenerates tests/fixtures/apache-gen/ from the txns in tests/apache_format.rs (history()):
#   1. txns.bin   — written by the Rust test (each txn with zkserver's predicted TxnDigest),
#   2. digests.txt, hash.txt, apache-snap.bin — Apache ZooKeeper's own DataTree/SerializeUtils
#      (Debian's /usr/share/java/zookeeper.jar, 3.8.0) applying those bytes (ApacheFormat.java gen),
#   3. then runs the test, which also has Apache read zkserver's SNAP body (ApacheFormat check).
# Needs java, javac and the zookeeper package (scripts/test.sh installs them as root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FIX=tests/fixtures/apache-gen
JAR=/usr/share/java/zookeeper.jar

UPDATE_APACHE_FIXTURES=1 cargo test --release --test apache_format txn_fixture_is_what_history_encodes -- --quiet

CLASSES=$(mktemp -d)
trap 'rm -rf "$CLASSES"' EXIT
javac -nowarn -cp "$JAR" -d "$CLASSES" "$FIX/ApacheFormat.java"
java -Dzookeeper.extendedTypesEnabled=true -Dfile.encoding=UTF-8 \
  -cp "$JAR:/usr/share/java/slf4j-nop.jar:$CLASSES" ApacheFormat gen \
  "$FIX/txns.bin" "$FIX/digests.txt" "$FIX/hash.txt" "$FIX/apache-snap.bin"

cargo test --release --test apache_format -- --quiet
echo "fixtures in $FIX regenerated and checked"
