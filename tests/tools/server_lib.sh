# shellcheck shell=bash disable=SC2034
# tests/tools/server_lib.sh -- helpers for the Signet server end-to-end tests
# (tests/interop/server/*.sh) and tests/bench/bench_server.sh; bash, sourced
# after tests/tools/lib.sh and lib_init:
#
#   source "$2/lib.sh"; lib_init "$@"
#   source "$2/server_lib.sh"; srv_init      # tools, cleanup of what is started
#   srv_pki "$T/pki"                         # CA, server TLS cert, EC file key + chain
#   srv_oidc_start gh                        # OIDC issuer in $T/oidc-gh (url in $T/oidc-gh/url)
#   srv_ca_bundle                            # SIGNET_CA_BUNDLE = server CA + issuers' CAs
#   cat >"$T/server.json" <<EOF ... EOF      # each script writes its own config
#   srv_start "$T/server.json"               # SRV_PID, SRV_PORT, SRV_URL, SRV_LOG
#   ... "$SIGNET" sign --key "signet://127.0.0.1:$SRV_PORT/NAME" ...
#   srv_stop                                 # SIGTERM, wait
#
# Everything started here (servers, issuers, TSA, PostgreSQL) is stopped on
# exit, whatever happens. The tools built beside signet are found through
# SIGNET_MAKE_PLAN / SIGNET_SERVER_LOAD (set by ctest), else next to the
# signet binary's build tree.

SRV_PIDS=()
SRV_PG_DIR=
SRV_N=0

srv_init() {
  local build
  build=$(cd "$(dirname "$SIGNET")/../.." && pwd)
  MAKE_PLAN=${SIGNET_MAKE_PLAN:-$build/tests/interop/server/signet_make_plan}
  SERVER_LOAD=${SIGNET_SERVER_LOAD:-$build/tests/interop/server/signet_server_load}
  local t
  for t in openssl python3 curl; do
    command -v "$t" >/dev/null || skip_all "$t not found"
  done
  [[ -x $MAKE_PLAN ]] || skip_all "$MAKE_PLAN not built (ninja signet_make_plan)"
  trap srv_cleanup EXIT
  # Tests must not wait for retries of a refused request.
  export SIGNET_HTTP_MAX_ATTEMPTS=1 SIGNET_HTTP_BACKOFF_MS=0
}

srv_cleanup() {
  local rc=$? p
  trap - ERR
  set +e
  for p in "${SRV_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${SRV_PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [[ -n $SRV_PG_DIR ]]; then "$TOOLS/pg_cluster.sh" stop "$SRV_PG_DIR" >/dev/null 2>&1 || true; fi
  (exit "$rc")
  lib_cleanup
}

