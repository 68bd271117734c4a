#!/usr/bin/env python3
"""A test OIDC issuer for Signet's identity tests (python3 stdlib + cryptography).

  oidc_issuer.py serve --dir DIR [--port 0] [--seed SEED]
      On first use creates in DIR: ca.pem (a test CA), server.pem/server.key
      (127.0.0.1 and localhost, signed by the CA), keys/rsa1.pem (RSA-2048,
      kid "rsa1"), keys/ec1.pem (EC P-256, kid "ec1") and request_token (the
      CI runners' request credential). Serves HTTPS on 127.0.0.1 (threaded)
      and writes DIR/url (https://127.0.0.1:PORT) once listening.
        GET  /.well-known/openid-configuration   issuer = DIR/url, jwks_uri = url + /jwks
        GET  /jwks                               every key in DIR/keys; counted in DIR/jwks_hits
        GET  /github/token?audience=AUD          "Authorization: bearer <request_token>"
                                                 -> {"value": JWT} (GitHub-shaped)
        POST /azure/oidctoken?api-version=...    "Authorization: Bearer <request_token>"
                                                 -> {"oidcToken": JWT} (Azure-shaped)
        POST /mint  {"args": [mint options...]}  "Authorization: Bearer <request_token>"
                                                 -> {"token": JWT}: `mint` without a
                                                 process per token (unit tests)
      --seed SEED reuses the CA, certificates, keys and request token kept in
      SEED (made there, atomically, by the first run), so that test processes
      do not each generate keys.
      The JWKS is read from DIR/keys on every request, so a key added by
      `mint --kid NEW` is published at the next fetch (key rotation).

  oidc_issuer.py mint --dir DIR --shape github|gitlab|azure|jenkins [--aud A]
      [--alg RS256|ES256] [--kid KID] [--claim k=v ...] [--claim k:=JSON ...]
      [--drop k ...] [--ttl SECONDS] [--jti X] [--attack NAME]
      Prints one token. --kid names a key in DIR/keys (created when missing).
      Attacks: none, hs256-with-rsa-pubkey, expired, not-yet-valid,
      wrong-issuer, unknown-kid, tamper, alg-mismatch.

Derived claims (GitHub sub/ref_type/workflow_ref, GitLab sub/ref_path/
ci_config_ref_uri, Azure sub) follow the final claims unless given with
--claim. Tokens are printed on stdout only; nothing is logged.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import ipaddress
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EVIL_ISSUER = "https://evil.example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    tmp = f"{path}.tmp{os.getpid()}.{threading.get_ident()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# --- keys and certificates ---------------------------------------------------


def new_key(kind: str):
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def pem_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private(path: str):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def keys_dir(d: str) -> str:
    return os.path.join(d, "keys")


def key_for(d: str, kid: str, kind: str):
    """The key `kid` of DIR/keys, created (of `kind`) when missing."""
    path = os.path.join(keys_dir(d), kid + ".pem")
    if not os.path.exists(path):
        os.makedirs(keys_dir(d), exist_ok=True)
        write_atomic(path, pem_private(new_key(kind)), 0o600)
    return load_private(path)


def make_cert(subject_cn, key, issuer_cert, issuer_key, ca: bool):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=3650)))  # seeds outlive runs
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False), True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                        False)
    return builder.sign(issuer_key if issuer_key else key, hashes.SHA256())


def setup(d: str) -> None:
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, "ca.pem")):
        ca_key = new_key("EC")
        # A unique name per CA: a CA bundle holding the CAs of several test
        # issuers must let OpenSSL find each one by its subject.
        ca_cert = make_cert("Signet Test OIDC CA " + secrets.token_hex(6), ca_key, None, None,
                            ca=True)
        srv_key = new_key("EC")
        srv_cert = make_cert("127.0.0.1", srv_key, ca_cert, ca_key, ca=False)
        write_atomic(os.path.join(d, "server.key"), pem_private(srv_key), 0o600)
        write_atomic(os.path.join(d, "server.pem"), srv_cert.public_bytes(serialization.Encoding.PEM))
        write_atomic(os.path.join(d, "ca.pem"), ca_cert.public_bytes(serialization.Encoding.PEM))
    key_for(d, "rsa1", "RSA")
    key_for(d, "ec1", "EC")
    if not os.path.exists(os.path.join(d, "request_token")):
        write_atomic(os.path.join(d, "request_token"), secrets.token_urlsafe(24).encode(), 0o600)


def jwk_of(kid: str, key) -> dict:
    pub = key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                "e": b64url(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}
    n = pub.public_numbers()
    return {"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
            "x": b64url(n.x.to_bytes(32, "big")), "y": b64url(n.y.to_bytes(32, "big"))}


def jwks(d: str) -> dict:
    keys = []
    for name in sorted(os.listdir(keys_dir(d))):
        if name.endswith(".pem"):
            keys.append(jwk_of(name[:-4], load_private(os.path.join(keys_dir(d), name))))
    return {"keys": keys}


# --- tokens --------------------------------------------------------------------


def sign(alg: str, key, signing_input: bytes) -> bytes:
    if alg == "RS256":
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS raw r||s (RFC 7518 3.4)


def encode(header: dict, claims: dict) -> bytes:
    return (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
            b64url(json.dumps(claims, separators=(",", ":")).encode())).encode()


def shaped_claims(shape: str, issuer: str, aud: str, overrides: dict) -> dict:
    sha = "714a629c0b401fdce83e847fc9589983fc6f46bc"
    if shape == "github":
        c = {"repository": "acme/app", "repository_owner": "acme", "repository_id": "101",
             "repository_owner_id": "100", "repository_visibility": "private",
             "ref": "refs/heads/main", "ref_protected": "true", "sha": sha,
             "workflow": "release", "event_name": "push", "environment": "production",
             "runner_environment": "github-hosted", "run_id": "8123456789",
             "run_number": "42", "run_attempt": "1", "actor": "octocat", "actor_id": "7",
             "head_ref": "", "base_ref": ""}
        c.update(overrides)
        c.setdefault("ref_type", "tag" if c["ref"].startswith("refs/tags/") else "branch")
        c.setdefault("workflow_ref",
                     f"{c['repository']}/.github/workflows/{c['workflow']}.yml@{c['ref']}")
        c.setdefault("job_workflow_ref", c["workflow_ref"])
        c.setdefault("sub", f"repo:{c['repository']}:ref:{c['ref']}")
    elif shape == "gitlab":
        c = {"namespace_id": "100", "namespace_path": "acme", "project_id": "101",
             "project_path": "acme/app", "user_id": "7", "user_login": "dev",
             "user_email": "dev@example.com", "user_access_level": "maintainer",
             "pipeline_id": "1001", "pipeline_source": "push", "job_id": "5001",
             "ref": "main", "ref_type": "branch", "ref_protected": "true",
             "environment": "production", "environment_protected": "true",
             "deployment_tier": "production", "runner_id": 17,
             "runner_environment": "gitlab-hosted", "sha": sha,
             "project_visibility": "private", "ci_config_sha": sha}
        c.update(overrides)
        prefix = "refs/tags/" if c["ref_type"] == "tag" else "refs/heads/"
        c.setdefault("ref_path", prefix + c["ref"])
        c.setdefault("ci_config_ref_uri",
                     f"gitlab.example.com/{c['project_path']}//.gitlab-ci.yml@{c['ref_path']}")
        c.setdefault("sub", f"project_path:{c['project_path']}:ref_type:{c['ref_type']}"
                            f":ref:{c['ref']}")
    elif shape == "azure":
        c = {"org_id": "0f6c1a0e-0000-4000-8000-000000000001",
             "prj_id": "0f6c1a0e-0000-4000-8000-000000000002", "def_id": "12",
             "rpo_id": "0f6c1a0e-0000-4000-8000-000000000003",
             "rpo_uri": "https://dev.azure.com/acme/app/_git/app", "rpo_ver": sha,
             "rpo_ref": "refs/heads/main", "run_id": "2024"}
        c.update(overrides)
        c.setdefault("sub", "p://acme/app/release")
    elif shape == "jenkins":
        c = {"sub": "https://jenkins.example.com/job/acme/job/app/", "build_number": 42,
             "git_url": "https://github.com/acme/app.git"}
        c.update(overrides)
    else:
        raise SystemExit(f"unknown shape {shape}")
    now = int(time.time())
    base = {"iss": issuer, "aud": aud, "iat": now, "nbf": now, "exp": now + 300,
            "jti": str(uuid.uuid4())}
    base.update(c)
    return base


def mint(d: str, shape: str, aud: str, alg: str = "RS256", kid: str = "", claims=None,
         drop=(), ttl: int = 300, jti: str = "", attack: str = "") -> str:
    with open(os.path.join(d, "url")) as f:
        issuer = f.read().strip()
    c = shaped_claims(shape, issuer, aud, claims or {})
    now = int(time.time())
    c["exp"] = c["iat"] + ttl if "exp" not in (claims or {}) else c["exp"]
    if jti:
        c["jti"] = jti
    kind = "RSA" if alg == "RS256" else "EC"
    kid = kid or ("rsa1" if alg == "RS256" else "ec1")
    key = key_for(d, kid, kind)
    header = {"alg": alg, "typ": "JWT", "kid": kid}
    if attack == "expired":
        c.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    elif attack == "not-yet-valid":
        c.update(iat=now, nbf=now + 3600, exp=now + 7200)
    elif attack == "wrong-issuer":
        c["iss"] = EVIL_ISSUER
    elif attack == "unknown-kid":
        header["kid"] = "unknown-" + secrets.token_hex(4)
        key = new_key(kind)  # never published
    for k in drop:
        c.pop(k, None)
    if attack == "none":
        return encode({"alg": "none", "typ": "JWT"}, c).decode() + "."
    if attack == "hs256-with-rsa-pubkey":
        # The classic confusion: HMAC keyed with the issuer's public key PEM.
        pub_pem = key_for(d, "rsa1", "RSA").public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input = encode({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}, c)
        mac = hmac.new(pub_pem, signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + b64url(mac).encode()).decode()
    if attack == "alg-mismatch":
        # Names a key of the other type and signs with the alg the header says.
        other = "ec1" if alg == "RS256" else "rsa1"
        header["kid"] = other
        key = key_for(d, "rsa1" if alg == "RS256" else "ec1", kind)
    signing_input = encode(header, c)
    token = signing_input + b"." + b64url(sign(alg, key, signing_input)).encode()
    if attack == "tamper":
        h, _, s = token.split(b".")
        c2 = dict(c)
        c2["repository" if "repository" in c2 else "sub"] = "evil/app"
        token = h + b"." + b64url(json.dumps(c2, separators=(",", ":")).encode()).encode() + b"." + s
    return token.decode()


# --- server ----------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "SignetTestOIDC/1"
    hits_lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet: request lines may carry audiences
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        with open(os.path.join(self.server.dir, "request_token")) as f:
            expected = f.read().strip()
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), expected)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        d = self.server.dir
        if url.path == "/.well-known/openid-configuration":
            self._send(200, {"issuer": self.server.url, "jwks_uri": self.server.url + "/jwks",
                             "response_types_supported": ["id_token"],
                             "subject_types_supported": ["public"],
                             "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
        elif url.path == "/jwks":
            with Handler.hits_lock:
                path = os.path.join(d, "jwks_hits")
                hits = int(open(path).read() or 0) if os.path.exists(path) else 0
                write_atomic(path, str(hits + 1).encode())
            self._send(200, jwks(d))
        elif url.path == "/github/token":
            if not self._authorized():
                self._send(401, {"message": "bad request token"})
                return
            aud = query.get("audience", ["https://github.com/acme"])[0]
            self._send(200, {"count": 1, "value": mint(d, "github", aud)})
        else:
            self._send(404, {"message": "not found"})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/mint":
            self._mint(body)
        elif url.path != "/azure/oidctoken":
            self._send(404, {"message": "not found"})
        elif "api-version" not in query:
            self._send(400, {"message": "api-version missing"})
        elif not self._authorized():
            self._send(401, {"message": "bad access token"})
        else:
            self._send(200, {"oidcToken": mint(self.server.dir, "azure",
                                               "api://AzureADTokenExchange")})


    def _mint(self, body: bytes) -> None:
        if not self._authorized():
            self._send(401, {"message": "bad request token"})
            return
        try:
            args = json.loads(body)["args"]
            a = make_parser().parse_args(["mint", "--dir", self.server.dir] + list(args))
            token = mint_from_args(a)
        except (ValueError, KeyError, TypeError, SystemExit) as e:
            self._send(400, {"message": f"bad mint request: {e!r}"})
            return
        self._send(200, {"token": token})


SEED_FILES = ["ca.pem", "server.pem", "server.key", "request_token", "keys/rsa1.pem",
              "keys/ec1.pem"]


def seed_from(d: str, seed: str) -> None:
    """Copies the seed material into d, or makes the seed from d's."""
    if os.path.exists(os.path.join(seed, "ca.pem")):
        os.makedirs(keys_dir(d), exist_ok=True)
        for name in SEED_FILES:
            with open(os.path.join(seed, name), "rb") as f:
                write_atomic(os.path.join(d, name), f.read(), 0o600)
        return
    setup(d)
    tmp = f"{seed}.tmp{os.getpid()}"
    os.makedirs(os.path.join(tmp, "keys"), exist_ok=True)
    for name in SEED_FILES:
        with open(os.path.join(d, name), "rb") as f:
            write_atomic(os.path.join(tmp, name), f.read(), 0o600)
    try:
        os.rename(tmp, seed)  # all or nothing; another process may have won
    except OSError:
        for name in SEED_FILES:
            os.remove(os.path.join(tmp, name))
        os.rmdir(os.path.join(tmp, "keys"))
        os.rmdir(tmp)


