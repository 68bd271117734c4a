#!/usr/bin/env bash
# signet and osslsigncode on each other's Authenticode files:
#   - files signed by `osslsigncode sign` (with and without -ts) pass
#     `signet verify` (and signet's image digest equals osslsigncode's);
#   - `signet sign --append` onto a signet-signed and onto an
#     osslsigncode-signed file: osslsigncode verifies both signatures, and
#     signet verify reports the nested one; osslsigncode -nest onto a
#     signet-signed file verifies with signet;
#   - `signet timestamp` adds timestamps to files signed without one (signet's
#     and osslsigncode's), and leaves a fully timestamped file alone;
#   - `signet unsign` removes every signature (image digest unchanged, same
#     as osslsigncode remove-signature);
#   - a certificate that expired after signing: the timestamped file still
#     verifies, the other does not, in both tools;
#   - `signet verify` agrees with osslsigncode on every file made here,
#     signed, nested, tampered or unsigned.
#
# usage: pe_interop.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
PE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=pe_lib.sh
source "$PE_DIR/pe_lib.sh"
pe_need_tools
cd "$T"

build_pe_files "$T/pe"
make_signing_pki "$T/k"
CA=$T/k/ca.pem
K=$T/k
start_tsa
mkdir ossl out tampered

# ---- osslsigncode signs, signet verifies -------------------------------------
for f in "${PE_FILES[@]}"; do
  for ts in notsa tsa; do
    o=ossl/${f%.*}-$ts.${f##*.}
    args=(sign -certs "$K/rsa.chain.pem" -key "$K/rsa.key" -n "osslsigncode signed" -in "pe/$f" -out "$o")
    [[ $ts == tsa ]] && args+=(-ts "$TSA_URL")
    expect_run "$f/$ts: osslsigncode sign" 0 Succeeded -- osslsigncode "${args[@]}"
    if [[ $ts == tsa ]]; then
      expect_run "$f/$ts: signet verify accepts osslsigncode's file, timestamp seen" 0 \
        "^OK .*Signet PE signer rsa.*timestamp 20" -- "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" "$o"
    else
      expect_run "$f/$ts: signet verify accepts osslsigncode's file" 0 "^OK .*Signet PE signer rsa" -- \
        "$SIGNET" verify --trust "$CA" "$o"
    fi
    expect_same_digest "$f/$ts: signet hash = osslsigncode's digest" "$o"
    tamper_text "$o" "tampered/ossl-$(basename "$o")"
    expect_run "$f/$ts: signet verify rejects osslsigncode's file with a flipped .text byte" 1 \
      'modified after signing' -- "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" "tampered/ossl-$(basename "$o")"
  done
done

# ---- nested signatures ---------------------------------------------------------
cp pe/x64.exe out/append-signet.exe
expect_run "append onto signet: first signature (rsa, tsa)" 0 -- "$SIGNET" sign \
  --key "file:$K/rsa.key" --cert "$K/rsa.chain.pem" --tsa "$TSA_URL" out/append-signet.exe
expect_run "append onto signet: --append (ec, tsa)" 0 -- "$SIGNET" sign --append \
  --key "file:$K/ec.key" --cert "$K/ec.chain.pem" --tsa "$TSA_URL" out/append-signet.exe
peer_ossl "append onto signet: osslsigncode verifies" ok out/append-signet.exe "$CA" "$TSA_CA"
expect_run "append onto signet: osslsigncode verified 2 signatures" 0 "Number of verified signatures: 2" -- \
  osslsigncode verify -in out/append-signet.exe -CAfile "$CA" -TSA-CAfile "$TSA_CA"
expect_run "append onto signet: signet verify reports the nested signature" 0 \
  "nested signature 1 OK \(pe, signer: .*Signet PE signer ec.*timestamp 20" -- \
  "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" out/append-signet.exe
expect_checksum "append onto signet: PE checksum" out/append-signet.exe

cp ossl/x86-notsa.exe out/append-ossl.exe
expect_run "append onto osslsigncode: --append (ec)" 0 -- "$SIGNET" sign --append \
  --key "file:$K/ec.key" --cert "$K/ec.chain.pem" out/append-ossl.exe
peer_ossl "append onto osslsigncode: osslsigncode verifies" ok out/append-ossl.exe "$CA"
expect_run "append onto osslsigncode: osslsigncode verified 2 signatures" 0 \
  "Number of verified signatures: 2" -- osslsigncode verify -in out/append-ossl.exe -CAfile "$CA"
expect_run "append onto osslsigncode: signet verify" 0 "nested signature 1 OK .*Signet PE signer ec" -- \
  "$SIGNET" verify --trust "$CA" out/append-ossl.exe

cp pe/x86.dll out/signet-then-ossl-nest.dll
expect_run "osslsigncode -nest onto signet: signet sign" 0 -- "$SIGNET" sign \
  --key "file:$K/ec.key" --cert "$K/ec.chain.pem" out/signet-then-ossl-nest.dll
expect_run "osslsigncode -nest onto signet: osslsigncode sign -nest" 0 Succeeded -- osslsigncode sign -nest \
  -certs "$K/rsa.chain.pem" -key "$K/rsa.key" -in out/signet-then-ossl-nest.dll -out out/ossl-nested.dll
expect_run "osslsigncode -nest onto signet: signet verify sees both" 0 \
  "nested signature 1 OK .*Signet PE signer rsa" -- "$SIGNET" verify --trust "$CA" out/ossl-nested.dll
cp out/ossl-nested.dll tampered/ossl-nested.dll
tamper_text out/ossl-nested.dll tampered/ossl-nested.dll

# ---- signet timestamp ---------------------------------------------------------------
cp out/append-ossl.exe out/stamped.exe
expect_run "timestamp: 2 signatures without one get one" 0 "timestamped .* \(2 signatures\)" -- \
  "$SIGNET" timestamp --tsa "$TSA_URL" out/stamped.exe
peer_ossl "timestamp: osslsigncode verifies the timestamps" ok out/stamped.exe "$CA" "$TSA_CA"
expect_run "timestamp: both timestamped for osslsigncode" 0 -- \
  test "$(osslsigncode verify -in out/stamped.exe -CAfile "$CA" -TSA-CAfile "$TSA_CA" 2>&1 |
    grep -c 'Timestamp Server Signature verification: ok')" -eq 2
