#!/usr/bin/env bash
# The GitHub Action (plugins/github-action) run by @github/local-action
# against a real signet:
#   - file key: a PE (mingw-w64) accepted by osslsigncode and signet verify,
#     two cms artifacts (two globs) accepted by openssl cms; mode verify;
#   - remote signing against a loopback `signet server`, the token found by
#     signet through a fake ACTIONS_ID_TOKEN_REQUEST_URL (oidc_issuer.py);
#   - the outputs (signed-files, report); a wrong key and a refused token fail
#     the step with signet's one-line error as an ::error:: annotation, and
#     the request token never shows in the log;
#   - install from signet-url + signet-sha256 (a tarball served on loopback):
#     pinned hash OK, then served from the tool cache; a wrong hash fails;
#   - the shipped bundle (npm run build -> dist/index.js) with the real
#     @actions/core: GITHUB_OUTPUT written, exit code 1 on failure.
# npm ci runs in WORK_DIR (a copy of the action); it is skipped when
# node_modules already matches package-lock.json (offline-safe).
#
# usage: github_action.sh SIGNET_BINARY TOOLS_DIR ACTION_DIR WORK_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
ACTION_SRC=$(realpath "$3")
W=$4
for t in node npm python3 openssl curl; do command -v "$t" >/dev/null || skip_all "$t not found"; done
trap srv_cleanup EXIT
export SIGNET_HTTP_MAX_ATTEMPTS=1 SIGNET_HTTP_BACKOFF_MS=0 NO_COLOR=1 FORCE_COLOR=0

# ---- the action, its dependencies and its bundle ---------------------------------------
mkdir -p "$W"
rm -rf "$W/src"
cp -r "$ACTION_SRC/action.yml" "$ACTION_SRC/package.json" "$ACTION_SRC/package-lock.json" "$ACTION_SRC/src" "$W/"
if ! cmp -s "$W/package-lock.json" "$W/node_modules/.signet-lock" 2>/dev/null; then
  (cd "$W" && npm ci --prefer-offline --no-audit --no-fund >"$T/npm.log" 2>&1) ||
    { cat "$T/npm.log" >&2; echo "FATAL - npm ci failed" >&2; exit 1; }
  cp "$W/package-lock.json" "$W/node_modules/.signet-lock"
fi
(cd "$W" && npm run build >"$T/build.log" 2>&1) || { cat "$T/build.log" >&2; exit 1; }
pass "npm ci + npm run build: dist/index.js ($(stat -c %s "$W/dist/index.js") B)"

cd "$T"
srv_build_pe "$T/pe"
srv_pki "$T/pki"
CA=$T/pki/ca.pem
mkdir -p art
make_file art/a.bin 3000
make_file art/b.txt 100
export RUNNER_TEMP=$T/runner-temp RUNNER_TOOL_CACHE=$T/tool-cache
mkdir -p "$RUNNER_TEMP" "$RUNNER_TOOL_CACHE"

# la NAME KEY=VALUE...: runs the action with local-action; inputs in a dotenv
# file, outputs parsed from its ::set-output lines into $T/NAME.outputs.json.
la() {
  local name=$1
  shift
  printf '%s\n' "$@" >"$T/$name.env"
  LAST_CMD="local-action run $W src/main.js $name.env"
  RC=0
  (cd "$W" && npx --no-install local-action run "$W" src/main.js "$T/$name.env") \
    >"$T/.out" 2>"$T/.err" </dev/null || RC=$?
  cp "$T/.out" "$T/$name.log"
  python3 - "$T/.out" >"$T/$name.outputs.json" <<'PY'
import json, re, sys
outs, cur = {}, None
for line in open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines():
    m = re.match(r"::set-output name=([\w-]+)::(.*)$", line)
    if m:
        cur = m.group(1)
        outs[cur] = m.group(2)
    elif cur and line and not line.startswith(("::", "signet ", "=")) and "Action Outputs" not in line:
        outs[cur] += "\n" + line
    else:
        cur = None
print(json.dumps(outs))
PY
}
# outputs_ok WHAT PYEXPR: PYEXPR over o (outputs), report (parsed) is true.
outputs_ok() {
  if python3 -c '
import json, sys
o = json.load(open(sys.argv[1])); report = json.loads(o.get("report", "null"))
files = [f for f in o.get("signed-files", "").split("\n") if f]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/$2.outputs.json" "$3"; then
    pass "$1"
  else
    fail "$1" "outputs: $(cat "$T/$2.outputs.json")" "$(last_run)"
  fi
}
no_error() { ! grep -q '^::error' "$T/$1.log"; }

