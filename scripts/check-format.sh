#!/usr/bin/env bash
# Fails when a C++ file under core/ or tests/ is not clang-formatted.
# With --fix, formats them in place instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard 'core/*.cpp' 'core/*.h' 'tests/*.cpp' 'tests/*.h')
[ ${#files[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/signet-format.$$; then
  grep -E '^[^ ].*: (error|warning)' /tmp/signet-format.$$ | cut -d: -f1 | sort -u | sed 's/^/not formatted: /'
  rm -f /tmp/signet-format.$$
  echo "run scripts/check-format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/signet-format.$$
echo "format: ${#files[@]} files clean"
