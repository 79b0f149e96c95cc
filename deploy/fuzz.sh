#!/usr/bin/env bash
# Vigil's libFuzzer targets (issue 17 §2): the HTTP request parser, the JSON parser, alert,
# subscriber and replay validation, Retry-After, header fields and retry backoff, and the
# decoders of Kafka records. Each is an executable in Sources/Fuzz*/, seen by SwiftPM only
# when VIGIL_FUZZ is set, built with libFuzzer and AddressSanitizer in .build/fuzz so the
# normal build is untouched.
#
#   deploy/fuzz.sh build                  builds every target
#   deploy/fuzz.sh ci [SECONDS]           runs each target SECONDS (default 20) from the seeds;
#                                         fails on the first crash (what `setup.sh test` runs)
#   deploy/fuzz.sh campaign [RUNS] [T..]  runs each target (or the ones named) for RUNS
#                                         executions (default 10,000,000), one after another,
#                                         and prints executions, exec/s, time, coverage, crashes
#   deploy/fuzz.sh run TARGET [ARGS..]    runs one target with libFuzzer arguments, e.g. a
#                                         crash file to reproduce it
#
# FUZZ_WORK names the directory for corpora, logs and crash artifacts (default: a new one
# under ${TMPDIR:-/tmp}); nothing is written into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

targets=(FuzzHTTPRequestParser FuzzJSONParser FuzzSubmissionValidation FuzzRetryAfter FuzzKafkaRecords FuzzCAPSubmission)
# One -sanitize flag with both sanitizers: SwiftPM's `--sanitize fuzzer --sanitize address`
# passes two, swiftc keeps the last, and the code is left without coverage instrumentation.
# lld links: gold stops with an internal error in format_file_lineno on these executables.
flags=(-c release --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld)
# libFuzzer options for every run: inputs up to 8 KiB (the parsers' limits are 1 KiB of head
# and 4 KiB of body in the HTTP target), 10 s per input, 2 GiB of memory.
options=(-max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'fuzz: %s\n' "$*" >&2; exit 1; }

build() {
  for target in "${targets[@]}"; do
    say "building $target"
    # ld prints a harmless "Cannot export local symbol __asan_*" warning per symbol; drop those.
    VIGIL_FUZZ=1 swift build "${flags[@]}" --product "$target" 2>&1 | { grep -v "Cannot export local symbol" || true; }
    [ "${PIPESTATUS[0]}" -eq 0 ] || die "building $target failed"
  done
  bin=$(VIGIL_FUZZ=1 swift build "${flags[@]}" --show-bin-path)
}

work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/vigil-fuzz.XXXXXX")}
mkdir -p "$work"

# A fresh corpus for `target`: its seeds from deploy/fuzz-seeds, and the repository's own
# example JSON for the targets that read JSON.
seed() {
  local target=$1 corpus="$work/$1/corpus"
  mkdir -p "$corpus"
  cp "$root/deploy/fuzz-seeds/$target/"* "$corpus/" 2>/dev/null || true
  case "$target" in
    FuzzJSONParser | FuzzSubmissionValidation) cp "$root"/config/*.json "$corpus/" ;;
  esac
}

# One line of figures from a finished run's log: executions, their rate, the time, the
# coverage (libFuzzer's cov: edges and ft: features) and the crashes (artifacts written).
figures() {
  local log=$1 seconds=$2 status=$3
  local runs cov ft crashes
  # A single process prints stat:: lines at the end; -fork=1 prints "#N: cov: … ft: …" lines.
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  crashes=$(find "$(dirname "$log")" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%-26s runs %-10s exec/s %-7s time %5ss  cov %-5s ft %-6s crash/timeout/oom files %s (exit %s)\n' \
    "$(basename "$(dirname "$log")")" "${runs:-?}" "$(( ${runs:-0} / (seconds > 0 ? seconds : 1) ))" "$seconds" "${cov:-?}" "${ft:-?}" "$crashes" "$status"
}

# Leaks LeakSanitizer reports inside the toolchain's own libraries (see the file) are not Vigil's.
export LSAN_OPTIONS="suppressions=$root/deploy/fuzz-seeds/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# Runs `target` with libFuzzer arguments `$@` on its corpus; prints its figures.
fuzz() {
  local target=$1; shift
  local dir="$work/$target" start status
  seed "$target"
  start=$(date +%s)
  status=0
  "$bin/$target" "${options[@]}" -artifact_prefix="$dir/" "$@" "$dir/corpus" >"$dir/log" 2>&1 || status=$?
  figures "$dir/log" $(($(date +%s) - start)) "$status"
  if [ "$status" -ne 0 ] || grep -q 'CRASH\|deadly signal' "$dir/log"; then
    grep -E "^(Fatal error|.*Fatal error|==[0-9]+==ERROR|SUMMARY|.*precondition|.*Simultaneous)" "$dir/log" | head -5 >&2 || true
    ls "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null >&2 || true
  fi
  return "$status"
}

case "${1:-}" in
  build)
    build
    ;;
  ci)
    seconds=${2:-20}
    build
    say "fuzzing each target for ${seconds} s (artifacts in $work)"
    failed=0
    for target in "${targets[@]}"; do fuzz "$target" -max_total_time="$seconds" || failed=1; done
    [ "$failed" -eq 0 ] || die "a fuzz target crashed; reproduce with: deploy/fuzz.sh run <target> <crash file>"
    ;;
  campaign)
    runs=${2:-10000000}
    shift $(($# > 1 ? 2 : 1))
    [ $# -gt 0 ] && targets=("$@")
    build
    say "campaign: ${runs} executions per target (corpora, logs and artifacts in $work)"
    # -fork=1 runs the target in a child process that libFuzzer restarts after a crash, so a
    # shallow crash cannot end the campaign before RUNS; every crash is still saved.
    failed=0
    for target in "${targets[@]}"; do
      fuzz "$target" -runs="$runs" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 || failed=1
      if compgen -G "$work/$target/crash-*" >/dev/null || compgen -G "$work/$target/timeout-*" >/dev/null; then failed=1; fi
    done
    [ "$failed" -eq 0 ] || die "a fuzz target crashed; see the artifacts above"
    ;;
  run)
    [ $# -ge 2 ] || die "usage: deploy/fuzz.sh run TARGET [libFuzzer arguments]"
    target=$2; shift 2
    build
    exec "$bin/$target" "${options[@]}" "$@"
    ;;
  *)
    die "usage: deploy/fuzz.sh build | ci [SECONDS] | campaign [RUNS] [TARGET...] | run TARGET [ARGS...]"
    ;;
esac
