#!/bin/sh
# softhsm_token.sh DIR LABEL PIN
#
# Creates a SoftHSM2 token for tests, with the keys and certificate that the
# PKCS#11 unit tests and the interop tests expect. Prints nothing unless
# something fails (then a one-line reason per failure on stderr, exit 1).
#
# After a successful run, DIR holds:
#   DIR/softhsm2.conf       SoftHSM2 configuration; callers must
#                           `export SOFTHSM2_CONF=DIR/softhsm2.conf` before
#                           loading the module (SoftHSM2 reads it once, at
#                           C_Initialize, so set it before the first use in a
#                           process)
#   DIR/tokens/             the token store (one subdirectory per token)
#   DIR/ca.pem, DIR/ca.key  a self-signed test CA (RSA-3072, CA:TRUE), shared
#                           by every token made in DIR
#   DIR/LABEL/rsa.pub.pem   public key of the "rsa" key (SPKI PEM)
#   DIR/LABEL/ec.pub.pem    public key of the "ec" key
#   DIR/LABEL/ed.pub.pem    public key of the "ed" key (only when generated)
#   DIR/LABEL/rsa.cert.pem  leaf certificate of the "rsa" key, issued by ca.pem
#                           (digitalSignature, EKU codeSigning)
#   DIR/LABEL/rsa.chain.pem leaf followed by the CA certificate
#
# and the token LABEL, user PIN PIN, SO PIN $SIGNET_SOFTHSM_SO_PIN (default
# "so-PIN"), contains:
#   label "rsa" id 01  RSA-3072 key pair + X.509 certificate (CKA_ID 01)
#   label "ec"  id 02  EC P-256 (prime256v1) key pair
#   label "ed"  id 03  Ed25519 key pair, only when the module offers
#                      CKM_EC_EDWARDS_KEY_PAIR_GEN (SoftHSM2 >= 2.6 does);
#                      DIR/LABEL/ed.pub.pem tells whether it was made.
#
# Idempotent: a second run with the same DIR and LABEL leaves the token as it
# is (a half-made token from an interrupted run is deleted and made again).
# Several labels may share one DIR. Concurrent runs on one DIR are serialised
# with flock(1) on DIR/.lock.
#
# Environment: SIGNET_PKCS11_MODULE overrides the module
# (default /usr/lib/softhsm/libsofthsm2.so).
#
# Needs: softhsm2-util (softhsm2), pkcs11-tool (opensc), openssl, flock.
# The PIN is passed to softhsm2-util/pkcs11-tool on their command lines: this
# script is for throwaway test tokens only.
set -eu

prog=softhsm_token.sh
die() {
  echo "$prog: $*" >&2
  exit 1
}

