"""Shared machinery of the loopback CONTRACT servers for the cloud key backends
(contract_azurekv.py, contract_gcpkms.py, contract_vault.py).

No emulator of Azure Key Vault, Google Cloud KMS or Vault can run in the test
environment, so these servers stand in for the services: each one checks every
request the way the service documents it (method, path, query, headers,
authentication, JSON or form fields and their encodings) and answers 400 with
a message naming what is wrong otherwise, and signs with local keys
(python3-cryptography) so that the signatures verify with the real peers.

Common behaviour:
  * listens on 127.0.0.1 (HTTP, or HTTPS with --tls-cert/--tls-key), writes
    its port to --port-file, and, when --secrets-file is given, appends every
    credential it issues or accepts (one per line) so that tests can check
    that none of them appears in signet's output;
  * POST /_control/fault {"target": T, "mode": M} sets the fault (replacing
    any other) on the requests of one target (the service decides the targets: "token", "key", "sign",
    ...); modes:
        none        normal service
        429-once    the next request answers 429 (Retry-After: 1), then normal
        500         every request answers 500
        403         every request answers 403 with the service's own message
        hang        the request is read and never answered
        malformed   200 with a truncated JSON body
        other modes are passed to the service's handler (e.g. "badsig")
  * GET /_control/stats returns {"TARGET": count, ...} of requests received;
    POST /_control/reset clears faults and counts.
"""
import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
except ImportError:  # the test scripts check this first and skip
    sys.exit("contract servers need the python3 'cryptography' package")

HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


