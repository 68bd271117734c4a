#!/usr/bin/env bash
# Key-usage policy end to end, against a real `signet server` (HTTPS,
# loopback), with GitHub- and GitLab-shaped tokens from two test issuers:
#   - one rule (repository, ref glob, environment; no issuer) allows a GitHub
#     token and a GitLab token alike (claims normalised); each differing
#     claim is denied (403);
#   - a format the rule does not list, an artifact over max_artifact_size,
#     the hourly rate limit (single requests and a batch counted as N) -> 403;
#   - a plan whose signed attributes do not commit to its declared content
#     digest (and one with a wrong to-be-signed digest) -> refused, audited;
#   - no denial names another key's rule;
#   - `signet sign` with a denied identity: exit 1, nothing written.
#
# usage: policy_e2e.sh SIGNET_BINARY TOOLS_DIR
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
srv_oidc_start gl
srv_ca_bundle
GH_URL=$(cat "$T/oidc-gh/url")
GL_URL=$(cat "$T/oidc-gl/url")

cat >"$T/server.json" <<EOF
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "issuers": [
    {"issuer": "$GH_URL", "audience": "signet", "ci": "github", "ca_bundle": "oidc-gh/ca.pem"},
    {"issuer": "$GL_URL", "audience": ["signet"], "ci": "gitlab", "ca_bundle": "oidc-gl/ca.pem"}
  ],
  "keys": {
    "release": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"},
    "nightly": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"},
    "small": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"},
    "limited": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"}
  },
  "policy": {"rules": [
    {"name": "app-releases", "keys": ["release"],
     "claims": {"repository": "acme/app", "ref": "refs/tags/v*", "environment": "production"},
     "formats": ["pe", "cms"]},
    {"name": "hidden-nightly-rule", "keys": ["nightly"], "issuer": "$GH_URL",
     "claims": {"repository": "hidden-org/hidden-repo"}},
    {"name": "small-only", "keys": ["small"], "claims": {"repository": "acme/*"},
     "max_artifact_size": 4096},
    {"name": "three-an-hour", "keys": ["limited"], "claims": {"repository": "acme/*"},
     "max_signings_per_hour": 3}
  ]},
  "audit": {"db": "sqlite:audit.db"}
}
EOF
srv_start "$T/server.json"

make_file doc.bin 3000
make_file big.bin 5000
"$MAKE_PLAN" --format cms --key release doc.bin >release-cms.json
"$MAKE_PLAN" --format raw --key release doc.bin >release-raw.json
"$MAKE_PLAN" --format cms --key small doc.bin >small-ok.json
"$MAKE_PLAN" --format cms --key small big.bin >small-big.json
"$MAKE_PLAN" --format cms --key limited doc.bin >limited-1.json
"$MAKE_PLAN" --format cms --key limited --count 4 doc.bin >limited-4.json
"$MAKE_PLAN" --format cms --key release --tamper content-digest doc.bin >release-tampered.json
"$MAKE_PLAN" --format cms --key release --tamper tbs-digest doc.bin >release-badtbs.json

gh() { srv_mint gh --shape github "$@"; }
gl() { srv_mint gl --shape gitlab "$@"; }
GH_OK=(--claim ref=refs/tags/v1.2.3 --claim environment=production)
GL_OK=(--claim ref=v1.2.3 --claim ref_type=tag --claim environment=production)

declare -A IDS
MESSAGES=$T/denials.txt
: >"$MESSAGES"
# expect_status WHAT WANT TOKEN BODY [PATTERN]: POST; checks the status (and
# that the error message matches PATTERN); keeps the request id and message.
expect_status() {
  local what=$1 want=$2 token=$3 body=$4 pattern=${5:-} got msg
  got=$(srv_post "$token" "$body")
  IDS[$what]=$(srv_reply_field 'j.get("request_id", "")')
  msg=$(srv_reply_field 'j.get("error", {}).get("message", "")')
  [[ -n $msg ]] && printf '%s\t%s\n' "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$body")" "$msg" >>"$MESSAGES"
  if [[ $got != "$want" ]]; then
    fail "$what: HTTP $got, want $want" "reply: $(head -c 400 "$T/.reply")"
  elif [[ -n $pattern ]] && ! grep -Eqi -- "$pattern" <<<"$msg"; then
    fail "$what: HTTP $got but the message does not match /$pattern/" "message: $msg"
  else
    pass "$what: HTTP $got${msg:+ ($msg)}"
  fi
}

# ---- identities per rule ------------------------------------------------------------------
expect_status "GitHub: acme/app, tag v1.2.3, production -> allowed" 200 "$(gh "${GH_OK[@]}")" release-cms.json
expect_status "GitLab: acme/app, tag v1.2.3, production -> allowed by the same rule" 200 "$(gl "${GL_OK[@]}")" release-cms.json
expect_status "GitHub: another repository -> denied" 403 \
  "$(gh "${GH_OK[@]}" --claim repository=acme/other)" release-cms.json 'repository|no rule'
expect_status "GitHub: branch refs/heads/main -> denied (ref glob)" 403 \
  "$(gh --claim ref=refs/heads/main --claim environment=production)" release-cms.json 'ref|no rule'
expect_status "GitHub: environment staging -> denied" 403 \
  "$(gh --claim ref=refs/tags/v1.2.3 --claim environment=staging)" release-cms.json 'environment|no rule'
