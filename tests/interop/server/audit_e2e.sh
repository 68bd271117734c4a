#!/usr/bin/env bash
# The audit log end to end, against SQLite and against PostgreSQL (a
# throwaway cluster from tests/tools/pg_cluster.sh), with one test body:
#   - 10,000 mixed requests (allowed: API token and OIDC token; denied by
#     policy; unauthenticated) from signet_server_load over keep-alive
#     connections; then `signet audit verify` passes and counts 10,000
#     records, one per request;
#   - editing one row, then deleting one row (sqlite3 / psql): verify exits 1
#     and names that record; restored, it passes again;
#   - kill -9 of the server under load: every request for which the load
#     generator received a signature has its "allow" record in the store (no
#     signature without a committed record), the chain verifies, and a
#     restarted server continues the chain.
# Backends: SIGNET_AUDIT_BACKENDS="sqlite postgresql" (default both;
# PostgreSQL is skipped with a note when it is not installed).
#
# usage: audit_e2e.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=../../tools/server_lib.sh
source "$2/server_lib.sh"
srv_init
[[ -x $SERVER_LOAD ]] || skip_all "$SERVER_LOAD not built (ninja signet_server_load)"
cd "$T"

N=${SIGNET_AUDIT_REQUESTS:-10000}
srv_pki "$T/pki"
srv_oidc_start gh
srv_ca_bundle
GH_URL=$(cat "$T/oidc-gh/url")
make_file doc.bin 2000
"$MAKE_PLAN" --format cms --key ec doc.bin >allowed.json
"$MAKE_PLAN" --format cms --key denied doc.bin >denied.json
"$MAKE_PLAN" --format cms --key ec --count 8 doc.bin >batch8.json
srv_mint gh --shape github --ttl 3600 >gh.tok

# write_config FILE DB
write_config() {
  cat >"$1" <<EOF
{
  "listen": "127.0.0.1:0",
  "tls": {"certificate": "pki/tls.pem", "key": "pki/tls.key"},
  "issuers": [{"issuer": "$GH_URL", "audience": "signet", "ci": "github",
               "ca_bundle": "oidc-gh/ca.pem"}],
  "api_tokens_file": "tokens-$(basename "$1" .json).json",
  "keys": {"ec": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"},
           "denied": {"uri": "file:pki/ec.key", "certificate": "pki/ec.chain.pem"}},
  "policy": {"rules": [
    {"name": "bot", "keys": ["ec"], "issuer": "signet:api-token", "claims": {"subject": "load-bot"}},
    {"name": "acme", "keys": ["ec"], "issuer": "$GH_URL", "claims": {"repository": "acme/app"}}
  ]},
  "audit": {"db": "$2"}
}
EOF
}

# sqlx BACKEND SQL: runs SQL on the store; prints the result rows.
sqlx() {
  if [[ $1 == sqlite ]]; then
    sqlite3 -batch "$T/audit.db" "$2"
  else
    psql -X -q -At -v ON_ERROR_STOP=1 "$PG_URL" -c "$2"
  fi
}

# verify_ok WHAT CONFIG COUNT: signet audit verify exits 0 and reports COUNT.
verify_ok() {
  srv_audit "$2" verify
  if [[ $RC -eq 0 ]] && grep -Eq "(^|[^0-9])$3([^0-9]|$)" "$T/.out" "$T/.err"; then
    pass "$1: audit verify ok, $3 records ($(head -n 1 "$T/.out"))"
  else
    fail "$1: audit verify ok, $3 records" "$(last_run)"
  fi
}

# verify_names WHAT CONFIG SEQ...: verify exits 1 and names one of SEQ.
verify_names() {
  local what=$1 config=$2
  shift 2
  srv_audit "$config" verify
  local s named=
  for s in "$@"; do
    grep -Eq "(^|[^0-9])$s([^0-9]|$)" "$T/.out" "$T/.err" && named=$s
  done
  if [[ $RC -eq 1 && -n $named ]]; then
    pass "$what: audit verify exits 1 naming record $named ($(cat "$T/.out" "$T/.err" | head -n 1))"
  else
    fail "$what: audit verify exits 1 naming record $*" "$(last_run)"
  fi
}

