#!/usr/bin/env bash
# Authenticode signing with keys on a SoftHSM2 token (PKCS#11): RSA-3072
# (certificate on the token) and ECDSA P-256 (certificate given with --cert),
# each real PE file (mingw-w64: x86_64/i686, EXE/DLL, trailing data) with and
# without --tsa. osslsigncode verify ends with "Succeeded" (the timestamp
# verified when present) and signet verify accepts; a flipped .text byte is
# rejected by both. Skipped (exit 77) without PKCS#11 support or SoftHSM2.
#
# usage: pe_softhsm.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
PE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
# shellcheck source=pe_lib.sh
source "$PE_DIR/pe_lib.sh"
pe_need_tools
cd "$T"

PIN='pin-SECRET-pe-hsm'
L=signet-pe
H=$T/hsm
lib_secret "$PIN"
softhsm_setup "$H" "$L" "$PIN"
export SIGNET_PKCS11_PIN=$PIN
MOD="module-path=$SOFTHSM_MODULE"
CA=$H/ca.pem
issue_cert "$H" "$H/$L/ec.pub.pem" ec.crt "Signet PE token signer ec"

build_pe_files "$T/pe"
start_tsa

mkdir out tampered
for f in "${PE_FILES[@]}"; do
  for kt in rsa ec; do
    key=(--key "pkcs11:token=$L;object=$kt?$MOD")
    [[ $kt == ec ]] && key+=(--cert ec.crt)
    for ts in notsa tsa; do
      name="$f/token-$kt/$ts"
      s=out/${f%.*}-$kt-$ts.${f##*.}
      cp "pe/$f" "$s"
      opts=("${key[@]}")
      tsaca=
      if [[ $ts == tsa ]]; then
        opts+=(--tsa "$TSA_URL")
        tsaca=$TSA_CA
      fi
      expect_run "$name: signet sign" 0 "\(pe, " -- "$SIGNET" sign "${opts[@]}" "$s"
      peer_ossl "$name: osslsigncode verify: Succeeded" ok "$s" "$CA" "$tsaca"
      verify=("$SIGNET" verify --trust "$CA")
      [[ -n $tsaca ]] && verify+=(--tsa-trust "$tsaca")
      expect_run "$name: signet verify" 0 "^OK .*$([[ $kt == rsa ]] && echo RSA-3072 || echo 'EC P-256')" -- \
        "${verify[@]}" "$s"
      expect_checksum "$name: PE checksum" "$s"
      if [[ $ts == notsa ]]; then
        bad=tampered/$(basename "$s")
        tamper_text "$s" "$bad"
        peer_ossl "$name: osslsigncode rejects a flipped .text byte" bad "$bad" "$CA"
        expect_run "$name: signet verify rejects it (exit 1)" 1 'modified after signing' -- \
          "${verify[@]}" "$bad"
      fi
    done
  done
done

lib_finish
