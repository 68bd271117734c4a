#!/usr/bin/env bash
# CONTRACT test of the azurekv: backend (Azure Key Vault). No Key Vault
# emulator can run here: tests/tools/contract_azurekv.py stands in for Key
# Vault and Azure AD, checks every request against their documentation
# (api-version 7.4, Bearer tokens, JSON fields and base64url encodings, the
# client credentials grant and client assertions, managed identity headers)
# and signs with local keys.
#
# Checks: every credential flow (client secret, client certificate assertion,
# workload identity federation, App Service managed identity, IMDS) gets the
# key; cms and pe artifacts signed with RSA-3072 and EC P-256/P-384 keys
# (certificates made for `signet key public`) verify with openssl cms and
# osslsigncode; faults (429 then success, 500 forever, 403, a server that
# never answers, malformed JSON, a signature that does not verify, a key that
# does not fit the algorithm) give the exit codes of
# docs/decisions/0014-http-client-policy.md and write nothing; no credential
# appears in any output.
# Also: CSRs from `signet key csr` (signed through the service) pass
# `openssl req -verify`.
#
# usage: azurekv_contract.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
CLOUD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=cloud_lib.sh
source "$CLOUD_DIR/cloud_lib.sh"
cloud_need_tools azurekv
echo "# CONTRACT test: Azure Key Vault and Azure AD are simulated by tests/tools/contract_azurekv.py"
cd "$T"
mkdir -p srv work keys

# Credentials (random per run): registered so that no output may contain them.
openssl rand -hex 20 >client-secret
printf 'eyJhbGciOiJSUzI1NiJ9.%s.%s\n' "$(openssl rand -hex 24)" "$(openssl rand -hex 32)" >federated-token
openssl rand -hex 16 >identity-header
lib_secret "$(cat client-secret)"
lib_secret "$(cat federated-token)"
lib_secret "$(cat identity-header)"
start_contract azurekv --state-dir "$T/srv" --client-secret-file "$T/client-secret" \
  --federated-token-file "$T/federated-token" --identity-header-file "$T/identity-header"

unset AZURE_CLIENT_SECRET AZURE_CLIENT_CERTIFICATE_PATH AZURE_CLIENT_CERTIFICATE_PASSWORD \
  AZURE_FEDERATED_TOKEN_FILE IDENTITY_ENDPOINT IDENTITY_HEADER AZURE_POD_IDENTITY_AUTHORITY_HOST
export AZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47
export AZURE_CLIENT_ID=0b5cbd0e-7e0d-4c7b-9b7d-2f1e6c3a9e51
export AZURE_AUTHORITY_HOST=$CONTRACT_URL
export SIGNET_AZUREKV_ENDPOINT=$CONTRACT_URL
export SIGNET_HTTP_BACKOFF_MS=50
V=azurekv://signet-test.vault.azure.net/keys

# use_credential secret|certificate|federated|appservice|imds: exports the
# variables of one flow (never on a command line) and unsets the others.
use_credential() {
  unset AZURE_CLIENT_SECRET AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE \
    IDENTITY_ENDPOINT IDENTITY_HEADER AZURE_POD_IDENTITY_AUTHORITY_HOST
  case $1 in
    secret) AZURE_CLIENT_SECRET=$(cat "$T/client-secret"); export AZURE_CLIENT_SECRET ;;
    certificate) export AZURE_CLIENT_CERTIFICATE_PATH=$T/srv/client.pem ;;
    federated) export AZURE_FEDERATED_TOKEN_FILE=$T/federated-token ;;
    appservice)
      export IDENTITY_ENDPOINT=$CONTRACT_URL/msi/token
      IDENTITY_HEADER=$(cat "$T/identity-header"); export IDENTITY_HEADER ;;
    imds) export AZURE_POD_IDENTITY_AUTHORITY_HOST=$CONTRACT_URL ;;
  esac
}

# ---- credential flows ----
for flow in secret certificate federated appservice imds; do
  use_credential "$flow"
  clear_faults
  expect_run "credential $flow: signet key public gets the key" 0 'BEGIN PUBLIC KEY' -- \
    "$SIGNET" key public "$V/ec"
  expect_count "credential $flow: one token request" token 1
done
use_credential secret
printf 'not-the-secret' >wrong-secret
AZURE_CLIENT_SECRET=$(cat wrong-secret) expect_error "wrong client secret: exit 1, Azure AD's message" 1 \
  'AADSTS7000215' "$T/work" -- "$SIGNET" key public "$V/rsa"

