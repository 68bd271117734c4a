#!/usr/bin/env bash
# Release build: a fully static x86-64 signet and its tarball.
#   1. libcurl, minimal (OpenSSL + zlib only), built static from Debian's curl
#      source package (apt-get source, with a private deb-src list for the
#      same Debian mirror and suites as /etc/apt/sources.list.d) into
#      build-release-deps/curl; reused while the version and flags match.
#   2. signet with -DSIGNET_STATIC=ON (Release, -Werror) in build-static.
#   3. Checks: `file` says "statically linked", `ldd` says "not a dynamic
#      executable", `signet version --json` says static and the CMake version.
#   4. dist/signet-VERSION-linux-x86_64.tar.gz (signet stripped, README.md,
#      LICENSE when there is one) and its .sha256 (sha256sum format).
# Why and what is left out: docs/decisions/0018-static-release-build.md.
# Environment: JOBS (default 2); SIGNET_STATIC_BUILD_DIR (default build-static);
# SIGNET_RELEASE_DEPS_DIR (default build-release-deps).
# Needs (Debian): build-essential, cmake, ninja-build, dpkg-dev, file, and the
# -dev packages of scripts/deps.sh (libssl-dev, zlib1g-dev, libsqlite3-dev...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SIGNET_STATIC_BUILD_DIR:-$root/build-static}
deps=${SIGNET_RELEASE_DEPS_DIR:-$root/build-release-deps}
dist=$root/dist
jobs=${JOBS:-2}

die() {
  echo "release: error: $*" >&2
  exit 1
}

# curl's configure flags: HTTP(S) over OpenSSL with zlib and nothing else. The
# threaded resolver uses glibc's getaddrinfo (see the decision record on DNS).
curl_flags=(
  --disable-shared --enable-static --with-pic
  --with-openssl --with-zlib --enable-threaded-resolver --enable-ipv6
  --without-libpsl --without-libidn2 --without-nghttp2 --without-nghttp3 --without-ngtcp2
  --without-brotli --without-zstd --without-libssh2 --without-libssh --without-wolfssh
  --without-librtmp --without-gssapi --without-libgsasl
  --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp
  --disable-pop3 --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-smb
  --disable-ftp --disable-file --disable-manual --disable-netrc --disable-ntlm-wb
  --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs
)

# Writes deb-src stanzas for the Debian entries of the system's apt sources.
write_deb_src() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # deb822: keep the stanzas signed by the Debian archive keyring.
    awk 'BEGIN { RS = ""; ORS = "\n\n" } /debian-archive-keyring/' "$f" |
      sed -E 's/^Types:.*/Types: deb-src/'

  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    # One-line format: the "deb" lines of deb.debian.org-style Debian mirrors.
    awk '$1 == "deb" && $0 ~ /\/debian(-security)?\/? / { $1 = "deb-src"; print }' "$f"
  done
}

