#!/usr/bin/env bash
# Authentication attacks against a real `signet server` (HTTPS, loopback),
# each sent with curl to POST /v1/sign with a valid body (signet_make_plan):
# no token, expired, not yet valid, wrong issuer, wrong audience, unknown kid,
# alg none, HS256 keyed with the RSA public key, alg/key-type mismatch,
# tampered payload, a garbage JWT, an unknown API token, and a replayed jti
# (issuer with "replay_protection": true). Each must answer 401 and leave an
# audit record with decision "deny" under the reply's request_id. A valid
# token is accepted (200) so that the 401s mean something; `signet sign`
# with a refused token exits 1 with one error line.
#
# usage: auth_attacks.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
srv_init
cd "$T"

srv_pki "$T/pki"
srv_oidc_start gh
srv_oidc_start rp
srv_ca_bundle
GH_URL=$(cat "$T/oidc-gh/url")
RP_URL=$(cat "$T/oidc-rp/url")

cat >"$T/server.json" <<EOF
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "issuers": [
    {"issuer": "$GH_URL", "audience": "signet", "ci": "github", "ca_bundle": "oidc-gh/ca.pem"},
    {"issuer": "$RP_URL", "audience": "signet", "ci": "github", "ca_bundle": "oidc-rp/ca.pem",
     "replay_protection": true}
  ],
  "api_tokens_file": "tokens.json",
  "keys": {"ec": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"}},
  "policy": {"rules": [{"name": "any-acme", "keys": ["ec"], "claims": {"repository": "acme/*"}}]},
  "audit": {"db": "sqlite:audit.db"}
}
EOF
srv_start "$T/server.json"

make_file doc.bin 3000
"$MAKE_PLAN" --format cms --key-type ec --key ec doc.bin >body.json

# expect_status WHAT WANT TOKEN: POSTs body.json; checks the status, records
# the reply's request_id in IDS[WHAT] and that the reply does not echo the token.
declare -A IDS
expect_status() {
  local what=$1 want=$2 token=$3 got id
  got=$(srv_post "$token" body.json)
  id=$(srv_reply_field 'j.get("request_id", "")')
  IDS[$what]=$id
  if [[ $got == "$want" ]]; then
    if [[ -n $token ]] && grep -Fq -- "$token" "$T/.reply"; then
      fail "$what: HTTP $got but the reply echoes the token"
    else
      pass "$what: HTTP $got ($(srv_reply_field 'j.get("error", {}).get("message", "signed")' | head -c 100))"
    fi
  else
    fail "$what: HTTP $got, want $want" "reply: $(head -c 400 "$T/.reply")"
  fi
}

valid=$(srv_mint gh --shape github)
expect_status "valid GitHub token (control)" 200 "$valid"

declare -a ATTACKS=(
  "no token|"
  "expired|$(srv_mint gh --shape github --attack expired)"
  "not yet valid|$(srv_mint gh --shape github --attack not-yet-valid)"
  "wrong issuer|$(srv_mint gh --shape github --attack wrong-issuer)"
  "wrong audience|$(srv_mint gh --shape github --aud somebody-else)"
  "unknown kid|$(srv_mint gh --shape github --attack unknown-kid)"
  "alg none|$(srv_mint gh --shape github --attack none)"
  "HS256 keyed with the RSA public key|$(srv_mint gh --shape github --attack hs256-with-rsa-pubkey)"
  "alg/key-type mismatch|$(srv_mint gh --shape github --alg ES256 --attack alg-mismatch)"
  "tampered payload|$(srv_mint gh --shape github --attack tamper)"
  "token of another (unconfigured) issuer's key|$(srv_mint rp --shape github --claim iss="$GH_URL")"
  "garbage JWT|not.a.jwt"
  "unknown API token|sgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)
for a in "${ATTACKS[@]}"; do
  expect_status "${a%%|*}" 401 "${a#*|}"
done

jti=replay-$RANDOM$RANDOM
replayed=$(srv_mint rp --shape github --jti "$jti")
expect_status "replay-protected issuer: first use of jti" 200 "$replayed"
expect_status "replayed jti" 401 "$replayed"

# `signet sign` with a refused token: exit 1, one error line naming the refusal.
srv_mint gh --shape github --attack expired >expired.tok
mkdir -p w
cp doc.bin w/doc2.bin
expect_error "signet sign with an expired token" 1 'token refused|401|expired' w -- \
  "$SIGNET" sign --key "signet://127.0.0.1:$SRV_PORT/ec" --token-file "$T/expired.tok" --format cms doc2.bin

# A client using a replay-protected issuer presents its one token to
# GET /v1/keys/NAME and then POST /v1/sign: both must be accepted.
srv_mint rp --shape github >rp.tok
cp doc.bin doc3.bin
run "$SIGNET" sign --key "signet://127.0.0.1:$SRV_PORT/ec" --token-file rp.tok --format cms doc3.bin
if [[ $RC -eq 0 ]]; then
  pass "signet sign with a fresh token of a replay-protected issuer"
else
  fail "signet sign with a fresh token of a replay-protected issuer (the key lookup consumes the jti?)" "$(last_run)"
fi

# ---- every refusal is audited ------------------------------------------------------------
srv_audit_jsonl "$T/server.json"
for what in "${!IDS[@]}"; do
  id=${IDS[$what]}
  want=deny
  [[ $what == "valid GitHub token (control)" || $what == "replay-protected issuer: first use of jti" ]] && want=allow
  if [[ -z $id ]]; then
    fail "audit: $what: the reply had no request_id"
    continue
  fi
  srv_audit_has "audit: $what: a '$want' record for request $id" \
    "any(r['request_id'] == '$id' and r['decision'] == '$want' for r in recs)"
done
srv_audit_has "audit: no record holds a token" \
  "not any('eyJ' in json.dumps(r) or 'sgt_' in json.dumps(r) for r in recs)"
srv_audit "$T/server.json" verify
if [[ $RC -eq 0 ]]; then pass "audit verify: ok"; else fail "audit verify: ok" "$(last_run)"; fi
n401=$(srv_requests | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l).get("status") == 401))')
if [[ $n401 -ge 15 ]]; then pass "server log: $n401 requests answered 401"; else fail "server log: $n401 requests answered 401 (want >= 15)"; fi

lib_finish