def serve(d: str, port: int, seed: str = "") -> None:
    if seed:
        seed_from(d, seed)
    setup(d)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.dir = d
    server.url = f"https://127.0.0.1:{server.server_address[1]}"
    write_atomic(os.path.join(d, "url"), server.url.encode())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def parse_claims(items) -> dict:
    out = {}
    for item in items or []:
        if ":=" in item and item.index(":=") < item.find("=") + 1:
            k, v = item.split(":=", 1)
            out[k] = json.loads(v)
        else:
            k, _, v = item.partition("=")
            out[k] = v
    return out


def mint_from_args(a) -> str:
    return mint(a.dir, a.shape, a.aud, a.alg, a.kid, parse_claims(a.claim), a.drop, a.ttl, a.jti,
                a.attack)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # raise instead of exiting inside the server
        raise ValueError(message)


def make_parser() -> argparse.ArgumentParser:
    p = _Parser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--seed", default="", help="directory of reusable keys and certificates")
    m = sub.add_parser("mint")
    m.add_argument("--dir", required=True)
    m.add_argument("--shape", required=True, choices=["github", "gitlab", "azure", "jenkins"])
    m.add_argument("--aud", default="signet")
    m.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
    m.add_argument("--kid", default="")
    m.add_argument("--claim", action="append", help="k=v (string) or k:=JSON")
    m.add_argument("--drop", action="append", default=[], help="remove claim k")
    m.add_argument("--ttl", type=int, default=300)
    m.add_argument("--jti", default="")
    m.add_argument("--attack", default="",
                   choices=["", "none", "hs256-with-rsa-pubkey", "expired", "not-yet-valid",
                            "wrong-issuer", "unknown-kid", "tamper", "alg-mismatch"])
    return p


def main() -> int:
    try:
        a = make_parser().parse_args()
    except ValueError as e:
        print(f"oidc_issuer.py: {e}", file=sys.stderr)
        return 2
    if a.cmd == "serve":
        serve(a.dir, a.port, a.seed)
        return 0
    setup(a.dir)
    print(mint_from_args(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