# ---- file key: PE, cms, verify -----------------------------------------------------------
cp pe/app.exe art/app.exe
la pe "INPUT_FILES=$T/art/*.exe" "INPUT_KEY=file:$T/pki/ec.key" \
  "INPUT_ARGS=--cert '$T/pki/ec.chain.pem'" "INPUT_SIGNET-PATH=$SIGNET"
if no_error pe; then pass "file key, PE: the step succeeds"; else fail "file key, PE: the step succeeds" "$(last_run)"; fi
outputs_ok "file key, PE: signed-files and report name app.exe" pe \
  'len(files) == 1 and files[0].endswith("art/app.exe") and len(report) == 1 and report[0]["ok"] and report[0]["format"] == "pe"'
expect_run "file key, PE: osslsigncode verify accepts it" 0 '^Succeeded' -- osslsigncode verify -in art/app.exe -CAfile "$CA"
expect_run "file key, PE: signet verify accepts it" 0 '^OK ' -- "$SIGNET" verify --trust "$CA" art/app.exe

la cms "INPUT_FILES=$T/art/*.bin $T/art/*.txt" "INPUT_KEY=file:$T/pki/ec.key" "INPUT_FORMAT=cms" \
  "INPUT_ARGS=--cert $T/pki/ec.chain.pem" "INPUT_SIGNET-PATH=$SIGNET"
if no_error cms; then pass "file key, cms, two globs: the step succeeds"; else fail "file key, cms, two globs: the step succeeds" "$(last_run)"; fi
outputs_ok "cms: signed-files are the two .p7s, report has two ok entries" cms \
  'sorted(f.rsplit("/",1)[-1] for f in files) == ["a.bin.p7s", "b.txt.p7s"] and len(report) == 2 and all(r["ok"] and r["format"] == "cms" for r in report)'
peer_cms "cms: openssl cms -verify accepts a.bin" ok art/a.bin.p7s art/a.bin "$CA"
peer_cms "cms: openssl cms -verify accepts b.txt" ok art/b.txt.p7s art/b.txt "$CA"

la verify "INPUT_MODE=verify" "INPUT_FILES=$T/art/a.bin" "INPUT_ARGS=--trust $CA" "INPUT_SIGNET-PATH=$SIGNET"
outputs_ok "mode verify: OK, report names the signer" verify \
  'len(report) == 1 and report[0]["ok"] and report[0]["signer"].startswith("CN=")'
tamper art/a.bin art/a-bad.bin
cp art/a.bin.p7s art/a-bad.bin.p7s
la verify-bad "INPUT_MODE=verify" "INPUT_FILES=$T/art/a-bad.bin" "INPUT_ARGS=--trust $CA" "INPUT_SIGNET-PATH=$SIGNET"
if grep -q '^::error::signet verify failed (exit 1): ' "$T/verify-bad.log"; then
  pass "mode verify: a tampered file fails the step (exit 1 annotation)"
else
  fail "mode verify: a tampered file fails the step" "$(last_run)"
fi

# ---- failures: wrong key, no files -----------------------------------------------------------
cp art/b.txt art/c.txt
la wrongkey "INPUT_FILES=$T/art/c.txt" "INPUT_KEY=file:$T/pki/missing.key" "INPUT_SIGNET-PATH=$SIGNET"
if grep -Eq '^::error::signet sign failed \(exit 2\): cannot open .*missing.key' "$T/wrongkey.log" && [[ ! -e art/c.txt.p7s ]]; then
  pass "wrong key: the step fails with signet's one-line error"
else
  fail "wrong key: the step fails with signet's one-line error" "$(last_run)"
fi
outputs_ok "wrong key: signed-files empty, report holds the error" wrongkey \
  'files == [] and report and not report[0]["ok"] and "error" in report[0]'
la nofiles "INPUT_FILES=$T/art/*.nothing" "INPUT_KEY=file:$T/pki/ec.key" "INPUT_SIGNET-PATH=$SIGNET"
if grep -q '^::error::no file matches files: ' "$T/nofiles.log"; then pass "no matching file: the step fails"; else fail "no matching file: the step fails" "$(last_run)"; fi

