# shellcheck shell=bash
# tests/interop/kms/kms_lib.sh -- helpers for the AWS KMS interop tests,
# sourced after tests/tools/lib.sh and lib_init:
#
#   KMS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$2/lib.sh"; lib_init "$@"
#   source "$KMS_DIR/kms_lib.sh"
#   kms_need_tools moto               # skips unless signet has awskms: and python has moto
#   aws_test_env                      # fake static credentials, isolated HOME, no IMDS
#   start_server moto python3 "$TOOLS/moto_kms.py" ...   # port in SERVER_PORT[moto]
#   ...checks...
#   expect_no_credentials             # at the end: no secret in any output
#
# Servers started with start_server are stopped when the script exits.

# Every run's stdout and stderr also go to $T/all-output.log, which
# expect_no_credentials searches at the end.
eval "kms_run_untee_() $(declare -f run | tail -n +2)"
run() {
  kms_run_untee_ "$@"
  cat "$T/.out" "$T/.err" >>"$T/all-output.log"
}

# kms_need_tools moto|faults: skip the script unless signet has the awskms
# backend and python3 can import what the servers need.
kms_need_tools() {
  has_backend awskms || skip_all "this signet build has no awskms backend (SIGNET_WITH_CLOUD_KMS=OFF)"
  local modules=cryptography
  [[ $1 == moto ]] && modules="moto,boto3,botocore,cryptography"
  python3 -c "import $modules" 2>/dev/null ||
    skip_all "python3 cannot import $modules (moto 5.2.1 with boto3, python3-cryptography)"
  command -v curl >/dev/null || skip_all "curl not found (the fault server's control switch)"
}

# aws_test_env: a clean AWS environment: fake static credentials (registered
# as secrets), us-east-1, HOME in $T (no ~/.aws), no instance metadata, no
# endpoint or proxy settings from the caller's shell, fast HTTP retries.
aws_test_env() {
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KMS AWS_ENDPOINT_URL_STS \
    AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_CONFIG_FILE \
    AWS_SHARED_CREDENTIALS_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
    AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CA_BUNDLE \
    SIGNET_CA_BUNDLE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
  mkdir -p "$T/home"
  export HOME=$T/home
  AWS_ACCESS_KEY_ID=AKIASIGNETTEST$(openssl rand -hex 3 | tr a-f A-F)
  export AWS_ACCESS_KEY_ID
  AWS_SECRET_ACCESS_KEY=$(openssl rand -base64 30 | tr -d '\n')
  export AWS_SECRET_ACCESS_KEY
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  export SIGNET_HTTP_BACKOFF_MS=20 SIGNET_HTTP_MAX_ATTEMPTS=3
  lib_secret "$AWS_SECRET_ACCESS_KEY"
  printf '[{"access_key_id": "%s", "secret_access_key": "%s"}]\n' "$AWS_ACCESS_KEY_ID" \
    "$AWS_SECRET_ACCESS_KEY" >"$T/aws-credentials.json"
  : >"$T/all-output.log"
}

# start_server NAME CMD...: runs CMD in the background; CMD must write its
# port to $T/NAME.port (pass that path to it). Sets SERVER_PORT[NAME].
declare -A SERVER_PID=() SERVER_PORT=()
start_server() {
  local name=$1 _
  shift
  rm -f "$T/$name.port"
  "$@" >"$T/$name.stdout" 2>"$T/$name.stderr" &
  SERVER_PID[$name]=$!
  # shellcheck disable=SC2154  # kms_rc_ is assigned inside the trap
  trap 'kms_rc_=$?; stop_servers; (exit $kms_rc_); lib_cleanup' EXIT
  for _ in $(seq 300); do
    [[ -s $T/$name.port ]] && break
    kill -0 "${SERVER_PID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  if [[ ! -s $T/$name.port ]]; then
    echo "FATAL - $name did not start:" >&2
    sed 's/^/       /' "$T/$name.stderr" >&2
    exit 1
  fi
  SERVER_PORT[$name]=$(head -n 1 "$T/$name.port")
  echo "# $name listening on 127.0.0.1:${SERVER_PORT[$name]}"
}

stop_servers() {
  local name
  for name in "${!SERVER_PID[@]}"; do
    kill "${SERVER_PID[$name]}" 2>/dev/null || true
    wait "${SERVER_PID[$name]}" 2>/dev/null || true
  done
  SERVER_PID=()
}