# srv_wait_file FILE PID [SECONDS]: waits until FILE is non-empty (false when
# PID died or the time ran out).
srv_wait_file() {
  local f=$1 pid=$2 n=$((${3:-20} * 10)) i
  for ((i = 0; i < n; i++)); do
    [[ -s $f ]] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------
# PKI

# srv_pki DIR: DIR/ca.pem + ca.key (make_ca); DIR/tls.key + DIR/tls.pem (the
# server's certificate for 127.0.0.1 and localhost, serverAuth); DIR/ec.key
# (EC P-256), DIR/ec.pub.pem and DIR/ec.chain.pem (code-signing leaf + CA).
srv_pki() {
  local d=$1
  make_ca "$d" "Signet server test CA"
  make_key ec "$d/tls.key"
  openssl req -new -key "$d/tls.key" -subj "/O=Signet tests/CN=127.0.0.1" -out "$d/tls.csr" 2>/dev/null
  cat >"$d/tls.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EXT
  openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$d/tls.ext" \
    -out "$d/tls.pem" 2>/dev/null
  make_key ec "$d/ec.key"
  public_key "$d/ec.key" "$d/ec.pub.pem"
  issue_cert "$d" "$d/ec.pub.pem" "$d/ec.crt" "Signet server EC signer"
  cat "$d/ec.crt" "$d/ca.pem" >"$d/ec.chain.pem"
}

# srv_softhsm DIR LABEL PIN: a SoftHSM2 token (softhsm_setup: skips the
# script without PKCS#11) with DIR/LABEL/rsa.chain.pem; sets SRV_P11_RSA to
# the rsa key's URI (module-path included) and SRV_P11_CA to its CA.
srv_softhsm() {
  softhsm_setup "$1" "$2" "$3"
  SRV_P11_RSA="pkcs11:token=$2;object=rsa?module-path=$SOFTHSM_MODULE"
  SRV_P11_CA=$1/ca.pem
}

# srv_build_pe DIR: DIR/app.exe, a small PE32+ built with mingw-w64 (skips
# the script when the compiler or osslsigncode is missing).
srv_build_pe() {
  local d=$1 t
  for t in x86_64-w64-mingw32-gcc osslsigncode; do
    command -v "$t" >/dev/null || skip_all "$t not found (see /work/shared/PEERS.md)"
  done
  mkdir -p "$d"
  cat >"$d/app.c" <<'C'
#include <stdio.h>
int main(void) { puts("signet remote signing test"); return 0; }
C
  x86_64-w64-mingw32-gcc -O2 -o "$d/app.exe" "$d/app.c"
  rm -f "$d/app.c"
}

# ---------------------------------------------------------------------------
# Helpers that run in the background

# srv_oidc_start NAME: a test OIDC issuer (tests/tools/oidc_issuer.py) in
# $T/oidc-NAME; its URL is in $T/oidc-NAME/url, its CA in .../ca.pem.
srv_oidc_start() {
  local d=$T/oidc-$1
  mkdir -p "$d"
  python3 "$TOOLS/oidc_issuer.py" serve --dir "$d" >"$d/stdout" 2>"$d/stderr" &
  local pid=$!
  SRV_PIDS+=("$pid")
  if ! srv_wait_file "$d/url" "$pid" 30; then
    echo "FATAL - the OIDC issuer $1 did not start:" >&2
    sed 's/^/       /' "$d/stderr" >&2
    exit 1
  fi
}

# srv_mint NAME ARGS...: a token from issuer NAME (oidc_issuer.py mint).
srv_mint() {
  local d=$T/oidc-$1
  shift
  python3 "$TOOLS/oidc_issuer.py" mint --dir "$d" "$@"
}

# srv_tsa_start: tests/tools/tsa_server.py on a free port; sets TSA_URL, TSA_CA.
srv_tsa_start() {
  local d=$T/tsa
  mkdir -p "$d"
  python3 "$TOOLS/tsa_server.py" --dir "$d" --port-file "$d/port" >"$d/stdout" 2>"$d/stderr" &
  local pid=$!
  SRV_PIDS+=("$pid")
  if ! srv_wait_file "$d/port" "$pid" 30; then
    echo "FATAL - the test TSA did not start:" >&2
    sed 's/^/       /' "$d/stderr" >&2
    exit 1
  fi
  TSA_URL="http://127.0.0.1:$(cat "$d/port")/"
  TSA_CA=$d/tsaca.pem
}

# srv_pg_start: a throwaway PostgreSQL cluster (tests/tools/pg_cluster.sh);
# sets PG_URL; skips the script when PostgreSQL is not installed.
srv_pg_start() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [[ -n ${SIGNET_PG_BIN:-} ]] ||
    skip_all "PostgreSQL is not installed (apt-get install postgresql)"
  SRV_PG_DIR=$T/pg
  mkdir -p "$SRV_PG_DIR"
  chmod 755 "$SRV_PG_DIR"
  if ! PG_URL=$("$TOOLS/pg_cluster.sh" start "$SRV_PG_DIR" 2>"$T/pg.err"); then
    echo "FATAL - pg_cluster.sh start failed:" >&2
    sed 's/^/       /' "$T/pg.err" >&2
    exit 1
  fi
}

# srv_ca_bundle: SIGNET_CA_BUNDLE = the server CA ($T/pki/ca.pem) and the
# "gh" OIDC issuer's CA, for the client (server and GitHub token endpoint).
# Only one issuer CA: the test issuers' CAs share one subject name, so a
# bundle holding two would make OpenSSL pick the wrong one. The server does
# not get this variable (srv_start): its issuers have their own "ca_bundle".
srv_ca_bundle() {
  cat "$T/pki/ca.pem" >"$T/ca-bundle.pem"
  if [[ -f $T/oidc-gh/ca.pem ]]; then cat "$T/oidc-gh/ca.pem" >>"$T/ca-bundle.pem"; fi
  export SIGNET_CA_BUNDLE=$T/ca-bundle.pem
}

# srv_start CONFIG [ARGS...]: `signet server --config CONFIG --port-file ...`
# in the background (stderr in SRV_LOG, stdout in SRV_LOG.out), waits for
# the port and /healthz. Sets SRV_PID, SRV_PORT, SRV_URL (https unless the
# config has "plain_http": true), SRV_LOG.
srv_start() {
  local config=$1
  shift
  SRV_N=$((SRV_N + 1))
  SRV_LOG=$T/server-$SRV_N.log
  local port_file=$T/server-$SRV_N.port
  rm -f "$port_file"
  env -u SIGNET_CA_BUNDLE "$SIGNET" server --config "$config" --port 0 --port-file "$port_file" "$@" \
    >"$SRV_LOG.out" 2>"$SRV_LOG" &
  SRV_PID=$!
  SRV_PIDS+=("$SRV_PID")
  if ! srv_wait_file "$port_file" "$SRV_PID" 60; then
    echo "FATAL - signet server did not start (config $config):" >&2
    sed 's/^/       /' "$SRV_LOG" >&2
    exit 1
  fi
  SRV_PORT=$(cat "$port_file")
  if grep -Eq '"plain_http"[[:space:]]*:[[:space:]]*true' "$config"; then
    SRV_URL=http://127.0.0.1:$SRV_PORT
  else
    SRV_URL=https://127.0.0.1:$SRV_PORT
  fi
  local i
  for i in $(seq 100); do
    if curl -fsS --cacert "$T/pki/ca.pem" "$SRV_URL/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "FATAL - $SRV_URL/healthz does not answer 200" >&2
  exit 1
}

