#!/usr/bin/env bash
# Fuzz smoke test, in two stages:
#   1. builds every fuzz target with AFL++ (afl-g++ classic instrumentation and
#      the libFuzzer driver, docs/decisions/0003-fuzzing-with-afl.md) and runs
#      each under afl-fuzz for SECONDS from its seed corpus;
#   2. replays everything afl-fuzz kept (its queue) through the same targets
#      built with ASan+UBSan, so memory errors that did not crash the plain
#      build are caught too. (AFL classic instrumentation cannot itself be
#      combined with ASan: see tests/fuzz/CMakeLists.txt.)
# Fails when any input crashes a target in either stage.
#
# Usage: scripts/fuzz-smoke.sh [SECONDS]
#   SECONDS      per target (default: $FUZZ_SECONDS, else 20)
# Environment:
#   FUZZ_TARGETS          space-separated subset, e.g. "der_reader_fuzz pem_key_fuzz"
#   FUZZ_BUILD_DIR        AFL build directory (default build-afl)
#   FUZZ_ASAN_BUILD_DIR   sanitizer build for stage 2 (default build-asan; configured
#                         with -DSIGNET_SANITIZE=ON if it does not exist yet)
#   FUZZ_ASAN=0           skip stage 2
#   JOBS                  ninja parallelism (default nproc)
#
# On a crash it prints each crashing input and the command that replays it,
# and exits 1. Setup problems (no afl++, build failure) exit 2.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-20}}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz-smoke: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi
build=${FUZZ_BUILD_DIR:-build-afl}
asan_build=${FUZZ_ASAN_BUILD_DIR:-build-asan}
jobs=${JOBS:-$(nproc)}
for tool in afl-g++ afl-fuzz; do
  command -v "$tool" >/dev/null || { echo "fuzz-smoke: $tool not found (apt-get install afl++)" >&2; exit 2; }
done

# Runs cmake quietly; shows its output only when it fails.
configure() {
  local log
  log=$(mktemp)
  if ! cmake "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "fuzz-smoke: configure failed" >&2
    exit 2
  fi
  rm -f "$log"
}

export AFL_QUIET=1  # no afl-g++ banner on every compile
echo "== fuzz-smoke: configuring $build (afl-g++)"
configure -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=afl-g++ -DSIGNET_FUZZ_AFL=ON -DSIGNET_SANITIZE=OFF -DSIGNET_WERROR=ON

list="$build/tests/fuzz/fuzz-targets.txt"
[ -s "$list" ] || { echo "fuzz-smoke: no fuzz targets listed in $list" >&2; exit 2; }
names=()
corpora=()
while read -r name corpus; do
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  names+=("$name")
  corpora+=("$corpus")
done <"$list"
[ ${#names[@]} -gt 0 ] || { echo "fuzz-smoke: FUZZ_TARGETS matched no target" >&2; exit 2; }

echo "== fuzz-smoke: building ${names[*]}"
ninja -C "$build" -j "$jobs" "${names[@]}" >/dev/null || {
  echo "fuzz-smoke: AFL build failed (ninja -C $build ${names[*]})" >&2
  exit 2
}

# afl-fuzz settings for CI machines: no CPU governor or core_pattern tuning,
# no curses UI, no core pinning (other jobs may hold every core).
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1

failed=0
for i in "${!names[@]}"; do
  name=${names[$i]}
  corpus=${corpora[$i]}
  bin="$build/tests/fuzz/$name"
  out="$build/fuzz-out/$name"
  rm -rf "$out"
  mkdir -p "$out"
  echo "== fuzz-smoke: $name for ${seconds}s (seeds: $corpus)"
  if ! afl-fuzz -V "$seconds" -i "$corpus" -o "$out" -- "$bin" >"$out/afl-fuzz.log" 2>&1; then
    grep -E 'PROGRAM ABORT|ERROR|crash' "$out/afl-fuzz.log" | tail -n 5 >&2 || true
    echo "fuzz-smoke: afl-fuzz could not run $name (log: $out/afl-fuzz.log)" >&2
    failed=1
    continue
  fi
  stats="$out/default/fuzzer_stats"
  execs=$(sed -n 's/^execs_done *: *//p' "$stats" 2>/dev/null || true)
  entries=$(sed -n 's/^corpus_count *: *//p' "$stats" 2>/dev/null || true)
  mapfile -t crashes < <(find "$out/default/crashes" -type f ! -name README.txt 2>/dev/null | sort)
  if [ ${#crashes[@]} -gt 0 ]; then
    failed=1
    echo "fuzz-smoke: $name CRASHED on ${#crashes[@]} input(s):" >&2
    for c in "${crashes[@]}"; do
      echo "  $c" >&2
      echo "    replay: $bin '$c'" >&2
    done
    echo "    (with ASan/UBSan: $asan_build/tests/fuzz/$name '<input>'; once fixed, add the" \
         "input to $corpus/ as a regression seed)" >&2
  else
    echo "   ok: ${execs:-?} executions, ${entries:-?} queue entries, no crash"
  fi
done

if [ "${FUZZ_ASAN:-1}" != 0 ]; then
  if [ ! -f "$asan_build/build.ninja" ]; then
    echo "== fuzz-smoke: configuring $asan_build (ASan+UBSan)"
    configure -S . -B "$asan_build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIGNET_SANITIZE=ON \
      -DSIGNET_WERROR=ON
  fi
  echo "== fuzz-smoke: building ${names[*]} in $asan_build"
  ninja -C "$asan_build" -j "$jobs" "${names[@]}" >/dev/null || {
    echo "fuzz-smoke: sanitizer build failed (ninja -C $asan_build ${names[*]})" >&2
    exit 2
  }
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
  for name in "${names[@]}"; do
    queue="$build/fuzz-out/$name/default/queue"
    [ -d "$queue" ] || continue
    bin="$asan_build/tests/fuzz/$name"
    log="$build/fuzz-out/$name/asan-replay.log"
    count=$(find "$queue" -maxdepth 1 -type f | wc -l)
    if "$bin" "$queue" >"$log" 2>&1; then
      echo "   ok: $name, $count queue entries replayed under ASan+UBSan"
    else
      failed=1
      input=$(grep '^running ' "$log" | tail -n 1 | sed 's/^running \(.*\) ([0-9]* bytes)$/\1/')
      grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 >&2 || true
      echo "fuzz-smoke: $name fails under ASan/UBSan on $input" >&2
      echo "    replay: $bin '$input'   (full report: $log)" >&2
    fi
  done
fi

if [ "$failed" -ne 0 ]; then
  echo "fuzz-smoke: FAILED" >&2
  exit 1
fi
echo "fuzz-smoke: ${#names[@]} target(s) clean"
