#!/usr/bin/env bash
# `signet audit list|verify|export` against real stores: a SQLite file and a
# PostgreSQL database (a throwaway cluster from tests/tools/pg_cluster.sh),
# both written through audit::Store::Append by audit_fill. Then each store is
# tampered with the database's own client (sqlite3 / psql): an edited field,
# an edited column, a deleted middle row, a deleted last row, reordered rows;
# `signet audit verify` must exit 1 and name the record. Also: list filters
# and --json, export --jsonl line counts, --config (JSON with comments,
# relative sqlite path), readers beside a writer, a password that must not
# be printed, and a stopped server (exit 3).
#
# usage: audit_cli.sh SIGNET_BINARY TOOLS_DIR AUDIT_FILL_BINARY
set -euo pipefail
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$1" "$2"
FILL=$(realpath "$3")
cd "$T"

PG_DIR=$T/pg
# Stop the cluster before lib_cleanup removes $T; keep the script's exit code.
stop_pg_and_clean_up() {
  local rc=$?
  "$TOOLS/pg_cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  (exit "$rc")
  lib_cleanup
}
trap stop_pg_and_clean_up EXIT

command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed (apt-get install sqlite3)"

# sql URL STATEMENT: runs STATEMENT with the store's own client.
sql() {
  case $1 in
    postgresql://*) psql -q -X -v ON_ERROR_STOP=1 "$1" -c "$2" >/dev/null ;;
    sqlite:*) sqlite3 "${1#sqlite:}" "$2" ;;
  esac
}

# new_store KIND NAME: prints the URL of a fresh, empty store.
new_store() {
  if [[ $1 == sqlite ]]; then
    echo "sqlite:$T/$2.db"
  else
    psql -q -X -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE $2" >/dev/null
    echo "${PG_URL%/*}/$2"
  fi
}

# count_lines FILE
count_lines() { wc -l <"$1" | tr -d ' '; }

