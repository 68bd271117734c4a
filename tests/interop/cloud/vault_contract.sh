#!/usr/bin/env bash
# CONTRACT test of the hashivault: backend (HashiCorp Vault / OpenBao
# transit). No Vault server can run here: tests/tools/contract_vault.py stands
# in for Vault's transit engine and JWT auth over HTTPS (its certificate from
# a test CA given as VAULT_CACERT), checks every request against Vault's API
# documentation (X-Vault-Token, X-Vault-Namespace, the sign fields prehashed,
# hash_algorithm, signature_algorithm, salt_length, marshaling_algorithm,
# key_version) and signs with local keys.
#
# Checks: a static token and JWT auth login both work; cms and pe artifacts
# signed with RSA-3072 (PKCS#1 v1.5 and PSS, latest and pinned key versions)
# and ECDSA P-256 keys verify with openssl cms and osslsigncode; TLS is
# verified; keys that cannot sign are refused (exit 2); faults (429 then
# success, 500 forever, 403, a server that never answers, malformed JSON, a
# signature that does not verify, a signature of another key version) give
# the documented exit codes and write nothing; no credential appears in any
# output.
# Also: CSRs from `signet key csr` (signed through the service) pass
# `openssl req -verify`.
#
# usage: vault_contract.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
CLOUD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=cloud_lib.sh
source "$CLOUD_DIR/cloud_lib.sh"
cloud_need_tools hashivault
echo "# CONTRACT test: Vault's transit engine and JWT auth are simulated by tests/tools/contract_vault.py"
cd "$T"
mkdir -p srv work keys tls

# The server's TLS certificate (for 127.0.0.1) from the test CA.
make_ca "$T/ca" "Signet Cloud Test CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls/server.key \
  -subj "/CN=127.0.0.1" -out tls/server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >tls/server.ext
openssl x509 -req -in tls/server.csr -CA ca/ca.pem -CAkey ca/ca.key -set_serial 7 -days 1 \
  -extfile tls/server.ext -out tls/server.pem 2>/dev/null

printf 'hvs.%s\n' "$(openssl rand -hex 24)" >vault-token
printf 'eyJhbGciOiJSUzI1NiJ9.%s.%s\n' "$(openssl rand -hex 24)" "$(openssl rand -hex 32)" >ci-jwt
lib_secret "$(cat vault-token)"
lib_secret "$(cat ci-jwt)"
CONTRACT_CURL_OPTS=(--cacert "$T/ca/ca.pem")
start_contract vault --state-dir "$T/srv" --token-file "$T/vault-token" --namespace team/ci \
  --role signet-ci --jwt-file "$T/ci-jwt" --tls-cert "$T/tls/server.pem" --tls-key "$T/tls/server.key"

unset VAULT_TOKEN VAULT_ROLE SIGNET_VAULT_JWT_FILE SIGNET_VAULT_AUTH_MOUNT VAULT_SKIP_VERIFY
export HOME=$T/home  # no ~/.vault-token from the user running the tests
mkdir -p "$HOME"
export VAULT_ADDR=$CONTRACT_URL VAULT_CACERT=$T/ca/ca.pem VAULT_NAMESPACE=team/ci
export SIGNET_HTTP_BACKOFF_MS=50
VAULT_TOKEN=$(cat vault-token)
export VAULT_TOKEN

# ---- authentication, TLS, namespace ----
expect_run "static token: signet key public" 0 'BEGIN PUBLIC KEY' -- "$SIGNET" key public hashivault://ec
out >ec.pub.pem
expect_run "the public key is Vault's" 0 -- cmp ec.pub.pem srv/ec.v1.pub.pem
unset VAULT_TOKEN
export VAULT_ROLE=signet-ci SIGNET_VAULT_JWT_FILE=$T/ci-jwt
clear_faults
expect_run "JWT auth login: signet key public" 0 'BEGIN PUBLIC KEY' -- "$SIGNET" key public hashivault://ec
expect_count "JWT auth login: one login" login 1
cp vault-token "$HOME/.vault-token"
unset VAULT_ROLE SIGNET_VAULT_JWT_FILE
expect_run "$HOME/.vault-token: signet key public" 0 'BEGIN PUBLIC KEY' -- "$SIGNET" key public hashivault://ec
rm "$HOME/.vault-token"
expect_error "no token at all: exit 2" 2 'no Vault token' "$T/work" -- "$SIGNET" key public hashivault://ec
export VAULT_ROLE=signet-ci SIGNET_VAULT_JWT_FILE=$T/ci-jwt
printf 'eyJ.not-the-ci-token.x\n' >wrong-jwt
SIGNET_VAULT_JWT_FILE=$T/wrong-jwt expect_error "a JWT Vault does not accept: exit 2 with Vault's message" 2 \
  'JWT login.*invalid signature' "$T/work" -- "$SIGNET" key public hashivault://ec
