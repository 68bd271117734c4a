#!/usr/bin/env bash
# Secrets never leak: a `signet server` (log level debug) with a SoftHSM2 key
# (PIN from pin_file) and a passphrase-protected EC file key (passphrase from
# pin_file) signs for OIDC tokens (SIGNET_TOKEN, --token-file, GitHub Actions
# discovery with its request token) and an API token, and refuses wrong,
# expired and tampered tokens, an unknown API token, and a wrong PIN at
# `signet server check`. Then the server's whole stderr and stdout, every
# client's output, /metrics and `signet audit export --jsonl` are searched
# for the PIN, the passphrase, every token used (JWTs, the API token, the
# runner's request token): none may appear. Also the API token file holds
# only a hash.
#
# usage: secrets_e2e.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
srv_init
cd "$T"

PIN='PIN-s3cr3t-4417'
PASS='passphrase-Zq81-not-for-logs'
L=signet-secrets
srv_softhsm "$T/hsm" "$L" "$PIN"
srv_pki "$T/pki"
printf '%s\n' "$PIN" >pin.txt
printf '%s\n' "$PASS" >pass.txt
printf '%s\n' "wrong-PIN-9911" >wrongpin.txt
encrypt_key pki/ec.key pki/ec-enc.key pass.txt
srv_oidc_start gh
srv_ca_bundle
GH_URL=$(cat "$T/oidc-gh/url")
SECRETS=$T/secrets.txt
printf '%s\n' "$PIN" "$PASS" "wrong-PIN-9911" "$(cat "$T/oidc-gh/request_token")" >"$SECRETS"

write_config() {  # write_config FILE PIN_FILE
  cat >"$1" <<EOF
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "issuers": [{"issuer": "$GH_URL", "audience": "signet", "ci": "github",
               "ca_bundle": "oidc-gh/ca.pem"}],
  "api_tokens_file": "tokens.json",
  "keys": {
    "hsm": {"uri": "$SRV_P11_RSA", "pin_file": "$2", "certificate": "hsm/$L/rsa.chain.pem"},
    "enc": {"uri": "file:pki/ec-enc.key", "pin_file": "pass.txt", "certificate": "pki/ec.chain.pem"}
  },
  "policy": {"rules": [
    {"name": "acme", "keys": ["hsm", "enc"], "claims": {"repository": "acme/app"}},
    {"name": "bot", "keys": ["enc"], "issuer": "signet:api-token", "claims": {"subject": "secret-bot"}}
  ]},
  "audit": {"db": "sqlite:audit.db"}
}
EOF
}
write_config server.json pin.txt
write_config wrongpin.json wrongpin.txt

CLIENT_LOG=$T/client.log
: >"$CLIENT_LOG"
keep() { cat "$T/.out" "$T/.err" >>"$CLIENT_LOG"; }
tok() { srv_mint gh --shape github "$@" | tee -a "$SECRETS"; }

run "$SIGNET" server token create secret-bot --scope enc --config server.json
keep
out | head -n 1 >api.tok
cat api.tok >>"$SECRETS"
if [[ $(cat api.tok) == sgt_* ]]; then pass "API token created"; else fail "API token created" "$(last_run)"; fi
: >"$CLIENT_LOG"  # the token is printed once, on purpose, by token create

run "$SIGNET" server check --config wrongpin.json
keep
if [[ $RC -ne 0 ]]; then pass "server check with a wrong PIN fails (exit $RC)"; else fail "server check with a wrong PIN fails" "$(last_run)"; fi

srv_start server.json --log-level debug
HP=127.0.0.1:$SRV_PORT
make_file doc.bin 4000

n=0
sign() {  # sign KEY WRAPPER...: signs a fresh copy of doc.bin with WRAPPER signet sign ...
  local key=$1
  shift
  n=$((n + 1))
  cp doc.bin "d$n.bin"
  "$@" "$SIGNET" sign --key "signet://$HP/$key" --format cms "d$n.bin"
}
check() {  # check WHAT WANT_OK
  keep
  if [[ $2 == 1 && $RC -eq 0 ]] || [[ $2 == 0 && $RC -ne 0 ]]; then
    pass "$1 (exit $RC)"
  else
    fail "$1" "$(last_run)"
  fi
}
with_env_token() { SIGNET_TOKEN=$(cat "$T/cur.tok") run "$@"; }

