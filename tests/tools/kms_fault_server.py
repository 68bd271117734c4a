#!/usr/bin/env python3
"""A loopback stand-in for AWS KMS (TrentService, JSON 1.1) that misbehaves on
request, for signet's fault tests.

  kms_fault_server.py --key KEY.pem --port-file F [--mode MODE]

Serves GetPublicKey (the SPKI of KEY.pem, a PEM private key) and Sign
(MessageType=DIGEST, signing with KEY.pem as AWS KMS does) over HTTP on
127.0.0.1 (a free port, written to --port-file). Requests must carry a SigV4
Authorization header for service "kms" (its signature is not checked here:
tests/tools/moto_kms.py does that).

The fault applies to Sign requests (GetPublicKey always answers):
  ok              normal service
  throttle-once   the first Sign answers 429 ThrottlingException, then normal
  throttle400-once the first Sign answers 400 ThrottlingException (as KMS
                  does), then normal
  error500        every Sign answers 500 KMSInternalException
  denied          every Sign answers 403 AccessDeniedException
  hang            Sign requests are read and never answered
  malformed       Sign answers 200 with a body that is not JSON
  badsig          Sign answers a well-formed signature over other data
Control (plain HTTP, no auth):
  POST /_control/mode  body: the mode name    (also resets the counts)
  GET  /_control/stats {"GetPublicKey": n, "Sign": n}
"""

import argparse
import base64
import http.server
import json
import os
import signal
import sys
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

_HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}

state = {"mode": "ok", "counts": {}, "throttled": False}
lock = threading.Lock()
stop = threading.Event()


def algorithms_for(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return [f"RSASSA_{p}_SHA_{n}" for p in ("PSS", "PKCS1_V1_5") for n in (256, 384, 512)]
    return {256: ["ECDSA_SHA_256"], 384: ["ECDSA_SHA_384"]}[key.curve.key_size]


def sign_digest(key, digest, algorithm):
    hash_cls = _HASHES[algorithm[-7:]]
    pre = utils.Prehashed(hash_cls())
    if algorithm.startswith("RSASSA_PSS_"):
        pad = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=padding.PSS.DIGEST_LENGTH)
        return key.sign(digest, pad, pre)
    if algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        return key.sign(digest, padding.PKCS1v15(), pre)
    return key.sign(digest, ec.ECDSA(pre))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    key = None

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/x-amz-json-1.1"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, kind, message):
        self.answer(status, json.dumps({"__type": kind, "message": message}))

    def do_GET(self):
        if self.path == "/_control/stats":
            with lock:
                self.answer(200, json.dumps(state["counts"]), "application/json")
        else:
            self.answer(404, "")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_control/mode":
            with lock:
                state["mode"] = body.decode().strip()
                state["counts"] = {}
                state["throttled"] = False
            return self.answer(200, "")
        target = self.headers.get("X-Amz-Target", "")
        action = target.removeprefix("TrentService.")
        with lock:
            state["counts"][action] = state["counts"].get(action, 0) + 1
            mode = state["mode"]
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            return self.error(400, "SerializationException", "wrong Content-Type")
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 Credential=") or "/kms/aws4_request" not in auth:
            return self.error(400, "MissingAuthenticationTokenException", "no SigV4 signature")
        try:
            request = json.loads(body)
        except ValueError:
            return self.error(400, "SerializationException", "body is not JSON")
        pub = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if action == "GetPublicKey":
            return self.answer(
                200,
                json.dumps(
                    {
                        "KeyId": "arn:aws:kms:us-east-1:111122223333:key/fault-test",
                        "KeyUsage": "SIGN_VERIFY",
                        "PublicKey": base64.b64encode(pub).decode(),
                        "SigningAlgorithms": algorithms_for(self.key),
                    }
                ),
            )
        if action != "Sign":
            return self.error(400, "UnknownOperationException", action)
        if mode in ("throttle-once", "throttle400-once"):
            with lock:
                first = not state["throttled"]
                state["throttled"] = True
            if first:
                status = 429 if mode == "throttle-once" else 400
                return self.error(status, "ThrottlingException", "Rate exceeded")
        if mode == "error500":
            return self.error(500, "KMSInternalException", "The request was rejected because an internal exception occurred.")
        if mode == "denied":
            return self.error(
                403,
                "AccessDeniedException",
                "User: arn:aws:sts::111122223333:assumed-role/ci/build is not authorized to "
                "perform: kms:Sign on resource: arn:aws:kms:us-east-1:111122223333:key/fault-test "
                "because no identity-based policy allows the kms:Sign action",
            )
        if mode == "hang":
            stop.wait(600)
            return None
        if mode == "malformed":
            return self.answer(200, '{"KeyId": "arn:aws:kms:us-east-1:1:key/x", "Signature": ')
        if request.get("MessageType") != "DIGEST":
            return self.error(400, "ValidationException", "MessageType must be DIGEST here")
        algorithm = request.get("SigningAlgorithm", "")
        if algorithm not in algorithms_for(self.key):
            return self.error(400, "ValidationException", f"unsupported SigningAlgorithm {algorithm}")
        digest = base64.b64decode(request["Message"])
        if mode == "badsig":
            digest = bytes(len(digest))  # a valid signature, but over zeros
        signature = sign_digest(self.key, digest, algorithm)
        return self.answer(
            200,
            json.dumps(
                {
                    "KeyId": "arn:aws:kms:us-east-1:111122223333:key/fault-test",
                    "Signature": base64.b64encode(signature).decode(),
                    "SigningAlgorithm": algorithm,
                }
            ),
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--mode", default="ok")
    args = parser.parse_args()
    with open(args.key, "rb") as f:
        Handler.key = serialization.load_pem_private_key(f.read(), password=None)
    state["mode"] = args.mode
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