checks_for() {
  local kind=$1 url
  url=$(new_store "$kind" main_db)

  expect_run "$kind: audit_fill writes 50 records from 4 threads" 0 -- "$FILL" "$url" 50 4
  expect_run "$kind: verify ok" 0 '^audit chain ok: 50 records, head [0-9a-f]{64}$' -- \
    "$SIGNET" audit verify --db "$url"
  local head
  head=$(grep -oE '[0-9a-f]{64}' "$T/.out" || true)
  expect_run "$kind: verify --json" 0 -- "$SIGNET" --json audit verify --db "$url"
  expect_json "$kind: verify --json reports ok, 50 records and the head" \
    "objs[0]['ok'] and objs[0]['records'] == 50 and objs[0]['head'] == '$head'"

  # list: a header line plus one line per record, oldest first.
  run "$SIGNET" audit list --db "$url"
  if [[ $RC -eq 0 && $(count_lines "$T/.out") -eq 51 ]] && head -1 "$T/.out" | grep -q '^SEQ ' &&
    sed -n 2p "$T/.out" | grep -q '^1 '; then
    pass "$kind: list prints a header and 50 rows"
  else
    fail "$kind: list prints a header and 50 rows" "$(last_run)"
  fi
  run "$SIGNET" audit list --db "$url" --limit 5
  if [[ $RC -eq 0 && $(count_lines "$T/.out") -eq 6 ]]; then
    pass "$kind: list --limit 5"
  else
    fail "$kind: list --limit 5" "$(last_run)"
  fi
  expect_run "$kind: list --json --decision deny --limit 0" 0 -- \
    "$SIGNET" --json audit list --db "$url" --decision deny --limit 0
  expect_json "$kind: the 10 denials, and only those" \
    "len(objs) == 10 and all(o['decision'] == 'deny' for o in objs)"
  expect_run "$kind: list --json --key key-1 --after 40" 0 -- \
    "$SIGNET" --json audit list --db "$url" --key key-1 --after 40
  expect_json "$kind: key-1 records after seq 40, in seq order" \
    "len(objs) >= 1 and all(o['key'] == 'key-1' and o['seq'] > 40 for o in objs) and [o['seq'] for o in objs] == sorted(o['seq'] for o in objs)"
  expect_run "$kind: list --decision maybe is refused (exit 2)" 2 'allow, deny or error' -- \
    "$SIGNET" audit list --db "$url" --decision maybe

  # export --jsonl: one record per line, to stdout and to a file.
  expect_run "$kind: export --jsonl" 0 -- "$SIGNET" audit export --db "$url" --jsonl
  expect_json "$kind: export has 50 records, seq 1..50, the last one's hash is the head" \
    "[o['seq'] for o in objs] == list(range(1, 51)) and objs[-1]['hash'] == '$head' and all(len(o) == 18 for o in objs)"
  cp "$T/.out" "$T/export.jsonl"
  # An independent verifier (Python's json + hashlib) agrees with the chain:
  # hash = sha256(prev_hash + "\n" + sorted, compact JSON without "hash").
  expect_run "$kind: python recomputes every hash of the export" 0 'chain of 50 ok' -- \
    python3 -c '
import hashlib, json, sys
prev = "0" * 64
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    h = o.pop("hash")
    assert o["prev_hash"] == prev, o["seq"]
    body = json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256((prev + "\n" + body).encode()).hexdigest() == h, o["seq"]
    prev, n = h, n + 1
print(f"chain of {n} ok")' "$T/export.jsonl"
  expect_run "$kind: export --jsonl -o FILE" 0 -- \
    "$SIGNET" audit export --db "$url" --jsonl -o "$T/$kind.jsonl"
  if [[ -f $T/$kind.jsonl && $(count_lines "$T/$kind.jsonl") -eq 50 ]]; then
    pass "$kind: the export file has 50 lines"
  else
    fail "$kind: the export file has 50 lines"
  fi
  expect_run "$kind: export without --jsonl is refused" 2 'jsonl' -- \
    "$SIGNET" audit export --db "$url"

  # A reader (verify, list) beside a writer appending from 4 threads.
  "$FILL" "$url" 2000 4 >"$T/fill.log" 2>&1 &
  local writer=$! bad=0
  for _ in 1 2 3 4 5 6; do
    run "$SIGNET" audit verify --db "$url"
    [[ $RC -eq 0 ]] || { bad=1; break; }
    run "$SIGNET" audit list --db "$url" --after 40 --limit 3
    [[ $RC -eq 0 ]] || { bad=1; break; }
  done
  local fill_rc=0
  wait "$writer" || fill_rc=$?
  if [[ $bad -eq 0 && $fill_rc -eq 0 ]]; then
    pass "$kind: verify and list succeed while audit_fill appends"
  else
    fail "$kind: verify and list succeed while audit_fill appends" "fill exit $fill_rc: $(cat "$T/fill.log")" "$(last_run)"
  fi
  expect_run "$kind: verify after the concurrent writer" 0 '^audit chain ok: 2050 records' -- \
    "$SIGNET" audit verify --db "$url"

  # Tampering: a fresh 30-record store per case.
  local n=0 case_url
  tamper_case() {  # WHAT SEQ STATEMENT...
    local what=$1 seq=$2
    shift 2
    n=$((n + 1))
    case_url=$(new_store "$kind" "tamper_$n")
    "$FILL" "$case_url" 30 >/dev/null
    local s
    for s in "$@"; do sql "$case_url" "$s"; done
    expect_error "$kind: $what: verify names record $seq" 1 \
      "^signet: error: audit chain broken at record $seq: " "$T/empty" -- \
      "$SIGNET" audit verify --db "$case_url"
  }
  mkdir -p "$T/empty"
  tamper_case "edited field" 7 \
    "UPDATE audit_records SET json = replace(json, 'policy rule 7\"', 'policy rule 8\"') WHERE seq = 7"
  tamper_case "edited decision column" 5 "UPDATE audit_records SET decision = 'deny' WHERE seq = 5"
  tamper_case "deleted middle row" 12 "DELETE FROM audit_records WHERE seq = 12"
  tamper_case "deleted last row" 30 "DELETE FROM audit_records WHERE seq = 30"
  tamper_case "reordered rows" 3 "UPDATE audit_records SET seq = -4 WHERE seq = 4" \
    "UPDATE audit_records SET seq = 4 WHERE seq = 3" "UPDATE audit_records SET seq = 3 WHERE seq = -4"
  expect_run "$kind: verify --json on a broken chain" 1 -- \
    "$SIGNET" --json audit verify --db "$case_url"
  expect_json "$kind: --json names first_bad_seq 3" \
    "objs[0]['ok'] is False and objs[0]['first_bad_seq'] == 3"
}

