#!/usr/bin/env bash
# CONTRACT test of the gcpkms: backend (Google Cloud KMS). No Cloud KMS
# emulator can run here: tests/tools/contract_gcpkms.py stands in for Cloud
# KMS and Google's token services, checks every request against their
# documentation (REST v1 paths, Bearer tokens, the digest and its CRC32C as an
# int64 string, the jwt-bearer grant and its RS256 assertion, the STS token
# exchange, service account impersonation, the metadata server's header) and
# signs with local keys.
#
# Checks: service account, workload identity federation (file and URL subject
# tokens, with and without impersonation) and metadata server credentials get
# the key; cms and pe artifacts signed with RSA-3072 (PKCS#1 v1.5 and PSS)
# and EC P-256/P-384 keys verify with openssl cms and osslsigncode; the key
# version's algorithm is enforced (exit 2 otherwise); faults (429 then
# success, 500 forever, 403, a server that never answers, malformed JSON, a
# signature that does not verify, CRC32C mismatches in both directions, an
# answer from another key version) give the documented exit codes and write
# nothing; no credential appears in any output.
# Also: CSRs from `signet key csr` (signed through the service) pass
# `openssl req -verify`.
#
# usage: gcpkms_contract.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
CLOUD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=cloud_lib.sh
source "$CLOUD_DIR/cloud_lib.sh"
cloud_need_tools gcpkms
echo "# CONTRACT test: Google Cloud KMS and Google's token services are simulated by tests/tools/contract_gcpkms.py"
cd "$T"
mkdir -p srv work keys

# The CI's OIDC token (the subject token) and the token that fetches it from a URL.
printf 'eyJhbGciOiJSUzI1NiJ9.%s.%s\n' "$(openssl rand -hex 24)" "$(openssl rand -hex 32)" >oidc-token
openssl rand -hex 20 >source-token
lib_secret "$(cat oidc-token)"
lib_secret "$(cat source-token)"
start_contract gcpkms --state-dir "$T/srv" --subject-token-file "$T/oidc-token" \
  --source-token-file "$T/source-token"

unset GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST
export SIGNET_GCPKMS_ENDPOINT=$CONTRACT_URL
export SIGNET_HTTP_BACKOFF_MS=50
K=gcpkms://projects/signet-test/locations/global/keyRings/ring/cryptoKeys

# use_credential service_account|external_file|external_url|metadata
use_credential() {
  unset GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST
  case $1 in
    metadata) export GCE_METADATA_HOST=${CONTRACT_URL#http://} ;;
    *) export GOOGLE_APPLICATION_CREDENTIALS=$T/srv/$1.json ;;
  esac
}

# ---- credential flows ----
# Token requests per flow: service account 1 (token_uri); external file 1
# (STS); external URL 3 (subject token URL, STS, impersonation); metadata 1.
for flow in service_account:1 external_file:1 external_url:3 metadata:1; do
  use_credential "${flow%:*}"
  clear_faults
  expect_run "credential ${flow%:*}: signet key public gets the key" 0 'BEGIN PUBLIC KEY' -- \
    "$SIGNET" key public "$K/ec/cryptoKeyVersions/1"
  expect_count "credential ${flow%:*}: token requests" token "${flow#*:}"
done
use_credential service_account
# A service account file whose key is not the account's: the assertion does not verify.
python3 - srv/service_account.json wrong_sa.json <<'PY'
import json, subprocess, sys
sa = json.load(open(sys.argv[1]))
sa["private_key"] = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                                   check=True, capture_output=True, text=True).stdout
json.dump(sa, open(sys.argv[2], "w"))
PY
GOOGLE_APPLICATION_CREDENTIALS=$T/wrong_sa.json expect_error \
  "a service account key the token endpoint does not accept: exit 1" 1 'Google OAuth token endpoint.*does not verify' \
  "$T/work" -- "$SIGNET" key public "$K/rsa/cryptoKeyVersions/1"

# ---- cms and pe ----
make_ca "$T/ca" "Signet Cloud Test CA"
make_file data.bin 100000
for k in rsa rsapss ec ec384; do
  cert_for "$k" "$K/$k/cryptoKeyVersions/1" keys "$k" "srv/$k.pub.pem"
