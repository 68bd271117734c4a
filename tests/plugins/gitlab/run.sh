#!/usr/bin/env bash
# The GitLab CI/CD component (plugins/gitlab/templates/sign.yml) run by
# gitlab-ci-local (pinned in package.json / package-lock.json beside this
# script, installed with `npm ci` into the temp dir) with the shell executor,
# against the signet built here. A sample project includes the component
# locally (gitlab-ci-local cannot fetch `component:` includes) with inputs:
#   - a PE (mingw-w64, when installed) and a file signed as cms with a file
#     key, then verified by the job; the artifacts checked by openssl cms /
#     osslsigncode and signet verify;
#   - remote signing against a loopback `signet server` (HTTPS, test CA) with
#     an API token in SIGNET_TOKEN and with a GitLab-shaped OIDC token in
#     SIGNET_ID_TOKEN (what `id_tokens:` gives a real job; gitlab-ci-local
#     does not mint tokens, so tests/tools/oidc_issuer.py does);
#   - installing signet from a release tarball URL with its SHA-256;
#   - failures fail the pipeline (gitlab-ci-local exits non-zero) with a
#     readable message: a wrong key, a tarball whose SHA-256 does not match,
#     a format the component's spec does not allow.
# Tokens reach the jobs through a variables file, never argv; the test checks
# they appear in no job log.
#
# usage: run.sh SIGNET_BINARY TOOLS_DIR PLUGIN_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PLUGIN=$(realpath "$3")
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
for t in node npm git rsync openssl python3 curl; do
  command -v "$t" >/dev/null || skip_all "$t not found (scripts/deps.sh installs it)"
done
trap srv_cleanup EXIT
export SIGNET_HTTP_MAX_ATTEMPTS=1 SIGNET_HTTP_BACKOFF_MS=0

