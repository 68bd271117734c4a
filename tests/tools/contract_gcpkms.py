#!/usr/bin/env python3
"""A loopback CONTRACT server for Google Cloud KMS and Google's token services,
for the gcpkms: backend's tests. Not an emulator: it checks that each request
is what the services document, and signs with local keys.

    contract_gcpkms.py --port-file F [--secrets-file S] --state-dir D
        [--subject-token-file F] [--source-token-file F]

Writes, once the port is known:
  D/service_account.json   a "service_account" credential (token_uri -> here)
  D/external_file.json     an "external_account" credential, subject token from
                           --subject-token-file, no impersonation
  D/external_url.json      an "external_account" credential, subject token from
                           GET /subject-token (json format, field "value", with
                           "Authorization: Bearer" the --source-token-file's
                           token), then service account impersonation
  D/NAME.pub.pem           the public keys
Cloud KMS (REST v1):
  GET  /v1/projects/signet-test/locations/global/keyRings/ring/cryptoKeys/K/cryptoKeyVersions/1/publicKey
  POST /v1/...cryptoKeyVersions/1:asymmetricSign  {"digest": {"sha256": BASE64}, "digestCrc32c": "N"}
  both with "Authorization: Bearer TOKEN". Keys K (version 1): rsa
  (RSA_SIGN_PKCS1_3072_SHA256), rsapss (RSA_SIGN_PSS_3072_SHA256), ec
  (EC_SIGN_P256_SHA256), ec384 (EC_SIGN_P384_SHA384), rsa512 (RSA_SIGN_PKCS1_4096_SHA512).
Tokens:
  POST /token            RFC 7523 jwt-bearer grant: an RS256 JWT signed by the
                         service account key (kid = private_key_id, iss =
                         client_email, scope cloudkms, aud = token_uri, iat, exp <= iat+3600)
  POST /sts/v1/token     RFC 8693 token exchange (audience, scope cloud-platform,
                         requested_token_type access_token, subject_token(_type))
  POST /iamcredentials/v1/projects/-/serviceAccounts/SA:generateAccessToken
                         Bearer STS token, {"scope": [cloud-platform], "lifetime"}
  GET  /computeMetadata/v1/instance/service-accounts/default/token   Metadata-Flavor: Google
Fault targets: token, key, sign. Service modes: badsig (signature over another
digest), badcrc (wrong signatureCrc32c), unverified (verifiedDigestCrc32c
false), badpemcrc (wrong pemCrc32c), wrongname (another key version's name).
"""
import argparse
import base64
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract_lib as cl  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

PARENT = "projects/signet-test/locations/global/keyRings/ring/cryptoKeys"
SA_EMAIL = "signer@signet-test.iam.gserviceaccount.com"
KMS_SCOPE = "https://www.googleapis.com/auth/cloudkms"
PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
AUDIENCE = "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/ci/providers/github"
SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
KEYS = {  # name -> (key kind, algorithm, scheme, hash)
    "rsa": ("rsa3072", "RSA_SIGN_PKCS1_3072_SHA256", "pkcs1", "sha256"),
    "rsapss": ("rsa3072", "RSA_SIGN_PSS_3072_SHA256", "pss", "sha256"),
    "ec": ("p256", "EC_SIGN_P256_SHA256", "ecdsa", "sha256"),
    "ec384": ("p384", "EC_SIGN_P384_SHA384", "ecdsa", "sha384"),
    "rsa512": ("rsa4096", "RSA_SIGN_PKCS1_4096_SHA512", "pkcs1", "sha512"),
}
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class AnyOf:
    def __init__(self, *stores):
        self.stores = stores

    def valid(self, token):
        return any(store.valid(token) for store in self.stores)


def read(path):
    with open(path) as f:
        return f.read().strip()