VAULT_CACERT='' expect_error "the server's certificate is checked (no CA given): exit 3" 3 'SSL|certificate' \
  "$T/work" -- "$SIGNET" key public hashivault://ec
VAULT_NAMESPACE='' expect_error "without X-Vault-Namespace Vault refuses: exit 2" 2 'X-Vault-Namespace' \
  "$T/work" -- "$SIGNET" key public hashivault://ec

# ---- cms and pe ----
make_file data.bin 100000
cert_for rsa hashivault://rsa keys rsa srv/rsa.v2.pub.pem
cert_for "rsa version 1" "hashivault://rsa?version=1" keys rsa1 srv/rsa.v1.pub.pem
cert_for ec hashivault://ec keys ec srv/ec.v1.pub.pem
csr_case "vault rsa" hashivault://rsa
csr_case "vault ec" hashivault://ec
interop_case "vault rsa" cms data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key hashivault://rsa --cert keys/rsa.chain.pem
interop_case "vault rsa" cms-sha384 data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key hashivault://rsa --cert keys/rsa.chain.pem
interop_case "vault rsa (PSS, salt = digest length)" raw-pss data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key hashivault://rsa
interop_case "vault rsa version 1" cms data.bin keys/rsa1.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "hashivault://rsa?version=1" --cert keys/rsa1.chain.pem
interop_case "vault ec" cms data.bin keys/ec.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key hashivault://ec --cert keys/ec.chain.pem
interop_case "vault ec" raw-sha384 data.bin keys/ec.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key hashivault://ec
if pe_available; then
  build_test_exe app.exe
  pe_case "vault rsa pe" app.exe keys/rsa.chain.pem -- "$SIGNET" sign --key hashivault://rsa
  pe_case "vault ec pe" app.exe keys/ec.chain.pem -- "$SIGNET" sign --key hashivault://ec
else
  skip "pe signing (no pe format in this build, or osslsigncode/mingw-w64 missing)"
fi

# ---- keys that cannot sign ----
cp data.bin work/data.bin
expect_error "an aes256-gcm96 key: exit 2" 2 'aes256-gcm96.*cannot sign' "$T/work" -- \
  "$SIGNET" sign --key hashivault://aes --format raw data.bin
expect_error "an ed25519 key over a digest: exit 2" 2 'ed25519' "$T/work" -- \
  "$SIGNET" sign --key hashivault://ed --format raw data.bin
expect_error "a key version Vault does not have: exit 2" 2 'no version 9' "$T/work" -- \
  "$SIGNET" key public "hashivault://rsa?version=9"
expect_error "a mount with '..': exit 2" 2 'invalid mount' "$T/work" -- \
  "$SIGNET" key public "hashivault://rsa?mount=../sys"

# ---- faults ----
sign_rsa=("$SIGNET" sign --key hashivault://rsa --cert "$T/keys/rsa.chain.pem" --format cms data.bin)
set_fault sign 429-once
expect_run "429 then success: signed" 0 '^signed ' -- "$SIGNET" sign --key hashivault://rsa \
  --cert keys/rsa.chain.pem --format cms -o 429.p7s data.bin
expect_count "429 then success: retried once" sign 2
peer_cms "429 then success: openssl cms -verify accepts" ok 429.p7s data.bin ca/ca.pem
fault_case "500 forever: exit 3" sign 500 3 'HTTP 500' -- "${sign_rsa[@]}"
expect_count "500 forever: bounded retries" sign 4
fault_case "403: exit 1 with Vault's message" sign 403 1 'permission denied \(fault injected\)' -- "${sign_rsa[@]}"
expect_count "403: not retried" sign 1
SIGNET_HTTP_TIMEOUT_MS=400 SIGNET_HTTP_MAX_ATTEMPTS=2 fault_case \
  "a server that never answers: exit 3 (timeout)" sign hang 3 'Timeout' -- "${sign_rsa[@]}"
expect_count "a server that never answers: 2 attempts" sign 2
fault_case "malformed JSON: exit 3" sign malformed 3 'not a JSON object' -- "${sign_rsa[@]}"
fault_case "a signature that does not verify: refused (exit 3)" sign badsig 3 'does not verify.*nothing was written' -- \
  "${sign_rsa[@]}"
fault_case "a signature of another key version: refused (exit 3)" sign wrongversion 3 "vault:v2:.*nothing was written" -- \
  "${sign_rsa[@]}"
fault_case "403 at login: exit 1" login 403 1 'JWT login' -- "${sign_rsa[@]}"
fault_case "500 on read key: exit 3" key 500 3 'read key .*HTTP 500' -- "${sign_rsa[@]}"
clear_faults

expect_no_credentials
lib_finish
