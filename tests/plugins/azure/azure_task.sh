#!/usr/bin/env bash
# The Azure Pipelines task (plugins/azure-devops/SignetSign) under
# azure-pipelines-task-lib's MockTestRunner (task.test.js, node --test)
# against a real signet. This script makes the fixtures: a test CA and EC
# file key, a PE (mingw-w64), a loopback `signet server` trusting a fake
# Azure DevOps OIDC endpoint (oidc_issuer.py /azure/oidctoken). npm ci runs
# in WORK_DIR (a copy of the task), skipped when node_modules already
# matches package-lock.json (offline-safe).
#
# usage: azure_task.sh SIGNET_BINARY TOOLS_DIR TASK_DIR WORK_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
TASK_SRC=$(realpath "$3")
W=$4
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for t in node npm python3 openssl curl; do command -v "$t" >/dev/null || skip_all "$t not found"; done
trap srv_cleanup EXIT
export SIGNET_HTTP_MAX_ATTEMPTS=1 SIGNET_HTTP_BACKOFF_MS=0

mkdir -p "$W"
cp "$TASK_SRC/index.js" "$TASK_SRC/task.json" "$TASK_SRC/package.json" "$TASK_SRC/package-lock.json" "$W/"
if ! cmp -s "$W/package-lock.json" "$W/node_modules/.signet-lock" 2>/dev/null; then
  (cd "$W" && npm ci --prefer-offline --no-audit --no-fund >"$T/npm.log" 2>&1) ||
    { cat "$T/npm.log" >&2; echo "FATAL - npm ci failed" >&2; exit 1; }
  cp "$W/package-lock.json" "$W/node_modules/.signet-lock"
fi

cd "$T"
srv_build_pe "$T/pe"
srv_pki "$T/pki"
mkdir -p art
make_file art/a.bin 3000
make_file art/b.txt 100
cp pe/app.exe art/app.exe
srv_oidc_start az
OIDC_URL=$(cat "$T/oidc-az/url")
cat "$T/pki/ca.pem" "$T/oidc-az/ca.pem" >"$T/ca-bundle.pem"
cat >"$T/server.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "default_audience": "api://AzureADTokenExchange",
  "issuers": [{"issuer": "$OIDC_URL", "audience": "api://AzureADTokenExchange", "ci": "azure",
               "ca_bundle": "oidc-az/ca.pem"}],
  "keys": {"ec": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"}},
  "policy": {"rules": [{"name": "acme-release", "keys": ["ec"], "issuer": "$OIDC_URL",
                        "claims": {"subject": "p://acme/app/release"}}]},
  "audit": {"db": "sqlite:audit.db"}
}
JSON
srv_start "$T/server.json"

RC=0
env SIGNET="$SIGNET" T="$T" CA="$T/pki/ca.pem" SIGNET_TASK_DIR="$W" SRV_URL="$SRV_URL" \
  OIDC_URL="$OIDC_URL" REQ_TOKEN_FILE="$T/oidc-az/request_token" SIGNET_CA_BUNDLE="$T/ca-bundle.pem" \
  node --test --test-reporter=spec "$HERE/task.test.js" || RC=$?
if [[ $RC -eq 0 ]]; then pass "MockTestRunner suite (task.test.js)"; else fail "MockTestRunner suite (task.test.js): exit $RC"; fi
lib_finish
