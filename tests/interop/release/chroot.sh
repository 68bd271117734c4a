#!/usr/bin/env bash
# The static release binary runs where no shared library exists (issue 5):
# signet is copied ALONE (no libc, no /dev, no /etc) with test keys and files
# into an empty directory, and run there by `chroot DIR /signet ...`:
#   - version --json: static, the formats, key backends (no pkcs11) and audit
#     stores (no postgresql) of this build;
#   - a pkcs11: key URI and a postgresql:// audit store fail with one line
#     saying this build lacks them;
#   - file key: sign cms (and a PE when mingw-w64 is installed) and verify
#     inside the chroot; openssl cms -verify / osslsigncode check outside;
#   - remote signing: `signet server` (the same static binary, outside the
#     chroot, plain HTTP on 127.0.0.1, an API token from `signet server token
#     create`) and `chroot DIR /signet sign --server http://127.0.0.1:PORT
#     --key ec` with SIGNET_TOKEN; openssl cms -verify outside.
# Exits 77 (skipped) when SIGNET_BINARY is not statically linked, when not
# root (chroot needs it) or when openssl is missing.
#
# usage: chroot.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"

[[ $(file -b "$SIGNET") == *"statically linked"* ]] ||
  skip_all "$SIGNET is not statically linked (build it with scripts/release.sh)"
[[ $EUID -eq 0 ]] || skip_all "chroot needs root"
for t in openssl python3 chroot; do command -v "$t" >/dev/null || skip_all "$t not found"; done
export SIGNET_HTTP_MAX_ATTEMPTS=1 SIGNET_HTTP_BACKOFF_MS=0
cd "$T"

# ---- the empty root: signet, keys, files ---------------------------------------------
make_ca "$T/pki" "Signet chroot test CA"
make_key ec "$T/pki/ec.key"
public_key "$T/pki/ec.key" "$T/pki/ec.pub.pem"
issue_cert "$T/pki" "$T/pki/ec.pub.pem" "$T/pki/ec.crt" "Signet chroot EC signer"
cat "$T/pki/ec.crt" "$T/pki/ca.pem" >"$T/pki/ec.chain.pem"

R=$T/root
mkdir -p "$R/keys" "$R/files"
cp "$SIGNET" "$R/signet"
cp "$T/pki/ec.key" "$T/pki/ec.chain.pem" "$T/pki/ca.pem" "$R/keys/"
make_file "$R/files/doc.bin" 5000
cp "$R/files/doc.bin" "$R/files/remote.bin"
have_pe=0
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
  printf '#include <stdio.h>\nint main(void) { puts("chroot"); return 0; }\n' >"$T/app.c"
  x86_64-w64-mingw32-gcc -O2 -o "$R/files/app.exe" "$T/app.c"
  cp "$R/files/app.exe" "$R/files/remote.exe"
  have_pe=1
fi
run find "$R" -mindepth 1 -maxdepth 1
if [[ $(out | sort | tr '\n' ' ') == "$R/files $R/keys $R/signet " ]]; then
  pass "the root holds only signet, keys/ and files/"
else
  fail "the root holds only signet, keys/ and files/" "$(last_run)"
fi

# in_root ARGS...: signet inside the chroot.
in_root() { chroot "$R" /signet "$@"; }

# ---- version --json ----------------------------------------------------------------------
run in_root version --json
expect_json "version --json in the chroot: static, this build's formats, backends and stores" \
  'objs[0]["static"] is True and "cms" in objs[0]["formats"] and "pe" in objs[0]["formats"]
   and "file" in objs[0]["key_backends"] and "pkcs11" not in objs[0]["key_backends"]
   and objs[0]["audit_stores"] == ["sqlite"] and objs[0]["version"] != ""'

# ---- what the static build leaves out: one clear line each -------------------------------
expect_error "pkcs11: key URI: one line, needs the dynamic build" 2 \
  'pkcs11: keys need the dynamic build of signet' "$R/files" -- \
  chroot "$R" /signet sign --key 'pkcs11:token=t;object=k' --format cms /files/doc.bin
expect_error "postgresql:// audit store: one line, no PostgreSQL store in this build" 2 \
  'no PostgreSQL store' "$R/files" -- \
  chroot "$R" /signet audit verify --db 'postgresql://signet@127.0.0.1:1/audit'

# ---- file key, inside the chroot ---------------------------------------------------------
run in_root sign --key file:/keys/ec.key --cert /keys/ec.chain.pem --format cms /files/doc.bin
if [[ $RC -eq 0 && -s $R/files/doc.bin.p7s ]]; then
  pass "file key: sign --format cms in the chroot"
else
  fail "file key: sign --format cms in the chroot" "$(last_run)"
fi
expect_run "file key: verify in the chroot accepts" 0 '^OK ' -- \
  chroot "$R" /signet verify --trust /keys/ca.pem --signature /files/doc.bin.p7s /files/doc.bin
peer_cms "file key: openssl cms -verify (outside) accepts" ok \
  "$R/files/doc.bin.p7s" "$R/files/doc.bin" "$T/pki/ca.pem"
