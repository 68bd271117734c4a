#!/usr/bin/env bash
# Installs the Debian 12 packages Signet needs to build and test, if missing.
# Idempotent: does nothing (and needs no network) when everything is there.
# Every dependency is a Debian package; nothing is downloaded from elsewhere.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev libp11-kit-dev
  # server: HTTP (Boost.Beast/Asio, header-only) and the audit stores
  libboost-dev libsqlite3-dev libpq-dev
  # tests
  libgtest-dev libgmock-dev openssl softhsm2 opensc gnutls-bin python3 python3-cryptography time
  # plugin tests: groovy (Jenkins steps' harness), rsync (gitlab-ci-local's shell executor)
  groovy rsync
  # static release build (scripts/release.sh): zlib for the minimal libcurl, file(1) to check the result
  zlib1g-dev file
  # pe (Authenticode) interop: the peer verifier and the compilers of real PE files
  osslsigncode gcc-mingw-w64-x86-64 gcc-mingw-w64-i686
  # server tests: a throwaway PostgreSQL cluster, the sqlite3 shell (audit tamper tests)
  postgresql sqlite3
  # fuzzing (AFL++ with GCC instrumentation; see docs/decisions/0003-fuzzing-with-afl.md)
  afl++
  # style
  clang-format clang-tidy
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: run as root or install sudo; missing: ${missing[*]}" >&2; exit 2; }
  SUDO="sudo"
fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
