#!/usr/bin/env bash
# Remote signing end to end: `signet sign --key signet://127.0.0.1:PORT/NAME`
# against a real `signet server` over HTTPS (a test CA, SIGNET_CA_BUNDLE):
#   - a PE (mingw-w64) checked by osslsigncode verify, a file as cms checked
#     by openssl cms -verify; keys: an EC P-256 file key and a SoftHSM2 RSA
#     key; a key with a server-side TSA gives a timestamped PE; the peers
#     reject tampered copies;
#   - authentication by a GitHub-shaped OIDC token (SIGNET_TOKEN), by the
#     client's own discovery through a fake ACTIONS_ID_TOKEN_REQUEST_URL, and
#     by an API token from `signet server token create` (--token-file);
#   - bytes sent: bytes_in of the server's log lines for a 1 KiB and a 1 GiB
#     artifact (cms), and a small PE and the same PE with a 1 GiB overlay,
#     differ by a few bytes and stay < 16 KiB;
#   - batches: 300 files in one `signet sign` are 2 sign requests (256 max).
#
# usage: e2e_remote.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
srv_init
cd "$T"

PIN='e2e-PIN-7731'
L=signet-e2e
srv_softhsm "$T/hsm" "$L" "$PIN"
printf '%s\n' "$PIN" >"$T/pin.txt"
srv_build_pe "$T/pe"
srv_pki "$T/pki"
srv_oidc_start gh
srv_tsa_start
srv_ca_bundle
GH_URL=$(cat "$T/oidc-gh/url")
CA=$T/pki/ca.pem
P11_CA=$SRV_P11_CA

cat >"$T/server.json" <<EOF
{
  // e2e_remote.sh
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "default_audience": "signet",
  "issuers": [{"issuer": "$GH_URL", "audience": "signet", "ci": "github",
               "ca_bundle": "oidc-gh/ca.pem"}],
  "api_tokens_file": "tokens.json",
  "keys": {
    "ec": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"},
    "rsa": {"uri": "$SRV_P11_RSA", "pin_file": "pin.txt",
            "certificate": "hsm/$L/rsa.chain.pem"},
    "ects": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem", "tsa": "$TSA_URL"}
  },
  "policy": {"rules": [
    {"name": "acme-app", "keys": ["ec", "rsa", "ects"], "issuer": "$GH_URL",
     "claims": {"repository": "acme/app", "ref": "refs/heads/main"}},
    {"name": "bot", "keys": ["ec"], "issuer": "signet:api-token", "claims": {"subject": "e2e-bot"}}
  ]},
  "audit": {"db": "sqlite:audit.db"},
  "limits": {"max_plans_per_request": 256}
}
EOF

run "$SIGNET" server token create e2e-bot --scope ec --config "$T/server.json"
if [[ $RC -eq 0 && $(out) == sgt_* ]]; then
  pass "server token create: prints an sgt_ token"
  out | head -n 1 >"$T/api.tok"
else
  fail "server token create: prints an sgt_ token" "$(last_run)"
  : >"$T/api.tok"
fi
if [[ -s $T/api.tok ]] && ! grep -Fq "$(cat "$T/api.tok")" "$T/tokens.json"; then
  pass "tokens.json does not hold the token itself"
else
  fail "tokens.json does not hold the token itself"
fi

srv_start "$T/server.json"
HP=127.0.0.1:$SRV_PORT
srv_mint gh --shape github --aud signet >"$T/gh.tok"

# sign_remote KEY TOKENFILE ARGS...: signet sign with SIGNET_TOKEN from TOKENFILE.
sign_remote() {
  local key=$1 tok=$2
  shift 2
  SIGNET_TOKEN=$(cat "$tok") run "$SIGNET" sign --key "signet://$HP/$key" "$@"
}

