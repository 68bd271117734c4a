#!/usr/bin/env bash
# signet policy test: decisions, reasons and exit codes for GitHub- and
# GitLab-shaped tokens minted by tests/tools/oidc_issuer.py (signed, but the
# command does not check signatures); the token from a file, stdin or
# SIGNET_TOKEN and never from argv; bad input. docs/policy.md.
#
# usage: policy_test_cmd.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
cd "$T"

python3 -c 'import cryptography' 2>/dev/null || skip_all "python3 cryptography is not installed"

GH=https://token.actions.githubusercontent.com
GL=https://gitlab.example.com

# mint SHAPE ISSUER OUT [--claim k=v ...]: a token from oidc_issuer.py. The
# issuer is what DIR/url says (no server is needed to mint).
mint() {
  local shape=$1 iss=$2 out=$3
  shift 3
  local dir="$T/issuer-${iss//[^a-z]/}"
  mkdir -p "$dir"
  printf '%s\n' "$iss" >"$dir/url"
  python3 "$TOOLS/oidc_issuer.py" mint --dir "$dir" --shape "$shape" "$@" >"$out"
  lib_secret "$(cat "$out")"
}

cat >server.json <<EOF
// A server config as docs/server.md shows it; only "issuers", "keys" and
// "policy" matter here.
{
  "issuers": [
    {"issuer": "$GH", "audience": "signet", "ci": "github"},
    {"issuer": "$GL", "audience": "signet", "ci": "gitlab"}  /* GitLab vocabulary */
  ],
  "keys": {"prod-ev": {"uri": "file:x.key"}, "multi": {"uri": "file:y.key"},
           "nightly": {"uri": "file:z.key"}},
  "policy": {"rules": [
    {"name": "app-releases", "keys": ["prod-ev"], "issuer": "$GH",
     "claims": {"repository": "acme/app", "ref": "refs/tags/v*", "environment": "production"},
     "formats": ["pe", "cms"], "max_artifact_size": 1000000},
    {"name": "any-ci-tags", "keys": ["multi"],
     "claims": {"repository": "acme/app", "ref": "refs/tags/v*"}},
    {"name": "nightly-bot", "keys": ["nightly"], "issuer": "signet:api-token",
     "claims": {"subject": "nightly-bot"}}
  ]}
}
EOF

mint github "$GH" gh-tag.jwt --claim ref=refs/tags/v1.2
mint github "$GH" gh-main.jwt --claim ref=refs/heads/main
mint gitlab "$GL" gl-tag.jwt --claim ref=v1.2 --claim ref_type=tag
mint gitlab "$GL" gl-main.jwt
mint github https://evil.example.com evil.jwt --claim ref=refs/tags/v1.2

PT=("$SIGNET" policy test --config server.json)

# ---- decisions ----------------------------------------------------------------
expect_run "github tag: allowed by app-releases" 0 '^rule: app-releases$' -- \
  "${PT[@]}" --token gh-tag.jwt --key prod-ev --format pe
expect_run "github tag: output says the signature was not checked" 0 'signature not checked' -- \
  "${PT[@]}" --token gh-tag.jwt --key prod-ev --format pe
expect_no_secret "github tag: the token is not printed"
expect_run "github main: denied (exit 1) with the rule's reason" 1 \
  '^reason: no rule for key prod-ev allows identity repo:acme/app:ref:refs/heads/main: rule app-releases: ref refs/heads/main does not match refs/tags/v\*$' -- \
  "${PT[@]}" --token gh-main.jwt --key prod-ev --format pe
expect_run "github main: explanation line per rule of the key" 1 \
  '^  rule app-releases: ref refs/heads/main does not match refs/tags/v\*$' -- \
  "${PT[@]}" --token gh-main.jwt --key prod-ev --format pe
if grep -Eq 'any-ci-tags|nightly-bot' "$T/.out" "$T/.err"; then
  fail "denial names no other key's rules" "$(last_run)"
else
  pass "denial names no other key's rules"
fi
expect_run "format outside the rule: denied, names the limit" 1 'format raw is not allowed \(formats: pe, cms\)' -- \
  "${PT[@]}" --token gh-tag.jwt --key prod-ev --format raw
expect_run "size over max_artifact_size: denied, names the limit" 1 'exceeds max_artifact_size 1000000' -- \
  "${PT[@]}" --token gh-tag.jwt --key prod-ev --format pe --size 1000001
expect_run "size at the limit: allowed" 0 '^decision: allowed$' -- \
  "${PT[@]}" --token gh-tag.jwt --key prod-ev --format pe --size 1000000