build_curl() {
  local want stamp="$deps/curl/.signet-stamp"
  # The curl the dynamic build links (Debian's libcurl), else the newest.
  local version
  version=$(dpkg-query -W -f='${source:Version}' libcurl4-openssl-dev 2>/dev/null || true)
  want="curl ${version:-newest} ${curl_flags[*]}"
  if [ -f "$deps/curl/lib/libcurl.a" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "== libcurl: reusing $deps/curl (curl ${version:-newest})"
    return
  fi
  echo "== libcurl: Debian source package curl ${version:-newest}"
  local apt=$deps/apt
  rm -rf "$apt" "$deps/src" "$deps/curl-build" "$deps/curl"
  mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" "$deps/src"
  write_deb_src >"$apt/parts/debian-src.sources"
  grep -q deb-src "$apt/parts/debian-src.sources" ||
    die "no Debian entry in /etc/apt/sources.list.d to take deb-src lines from"
  cat >"$apt/apt.conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$apt/parts";
Dir::State::Lists "$apt/lists";
Dir::Cache "$apt/cache";
EOF
  export APT_CONFIG=$apt/apt.conf
  apt-get -q update >"$apt/update.log" 2>&1 || die "apt-get update (deb-src) failed: see $apt/update.log"
  (cd "$deps/src" &&
    { apt-get -q source --download-only "curl${version:+=$version}" ||
      apt-get -q source --download-only curl; } >download.log 2>&1) ||
    die "apt-get source curl failed: see $deps/src/download.log"
  unset APT_CONFIG
  local dsc
  for dsc in "$deps"/src/curl_*.dsc; do break; done
  [ -f "$dsc" ] || die "apt-get source curl gave no .dsc in $deps/src"
  # apt checked the files against the signed Sources index; dpkg-source
  # checks them against the .dsc and applies Debian's patches.
  dpkg-source -x "$dsc" "$deps/src/curl" >"$deps/src/extract.log" 2>&1 ||
    die "dpkg-source -x failed: see $deps/src/extract.log"
  mkdir -p "$deps/curl-build"
  (cd "$deps/curl-build" &&
    "$deps/src/curl/configure" --prefix="$deps/curl" "${curl_flags[@]}" >configure.log 2>&1) ||
    die "curl configure failed: see $deps/curl-build/configure.log"
  (make -C "$deps/curl-build/lib" -j"$jobs" && make -C "$deps/curl-build/lib" install &&
    make -C "$deps/curl-build/include" install) >"$deps/curl-build/make.log" 2>&1 ||
    die "curl build failed: see $deps/curl-build/make.log"
  echo "$want" >"$stamp"
}

build_signet() {
  echo "== signet: static Release build in $build"
  # Release at -O2, like the RelWithDebInfo build CI tests: GCC 12's -O3
  # (CMake's Release default) raises false -Wstringop-overread/-Wrestrict
  # warnings inside libstdc++, which -Werror turns into errors.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNET_STATIC=ON \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DSIGNET_WERROR=ON -DSIGNET_BUILD_TESTS=ON \
    -DCURL_INCLUDE_DIR="$deps/curl/include" -DCURL_LIBRARY="$deps/curl/lib/libcurl.a" >/dev/null
  ninja -C "$build" -j"$jobs" signet
}

check_static() {
  local bin=$1 out
  out=$(file -b "$bin")
  [[ $out == *"statically linked"* ]] || die "$bin is not statically linked: $out"
  out=$(ldd "$bin" 2>&1 || true)
  [[ $out == *"not a dynamic executable"* ]] || die "ldd $bin: $out"
}

package() {
  local bin=$1 version=$2
  local name=signet-$version-linux-x86_64
  local stage=$build/package/$name
  rm -rf "$build/package"
  mkdir -p "$stage" "$dist"
  strip --strip-all -o "$stage/signet" "$bin"
  cp "$root/README.md" "$stage/"
  local lic
  for lic in LICENSE LICENSE.md LICENSE.txt COPYING; do
    [ -f "$root/$lic" ] && cp "$root/$lic" "$stage/"
  done
  check_static "$stage/signet"
  # Reproducible: fixed order, owners and times (the commit's time).
  local mtime
  mtime=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
  tar -C "$build/package" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$mtime" -cf - "$name" | gzip -n -9 >"$dist/$name.tar.gz.tmp"
  mv "$dist/$name.tar.gz.tmp" "$dist/$name.tar.gz"
  (cd "$dist" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
  echo "== $dist/$name.tar.gz"
  cat "$dist/$name.tar.gz.sha256"
}

main() {
  [ "$(uname -m)" = x86_64 ] || die "the release build is for x86-64 Linux (this is $(uname -m))"
  build_curl
  build_signet
  local bin=$build/core/cli/signet version json
  check_static "$bin"
  version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
  [ -n "$version" ] || die "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"
  json=$("$bin" --json version)
  python3 - "$json" "$version" <<'EOF' || die "signet version --json: $json"
import json, sys
v = json.loads(sys.argv[1])
assert v["static"] is True and v["version"] == sys.argv[2], v
assert "pkcs11" not in v["key_backends"] and "postgresql" not in v["audit_stores"], v
EOF
  package "$bin" "$version"
}

main "$@"
