#!/usr/bin/env bash
# awskms: against moto's KMS and STS on loopback (tests/tools/moto_kms.py:
# moto 5.2.1 patched to honour MessageType=DIGEST as AWS does, and checking
# every request's SigV4 signature with botocore).
#
#   - RSA-3072 and ECC_NIST_P256 keys made with boto3;
#   - signet key public matches boto3's GetPublicKey; signet key csr passes
#     openssl req -verify, and the test CA issues the certificate from it;
#   - cms (openssl cms -verify), raw (openssl dgst -verify, PKCS#1 v1.5 and
#     PSS) and pe (osslsigncode verify) artifacts signed through KMS;
#   - key URIs by alias, id and ARN, endpoint from the URI or the environment;
#   - web identity credentials through moto's STS (AssumeRoleWithWebIdentity);
#   - errors: wrong secret (exit 1, KMS's message), unknown alias, encryption
#     key, unsupported algorithm, --rsa-pss with an EC key (exit 2);
#   - no secret key or session token in any output.
set -euo pipefail
KMS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$2/lib.sh"
lib_init "$@"
source "$KMS_DIR/kms_lib.sh"
kms_need_tools moto
aws_test_env

start_server moto python3 "$TOOLS/moto_kms.py" --port-file "$T/moto.port" \
  --log "$T/moto-requests.log" --credentials "$T/aws-credentials.json" \
  --secrets-file "$T/moto-secrets"
MOTO=http://127.0.0.1:${SERVER_PORT[moto]}
HOSTPORT=127.0.0.1:${SERVER_PORT[moto]}

# Keys, made the way an administrator would (boto3), and their public keys as
# AWS returns them.
mkdir -p "$T/keys"
python3 - "$MOTO" "$T/keys" <<'PY'
import base64, json, sys
import boto3
endpoint, out = sys.argv[1], sys.argv[2]
kms = boto3.client("kms", endpoint_url=endpoint)
ids = {}
for name, spec, usage in (("rsa", "RSA_3072", "SIGN_VERIFY"), ("ec", "ECC_NIST_P256", "SIGN_VERIFY"),
                          ("enc", "RSA_2048", "ENCRYPT_DECRYPT")):
    meta = kms.create_key(KeyUsage=usage, KeySpec=spec, Description=f"signet {name}")["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/signet-{name}", TargetKeyId=meta["KeyId"])
    ids[name] = {"id": meta["KeyId"], "arn": meta["Arn"]}
    der = kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"]
    b64 = base64.b64encode(der).decode()
    pem = "".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
    with open(f"{out}/{name}.aws.pub.pem", "w") as f:
        f.write("-----BEGIN PUBLIC KEY-----\n" + pem + "-----END PUBLIC KEY-----\n")
json.dump(ids, open(f"{out}/ids.json", "w"))
PY
key_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$T/keys/ids.json" "$1" "$2"; }
RSA_URI=awskms://$HOSTPORT/alias/signet-rsa
EC_URI=awskms://$HOSTPORT/alias/signet-ec
RSA_ID_URI=awskms://$HOSTPORT/$(key_field rsa id)
EC_ARN=$(key_field ec arn)

make_ca "$T/ca" "Signet KMS test CA"
mkdir -p "$T/files" "$T/work"
make_file "$T/files/artifact.bin" 100000
printf 'signet kms\n' >"$T/files/small.txt"

# --- public keys, CSRs, certificates ---
for k in rsa ec; do
  uri=awskms://$HOSTPORT/alias/signet-$k
  cert_from_csr "$k" "$uri" "$T/certs" "$k"
  expect_run "$k: signet key public equals boto3's GetPublicKey" 0 -- \
    cmp "$T/certs/$k.pub.pem" "$T/keys/$k.aws.pub.pem"
done
expect_run "rsa: signet key show" 0 'RSA-3072' -- "$SIGNET" key show "$RSA_URI"
expect_run "ec: signet key show" 0 'EC P-256' -- "$SIGNET" key show "$EC_URI"

# --- cms and raw artifacts ---
RSA_SIGN=("$SIGNET" sign --key "$RSA_URI" --cert "$T/certs/rsa.chain.pem")
EC_SIGN=("$SIGNET" sign --key "$EC_URI" --cert "$T/certs/ec.chain.pem")
interop_case "rsa cms" cms "$T/files/artifact.bin" "$T/certs/rsa.pub.pem" "$T/ca/ca.pem" -- "${RSA_SIGN[@]}"
interop_case "rsa cms sha384" cms-sha384 "$T/files/artifact.bin" "$T/certs/rsa.pub.pem" "$T/ca/ca.pem" -- "${RSA_SIGN[@]}"
interop_case "rsa raw" raw "$T/files/small.txt" "$T/certs/rsa.pub.pem" "$T/ca/ca.pem" -- "${RSA_SIGN[@]}"
interop_case "rsa raw pss" raw-pss "$T/files/small.txt" "$T/certs/rsa.pub.pem" "$T/ca/ca.pem" -- "${RSA_SIGN[@]}"
interop_case "ec cms" cms "$T/files/artifact.bin" "$T/certs/ec.pub.pem" "$T/ca/ca.pem" -- "${EC_SIGN[@]}"
interop_case "ec raw" raw "$T/files/small.txt" "$T/certs/ec.pub.pem" "$T/ca/ca.pem" -- "${EC_SIGN[@]}"

