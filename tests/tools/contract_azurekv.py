#!/usr/bin/env python3
"""A loopback CONTRACT server for Azure Key Vault and Azure AD (Microsoft Entra
ID), for the azurekv: backend's tests. Not an emulator: it checks that each
request is what the services document, and signs with local keys.

    contract_azurekv.py --port-file F [--secrets-file S] --state-dir D
        [--vault-host signet-test.vault.azure.net] [--tenant TENANT]
        [--client-id ID] [--client-secret-file F] [--federated-token-file F]
        [--identity-header-file F]

Key Vault (REST api-version 7.4, "Get Key" and "Sign"):
  GET  /keys/NAME[/VERSION]?api-version=7.4        -> {"key": JWK, "attributes": {...}}
  POST /keys/NAME/VERSION/sign?api-version=7.4     {"alg", "value": base64url(digest)}
       both with "Authorization: Bearer TOKEN" (a token issued below, for the
       resource https://vault.azure.net); key ids name https://VAULT_HOST/keys/...
  Keys (made at start, public keys in D/NAME.pub.pem): rsa (RSA-3072),
  ec (P-256), ec384 (P-384), nosign (RSA-2048 whose key_ops lack "sign").
Azure AD:
  POST /TENANT/oauth2/v2.0/token   client credentials grant, scope
       https://vault.azure.net/.default, with client_secret, or
       client_assertion_type jwt-bearer + client_assertion: either the
       federated token, or a JWT signed RS256 by the client certificate
       (D/client.pem: key + certificate) with x5t = its SHA-1 thumbprint,
       aud = this endpoint's URL, iss = sub = client id, jti, exp.
  GET  /msi/token?api-version=2019-08-01&resource=...   X-IDENTITY-HEADER (App Service)
  GET  /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...  Metadata: true (IMDS)
Fault targets: token, key, sign. Service modes: badsig (a signature over
another digest), wrongkid (the answer names another key version).
"""
import argparse
import datetime
import os
import re
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract_lib as cl  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

API_VERSION = "7.4"
RESOURCE = "https://vault.azure.net"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWA = {  # alg -> (scheme, hash, key kind)
    "RS256": ("pkcs1", "sha256", "rsa"), "RS384": ("pkcs1", "sha384", "rsa"),
    "RS512": ("pkcs1", "sha512", "rsa"), "PS256": ("pss", "sha256", "rsa"),
    "PS384": ("pss", "sha384", "rsa"), "PS512": ("pss", "sha512", "rsa"),
    "ES256": ("ecdsa", "sha256", "p256"), "ES384": ("ecdsa", "sha384", "p384"),
}


def read(path):
    with open(path) as f:
        return f.read().strip()