# ---------------------------------------------------------------------------
# SQLite

checks_for sqlite

# --config: the server's config (JSON with comments); a relative sqlite path
# is relative to the config file's directory, whatever the working directory.
mkdir -p conf other
"$FILL" "sqlite:$T/conf/audit-rel.db" 4 >/dev/null
cat >conf/signet.json <<'JSON'
{
  // the server config: only "audit" is read by `signet audit`
  "listen": "127.0.0.1:8443",
  /* relative to this file */
  "audit": {"db": "sqlite:audit-rel.db"}
}
JSON
# shellcheck disable=SC2016  # $1/$2 expand in the inner bash
expect_run "config: verify --config with a relative sqlite path" 0 '^audit chain ok: 4 records' -- \
  bash -c 'cd "$1/other" && "$2" audit verify --config ../conf/signet.json' _ "$T" "$SIGNET"
echo '{"listen": "127.0.0.1:1"}' >conf/default.json
cp conf/audit-rel.db conf/audit.db
expect_run "config: no audit.db means audit.db beside the config" 0 '^audit chain ok: 4 records' -- \
  "$SIGNET" audit verify --config conf/default.json
mkdir -p errs
expect_error "a missing sqlite database is not created" 2 'no such database' "$T/errs" -- \
  "$SIGNET" audit list --db "sqlite:$T/errs/missing.db"
expect_error "no --db and no --config" 2 '--db URL or --config' "$T/errs" -- "$SIGNET" audit verify
expect_error "--db and --config together" 2 'not both' "$T/errs" -- \
  "$SIGNET" audit verify --db x.db --config conf/signet.json
expect_error "a file that is not an audit database" 2 'not a Signet audit database' "$T/errs" -- \
  "$SIGNET" audit verify --db "$T/conf/signet.json"

# ---------------------------------------------------------------------------
# PostgreSQL

if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  skip "postgresql: not installed (apt-get install postgresql)"
  lib_finish
fi
if ! PG_URL=$("$TOOLS/pg_cluster.sh" start "$PG_DIR" 2>"$T/pg.err"); then
  fail "postgresql: pg_cluster.sh start" "$(cat "$T/pg.err")"
  lib_finish
fi
pass "postgresql: throwaway cluster at $PG_URL"

checks_for postgresql

SECRET='pg-SECRET-pa55word'
lib_secret "$SECRET"
PORT=${PG_URL##*:}
PORT=${PORT%%/*}
expect_error "postgresql: a password in the URL is not printed (no such database)" 3 \
  'postgres:\*\*\*@.*does not exist' "$T/errs" -- \
  "$SIGNET" audit list --db "postgresql://postgres:$SECRET@127.0.0.1:$PORT/no_such_db"
expect_error "postgresql: a password in the URL is not printed (server unreachable)" 3 \
  'nobody:\*\*\*@' "$T/errs" -- \
  "$SIGNET" audit list --db "postgresql://nobody:$SECRET@127.0.0.1:1/x?connect_timeout=3"
expect_error "postgresql: a password in ?password= is not printed" 3 'password=\*\*\*' "$T/errs" -- \
  "$SIGNET" audit list --db "postgresql://127.0.0.1:1/x?password=$SECRET&connect_timeout=3"
expect_error "postgresql: a database without the tables" 2 'not a Signet audit database' "$T/errs" -- \
  "$SIGNET" audit verify --db "${PG_URL%/*}/postgres"

"$TOOLS/pg_cluster.sh" stop "$PG_DIR"
expect_error "postgresql: server stopped: list fails, retryable (exit 3)" 3 'cannot connect' "$T/errs" -- \
  "$SIGNET" audit list --db "${PG_URL%/*}/main_db"
expect_run "postgresql: server stopped: appending fails (exit 3)" 3 'cannot connect' -- \
  "$FILL" "${PG_URL%/*}/main_db" 1

lib_finish
