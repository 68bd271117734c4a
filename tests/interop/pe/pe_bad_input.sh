#!/usr/bin/env bash
# Bad input to the pe format and TSA faults. Every case checks (expect_error
# in tests/tools/lib.sh): the exit code, one "signet: error:" line on stderr
# naming the cause, and that nothing in the directory changed -- the file is
# byte-identical and no temp file is left behind.
#   - exit 2: files truncated at several offsets, e_lfanew outside the file,
#     the section table / a section's data / the certificate table pointing
#     outside the file, a non-PE file with --format pe, an existing signature
#     that is garbage (sign, verify, --append, timestamp), and misuse
#     (--append or unsign or timestamp on an unsigned file, RSA-PSS, Ed25519,
#     --tsa with raw, no certificate, verify without --trust);
#   - TSA faults: unreachable (exit 3); HTTP 500, a garbage body, a rejection,
#     a token for another digest or with the wrong nonce (exit 1) -- for
#     `sign --tsa` and for `timestamp`.
#
# usage: pe_bad_input.sh SIGNET_BINARY TOOLS_DIR
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
K=$T/k
CA=$K/ca.pem
make_key ed25519 "$K/ed.key"
public_key "$K/ed.key" "$K/ed.pub.pem"
issue_cert "$K" "$K/ed.pub.pem" "$K/ed.crt" "ed signer"
start_tsa
EC=(--key "file:$K/ec.key" --cert "$K/ec.chain.pem")
RSA=(--key "file:$K/rsa.key" --cert "$K/rsa.chain.pem")

mkdir w
mutate() { python3 "$PE_DIR/pe_tool.py" mutate "$@"; }

# ---- malformed files: exit 2, file untouched ----------------------------------------
x64=pe/x64.exe
lfanew=$(od -An -tu4 -j 60 -N4 "$x64" | tr -d ' ')
sections_at=$((lfanew + 24 + 240))
for cut in 40 $((lfanew + 10)) $((lfanew + 100)) $((sections_at + 50)) 3000 last-section; do
  if [[ $cut == last-section ]]; then
    mutate "$x64" truncate-last-section "w/trunc$cut.exe"
  else
    mutate "$x64" "truncate:$cut" "w/trunc$cut.exe"
  fi
  expect_error "truncated at $cut: sign --format pe" 2 \
    'trunc.*(too short|outside|runs past|PE)' w -- "$SIGNET" sign "${EC[@]}" --format pe "trunc$cut.exe"
  expect_error "truncated at $cut: verify --format pe" 2 \
    'trunc.*(too short|outside|runs past|PE)' w -- "$SIGNET" verify --trust "$CA" --format pe "trunc$cut.exe"
done
mutate "$x64" lfanew-outside w/lfanew.exe
expect_error "e_lfanew outside the file: sign --format pe" 2 'e_lfanew .* outside the file' w -- \
  "$SIGNET" sign "${EC[@]}" --format pe lfanew.exe
expect_error "e_lfanew outside the file: hash --format pe" 2 'e_lfanew' w -- \
  "$SIGNET" hash --format pe lfanew.exe
mutate "$x64" sections-outside w/sections.exe
expect_error "section table outside the file: sign (detected as pe)" 2 'section table .* past the end' w -- \
  "$SIGNET" sign "${EC[@]}" sections.exe
mutate "$x64" section-data-outside w/secdata.exe
expect_error "section data outside the file: sign" 2 'section .* outside the file' w -- \
  "$SIGNET" sign "${EC[@]}" secdata.exe
mutate "$x64" certtable-outside w/certtable.exe
expect_error "certificate table outside the file: sign" 2 'certificate table .* outside the file' w -- \
  "$SIGNET" sign "${EC[@]}" certtable.exe
expect_error "certificate table outside the file: verify" 2 'certificate table' w -- \
  "$SIGNET" verify --trust "$CA" certtable.exe
expect_error "certificate table outside the file: unsign" 2 'certificate table' w -- \
  "$SIGNET" unsign certtable.exe
head -c 5000 /dev/urandom >w/random.bin
printf 'MZ this is text, not a program\n%.0s' {1..40} >w/mz.txt
expect_error "non-PE file with --format pe" 2 'random.bin: not a PE file' w -- \
  "$SIGNET" sign "${EC[@]}" --format pe random.bin
expect_error "MZ text with --format pe" 2 'mz.txt: (e_lfanew|not a PE)' w -- \
  "$SIGNET" sign "${EC[@]}" --format pe mz.txt
expect_error "non-PE file: unsign --format pe" 2 'not a PE file' w -- \
  "$SIGNET" unsign --format pe random.bin