# srv_stop: SIGTERM to the current server, waits for it; RC = its exit code.
srv_stop() {
  RC=0
  kill -TERM "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || RC=$?
}

# ---------------------------------------------------------------------------
# Talking to the server

# srv_post TOKEN BODY_FILE [PATH]: POST with curl; prints the HTTP status,
# the reply body is in $T/.reply. TOKEN "" sends no Authorization header.
srv_post() {
  local token=$1 body=$2 path=${3:-/v1/sign}
  local args=(-sS -o "$T/.reply" -w '%{http_code}' --cacert "$T/pki/ca.pem"
    -H 'Content-Type: application/json' --data-binary "@$body")
  # The token goes through a header file, not argv.
  if [[ -n $token ]]; then
    printf 'Authorization: Bearer %s\n' "$token" >"$T/.hdr"
    args+=(-H "@$T/.hdr")
  fi
  curl "${args[@]}" "$SRV_URL$path" || true
  rm -f "$T/.hdr"
}

# srv_reply_field PYEXPR: evaluates PYEXPR over `j`, the last reply's JSON.
srv_reply_field() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$T/.reply" "$1" 2>/dev/null || true
}

# srv_requests [LOG]: the server log's "request" lines as JSON lines.
srv_requests() {
  python3 - "${1:-$SRV_LOG}" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if isinstance(j, dict) and j.get("msg") == "request":
        print(json.dumps(j))
PY
}

# srv_last_request [PATH]: the last request line (JSON) for PATH (/v1/sign).
srv_last_request() {
  srv_requests | python3 -c '
import json, sys
last = None
for line in sys.stdin:
    j = json.loads(line)
    if j.get("path") == sys.argv[1]:
        last = line.strip()
print(last or "{}")' "${1:-/v1/sign}"
}

# srv_audit CONFIG ARGS...: `signet audit ARGS... --config CONFIG` via run().
srv_audit() {
  local config=$1
  shift
  run "$SIGNET" audit "$@" --config "$config"
}

# srv_audit_jsonl CONFIG: the audit records as JSON lines, in $T/audit.jsonl.
srv_audit_jsonl() {
  "$SIGNET" audit export --jsonl --config "$1" >"$T/audit.jsonl" 2>"$T/audit.err" || true
}

# srv_audit_has WHAT PYEXPR: checks PYEXPR over `recs` (the list from
# srv_audit_jsonl) is true.
srv_audit_has() {
  local what=$1 expr=$2 msg
  if msg=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not eval("(" + sys.argv[2] + "\n)"):
    tail = recs[-3:]
    sys.exit(f"condition {sys.argv[2]!r} is false; {len(recs)} records, last: {tail!r}")
' "$T/audit.jsonl" "$expr" 2>&1); then
    pass "$what"
  else
    fail "$what" "$msg" "audit export stderr: $(head -c 500 "$T/audit.err")"
  fi
}

# srv_plugin_server TAG CI BOT: the server the CI plugin tests sign with: an
# EC file key "ec" (srv_pki in $T/pki), a test OIDC issuer oidc-TAG whose
# tokens have the CI system CI's claims, and two rules: that issuer's
# repository acme/app, and the API token BOT. Writes $T/server.json,
# $T/api.tok (BOT's token) and $T/id.tok (a token of the issuer), sets
# ISSUER_URL, and starts the server.
srv_plugin_server() {
  local tag=$1 ci=$2 bot=$3
  srv_pki "$T/pki"
  srv_oidc_start "$tag"
  ISSUER_URL=$(cat "$T/oidc-$tag/url")
  cat >"$T/server.json" <<EOF
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "default_audience": "signet",
  "issuers": [{"issuer": "$ISSUER_URL", "audience": "signet", "ci": "$ci",
               "ca_bundle": "oidc-$tag/ca.pem"}],
  "api_tokens_file": "tokens.json",
  "keys": {"ec": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"}},
  "policy": {"rules": [
    {"name": "app", "keys": ["ec"], "issuer": "$ISSUER_URL", "claims": {"repository": "acme/app"}},
    {"name": "bot", "keys": ["ec"], "issuer": "signet:api-token", "claims": {"subject": "$bot"}}
  ]},
  "audit": {"db": "sqlite:audit.db"}
}
EOF
  "$SIGNET" server token create "$bot" --scope ec --config "$T/server.json" 2>/dev/null |
    head -n 1 >"$T/api.tok"
  [[ $(cat "$T/api.tok") == sgt_* ]] ||
    { echo "FATAL - signet server token create printed no token" >&2; exit 1; }
  srv_mint "$tag" --shape "$ci" --aud signet >"$T/id.tok"
  srv_start "$T/server.json"
}
