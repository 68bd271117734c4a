# tests/interop/pe/pe_lib.sh -- helpers for the pe (Authenticode) interop
# tests, sourced after tests/tools/lib.sh and lib_init:
#
#   source "$2/lib.sh"; lib_init "$@"
#   source "$PE_DIR/pe_lib.sh"      # PE_DIR: this directory
#   pe_need_tools                   # skips the script when a peer is missing
#   build_pe_files "$T/pe"          # x64.exe x64.dll x86.exe x86.dll overlay.exe
#   start_tsa                       # TSA_URL, TSA_CA; stopped on exit
#
# Peers (see /work/shared/PEERS.md): osslsigncode verify, and the mingw-w64
# compilers that build real PE32/PE32+ files.

PE_TOOL="python3 $PE_DIR/pe_tool.py"

# pe_need_tools: skip the whole script when a peer or compiler is missing.
pe_need_tools() {
  local t
  for t in osslsigncode x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc python3 openssl; do
    command -v "$t" >/dev/null || skip_all "$t not found (see /work/shared/PEERS.md)"
  done
}

# build_pe_files DIR: real PE files, built with mingw-w64:
#   x64.exe, x64.dll (PE32+), x86.exe, x86.dll (PE32), and overlay.exe: x64.exe
#   with 12345 bytes of trailing data after the last section (a length that is
#   not a multiple of 8, so signing must pad before the certificate table).
PE_FILES=(x64.exe x64.dll x86.exe x86.dll overlay.exe)
build_pe_files() {
  local d=$1
  mkdir -p "$d"
  cat >"$d/main.c" <<'C'
#include <stdio.h>
static const char message[] = "signet test program";
int main(int argc, char** argv) {
  (void)argv;
  for (int i = 0; i < argc; ++i) puts(message);
  return 0;
}
C
  cat >"$d/lib.c" <<'C'
__declspec(dllexport) int signet_add(int a, int b) { return a + b; }
__declspec(dllexport) const char* signet_name(void) { return "signet test dll"; }
C
  x86_64-w64-mingw32-gcc -O2 -o "$d/x64.exe" "$d/main.c"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$d/x64.dll" "$d/lib.c"
  i686-w64-mingw32-gcc -O2 -o "$d/x86.exe" "$d/main.c"
  i686-w64-mingw32-gcc -O2 -shared -o "$d/x86.dll" "$d/lib.c"
  $PE_TOOL mutate "$d/x64.exe" overlay:12345 "$d/overlay.exe"
  rm -f "$d/main.c" "$d/lib.c"
}

# make_signing_pki DIR: DIR/ca.pem (EC CA), and for rsa (RSA-3072) and ec
# (P-256): DIR/KIND.key, DIR/KIND.crt (codeSigning EKU) and DIR/KIND.chain.pem
# (leaf + CA).
make_signing_pki() {
  local d=$1 kt
  make_ca "$d" "Signet PE Test CA"
  for kt in rsa ec; do
    make_key "$kt" "$d/$kt.key"
    public_key "$d/$kt.key" "$d/$kt.pub.pem"
    issue_cert "$d" "$d/$kt.pub.pem" "$d/$kt.crt" "Signet PE signer $kt"
    cat "$d/$kt.crt" "$d/ca.pem" >"$d/$kt.chain.pem"
  done
}

# start_tsa: runs tests/tools/tsa_server.py on a free loopback port; sets
# TSA_URL (base URL: append a mode such as "http500" for faults) and TSA_CA.
TSA_PID=
start_tsa() {
  local d=$T/tsa i
  mkdir -p "$d"
  python3 "$TOOLS/tsa_server.py" --dir "$d" --port-file "$d/port" >"$d/stdout" 2>"$d/stderr" &
  TSA_PID=$!
  trap 'pe_rc=$?; stop_tsa; (exit $pe_rc); lib_cleanup' EXIT
  for i in $(seq 100); do
    [[ -s $d/port ]] && break
    kill -0 "$TSA_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ ! -s $d/port ]]; then
    echo "FATAL - the test TSA did not start:" >&2
    sed 's/^/       /' "$d/stderr" >&2
    exit 1
  fi
  TSA_URL="http://127.0.0.1:$(cat "$d/port")/"
  TSA_CA=$d/tsaca.pem
}

stop_tsa() {
  if [[ -n $TSA_PID ]]; then
    kill "$TSA_PID" 2>/dev/null || true
    wait "$TSA_PID" 2>/dev/null || true
    TSA_PID=
  fi
}