# ---- PE and cms, EC file key and SoftHSM2 RSA key ------------------------------------
mkdir -p s
make_file s/doc.bin 5000
for key in ec rsa; do
  ca=$CA
  [[ $key == rsa ]] && ca=$P11_CA
  cp pe/app.exe "s/$key.exe"
  sign_remote "$key" gh.tok "s/$key.exe"
  if [[ $RC -eq 0 ]]; then pass "$key: signet sign (remote) of a PE"; else fail "$key: signet sign (remote) of a PE" "$(last_run)"; fi
  expect_run "$key: osslsigncode verify accepts the remotely signed PE" 0 '^Succeeded' -- \
    osslsigncode verify -in "s/$key.exe" -CAfile "$ca"
  expect_run "$key: signet verify accepts it" 0 '^OK ' -- "$SIGNET" verify --trust "$ca" "s/$key.exe"
  tamper "s/$key.exe" "s/$key-bad.exe"
  run osslsigncode verify -in "s/$key-bad.exe" -CAfile "$ca"
  if [[ $RC -ne 0 ]]; then pass "$key: osslsigncode rejects the tampered PE (exit $RC)"; else fail "$key: osslsigncode rejects the tampered PE" "$(last_run)"; fi

  cp s/doc.bin "s/$key.bin"
  sign_remote "$key" gh.tok --format cms "s/$key.bin"
  if [[ $RC -eq 0 && -s s/$key.bin.p7s ]]; then pass "$key: signet sign --format cms (remote)"; else fail "$key: signet sign --format cms (remote)" "$(last_run)"; fi
  peer_cms "$key: openssl cms -verify accepts" ok "s/$key.bin.p7s" "s/$key.bin" "$ca"
  tamper "s/$key.bin" "s/$key-bad.bin"
  peer_cms "$key: openssl cms -verify rejects the tampered file" bad "s/$key.bin.p7s" "s/$key-bad.bin" "$ca"
done

# ---- server-side timestamp ----------------------------------------------------------------
cp pe/app.exe s/ts.exe
sign_remote ects gh.tok s/ts.exe
if [[ $RC -eq 0 ]] && grep -q timestamped "$T/.out"; then
  pass "ects: the server timestamps the signature (client says timestamped)"
else
  fail "ects: the server timestamps the signature" "$(last_run)"
fi
expect_run "ects: osslsigncode verifies the signature and its timestamp" 0 \
  'Timestamp Server Signature verification: ok' -- \
  osslsigncode verify -in s/ts.exe -CAfile "$CA" -TSA-CAfile "$TSA_CA"
expect_run "ects: signet verify reports the timestamp" 0 'timestamp 20' -- \
  "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" s/ts.exe

# ---- authentication: discovery through the GitHub token endpoint, API token -------------
cp s/doc.bin s/gha.bin
ACTIONS_ID_TOKEN_REQUEST_URL="$GH_URL/github/token" \
  ACTIONS_ID_TOKEN_REQUEST_TOKEN=$(cat "$T/oidc-gh/request_token") \
  run "$SIGNET" sign --key "signet://$HP/ec" --format cms s/gha.bin
if [[ $RC -eq 0 ]]; then pass "GitHub Actions discovery: signet sign finds its own OIDC token"; else fail "GitHub Actions discovery: signet sign finds its own OIDC token" "$(last_run)"; fi
peer_cms "GitHub Actions discovery: openssl cms -verify accepts" ok s/gha.bin.p7s s/gha.bin "$CA"
last=$(srv_last_request)
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j.get("status")==200 and j.get("issuer")==sys.argv[2] and j.get("subject")=="repo:acme/app:ref:refs/heads/main" else 1)' "$last" "$GH_URL"; then
  pass "GitHub Actions discovery: the server logged the GitHub identity"
else
  fail "GitHub Actions discovery: the server logged the GitHub identity" "$last"
fi

cp s/doc.bin s/api.bin
run "$SIGNET" sign --key "signet://$HP/ec" --token-file "$T/api.tok" --format cms s/api.bin
if [[ $RC -eq 0 ]]; then pass "API token (--token-file): signet sign"; else fail "API token (--token-file): signet sign" "$(last_run)"; fi
peer_cms "API token: openssl cms -verify accepts" ok s/api.bin.p7s s/api.bin "$CA"
cp s/doc.bin s/api-rsa.bin
run "$SIGNET" sign --key "signet://$HP/rsa" --token-file "$T/api.tok" --format cms s/api-rsa.bin
if [[ $RC -ne 0 && ! -e s/api-rsa.bin.p7s ]] && grep -q "signet: error:" "$T/.err"; then
  pass "API token scoped to ec: key rsa refused (exit $RC)"
else
  fail "API token scoped to ec: key rsa refused" "$(last_run)"
fi