[ $# -eq 3 ] || die "usage: $prog DIR LABEL PIN"
dir=$1
label=$2
pin=$3
[ -n "$label" ] || die "LABEL must not be empty"
[ ${#label} -le 32 ] || die "LABEL must be at most 32 bytes (PKCS#11 token label)"
[ ${#pin} -ge 4 ] || die "PIN must be at least 4 characters (SoftHSM2 minimum)"
case $label in
  */* | .*) die "LABEL must not contain '/' or start with '.'" ;;
esac

module=${SIGNET_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
so_pin=${SIGNET_SOFTHSM_SO_PIN:-so-$pin}
[ -r "$module" ] || die "PKCS#11 module $module not found (install softhsm2)"
for tool in softhsm2-util pkcs11-tool openssl flock; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH"
done

mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd -P) || die "cannot enter $dir"
mkdir -p "$dir/tokens" "$dir/$label" || die "cannot create directories in $dir"

# Serialise runs on the same DIR (fd 9 stays open until the script exits).
exec 9>"$dir/.lock" || die "cannot open $dir/.lock"
flock 9 || die "cannot lock $dir/.lock"

conf=$dir/softhsm2.conf
conf_text="# written by $prog
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false"
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$conf_text" ]; then
  { printf '%s\n' "$conf_text" >"$conf.tmp" && mv "$conf.tmp" "$conf"; } || die "cannot write $conf"
fi
export SOFTHSM2_CONF="$conf"

log=$(mktemp "$dir/.log.XXXXXX") || die "cannot create a temp file in $dir"
trap 'rm -f "$log"' EXIT

# run STEP CMD...: runs CMD quietly; on failure prints STEP and CMD's output
# (which never echoes the PIN: neither tool prints its arguments).
run() {
  step=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "$prog: $step failed:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
}

p11() {
  pkcs11-tool --module "$module" --token-label "$label" "$@"
}

# True when an initialised token has exactly the label LABEL.
token_exists() {
  softhsm2-util --show-slots 2>/dev/null | sed -n 's/^ *Label: *//p' | sed 's/ *$//' |
    grep -qxF -- "$label"
}

ready=$dir/$label/.ready
if [ -f "$ready" ] && token_exists; then
  exit 0
fi
rm -f "$ready"

# A token of that label from an interrupted run: start again.
if token_exists; then
  run "deleting the incomplete token '$label'" softhsm2-util --delete-token --token "$label"
fi

run "initialising token '$label'" \
  softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin"

run "generating the rsa key" \
  p11 --login --pin "$pin" --keypairgen --key-type rsa:3072 --id 01 --label rsa
run "generating the ec key" \
  p11 --login --pin "$pin" --keypairgen --key-type EC:prime256v1 --id 02 --label ec

rm -f "$dir/$label/ed.pub.pem"
have_ed=no
run "listing mechanisms" p11 --list-mechanisms
if grep -q "EC-EDWARDS-KEY-PAIR-GEN" "$log"; then
  have_ed=yes
  run "generating the ed key" \
    p11 --login --pin "$pin" --keypairgen --key-type EC:edwards25519 --id 03 --label ed
fi

# export_pub ID NAME: writes DIR/LABEL/NAME.pub.pem from the token's public
# key object (pkcs11-tool writes DER for RSA/EC and PEM for EdDSA).
export_pub() {
  raw=$dir/$label/$2.pub.raw
  run "reading the $2 public key" p11 --read-object --type pubkey --id "$1" -o "$raw"
  if ! openssl pkey -pubin -inform DER -in "$raw" -out "$dir/$label/$2.pub.pem" >/dev/null 2>&1 &&
    ! openssl pkey -pubin -inform PEM -in "$raw" -out "$dir/$label/$2.pub.pem" >"$log" 2>&1; then
    rm -f "$raw"
    die "cannot convert the $2 public key to PEM: $(cat "$log")"
  fi
  rm -f "$raw"
}
export_pub 01 rsa
export_pub 02 ec
if [ "$have_ed" = yes ]; then
  export_pub 03 ed
fi

# The test CA, shared by all tokens in DIR.
if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
  cat >"$dir/.ca.ext" <<CAEXT
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CAEXT
  run "making the test CA key" \
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$dir/.ca.key.tmp"
  run "making the test CA certificate" \
    openssl x509 -new -key "$dir/.ca.key.tmp" -subj "/O=Signet tests/CN=Signet Test CA" \
    -days 3650 -sha256 -set_serial 1 -extfile "$dir/.ca.ext" -out "$dir/.ca.pem.tmp"
  rm -f "$dir/.ca.ext"
  { mv "$dir/.ca.key.tmp" "$dir/ca.key" && mv "$dir/.ca.pem.tmp" "$dir/ca.pem"; } ||
    die "cannot write $dir/ca.pem"
fi

# The leaf certificate of the rsa key, imported with CKA_ID 01.
ext=$dir/$label/.leaf.ext
cat >"$ext" <<LEAFEXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
LEAFEXT
serial=0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
run "issuing the rsa certificate" \
  openssl x509 -new -subj "/O=Signet tests/CN=Signet test signer ($label rsa)" \
  -force_pubkey "$dir/$label/rsa.pub.pem" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
  -set_serial "$serial" -days 3650 -sha256 -extfile "$ext" -out "$dir/$label/rsa.cert.pem"
rm -f "$ext"
cat "$dir/$label/rsa.cert.pem" "$dir/ca.pem" >"$dir/$label/rsa.chain.pem" ||
  die "cannot write $dir/$label/rsa.chain.pem"
run "converting the rsa certificate" \
  openssl x509 -in "$dir/$label/rsa.cert.pem" -outform DER -out "$dir/$label/.rsa.cert.der"
run "importing the rsa certificate" \
  p11 --login --pin "$pin" --write-object "$dir/$label/.rsa.cert.der" \
  --type cert --id 01 --label rsa
rm -f "$dir/$label/.rsa.cert.der"

: >"$ready" || die "cannot write $ready"