class CloudKms(cl.Service):
    name = "gcpkms"

    def __init__(self, args):
        super().__init__(args)
        self.keys = {}
        for name, (kind, *_rest) in KEYS.items():
            self.keys[name] = cl.generate(kind)
            with open(os.path.join(args.state_dir, f"{name}.pub.pem"), "w") as f:
                f.write(cl.public_pem(self.keys[name]))
        self.sa_key = cl.generate("rsa2048")
        self.sa_key_id = "0123456789abcdef0123456789abcdef01234567"
        self.subject_token = read(args.subject_token_file) if args.subject_token_file else None
        self.source_token = read(args.source_token_file) if args.source_token_file else None
        for s in (self.subject_token, self.source_token):
            if s:
                self.tokens.record(s)
        # Federated tokens from STS: valid for impersonation and (as when the
        # pool's principal has IAM roles itself) for Cloud KMS.
        self.sts_tokens = cl.Tokens(args.secrets_file)
        self.kms_tokens = AnyOf(self.tokens, self.sts_tokens)

    def started(self):
        d = self.args.state_dir
        pem = self.sa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        self.tokens.record(pem.splitlines()[1])  # a line of the private key
        self.write(d, "service_account.json", {
            "type": "service_account", "project_id": "signet-test", "private_key_id": self.sa_key_id,
            "private_key": pem, "client_email": SA_EMAIL, "client_id": "104242424242424242424",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.base_url}/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs"})
        self.write(d, "external_file.json", {
            "type": "external_account", "audience": AUDIENCE, "subject_token_type": SUBJECT_TOKEN_TYPE,
            "token_url": f"{self.base_url}/sts/v1/token",
            "credential_source": {"file": self.args.subject_token_file}})
        self.write(d, "external_url.json", {
            "type": "external_account", "audience": AUDIENCE, "subject_token_type": SUBJECT_TOKEN_TYPE,
            "token_url": f"{self.base_url}/sts/v1/token",
            "service_account_impersonation_url":
                f"{self.base_url}/iamcredentials/v1/projects/-/serviceAccounts/{SA_EMAIL}:generateAccessToken",
            "credential_source": {"url": f"{self.base_url}/subject-token",
                                  "headers": {"Authorization": f"Bearer {self.source_token}"},
                                  "format": {"type": "json", "subject_token_field_name": "value"}}})

    @staticmethod
    def write(d, name, obj):
        with open(os.path.join(d, name), "w") as f:
            json.dump(obj, f, indent=2)

    def routes(self):
        v = rf"/v1/({re.escape(PARENT)}/([a-z0-9]+)/cryptoKeyVersions/([0-9]+))"
        return [
            ("POST", r"/token", "token", self.sa_token),
            ("POST", r"/sts/v1/token", "token", self.sts_token),
            ("POST", rf"/iamcredentials/v1/projects/-/serviceAccounts/{re.escape(SA_EMAIL)}:generateAccessToken",
             "token", self.impersonate),
            ("GET", r"/subject-token", "token", self.subject_token_source),
            ("GET", r"/computeMetadata/v1/instance/service-accounts/default/token", "token", self.metadata_token),
            ("GET", v + r"/publicKey", "key", self.public_key),
            ("POST", v + r":asymmetricSign", "sign", self.sign),
        ]

    def error_body(self, status, code, message, target=None):
        if target == "token" and status in (400, 401):
            return {"error": code or "invalid_grant", "error_description": message}
        return {"error": {"code": status, "message": message, "status": code or STATUS.get(status, "UNKNOWN")}}

    def forbidden_message(self, target):
        return ("Permission 'cloudkms.cryptoKeyVersions.useToSign' denied on resource "
                f"'{PARENT}/rsa/cryptoKeyVersions/1' (or it may not exist). (fault injected)")

    def malformed_body(self):
        return b'{"signature": "AAAA", "signatureCrc32c": "12'

    # ---- tokens ----

    def access_token(self, prefix="ya29.contract"):
        return 200, {"access_token": self.tokens.issue(prefix), "expires_in": 3599, "token_type": "Bearer"}

    def sa_token(self, req, m):
        fields = req.form(required=("grant_type", "assertion"))
        if fields["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise cl.ContractError("grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer",
                                   code="unsupported_grant_type")
        header, claims = cl.verify_rs256_jwt(fields["assertion"], self.sa_key.public_key(), "assertion")
        if header.get("kid") != self.sa_key_id:
            raise cl.ContractError("assertion header kid must be the key's private_key_id", code="invalid_grant")
        if claims.get("iss") != SA_EMAIL:
            raise cl.ContractError("assertion iss must be the client_email", code="invalid_grant")
        if claims.get("aud") != f"{self.base_url}/token":
            raise cl.ContractError("assertion aud must be the token_uri", code="invalid_grant")
        scopes = str(claims.get("scope", "")).split()
        if KMS_SCOPE not in scopes and PLATFORM_SCOPE not in scopes:
            raise cl.ContractError("assertion scope must include cloudkms or cloud-platform", code="invalid_scope")
        if "sub" in claims and claims["sub"] != SA_EMAIL:
            raise cl.ContractError("assertion sub (domain-wide delegation) is not allowed here", code="invalid_grant")
        cl.check_times(claims, "assertion", 3600)
        return self.access_token()

    def sts_token(self, req, m):
        fields = req.form(required=("grant_type", "audience", "scope", "requested_token_type",
                                    "subject_token", "subject_token_type"), optional=("options",))
        expected = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": AUDIENCE,
                    "scope": PLATFORM_SCOPE,
                    "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "subject_token_type": SUBJECT_TOKEN_TYPE}
        for name, value in expected.items():
            if fields[name] != value:
                raise cl.ContractError(f"{name} must be {value!r}, got {fields[name]!r}", code="invalid_request")
        if fields["subject_token"] != self.subject_token:
            raise cl.ContractError("the subject token is not valid", status=400, code="invalid_grant")
        return 200, {"access_token": self.sts_tokens.issue("sts.federated"),
                     "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                     "token_type": "Bearer", "expires_in": 3600}

    def impersonate(self, req, m):
        req.bearer(self.sts_tokens)
        body = req.json(required=("scope",), optional=("lifetime", "delegates"))
        if body["scope"] != [PLATFORM_SCOPE] and KMS_SCOPE not in body["scope"]:
            raise cl.ContractError("scope must be a list with cloud-platform or cloudkms")
        if "lifetime" in body and not re.fullmatch(r"[0-9]+(\.[0-9]+)?s", str(body["lifetime"])):
            raise cl.ContractError("lifetime must be a duration like '3600s'")
        expire = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        return 200, {"accessToken": self.tokens.issue("ya29.impersonated"),
                     "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def subject_token_source(self, req, m):
        if req.header("Authorization") != f"Bearer {self.source_token}":
            raise cl.ContractError("the subject token source needs its Authorization header", status=401)
        return 200, {"count": 1, "value": self.subject_token}

    def metadata_token(self, req, m):
        req.require_header("Metadata-Flavor", "Google", status=403)
        if req.header("X-Forwarded-For") is not None:
            raise cl.ContractError("requests with X-Forwarded-For are refused", status=403)
        req.query_exactly({}, optional=("scopes",))
        status, body = self.access_token("ya29.metadata")
        return status, body, [("Metadata-Flavor", "Google")]

    # ---- Cloud KMS ----

    def key_or_404(self, name, key_id, version):
        if key_id not in KEYS or version != "1":
            raise cl.ContractError(f"{name} not found.", status=404, code="NOT_FOUND")
        return KEYS[key_id], self.keys[key_id]

    def public_key(self, req, m):
        req.query_exactly({})
        req.bearer(self.kms_tokens)
        name = m.group(1)
        (kind, algorithm, scheme, hash_name), key = self.key_or_404(name, m.group(2), m.group(3))
        pem = cl.public_pem(key)
        crc = cl.crc32c(pem.encode())
        if req.fault == "badpemcrc":
            crc ^= 1
        return 200, {"pem": pem, "algorithm": algorithm, "pemCrc32c": str(crc), "name": name,
                     "protectionLevel": "HSM"}

    def sign(self, req, m):
        req.query_exactly({})
        req.bearer(self.kms_tokens)
        name = m.group(1)
        (kind, algorithm, scheme, hash_name), key = self.key_or_404(name, m.group(2), m.group(3))
        body = req.json(optional=("digest", "digestCrc32c", "data", "dataCrc32c"))
        if "data" in body or "dataCrc32c" in body:
            raise cl.ContractError(f"{algorithm} keys sign digests: send digest, not data")
        digest_obj = body.get("digest")
        if not isinstance(digest_obj, dict) or len(digest_obj) != 1:
            raise cl.ContractError("digest must be an object with exactly one of sha256, sha384, sha512")
        (field, value), = digest_obj.items()
        if field != hash_name:
            raise cl.ContractError(f"The requested digest algorithm {field} does not match the key "
                                   f"version's algorithm {algorithm}")
        digest = cl.b64_decode_strict(value, f"digest.{field}")
        if len(digest) != cl.DIGEST_SIZES[hash_name]:
            raise cl.ContractError(f"digest.{field} must be {cl.DIGEST_SIZES[hash_name]} bytes")
        verified = False
        if "digestCrc32c" in body:
            crc = body["digestCrc32c"]
            if not isinstance(crc, str) or not crc.isdigit():
                raise cl.ContractError("digestCrc32c must be an int64 in its JSON form (a decimal string)")
            if int(crc) != cl.crc32c(digest):
                raise cl.ContractError("The checksum in field digest_crc32c did not match the data in field digest.")
            verified = True
        if req.fault == "unverified":
            verified = False
        if req.fault == "badsig":
            digest = cl.other_digest(digest)
        signature = cl.sign_digest(key, digest, hash_name, scheme)
        crc = cl.crc32c(signature)
        if req.fault == "badcrc":
            crc ^= 0x10
        answer_name = name if req.fault != "wrongname" else name.replace("cryptoKeyVersions/1", "cryptoKeyVersions/2")
        return 200, {"signature": base64.b64encode(signature).decode(), "signatureCrc32c": str(crc),
                     "verifiedDigestCrc32c": verified, "name": answer_name, "verifiedDataCrc32c": False,
                     "protectionLevel": "HSM"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cl.add_common_arguments(parser)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--subject-token-file")
    parser.add_argument("--source-token-file")
    args = parser.parse_args()
    cl.serve(CloudKms(args))


if __name__ == "__main__":
    main()
