#!/usr/bin/env bash
# The Jenkins shared library (plugins/jenkins): its steps signetSign and
# signetVerify run by harness.groovy in Debian's groovy (no Jenkins controller
# can run here; the harness provides sh, withCredentials, string, readFile,
# error and env) against the signet built here: file-key signing and
# verification, remote signing against a loopback `signet server` with an API
# token and a Jenkins-shaped OIDC token bound by withCredentials, install from
# a release tarball with its SHA-256, readable failures, and no token in any
# sh script text or output.
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
for t in groovy java openssl python3 curl; do
  command -v "$t" >/dev/null || skip_all "$t not found (scripts/deps.sh installs groovy)"
done
# Debian's groovy wants JAVA_HOME or /usr/lib/jvm/default-java.
if [[ ! -x ${JAVA_HOME:-/usr/lib/jvm/default-java}/bin/java ]]; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  export JAVA_HOME
fi
trap srv_cleanup EXIT
export SIGNET_HTTP_MAX_ATTEMPTS=1 SIGNET_HTTP_BACKOFF_MS=0

srv_plugin_server jk jenkins jenkins-bot
JK_URL=$ISSUER_URL

mkdir -p "$T/rel/signet-0.0.0-test/bin"
cp "$SIGNET" "$T/rel/signet-0.0.0-test/bin/signet"
TGZ=$T/rel/signet-0.0.0-test-linux-x86_64.tar.gz
tar -czf "$TGZ" -C "$T/rel" signet-0.0.0-test

W=$T/ws
mkdir -p "$W/pki"
cp "$T/pki/ec.key" "$T/pki/ec.chain.pem" "$T/pki/ca.pem" "$W/pki/"
make_file "$W/doc.bin" 5000
make_file "$W/-dash.bin" 100
make_file "$W/url.bin" 100
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
  printf '#include <stdio.h>\nint main(void) { puts("jenkins"); return 0; }\n' >"$T/app.c"
  x86_64-w64-mingw32-gcc -O2 -o "$W/app.exe" "$T/app.c"
else
  echo "# x86_64-w64-mingw32-gcc not found: no PE"
fi

rc=0
groovy -cp "$HERE/stubs" "$HERE/harness.groovy" "$PLUGIN" "$W" "$SIGNET" "$SRV_URL" \
  "$T/api.tok" "$T/id.tok" "$TGZ" "$(sha256sum "$TGZ" | cut -d' ' -f1)" || rc=$?

# The server signed for both identities (the harness checked the signatures).
if python3 - <(srv_requests "$SRV_LOG") "$JK_URL" <<'PY'; then
import json, sys
signs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
signs = [r for r in signs if r.get("path") == "/v1/sign" and r.get("status") == 200]
ok = (any(r.get("issuer") == sys.argv[2] for r in signs) and
      any(r.get("issuer") == "signet:api-token" and r.get("subject") == "jenkins-bot" for r in signs))
sys.exit(0 if ok else 1)
PY
  echo "ok   - server: signed for the Jenkins OIDC identity and for the API token jenkins-bot"
else
  echo "FAIL - server: signed for the Jenkins OIDC identity and for the API token jenkins-bot"
  rc=1
fi
exit "$rc"