# ---- bytes on the wire: 1 KiB vs 1 GiB -----------------------------------------------------
mkdir -p w
make_file w/f1k.bin 1024
truncate -s 1G w/f1g.bin
cp pe/app.exe w/small.exe
cp pe/app.exe w/hugex.exe
truncate -s +1G w/hugex.exe
declare -A BYTES
for f in f1k.bin f1g.bin small.exe hugex.exe; do
  fmt=cms
  [[ $f == *.exe ]] && fmt=pe
  sign_remote ec gh.tok --format "$fmt" "w/$f"
  if [[ $RC -eq 0 ]]; then pass "$f: signed remotely ($fmt, $(stat -c %s "w/$f") B)"; else fail "$f: signed remotely" "$(last_run)"; fi
  BYTES[$f]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("bytes_in", -1))' "$(srv_last_request)")
done
expect_run "the 1 GiB PE (with overlay) verifies with signet" 0 '^OK ' -- "$SIGNET" verify --trust "$CA" w/hugex.exe
rm -f w/f1g.bin w/hugex.exe w/.hugex* 2>/dev/null || true
check_bytes() {
  local what=$1 a=$2 b=$3
  local d=$((a > b ? a - b : b - a))
  if [[ $a -gt 0 && $b -gt 0 && $a -lt 16384 && $b -lt 16384 && $d -le 16 ]]; then
    pass "$what: bytes_in $a vs $b (differ by $d, < 16 KiB)"
  else
    fail "$what: bytes_in $a vs $b (differ by $d; want <= 16 and < 16384)"
  fi
}
check_bytes "cms 1 KiB vs 1 GiB" "${BYTES[f1k.bin]}" "${BYTES[f1g.bin]}"
check_bytes "pe small vs 1 GiB overlay" "${BYTES[small.exe]}" "${BYTES[hugex.exe]}"

# ---- batches --------------------------------------------------------------------------------
mkdir -p b
for i in $(seq 300); do printf 'file %d\n' "$i" >"b/f$i.txt"; done
before=$(srv_requests | grep -c '"/v1/sign"' || true)
SIGNET_TOKEN=$(cat gh.tok) run "$SIGNET" sign --key "signet://$HP/ec" --format cms b/f*.txt
after=$(srv_requests | grep -c '"/v1/sign"' || true)
signed=$(ls b/*.p7s 2>/dev/null | wc -l)
if [[ $RC -eq 0 && $signed -eq 300 ]]; then pass "300 files in one signet sign: 300 signatures"; else fail "300 files in one signet sign: 300 signatures ($signed)" "$(last_run)"; fi
if [[ $((after - before)) -eq 2 ]]; then
  pass "300 files: 2 sign requests (max_plans_per_request 256)"
else
  fail "300 files: $((after - before)) sign requests, want 2"
fi
peer_cms "batch: openssl cms -verify accepts file 299" ok b/f299.txt.p7s b/f299.txt "$CA"

# ---- the audit log saw it all ------------------------------------------------------------
srv_stop
if [[ $RC -eq 0 ]]; then pass "server stops on SIGTERM (exit 0)"; else fail "server stops on SIGTERM (exit $RC)" "$(tail -n 5 "$SRV_LOG")"; fi
srv_audit "$T/server.json" verify
if [[ $RC -eq 0 ]]; then pass "audit verify: the chain holds"; else fail "audit verify: the chain holds" "$(last_run)"; fi
srv_audit_jsonl "$T/server.json"
srv_audit_has "audit: 300 batch records allowed, with the identity" \
  'sum(1 for r in recs if r["decision"] == "allow" and r["artifact"].startswith("f") and r["artifact"].endswith(".txt") and r["subject"] == "repo:acme/app:ref:refs/heads/main") == 300'
srv_audit_has "audit: the 1 GiB artifact recorded with its size" \
  'any(r["artifact"] == "f1g.bin" and r["artifact_size"] == 1 << 30 and r["decision"] == "allow" for r in recs)'
srv_audit_has "audit: the API token's signing recorded (issuer signet:api-token)" \
  'any(r["issuer"] == "signet:api-token" and r["subject"] == "e2e-bot" and r["decision"] == "allow" for r in recs)'
srv_audit_has "audit: the API token's request for key rsa (out of scope) recorded as deny" \
  'any(r["subject"] == "e2e-bot" and r["key"] == "rsa" and r["decision"] == "deny" for r in recs)'

lib_finish