class AzureKeyVault(cl.Service):
    name = "azurekv"

    def __init__(self, args):
        super().__init__(args)
        self.keys = {}  # name -> (kind, private key, version, key_ops)
        for name, kind, ops in (("rsa", "rsa3072", ["sign", "verify"]), ("ec", "p256", ["sign", "verify"]),
                                ("ec384", "p384", ["sign", "verify"]), ("nosign", "rsa2048", ["verify"])):
            key = cl.generate(kind)
            self.keys[name] = (kind, key, secrets.token_hex(16), ops)
            with open(os.path.join(args.state_dir, f"{name}.pub.pem"), "w") as f:
                f.write(cl.public_pem(key))
        self.client_secret = read(args.client_secret_file) if args.client_secret_file else None
        self.federated = read(args.federated_token_file) if args.federated_token_file else None
        self.identity_header = read(args.identity_header_file) if args.identity_header_file else None
        for s in (self.client_secret, self.federated, self.identity_header):
            if s:
                self.tokens.record(s)
        self.client_cert, client_key = self.make_client_certificate()
        self.thumbprint = cl.b64url(self.client_cert.fingerprint(hashes.SHA1()))
        del client_key

    def make_client_certificate(self):
        """D/client.pem: an RSA key and its self-signed certificate, as an app
        registration's certificate credential."""
        key = cl.generate("rsa2048")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signet contract client")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM)
        path = os.path.join(self.args.state_dir, "client.pem")
        with open(path, "wb") as f:
            f.write(pem)
        return cert, key

    def routes(self):
        t = re.escape(self.args.tenant)
        return [
            ("POST", rf"/{t}/oauth2/v2\.0/token", "token", self.aad_token),
            ("GET", r"/msi/token", "token", self.app_service_token),
            ("GET", r"/metadata/identity/oauth2/token", "token", self.imds_token),
            ("POST", r"/keys/([0-9A-Za-z-]+)/([0-9A-Za-z]+)/sign", "sign", self.sign),
            ("GET", r"/keys/([0-9A-Za-z-]+)(?:/([0-9A-Za-z]*))?", "key", self.get_key),
        ]

    # Key Vault's error format; Azure AD answers in the OAuth format (RFC 6749 5.2).
    def error_body(self, status, code, message, target=None):
        if target == "token":
            oauth = {400: "invalid_request", 401: "invalid_client", 403: "unauthorized_client"}
            return {"error": code or oauth.get(status, "temporarily_unavailable"),
                    "error_description": message, "error_codes": [status]}
        codes = {400: "BadParameter", 401: "Unauthorized", 403: "Forbidden", 404: "KeyNotFound",
                 429: "Throttled", 500: "InternalServerError"}
        return {"error": {"code": code or codes.get(status, "Error"), "message": message}}

    def forbidden_message(self, target):
        if target == "token":
            return ("AADSTS7000112: Application '0b5cbd0e-7e0d-4c7b-9b7d-2f1e6c3a9e51' is disabled "
                    "(fault injected by the contract server).")
        return ("Operation sign is not permitted on this key. Caller is not authorized to perform "
                "action on resource (Assignment: none; fault injected by the contract server)")

    def malformed_body(self):
        return b'{"kid": "https://' + self.args.vault_host.encode() + b'/keys/rsa", "value": "AQ'

    # ---- Azure AD ----

    def aad(self, message, error="invalid_request", status=400):
        raise cl.ContractError(message, status=status, code=error)

    def aad_token(self, req, m):
        fields = req.form(required=("grant_type", "client_id", "scope"),
                          optional=("client_secret", "client_assertion_type", "client_assertion"))
        if fields["grant_type"] != "client_credentials":
            self.aad("grant_type must be client_credentials", "unsupported_grant_type")
        if fields["client_id"] != self.args.client_id:
            self.aad(f"AADSTS700016: unknown client_id {fields['client_id']!r}", "unauthorized_client")
        if fields["scope"] != RESOURCE + "/.default":
            self.aad(f"AADSTS70011: scope must be {RESOURCE}/.default, got {fields['scope']!r}", "invalid_scope")
        if "client_secret" in fields:
            if "client_assertion" in fields or "client_assertion_type" in fields:
                self.aad("send either client_secret or a client assertion, not both")
            if fields["client_secret"] != self.client_secret:
                self.aad("AADSTS7000215: Invalid client secret provided.", "invalid_client", 401)
        else:
            if fields.get("client_assertion_type") != JWT_BEARER:
                self.aad(f"client_assertion_type must be {JWT_BEARER}")
            assertion = fields.get("client_assertion")
            if not assertion:
                self.aad("no client_secret and no client_assertion", "invalid_client", 401)
            if assertion != self.federated:
                self.check_certificate_assertion(assertion, req)
        token = self.tokens.issue("azure-access-token")
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                     "access_token": token}

    def check_certificate_assertion(self, assertion, req):
        header, claims = cl.verify_rs256_jwt(assertion, self.client_cert.public_key(), "client_assertion")
        if header.get("x5t") != self.thumbprint:
            self.aad("AADSTS700027: client_assertion x5t is not the certificate's SHA-1 thumbprint "
                     "(base64url)", "invalid_client", 401)
        audience = f"{self.base_url}/{self.args.tenant}/oauth2/v2.0/token"
        if claims.get("aud") != audience:
            self.aad(f"AADSTS700027: client_assertion aud must be {audience}, got {claims.get('aud')!r}")
        if claims.get("iss") != self.args.client_id or claims.get("sub") != self.args.client_id:
            self.aad("AADSTS700027: client_assertion iss and sub must be the client id")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            self.aad("AADSTS700027: client_assertion needs a jti")
        cl.check_times(claims, "client_assertion", 3600)

    def managed_identity_answer(self, query, expires_in_string):
        if query["resource"] != RESOURCE:
            raise cl.ContractError(f"resource must be {RESOURCE}", code="invalid_resource")
        if query.get("client_id", self.args.client_id) != self.args.client_id:
            raise cl.ContractError("client_id names no identity assigned here", code="invalid_request")
        token = self.tokens.issue("azure-mi-token")
        now = int(time.time())
        answer = {"access_token": token, "expires_on": str(now + 3600), "resource": RESOURCE,
                  "token_type": "Bearer"}
        if expires_in_string:
            answer["expires_in"] = "3600"
        return 200, answer

    def app_service_token(self, req, m):
        q = req.query_exactly({"api-version": "2019-08-01", "resource": None}, optional=("client_id",))
        if req.header("X-IDENTITY-HEADER") != self.identity_header:
            raise cl.ContractError("X-IDENTITY-HEADER is missing or wrong", status=401)
        return self.managed_identity_answer(q, False)

    def imds_token(self, req, m):
        q = req.query_exactly({"api-version": "2018-02-01", "resource": None}, optional=("client_id",))
        req.require_header("Metadata", "true")
        return self.managed_identity_answer(q, True)

    # ---- Key Vault ----

    def key_or_404(self, name, version):
        if name not in self.keys:
            raise cl.ContractError(f"A key with (name/id) {name} was not found in this key vault.",
                                   status=404, code="KeyNotFound")
        kind, key, current, ops = self.keys[name]
        if version and version != current:
            raise cl.ContractError(f"A key with (name/id) {name}/{version} was not found in this key vault.",
                                   status=404, code="KeyNotFound")
        return kind, key, current, ops

    def kid(self, name, version):
        return f"https://{self.args.vault_host}/keys/{name}/{version}"

    def get_key(self, req, m):
        req.query_exactly({"api-version": API_VERSION})
        req.bearer(self.tokens)
        name, version = m.group(1), m.group(2)
        kind, key, current, ops = self.key_or_404(name, version)
        public = key.public_key()
        jwk = {"kid": self.kid(name, current), "key_ops": ops}
        if kind.startswith("rsa"):
            n = public.public_numbers()
            jwk.update(kty="RSA-HSM", n=cl.b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                       e=cl.b64url(n.e.to_bytes(3, "big")))
        else:
            size = 32 if kind == "p256" else 48
            n = public.public_numbers()
            jwk.update(kty="EC-HSM", crv="P-256" if kind == "p256" else "P-384",
                       x=cl.b64url(n.x.to_bytes(size, "big")), y=cl.b64url(n.y.to_bytes(size, "big")))
        now = int(time.time())
        return 200, {"key": jwk, "attributes": {"enabled": True, "created": now, "updated": now,
                                                "recoveryLevel": "Recoverable+Purgeable"}}

    def sign(self, req, m):
        req.query_exactly({"api-version": API_VERSION})
        req.bearer(self.tokens)
        name, version = m.group(1), m.group(2)
        kind, key, current, ops = self.key_or_404(name, version)
        body = req.json(required=("alg", "value"))
        alg = body["alg"]
        if alg not in JWA:
            raise cl.ContractError(f"Invalid algorithm {alg!r}", code="BadParameter")
        scheme, hash_name, key_kind = JWA[alg]
        if "sign" not in ops:
            raise cl.ContractError("Operation sign is not allowed on this key (key_ops)", code="BadParameter")
        if (key_kind == "rsa") != kind.startswith("rsa") or (key_kind != "rsa" and key_kind != kind):
            raise cl.ContractError(f"Key and signing algorithm are incompatible ({alg} with {kind})",
                                   code="BadParameter")
        digest = cl.b64url_decode_strict(body["value"], "value")
        if len(digest) != cl.DIGEST_SIZES[hash_name]:
            raise cl.ContractError(f"value must be a {hash_name} digest ({cl.DIGEST_SIZES[hash_name]} bytes), "
                                   f"got {len(digest)} bytes", code="BadParameter")
        if req.fault == "badsig":
            digest = cl.other_digest(digest)
        signature = cl.sign_digest(key, digest, hash_name, scheme)
        if scheme == "ecdsa":
            signature = cl.ecdsa_der_to_raw(signature, 32 if kind == "p256" else 48)
        kid = self.kid(name, current if req.fault != "wrongkid" else secrets.token_hex(16))
        return 200, {"kid": kid, "value": cl.b64url(signature)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cl.add_common_arguments(parser)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--vault-host", default="signet-test.vault.azure.net")
    parser.add_argument("--tenant", default="72f988bf-86f1-41af-91ab-2d7cd011db47")
    parser.add_argument("--client-id", default="0b5cbd0e-7e0d-4c7b-9b7d-2f1e6c3a9e51")
    parser.add_argument("--client-secret-file")
    parser.add_argument("--federated-token-file")
    parser.add_argument("--identity-header-file")
    args = parser.parse_args()
    cl.serve(AzureKeyVault(args))


if __name__ == "__main__":
    main()