expect_status "GitHub: no environment claim -> denied" 403 \
  "$(gh --claim ref=refs/tags/v1.2.3 --drop environment)" release-cms.json 'environment|no rule'
expect_status "GitLab: a branch pipeline -> denied" 403 \
  "$(gl --claim ref=v1.2.3 --claim ref_type=branch --claim environment=production)" release-cms.json 'ref|no rule'
expect_status "GitLab: another project -> denied" 403 \
  "$(gl "${GL_OK[@]}" --claim project_path=evil/app)" release-cms.json 'repository|no rule'
expect_status "GitHub: key nightly (rule for another repository) -> denied" 403 \
  "$(gh "${GH_OK[@]}")" "$("$MAKE_PLAN" --format cms --key nightly doc.bin >nightly.json; echo nightly.json)"

# ---- formats, sizes, rate limits -----------------------------------------------------------
expect_status "format raw (rule allows pe, cms) -> denied" 403 "$(gh "${GH_OK[@]}")" release-raw.json 'format|raw'
expect_status "small: 3000-byte artifact -> allowed" 200 "$(gh)" small-ok.json
expect_status "small: 5000-byte artifact over max_artifact_size 4096 -> denied" 403 "$(gh)" small-big.json 'size|large|4096'
RATE=(--claim ref=refs/heads/rate-$RANDOM)
for i in 1 2 3; do
  expect_status "limited: signing $i of 3 this hour -> allowed" 200 "$(gh "${RATE[@]}")" limited-1.json
done
expect_status "limited: signing 4 this hour -> denied (rate limit)" 403 "$(gh "${RATE[@]}")" limited-1.json 'rate'
expect_status "limited: another identity is counted apart -> allowed" 200 \
  "$(gh --claim ref=refs/heads/other-$RANDOM)" limited-1.json
expect_status "limited: a batch of 4 plans counts as 4 -> denied" 403 \
  "$(gh --claim ref=refs/heads/batch-$RANDOM)" limited-4.json 'rate'

# ---- plans that do not commit to their digest ------------------------------------------------
expect_status "plan whose signed attributes do not match its content digest -> 403" 403 \
  "$(gh "${GH_OK[@]}")" release-tampered.json 'digest|refused'
got=$(srv_post "$(gh "${GH_OK[@]}")" release-badtbs.json)
IDS["to-be-signed digest wrong"]=$(srv_reply_field 'j.get("request_id", "")')
if [[ $got == 400 || $got == 403 ]]; then
  pass "plan with a wrong to-be-signed digest -> refused (HTTP $got)"
else
  fail "plan with a wrong to-be-signed digest -> refused (HTTP $got)" "$(head -c 400 "$T/.reply")"
fi

# ---- denials name no other key's rule ------------------------------------------------------
if msg=$(python3 - "$MESSAGES" <<'PY'
import sys
rules = {"release": ["app-releases"], "nightly": ["hidden-nightly-rule", "hidden-org"],
         "small": ["small-only"], "limited": ["three-an-hour"]}
bad = []
for line in open(sys.argv[1]):
    key, _, msg = line.rstrip("\n").partition("\t")
    for other, names in rules.items():
        if other != key and any(n in msg for n in names):
            bad.append(f"key {key}: {msg}")
if bad:
    sys.exit("\n".join(bad))
PY
); then
  pass "no denial names another key's rule ($(wc -l <"$MESSAGES") messages)"
else
  fail "no denial names another key's rule" "$msg"
fi

# ---- signet sign with a denied identity ---------------------------------------------------------
gh --claim ref=refs/heads/main --claim environment=production >denied.tok
mkdir -p w
cp doc.bin w/app.bin
expect_error "signet sign with a denied identity: exit 1, nothing written" 1 'denied|no rule' w -- \
  "$SIGNET" sign --key "signet://127.0.0.1:$SRV_PORT/release" --token-file "$T/denied.tok" --format cms app.bin

# ---- the audit log ------------------------------------------------------------------------------
srv_audit_jsonl "$T/server.json"
srv_audit_has "audit: the tampered plan is recorded as deny, with the declared digest" \
  "any(r['request_id'] == '${IDS[plan whose signed attributes do not match its content digest -> 403]}' and r['decision'] == 'deny' and r['content_digest'].startswith('sha256:') for r in recs)"
srv_audit_has "audit: the wrong to-be-signed digest is recorded as deny" \
  "any(r['request_id'] == '${IDS[to-be-signed digest wrong]}' and r['decision'] == 'deny' for r in recs)"
srv_audit_has "audit: the GitLab signing is recorded as allow with the normalised claims" \
  "any(r['request_id'] == '${IDS[GitLab: acme/app, tag v1.2.3, production -> allowed by the same rule]}' and r['decision'] == 'allow' and r['claims'].get('repository') == 'acme/app' and r['claims'].get('ref') == 'refs/tags/v1.2.3' for r in recs)"
srv_audit_has "audit: the rate-limited batch left 4 deny records" \
  "sum(1 for r in recs if r['request_id'] == '${IDS[limited: a batch of 4 plans counts as 4 -> denied]}' and r['decision'] == 'deny') == 4"
srv_audit "$T/server.json" verify
if [[ $RC -eq 0 ]]; then pass "audit verify: ok"; else fail "audit verify: ok" "$(last_run)"; fi

lib_finish
