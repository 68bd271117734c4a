#!/usr/bin/env bash
# Quick start, step 1 of 2: installs what is missing, builds signet, and runs
# the main job on an embedded default -- no server or cloud needed:
#   * a SoftHSM2 token in ./demo/token holding an RSA-3072 code-signing key and
#     its certificate (issued by a demo CA in ./demo/token/ca.pem),
#   * signs sample files with the key in the token (cms and raw),
#   * verifies them with signet and with the peer verifier (openssl).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/deps.sh
TARGET=signet scripts/build.sh build
signet=$root/build/core/cli/signet

demo=$root/demo
rm -rf "$demo"
mkdir -p "$demo/files"
umask 077
# The demo PIN lives in a file: signet reads secrets from files or env, never argv.
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$demo/pin"
tests/tools/softhsm_token.sh "$demo/token" signet-demo "$(cat "$demo/pin")" >/dev/null
export SOFTHSM2_CONF=$demo/token/softhsm2.conf
export SIGNET_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so
umask 022

echo "== keys on the demo token"
"$signet" key list --pin-file "$demo/pin" "pkcs11:token=signet-demo"
key="pkcs11:token=signet-demo;object=rsa"

cp README.md "$demo/files/README.md"
head -c $((8 << 20)) /dev/urandom >"$demo/files/payload.bin"

echo "== signing with the key in the token"
"$signet" sign --key "$key" --pin-file "$demo/pin" "$demo/files/README.md" "$demo/files/payload.bin"
"$signet" sign --key "$key" --pin-file "$demo/pin" --format raw "$demo/files/payload.bin"
"$signet" key public --pin-file "$demo/pin" -o "$demo/signer.pub" "$key"

echo "== verifying with signet"
"$signet" verify --trust "$demo/token/ca.pem" "$demo/files/README.md" "$demo/files/payload.bin"
"$signet" verify --public-key "$demo/signer.pub" --format raw "$demo/files/payload.bin"

echo "== verifying with openssl (the peer)"
for f in README.md payload.bin; do
  openssl cms -verify -binary -inform DER -in "$demo/files/$f.p7s" -content "$demo/files/$f" \
    -CAfile "$demo/token/ca.pem" -purpose any -out /dev/null
done
openssl dgst -sha256 -verify "$demo/signer.pub" -signature "$demo/files/payload.bin.sig" \
  "$demo/files/payload.bin"

echo
echo "Done. Signed files and signatures are in $demo/files; the token is in $demo/token."
echo "Next: scripts/test.sh runs the whole test suite."