# ---- gitlab-ci-local, exactly as pinned ------------------------------------------------
mkdir -p "$T/npm"
cp "$HERE/package.json" "$HERE/package-lock.json" "$T/npm/"
if ! (cd "$T/npm" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
  echo "FATAL - npm ci failed:" >&2
  sed 's/^/       /' "$T/npm.log" >&2
  exit 1
fi
GCL=$T/npm/node_modules/.bin/gitlab-ci-local
echo "# gitlab-ci-local $("$GCL" --version)"

# ---- the server, its keys and tokens ------------------------------------------------
srv_plugin_server gl gitlab gl-bot
GL_URL=$ISSUER_URL
API_TOK=$(cat "$T/api.tok")
ID_TOK=$(cat "$T/id.tok")

# ---- a release tarball to install from -------------------------------------------------
mkdir -p "$T/rel/signet-0.0.0-test/bin"
cp "$SIGNET" "$T/rel/signet-0.0.0-test/bin/signet"
TGZ=$T/rel/signet-0.0.0-test-linux-x86_64.tar.gz
tar -czf "$TGZ" -C "$T/rel" signet-0.0.0-test
TGZ_SHA=$(sha256sum "$TGZ" | cut -d' ' -f1)

# ---- the sample project ----------------------------------------------------------------
P=$T/proj
mkdir -p "$P/pki" "$P/component"
cp -r "$PLUGIN/templates" "$P/component/"
cp "$T/pki/ec.key" "$T/pki/ec.chain.pem" "$T/pki/ca.pem" "$P/pki/"
make_file "$P/doc.bin" 5000
make_file "$P/api.bin" 3000
make_file "$P/oidc.bin" 2000
make_file "$P/url.bin" 1000
make_file "$P/-dash.bin" 100
HAVE_PE=0
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
  printf '#include <stdio.h>\nint main(void) { puts("gitlab"); return 0; }\n' >"$T/app.c"
  x86_64-w64-mingw32-gcc -O2 -o "$P/app.exe" "$T/app.c"
  HAVE_PE=1
fi
FILES="doc.bin -dash.bin"
[[ $HAVE_PE -eq 1 ]] && FILES="app.exe $FILES"
S="signet_path: $SIGNET"
cat >"$P/.gitlab-ci.yml" <<EOF
include:
  - local: component/templates/sign.yml
    inputs: {job_name: sign-files, files: "$FILES", key: "file:pki/ec.key",
             args: "--cert pki/ec.chain.pem", trust: pki/ca.pem, $S}
  - local: component/templates/sign.yml
    inputs: {job_name: sign-api, files: "api*.bin", key: ec, server: "$SRV_URL",
             format: cms, trust: pki/ca.pem, $S}
  - local: component/templates/sign.yml
    inputs: {job_name: sign-oidc, files: oidc.bin, key: "signet://127.0.0.1:$SRV_PORT/ec",
             format: cms, trust: pki/ca.pem, $S}
  - local: component/templates/sign.yml
    inputs: {job_name: sign-url, files: url.bin, key: "file:pki/ec.key", format: cms,
             args: "--cert pki/ec.chain.pem", signet_url: "file://$TGZ", signet_sha256: $TGZ_SHA}
  - local: component/templates/sign.yml
    inputs: {job_name: bad-key, files: doc.bin, key: "file:pki/missing.key", $S}
  - local: component/templates/sign.yml
    inputs: {job_name: bad-sha, files: url.bin, key: "file:pki/ec.key", args: "--cert pki/ec.chain.pem",
             signet_url: "file://$TGZ", signet_sha256: "$(printf '0%.0s' {1..64})"}

# The token each remote job authenticates with (id_tokens would set SIGNET_ID_TOKEN on GitLab).
sign-api:
  variables: {SIGNET_TOKEN: \$TEST_API_TOKEN}
sign-oidc:
  variables: {SIGNET_ID_TOKEN: \$TEST_ID_TOKEN}
EOF
# Secrets and the CA go through a variables file, not gitlab-ci-local's argv.
cat >"$T/vars.yml" <<EOF
TEST_API_TOKEN: "$API_TOK"
TEST_ID_TOKEN: "$ID_TOK"
SIGNET_CA_BUNDLE: "$T/pki/ca.pem"
SIGNET_HTTP_MAX_ATTEMPTS: "1"
EOF
(
  cd "$P"
  git init -q -b main
  git remote add origin https://gitlab.example.com/acme/app.git
  git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
  git add -A
  git -c user.email=ci@example.com -c user.name=ci commit -qm sample
)

# gcl NAME ARGS...: gitlab-ci-local in the project (shell executor, each job
# in its own build dir); output in $T/gcl-NAME.log, exit code in RC.
gcl() {
  local name=$1
  shift
  RC=0
  (cd "$P" && "$GCL" --shell-executor-no-image --shell-isolation --no-color \
    --variables-file ../vars.yml --home "$T/gcl-home" "$@") >"$T/gcl-$name.log" 2>&1 </dev/null || RC=$?
}
log_tail() { tail -n 25 "$T/gcl-$1.log"; }
A=$P/.gitlab-ci-local/artifacts

# ---- the passing pipeline ---------------------------------------------------------------
gcl ok sign-files sign-api sign-oidc sign-url
if [[ $RC -eq 0 ]] && grep -q 'PASS.*sign-oidc' "$T/gcl-ok.log"; then
  pass "gitlab-ci-local: the four signing jobs pass (exit 0)"
else
  fail "gitlab-ci-local: the four signing jobs pass (exit $RC)" "$(log_tail ok)"
fi

# report_ok JOB N FORMAT: the job's signet-sign.json has N ok lines of FORMAT
# and its signet-verify.json (when VERIFY) N ok lines.
report_ok() {
  local job=$1 n=$2 fmt=$3 want=${4:-verify} got v
  got=$(grep -c "\"format\":\"$fmt\".*\"ok\":true" "$A/$job/signet-sign.json" 2>/dev/null || true)
  v=$(grep -c '"ok":true' "$A/$job/signet-verify.json" 2>/dev/null || true)
  if [[ $got -ge $n && ($want != verify || $v -ge $n) ]]; then
    pass "$job: JSON report artifacts (signet-sign.json: $got $fmt ok; signet-verify.json: $v ok)"
  else
    fail "$job: JSON report artifacts ($got $fmt ok, $v verified; want $n)" \
      "$(cat "$A/$job/signet-sign.json" 2>&1 || true)" "$(log_tail ok)"
  fi
}
report_ok sign-files 2 cms
peer_cms "sign-files: openssl cms -verify accepts the artifact doc.bin.p7s" ok \
  "$A/sign-files/signet-signed/doc.bin.p7s" "$P/doc.bin" "$T/pki/ca.pem"
tamper "$P/doc.bin" "$T/doc-bad.bin"
peer_cms "sign-files: openssl cms -verify rejects it for a tampered doc.bin" bad \
  "$A/sign-files/signet-signed/doc.bin.p7s" "$T/doc-bad.bin" "$T/pki/ca.pem"
if [[ $HAVE_PE -eq 1 ]]; then
  report_ok sign-files 1 pe
  expect_run "sign-files: signet verify accepts the signed PE artifact" 0 '^OK ' -- \
    "$SIGNET" verify --trust "$T/pki/ca.pem" "$A/sign-files/signet-signed/app.exe"
  if command -v osslsigncode >/dev/null; then
    expect_run "sign-files: osslsigncode verify accepts the signed PE artifact" 0 '^Succeeded' -- \
      osslsigncode verify -in "$A/sign-files/signet-signed/app.exe" -CAfile "$T/pki/ca.pem"
  fi
else
  skip "PE: x86_64-w64-mingw32-gcc not found"
fi
for job in sign-api sign-oidc; do
  report_ok "$job" 1 cms
  f=${job#sign-}.bin
  peer_cms "$job: openssl cms -verify accepts the remotely signed $f.p7s" ok \
    "$A/$job/signet-signed/$f.p7s" "$P/$f" "$T/pki/ca.pem"
done
report_ok sign-url 1 cms noverify
if grep -q 'sign-url.*running .*/signet-0.0.0-test/bin/signet' "$T/gcl-ok.log"; then
  pass "sign-url: installed signet from the tarball and ran it"
else
  fail "sign-url: installed signet from the tarball" "$(log_tail ok)"
fi

# The server saw both identities.
srv_requests "$SRV_LOG" >"$T/requests.jsonl"
if python3 - "$T/requests.jsonl" "$GL_URL" <<'PY'; then
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
signs = [r for r in reqs if r.get("path") == "/v1/sign" and r.get("status") == 200]
gl = any(r.get("issuer") == sys.argv[2] and r.get("subject", "").startswith("project_path:acme/app")
         for r in signs)
api = any(r.get("issuer") == "signet:api-token" and r.get("subject") == "gl-bot" for r in signs)
sys.exit(0 if gl and api else 1)
PY
  pass "server: signed for the GitLab OIDC identity and for the API token gl-bot"
else
  fail "server: signed for the GitLab OIDC identity and for the API token gl-bot" "$(cat "$T/requests.jsonl")"
fi

# ---- failures fail the pipeline --------------------------------------------------------
gcl badkey bad-key
if [[ $RC -ne 0 ]] && grep -q 'signet: error: .*missing.key' "$T/gcl-badkey.log" &&
  grep -q 'signet sign failed' "$T/gcl-badkey.log"; then
  pass "bad-key: a wrong key fails the pipeline (exit $RC) with signet's error"
else
  fail "bad-key: a wrong key fails the pipeline (exit $RC)" "$(log_tail badkey)"
fi
gcl badsha bad-sha
if [[ $RC -ne 0 ]] && grep -q 'does not have SHA-256' "$T/gcl-badsha.log" &&
  ! grep -q 'bad-sha.*running' "$T/gcl-badsha.log"; then
  pass "bad-sha: a tarball with another SHA-256 is not run and fails the pipeline (exit $RC)"
else
  fail "bad-sha: a tarball with another SHA-256 is not run and fails the pipeline (exit $RC)" \
    "$(log_tail badsha)"
fi
sed -i 's/job_name: bad-key, files: doc.bin,/job_name: bad-key, files: doc.bin, format: zip,/' "$P/.gitlab-ci.yml"
(cd "$P" && git -c user.email=ci@example.com -c user.name=ci commit -qam 'bad format')
gcl badformat bad-key
if [[ $RC -ne 0 ]] && grep -q 'format.*not in the list of allowed options' "$T/gcl-badformat.log" && ! grep -q 'bad-key.*running' "$T/gcl-badformat.log"; then
  pass "bad-format: an input outside the spec's options is refused before any job runs (exit $RC)"
else
  fail "bad-format: an input outside the spec's options is refused (exit $RC)" "$(log_tail badformat)"
fi

# ---- no token in any log ----------------------------------------------------------------
leak=0
for f in "$T"/gcl-*.log "$P"/.gitlab-ci-local/output/*.log "$SRV_LOG"; do
  if grep -Fq -e "$API_TOK" -e "$ID_TOK" "$f"; then leak=1 && echo "# token in $f"; fi
done
if [[ $leak -eq 0 ]]; then pass "no token in the pipeline's or the server's logs"; else fail "a token appears in a log"; fi

lib_finish
