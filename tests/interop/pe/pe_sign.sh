#!/usr/bin/env bash
# Authenticode signing with file keys, checked by osslsigncode: real PE files
# built with mingw-w64 (x86_64 and i686, EXE and DLL, and one with trailing
# data after the last section) x RSA-3072 and ECDSA P-256 keys x with and
# without --tsa (a loopback RFC 3161 TSA, tests/tools/tsa_server.py).
# For each: `osslsigncode verify` ends with "Succeeded" (and the timestamp
# verified), `signet verify` accepts, the PE checksum is right, signet's image
# digest equals osslsigncode's; with one byte of .text flipped both reject.
# Also --output, --description/--url, --digest sha384/sha512, re-signing, and
# `signet hash` before/after signing.
#
# usage: pe_sign.sh SIGNET_BINARY TOOLS_DIR
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
start_tsa

mkdir out tampered
for f in "${PE_FILES[@]}"; do
  unsigned_digest=$("$SIGNET" hash "pe/$f" | cut -d' ' -f1)
  for kt in rsa ec; do
    for ts in notsa tsa; do
      name="$f/$kt/$ts"
      s=out/${f%.*}-$kt-$ts.${f##*.}
      cp "pe/$f" "$s"
      opts=(--key "file:$T/k/$kt.key" --cert "$T/k/$kt.chain.pem")
      tsaca=
      if [[ $ts == tsa ]]; then
        opts+=(--tsa "$TSA_URL")
        tsaca=$TSA_CA
      fi
      expect_run "$name: signet sign (in place)" 0 "^signed .*\(pe, " -- "$SIGNET" sign "${opts[@]}" "$s"
      peer_ossl "$name: osslsigncode verify: Succeeded" ok "$s" "$CA" "$tsaca"
      if [[ $ts == tsa ]]; then
        expect_run "$name: signet verify reports the timestamp" 0 "timestamp 20.* by .*Signet Test TSA" -- \
          "$SIGNET" verify --trust "$CA" --tsa-trust "$TSA_CA" "$s"
      else
        expect_run "$name: signet verify" 0 "^OK .*signer: .*Signet PE signer $kt.*no timestamp" -- \
          "$SIGNET" verify --trust "$CA" "$s"
      fi
      expect_checksum "$name: PE checksum recomputed" "$s"
      expect_same_digest "$name: signet hash = osslsigncode's digest" "$s"
      expect_run "$name: image digest unchanged by signing" 0 "^$unsigned_digest " -- "$SIGNET" hash "$s"
      if [[ $ts == notsa ]]; then
        bad=tampered/$(basename "$s")
        tamper_text "$s" "$bad"
        peer_ossl "$name: osslsigncode rejects a flipped .text byte" bad "$bad" "$CA"
        expect_run "$name: signet verify rejects it (exit 1)" 1 'modified after signing' -- \
          "$SIGNET" verify --trust "$CA" "$bad"
      fi
    done
  done
done

# The certificate table: 8-byte aligned, at the end, the overlay kept.
read -r off size < <(python3 "$PE_DIR/pe_tool.py" cert-table out/overlay-rsa-notsa.exe)
expect_run "overlay.exe: table 8-aligned after the padded overlay" 0 -- \
  test $((off % 8)) -eq 0 -a "$off" -eq $((($(stat -c %s pe/overlay.exe) + 7) / 8 * 8)) \
  -a $((off + size)) -eq "$(stat -c %s out/overlay-rsa-notsa.exe)"
expect_run "overlay.exe: image bytes kept (apart from CheckSum and the table entry)" 0 -- python3 -c '
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
diff = [i for i in range(len(a)) if a[i] != b[i]]
sys.exit(0 if all(200 <= i < 400 for i in diff) and len(diff) <= 12 else f"differs at {diff[:20]}")
' pe/overlay.exe out/overlay-rsa-notsa.exe

# --output leaves the input alone; JSON output.
cp pe/x64.exe in.exe
before=$(sha256sum <in.exe)
expect_run "--output: exit 0" 0 -- "$SIGNET" --json sign --key "file:$T/k/ec.key" \
  --cert "$T/k/ec.chain.pem" --tsa "$TSA_URL" -o signed-copy.exe in.exe
expect_json "--output: JSON names the output, pe, timestamped" \
  "objs[0]['output'] == 'signed-copy.exe' and objs[0]['format'] == 'pe' and objs[0]['timestamped']"
expect_run "--output: input unchanged" 0 -- test "$(sha256sum <in.exe)" = "$before"
peer_ossl "--output: osslsigncode verifies the copy" ok signed-copy.exe "$CA" "$TSA_CA"
expect_run "--output: signet verify --json" 0 -- "$SIGNET" --json verify --trust "$CA" \
  --tsa-trust "$TSA_CA" signed-copy.exe
expect_json "verify --json: signer, digest, timestamp time" \
  "objs[0]['ok'] and 'Signet PE signer ec' in objs[0]['signer'] and objs[0]['digest_algorithm'] == 'sha256' and objs[0]['timestamp']['time'].startswith('20')"

# --description / --url end up in SpcSpOpusInfo.
cp pe/x86.exe desc.exe
expect_run "--description/--url: signet sign" 0 -- "$SIGNET" sign --key "file:$T/k/rsa.key" \
  --cert "$T/k/rsa.chain.pem" --description "Signet Test Program" --url "https://example.com/signet" desc.exe
peer_ossl "--description/--url: osslsigncode verifies" ok desc.exe "$CA"
expect_run "--description/--url: osslsigncode shows them" 0 \
  "Text description: Signet Test Program" -- osslsigncode verify -in desc.exe -CAfile "$CA"
expect_run "--description/--url: URL shown" 0 "URL description: https://example.com/signet" -- \
  osslsigncode verify -in desc.exe -CAfile "$CA"

# SHA-384 and SHA-512 image digests.
for d in sha384 sha512; do
  cp pe/x64.dll "$d.dll"
  expect_run "--digest $d: signet sign" 0 -- "$SIGNET" sign --key "file:$T/k/ec.key" \
    --cert "$T/k/ec.chain.pem" --digest "$d" "$d.dll"
  peer_ossl "--digest $d: osslsigncode verifies" ok "$d.dll" "$CA"
  expect_run "--digest $d: osslsigncode sees ${d^^}" 0 "Message digest algorithm *: ${d^^}" -- \
    osslsigncode verify -in "$d.dll" -CAfile "$CA"
  expect_run "--digest $d: signet verify" 0 "$d" -- "$SIGNET" verify --trust "$CA" "$d.dll"
done

# Re-signing replaces the signature (one signature, still valid).
cp out/x64-rsa-tsa.exe resign.exe
expect_run "re-sign: signet sign over a signed file" 0 -- "$SIGNET" sign --key "file:$T/k/ec.key" \
  --cert "$T/k/ec.chain.pem" resign.exe
peer_ossl "re-sign: osslsigncode verifies" ok resign.exe "$CA"
expect_run "re-sign: one signature, by the new key" 0 "Number of verified signatures: 1" -- \
  osslsigncode verify -in resign.exe -CAfile "$CA"
expect_run "re-sign: signet verify names the new signer, no nested" 0 \
  "^OK .*Signet PE signer ec.*no timestamp\)$" -- "$SIGNET" verify --trust "$CA" resign.exe

# Format detection: --format pe forces it; auto detects it by content.
cp pe/x86.dll forced.bin
expect_run "--format pe on a .bin name: signed in place" 0 "\(pe, " -- "$SIGNET" sign \
  --key "file:$T/k/ec.key" --cert "$T/k/ec.chain.pem" --format pe forced.bin
peer_ossl "--format pe: osslsigncode verifies" ok forced.bin "$CA"
# cms with --tsa: the same RFC 3161 token, as id-aa-timeStampToken.
make_file doc.txt 3000
expect_run "cms --tsa: signet sign" 0 "timestamped" -- "$SIGNET" sign --key "file:$T/k/ec.key" \
  --cert "$T/k/ec.chain.pem" --tsa "$TSA_URL" doc.txt
peer_cms "cms --tsa: openssl cms verifies" ok doc.txt.p7s doc.txt "$CA"
expect_run "cms --tsa: the token is an unsigned attribute" 0 "id-smime-aa-timeStampToken" -- \
  openssl cms -cmsout -print -inform DER -in doc.txt.p7s

expect_run "no stray files" 0 -- test -z "$(find . -name '.*signet-*')"

lib_finish