# ---- cms and pe, RSA and EC ----
make_ca "$T/ca" "Signet Cloud Test CA"
make_file data.bin 100000
for k in rsa ec ec384; do cert_for "$k" "$V/$k" keys "$k" "srv/$k.pub.pem"; done
csr_case "azurekv rsa" "$V/rsa"
csr_case "azurekv ec384" "$V/ec384" --digest sha384
interop_case "azurekv rsa" cms data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$V/rsa" --cert keys/rsa.chain.pem
interop_case "azurekv rsa" cms-sha384 data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$V/rsa" --cert keys/rsa.chain.pem
interop_case "azurekv rsa" raw-pss data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$V/rsa" --cert keys/rsa.chain.pem
interop_case "azurekv ec" cms data.bin keys/ec.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$V/ec" --cert keys/ec.chain.pem
interop_case "azurekv ec384" raw-sha384 data.bin keys/ec384.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$V/ec384" --cert keys/ec384.chain.pem
if pe_available; then
  build_test_exe app.exe
  pe_case "azurekv rsa pe" app.exe keys/rsa.chain.pem -- "$SIGNET" sign --key "$V/rsa"
  pe_case "azurekv ec pe" app.exe keys/ec.chain.pem -- "$SIGNET" sign --key "$V/ec"
  use_credential certificate
  pe_case "azurekv rsa pe (client certificate credential)" app.exe keys/rsa.chain.pem -- \
    "$SIGNET" sign --key "$V/rsa"
  use_credential secret
else
  skip "pe signing (no pe format in this build, or osslsigncode/mingw-w64 missing)"
fi

# A pinned version: the one the key answer named.
version=$("$SIGNET" key show "$V/rsa" | sed -n 's|^uri: *.*/keys/rsa/||p')
expect_run "a key URI with the current version signs" 0 '^signed ' -- \
  "$SIGNET" sign --key "$V/rsa/$version" --format raw -o work-pinned.sig data.bin
rm -f work-pinned.sig
expect_error "a key URI with an unknown version: exit 2 (KeyNotFound)" 2 'KeyNotFound' "$T/work" -- \
  "$SIGNET" key public "$V/rsa/0123456789abcdef0123456789abcdef"

# ---- faults ----
cp data.bin work/data.bin
sign_rsa=("$SIGNET" sign --key "$V/rsa" --cert "$T/keys/rsa.chain.pem" --format cms data.bin)
set_fault sign 429-once
expect_run "429 then success: signed" 0 '^signed ' -- "$SIGNET" sign --key "$V/rsa" \
  --cert keys/rsa.chain.pem --format cms -o 429.p7s data.bin
expect_count "429 then success: retried once" sign 2
peer_cms "429 then success: openssl cms -verify accepts" ok 429.p7s data.bin ca/ca.pem
fault_case "500 forever: exit 3" sign 500 3 'InternalServerError.*HTTP 500' -- "${sign_rsa[@]}"
expect_count "500 forever: bounded retries" sign 4
fault_case "403: exit 1 with Key Vault's message" sign 403 1 'Forbidden: Operation sign is not permitted' -- \
  "${sign_rsa[@]}"
expect_count "403: not retried" sign 1
SIGNET_HTTP_TIMEOUT_MS=400 SIGNET_HTTP_MAX_ATTEMPTS=2 fault_case \
  "a server that never answers: exit 3 (timeout)" sign hang 3 'Timeout' -- "${sign_rsa[@]}"
expect_count "a server that never answers: 2 attempts" sign 2
fault_case "malformed JSON: exit 3" sign malformed 3 'not a JSON object' -- "${sign_rsa[@]}"
fault_case "a signature that does not verify: refused (exit 3)" sign badsig 3 'does not verify.*nothing was written' -- \
  "${sign_rsa[@]}"
fault_case "an answer from another key version: refused (exit 3)" sign wrongkid 3 'nothing was written' -- \
  "${sign_rsa[@]}"
fault_case "500 on get key: exit 3" key 500 3 'get key .*HTTP 500' -- "${sign_rsa[@]}"
fault_case "403 at the token endpoint: exit 1 with Azure AD's message" token 403 1 'Azure AD token endpoint.*AADSTS7000112' -- "${sign_rsa[@]}"
clear_faults
expect_error "EC P-256 key with --digest sha384: exit 2" 2 'ES256' "$T/work" -- \
  "$SIGNET" sign --key "$V/ec" --cert "$T/keys/ec.chain.pem" --digest sha384 data.bin
expect_error "a key without the sign operation: exit 2" 2 "does not permit the 'sign' operation" "$T/work" -- \
  "$SIGNET" sign --key "$V/nosign" data.bin
expect_error "a host that is not a Key Vault: exit 2 (no token sent)" 2 'not a Key Vault' "$T/work" -- \
  "$SIGNET" sign --key azurekv://example.com/keys/rsa data.bin

expect_no_credentials
lib_finish
