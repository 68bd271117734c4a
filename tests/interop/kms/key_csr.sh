#!/usr/bin/env bash
# signet key csr: PKCS#10 requests signed through KeySigner::Sign, checked by
# openssl req -verify, for file keys (RSA, EC P-256/P-384, Ed25519, RSA-PSS)
# and SoftHSM2 keys (RSA, EC); a certificate issued from the request signs a
# cms artifact that openssl cms accepts. (AWS KMS keys: aws_kms_moto.sh.)
# Also: PEM on stdout by default, --output written atomically, --json, and
# bad subjects (exit 2, nothing written).
set -euo pipefail
source "$2/lib.sh"
lib_init "$@"
cd "$T"
mkdir -p keys out work

SUBJECT='CN=Signet Release Signing,OU=Build\, Release,O=Example Ltd,C=DE'
# What openssl prints for it (-nameopt RFC2253: the same order as written).
SUBJECT_RFC2253='CN=Signet Release Signing,OU=Build\, Release,O=Example Ltd,C=DE'

# csr_case NAME SIGALG URI [CSR_OPTION...]: signet key csr URI ${KEY_OPTS[@]}
# CSR_OPTIONS writes out/NAME.csr; openssl req -verify accepts it; the subject
# reads back; the public key is the key's; the signature algorithm is SIGALG.
KEY_OPTS=()
csr_case() {
  local name=$1 sigalg=$2 uri=$3
  shift 3
  expect_run "$name: signet key csr" 0 -- "$SIGNET" key csr "$uri" "${KEY_OPTS[@]}" "$@" \
    --subject "$SUBJECT" --output "out/$name.csr"
  [[ $RC -eq 0 ]] || return 0
  expect_run "$name: openssl req -verify accepts" 0 'verify OK' -- \
    openssl req -verify -noout -in "out/$name.csr"
  expect_run "$name: subject" 0 -- bash -c \
    '[[ "$(openssl req -in "$1" -noout -subject -nameopt RFC2253)" == "subject=$2" ]]' _ \
    "out/$name.csr" "$SUBJECT_RFC2253"
  expect_run "$name: signature algorithm $sigalg" 0 "Signature Algorithm: $sigalg" -- \
    openssl req -in "out/$name.csr" -noout -text
  "$SIGNET" key public "$uri" "${KEY_OPTS[@]}" >"out/$name.pub.pem"
  expect_run "$name: the request holds the key's public key" 0 -- \
    cmp <(openssl req -in "out/$name.csr" -noout -pubkey) "out/$name.pub.pem"
}

# --- file keys ---
make_key rsa keys/rsa.pem
make_key ec keys/ec.pem
make_key ed25519 keys/ed.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out keys/p384.pem 2>/dev/null
csr_case "file rsa" sha256WithRSAEncryption file:keys/rsa.pem
csr_case "file rsa sha512" sha512WithRSAEncryption file:keys/rsa.pem --digest sha512
csr_case "file rsa-pss" rsassaPss file:keys/rsa.pem --rsa-pss
csr_case "file ec" ecdsa-with-SHA256 file:keys/ec.pem
csr_case "file ec p-384 (sha384 by default)" ecdsa-with-SHA384 file:keys/p384.pem
csr_case "file ed25519" ED25519 file:keys/ed.pem

expect_run "stdout by default: one PEM request" 0 '^-----BEGIN CERTIFICATE REQUEST-----' -- \
  "$SIGNET" key csr file:keys/ec.pem --subject "CN=stdout"
out >out/stdout.csr
expect_run "stdout by default: openssl req -verify accepts it" 0 'verify OK' -- \
  openssl req -verify -noout -in out/stdout.csr
expect_run "--json: the request in csr_pem" 0 -- "$SIGNET" --json key csr file:keys/ec.pem --subject "CN=json"
expect_json "--json: ok, algorithm and PEM" \
  "objs[0]['ok'] and objs[0]['algorithm'] == 'ecdsa-sha256' and objs[0]['csr_pem'].startswith('-----BEGIN CERTIFICATE REQUEST-----')"

# A certificate issued from the request works for signing.
make_ca ca "Signet CSR test CA"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >out/leaf.ext
openssl x509 -req -in "out/file ec.csr" -CA ca/ca.pem -CAkey ca/ca.key -set_serial 7 -days 2 \
  -sha256 -extfile out/leaf.ext -out out/ec.crt 2>/dev/null
make_file work/artifact.bin 5000
interop_case "certificate from the CSR" cms work/artifact.bin out/ec.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key file:keys/ec.pem --cert out/ec.crt

# --- bad input: exit 2, one line, nothing written ---
for bad in 'CN=' 'XX=y' 'C=Germany' 'CN=a,,O=b' 'no equals sign'; do
  expect_error "bad subject '$bad' (exit 2)" 2 'subject' work -- \
    "$SIGNET" key csr "file:$T/keys/ec.pem" --subject "$bad" --output x.csr
done
expect_error "--rsa-pss with an EC key (exit 2)" 2 'rsa-pss' work -- \
  "$SIGNET" key csr "file:$T/keys/ec.pem" --rsa-pss --subject "CN=x" --output x.csr
expect_error "--subject is required (exit 2)" 2 'subject' work -- \
  "$SIGNET" key csr "file:$T/keys/ec.pem" --output x.csr

# --- SoftHSM2 keys ---
if has_backend pkcs11 && [[ -r $SOFTHSM_MODULE ]]; then
  PIN='pin-CSR-5oft'
  lib_secret "$PIN"
  softhsm_setup "$T/hsm" csr "$PIN"
  printf '%s\n' "$PIN" >pin.txt
  MOD="module-path=$SOFTHSM_MODULE"
  KEY_OPTS=(--pin-file pin.txt)
  csr_case "softhsm rsa" sha256WithRSAEncryption "pkcs11:token=csr;object=rsa?$MOD"
  csr_case "softhsm rsa-pss" rsassaPss "pkcs11:token=csr;object=rsa?$MOD" --rsa-pss
  csr_case "softhsm ec" ecdsa-with-SHA256 "pkcs11:token=csr;object=ec?$MOD"
  expect_no_secret "softhsm: the PIN appears in no output"
else
  skip "softhsm: no pkcs11 backend in this build, or SoftHSM2 is not installed"
fi

lib_finish
