# shellcheck shell=bash
# tests/interop/cloud/cloud_lib.sh -- helpers for the CONTRACT tests of the
# cloud key backends (azurekv:, gcpkms:, hashivault:), sourced after
# tests/tools/lib.sh and lib_init:
#
#   CLOUD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$2/lib.sh"; lib_init "$@"
#   source "$CLOUD_DIR/cloud_lib.sh"
#   cloud_need_tools azurekv            # skips when signet or python lacks something
#   start_contract azurekv --state-dir "$T/srv" ...   # CONTRACT_URL; stopped on exit
#   set_fault sign 500; ...; expect_count sign 4
#   expect_no_credentials               # at the end: no credential in any output
#
# No emulator of these services can run here: the servers in tests/tools
# (contract_*.py) check each request against the services' documentation and
# sign with local keys, so these are CONTRACT tests, and every script says so.

# Every run's stdout and stderr also go to $T/all-output.log, which
# expect_no_credentials searches at the end.
eval "cloud_run_untee_() $(declare -f run | tail -n +2)"
run() {
  cloud_run_untee_ "$@"
  cat "$T/.out" "$T/.err" >>"$T/all-output.log"
}

# cloud_need_tools SCHEME: skip the script unless signet has the backend and
# python3 can import the 'cryptography' package the contract servers use.
cloud_need_tools() {
  has_backend "$1" || skip_all "this signet build has no $1 backend (SIGNET_WITH_CLOUD_KMS=OFF)"
  python3 -c 'import cryptography' 2>/dev/null ||
    skip_all "python3 cannot import 'cryptography' (apt-get install python3-cryptography)"
  command -v curl >/dev/null || skip_all "curl not found (the contract servers' fault switch)"
}

# start_contract NAME ARGS...: runs tests/tools/contract_NAME.py on a free
# loopback port with a secrets file ($T/contract-secrets); sets CONTRACT_URL.
CONTRACT_PID=
CONTRACT_CURL=(curl -sS --max-time 5)
CONTRACT_CURL_OPTS=()  # e.g. (--cacert CA.pem) for an https contract server
start_contract() {
  local name=$1 scheme=http
  shift
  local d=$T/contract
  mkdir -p "$d"
  : >"$T/contract-secrets"
  [[ " $* " == *" --tls-cert "* ]] && scheme=https
  python3 "$TOOLS/contract_$name.py" --port-file "$d/port" --secrets-file "$T/contract-secrets" "$@" \
    >"$d/stdout" 2>"$d/stderr" &
  CONTRACT_PID=$!
  # shellcheck disable=SC2154  # cloud_rc is assigned inside the trap
  trap 'cloud_rc=$?; stop_contract; (exit $cloud_rc); lib_cleanup' EXIT
  for _ in $(seq 200); do
    [[ -s $d/port ]] && break
    kill -0 "$CONTRACT_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [[ ! -s $d/port ]]; then
    echo "FATAL - contract_$name.py did not start:" >&2
    sed 's/^/       /' "$d/stderr" >&2
    exit 1
  fi
  CONTRACT_URL=$scheme://127.0.0.1:$(cat "$d/port")
  echo "# contract server: $(head -n 1 "$d/stdout")"
}

stop_contract() {
  if [[ -n $CONTRACT_PID ]]; then
    kill "$CONTRACT_PID" 2>/dev/null || true
    wait "$CONTRACT_PID" 2>/dev/null || true
    CONTRACT_PID=
  fi
}

# set_fault TARGET MODE: the contract server's fault switch (see contract_lib.py):
# replaces any other fault and resets the request counts.
set_fault() {
  "${CONTRACT_CURL[@]}" "${CONTRACT_CURL_OPTS[@]}" -X POST "$CONTRACT_URL/_control/fault" \
    -d "{\"target\": \"$1\", \"mode\": \"$2\"}" >/dev/null
}
clear_faults() {
  "${CONTRACT_CURL[@]}" "${CONTRACT_CURL_OPTS[@]}" -X POST "$CONTRACT_URL/_control/reset" >/dev/null
}

