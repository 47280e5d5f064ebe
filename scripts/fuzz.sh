#!/usr/bin/env bash
# Fuzzing zkserver's decoders with libFuzzer (cargo-fuzz, nightly). See fuzz/README.md.
# CI does not run this script: `cargo test --release --test fuzz_corpora` (stable) replays the
# committed corpora and regressions there. This script is for campaigns on a developer machine.
#
#   scripts/fuzz.sh run TARGET [SECONDS]   one campaign (default 3600 s) under `nice -n 19`,
#                                          growing fuzz/corpus-full/TARGET (not committed)
#                                          from it, fuzz/corpus/TARGET and fuzz/seeds/TARGET;
#                                          log in fuzz/logs/, figures appended to
#                                          fuzz/logs/campaigns.tsv
#   scripts/fuzz.sh all [SECONDS]          `run` for every target, one after another
#   scripts/fuzz.sh burst [SECONDS [TARGET...]]
#                                          a short run per target (default 15 s, every target) from the
#                                          committed corpus into a scratch copy; a crash fails
#                                          (its input is kept in fuzz/artifacts/)
#   scripts/fuzz.sh curate TARGET [MAX_FILES [MAX_KB]]
#                                          rebuilds the committed fuzz/corpus/TARGET from
#                                          corpus-full + corpus + seeds: every coverage edge,
#                                          then finer features within the budget (default 200
#                                          files, 192 KiB; scripts/fuzz/curate.py)
#   scripts/fuzz.sh cmin TARGET            minimizes fuzz/corpus-full/TARGET in place
#   scripts/fuzz.sh replay [TARGET]        runs the corpus + regressions once (no fuzzing)
#   scripts/fuzz.sh list                   the targets
#
# Environment: FUZZ_ARGS (more libFuzzer flags, e.g. -jobs=2 on a machine of your own).
# Targets run without a sanitizer (zkserver has no unsafe code on these paths; -s none is ~2x
# faster) but with debug assertions and overflow checks (cargo-fuzz's default profile).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
FUZZ=$ROOT/fuzz
TARGETS=(client four_letter election quorum txn apache_snap log snapshot zoo_cfg server)

die() { echo "fuzz.sh: $*" >&2; exit 1; }

dict_for() {
  case "$1" in
    zoo_cfg) echo "-dict=$FUZZ/dicts/zoo_cfg.dict" ;;
    *) echo "-dict=$FUZZ/dicts/wire.dict" ;;
  esac
}

# Inputs the target accepts at most (whole files for the file targets).
max_len_for() {
  case "$1" in
    log|snapshot|apache_snap|quorum) echo 65536 ;;
    *) echo 16384 ;;
  esac
}

check_tools() {
  command -v cargo >/dev/null || die "cargo is missing"
  rustup toolchain list 2>/dev/null | grep -q '^nightly' || die "a nightly toolchain is needed (rustup toolchain install nightly)"
  cargo +nightly fuzz --version >/dev/null 2>&1 || die "cargo-fuzz is missing (cargo install cargo-fuzz)"
}

build() {
  (cd "$FUZZ" && nice -n 19 cargo +nightly fuzz build -s none "$@")
}

# FUZZ_BIN_DIR: run prebuilt target binaries from there (a long campaign keeps running the code
# it started with while the tree changes); otherwise cargo-fuzz's build output.
bin_of() { echo "${FUZZ_BIN_DIR:-$FUZZ/target/x86_64-unknown-linux-gnu/release}/$1"; }

