#!/usr/bin/env python3
"""A loopback CONTRACT server for the HashiCorp Vault transit secrets engine
and JWT auth, for the hashivault: backend's tests. Not an emulator: it checks
that each request is what Vault's API documents, and signs with local keys.

    contract_vault.py --port-file F [--secrets-file S] --state-dir D
        --token-file F [--namespace NS] [--mount transit]
        [--role ROLE --jwt-file F] [--tls-cert C --tls-key K]

Transit (mount --mount, default "transit"):
  GET  /v1/MOUNT/keys/NAME          -> {"data": {"type", "latest_version", "keys":
                                        {"N": {"public_key": PEM}}, "supports_signing"}}
  POST /v1/MOUNT/sign/NAME[/HASH]   {"input": BASE64, "prehashed": true,
                                     "hash_algorithm", "signature_algorithm",
                                     "salt_length", "marshaling_algorithm", "key_version"}
                                    -> {"data": {"signature": "vault:vN:BASE64", "key_version": N}}
  with X-Vault-Token (the --token-file token or one issued by login) and,
  when --namespace is given, X-Vault-Namespace: NS (absent otherwise).
  Keys: rsa (rsa-3072, versions 1 and 2: different keys; latest 2), ec
  (ecdsa-p256), ed (ed25519), aes (aes256-gcm96: cannot sign). As Vault does,
  PSS without salt_length uses the largest salt ("auto").
JWT auth:
  POST /v1/auth/jwt/login {"role", "jwt"} -> {"auth": {"client_token", ...}}
Fault targets: key, sign, login. Service modes: badsig (signature over
another digest), wrongversion (a "vault:v1:" signature for key version 2).
"""
import argparse
import base64
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract_lib as cl  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

HASHES = {"sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512"}


def read(path):
    with open(path) as f:
        return f.read().strip()