# Key by id, and by ARN with the endpoint from AWS_ENDPOINT_URL_KMS.
interop_case "rsa by key id" raw "$T/files/small.txt" "$T/certs/rsa.pub.pem" "$T/ca/ca.pem" -- \
  "$SIGNET" sign --key "$RSA_ID_URI"
interop_case "ec by ARN, AWS_ENDPOINT_URL_KMS" cms "$T/files/small.txt" "$T/certs/ec.pub.pem" \
  "$T/ca/ca.pem" -- env AWS_ENDPOINT_URL_KMS="$MOTO" \
  "$SIGNET" sign --key "awskms:///$EC_ARN" --cert "$T/certs/ec.chain.pem"

# --- pe ---
if pe_available; then
  x86_64-w64-mingw32-gcc -O2 -o "$T/files/hello.exe" -x c - <<<'#include <stdio.h>
int main(void) { puts("signet kms"); return 0; }'
  pe_sign_case "rsa pe" "$T/files/hello.exe" -- "${RSA_SIGN[@]}"
  pe_sign_case "ec pe" "$T/files/hello.exe" -- "${EC_SIGN[@]}"
else
  skip "pe: this signet build has no pe format, or osslsigncode/mingw-w64 is missing"
fi

# --- web identity through STS ---
# A JWT-shaped token (moto's STS does not check it; AWS would).
JWT="eyJhbGciOiJSUzI1NiIsImtpZCI6InNpZ25ldCJ9.eyJzdWIiOiJyZXBvOnNpZ25ldDpyZWY6cmVmcy9oZWFkcy9tYWluIiwiYXVkIjoic3RzLmFtYXpvbmF3cy5jb20ifQ.$(openssl rand -hex 32)"
printf '%s\n' "$JWT" >"$T/web-identity-token"
lib_secret "$JWT"
WEB_ENV=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY
  AWS_WEB_IDENTITY_TOKEN_FILE="$T/web-identity-token"
  AWS_ROLE_ARN=arn:aws:iam::123456789012:role/signet-ci AWS_ROLE_SESSION_NAME=signet-interop
  AWS_ENDPOINT_URL_STS="$MOTO")
WEB_MARK=$(wc -l <"$T/moto-requests.log")
interop_case "web identity cms" cms "$T/files/artifact.bin" "$T/certs/ec.pub.pem" "$T/ca/ca.pem" -- \
  "${WEB_ENV[@]}" "$SIGNET" sign --key "$EC_URI" --cert "$T/certs/ec.chain.pem"
expect_run "web identity: KMS saw STS session credentials with valid SigV4 signatures" 0 -- \
  python3 -c '
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]).readlines()[int(sys.argv[2]):]]
sign = [r for r in records if r["target"] == "TrentService.Sign"]
assert sign, "no Sign request"
for r in records:
    assert r["access_key_id"].startswith("ASIA"), r
    assert r["session_token"], r
    assert r["signature"] == "ok", r
' "$T/moto-requests.log" "$WEB_MARK"
expect_error "web identity: role session without a token file (exit 2)" 2 'AWS_WEB_IDENTITY_TOKEN_FILE' \
  "$T/work" -- env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
  AWS_ROLE_ARN=arn:aws:iam::123456789012:role/signet-ci \
  "$SIGNET" sign --key "$EC_URI" --format raw "$T/work/../files/small.txt"

# --- every request so far carried a valid SigV4 signature ---
expect_run "moto: every KMS request's SigV4 signature matched botocore's" 0 -- \
  python3 -c '
import json, sys
lines = open(sys.argv[1]).readlines()
bad = [l for l in lines if json.loads(l)["signature"] != "ok"]
if bad or len(lines) < 20:
    sys.exit(f"{len(lines)} requests; not ok: " + "".join(bad))' "$T/moto-requests.log"

# --- errors ---
cp "$T/files/small.txt" "$T/work/a.txt"
expect_error "wrong secret key: KMS refuses the signature (exit 1)" 1 'InvalidSignatureException' \
  "$T/work" -- env AWS_SECRET_ACCESS_KEY=not-the-secret "$SIGNET" sign --key "$EC_URI" --format raw a.txt
expect_error "unknown alias (exit 2)" 2 'NotFoundException' "$T/work" -- \
  "$SIGNET" sign --key "awskms://$HOSTPORT/alias/no-such-key" --format raw a.txt
expect_error "encryption key (exit 2)" 2 'SIGN_VERIFY' "$T/work" -- \
  "$SIGNET" sign --key "awskms://$HOSTPORT/alias/signet-enc" --format raw a.txt
expect_error "--rsa-pss with an EC key (exit 2)" 2 'rsa-pss' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --rsa-pss --format raw a.txt
expect_error "P-256 key asked for SHA-384 (exit 2)" 2 'ECDSA_SHA_384' "$T/work" -- \
  "$SIGNET" sign --key "$EC_URI" --digest sha384 --format raw a.txt
expect_error "no region (exit 2)" 2 'region' "$T/work" -- \
  env -u AWS_REGION -u AWS_DEFAULT_REGION "$SIGNET" sign --key "$EC_URI" --format raw a.txt
expect_error "plain http endpoint that is not loopback (exit 2)" 2 'loopback' "$T/work" -- \
  env AWS_ENDPOINT_URL_KMS=http://kms.example.com "$SIGNET" sign --key awskms:///alias/x --format raw a.txt
expect_error "malformed key URI (exit 2)" 2 'awskms://' "$T/work" -- \
  "$SIGNET" sign --key awskms:alias/x --format raw a.txt

expect_no_credentials "$T/moto-secrets"
lib_finish