# ---- remote: loopback server, token via a fake ACTIONS_ID_TOKEN_REQUEST_URL ----------------
srv_oidc_start gh
srv_ca_bundle
GH_URL=$(cat "$T/oidc-gh/url")
cat >"$T/server.json" <<EOF
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "default_audience": "signet",
  "issuers": [{"issuer": "$GH_URL", "audience": "signet", "ci": "github", "ca_bundle": "oidc-gh/ca.pem"}],
  "keys": {"ec": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"}},
  "policy": {"rules": [{"name": "acme-app", "keys": ["ec"], "issuer": "$GH_URL",
                        "claims": {"repository": "acme/app", "ref": "refs/heads/main"}}]},
  "audit": {"db": "sqlite:audit.db"}
}
EOF
srv_start "$T/server.json"
REQ_TOKEN=$(cat "$T/oidc-gh/request_token")
lib_secret "$REQ_TOKEN"
# The request token goes through the environment, as on a runner.
export ACTIONS_ID_TOKEN_REQUEST_URL="$GH_URL/github/token" ACTIONS_ID_TOKEN_REQUEST_TOKEN=$REQ_TOKEN
cp art/b.txt art/remote.txt
la remote "INPUT_FILES=$T/art/remote.txt" "INPUT_KEY=signet://127.0.0.1:$SRV_PORT/ec" \
  "INPUT_AUDIENCE=signet" "INPUT_SIGNET-PATH=$SIGNET"
if no_error remote; then pass "remote: the step signs through the server"; else fail "remote: the step signs through the server" "$(last_run)"; fi
outputs_ok "remote: outputs name remote.txt.p7s" remote \
  'len(files) == 1 and files[0].endswith("remote.txt.p7s") and report[0]["ok"]'
peer_cms "remote: openssl cms -verify accepts it" ok art/remote.txt.p7s art/remote.txt "$CA"
last=$(srv_last_request)
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j.get("status")==200 and j.get("issuer")==sys.argv[2] else 1)' "$last" "$GH_URL"; then
  pass "remote: the server saw the GitHub identity"
else
  fail "remote: the server saw the GitHub identity" "$last"
fi
cp "$T/remote.log" "$T/.out"
: >"$T/.err"
expect_no_secret "remote: the request token is not in the step's log"
cp art/b.txt art/denied.txt
ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong-request-token la denied "INPUT_FILES=$T/art/denied.txt" \
  "INPUT_SERVER=https://127.0.0.1:$SRV_PORT" "INPUT_KEY=ec" "INPUT_SIGNET-PATH=$SIGNET"
if grep -Eq '^::error::signet sign failed \(exit [0-9]\): .*GitHub Actions OIDC token endpoint' "$T/denied.log"; then
  pass "remote: a refused token request fails the step, naming the token endpoint"
else
  fail "remote: a refused token request fails the step" "$(last_run)"
fi
unset ACTIONS_ID_TOKEN_REQUEST_URL ACTIONS_ID_TOKEN_REQUEST_TOKEN

# ---- install: signet-url + signet-sha256 ----------------------------------------------------
mkdir -p rel/signet-0.0.0-linux-x86_64/bin www
strip -o rel/signet-0.0.0-linux-x86_64/bin/signet "$SIGNET" 2>/dev/null || cp "$SIGNET" rel/signet-0.0.0-linux-x86_64/bin/signet
tar -C rel -czf www/signet-0.0.0-linux-x86_64.tar.gz signet-0.0.0-linux-x86_64
SHA=$(sha256sum www/signet-0.0.0-linux-x86_64.tar.gz | cut -d' ' -f1)
python3 -u -m http.server 0 --bind 127.0.0.1 --directory www >"$T/www.log" 2>&1 &
WWW_PID=$!
SRV_PIDS+=("$WWW_PID")
for _ in $(seq 100); do grep -q 'port [0-9]' "$T/www.log" && break; sleep 0.1; done
URL="http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/www.log" | head -1)/signet-0.0.0-linux-x86_64.tar.gz"
cp art/b.txt art/inst.txt
la install "INPUT_FILES=$T/art/inst.txt" "INPUT_KEY=file:$T/pki/ec.key" "INPUT_ARGS=--cert $T/pki/ec.chain.pem" \
  "INPUT_SIGNET-URL=$URL" "INPUT_SIGNET-SHA256=$SHA"