run() {
  local t=$1 secs=${2:-3600}
  [[ " ${TARGETS[*]} " == *" $t "* ]] || die "unknown target $t (scripts/fuzz.sh list)"
  check_tools
  [ -n "${FUZZ_BIN_DIR:-}" ] || build "$t"
  mkdir -p "$FUZZ/corpus-full/$t" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t" "$FUZZ/logs" "$FUZZ/artifacts/$t"
  local stamp log
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  log=$FUZZ/logs/$t.$stamp.log
  echo "fuzz.sh: $t for ${secs}s, log $log" >&2
  local rc=0
  (cd "$FUZZ" && nice -n 19 "$(bin_of "$t")" \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
      -max_len="$(max_len_for "$t")" \
      -artifact_prefix="$FUZZ/artifacts/$t/" "$(dict_for "$t")" ${FUZZ_ARGS:-} \
      "$FUZZ/corpus-full/$t" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t") >"$log" 2>&1 || rc=$?
  summarize "$t" "$secs" "$log" "$rc"
  return "$rc"
}

# One line of figures per campaign: target, start, seconds, execs, exec/s, cov, ft, corpus, crashes.
summarize() {
  local t=$1 secs=$2 log=$3 rc=$4
  local last execs rate cov ft corp crashes
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || true)
  corp=$(echo "$last" | grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | cut -d' ' -f2 || true)
  crashes=$(ls "$FUZZ/artifacts/$t" 2>/dev/null | grep -cE '^(crash|oom|timeout|leak)-' || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$(basename "$log" .log | cut -d. -f2)" \
    "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${crashes:-0}" "rc=$rc" \
    | tee -a "$FUZZ/logs/campaigns.tsv"
}

cmin() {
  local t=$1
  check_tools
  build "$t"
  local tmp=$FUZZ/corpus-full/.cmin-$t
  rm -rf "$tmp" && mkdir -p "$tmp" "$FUZZ/corpus-full/$t"
  (cd "$FUZZ" && nice -n 19 "$(bin_of "$t")" -merge=1 -rss_limit_mb=2048 -timeout=30 \
      "$tmp" "$FUZZ/corpus-full/$t" "$FUZZ/corpus/$t" "$FUZZ/seeds/$t") >/dev/null 2>&1
  rm -rf "$FUZZ/corpus-full/$t" && mv "$tmp" "$FUZZ/corpus-full/$t"
  echo "fuzz.sh: $t full corpus minimized to $(ls "$FUZZ/corpus-full/$t" | wc -l) files" >&2
}

# The committed corpus: libFuzzer's merge lists what every candidate reaches (control file),
# scripts/fuzz/curate.py picks the files; the replaced corpus/TARGET is kept in corpus-full.
curate() {
  local t=$1 max_files=${2:-200} max_kb=${3:-192}
  check_tools
  [ -n "${FUZZ_BIN_DIR:-}" ] || build "$t"
  local tmp dirs=()
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/out" "$tmp/new" "$FUZZ/corpus-full/$t"
  for d in corpus-full corpus seeds; do
    [ -d "$FUZZ/$d/$t" ] && dirs+=("$FUZZ/$d/$t")
  done
  (cd "$FUZZ" && nice -n 19 "$(bin_of "$t")" -merge=1 -merge_control_file="$tmp/ctl" \
      -rss_limit_mb=2048 -timeout=30 "$tmp/out" "${dirs[@]}") >"$tmp/log" 2>&1 \
    || { tail -20 "$tmp/log" >&2; die "$t: the merge failed"; }
  python3 "$ROOT/scripts/fuzz/curate.py" --max-files "$max_files" --max-kb "$max_kb" \
      "$tmp/ctl" >"$tmp/chosen"
  while IFS= read -r f; do cp "$f" "$tmp/new/"; done <"$tmp/chosen"
  cp -rn "$FUZZ/corpus/$t/." "$FUZZ/corpus-full/$t/"
  rm -rf "$FUZZ/corpus/$t" && mv "$tmp/new" "$FUZZ/corpus/$t"
}

replay() {
  check_tools
  local t ts=("$@")
  [ ${#ts[@]} -gt 0 ] || ts=("${TARGETS[@]}")
  for t in "${ts[@]}"; do
    build "$t"
    local dirs=("$FUZZ/corpus/$t")
    [ -d "$FUZZ/regressions/$t" ] && dirs+=("$FUZZ/regressions/$t")
    (cd "$FUZZ" && "$(bin_of "$t")" -runs=0 -rss_limit_mb=2048 -timeout=30 "${dirs[@]}") \
      >/dev/null 2>&1 || die "$t: an input of the corpus fails (run: $(bin_of "$t") ${dirs[*]})"
    echo "fuzz.sh: $t corpus replays clean" >&2
  done
}

# Bounded bursts from the committed corpus into a scratch copy (the repo stays clean).
burst() {
  local secs=${1:-15}
  shift || true
  local ts=("$@")
  [ ${#ts[@]} -gt 0 ] || ts=("${TARGETS[@]}")
  check_tools
  build
  local scratch t
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' RETURN
  for t in "${ts[@]}"; do
    [[ " ${TARGETS[*]} " == *" $t "* ]] || die "unknown target $t (scripts/fuzz.sh list)"
    mkdir -p "$scratch/$t" "$FUZZ/artifacts/$t"
    cp -r "$FUZZ/corpus/$t/." "$scratch/$t/" 2>/dev/null || true
    echo "fuzz.sh: $t for ${secs}s" >&2
    (cd "$FUZZ" && nice -n 19 "$(bin_of "$t")" -max_total_time="$secs" -rss_limit_mb=2048 \
        -timeout=30 -max_len="$(max_len_for "$t")" -artifact_prefix="$FUZZ/artifacts/$t/" \
        "$(dict_for "$t")" "$scratch/$t") >"$scratch/$t.log" 2>&1 || {
      tail -40 "$scratch/$t.log" >&2
      die "$t crashed; the input is in fuzz/artifacts/$t/"
    }
    grep -E '^#[0-9]+' "$scratch/$t.log" | tail -1 >&2 || true
  done
}

cmd=${1:-}
shift || true
case "$cmd" in
  run) [ $# -ge 1 ] || die "run TARGET [SECONDS]"; run "$@" ;;
  all) for t in "${TARGETS[@]}"; do run "$t" "${1:-3600}" || true; done ;;
  cmin) [ $# -ge 1 ] || die "cmin TARGET"; cmin "$1" ;;
  curate) [ $# -ge 1 ] || die "curate TARGET [MAX_FILES [MAX_KB]]"; curate "$@" ;;
  replay) replay "$@" ;;
  burst) burst "$@" ;;
  list) printf '%s\n' "${TARGETS[@]}" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
