#!/usr/bin/env bash
# Bad input to signet sign / verify / hash with file keys. Every case checks
# (expect_error in tests/tools/lib.sh): the exit code, one "signet: error:"
# line on stderr naming the cause, no passphrase in the output, and that
# nothing in the directory changed (no FILE.p7s / FILE.sig, no leftover
# .FILE.signet-XXXXXX temp file, inputs byte-identical).
# PKCS#11 cases (wrong PIN, absent token, bad pkcs11: URIs) are in
# bad_input_pkcs11.sh.
#
# usage: bad_input.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
cd "$T"

PASS='pass-SECRET-b4d-1nput'
WRONG='wrong-SECRET-pa55'
lib_secret "$PASS"
lib_secret "$WRONG"

# Keys and certificates, outside the case directories.
mkdir k
printf '%s\n' "$PASS" >k/pass.txt
printf '%s\n' "$WRONG" >k/wrong.txt
make_ca k "Signet Test CA"
for kt in rsa ec ed25519; do
  make_key "$kt" "k/$kt.key"
  public_key "k/$kt.key" "k/$kt.pub.pem"
  issue_cert k "k/$kt.pub.pem" "k/$kt.crt" "signer $kt"
done
encrypt_key k/ec.key k/ec.enc.pem k/pass.txt
head -c 3000 /dev/urandom >k/random.bin
: >k/empty.pem
chmod 644 k/*.key  # readable by nobody, for the cases run as nobody
K=$T/k
EC=(--key "file:$K/ec.key" --cert "$K/ec.crt")

# ---- signing: the artifact ------------------------------------------------
mkdir w w/subdir
make_file w/f 5000
expect_error "sign: missing file" 2 'nosuch.*No such file' w -- \
  "$SIGNET" sign "${EC[@]}" nosuch
expect_error "sign: a directory" 2 'subdir.*directory' w -- \
  "$SIGNET" sign "${EC[@]}" subdir
expect_error "sign: a device, not a regular file" 2 'regular file' w -- \
  "$SIGNET" sign "${EC[@]}" -o out.p7s /dev/null
expect_error "hash: missing file" 2 'nosuch.*No such file' w -- \
  "$SIGNET" hash nosuch

# Unreadable artifact. Root reads through mode 000, so signet runs as nobody
# (setpriv) in a directory nobody owns: only the read can fail, and if it
# did not, the signature could be written.
mkdir nb
make_file nb/f 100
chmod 000 nb/f
[[ $EUID -ne 0 ]] || chown nobody:nogroup nb
if nobody_can_use "$K/ec.key" "$K/ec.crt" "$K/ca.pem"; then
  expect_error "sign: unreadable file (as nobody)" 2 'cannot open f: Permission denied' nb -- \
    as_nobody "$SIGNET" sign "${EC[@]}" f
  expect_error "verify: unreadable file (as nobody)" 2 'cannot open f: Permission denied' nb -- \
    as_nobody "$SIGNET" verify --trust "$K/ca.pem" --format cms f
else
  skip "unreadable file: user nobody cannot run $SIGNET or read $K"
fi

# ---- signing: the key -------------------------------------------------------
expect_error "key URI: unknown scheme" 2 "scheme 'nosuchscheme:'" w -- \
  "$SIGNET" sign --key nosuchscheme:x f
expect_error "key URI: no scheme" 2 'no scheme' w -- \
  "$SIGNET" sign --key ec.key f
expect_error "key URI: file: without a path" 2 'names no file' w -- \
  "$SIGNET" sign --key file: f
expect_error "key URI: file:// without a path" 2 'names no file' w -- \
  "$SIGNET" sign --key file:// f
expect_error "key URI: missing key file" 2 'nokey.pem.*No such file' w -- \
  "$SIGNET" sign --key "file:$K/nokey.pem" f
expect_error "key file: a certificate, not a key" 2 'does not contain a PEM private key' w -- \
  "$SIGNET" sign --key "file:$K/ec.crt" f
expect_error "key file: random bytes" 2 'does not contain a PEM private key' w -- \
  "$SIGNET" sign --key "file:$K/random.bin" f
expect_error "key file: empty" 2 'does not contain a PEM private key' w -- \
  "$SIGNET" sign --key "file:$K/empty.pem" f
expect_error "key file: encrypted, no passphrase" 2 'encrypted.*SIGNET_KEY_PASSPHRASE' w -- \
  "$SIGNET" sign --key "file:$K/ec.enc.pem" --cert "$K/ec.crt" f
expect_error "key file: wrong passphrase (env)" 2 'wrong passphrase' w -- \
  env SIGNET_KEY_PASSPHRASE="$WRONG" "$SIGNET" sign --key "file:$K/ec.enc.pem" --cert "$K/ec.crt" f
expect_error "key file: wrong passphrase (--passphrase-file)" 2 'wrong passphrase' w -- \
  "$SIGNET" sign --key "file:$K/ec.enc.pem" --cert "$K/ec.crt" --passphrase-file "$K/wrong.txt" f
expect_error "key file: missing --passphrase-file" 2 'nopass.txt.*No such file' w -- \
  "$SIGNET" sign --key "file:$K/ec.enc.pem" --cert "$K/ec.crt" --passphrase-file "$K/nopass.txt" f
expect_error "key type the format cannot use: Ed25519, cms" 2 'Ed25519.* cannot' w -- \
  "$SIGNET" sign --key "file:$K/ed25519.key" --cert "$K/ed25519.crt" --format cms f
expect_error "key type the format cannot use: Ed25519, raw" 2 'Ed25519.* cannot' w -- \
  "$SIGNET" sign --key "file:$K/ed25519.key" --format raw f
expect_error "key type the format cannot use: Ed25519, auto format" 2 'Ed25519.* cannot' w -- \
  "$SIGNET" sign --key "file:$K/ed25519.key" --cert "$K/ed25519.crt" f
expect_error "--rsa-pss with an EC key" 2 'rsa-pss needs an RSA key' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --cert "$K/ec.crt" --rsa-pss f

# ---- signing: certificate, options, output ----------------------------------
expect_error "--cert of another key" 2 'chain does not match|no certificate in the chain matches' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --cert "$K/rsa.crt" f
expect_error "--cert that is not a certificate" 2 'random.bin.*certificate' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --cert "$K/random.bin" f
expect_error "--cert missing" 2 'nocert.pem.*No such file' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --cert "$K/nocert.pem" f
expect_error "cms without any certificate" 2 'needs the signer.s certificate' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" --format cms f
expect_error "--output with two files" 2 'exactly one' w -- \
  "$SIGNET" sign "${EC[@]}" -o out.p7s f f
expect_error "unknown --format" 2 "unknown format 'bogus'" w -- \
  "$SIGNET" sign "${EC[@]}" --format bogus f
expect_error "unknown --digest" 2 "unknown digest algorithm 'md5'" w -- \
  "$SIGNET" sign "${EC[@]}" --digest md5 f
expect_error "unknown option" 2 'nosuchoption' w -- \
  "$SIGNET" sign "${EC[@]}" --nosuchoption f
expect_error "no --key" 2 'key' w -- \
  "$SIGNET" sign f
ln -s f w/link-to-f
for fmt in cms raw; do
  expect_error "-o the file being signed ($fmt)" 2 'itself' w -- \
    "$SIGNET" sign "${EC[@]}" --format "$fmt" -o f f
  expect_error "-o a symlink to the file being signed ($fmt)" 2 'itself' w -- \
    "$SIGNET" sign "${EC[@]}" --format "$fmt" -o link-to-f f
done
rm w/link-to-f
expect_error "output under a regular file (-o f/x.p7s)" 2 'cannot create output.*Not a directory' w -- \
  "$SIGNET" sign "${EC[@]}" -o f/x.p7s f
expect_error "output in a missing directory" 2 'cannot create output.*No such file' w -- \
  "$SIGNET" sign "${EC[@]}" -o nodir/x.p7s f
# A directory nobody cannot write to (as nobody; see above).
mkdir ro
make_file ro/f 100
[[ $EUID -eq 0 ]] || chmod 555 ro
if nobody_can_use "$K/ec.key" "$K/ec.crt" ro/f; then
  expect_error "output directory not writable (as nobody)" 2 'cannot create output.*Permission denied' ro -- \
    as_nobody "$SIGNET" sign "${EC[@]}" f
else
  skip "output directory not writable: user nobody cannot run $SIGNET or read $K"
fi
chmod 755 ro

# ---- verify -----------------------------------------------------------------
mkdir v
make_file v/f 5000
cp v/f v/g
"$SIGNET" -q sign "${EC[@]}" v/g
expect_error "verify: no signature present" 2 'no signature found' v -- \
  "$SIGNET" verify --trust "$K/ca.pem" f
expect_error "verify --format cms: no FILE.p7s" 2 'f.p7s.*No such file' v -- \
  "$SIGNET" verify --trust "$K/ca.pem" --format cms f
expect_error "verify: missing file" 2 'nosuch.*No such file' v -- \
  "$SIGNET" verify --trust "$K/ca.pem" nosuch
expect_error "verify: --signature with two files" 2 'exactly one' v -- \
  "$SIGNET" verify --trust "$K/ca.pem" --signature g.p7s g g
expect_error "verify cms: no --trust / --public-key" 2 'needs --trust' v -- \
  "$SIGNET" verify g
expect_error "verify cms: --trust that is not a certificate" 2 'random.bin.*certificate' v -- \
  "$SIGNET" verify --trust "$K/random.bin" g
expect_error "verify cms: --public-key that is not a key" 2 'random.bin.*public key' v -- \
  "$SIGNET" verify --public-key "$K/random.bin" g

# Malformed signature files, each next to a copy of g.
mkdir v/bad
for f in garbage trunc truncpem empty text; do cp v/g "v/bad/$f"; done
head -c 700 /dev/urandom >v/bad/garbage.p7s
head -c "$(($(stat -c %s v/g.p7s) / 2))" v/g.p7s >v/bad/trunc.p7s
openssl cms -cmsout -inform DER -in v/g.p7s -outform PEM | head -n 6 >v/bad/truncpem.p7s
: >v/bad/empty.p7s
echo "this is not a signature" >v/bad/text.p7s
for f in garbage trunc truncpem empty text; do
  expect_error "verify: malformed .p7s ($f)" 2 "$f.p7s.*(not a CMS|malformed)" v/bad -- \
    "$SIGNET" verify --trust "$K/ca.pem" "$f"
done
"$SIGNET" -q sign "${EC[@]}" --format raw -o v/bad/raw.sig v/g
head -c 5000 /dev/urandom >v/bad/huge.sig
expect_error "verify raw: no --public-key" 2 'needs --public-key' v/bad -- \
  "$SIGNET" verify --trust "$K/ca.pem" --signature raw.sig ../g
expect_error "verify raw: oversized .sig" 2 'huge.sig.*too large' v/bad -- \
  "$SIGNET" verify --public-key "$K/ec.pub.pem" --signature huge.sig ../g
expect_error "verify raw: --public-key of an Ed25519 key" 2 'Ed25519' v/bad -- \
  "$SIGNET" verify --public-key "$K/ed25519.pub.pem" --signature raw.sig ../g

lib_finish
