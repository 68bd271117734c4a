#!/usr/bin/env bash
# Atomic output: a signature file that already exists is left byte-identical
# when signing fails, whether the failure comes before the key signs (wrong
# passphrase, Ed25519), after it (no certificate for cms: Format::Finish),
# or when the final rename fails; no temp file is left behind; a successful
# re-sign replaces the file whole and keeps its mode; in a multi-file call a
# failing file does not affect the others. (The wrong-PIN case is in
# bad_input_pkcs11.sh, whose directory also holds existing signatures.)
#
# usage: atomic_output.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
cd "$T"

PASS='pass-SECRET-at0m1c'
lib_secret "$PASS"
mkdir k
printf '%s\n' "$PASS" >k/pass.txt
make_ca k "Signet Test CA"
for kt in ec ed25519; do
  make_key "$kt" "k/$kt.key"
  public_key "k/$kt.key" "k/$kt.pub.pem"
  issue_cert k "k/$kt.pub.pem" "k/$kt.crt" "signer $kt"
done
encrypt_key k/ec.key k/ec.enc.pem k/pass.txt
chmod 644 k/*.key
K=$T/k
EC=(--key "file:$K/ec.key" --cert "$K/ec.crt")

# w/f with valid f.p7s and f.sig from an earlier run.
mkdir w
make_file w/f 200000
"$SIGNET" -q sign "${EC[@]}" w/f
"$SIGNET" -q sign "${EC[@]}" --format raw w/f
chmod 600 w/f.p7s

for fmt in cms raw; do
  expect_error "existing signature kept: wrong passphrase ($fmt)" 2 'wrong passphrase' w -- \
    env SIGNET_KEY_PASSPHRASE=wrong "$SIGNET" sign --key "file:$K/ec.enc.pem" --cert "$K/ec.crt" --format "$fmt" f
  expect_error "existing signature kept: Ed25519 refused ($fmt)" 2 'Ed25519.* cannot' w -- \
    "$SIGNET" sign --key "file:$K/ed25519.key" --cert "$K/ed25519.crt" --format "$fmt" f
done
expect_error "existing signature kept: cms without a certificate (fails after signing)" 2 'certificate' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --format cms f
expect_error "existing signature kept: certificate of another key" 2 'match' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --cert "$K/ed25519.crt" f
mkdir w/sigdir
expect_error "rename over a directory fails: temp file removed" 2 'sigdir' w -- \
  "$SIGNET" sign "${EC[@]}" -o sigdir f
rmdir w/sigdir
[[ $EUID -eq 0 ]] || chmod 555 w
if nobody_can_use "$K/ec.key" "$K/ec.crt" w/f; then
  expect_error "existing signature kept: directory not writable (as nobody)" 2 \
    'cannot create output.*Permission denied' w -- as_nobody "$SIGNET" sign "${EC[@]}" -o f.p7s f
else
  skip "directory not writable: user nobody cannot run $SIGNET or read $K"
fi
chmod 755 w
peer_cms "existing f.p7s still verifies" ok w/f.p7s w/f k/ca.pem
peer_dgst "existing f.sig still verifies" ok sha256 k/ec.pub.pem w/f.sig w/f

# A successful re-sign replaces the file whole and keeps its mode.
old=$(sha256sum <w/f.p7s)
expect_run "re-sign over an existing f.p7s" 0 -- "$SIGNET" sign "${EC[@]}" w/f
expect_run "f.p7s was replaced" 0 -- test "$(sha256sum <w/f.p7s)" != "$old"
expect_run "f.p7s keeps its mode 600" 0 '^600$' -- stat -c %a w/f.p7s
peer_cms "replaced f.p7s verifies" ok w/f.p7s w/f k/ca.pem
expect_run "no temp file left in the directory" 0 -- \
  test -z "$(find w -name '.*signet-*')"

# Multi-file: the missing file fails alone.
mkdir m
make_file m/a 10
make_file m/c 10
expect_run "sign a missing c: exit 2" 2 'missing' -- \
  "$SIGNET" sign "${EC[@]}" m/a m/missing m/c
expect_run "sign a missing c: the error is one line" 0 -- test "$(wc -l <"$T/.err")" -eq 1
peer_cms "sign a missing c: a.p7s verifies" ok m/a.p7s m/a k/ca.pem
peer_cms "sign a missing c: c.p7s verifies" ok m/c.p7s m/c k/ca.pem
expect_run "sign a missing c: nothing else written" 0 -- \
  test "$(cd m && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')" = "./a ./a.p7s ./c ./c.p7s "

lib_finish