run_backend() {
  local b=$1 db config
  if [[ $b == sqlite ]]; then
    db=sqlite:$T/audit.db
  else
    srv_pg_start
    db=$PG_URL
  fi
  config=$T/server-$b.json
  write_config "$config" "$db"
  "$SIGNET" server token create load-bot --scope ec --config "$config" >"bot-$b.tok" 2>/dev/null
  srv_start "$config"

  # ---- 10,000 mixed requests ------------------------------------------------------------------

  run "$SERVER_LOAD" --url "$SRV_URL" --threads 8 --requests "$N" \
    --case "bot-$b.tok:allowed.json" --case "gh.tok:allowed.json" \
    --case "bot-$b.tok:denied.json" --case "-:allowed.json"
  cp "$T/.out" "load-$b.json"
  if python3 - "load-$b.json" "$N" <<'PY'; then
import json, sys
j = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
s = j["by_status"]
q = n // 4
ok = (j["transport_errors"] == 0 and j["bad_replies"] == 0 and sum(s.values()) == n and
      abs(s.get("200", 0) - 2 * q) <= 4 and abs(s.get("401", 0) - q) <= 4 and
      abs(s.get("404", 0) + s.get("403", 0) - q) <= 4)
sys.exit(0 if ok else 1)
PY
    pass "$b: $N mixed requests ($(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["by_status"], "%.0f req/s" % j["requests_per_second"])' "load-$b.json"))"
  else
    fail "$b: $N mixed requests: statuses as sent" "$(cat "load-$b.json")"
  fi
  srv_stop
  verify_ok "$b" "$config" "$N"
  srv_audit_jsonl "$config"
  srv_audit_has "$b: export: $N records, allow/deny as sent, one per request" \
    "len(recs) == $N and len(set(r['request_id'] for r in recs)) == $N and sum(r['decision'] == 'deny' for r in recs) >= $N // 2 - 4"

  # ---- edit one row, delete one row ------------------------------------------------------
  local edit del
  edit=$(sqlx "$b" "SELECT seq FROM audit_records WHERE decision = 'deny' ORDER BY seq LIMIT 1 OFFSET 1234")
  sqlx "$b" "CREATE TABLE bak AS SELECT * FROM audit_records WHERE seq = $edit"
  sqlx "$b" "UPDATE audit_records SET json = replace(json, '\"decision\":\"deny\"', '\"decision\":\"allow\"'), decision = 'allow' WHERE seq = $edit"
  verify_names "$b: record $edit edited (deny -> allow)" "$config" "$edit"
  sqlx "$b" "DELETE FROM audit_records WHERE seq = $edit; INSERT INTO audit_records SELECT * FROM bak; DROP TABLE bak"
  verify_ok "$b: edit undone" "$config" "$N"
  del=$((N / 2 + 17))
  sqlx "$b" "CREATE TABLE bak AS SELECT * FROM audit_records WHERE seq = $del"
  sqlx "$b" "DELETE FROM audit_records WHERE seq = $del"
  verify_names "$b: record $del deleted" "$config" "$del" "$((del + 1))"
  sqlx "$b" "INSERT INTO audit_records SELECT * FROM bak; DROP TABLE bak"
  verify_ok "$b: delete undone" "$config" "$N"
  local last
  last=$(sqlx "$b" "SELECT max(seq) FROM audit_records")
  sqlx "$b" "CREATE TABLE bak AS SELECT * FROM audit_records WHERE seq = $last"
  sqlx "$b" "DELETE FROM audit_records WHERE seq = $last"
  srv_audit "$config" verify
  if [[ $RC -eq 1 ]]; then
    pass "$b: the last record deleted: verify exits 1 (the head no longer matches)"
  else
    fail "$b: the last record deleted: verify exits 1 (truncation detected)" "$(last_run)"
  fi
  sqlx "$b" "INSERT INTO audit_records SELECT * FROM bak; DROP TABLE bak"

  # ---- kill -9 under load ---------------------------------------------------------------------
  srv_start "$config"
  rm -f "rec-$b.txt"
  "$SERVER_LOAD" --url "$SRV_URL" --threads 8 --seconds 30 --max-transport-errors 40 \
    --record "rec-$b.txt" --case "bot-$b.tok:batch8.json" --case "bot-$b.tok:allowed.json" \
    --case "-:allowed.json" >"kill-$b.json" 2>"kill-$b.err" &
  local load=$!
  sleep 3
  kill -9 "$SRV_PID"
  wait "$SRV_PID" 2>/dev/null || true
  wait "$load" || true
  local received
  received=$(awk '{n += $2} END {print n + 0}' "rec-$b.txt" 2>/dev/null || echo 0)
  if [[ $received -gt 0 ]]; then
    pass "$b: kill -9 under load: the load generator had received $received signatures ($(wc -l <"rec-$b.txt") replies)"
  else
    fail "$b: kill -9 under load: no signature received before the kill" "$(cat "kill-$b.json" "kill-$b.err")"
  fi
  srv_audit_jsonl "$config"
  if msg=$(python3 - "$T/audit.jsonl" "rec-$b.txt" <<'PY'
import collections, json, sys
allow = collections.Counter()
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        if r["decision"] == "allow":
            allow[r["request_id"]] += 1
missing = []
for line in open(sys.argv[2]):
    rid, n = line.split()
    if allow[rid] != int(n):
        missing.append(f"{rid}: {allow[rid]} allow records for {n} signatures")
if missing:
    sys.exit(f"{len(missing)} replies without their records: " + "; ".join(missing[:5]))
PY
  ); then
    pass "$b: kill -9: every signature received has its committed allow record"
  else
    fail "$b: kill -9: every signature received has its committed allow record" "$msg"
  fi
  srv_audit "$config" verify
  if [[ $RC -eq 0 ]]; then pass "$b: kill -9: the chain verifies ($(head -n 1 "$T/.out"))"; else fail "$b: kill -9: the chain verifies" "$(last_run)"; fi
  local before
  before=$(wc -l <"$T/audit.jsonl")
  srv_start "$config"
  run "$SERVER_LOAD" --url "$SRV_URL" --threads 2 --requests 20 --case "bot-$b.tok:allowed.json"
  srv_stop
  verify_ok "$b: restarted server continues the chain" "$config" "$((before + 20))"
}

for b in ${SIGNET_AUDIT_BACKENDS:-sqlite postgresql}; do
  if [[ $b == postgresql ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [[ -z ${SIGNET_PG_BIN:-} ]]; then
    skip "postgresql: not installed"
    continue
  fi
  run_backend "$b"
done

lib_finish
