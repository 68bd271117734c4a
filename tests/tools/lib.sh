# tests/tools/lib.sh -- shared helpers for the interop tests (bash, sourced).
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$2/lib.sh"
#   lib_init "$@"            # SIGNET=$1 (the binary), TOOLS=$2; T = fresh temp dir
#   ...checks...
#   lib_finish               # summary; exit 1 if any check failed
#
# Every check prints exactly one line, "ok   - what" or "FAIL - what",
# followed on failure by indented details (the command, its exit code, its
# stderr and stdout). A failed check does not stop the script: all checks run
# and lib_finish exits non-zero. An unexpected error in the script itself
# (set -e) stops it with the line and command that failed.
#
# Environment: SIGNET_TEST_KEEP_TMP=1 keeps the temp dir (its path is printed);
# SIGNET_TEST_SOFTHSM_MODULE overrides /usr/lib/softhsm/libsofthsm2.so.
# lib_init unsets SIGNET_KEY_PASSPHRASE, SIGNET_PKCS11_PIN, SIGNET_KEY and
# SIGNET_PKCS11_MODULE: each case sets what it needs.

LIB_PASS=0
LIB_FAIL=0
LIB_SKIP=0
# Values that must never appear in signet's stdout or stderr (PINs,
# passphrases): add to it with lib_secret VALUE.
LIB_SECRETS=()
# Exit code that tells ctest a test was skipped (SKIP_RETURN_CODE).
readonly LIB_SKIP_RC=77