# peer_ossl WHAT ok|bad FILE CA [TSACA]: osslsigncode verify's verdict. ok:
# exit 0, last line "Succeeded", and with TSACA the timestamp verified; bad:
# exit 1, last line "Failed". The full output stays in $T/.out for callers.
peer_ossl() {
  local what=$1 verdict=$2 file=$3 ca=$4 tsaca=${5:-}
  local cmd=(osslsigncode verify -in "$file" -CAfile "$ca")
  [[ -n $tsaca ]] && cmd+=(-TSA-CAfile "$tsaca")
  run "${cmd[@]}"
  local last problems=()
  last=$(grep -v '^\s*$' "$T/.out" | tail -n 1)  # the verdict is the last line of stdout
  cat "$T/.err" >>"$T/.out"
  if [[ $verdict == ok ]]; then
    [[ $RC -eq 0 ]] || problems+=("expected exit code 0, got $RC")
    [[ $last == Succeeded ]] || problems+=("last line is '$last', not 'Succeeded'")
    if [[ -n $tsaca ]] && ! grep -q 'Timestamp Server Signature verification: ok' "$T/.out"; then
      problems+=("the timestamp is not reported as verified")
    fi
    if grep -q 'invalid PE checksum' "$T/.out"; then problems+=("osslsigncode reports an invalid PE checksum"); fi
  else
    [[ $RC -eq 1 ]] || problems+=("expected exit code 1, got $RC")
    [[ $last == Failed ]] || problems+=("last line is '$last', not 'Failed'")
  fi
  if [[ ${#problems[@]} -eq 0 ]]; then pass "$what"; else fail "$what" "${problems[@]}" "$(last_run)"; fi
}

# ossl_verdict FILE CA [TSACA]: prints ok or bad (osslsigncode's verdict).
ossl_verdict() {
  local cmd=(osslsigncode verify -in "$1" -CAfile "$2")
  [[ -n ${3:-} ]] && cmd+=(-TSA-CAfile "$3")
  if ("${cmd[@]}" 2>/dev/null || true) | tail -n 1 | grep -qx Succeeded; then echo ok; else echo bad; fi
}

# signet_verdict FILE CA [TSACA]: prints ok (exit 0), bad (exit 1) or rcN.
signet_verdict() {
  local cmd=("$SIGNET" verify --trust "$2")
  [[ -n ${3:-} ]] && cmd+=(--tsa-trust "$3")
  local rc=0
  "${cmd[@]}" "$1" >/dev/null 2>&1 || rc=$?
  case $rc in 0) echo ok ;; 1) echo bad ;; *) echo "rc$rc" ;; esac
}

# expect_agreement WHAT FILE CA [TSACA]: signet verify and osslsigncode give
# the same verdict.
expect_agreement() {
  local what=$1 file=$2 ca=$3 tsaca=${4:-} o s
  o=$(ossl_verdict "$file" "$ca" "$tsaca")
  s=$(signet_verdict "$file" "$ca" "$tsaca")
  if [[ $o == "$s" ]]; then pass "$what: both say $o"; else fail "$what" "osslsigncode: $o, signet verify: $s"; fi
}

# expect_checksum WHAT FILE: the header CheckSum is the file's PE checksum.
expect_checksum() {
  expect_run "$1" 0 -- $PE_TOOL checksum "$2"
}

# expect_same_digest WHAT FILE: signet hash equals osslsigncode's calculated
# message digest (both SHA-256 Authenticode image digests).
expect_same_digest() {
  local what=$1 file=$2 s o
  s=$("$SIGNET" hash "$file" | cut -d' ' -f1)
  # (osslsigncode exits 1 here: no CA is given; only the digest matters.)
  o=$( (osslsigncode verify -in "$file" 2>&1 || true) |
    awk -F: '/Calculated message digest/ && !d {gsub(/ /, "", $2); print tolower($2); d = 1}')
  if [[ -n $s && $s == "$o" ]]; then pass "$what"; else fail "$what" "signet hash: $s" "osslsigncode: $o"; fi
}

# tamper_text SRC DST: DST = SRC with one byte of .text flipped.
tamper_text() {
  local off
  off=$($PE_TOOL text-offset "$1")
  cp "$1" "$2"
  printf "$(printf '\\x%02x' $(( ($(od -An -tu1 -j "$off" -N1 "$1") ^ 0x01) )))" |
    dd of="$2" bs=1 seek="$off" conv=notrunc status=none
}