expect_run "gitlab tag normalised: allowed by the same rule as github" 0 '^rule: any-ci-tags$' -- \
  "${PT[@]}" --token gl-tag.jwt --key multi --format pe
expect_run "github tag: allowed by the same rule" 0 '^rule: any-ci-tags$' -- \
  "${PT[@]}" --token gh-tag.jwt --key multi --format cms
expect_run "gitlab branch: denied with the normalised ref" 1 'ref refs/heads/main does not match refs/tags/v\*' -- \
  "${PT[@]}" --token gl-main.jwt --key multi --format pe
expect_run "key without rules: denied" 1 '^reason: no rule allows key staging$' -- \
  "${PT[@]}" --token gh-tag.jwt --key staging --format pe
expect_run "issuer not configured: denied" 1 'not in the config.s "issuers"' -- \
  "${PT[@]}" --token evil.jwt --key multi --format pe
expect_run "api token identity by name: allowed" 0 '^rule: nightly-bot$' -- \
  "${PT[@]}" --api-token-name nightly-bot --key nightly --format raw
expect_run "other api token name: denied" 1 'subject intern does not match nightly-bot' -- \
  "${PT[@]}" --api-token-name intern --key nightly --format raw

# ---- --json -------------------------------------------------------------------
run "${PT[@]}" --token gh-main.jwt --key prod-ev --format pe --json
if [[ $RC -eq 1 ]] && python3 - "$T/.out" <<'PY'; then
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert j["allowed"] is False and j["signature_checked"] is False, j
assert j["identity"]["claims"]["repository"] == "acme/app", j
assert j["used_claims"]["ref"] == "refs/heads/main", j
assert j["explanation"] == ["rule app-releases: ref refs/heads/main does not match refs/tags/v*"], j
PY
  pass "--json: one object with decision, identity, used claims, explanation"
else
  fail "--json: one object with decision, identity, used claims, explanation" "$(last_run)"
fi

# ---- where the token comes from -----------------------------------------------
expect_run "token from stdin (--token -)" 0 '^decision: allowed$' -- \
  bash -c '"$0" policy test --config server.json --token - --key prod-ev --format pe <"$1"' \
  "$SIGNET" gh-tag.jwt
expect_run "token from SIGNET_TOKEN" 0 '^decision: allowed$' -- \
  bash -c 'SIGNET_TOKEN=$(cat "$1") exec "$0" policy test --config server.json --key prod-ev --format pe' \
  "$SIGNET" gh-tag.jwt
expect_run "token as a literal argument: refused (exit 2)" 2 'takes a FILE holding the token, or "-"' -- \
  "${PT[@]}" --token "$(cat gh-tag.jwt)" --key prod-ev --format pe
expect_no_secret "token as a literal argument: not echoed"
expect_run "no token at all: exit 2" 2 'no token' -- \
  env -u SIGNET_TOKEN "${PT[@]}" --key prod-ev --format pe
printf 'not-a-jwt\n' >garbage.txt
expect_run "a file that holds no JWT: exit 2" 2 'signet: error: token' -- \
  "${PT[@]}" --token garbage.txt --key prod-ev --format pe
expect_run "missing token file: exit 2" 2 'missing.jwt' -- \
  "${PT[@]}" --token missing.jwt --key prod-ev --format pe

# ---- bad config ---------------------------------------------------------------
printf '{"policy": {"rules": [{"name": "x", "keys": ["k"], "claims": {"ref": "refs/[a-z]*"}}]}}' >bad-glob.json
expect_run "bad glob in the config: exit 2 naming the field" 2 'policy.rules\[0\].claims.ref' -- \
  "$SIGNET" policy test --config bad-glob.json --token gh-tag.jwt --key k --format pe
printf '{"policy": {"rules": [{"name": "x", "keys": ["k"], "format": ["pe"]}]}}' >bad-field.json
expect_run "unknown rule field: exit 2 naming it" 2 'policy.rules\[0\].format: unknown field' -- \
  "$SIGNET" policy test --config bad-field.json --token gh-tag.jwt --key k --format pe
printf '{"policy": ' >truncated.json
expect_run "config that is not JSON: exit 2" 2 'truncated.json: not valid JSON' -- \
  "$SIGNET" policy test --config truncated.json --token gh-tag.jwt --key k --format pe
expect_run "no config file: exit 2" 2 'nope.json' -- \
  "$SIGNET" policy test --config nope.json --token gh-tag.jwt --key k --format pe

lib_finish