class VaultTransit(cl.Service):
    name = "vault"

    def __init__(self, args):
        super().__init__(args)
        self.static_token = read(args.token_file)
        self.tokens.record(self.static_token)
        self.jwt = read(args.jwt_file) if args.jwt_file else None
        if self.jwt:
            self.tokens.record(self.jwt)
        # name -> (vault type, {version: private key})
        self.keys = {
            "rsa": ("rsa-3072", {1: cl.generate("rsa3072"), 2: cl.generate("rsa3072")}),
            "ec": ("ecdsa-p256", {1: cl.generate("p256")}),
            "ed": ("ed25519", {1: cl.generate("ed25519")}),
            "aes": ("aes256-gcm96", {1: None}),
        }
        for name, (vtype, versions) in self.keys.items():
            for version, key in versions.items():
                if key is not None:
                    with open(os.path.join(args.state_dir, f"{name}.v{version}.pub.pem"), "w") as f:
                        f.write(cl.public_pem(key))

    def routes(self):
        mount = self.args.mount
        return [
            ("POST", r"/v1/auth/jwt/login", "login", self.login),
            ("GET", rf"/v1/{mount}/keys/([A-Za-z0-9_.-]+)", "key", self.read_key),
            ("POST", rf"/v1/{mount}/sign/([A-Za-z0-9_.-]+)(?:/(sha2-256|sha2-384|sha2-512))?", "sign", self.sign),
        ]

    def error_body(self, status, code, message, target=None):
        return {"errors": [message]}

    def forbidden_message(self, target):
        return "1 error occurred:\n\t* permission denied (fault injected)\n\n"

    def malformed_body(self):
        return b'{"request_id": "x", "data": {"signature": "vault:v1:'

    def check_common(self, req, authenticated=True):
        if self.args.namespace:
            req.require_header("X-Vault-Namespace", self.args.namespace)
        else:
            req.forbid_header("X-Vault-Namespace")
        if authenticated:
            token = req.header("X-Vault-Token")
            if token is None or (token != self.static_token and not self.tokens.valid(token)):
                raise cl.ContractError("permission denied", status=403)
        req.query_exactly({})

    def login(self, req, m):
        self.check_common(req, authenticated=False)
        body = req.json(required=("role", "jwt"))
        if self.jwt is None or body["role"] != self.args.role:
            raise cl.ContractError(f"role \"{body['role']}\" could not be found")
        if body["jwt"] != self.jwt:
            raise cl.ContractError("error validating token: invalid signature", status=400)
        token = self.tokens.issue("hvs.contract")
        return 200, {"request_id": secrets.token_hex(8), "auth": {
            "client_token": token, "accessor": secrets.token_hex(8), "policies": ["default", "signer"],
            "token_policies": ["default", "signer"], "lease_duration": 3600, "renewable": True,
            "entity_id": "", "token_type": "service", "orphan": True}}

    def key_or_404(self, name):
        if name not in self.keys:
            raise cl.ContractError(f"signing key not found", status=400)
        return self.keys[name]

    def read_key(self, req, m):
        self.check_common(req)
        name = m.group(1)
        if name not in self.keys:
            return 404, {"errors": []}
        vtype, versions = self.keys[name]
        keys = {}
        for version, key in versions.items():
            if key is None:
                keys[str(version)] = 1700000000
            elif vtype == "ed25519":
                raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                keys[str(version)] = {"public_key": base64.b64encode(raw).decode(), "name": vtype,
                                      "creation_time": "2026-01-01T00:00:00Z"}
            else:
                keys[str(version)] = {"public_key": cl.public_pem(key), "name": vtype,
                                      "creation_time": "2026-01-01T00:00:00Z", "certificate_chain": ""}
        signing = vtype != "aes256-gcm96"
        return 200, {"request_id": secrets.token_hex(8), "lease_id": "", "renewable": False,
                     "lease_duration": 0, "data": {
                         "name": name, "type": vtype, "keys": keys, "latest_version": max(versions),
                         "min_available_version": 0, "min_decryption_version": 1,
                         "min_encryption_version": 0, "deletion_allowed": False, "exportable": False,
                         "supports_encryption": not signing or vtype.startswith("rsa"),
                         "supports_decryption": not signing or vtype.startswith("rsa"),
                         "supports_derivation": vtype in ("ed25519", "aes256-gcm96"),
                         "supports_signing": signing}}

    def sign(self, req, m):
        self.check_common(req)
        name, path_hash = m.group(1), m.group(2)
        vtype, versions = self.key_or_404(name)
        body = req.json(required=("input",), optional=(
            "prehashed", "hash_algorithm", "signature_algorithm", "salt_length", "marshaling_algorithm",
            "key_version", "context"))
        if vtype == "aes256-gcm96":
            raise cl.ContractError(f"key type {vtype} does not support signing")
        hash_alg = body.get("hash_algorithm", path_hash or "sha2-256")
        if path_hash and body.get("hash_algorithm", path_hash) != path_hash:
            raise cl.ContractError("hash_algorithm in the path and the body differ")
        if hash_alg not in HASHES:
            raise cl.ContractError(f"unsupported hash algorithm {hash_alg}")
        if vtype == "ed25519":
            if body.get("prehashed"):
                raise cl.ContractError("\"prehashed\" is not supported for ed25519 keys")
            raise cl.ContractError("the contract server does not sign ed25519 messages")
        if body.get("prehashed") is not True:
            raise cl.ContractError("prehashed must be true (the input is a digest)")
        if body.get("marshaling_algorithm", "asn1") != "asn1":
            raise cl.ContractError("marshaling_algorithm must be asn1")
        version = body.get("key_version", max(versions))
        if not isinstance(version, int) or version not in versions:
            raise cl.ContractError(f"invalid key version {version!r}")
        digest = cl.b64_decode_strict(body["input"], "input")
        hash_name = HASHES[hash_alg]
        if len(digest) != cl.DIGEST_SIZES[hash_name]:
            raise cl.ContractError(f"input must be a {hash_alg} digest ({cl.DIGEST_SIZES[hash_name]} bytes)")
        key = versions[version]
        if vtype.startswith("rsa"):
            sig_alg = body.get("signature_algorithm", "pss")
            if sig_alg not in ("pss", "pkcs1v15"):
                raise cl.ContractError(f"unsupported rsa signature algorithm {sig_alg}")
            salt = body.get("salt_length", "auto")
            if sig_alg == "pkcs1v15" and "salt_length" in body:
                raise cl.ContractError("salt_length applies to pss only")
            if salt not in ("auto", "hash"):
                raise cl.ContractError("salt_length must be auto or hash here")
            scheme = "pss" if sig_alg == "pss" else "pkcs1"
        else:
            if "signature_algorithm" in body or "salt_length" in body:
                raise cl.ContractError("signature_algorithm and salt_length apply to RSA keys only")
            scheme, salt = "ecdsa", "hash"
        if req.fault == "badsig":
            digest = cl.other_digest(digest)
        signature = cl.sign_digest(key, digest, hash_name, scheme, salt="digest" if salt == "hash" else "max")
        shown = version if req.fault != "wrongversion" else version - 1 or version + 1
        return 200, {"request_id": secrets.token_hex(8), "data": {
            "signature": f"vault:v{shown}:" + base64.b64encode(signature).decode(), "key_version": version}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cl.add_common_arguments(parser)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--namespace")
    parser.add_argument("--mount", default="transit")
    parser.add_argument("--role")
    parser.add_argument("--jwt-file")
    args = parser.parse_args()
    cl.serve(VaultTransit(args))


if __name__ == "__main__":
    main()