class ContractError(Exception):
    """A request the service would refuse: answered with `status` and the
    service's error format, `message` naming what is wrong."""

    def __init__(self, message, status=400, code=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


# ---------------------------------------------------------------------------
# Encodings


def b64url_decode_strict(text, what):
    """Unpadded base64url (RFC 7515 section 2), as JOSE requires."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ContractError(f"{what} is not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_decode_strict(text, what):
    """Standard padded base64 (RFC 4648 section 4)."""
    if not isinstance(text, str) or not re.fullmatch(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?", text):
        raise ContractError(f"{what} is not standard padded base64")
    return base64.b64decode(text, validate=True)


def crc32c(data):
    """CRC-32C (Castagnoli), bit by bit: independent of signet's table version."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------------------
# Keys


def generate(kind):
    """rsa2048, rsa3072, rsa4096, p256, p384, ed25519."""
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "p521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign_digest(key, digest, hash_name, scheme, salt="digest"):
    """Signs a precomputed digest: scheme pkcs1 | pss | ecdsa (DER)."""
    algorithm = utils.Prehashed(HASHES[hash_name]())
    if scheme == "pkcs1":
        return key.sign(digest, padding.PKCS1v15(), algorithm)
    if scheme == "pss":
        salt_length = padding.PSS.DIGEST_LENGTH if salt == "digest" else padding.PSS.MAX_LENGTH
        return key.sign(digest, padding.PSS(mgf=padding.MGF1(HASHES[hash_name]()),
                                            salt_length=salt_length), algorithm)
    if scheme == "ecdsa":
        return key.sign(digest, ec.ECDSA(algorithm))
    raise ValueError(scheme)


def ecdsa_der_to_raw(der, size):
    r, s = utils.decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def other_digest(digest):
    """A digest of the same size that is not `digest` (for bad-signature faults)."""
    return hashlib.sha512(digest).digest()[: len(digest)]


def verify_rs256_jwt(token, public_key, what):
    """Checks a compact JWS signed RS256; returns (header, claims)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise ContractError(f"{what} is not a compact JWT (three base64url parts)")
    try:
        header = json.loads(b64url_decode_strict(parts[0], f"{what} header"))
        claims = json.loads(b64url_decode_strict(parts[1], f"{what} claims"))
    except ValueError as e:
        raise ContractError(f"{what}: header or claims are not JSON: {e}")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ContractError(f"{what}: header and claims must be JSON objects")
    if header.get("alg") != "RS256":
        raise ContractError(f"{what}: header alg must be RS256, not {header.get('alg')!r}")
    signature = b64url_decode_strict(parts[2], f"{what} signature")
    try:
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                          hashes.SHA256())
    except InvalidSignature:
        raise ContractError(f"{what}: the RS256 signature does not verify", status=401)
    return header, claims


def check_times(claims, what, max_lifetime):
    now = time.time()
    for claim in ("exp",):
        if not isinstance(claims.get(claim), int):
            raise ContractError(f"{what}: claim {claim} must be an integer (NumericDate)")
    if claims["exp"] < now:
        raise ContractError(f"{what} has expired", status=401)
    start = claims.get("iat", claims.get("nbf"))
    if not isinstance(start, int):
        raise ContractError(f"{what}: claim iat or nbf must be an integer")
    if start > now + 60:
        raise ContractError(f"{what} is issued in the future")
    if claims["exp"] - start > max_lifetime:
        raise ContractError(f"{what} lives longer than {max_lifetime} s")


# ---------------------------------------------------------------------------
# Requests


class Request:
    def __init__(self, handler, body):
        self.method = handler.command
        split = urllib.parse.urlsplit(handler.path)
        self.path = split.path
        self.raw_query = split.query
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        self.headers = handler.headers
        self.body = body
        self.fault = "none"
        self.server = handler.server

    def header(self, name):
        return self.headers.get(name)

    def require_header(self, name, value=None, status=400):
        got = self.headers.get_all(name) or []
        if len(got) != 1:
            raise ContractError(f"header {name} must be sent once (got {len(got)})", status=status)
        if value is not None and got[0] != value:
            raise ContractError(f"header {name} must be {value!r}", status=status)
        return got[0]

    def forbid_header(self, name):
        if self.headers.get(name) is not None:
            raise ContractError(f"header {name} must not be sent")

    def query_exactly(self, expected, optional=()):
        """The query must hold exactly these parameters (name -> value or None
        for any), and may hold those in `optional`."""
        names = set(self.query)
        if not set(expected) <= names or not names <= set(expected) | set(optional):
            raise ContractError(f"query parameters must be {sorted(expected)} (optional: "
                                f"{sorted(optional)}), got {sorted(names)}")
        for name, value in expected.items():
            got = self.query[name]
            if len(got) != 1:
                raise ContractError(f"query parameter {name} repeated")
            if value is not None and got[0] != value:
                raise ContractError(f"query parameter {name} must be {value!r}, got {got[0]!r}")
        return {k: v[0] for k, v in self.query.items()}

    def json(self, required=(), optional=()):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ContractError(f"Content-Type must be application/json, not {ctype!r}")
        try:
            obj = json.loads(self.body)
        except ValueError as e:
            raise ContractError(f"the body is not JSON: {e}")
        if not isinstance(obj, dict):
            raise ContractError("the body must be a JSON object")
        missing = [k for k in required if k not in obj]
        unknown = [k for k in obj if k not in required and k not in optional]
        if missing:
            raise ContractError(f"missing JSON field(s) {missing}")
        if unknown:
            raise ContractError(f"unknown JSON field(s) {unknown}")
        return obj

    def form(self, required=(), optional=()):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise ContractError(f"Content-Type must be application/x-www-form-urlencoded, not {ctype!r}")
        try:
            pairs = urllib.parse.parse_qsl(self.body.decode("ascii"), keep_blank_values=True,
                                           strict_parsing=bool(self.body))
        except (ValueError, UnicodeDecodeError) as e:
            raise ContractError(f"the body is not form-encoded: {e}")
        fields = {}
        for name, value in pairs:
            if name in fields:
                raise ContractError(f"form field {name} repeated")
            fields[name] = value
        missing = [k for k in required if k not in fields]
        unknown = [k for k in fields if k not in required and k not in optional]
        if missing:
            raise ContractError(f"missing form field(s) {missing}")
        if unknown:
            raise ContractError(f"unknown form field(s) {unknown}")
        return fields

    def bearer(self, tokens, status=401):
        value = self.headers.get("Authorization")
        if value is None or not value.startswith("Bearer "):
            raise ContractError("missing 'Authorization: Bearer TOKEN'", status=status)
        token = value[len("Bearer "):]
        if not tokens.valid(token):
            raise ContractError("the bearer token is not one this service issued", status=status)
        return token


class Tokens:
    """Issued credentials; each is appended to the secrets file."""

    def __init__(self, secrets_file):
        self.lock = threading.Lock()
        self.issued = set()
        self.secrets_file = secrets_file

    def record(self, value):
        if self.secrets_file:
            with self.lock, open(self.secrets_file, "a") as f:
                f.write(value + "\n")

    def issue(self, prefix):
        token = f"{prefix}.{secrets.token_urlsafe(24)}"
        with self.lock:
            self.issued.add(token)
        self.record(token)
        return token

    def valid(self, token):
        with self.lock:
            return token in self.issued


# ---------------------------------------------------------------------------
# The server


class Service:
    """Subclassed per service: routes, error format, state."""

    name = "service"

    def __init__(self, args):
        self.args = args
        self.tokens = Tokens(args.secrets_file)
        self.lock = threading.Lock()
        self.faults = {}
        self.counts = {}
        self.fired = set()
        self.base_url = None  # set once the port is known

    # (method, regex over the path, target, handler(request, match) -> (status, obj[, headers]))
    def routes(self):
        return []

    def error_body(self, status, code, message, target=None):
        return {"error": {"code": code or str(status), "message": message}}

    def forbidden_message(self, target):
        return "forbidden"

    def malformed_body(self):
        return b'{"value": "AAAA'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "contract"
    sys_version = ""

    def log_message(self, fmt, *args):  # paths only; headers and bodies may hold secrets
        sys.stderr.write(f"{self.server.service.name}: {fmt % args}\n")

    def send(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        content_type = "application/json; charset=utf-8"
        for name, value in headers:
            if name.lower() == "content-type":
                content_type = value
            else:
                self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        service = self.server.service
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self, body)
        if req.path.startswith("/_control/"):
            return self.control(service, req)
        for method, pattern, target, fn in service.routes():
            m = re.fullmatch(pattern, req.path)
            if not m:
                continue
            if method != req.method:
                return self.send(405, service.error_body(405, "MethodNotAllowed",
                                                         f"{req.path} takes {method}, not {req.method}",
                                                         target))
            with service.lock:
                service.counts[target] = service.counts.get(target, 0) + 1
                mode = service.faults.get(target, "none")
                if mode == "429-once" and target in service.fired:
                    mode = "none"
                elif mode == "429-once":
                    service.fired.add(target)
            if mode == "429-once":
                return self.send(429, service.error_body(429, None, "Too many requests: retry later",
                                                         target), [("Retry-After", "1")])
            if mode == "500":
                return self.send(500, service.error_body(500, None, "internal error (fault injected)",
                                                         target))
            if mode == "403":
                return self.send(403, service.error_body(403, None, service.forbidden_message(target),
                                                         target))
            if mode == "hang":
                time.sleep(120)
                self.close_connection = True
                return None
            if mode == "malformed":
                return self.send(200, service.malformed_body())
            req.fault = mode
            try:
                result = fn(req, m)
            except ContractError as e:
                return self.send(e.status, service.error_body(e.status, e.code, "CONTRACT: " + e.message,
                                                              target))
            return self.send(*result)
        return self.send(404, service.error_body(404, "NotFound", f"no such path {req.path} ({req.method})"))

    def control(self, service, req):
        if req.path == "/_control/stats" and req.method == "GET":
            with service.lock:
                return self.send(200, dict(service.counts))
        if req.path == "/_control/reset" and req.method == "POST":
            with service.lock:
                service.faults.clear()
                service.counts.clear()
                service.fired.clear()
            return self.send(200, {})
        if req.path == "/_control/fault" and req.method == "POST":
            obj = json.loads(req.body)
            with service.lock:  # one fault at a time
                service.faults = {obj["target"]: obj["mode"]}
                service.fired.clear()
                service.counts.clear()
            return self.send(200, {})
        return self.send(404, {"error": "unknown control request"})

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def add_common_arguments(parser):
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--secrets-file")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")


def serve(service):
    """Runs `service` until SIGTERM/SIGINT."""
    args = service.args
    server = Server(("127.0.0.1", 0), Handler)
    server.service = service
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    port = server.server_address[1]
    service.base_url = f"{scheme}://127.0.0.1:{port}"
    if hasattr(service, "started"):
        service.started()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{service.name} CONTRACT server on {service.base_url}", flush=True)
    server.serve_forever(poll_interval=0.1)
