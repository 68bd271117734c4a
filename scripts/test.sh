#!/usr/bin/env bash
# Quick start, step 2 of 2: the whole test suite, as CI runs it (.ci/run).
#   1. style: clang-format over the tree
#   2. AddressSanitizer + UBSan build: unit and fuzz-corpus replay tests
#   3. fuzz smoke: every fuzz target under AFL++ for a short while
#   4. release build (-Werror), clang-tidy, then every ctest: unit, interop
#      (real peers: openssl, osslsigncode, SoftHSM2, moto, contract servers,
#      the Signet server with a test OIDC issuer and a throwaway PostgreSQL
#      cluster started by a ctest fixture), plugins (each CI plugin in its own
#      runner: npm packages, groovy) and fuzz-corpus replay
#   5. the static release binary (scripts/release.sh) and its chroot test
# Environment: FUZZ_SECONDS (default 15) per fuzz target; JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

scripts/deps.sh

echo "== style"
scripts/check-format.sh

echo "== sanitizer build (ASan + UBSan): unit tests"
scripts/build.sh build-asan -DSIGNET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L 'unit|fuzz-replay' -j "$jobs" --output-on-failure

echo "== fuzz smoke (AFL++)"
scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-15}"

echo "== release build: unit, interop and fuzz-replay tests"
scripts/build.sh build
echo "== clang-tidy"
scripts/tidy.sh build
ctest --test-dir build -j "$jobs" --output-on-failure

echo "== static release binary: build, then the chroot test"
JOBS=$jobs scripts/release.sh
ctest --test-dir build-static -L interop --output-on-failure