if no_error install && [[ -s art/inst.txt.p7s ]] && grep -q "^\[command\]$RUNNER_TOOL_CACHE/signet/0.0.0-sha256-${SHA:0:16}/x64/.*/bin/signet --json sign" "$T/install.log"; then
  pass "signet-url + pinned SHA-256: installed into the tool cache, signs"
else
  fail "signet-url + pinned SHA-256: installed into the tool cache, signs" "$(last_run)"
fi
peer_cms "signet-url install: openssl cms -verify accepts" ok art/inst.txt.p7s art/inst.txt "$CA"
kill "$WWW_PID"
wait "$WWW_PID" 2>/dev/null || true
rm -f art/inst.txt.p7s
la cached "INPUT_FILES=$T/art/inst.txt" "INPUT_KEY=file:$T/pki/ec.key" "INPUT_ARGS=--cert $T/pki/ec.chain.pem" \
  "INPUT_SIGNET-URL=$URL" "INPUT_SIGNET-SHA256=$SHA"
if no_error cached && [[ -s art/inst.txt.p7s ]] && grep -q "^\[command\]$RUNNER_TOOL_CACHE/signet/" "$T/cached.log"; then pass "signet-url: the second run uses the tool cache (server gone)"; else fail "signet-url: the second run uses the tool cache" "$(last_run)"; fi
BAD=$(printf '%s' "$SHA" | tr '0-9a-f' '1-9a-f0')
python3 -u -m http.server 0 --bind 127.0.0.1 --directory www >"$T/www.log" 2>&1 &
WWW_PID=$!
SRV_PIDS+=("$WWW_PID")
for _ in $(seq 100); do grep -q 'port [0-9]' "$T/www.log" && break; sleep 0.1; done
URL="http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/www.log" | head -1)/signet-0.0.0-linux-x86_64.tar.gz"
la badsha "INPUT_FILES=$T/art/inst.txt" "INPUT_KEY=file:$T/pki/ec.key" "INPUT_SIGNET-URL=$URL" "INPUT_SIGNET-SHA256=$BAD"
if grep -q "^::error::the signet-url tarball has SHA-256 $SHA, not signet-sha256 $BAD" "$T/badsha.log" &&
  [[ ! -e $RUNNER_TOOL_CACHE/signet/0.0.0-sha256-${BAD:0:16} ]]; then
  pass "signet-url with a wrong SHA-256: the step fails, nothing cached"
else
  fail "signet-url with a wrong SHA-256: the step fails, nothing cached" "$(last_run)"
fi

# ---- the shipped bundle with the real @actions/core ------------------------------------------
# bundle NAME KEY=VALUE...: node dist/index.js as a runner would start it.
bundle() {
  local name=$1
  shift
  : >"$T/$name.ghout"
  run env -i PATH="$PATH" HOME="$T" RUNNER_TEMP="$RUNNER_TEMP" RUNNER_TOOL_CACHE="$RUNNER_TOOL_CACHE" \
    GITHUB_OUTPUT="$T/$name.ghout" "$@" node "$W/dist/index.js"
}
cp art/b.txt art/bundle.txt
bundle b-ok "INPUT_FILES=$T/art/bundle.txt" "INPUT_KEY=file:$T/pki/ec.key" "INPUT_MODE=sign" \
  "INPUT_ARGS=--cert $T/pki/ec.chain.pem" "INPUT_SIGNET-PATH=$SIGNET"
if [[ $RC -eq 0 ]] && grep -q "bundle.txt.p7s" "$T/b-ok.ghout" && grep -q '"ok":true' "$T/b-ok.ghout"; then
  pass "dist/index.js: exit 0, GITHUB_OUTPUT has signed-files and report"
else
  fail "dist/index.js: exit 0, GITHUB_OUTPUT has signed-files and report" "$(last_run)" "$(cat "$T/b-ok.ghout")"
fi
peer_cms "dist/index.js: openssl cms -verify accepts" ok art/bundle.txt.p7s art/bundle.txt "$CA"
bundle b-bad "INPUT_FILES=$T/art/bundle.txt" "INPUT_KEY=file:$T/pki/missing.key" "INPUT_MODE=sign" "INPUT_SIGNET-PATH=$SIGNET"
if [[ $RC -eq 1 ]] && grep -q '^::error::signet sign failed (exit 2): cannot open' "$T/.out"; then
  pass "dist/index.js: a wrong key exits 1 with an ::error:: annotation"
else
  fail "dist/index.js: a wrong key exits 1 with an ::error:: annotation" "$(last_run)"
fi

lib_finish