tamper "$R/files/doc.bin" "$R/files/doc-bad.bin"
expect_run "file key: verify in the chroot rejects a tampered copy (exit 1)" 1 -- \
  chroot "$R" /signet verify --trust /keys/ca.pem --signature /files/doc.bin.p7s /files/doc-bad.bin

if [[ $have_pe -eq 1 ]]; then
  run in_root sign --key file:/keys/ec.key --cert /keys/ec.chain.pem /files/app.exe
  if [[ $RC -eq 0 ]]; then pass "file key: sign a PE in the chroot"; else fail "file key: sign a PE in the chroot" "$(last_run)"; fi
  expect_run "file key: verify the PE in the chroot" 0 '^OK ' -- \
    chroot "$R" /signet verify --trust /keys/ca.pem /files/app.exe
  if command -v osslsigncode >/dev/null; then
    expect_run "file key: osslsigncode verify (outside) accepts the PE" 0 '^Succeeded' -- \
      osslsigncode verify -in "$R/files/app.exe" -CAfile "$T/pki/ca.pem"
  else
    skip "osslsigncode not found: PE checked by signet only"
  fi
else
  skip "x86_64-w64-mingw32-gcc not found: no PE case"
fi

# ---- remote signing: the static server outside, the static client inside -----------------
S=$T/srv
mkdir -p "$S"
cp "$T/pki/ec.key" "$T/pki/ec.chain.pem" "$S/"
cat >"$S/server.json" <<'EOF'
{
  // chroot.sh: plain HTTP on loopback, one file key, API tokens.
  "listen": "127.0.0.1:0",
  "plain_http": true,
  "default_audience": "signet",
  "api_tokens_file": "tokens.json",
  "keys": {"ec": {"uri": "file:ec.key", "certificate": "ec.chain.pem"}},
  "policy": {"rules": [
    {"name": "bot", "keys": ["ec"], "issuer": "signet:api-token", "claims": {"subject": "chroot-bot"}}
  ]},
  "audit": {"db": "sqlite:audit.db"}
}
EOF
run "$SIGNET" server token create chroot-bot --scope ec --config "$S/server.json"
TOKEN=$(out | head -n 1)
if [[ $RC -eq 0 && $TOKEN == sgt_* ]]; then
  pass "server token create (static binary): an sgt_ token"
else
  fail "server token create (static binary): an sgt_ token" "$(last_run)"
fi
lib_secret "$TOKEN"

"$SIGNET" server --config "$S/server.json" --port 0 --port-file "$S/port" >"$S/out.log" 2>"$S/err.log" &
SRV_PID=$!
stop_server() {
  local rc=$?
  kill -TERM "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  (exit "$rc")
  lib_cleanup
}
trap stop_server EXIT
for _ in $(seq 200); do
  [[ -s $S/port ]] && break
  kill -0 "$SRV_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ ! -s $S/port ]]; then
  fail "signet server (static binary) starts" "$(cat "$S/err.log")"
  lib_finish
fi
pass "signet server (static binary) starts on 127.0.0.1"
URL=http://127.0.0.1:$(cat "$S/port")

run env SIGNET_TOKEN="$TOKEN" chroot "$R" /signet sign --server "$URL" --key ec --format cms \
  /files/remote.bin
if [[ $RC -eq 0 && -s $R/files/remote.bin.p7s ]]; then
  pass "remote: sign --server --key ec --format cms in the chroot"
else
  fail "remote: sign --server --key ec --format cms in the chroot" "$(last_run)"
fi
expect_no_secret "remote: the token is not in signet's output"
peer_cms "remote: openssl cms -verify (outside) accepts" ok \
  "$R/files/remote.bin.p7s" "$R/files/remote.bin" "$T/pki/ca.pem"
if [[ $have_pe -eq 1 ]] && command -v osslsigncode >/dev/null; then
  run env SIGNET_TOKEN="$TOKEN" chroot "$R" /signet sign --server "$URL" --key ec /files/remote.exe
  if [[ $RC -eq 0 ]]; then pass "remote: sign a PE in the chroot"; else fail "remote: sign a PE in the chroot" "$(last_run)"; fi
  expect_run "remote: osslsigncode verify (outside) accepts the PE" 0 '^Succeeded' -- \
    osslsigncode verify -in "$R/files/remote.exe" -CAfile "$T/pki/ca.pem"
fi
expect_error "remote: a wrong token is refused in one line" 1 '' "$R/files" -- \
  env SIGNET_TOKEN=sgt_wrong chroot "$R" /signet sign --server "$URL" --key ec --format cms \
  /files/doc-bad.bin
expect_run "remote: the server's audit log (SQLite) verifies" 0 -- \
  "$SIGNET" audit verify --db "sqlite:$S/audit.db"
run "$SIGNET" --json audit list --db "sqlite:$S/audit.db" --decision allow --key ec
expect_json "remote: the audit log records the allowed cms signature of remote.bin" \
  'any(o["artifact"] == "remote.bin" and o["format"] == "cms"
       and o["subject"] == "chroot-bot" for o in objs)'

lib_finish
