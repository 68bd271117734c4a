#!/usr/bin/env bash
# Benchmark of the Signet server (issue 4, "Benchmark"): N concurrent clients
# on loopback for BENCH_SECONDS against `signet server` with an ECDSA P-256
# file key and a durable SQLite audit log (WAL, synchronous=FULL), each
# client a thread of signet_server_load with its own keep-alive connection
# posting prepared /v1/sign bodies of B plans with an API token. Prints
# signatures/s, p50/p99 request latency and errors; then, in the same run,
# `openssl speed -seconds 5 ecdsap256` (one core) and the ratio
# signatures/s / openssl sign/s. PASS when the ratio >= 0.30 (the issue's
# target) and there were no errors, else FAIL (exit 1). Finally the audit
# record count and `signet audit verify`.
#
# Plain HTTP on loopback (TLS cost is per connection with keep-alive).
#
# Usage: tests/bench/bench_server.sh [BUILD_DIR]   (default build)
# Env: BENCH_CLIENTS (16), BENCH_SECONDS (30), BENCH_PLANS (64 plans per
#      request), BENCH_DIR (temp dir parent, default /var/tmp),
#      BENCH_LOG_LEVEL (server log level, default info), BENCH_KEEP=1 keeps
#      the temp dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
signet=$(realpath "$build/core/cli/signet")
make_plan=$(realpath "${SIGNET_MAKE_PLAN:-$build/tests/interop/server/signet_make_plan}")
server_load=$(realpath "${SIGNET_SERVER_LOAD:-$build/tests/interop/server/signet_server_load}")
for x in "$signet" "$make_plan" "$server_load"; do
  [[ -x $x ]] || { echo "bench_server: $x not built (ninja signet signet_make_plan signet_server_load)" >&2; exit 2; }
done
clients=${BENCH_CLIENTS:-16}
seconds=${BENCH_SECONDS:-30}
plans=${BENCH_PLANS:-64}

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/signet-bench-server.XXXXXX")
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [[ ${BENCH_KEEP:-} == 1 ]]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
cd "$dir"

# ---- key, certificate, config ----------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=bench CA" -days 2 -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -out ca.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl req -new -key ec.key -subj "/CN=bench signer" -out ec.csr 2>/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >ec.ext
openssl x509 -req -in ec.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 -sha256 \
  -extfile ec.ext -out ec.crt 2>/dev/null
cat ec.crt ca.pem >ec.chain.pem
cat >server.json <<'EOF'
{
  "listen": "127.0.0.1:0",
  "plain_http": true,
  "api_tokens_file": "tokens.json",
  "keys": {"bench": {"uri": "file:ec.key", "certificate": "ec.chain.pem"}},
  "policy": {"rules": [{"name": "bench", "keys": ["bench"], "issuer": "signet:api-token",
                        "claims": {"subject": "bench"}}]},
  "audit": {"db": "sqlite:audit.db"},
  "limits": {"max_plans_per_request": 256}
}
EOF
"$signet" server token create bench --scope bench --config server.json >bench.tok 2>/dev/null
head -c 4096 /dev/urandom >artifact.bin
"$make_plan" --format cms --key-type ec --key bench --count "$plans" artifact.bin >body.json

"$signet" server --config server.json --port-file port --log-level "${BENCH_LOG_LEVEL:-info}" \
  2>server.log &
server_pid=$!
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.1; done
[[ -s port ]] || { echo "bench_server: the server did not start:" >&2; cat server.log >&2; exit 2; }
url=http://127.0.0.1:$(cat port)
curl -fsS "$url/healthz" >/dev/null

echo "signet server benchmark: $clients clients, ${seconds}s, $plans plans per request," \
  "ECDSA P-256 file key, SQLite audit (WAL, synchronous=FULL), $(nproc) CPUs"
# Warm-up (connections, page cache, the signer pool).
"$server_load" --url "$url" --threads "$clients" --requests $((clients * 2)) \
  --case bench.tok:body.json >warmup.json
"$server_load" --url "$url" --threads "$clients" --seconds "$seconds" \
  --case bench.tok:body.json >load.json
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=

echo "openssl speed -seconds 5 ecdsap256 ..."
openssl speed -seconds 5 ecdsap256 >speed.txt 2>/dev/null
# "256 bits ecdsa (nistp256)   0.0000s   0.0001s  41234.5  13456.7"
ossl=$(awk '/ecdsa \(nistp256\)/ {print $(NF-1)}' speed.txt | tail -n 1)
[[ -n $ossl ]] || { echo "bench_server: cannot read openssl speed's output:" >&2; cat speed.txt >&2; exit 2; }

records=$("$signet" audit export --jsonl --config server.json | wc -l)
verify_rc=0
"$signet" audit verify --config server.json >verify.txt 2>&1 || verify_rc=$?

python3 - load.json warmup.json "$ossl" "$records" "$verify_rc" "$(head -n 1 verify.txt)" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
w = json.load(open(sys.argv[2]))
ossl = float(sys.argv[3])
records, verify_rc, verify_line = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
errors = j["transport_errors"] + j["bad_replies"] + sum(
    n for s, n in j["by_status"].items() if s != "200")
sps = j["signatures_per_second"]
ratio = sps / ossl
expected = j["signatures"] + w["signatures"]
print(f"requests:           {j['requests']} ({j['requests_per_second']:.1f}/s), statuses {j['by_status']}")
print(f"signatures:         {j['signatures']} in {j['seconds']:.1f}s = {sps:.0f} signatures/s")
print(f"latency per request: p50 {j['p50_ms']:.1f} ms, p99 {j['p99_ms']:.1f} ms")
print(f"errors:             {errors}")
print(f"openssl ecdsap256:  {ossl:.0f} sign/s (one core)")
print(f"ratio:              {ratio:.3f} (target >= 0.30)")
print(f"audit records:      {records} (signatures returned: {expected})"
      f"; verify: {'ok' if verify_rc == 0 else 'FAILED'} ({verify_line})")
ok = ratio >= 0.30 and errors == 0 and verify_rc == 0 and records >= expected
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