done
csr_case "gcpkms rsapss" "$K/rsapss/cryptoKeyVersions/1" --rsa-pss
csr_case "gcpkms ec" "$K/ec/cryptoKeyVersions/1"
interop_case "gcpkms rsa" cms data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1" --cert keys/rsa.chain.pem
interop_case "gcpkms rsapss" raw-pss data.bin keys/rsapss.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$K/rsapss/cryptoKeyVersions/1" --cert keys/rsapss.chain.pem
interop_case "gcpkms ec" cms data.bin keys/ec.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$K/ec/cryptoKeyVersions/1" --cert keys/ec.chain.pem
interop_case "gcpkms ec384" cms-sha384 data.bin keys/ec384.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$K/ec384/cryptoKeyVersions/1" --cert keys/ec384.chain.pem
use_credential external_url
interop_case "gcpkms rsa (workload identity + impersonation)" cms data.bin keys/rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1" --cert keys/rsa.chain.pem
use_credential service_account
if pe_available; then
  build_test_exe app.exe
  pe_case "gcpkms rsa pe" app.exe keys/rsa.chain.pem -- "$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1"
  pe_case "gcpkms ec pe" app.exe keys/ec.chain.pem -- "$SIGNET" sign --key "$K/ec/cryptoKeyVersions/1"
  use_credential metadata
  pe_case "gcpkms rsa pe (metadata server)" app.exe keys/rsa.chain.pem -- \
    "$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1"
  use_credential service_account
else
  skip "pe signing (no pe format in this build, or osslsigncode/mingw-w64 missing)"
fi

# ---- the key version's algorithm ----
cp data.bin work/data.bin
expect_error "PKCS#1 key asked for PSS: exit 2" 2 'RSA_SIGN_PKCS1_3072_SHA256.*--digest sha256$' "$T/work" -- \
  "$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1" --rsa-pss data.bin
expect_error "PSS key asked for PKCS#1 v1.5: exit 2" 2 'RSA_SIGN_PSS_3072_SHA256.*--rsa-pss' "$T/work" -- \
  "$SIGNET" sign --key "$K/rsapss/cryptoKeyVersions/1" data.bin
expect_error "P-256 key asked for SHA-384: exit 2" 2 'EC_SIGN_P256_SHA256' "$T/work" -- \
  "$SIGNET" sign --key "$K/ec/cryptoKeyVersions/1" --digest sha384 data.bin
expect_error "an unknown key version: exit 2 (NOT_FOUND)" 2 'NOT_FOUND' "$T/work" -- \
  "$SIGNET" key public "$K/rsa/cryptoKeyVersions/7"

# ---- faults ----
sign_rsa=("$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1" --cert "$T/keys/rsa.chain.pem" --format cms data.bin)
set_fault sign 429-once
expect_run "429 then success: signed" 0 '^signed ' -- "$SIGNET" sign --key "$K/rsa/cryptoKeyVersions/1" \
  --cert keys/rsa.chain.pem --format cms -o 429.p7s data.bin
expect_count "429 then success: retried once" sign 2
peer_cms "429 then success: openssl cms -verify accepts" ok 429.p7s data.bin ca/ca.pem
fault_case "500 forever: exit 3" sign 500 3 'INTERNAL.*HTTP 500' -- "${sign_rsa[@]}"
expect_count "500 forever: bounded retries" sign 4
fault_case "403: exit 1 with Cloud KMS's message" sign 403 1 "PERMISSION_DENIED: Permission 'cloudkms.cryptoKeyVersions.useToSign' denied" -- \
  "${sign_rsa[@]}"
expect_count "403: not retried" sign 1
SIGNET_HTTP_TIMEOUT_MS=400 SIGNET_HTTP_MAX_ATTEMPTS=2 fault_case \
  "a server that never answers: exit 3 (timeout)" sign hang 3 'Timeout' -- "${sign_rsa[@]}"
expect_count "a server that never answers: 2 attempts" sign 2
fault_case "malformed JSON: exit 3" sign malformed 3 'not a JSON object' -- "${sign_rsa[@]}"
fault_case "a signature that does not verify: refused (exit 3)" sign badsig 3 'does not verify.*nothing was written' -- \
  "${sign_rsa[@]}"
fault_case "signatureCrc32c mismatch: exit 3" sign badcrc 3 'signatureCrc32c does not match' -- "${sign_rsa[@]}"
fault_case "verifiedDigestCrc32c false: exit 3" sign unverified 3 'verifiedDigestCrc32c' -- "${sign_rsa[@]}"
fault_case "an answer naming another key version: refused (exit 3)" sign wrongname 3 'cryptoKeyVersions/2.*nothing was written' -- \
  "${sign_rsa[@]}"
fault_case "pemCrc32c mismatch: exit 3" key badpemcrc 3 'pemCrc32c does not match' -- "${sign_rsa[@]}"
fault_case "500 at the token endpoint: exit 3" token 500 3 'Google OAuth token endpoint.*HTTP 500' -- "${sign_rsa[@]}"
clear_faults

expect_no_credentials
lib_finish