lib_init() {
  [[ $# -ge 2 ]] || { echo "usage: $0 SIGNET_BINARY TOOLS_DIR" >&2; exit 2; }
  SIGNET=$(realpath "$1")
  TOOLS=$(realpath "$2")
  [[ -x $SIGNET ]] || { echo "$0: $SIGNET is not executable" >&2; exit 2; }
  T=$(mktemp -d "${TMPDIR:-/tmp}/signet-interop.XXXXXX")
  # Traversable (not listable) by others: some checks run signet as nobody.
  chmod 711 "$T"
  trap lib_cleanup EXIT
  set -E
  trap 'echo "FATAL - ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" failed (rc $?)" >&2' ERR
  # A secret set by the caller's shell must not leak into cases that test
  # its absence; each case sets what it needs.
  unset SIGNET_KEY_PASSPHRASE SIGNET_PKCS11_PIN SIGNET_KEY SIGNET_PKCS11_MODULE
  echo "# $(basename "$0"): $("$SIGNET" version | head -1)"
}

lib_cleanup() {
  local rc=$?
  if [[ -n ${T:-} && -d $T ]]; then
    if [[ ${SIGNET_TEST_KEEP_TMP:-} == 1 ]]; then
      echo "# kept $T"
    else
      chmod -R u+rwX "$T" 2>/dev/null || true
      rm -rf "$T"
    fi
  fi
  exit "$rc"
}

lib_finish() {
  echo "# $LIB_PASS passed, $LIB_FAIL failed, $LIB_SKIP skipped"
  [[ $LIB_FAIL -eq 0 ]] || exit 1
  exit 0
}

# skip_all REASON: the whole script cannot run here (ctest shows "Skipped").
skip_all() {
  echo "# SKIP: $*"
  exit "$LIB_SKIP_RC"
}

lib_secret() { LIB_SECRETS+=("$1"); }

pass() { LIB_PASS=$((LIB_PASS + 1)); echo "ok   - $1"; }
skip() { LIB_SKIP=$((LIB_SKIP + 1)); echo "skip - $1"; }
# fail WHAT [DETAIL...]: each DETAIL is printed indented under the FAIL line.
fail() {
  LIB_FAIL=$((LIB_FAIL + 1))
  echo "FAIL - $1"
  shift
  local d
  for d in "$@"; do printf '%s\n' "$d" | sed 's/^/       /'; done
}

# ---------------------------------------------------------------------------
# Running commands

# run CMD...: runs CMD with stdout/stderr captured; never trips set -e.
# Sets RC, and the files $T/.out / $T/.err (read with `out` / `err`).
run() {
  LAST_CMD=$(printf '%q ' "$@")
  RC=0
  "$@" >"$T/.out" 2>"$T/.err" </dev/null || RC=$?
}
out() { cat "$T/.out"; }
err() { cat "$T/.err"; }

# Details of the last run, for fail().
last_run() {
  local o e
  o=$(head -c 3000 "$T/.out")
  e=$(head -c 3000 "$T/.err")
  printf 'command: %s\nexit code: %s\nstderr: %s\nstdout: %s' "$LAST_CMD" "$RC" \
    "${e:-(empty)}" "${o:-(empty)}"
}

# as_nobody CMD...: runs CMD as an unprivileged user when we are root (root
# reads and writes through any permission bits, so chmod-based checks would
# prove nothing); runs it as is otherwise.
as_nobody() {
  if [[ $EUID -eq 0 ]]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env -- "$@"
  else
    "$@"
  fi
}

# nobody_can_use PATH...: whether as_nobody can run signet and read each
# PATH (false when e.g. the build tree or $TMPDIR sits under a 0700 home).
nobody_can_use() {
  if [[ $EUID -eq 0 ]] && ! command -v setpriv >/dev/null; then return 1; fi
  as_nobody "$SIGNET" version >/dev/null 2>&1 || return 1
  local p
  for p in "$@"; do as_nobody test -r "$p" || return 1; done
}

# expect_run WHAT RC [PATTERN] -- CMD...: runs CMD; checks its exit code and,
# when PATTERN is given, that stdout+stderr match it (grep -E).
expect_run() {
  local what=$1 want=$2 pattern=
  shift 2
  if [[ $1 != -- ]]; then pattern=$1; shift; fi
  shift
  run "$@"
  local problems=()
  [[ $RC -eq $want ]] || problems+=("expected exit code $want, got $RC")
  if [[ -n $pattern ]] && ! grep -Eq -- "$pattern" "$T/.out" "$T/.err"; then
    problems+=("output does not match /$pattern/")
  fi
  if [[ ${#problems[@]} -eq 0 ]]; then pass "$what"; else fail "$what" "${problems[@]}" "$(last_run)"; fi
}

# expect_no_secret WHAT: no registered secret (lib_secret) in the last run's
# stdout or stderr.
expect_no_secret() {
  local s
  for s in "${LIB_SECRETS[@]}"; do
    if grep -Fq -- "$s" "$T/.out" "$T/.err"; then
      fail "$1" "a secret value appears in the output" "$(last_run)"
      return 0
    fi
  done
  pass "$1"
}

# ---------------------------------------------------------------------------
# Peers (see /work/shared/PEERS.md)

# peer_cms WHAT ok|bad SIG CONTENT CA [DER|PEM]
peer_cms() {
  local what=$1 verdict=$2 sig=$3 content=$4 ca=$5 inform=${6:-DER}
  local cmd=(openssl cms -verify -binary -inform "$inform" -in "$sig" -content "$content"
    -CAfile "$ca" -purpose any -out /dev/null)
  if [[ $verdict == ok ]]; then
    expect_run "$what" 0 'CMS Verification successful' -- "${cmd[@]}"
  else
    expect_run "$what" 4 'Verification failure' -- "${cmd[@]}"
  fi
}

# peer_dgst WHAT ok|bad DIGEST PUB SIG FILE [pss]
peer_dgst() {
  local what=$1 verdict=$2 digest=$3 pub=$4 sig=$5 file=$6 pss=${7:-}
  local cmd=(openssl dgst "-$digest" -verify "$pub" -signature "$sig")
  [[ $pss == pss ]] && cmd+=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
  cmd+=("$file")
  if [[ $verdict == ok ]]; then
    expect_run "$what" 0 '^Verified OK' -- "${cmd[@]}"
  else
    expect_run "$what" 1 '^Verification failure' -- "${cmd[@]}"
  fi
}

# ---------------------------------------------------------------------------
# Files

# make_file PATH SIZE: SIZE random bytes.
make_file() {
  head -c "$2" /dev/urandom >"$1"
}

# tamper SRC DST: DST = SRC with the middle byte flipped (one byte appended
# when SRC is empty).
tamper() {
  python3 - "$1" "$2" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
if data:
    data[len(data) // 2] ^= 0x01
else:
    data = bytearray(b"x")
open(sys.argv[2], "wb").write(data)
PY
}

# snapshot DIR: every entry under DIR (hidden ones too) with type, mode and
# size, and the sha256 of every regular file (readable or not).
snapshot() {
  local dir=$1
  (
    cd "$dir" || exit 1
    find . -mindepth 1 -printf '%p %y %m %s\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  )
}

# ---------------------------------------------------------------------------
# Keys and certificates (openssl)

# make_key rsa|ec|ed25519 OUT: a plain PKCS#8 PEM private key.
make_key() {
  case $1 in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" 2>/dev/null ;;
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
    *) echo "make_key: unknown key type $1" >&2; return 1 ;;
  esac
}

# encrypt_key IN OUT PASSFILE: PKCS#8 encrypted (AES-256-CBC, PBKDF2).
encrypt_key() {
  openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$1" -out "$2" -passout "file:$3"
}

# public_key KEY OUT: the SPKI PEM of a private key.
public_key() {
  openssl pkey -in "$1" -pubout -out "$2"
}

# make_ca DIR NAME: DIR/ca.key (EC P-256) and DIR/ca.pem, self-signed CA:TRUE.
make_ca() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  make_key ec "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -subj "/O=Signet tests/CN=$name" -days 30 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null
}

# issue_cert CA_DIR PUB.pem OUT.pem CN: a code-signing leaf for PUB issued
# by the CA in CA_DIR (a CA made by make_ca, or softhsm_token.sh's DIR).
issue_cert() {
  local ca=$1 pub=$2 out=$3 cn=$4
  cat >"$out.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
  openssl x509 -new -subj "/O=Signet tests/CN=$cn" -force_pubkey "$pub" -CA "$ca/ca.pem" \
    -CAkey "$ca/ca.key" -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
    -extfile "$out.ext" -out "$out" 2>/dev/null
  rm -f "$out.ext"
}

# ---------------------------------------------------------------------------
# Error cases

# expect_error WHAT RC KEYWORD DIR -- CMD...
# Runs CMD (a signet command line) in DIR and checks in one line:
#   - the exit code is RC;
#   - stderr is exactly one line, starting "signet: error: ", that matches
#     KEYWORD (grep -Ei);
#   - no registered secret (lib_secret) appears in stdout or stderr;
#   - nothing under DIR changed: no new file (FILE.p7s, FILE.sig, leftover
#     .NAME.signet-XXXXXX temp files), no file modified.
expect_error() {
  local what=$1 want=$2 keyword=$3 dir=$4
  shift 4
  [[ $1 == -- ]] && shift
  local before after
  before=$(snapshot "$dir")
  pushd "$dir" >/dev/null || return 1
  run "$@"
  popd >/dev/null || return 1
  after=$(snapshot "$dir")
  local problems=() lines first s
  [[ $RC -eq $want ]] || problems+=("expected exit code $want, got $RC")
  lines=$(wc -l <"$T/.err")
  first=$(head -n 1 "$T/.err")
  [[ $lines -eq 1 && $(tail -c 1 "$T/.err" | od -An -c | tr -d ' ') == '\n' ]] ||
    problems+=("stderr is not exactly one line ($lines newlines)")
  [[ $first == "signet: error: "* ]] || problems+=("stderr does not start with 'signet: error: '")
  grep -Eqi -- "$keyword" "$T/.err" || problems+=("stderr does not mention /$keyword/")
  for s in "${LIB_SECRETS[@]}"; do
    if grep -Fq -- "$s" "$T/.out" "$T/.err"; then problems+=("a secret value appears in the output"); fi
  done
  if [[ $before != "$after" ]]; then
    problems+=("the directory changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ';' || true)")
  fi
  if [[ ${#problems[@]} -eq 0 ]]; then
    pass "$what (exit $RC: $first)"
  else
    fail "$what" "${problems[@]}" "$(last_run)"
  fi
}

# ---------------------------------------------------------------------------
# PKCS#11 / SoftHSM2

SOFTHSM_MODULE=${SIGNET_TEST_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

# has_backend SCHEME: whether this signet build has the key backend.
has_backend() {
  "$SIGNET" --json version | python3 -c '
import json, sys
sys.exit(0 if sys.argv[1] in json.load(sys.stdin)["key_backends"] else 1)' "$1"
}

# softhsm_setup DIR LABEL PIN: makes the token with tests/tools/softhsm_token.sh
# and exports SOFTHSM2_CONF. Skips the whole script when signet was built
# without PKCS#11 or SoftHSM2 is not installed; fails when the script fails.
softhsm_setup() {
  has_backend pkcs11 || skip_all "this signet build has no pkcs11 backend (SIGNET_WITH_PKCS11=OFF)"
  [[ -r $SOFTHSM_MODULE ]] || skip_all "$SOFTHSM_MODULE not found (apt-get install softhsm2)"
  if ! "$TOOLS/softhsm_token.sh" "$1" "$2" "$3" >"$T/.softhsm.log" 2>&1; then
    echo "FATAL - softhsm_token.sh $1 $2 failed:" >&2
    sed 's/^/       /' "$T/.softhsm.log" >&2
    exit 1
  fi
  export SOFTHSM2_CONF=$1/softhsm2.conf
}

# ---------------------------------------------------------------------------
# Interop cases: sign with signet, check with the peer and signet verify,
# then check that both reject a tampered copy.

# expect_json WHAT PYEXPR: stdout of the last run is one JSON object per
# line; PYEXPR (python, over the list `objs`) must be true.
expect_json() {
  local what=$1 expr=$2 msg
  if msg=$(python3 -c '
import json, sys
objs = []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    try:
        objs.append(json.loads(line))
    except ValueError as e:
        sys.exit(f"line {n} is not a JSON object: {e}: {line!r}")
    if not isinstance(objs[-1], dict):
        sys.exit(f"line {n} is not a JSON object: {line!r}")
if not eval("(" + sys.argv[2] + "\n)"):
    sys.exit(f"condition {sys.argv[2]!r} is false for {objs!r}")
' "$T/.out" "$expr" 2>&1); then
    pass "$what"
  else
    fail "$what" "$msg" "$(last_run)"
  fi
}

# interop_case NAME VARIANT FILE PUB CA -- SIGN_CMD...
#   VARIANT   cms | cms-pem | cms-sha384 | raw | raw-pss | raw-sha384
#   FILE      the artifact; PUB the signer's public key (PEM); CA the trust anchor
#   SIGN_CMD  a signet sign command line without the format options, -o and
#             FILE (e.g. `env SIGNET_PKCS11_PIN=1234 $SIGNET sign --key URI`)
# Writes the signature to $T/sigs/ and prints five check lines: signet sign,
# peer accepts, signet verify accepts, peer rejects a tampered copy, signet
# verify rejects it (exit 1).
interop_case() {
  local name=$1 variant=$2 file=$3 pub=$4 ca=$5
  shift 5
  [[ $1 == -- ]] && shift
  local digest=sha256 kind opts=() pss='' inform=DER
  case $variant in
    cms) kind=cms ;;
    cms-pem) kind=cms; opts=(--pem); inform=PEM ;;
    cms-sha384) kind=cms; digest=sha384; opts=(--digest sha384) ;;
    raw) kind=raw ;;
    raw-pss) kind=raw; pss=pss; opts=(--rsa-pss) ;;
    raw-sha384) kind=raw; digest=sha384; opts=(--digest sha384) ;;
    *) echo "interop_case: unknown variant $variant" >&2; return 1 ;;
  esac
  mkdir -p "$T/sigs" "$T/tampered"
  local ext=sig bad
  [[ $kind == cms ]] && ext=p7s
  local sig=$T/sigs/${name//\//_}.$ext
  bad=$T/tampered/$(basename "$file")
  [[ -f $bad ]] || tamper "$file" "$bad"
  name="$name ($(stat -c %s "$file") B)"

  expect_run "$name: signet sign" 0 -- "$@" --format "$kind" "${opts[@]}" -o "$sig" "$file"
  if [[ $RC -ne 0 ]]; then
    skip "$name: peer and verify checks (no signature)"
    return 0
  fi
  local verify=("$SIGNET" verify --signature "$sig")
  if [[ $kind == cms ]]; then
    verify+=(--trust "$ca")
    if [[ $digest != sha256 ]]; then
      expect_run "$name: CMS digestAlgorithm is $digest" 0 "algorithm: $digest" -- \
        openssl cms -cmsout -print -inform DER -in "$sig"
    fi
    peer_cms "$name: openssl cms -verify accepts" ok "$sig" "$file" "$ca" "$inform"
    expect_run "$name: signet verify accepts" 0 "^OK " -- "${verify[@]}" "$file"
    peer_cms "$name: openssl cms -verify rejects tampered" bad "$sig" "$bad" "$ca" "$inform"
  else
    verify+=(--public-key "$pub" --digest "$digest")
    peer_dgst "$name: openssl dgst -verify accepts" ok "$digest" "$pub" "$sig" "$file" "$pss"
    expect_run "$name: signet verify accepts" 0 "^OK " -- "${verify[@]}" "$file"
    peer_dgst "$name: openssl dgst -verify rejects tampered" bad "$digest" "$pub" "$sig" "$bad" "$pss"
  fi
  expect_run "$name: signet verify rejects tampered (exit 1)" 1 'signet: error: .*(does not|verif)' -- \
    "${verify[@]}" "$bad"
}
