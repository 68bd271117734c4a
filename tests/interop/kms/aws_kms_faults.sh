#!/usr/bin/env bash
# awskms: fault handling, against a KMS stand-in that misbehaves on request
# (tests/tools/kms_fault_server.py; it signs with a local key, so its good
# answers verify). Each fault is set on Sign; GetPublicKey always answers.
#
#   429 then success  -> retried, signed, exit 0
#   400 Throttling    -> retried like a 429 (KMS's own throttling answer)
#   500 forever       -> SIGNET_HTTP_MAX_ATTEMPTS attempts, exit 3
#   403 AccessDenied  -> one attempt, exit 1, KMS's message shown
#   never answers     -> timeout (SIGNET_HTTP_TIMEOUT_MS), exit 3
#   malformed JSON    -> exit 3
#   a signature that does not verify -> refused, exit 3
#   a key type that does not fit the algorithm -> exit 2
# In every failure nothing is written, stderr is one line, and no secret key
# appears in any output.
set -euo pipefail
KMS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$2/lib.sh"
lib_init "$@"
source "$KMS_DIR/kms_lib.sh"
kms_need_tools faults
aws_test_env
AWS_SESSION_TOKEN=FwoGZXIvYXdzE$(openssl rand -hex 40)
export AWS_SESSION_TOKEN
lib_secret "$AWS_SESSION_TOKEN"

make_key rsa "$T/rsa.key"
make_key ec "$T/ec.key"
start_server rsa python3 "$TOOLS/kms_fault_server.py" --key "$T/rsa.key" --port-file "$T/rsa.port"
start_server ec python3 "$TOOLS/kms_fault_server.py" --key "$T/ec.key" --port-file "$T/ec.port"
RSA_URI=awskms://127.0.0.1:${SERVER_PORT[rsa]}/alias/faults
EC_URI=awskms://127.0.0.1:${SERVER_PORT[ec]}/alias/faults
public_key "$T/rsa.key" "$T/rsa.pub.pem"
public_key "$T/ec.key" "$T/ec.pub.pem"

set_mode() { curl -sS --max-time 5 -X POST "http://127.0.0.1:${SERVER_PORT[$1]}/_control/mode" -d "$2" >/dev/null; }
sign_count() {
  curl -sS --max-time 5 "http://127.0.0.1:${SERVER_PORT[$1]}/_control/stats" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("Sign", 0))'
}
expect_sign_count() {
  local what=$1 server=$2 want=$3 got
  got=$(sign_count "$server")
  if [[ $got == "$want" ]]; then pass "$what ($got Sign requests)"; else fail "$what" "expected $want Sign requests, got $got"; fi
}

mkdir -p "$T/work"
printf 'signet kms faults\n' >"$T/work/a.txt"

# --- retried, then signed ---
for mode in throttle-once throttle400-once; do
  set_mode ec "$mode"
  rm -f "$T/work/a.txt.sig"
  expect_run "$mode: signed after a retry" 0 -- "$SIGNET" sign --key "$EC_URI" --format raw "$T/work/a.txt"
  expect_sign_count "$mode: Sign was retried once" ec 2
  peer_dgst "$mode: openssl dgst -verify accepts" ok sha256 "$T/ec.pub.pem" "$T/work/a.txt.sig" "$T/work/a.txt"
done
rm -f "$T/work/a.txt.sig"

# --- failures: exit code, one line, nothing written ---
set_mode ec error500
expect_error "500 forever (exit 3)" 3 'KMSInternalException.*HTTP 500' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --format raw a.txt
expect_sign_count "500 forever: bounded retries (SIGNET_HTTP_MAX_ATTEMPTS=3)" ec 3

set_mode ec denied
expect_error "403 AccessDeniedException (exit 1, KMS's message)" 1 \
  'AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/ci/build is not authorized to perform: kms:Sign' \
  "$T/work" -- "$SIGNET" sign --key "$EC_URI" --format cms a.txt
expect_sign_count "403: not retried" ec 1

set_mode ec hang
start=$(date +%s%N)
expect_error "never answers: timeout (exit 3)" 3 'timeout|timed out' "$T/work" -- \
  env SIGNET_HTTP_TIMEOUT_MS=700 SIGNET_HTTP_MAX_ATTEMPTS=2 \
  "$SIGNET" sign --key "$EC_URI" --format raw a.txt
elapsed=$((($(date +%s%N) - start) / 1000000))
if [[ $elapsed -ge 1000 && $elapsed -lt 10000 ]]; then
  pass "never answers: gave up after two timed-out attempts (${elapsed} ms)"
else
  fail "never answers: gave up after two timed-out attempts" "took ${elapsed} ms"
fi
expect_sign_count "never answers: SIGNET_HTTP_MAX_ATTEMPTS=2 attempts" ec 2

set_mode ec malformed
expect_error "malformed JSON (exit 3)" 3 'malformed' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --format raw a.txt

set_mode ec badsig
expect_error "signature that does not verify: refused (exit 3)" 3 'does not verify' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --format cms a.txt
set_mode rsa badsig
expect_error "rsa: signature that does not verify: refused (exit 3)" 3 'does not verify' "$T/work" -- \
  "$SIGNET" sign --key "$RSA_URI" --format raw a.txt
expect_error "key csr: signature that does not verify: refused (exit 3)" 3 'does not verify' "$T/work" -- \
  "$SIGNET" key csr "$RSA_URI" --subject "CN=x" --output csr.pem

set_mode ec ok
set_mode rsa ok
expect_error "--rsa-pss with an EC key (exit 2)" 2 'rsa-pss' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --rsa-pss --format raw a.txt
expect_error "key csr --rsa-pss with an EC key (exit 2)" 2 'rsa-pss' "$T/work" -- \
  "$SIGNET" key csr "$EC_URI" --rsa-pss --subject "CN=x" --output csr.pem
expect_error "EC key asked for SHA-512 (exit 2)" 2 'ECDSA|sha512' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --digest sha512 --format raw a.txt
expect_sign_count "key type checks happen before KMS is asked" ec 0

# The good path still works against the same server (the faults were the server's).
expect_run "ok: rsa pss signed" 0 -- "$SIGNET" sign --key "$RSA_URI" --rsa-pss --format raw \
  -o "$T/rsa.sig" "$T/work/a.txt"
peer_dgst "ok: openssl dgst -verify accepts the PSS signature" ok sha256 "$T/rsa.pub.pem" "$T/rsa.sig" \
  "$T/work/a.txt" pss

expect_no_credentials
lib_finish