mutate pe/x86.dll garbage-signature w/garbage.dll
expect_error "garbage signature: sign" 2 'garbage.dll: the existing signature is garbage' w -- \
  "$SIGNET" sign "${EC[@]}" garbage.dll
expect_error "garbage signature: sign --append" 2 'existing signature is garbage' w -- \
  "$SIGNET" sign "${EC[@]}" --append garbage.dll
expect_error "garbage signature: verify" 2 'existing signature is garbage' w -- \
  "$SIGNET" verify --trust "$CA" garbage.dll
expect_error "garbage signature: timestamp (before asking the TSA)" 2 'existing signature is garbage' w -- \
  "$SIGNET" timestamp --tsa "$TSA_URL" garbage.dll
tsa_count=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "${TSA_URL}count")
expect_run "garbage signature: the TSA was not asked" 0 "^0$" -- echo "$tsa_count"
cp w/garbage.dll garbage-copy.dll
expect_run "garbage signature: unsign removes it anyway" 0 -- "$SIGNET" unsign garbage-copy.dll
expect_run "garbage signature: then signs" 0 -- "$SIGNET" sign "${EC[@]}" garbage-copy.dll
peer_ossl "garbage signature: unsign + sign verifies" ok garbage-copy.dll "$CA"

# ---- misuse ----------------------------------------------------------------------------
cp pe/x64.exe w/plain.exe
cp pe/x64.exe signed.exe
"$SIGNET" -q sign "${EC[@]}" signed.exe
cp signed.exe w/signed.exe
expect_error "--append on an unsigned file" 2 'no signature to append to' w -- \
  "$SIGNET" sign "${EC[@]}" --append plain.exe
expect_error "unsign an unsigned file" 2 'not signed' w -- "$SIGNET" unsign plain.exe
expect_error "timestamp an unsigned file" 2 'not signed' w -- "$SIGNET" timestamp --tsa "$TSA_URL" plain.exe
expect_error "RSA-PSS for Authenticode" 2 'PKCS#1 v1.5' w -- "$SIGNET" sign "${RSA[@]}" --rsa-pss plain.exe
expect_error "Ed25519 for Authenticode" 2 'Ed25519' w -- \
  "$SIGNET" sign --key "file:$K/ed.key" --cert "$K/ed.crt" plain.exe
expect_error "no certificate for the key" 2 'certificate' w -- \
  "$SIGNET" sign --key "file:$K/ec.key" plain.exe
expect_error "--tsa with the raw format" 2 'no place for a timestamp' w -- \
  "$SIGNET" sign "${EC[@]}" --format raw --tsa "$TSA_URL" plain.exe
expect_error "--append with the cms format" 2 'append' w -- \
  "$SIGNET" sign "${EC[@]}" --format cms --append plain.exe
expect_error "verify a PE without --trust" 2 'needs --trust' w -- "$SIGNET" verify signed.exe
expect_error "--description that is not UTF-8" 2 'UTF-8' w -- \
  "$SIGNET" sign "${EC[@]}" --description $'bad \xff' plain.exe

# ---- TSA faults: the file is unchanged in every case ----------------------------------
for target in plain.exe signed.exe; do
  expect_error "TSA unreachable: sign $target (exit 3)" 3 'timestamp: .*127\.0\.0\.1:1/.*3 tries' w -- \
    "$SIGNET" sign "${EC[@]}" --tsa http://127.0.0.1:1/ "$target"
  for fault in http500 garbage reject wrong-digest wrong-nonce; do
    case $fault in
      http500) why='HTTP 500' ;;
      garbage) why='not an RFC 3161 TimeStampResp' ;;
      reject) why='refused' ;;
      wrong-digest) why='another digest' ;;
      wrong-nonce) why='nonce' ;;
    esac
    expect_error "TSA $fault: sign $target (exit 1)" 1 "$why" w -- \
      "$SIGNET" sign "${EC[@]}" --tsa "$TSA_URL$fault" "$target"
  done
done
expect_error "TSA unreachable: timestamp (exit 3)" 3 'no valid timestamp' w -- \
  "$SIGNET" timestamp --tsa http://127.0.0.1:1/ signed.exe
for fault in http500 garbage wrong-digest wrong-nonce; do
  expect_error "TSA $fault: timestamp (exit 1)" 1 'no valid timestamp' w -- \
    "$SIGNET" timestamp --tsa "$TSA_URL$fault" signed.exe
done
expect_run "a good TSA after a failing one is used" 0 "timestamped" -- \
  "$SIGNET" sign "${EC[@]}" --tsa "${TSA_URL}http500" --tsa "$TSA_URL" signed.exe
peer_ossl "a good TSA after a failing one: osslsigncode verifies the timestamp" ok signed.exe "$CA" "$TSA_CA"

lib_finish
