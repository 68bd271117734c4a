#!/usr/bin/env bash
# Interop matrix for file keys: RSA-3072 and ECDSA P-256 keys, as plain PEM
# and as encrypted PKCS#8 (passphrase from SIGNET_KEY_PASSPHRASE and from
# --passphrase-file), x cms (DER, PEM, SHA-384) and raw (PKCS#1 v1.5, PSS,
# SHA-384) signatures over files of 0 B .. 3 MiB (the reader's chunk is
# 1 MiB). Each signature must be accepted by the peer (openssl cms / openssl
# dgst) and signet verify; a tampered copy must be rejected by both.
# Also: a chain under another CA, the wrong public key, multi-file --json.
#
# usage: file_keys.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
cd "$T"

PASS='pass-SECRET-f1le-k3y'
printf '%s\n' "$PASS" >pass.txt  # a trailing newline, as editors write it

make_ca ca "Signet Test CA"
make_ca rogue "Rogue CA"
for kt in rsa ec; do
  make_key "$kt" "$kt.key"
  public_key "$kt.key" "$kt.pub.pem"
  issue_cert ca "$kt.pub.pem" "$kt.crt" "signer $kt"
  encrypt_key "$kt.key" "$kt.enc.pem" pass.txt
done
grep -q 'BEGIN ENCRYPTED PRIVATE KEY' rsa.enc.pem

mkdir files
for size in 0 1 4097 1048576 3145851; do make_file "files/f$size" "$size"; done

variants_for() {  # the variants each key type supports
  if [[ $1 == rsa ]]; then echo cms cms-pem raw raw-pss; else echo cms cms-pem raw; fi
}

# Plain key files: every variant x every size.
for kt in rsa ec; do
  for v in $(variants_for "$kt"); do
    for size in 0 1 4097 1048576 3145851; do
      interop_case "$kt/plain/$v/f$size" "$v" "files/f$size" "$kt.pub.pem" ca/ca.pem -- \
        "$SIGNET" sign --key "file:$T/$kt.key" --cert "$kt.crt"
    done
  done
done

# Encrypted key files: every variant on one odd-sized and one > 1 MiB file.
for kt in rsa ec; do
  for v in $(variants_for "$kt"); do
    interop_case "$kt/enc-env/$v/f4097" "$v" files/f4097 "$kt.pub.pem" ca/ca.pem -- \
      env SIGNET_KEY_PASSPHRASE="$PASS" "$SIGNET" sign --key "file:$kt.enc.pem" --cert "$kt.crt"
    interop_case "$kt/enc-file/$v/f3145851" "$v" files/f3145851 "$kt.pub.pem" ca/ca.pem -- \
      "$SIGNET" sign --key "file://$T/$kt.enc.pem" --cert "$kt.crt" --passphrase-file pass.txt
  done
done

# SHA-384.
interop_case "rsa/plain/cms-sha384/f4097" cms-sha384 files/f4097 rsa.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key file:rsa.key --cert rsa.crt
interop_case "ec/enc-file/raw-sha384/f1048576" raw-sha384 files/f1048576 ec.pub.pem ca/ca.pem -- \
  "$SIGNET" sign --key file:ec.enc.pem --cert ec.crt --passphrase-file pass.txt

# A cms signature is also checked against an expected public key.
expect_run "cms: signet verify --public-key of the signer accepts" 0 '^OK ' -- \
  "$SIGNET" verify --public-key rsa.pub.pem --signature sigs/rsa_plain_cms_f4097.p7s files/f4097
expect_run "cms: signet verify --public-key of another key rejects (exit 1)" 1 'another key' -- \
  "$SIGNET" verify --public-key ec.pub.pem --signature sigs/rsa_plain_cms_f4097.p7s files/f4097
expect_run "raw: signet verify --public-key of another key rejects (exit 1)" 1 'does not match' -- \
  "$SIGNET" verify --public-key rsa.pub.pem --signature sigs/ec_plain_raw_f4097.sig files/f4097

# A signer whose certificate is not under the trusted CA.
make_key ec rogue.key
public_key rogue.key rogue.pub.pem
issue_cert rogue rogue.pub.pem rogue.crt "rogue signer"
expect_run "untrusted chain: signet sign" 0 -- \
  "$SIGNET" sign --key file:rogue.key --cert rogue.crt -o sigs/rogue.p7s files/f4097
peer_cms "untrusted chain: openssl cms -verify rejects" bad sigs/rogue.p7s files/f4097 ca/ca.pem
expect_run "untrusted chain: signet verify --trust ca.pem rejects (exit 1)" 1 \
  'signet: error: .*certificate' -- "$SIGNET" verify --trust ca/ca.pem --signature sigs/rogue.p7s files/f4097
expect_run "untrusted chain: signet verify --trust rogue-ca.pem accepts" 0 '^OK ' -- \
  "$SIGNET" verify --trust rogue/ca.pem --signature sigs/rogue.p7s files/f4097

# Three files in one call, default output names, --json.
mkdir multi
make_file multi/a 0
make_file multi/b 70000
make_file multi/c 1048577
for fmt in cms raw; do
  ext=$([[ $fmt == cms ]] && echo p7s || echo sig)
  expect_run "multi-file $fmt: signet --json sign a b c" 0 -- \
    "$SIGNET" --json sign --key file:ec.key --cert ec.crt --format "$fmt" multi/a multi/b multi/c
  expect_json "multi-file $fmt: one JSON object per file, ok, output FILE.$ext" \
    "[o['file'] for o in objs] == ['multi/a', 'multi/b', 'multi/c'] and
     all(o['ok'] is True and o['format'] == '$fmt' and o['output'] == o['file'] + '.$ext'
         and o['signature_algorithm'] == 'ecdsa-sha256' for o in objs)"
done
for f in a b c; do
  peer_cms "multi-file cms: openssl cms -verify accepts multi/$f.p7s" ok "multi/$f.p7s" "multi/$f" ca/ca.pem
  peer_dgst "multi-file raw: openssl dgst -verify accepts multi/$f.sig" ok sha256 ec.pub.pem "multi/$f.sig" "multi/$f"
done
expect_run "multi-file: signet --json verify --format cms a b c" 0 -- \
  "$SIGNET" --json verify --format cms --trust ca/ca.pem multi/a multi/b multi/c
expect_json "multi-file: verify prints three ok objects" \
  "len(objs) == 3 and all(o['ok'] is True and o['format'] == 'cms' for o in objs)"
expect_run "multi-file: signet --json verify --format raw a b c" 0 -- \
  "$SIGNET" --json verify --format raw --public-key ec.pub.pem multi/a multi/b multi/c
expect_json "multi-file: raw verify prints three ok objects" \
  "len(objs) == 3 and all(o['ok'] is True and o['format'] == 'raw' for o in objs)"
tamper multi/b multi/b.new && mv multi/b.new multi/b
expect_run "multi-file: one tampered file -> signet --json verify exit 1" 1 -- \
  "$SIGNET" --json verify --format cms --trust ca/ca.pem multi/a multi/b multi/c
expect_json "multi-file: only the tampered file is ok: false, with an error code" \
  "[o['ok'] for o in objs] == [True, False, True] and objs[1]['file'] == 'multi/b'
   and objs[1]['error']['code'] == 'verification_failed'"
expect_run "multi-file: the failure is one stderr line" 0 -- \
  test "$(wc -l <"$T/.err")" -eq 1

lib_finish
