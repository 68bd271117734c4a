#!/usr/bin/env bash
# Configures and builds Signet.
# Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]   (env TARGET: one ninja target)
# Defaults are passed explicitly so that a reused build dir cannot keep stale
# cache values; later arguments override them.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIGNET_WERROR=ON \
  -DSIGNET_WITH_PKCS11=ON -DSIGNET_SANITIZE=OFF "$@" >/dev/null
ninja -C "$dir" ${TARGET:+"$TARGET"}