for key in hsm enc; do
  tok >cur.tok
  sign "$key" with_env_token
  check "$key: signed with an OIDC token in SIGNET_TOKEN" 1
  tok >cur.tok
  SIGNET_TOKEN=$(cat cur.tok) run "$SIGNET" sign --key "signet://$HP/$key" --format cms doc.bin -o "sig-$key.p7s"
  check "$key: signed again (second token)" 1
done
tok --attack expired >cur.tok
SIGNET_TOKEN=$(cat cur.tok) run "$SIGNET" sign --key "signet://$HP/enc" --format cms doc.bin -o x1.p7s
check "expired token refused" 0
tok --attack tamper >cur.tok
SIGNET_TOKEN=$(cat cur.tok) run "$SIGNET" sign --key "signet://$HP/hsm" --format cms doc.bin -o x2.p7s
check "tampered token refused" 0
tok --claim repository=evil/app >cur.tok
SIGNET_TOKEN=$(cat cur.tok) run "$SIGNET" sign --key "signet://$HP/hsm" --format cms doc.bin -o x3.p7s
check "denied identity refused" 0
run "$SIGNET" sign --key "signet://$HP/enc" --token-file api.tok --format cms doc.bin -o api.p7s
check "API token (--token-file) signs with enc" 1
printf 'sgt_%s\n' "$(openssl rand -hex 21 | head -c 43)" | tee -a "$SECRETS" >bad-api.tok
run "$SIGNET" sign --key "signet://$HP/enc" --token-file bad-api.tok --format cms doc.bin -o x4.p7s
check "unknown API token refused" 0
ACTIONS_ID_TOKEN_REQUEST_URL="$GH_URL/github/token" \
  ACTIONS_ID_TOKEN_REQUEST_TOKEN=$(cat "$T/oidc-gh/request_token") \
  run "$SIGNET" sign --key "signet://$HP/hsm" --format cms doc.bin -o gha.p7s
check "GitHub Actions discovery signs with hsm" 1
ACTIONS_ID_TOKEN_REQUEST_URL="$GH_URL/github/token" ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong-request-token-5521 \
  run "$SIGNET" sign --key "signet://$HP/hsm" --format cms doc.bin -o x5.p7s
echo wrong-request-token-5521 >>"$SECRETS"
check "GitHub Actions discovery with a wrong request token fails" 0
# The same refusals straight over HTTP, with the reply kept.
"$MAKE_PLAN" --format cms --key hsm --key-type rsa doc.bin >body.json
for t in "$(tok --attack none)" "$(tok --attack hs256-with-rsa-pubkey)" "$(tok --aud nope)" "$(cat bad-api.tok)" "$(tok)"; do
  srv_post "$t" body.json >/dev/null
  cat "$T/.reply" >>"$CLIENT_LOG"
  echo >>"$CLIENT_LOG"
done
curl -sS --cacert pki/ca.pem "$SRV_URL/metrics" >metrics.txt
srv_stop
keep

# ---- search everything for every secret ------------------------------------------------------
srv_audit_jsonl server.json
n_audit=$(wc -l <"$T/audit.jsonl")
if [[ $n_audit -ge 12 ]]; then pass "audit export: $n_audit records"; else fail "audit export: $n_audit records (want >= 12)" "$(cat "$T/audit.err")"; fi
n_secrets=$(grep -c . "$SECRETS")
for f in "$SRV_LOG" "$SRV_LOG.out" "$CLIENT_LOG" "$T/audit.jsonl" metrics.txt tokens.json; do
  [[ -e $f ]] || continue
  leaked=$(grep -F -f "$SECRETS" -o "$f" | sort -u | head -c 60 || true)
  if [[ -z $leaked ]]; then
    pass "$(basename "$f") ($(wc -c <"$f") B) holds none of the $n_secrets secrets"
  else
    fail "$(basename "$f") holds a secret" "first match (truncated): ${leaked:0:12}..."
  fi
done
# JWT-looking strings anywhere (a token we did not list).
if grep -Eq 'eyJ[A-Za-z0-9_-]{10,}\.eyJ' "$SRV_LOG" "$CLIENT_LOG" "$T/audit.jsonl"; then
  fail "no JWT-looking string in the logs or the audit records"
else
  pass "no JWT-looking string in the logs or the audit records"
fi
lines=$(srv_requests | wc -l)
if [[ $lines -ge 10 ]]; then pass "the server logged $lines request lines (the search had something to search)"; else fail "only $lines request lines in the server log"; fi

lib_finish
