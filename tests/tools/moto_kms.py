#!/usr/bin/env python3
"""moto's server (KMS, STS, ...) on loopback, patched to behave like AWS KMS
where moto does not, and checking every request's SigV4 signature.

  moto_kms.py [--port-file F] [--log F] [--credentials F] [--secrets-file F]

Prints the port it listens on (127.0.0.1, a free port) on stdout, then serves
until SIGTERM/SIGINT.

Differences from plain moto 5.2.1 (see docs/decisions, "moto DIGEST patch"):
  - Sign with MessageType=DIGEST signs the given digest as it is (moto
    hashes it again, as for RAW); RSASSA_PSS_* use a salt as long as the
    digest, as AWS KMS does (moto uses the maximum salt length).
  - Every KMS request's SigV4 signature is recomputed with botocore's
    signer (an independent implementation) when the secret of its access key
    is known: from --credentials (a JSON list of {"access_key_id",
    "secret_access_key"}) or from moto's own STS (AssumeRoleWithWebIdentity
    results). A mismatch answers 403 InvalidSignatureException; a request
    whose key is unknown answers 403 UnrecognizedClientException.
  - --log appends one JSON line per KMS request: target, access key id,
    whether a session token was sent, and the signature check's result.
  - --secrets-file gets every secret key and session token that signed a
    request (one per line), so that tests can check none of them appears in
    signet's output.
"""

import argparse
import base64
import json
import os
import signal
import sys
import threading
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from moto.core.exceptions import JsonRESTError
from moto.kms.responses import KmsResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.sts.models import sts_backends

_HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


class _Denied(JsonRESTError):
    code = 403


def _sign_digest(key, digest: bytes, algorithm: str) -> bytes:
    """What AWS KMS does for MessageType=DIGEST: sign `digest` as prehashed."""
    private = key.private_key.private_key  # the cryptography key inside moto's wrapper
    hash_cls = _HASHES.get(algorithm[-7:])
    if hash_cls is None or hash_cls.digest_size != len(digest):
        raise JsonRESTError(
            "ValidationException",
            f"Digest is invalid length for algorithm {algorithm}.",
        )
    prehashed = utils.Prehashed(hash_cls())
    if algorithm.startswith("RSASSA_PSS_"):
        pad = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=padding.PSS.DIGEST_LENGTH)
        return private.sign(digest, pad, prehashed)
    if algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        return private.sign(digest, padding.PKCS1v15(), prehashed)
    if algorithm.startswith("ECDSA_"):
        return private.sign(digest, ec.ECDSA(prehashed))
    raise JsonRESTError("UnsupportedOperationException", f"{algorithm} is not supported here")


_original_sign = KmsResponse.sign


def _patched_sign(self) -> str:
    if self._get_param("MessageType") != "DIGEST":
        return _original_sign(self)
    key_id = self._get_param("KeyId")
    algorithm = self._get_param("SigningAlgorithm")
    digest = self._get_param("Message")  # moto's _get_param already base64-decoded it
    key = self.kms_backend.describe_key(key_id)
    if key.key_usage != "SIGN_VERIFY":
        raise JsonRESTError(
            "InvalidKeyUsageException", f"{key.arn} key usage is {key.key_usage} which is not valid for Sign."
        )
    if algorithm not in key.signing_algorithms:
        raise JsonRESTError(
            "ValidationException",
            f"Value '{algorithm}' at 'SigningAlgorithm' failed to satisfy constraint: "
            f"Member must satisfy enum value set: {key.signing_algorithms}",
        )
    signature = _sign_digest(key, digest, algorithm)
    return json.dumps(
        {
            "KeyId": key.arn,
            "Signature": base64.b64encode(signature).decode(),
            "SigningAlgorithm": algorithm,
        }
    )


KmsResponse.sign = _patched_sign

_known_secrets: dict = {}
_log_path = None
_secrets_path = None
_recorded: set = set()
_log_lock = threading.Lock()


def _secret_for(access_key_id: str):
    if access_key_id in _known_secrets:
        return _known_secrets[access_key_id], None
    for account in sts_backends.values():
        for backend in account.values():
            for role in getattr(backend, "assumed_roles", []):
                if role.access_key_id == access_key_id:
                    return role.secret_access_key, role.session_token
    return None, None


def _check_sigv4(response) -> dict:
    """Recomputes the request's signature with botocore; returns a log record."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    auth = headers.get("authorization", "")
    record = {
        "target": headers.get("x-amz-target", ""),
        "access_key_id": "",
        "session_token": "x-amz-security-token" in headers,
        "signature": "missing",
    }
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return record
    fields = dict(
        part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",")
    )
    access_key_id, date, region, service, _ = fields["Credential"].split("/")
    record["access_key_id"] = access_key_id
    secret, token = _secret_for(access_key_id)
    if secret is None:
        record["signature"] = "unknown-key"
        return record
    if token is not None and headers.get("x-amz-security-token") != token:
        record["signature"] = "wrong-session-token"
        return record
    signed = fields["SignedHeaders"].split(";")
    url = "http://" + headers["host"] + urlsplit(response.uri).path
    query = urlsplit(response.uri).query
    if query:
        url += "?" + query
    body = response.body if isinstance(response.body, bytes) else response.body.encode()
    request = AWSRequest(
        method=response.method, url=url, data=body, headers={h: headers[h] for h in signed}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(access_key_id, secret, token), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    record["signature"] = "ok" if expected == fields["Signature"] else "mismatch"
    if _secrets_path:
        with _log_lock, open(_secrets_path, "a", encoding="utf-8") as f:
            for value in (secret, token):
                if value and value not in _recorded:
                    _recorded.add(value)
                    f.write(value + "\n")
    return record


_original_call_action = KmsResponse.call_action


def _checked_call_action(self):
    record = _check_sigv4(self)
    if _log_path:
        with _log_lock, open(_log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    if record["signature"] == "mismatch" or record["signature"] == "wrong-session-token":
        error = _Denied(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
        return 403, {"status": 403, "Content-Type": "application/x-amz-json-1.1"}, error.description
    if record["signature"] in ("missing", "unknown-key"):
        error = _Denied("UnrecognizedClientException", "The security token included in the request is invalid.")
        return 403, {"status": 403, "Content-Type": "application/x-amz-json-1.1"}, error.description
    return _original_call_action(self)


KmsResponse.call_action = _checked_call_action


def main() -> int:
    global _log_path, _secrets_path
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", help="also write the port to this file")
    parser.add_argument("--log", help="append one JSON line per KMS request")
    parser.add_argument("--credentials", help="JSON list of known access keys and secrets")
    parser.add_argument("--secrets-file", help="append the secrets that signed requests")
    args = parser.parse_args()
    _log_path = args.log
    _secrets_path = args.secrets_file
    if args.credentials:
        with open(args.credentials, encoding="utf-8") as f:
            for c in json.load(f):
                _known_secrets[c["access_key_id"]] = c["secret_access_key"]

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
