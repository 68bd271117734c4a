#!/usr/bin/env bash
# Bad input through the PKCS#11 backend (SoftHSM2): wrong PIN (env,
# --pin-file, pin-source, pin-value), no PIN, absent token (exit 3),
# malformed and non-matching pkcs11: URIs, bad module paths, a --cert of
# another key. The case directory holds valid f.p7s / f.sig from an earlier
# signature: every case also proves they are left byte-identical and that
# neither PIN (right or wrong) is ever printed (expect_error in lib.sh).
# Skipped (exit 77) when signet was built without PKCS#11.
#
# usage: bad_input_pkcs11.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
cd "$T"

PIN='pin-SECRET-r1ght'
WRONG='pin-SECRET-wr0ng'
L=signet-bad
H=$T/hsm
lib_secret "$PIN"
lib_secret "$WRONG"
softhsm_setup "$H" "$L" "$PIN"
MOD="module-path=$SOFTHSM_MODULE"
RSA="pkcs11:token=$L;object=rsa"
EC="pkcs11:token=$L;object=ec"
mkdir s
printf '%s\n' "$PIN" >s/pin.txt
printf '%s\n' "$WRONG" >s/wrong.txt
S=$T/s

mkdir w
make_file w/f 300000
"$SIGNET" -q sign --key "$RSA?$MOD" --pin-file s/pin.txt w/f
"$SIGNET" -q sign --key "$RSA?$MOD" --pin-file s/pin.txt --format raw w/f

# ---- PIN ----------------------------------------------------------------------
for fmt in cms raw; do
  expect_error "wrong PIN via SIGNET_PKCS11_PIN ($fmt)" 2 'wrong PIN' w -- \
    env SIGNET_PKCS11_PIN="$WRONG" "$SIGNET" sign --key "$RSA?$MOD" --format "$fmt" f
done
expect_error "wrong PIN via --pin-file" 2 'wrong PIN' w -- \
  "$SIGNET" sign --key "$RSA?$MOD" --pin-file "$S/wrong.txt" f
expect_error "wrong PIN via pin-source=file:" 2 'wrong PIN' w -- \
  "$SIGNET" sign --key "$RSA?$MOD&pin-source=file:$S/wrong.txt" f
expect_error "wrong PIN via pin-value" 2 'wrong PIN' w -- \
  "$SIGNET" sign --key "$RSA?$MOD&pin-value=$WRONG" f
expect_error "wrong PIN: --json sign" 2 'wrong PIN' w -- \
  env SIGNET_PKCS11_PIN="$WRONG" "$SIGNET" --json sign --key "$RSA?$MOD" f
expect_error "wrong PIN: key public" 2 'wrong PIN' w -- \
  env SIGNET_PKCS11_PIN="$WRONG" "$SIGNET" key public -o pub.pem "$RSA?$MOD"
expect_error "no PIN at all" 2 'needs a PIN' w -- \
  "$SIGNET" sign --key "$RSA?$MOD" f
expect_error "pin-source file missing" 2 'nopin.txt.*No such file' w -- \
  "$SIGNET" sign --key "$RSA?$MOD&pin-source=$S/nopin.txt" f
expect_error "--pin-file missing" 2 'nopin.txt.*No such file' w -- \
  "$SIGNET" sign --key "$RSA?$MOD" --pin-file "$S/nopin.txt" f
expect_run "the right PIN still works after the wrong ones (token not locked)" 0 -- \
  "$SIGNET" sign --key "$RSA?$MOD" --pin-file s/pin.txt -o "$T/after.p7s" w/f

# ---- token and module ---------------------------------------------------------
expect_error "absent token label" 3 "no token.*nosuchtoken" w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "pkcs11:token=nosuchtoken;object=rsa?$MOD" f
expect_error "absent token label: key list" 3 "no token.*nosuchtoken" w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" key list "pkcs11:token=nosuchtoken?$MOD"
expect_error "no module (no module-path, no SIGNET_PKCS11_MODULE)" 2 'module' w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$RSA" f
expect_error "module-path does not exist" 2 "nosuch.so" w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$RSA?module-path=/nonexistent/nosuch.so" f
expect_error "module-path is not a PKCS#11 module" 2 "cannot load" w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$RSA?module-path=$S/pin.txt" f

# ---- malformed or non-matching URIs -------------------------------------------
bad_uri() {  # bad_uri WHAT KEYWORD URI
  expect_error "malformed URI: $1" 2 "$2" w -- \
    env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$3" f
}
bad_uri "bad percent-encoding (token=%zz)" 'percent' "pkcs11:token=%zz?$MOD"
bad_uri "truncated percent-encoding (object=rs%4)" 'percent' "pkcs11:token=$L;object=rs%4?$MOD"
bad_uri "duplicate attribute" "'token' appears more than once" "pkcs11:token=$L;token=x;object=rsa?$MOD"
bad_uri "unknown path attribute" "vendor-x" "pkcs11:token=$L;vendor-x=1;object=rsa?$MOD"
bad_uri "empty attribute (;;)" 'empty|attribute' "pkcs11:token=$L;;object=rsa?$MOD"
bad_uri "pin-source and pin-value together" 'pin-source or pin-value' \
  "$RSA?$MOD&pin-source=$S/pin.txt&pin-value=$PIN"
bad_uri "type=public cannot sign" 'type=public' "$RSA;type=public?$MOD"
bad_uri "bad type" 'type' "$RSA;type=nonsense?$MOD"
bad_uri "space in a value" 'token|character' "pkcs11:token=signet bad;object=rsa?$MOD"
expect_error "no object matches" 2 'no private key matching' w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "pkcs11:token=$L;object=nosuchkey?$MOD" f
expect_error "object and id that do not match each other" 2 'no private key matching' w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "pkcs11:token=$L;object=ec;id=%01?$MOD" f
expect_error "URI matching several keys" 2 'matches [0-9]+ private keys' w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "pkcs11:token=$L?$MOD" f

# ---- certificate ------------------------------------------------------------------
expect_error "--cert of another key (token ec key, rsa certificate)" 2 \
  'chain does not match|no certificate in the chain matches' w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$EC?$MOD" --cert "$H/$L/rsa.cert.pem" f
expect_error "cms with a token key that has no certificate" 2 'certificate' w -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$EC?$MOD" --format cms f

peer_cms "the earlier f.p7s still verifies" ok w/f.p7s w/f "$H/ca.pem"
peer_dgst "the earlier f.sig still verifies" ok sha256 "$H/$L/rsa.pub.pem" w/f.sig w/f

lib_finish