expect_run "timestamp: signet verify reports both" 0 "nested signature 1 OK .*timestamp 20" -- \
  "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" out/stamped.exe
before=$(sha256sum <out/stamped.exe)
expect_run "timestamp again: nothing to do" 0 "already has a timestamp; nothing written" -- \
  "$SIGNET" timestamp --tsa "$TSA_URL" out/stamped.exe
expect_run "timestamp again: file unchanged" 0 -- test "$(sha256sum <out/stamped.exe)" = "$before"
cp ossl/x64-notsa.dll out/stamped-ossl.dll
expect_run "timestamp: osslsigncode-signed DLL, to --output" 0 -- \
  "$SIGNET" timestamp --tsa "$TSA_URL" -o out/stamped-ossl-copy.dll out/stamped-ossl.dll
peer_ossl "timestamp --output: osslsigncode verifies" ok out/stamped-ossl-copy.dll "$CA" "$TSA_CA"
expect_run "timestamp --output: input unchanged" 0 -- cmp -s ossl/x64-notsa.dll out/stamped-ossl.dll

# ---- unsign ------------------------------------------------------------------------
cp out/append-signet.exe out/unsigned.exe
digest=$("$SIGNET" hash pe/x64.exe | cut -d' ' -f1)
expect_run "unsign: exit 0" 0 "^unsigned " -- "$SIGNET" unsign out/unsigned.exe
expect_run "unsign: no certificate table" 0 "^0 0$" -- python3 "$PE_DIR/pe_tool.py" cert-table out/unsigned.exe
expect_run "unsign: image digest unchanged" 0 "^$digest " -- "$SIGNET" hash out/unsigned.exe
expect_checksum "unsign: PE checksum" out/unsigned.exe
expect_run "unsign: signet verify says not signed (exit 1)" 1 "not signed" -- \
  "$SIGNET" verify --trust "$CA" out/unsigned.exe
expect_run "unsign: osslsigncode remove-signature agrees on the digest" 0 -- \
  osslsigncode remove-signature -in out/append-signet.exe -out out/ossl-removed.exe
expect_run "unsign: same image digest as osslsigncode remove-signature" 0 "^$digest " -- \
  "$SIGNET" hash out/ossl-removed.exe
expect_run "unsign: signs again cleanly" 0 -- "$SIGNET" sign --key "file:$K/ec.key" \
  --cert "$K/ec.chain.pem" out/unsigned.exe
peer_ossl "unsign then sign: osslsigncode verifies" ok out/unsigned.exe "$CA"

# ---- an expired certificate: the timestamp keeps the signature valid ----------------
mkdir -p short/new
: >short/index.txt
echo 1000 >short/serial
cat >short/ca.cnf <<EOF
[ ca ]
default_ca = short
[ short ]
dir = $T/short
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
EOF
make_key ec short/leaf.key
openssl req -new -key short/leaf.key -subj "/CN=Signet short-lived signer" -out short/leaf.csr 2>/dev/null
not_after_epoch=$(($(date -u +%s) + 8))
openssl ca -batch -config short/ca.cnf -cert "$CA" -keyfile "$K/ca.key" -in short/leaf.csr \
  -out short/leaf.pem -notext -extensions leaf -startdate "$(date -u -d '-1 day' +%y%m%d%H%M%SZ)" \
  -enddate "$(date -u -d "@$not_after_epoch" +%y%m%d%H%M%SZ)" 2>/dev/null
cp pe/x64.exe out/expired-tsa.exe
cp pe/x64.exe out/expired-notsa.exe
expect_run "short-lived certificate: sign with --tsa" 0 -- "$SIGNET" sign --key file:short/leaf.key \
  --cert short/leaf.pem --tsa "$TSA_URL" out/expired-tsa.exe
expect_run "short-lived certificate: sign without" 0 -- "$SIGNET" sign --key file:short/leaf.key \
  --cert short/leaf.pem out/expired-notsa.exe
while [[ $(date -u +%s) -le $((not_after_epoch + 1)) ]]; do sleep 1; done
peer_ossl "expired, timestamped: osslsigncode still verifies" ok out/expired-tsa.exe "$CA" "$TSA_CA"
expect_run "expired, timestamped: signet verify (checked at the timestamp)" 0 "timestamp 20" -- \
  "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" out/expired-tsa.exe
peer_ossl "expired, not timestamped: osslsigncode rejects" bad out/expired-notsa.exe "$CA"
expect_run "expired, not timestamped: signet verify rejects (exit 1)" 1 "expired" -- \
  "$SIGNET" verify --trust "$CA" out/expired-notsa.exe

# ---- signet verify agrees with osslsigncode on every file ------------------------------
cp pe/x86.exe out/never-signed.exe
for f in ossl/* out/* tampered/*; do
  expect_agreement "agreement: $f" "$f" "$CA" "$TSA_CA"
done

lib_finish
