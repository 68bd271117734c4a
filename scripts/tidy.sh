#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over core/*.cpp. Usage: scripts/tidy.sh [BUILD_DIR]
#
# clang-tidy 14 parses with clang 14, which cannot compile libstdc++ 12's
# std::expected (docs/decisions/0003-fuzzing-with-afl.md). We force the
# feature macro so the header declares it, and drop the compiler's own
# diagnostics ([clang-diagnostic-error], e.g. "deleted function" at each
# std::expected use); every diagnostic of a real check is reported and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (build first)" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
git ls-files -co --exclude-standard 'core/*.cpp' | xargs -P "$(nproc)" -n 4 \
  clang-tidy -p "$build" --quiet \
  --extra-arg=-std=c++2b --extra-arg=-Wno-builtin-macro-redefined \
  --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L >"$out" 2>/dev/null || true
findings=$(grep -E '^/.*: (warning|error): .*\[[a-z]+-[^]]*\]$' "$out" | grep -v '\[clang-diagnostic-' | sort -u || true)
if [ -n "$findings" ]; then
  echo "$findings"
  echo "tidy: $(echo "$findings" | wc -l) finding(s)" >&2
  exit 1
fi
echo "tidy: clean"