# cert_from_csr WHAT URI DIR NAME: DIR/NAME.pub.pem (signet key public),
# DIR/NAME.csr.pem (signet key csr, checked by openssl req -verify), and
# DIR/NAME.chain.pem: a code-signing certificate that the test CA in $T/ca
# issues from the CSR (openssl x509 -req), then the CA.
cert_from_csr() {
  local what=$1 uri=$2 dir=$3 name=$4
  mkdir -p "$dir"
  expect_run "$what: signet key public" 0 'BEGIN PUBLIC KEY' -- "$SIGNET" key public "$uri"
  out >"$dir/$name.pub.pem"
  expect_run "$what: signet key csr" 0 -- "$SIGNET" key csr "$uri" \
    --subject "CN=Signet KMS $name,O=Signet tests,C=DE" --output "$dir/$name.csr.pem"
  expect_run "$what: openssl req -verify accepts the CSR" 0 'verify OK' -- \
    openssl req -verify -noout -in "$dir/$name.csr.pem"
  cat >"$dir/$name.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
  openssl x509 -req -in "$dir/$name.csr.pem" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$dir/$name.ext" \
    -out "$dir/$name.crt" 2>/dev/null
  expect_run "$what: the certificate's key is the KMS key" 0 -- \
    cmp <(openssl x509 -in "$dir/$name.crt" -noout -pubkey) "$dir/$name.pub.pem"
  cat "$dir/$name.crt" "$T/ca/ca.pem" >"$dir/$name.chain.pem"
}

# pe_available: whether this signet build signs pe files and the PE peers exist.
pe_available() {
  "$SIGNET" --json version | python3 -c '
import json, sys
sys.exit(0 if "pe" in json.load(sys.stdin)["formats"] else 1)' &&
    command -v osslsigncode >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null
}

# pe_sign_case NAME EXE -- SIGN_CMD...: signs a copy of EXE with SIGN_CMD (a
# signet sign command line without the file); osslsigncode verify -CAfile
# ends with "Succeeded"; after a flipped byte in the signed file it fails.
pe_sign_case() {
  local name=$1 exe=$2
  shift 2
  [[ $1 == -- ]] && shift
  mkdir -p "$T/pe-signed"
  local f=$T/pe-signed/${name//[^A-Za-z0-9]/_}.exe last
  cp "$exe" "$f"
  expect_run "$name: signet sign (pe)" 0 '\(pe, ' -- "$@" "$f"
  [[ $RC -eq 0 ]] || return 0
  run osslsigncode verify -in "$f" -CAfile "$T/ca/ca.pem"
  last=$(grep -v '^\s*$' "$T/.out" | tail -n 1)
  if [[ $RC -eq 0 && $last == Succeeded ]]; then
    pass "$name: osslsigncode verify: Succeeded"
  else
    fail "$name: osslsigncode verify: Succeeded" "last line: $last" "$(last_run)"
  fi
  tamper "$f" "$f.tampered.exe"
  run osslsigncode verify -in "$f.tampered.exe" -CAfile "$T/ca/ca.pem"
  if [[ $RC -ne 0 ]]; then
    pass "$name: osslsigncode verify rejects a tampered copy (rc $RC)"
  else
    fail "$name: osslsigncode verify rejects a tampered copy" "$(last_run)"
  fi
}

# expect_no_credentials [FILE...]: none of the secrets registered with
# lib_secret, nor any line of the given files (secrets that servers issued
# or accepted), appears in any output of the script's runs.
expect_no_credentials() {
  local s f found=() count=0
  local all=("${LIB_SECRETS[@]}")
  for f in "$@"; do
    [[ -f $f ]] || continue
    while IFS= read -r s; do [[ -n $s ]] && all+=("$s"); done <"$f"
  done
  for s in "${all[@]}"; do
    count=$((count + 1))
    if grep -Fq -- "$s" "$T/all-output.log"; then found+=("${s:0:4}...(${#s} chars)"); fi
  done
  if [[ $count -lt 1 || ! -s $T/all-output.log ]]; then
    fail "no credential in any output" "nothing to check: $count secrets, $(wc -c <"$T/all-output.log") bytes of output"
  elif [[ ${#found[@]} -eq 0 ]]; then
    pass "no credential in any output ($count secrets, $(wc -l <"$T/all-output.log") lines of output)"
  else
    fail "no credential in any output" "found: ${found[*]}"
  fi
}
