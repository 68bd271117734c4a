#!/usr/bin/env bash
# Interop through PKCS#11 on a SoftHSM2 token (tests/tools/softhsm_token.sh):
# RSA-3072 (certificate on the token) and ECDSA P-256 (certificate given with
# --cert) keys, PIN from SIGNET_PKCS11_PIN, --pin-file and the URI's
# pin-source, x cms / raw variants; each signature checked by the peer and
# signet verify, and a tampered copy rejected by both. Also `signet key list`
# (full URIs, type and size), `key public` against the key pkcs11-tool
# exports, `key show`, the Ed25519 token key refused, multi-file --json.
# Skipped (exit 77) when signet was built without PKCS#11.
#
# usage: pkcs11_softhsm.sh SIGNET_BINARY TOOLS_DIR
set -euo pipefail
# shellcheck source=../tools/lib.sh
source "$2/lib.sh"
lib_init "$@"
cd "$T"

PIN='pin-SECRET-5oft'
L=signet-interop
H=$T/hsm
lib_secret "$PIN"
softhsm_setup "$H" "$L" "$PIN"
MOD="module-path=$SOFTHSM_MODULE"
RSA="pkcs11:token=$L;object=rsa"
EC="pkcs11:token=$L;object=ec"
printf '%s\n' "$PIN" >pin.txt
CA=$H/ca.pem
RSA_PUB=$H/$L/rsa.pub.pem
EC_PUB=$H/$L/ec.pub.pem
issue_cert "$H" "$EC_PUB" ec.crt "token ec signer"

mkdir files
for size in 0 4097 3145851; do make_file "files/f$size" "$size"; done

# ---- key list / public / show -------------------------------------------------
expect_run "key list: exit 0" 0 -- env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" key list "pkcs11:token=$L?$MOD"
out >list.txt
want_keys="[('rsa', '01', 'RSA-3072', True), ('ec', '02', 'EC P-256', False)]"
[[ -f $H/$L/ed.pub.pem ]] && want_keys="${want_keys%]}, ('ed', '03', 'Ed25519', False)]"
expect_run "key list: full pkcs11: URIs with type and size" 0 -- python3 -c '
import re, sys
want = eval(sys.argv[2])
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
if len(rows) != len(want):
    sys.exit(f"expected {len(want)} keys, got {rows}")
for name, id_, type_, cert in want:
    row = [r for r in rows if re.search(f"[:;]object={name}[;?]", r[0])]
    if len(row) != 1:
        sys.exit(f"no single row for object={name}: {rows}")
    row = row[0]
    for part in ("pkcs11:", f"token={sys.argv[3]}", f"id=%{id_}", "module-path="):
        if part not in row[0]:
            sys.exit(f"{part!r} missing from {row[0]!r}")
    if row[1] != type_ or (len(row) > 2 and row[2] == "certificate") != cert:
        sys.exit(f"row {row} should say {type_}" + (" and certificate" if cert else ""))
' list.txt "$want_keys" "$L"
RSA_LISTED=$(grep -E '[:;]object=rsa[;?]' list.txt | cut -f 1)
expect_run "key list --json" 0 -- env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" --json key list "pkcs11:token=$L?$MOD"
expect_json "key list --json: one object per key, uri/type/certificate" \
  "{('rsa', 'RSA-3072', True), ('ec', 'EC P-256', False)} <= {(o['label'], o['type'], o['certificate']) for o in objs}
   and all(o['uri'].startswith('pkcs11:') for o in objs)"