# expect_count WHAT TARGET N: the server received N requests for TARGET since
# the last set_fault/clear_faults.
expect_count() {
  local what=$1 target=$2 want=$3 got
  got=$("${CONTRACT_CURL[@]}" "${CONTRACT_CURL_OPTS[@]}" "$CONTRACT_URL/_control/stats" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$target")
  if [[ $got == "$want" ]]; then
    pass "$what ($got $target requests)"
  else
    fail "$what" "expected $want $target requests at the contract server, got $got"
  fi
}

# cert_for WHAT URI DIR NAME: DIR/NAME.pub.pem from `signet key public URI`
# (checked equal to the server's EXPECTED_PUB when given as $5), and
# DIR/NAME.chain.pem: a code-signing certificate for it from the CA in
# $T/ca, then the CA.
cert_for() {
  local what=$1 uri=$2 dir=$3 name=$4 expected=${5:-}
  mkdir -p "$dir"
  expect_run "$what: signet key public" 0 'BEGIN PUBLIC KEY' -- "$SIGNET" key public "$uri"
  out >"$dir/$name.pub.pem"
  if [[ -n $expected ]]; then
    expect_run "$what: the public key is the service's key" 0 -- cmp "$dir/$name.pub.pem" "$expected"
  fi
  issue_cert "$T/ca" "$dir/$name.pub.pem" "$dir/$name.crt" "Signet cloud signer $name"
  cat "$dir/$name.crt" "$T/ca/ca.pem" >"$dir/$name.chain.pem"
}

# pe_available: whether this signet build signs pe files and the PE peers exist.
pe_available() {
  "$SIGNET" --json version | python3 -c '
import json, sys
sys.exit(0 if "pe" in json.load(sys.stdin)["formats"] else 1)' &&
    command -v osslsigncode >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null
}

# build_test_exe OUT: a small PE32+ executable (mingw-w64).
build_test_exe() {
  printf '#include <stdio.h>\nint main(void) { puts("signet cloud test"); return 0; }\n' >"$1.c"
  x86_64-w64-mingw32-gcc -O2 -o "$1" "$1.c"
  rm -f "$1.c"
}

# pe_case NAME EXE CHAIN -- SIGN_CMD...: signs a copy of EXE in place with
# SIGN_CMD (a signet sign command line without the file) and --cert CHAIN;
# osslsigncode verify ends with "Succeeded" and signet verify accepts.
pe_case() {
  local name=$1 exe=$2 chain=$3
  shift 3
  [[ $1 == -- ]] && shift
  mkdir -p "$T/pe-signed"
  local f=$T/pe-signed/${name//[^A-Za-z0-9]/_}.exe
  cp "$exe" "$f"
  expect_run "$name: signet sign (pe)" 0 '\(pe, ' -- "$@" --cert "$chain" "$f"
  [[ $RC -eq 0 ]] || return 0
  run osslsigncode verify -in "$f" -CAfile "$T/ca/ca.pem"
  local last
  last=$(grep -v '^\s*$' "$T/.out" | tail -n 1)
  if [[ $RC -eq 0 && $last == Succeeded ]]; then
    pass "$name: osslsigncode verify: Succeeded"
  else
    fail "$name: osslsigncode verify: Succeeded" "last line: $last" "$(last_run)"
  fi
  expect_run "$name: signet verify accepts" 0 '^OK ' -- "$SIGNET" verify --trust "$T/ca/ca.pem" "$f"
}

# fault_case WHAT TARGET MODE RC KEYWORD -- CMD...: with the fault set, CMD
# (run in $T/work) fails with RC and a one-line error matching KEYWORD, and
# writes nothing (expect_error).
fault_case() {
  local what=$1 target=$2 mode=$3 rc=$4 keyword=$5
  shift 5
  [[ $1 == -- ]] && shift
  set_fault "$target" "$mode"
  expect_error "$what" "$rc" "$keyword" "$T/work" -- "$@"
}

# expect_no_credentials: none of the credentials the contract server issued
# or accepted (its secrets file) nor those registered with lib_secret appears
# in any output of the script's runs.
expect_no_credentials() {
  local s found=() count=0
  local all=("${LIB_SECRETS[@]}")
  while IFS= read -r s; do [[ -n $s ]] && all+=("$s"); done <"$T/contract-secrets"
  for s in "${all[@]}"; do
    count=$((count + 1))
    if grep -Fq -- "$s" "$T/all-output.log"; then found+=("${s:0:6}...(${#s} chars)"); fi
  done
  if [[ $count -lt 3 || ! -s $T/all-output.log ]]; then
    fail "no credential in any output" "nothing to check: $count credentials, $(wc -c <"$T/all-output.log") bytes of output"
  elif [[ ${#found[@]} -eq 0 ]]; then
    pass "no credential in any output ($count credentials, $(wc -l <"$T/all-output.log") lines of output)"
  else
    fail "no credential in any output" "found: ${found[*]}"
  fi
}

# csr_case WHAT URI [SIGNET OPTIONS...]: `signet key csr` writes a PKCS#10
# request signed by the key that `openssl req -verify` accepts, for the key's
# public key.
csr_case() {
  local what=$1 uri=$2
  shift 2
  local csr=$T/csr-${what//[^A-Za-z0-9]/_}.pem
  expect_run "$what: signet key csr" 0 -- "$SIGNET" key csr "$uri" --subject "CN=Signet cloud test,O=Signet tests" \
    -o "$csr" "$@"
  [[ $RC -eq 0 ]] || return 0
  expect_run "$what: openssl req -verify accepts the CSR" 0 'verify OK' -- openssl req -verify -noout -in "$csr"
}