for k in rsa:01 ec:02; do
  name=${k%:*} id=${k#*:}
  pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$L" --read-object --type pubkey --id "$id" \
    -o "$name.p11tool.der" >/dev/null 2>&1
  openssl pkey -pubin -inform DER -in "$name.p11tool.der" -outform DER -out "$name.expected.der"
  expect_run "key public $name: exit 0" 0 'BEGIN PUBLIC KEY' -- \
    "$SIGNET" key public --pin-file pin.txt "pkcs11:token=$L;object=$name?$MOD"
  openssl pkey -pubin -in "$T/.out" -outform DER -out "$name.signet.der"
  expect_run "key public $name: same key as pkcs11-tool --read-object exports" 0 -- \
    cmp "$name.expected.der" "$name.signet.der"
done
expect_run "key public -o FILE" 0 -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" key public -o rsa.pub.pem "$RSA?$MOD"
expect_run "key public -o FILE: same key as pkcs11-tool" 0 -- \
  cmp rsa.expected.der <(openssl pkey -pubin -in rsa.pub.pem -outform DER)
expect_run "key show rsa: the token's certificate" 0 'certificate: .*Signet test signer' -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" key show "$RSA?$MOD"

# ---- sign: RSA (certificate from the token) -----------------------------------
interop_case "rsa/pin-env/cms/f4097" cms files/f4097 "$RSA_PUB" "$CA" -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$RSA?$MOD"
interop_case "rsa/pin-env/raw/f0" raw files/f0 "$RSA_PUB" "$CA" -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$RSA?$MOD"
for v in cms-pem raw raw-pss; do
  for f in f0 f3145851; do
    interop_case "rsa/pin-file/$v/$f" "$v" "files/$f" "$RSA_PUB" "$CA" -- \
      "$SIGNET" sign --key "$RSA?$MOD" --pin-file pin.txt
  done
done
interop_case "rsa/pin-source/cms-sha384/f4097" cms-sha384 files/f4097 "$RSA_PUB" "$CA" -- \
  "$SIGNET" sign --key "$RSA?$MOD&pin-source=file:$T/pin.txt"
interop_case "rsa/pin-source/raw-pss/f4097" raw-pss files/f4097 "$RSA_PUB" "$CA" -- \
  "$SIGNET" sign --key "$RSA?$MOD&pin-source=$T/pin.txt"
interop_case "rsa/listed-uri/cms/f4097" cms files/f4097 "$RSA_PUB" "$CA" -- \
  "$SIGNET" sign --key "$RSA_LISTED" --pin-file pin.txt
interop_case "rsa/SIGNET_PKCS11_MODULE/cms/f4097" cms files/f4097 "$RSA_PUB" "$CA" -- \
  env SIGNET_PKCS11_PIN="$PIN" SIGNET_PKCS11_MODULE="$SOFTHSM_MODULE" "$SIGNET" sign --key "$RSA"

# ---- sign: EC (certificate given with --cert) ---------------------------------
interop_case "ec/pin-env/cms/f3145851" cms files/f3145851 "$EC_PUB" "$CA" -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" sign --key "$EC?$MOD" --cert ec.crt
interop_case "ec/pin-file/raw/f0" raw files/f0 "$EC_PUB" "$CA" -- \
  "$SIGNET" sign --key "$EC?$MOD" --pin-file pin.txt --cert ec.crt
interop_case "ec/pin-file/raw/f3145851" raw files/f3145851 "$EC_PUB" "$CA" -- \
  "$SIGNET" sign --key "$EC?$MOD" --pin-file pin.txt
interop_case "ec/pin-source/cms-pem/f0" cms-pem files/f0 "$EC_PUB" "$CA" -- \
  "$SIGNET" sign --key "$EC?$MOD&pin-source=file:$T/pin.txt" --cert ec.crt
interop_case "ec/id-only/raw-sha384/f4097" raw-sha384 files/f4097 "$EC_PUB" "$CA" -- \
  "$SIGNET" sign --key "pkcs11:token=$L;id=%02?$MOD" --pin-file pin.txt

# ---- a PIN in the URI (pin-value) is never printed -------------------------------
for cmd in "sign --key $RSA?$MOD&pin-value=$PIN -o $T/pv.p7s files/f4097" \
  "key list pkcs11:token=$L?$MOD&pin-value=$PIN" "key show $RSA?$MOD&pin-value=$PIN"; do
  read -r -a argv <<<"$cmd"
  expect_run "pin-value: signet --json ${argv[0]} ${argv[1]}: exit 0" 0 -- "$SIGNET" --json "${argv[@]}"
  expect_no_secret "pin-value: signet --json ${argv[0]} ${argv[1]}: the PIN is not printed"
  expect_run "pin-value: signet ${argv[0]} ${argv[1]}: exit 0" 0 -- "$SIGNET" "${argv[@]}"
  expect_no_secret "pin-value: signet ${argv[0]} ${argv[1]}: the PIN is not printed"
done

# ---- Ed25519 on the token: refused by both formats ----------------------------
if [[ -f $H/$L/ed.pub.pem ]]; then
  mkdir ed
  make_file ed/f 100
  issue_cert "$H" "$H/$L/ed.pub.pem" ed.crt "token ed signer"
  for fmt in cms raw; do
    expect_error "Ed25519 token key refused by $fmt" 2 'Ed25519.* cannot' ed -- \
      "$SIGNET" sign --key "pkcs11:token=$L;object=ed?$MOD" --pin-file "$T/pin.txt" \
      --cert "$T/ed.crt" --format "$fmt" f
  done
else
  skip "Ed25519 token key refused (the module cannot make Ed25519 keys)"
fi

# ---- three files, one login, --json -------------------------------------------
mkdir multi
for f in a b c; do make_file "multi/$f" $((RANDOM * 37)); done
expect_run "multi-file: signet --json sign a b c with the token" 0 -- \
  env SIGNET_PKCS11_PIN="$PIN" "$SIGNET" --json sign --key "$RSA?$MOD" multi/a multi/b multi/c
expect_json "multi-file: three ok objects naming the token key" \
  "[o['file'] for o in objs] == ['multi/a', 'multi/b', 'multi/c']
   and all(o['ok'] is True and o['key'].startswith('pkcs11:') and '$PIN' not in o['key'] for o in objs)"
for f in a b c; do
  peer_cms "multi-file: openssl cms -verify accepts multi/$f.p7s" ok "multi/$f.p7s" "multi/$f" "$CA"
done
expect_run "multi-file: signet --json verify" 0 -- \
  "$SIGNET" --json verify --trust "$CA" multi/a multi/b multi/c
expect_json "multi-file: verify prints three ok objects" "len(objs) == 3 and all(o['ok'] is True for o in objs)"

lib_finish
