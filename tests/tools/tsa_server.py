#!/usr/bin/env python3
"""A loopback RFC 3161 timestamp authority for tests.

    tsa_server.py --dir DIR [--port-file FILE]

Creates (once) a TSA PKI in DIR: DIR/tsaca.pem (the CA to trust, e.g.
osslsigncode -TSA-CAfile / signet --tsa-trust), DIR/tsa.pem + DIR/tsa.key
(the TSA's certificate: extendedKeyUsage=critical,timeStamping) and
DIR/tsa.cnf. Then listens on 127.0.0.1 on a free port, prints "PORT <n>" on
stdout (and writes <n> to --port-file when given) and answers POSTed
TimeStampReqs (Content-Type application/timestamp-query) by running
`openssl ts -reply`, until it gets SIGTERM/SIGINT.

The URL path picks the behaviour, so one server serves every test case:
    /               a correct answer (also /ok)
    /http500        HTTP 500, no body
    /http503        HTTP 503, no body (a retryable failure)
    /garbage        HTTP 200 with bytes that are not a TimeStampResp
    /wrong-digest   a valid token whose message imprint is another digest
    /wrong-nonce    a valid token for the request's digest but another nonce
    /reject         a TimeStampResp with status rejection (2)
GET /count returns how many POSTs arrived so far (for retry tests).
"""
import argparse
import http.server
import os
import signal
import subprocess
import sys
import tempfile
import threading

OPENSSL = os.environ.get("OPENSSL", "openssl")


def run(*args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def make_pki(d):
    """TSA CA and TSA certificate, made once per directory."""
    if os.path.exists(os.path.join(d, "tsa.cnf")):
        return
    os.makedirs(d, exist_ok=True)
    j = lambda n: os.path.join(d, n)  # noqa: E731
    with open(j("ca.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n")
    with open(j("tsa.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    run(OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", j("tsaca.key"))
    run(OPENSSL, "req", "-x509", "-new", "-key", j("tsaca.key"), "-subj",
        "/O=Signet tests/CN=Signet Test TSA CA", "-days", "3650", "-sha256",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", j("tsaca.pem"))
    run(OPENSSL, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
        "-out", j("tsa.key"))
    run(OPENSSL, "req", "-new", "-key", j("tsa.key"), "-subj", "/O=Signet tests/CN=Signet Test TSA",
        "-out", j("tsa.csr"))
    run(OPENSSL, "x509", "-req", "-in", j("tsa.csr"), "-CA", j("tsaca.pem"), "-CAkey",
        j("tsaca.key"), "-set_serial", "0x5a5a01", "-days", "3650", "-sha256",
        "-extfile", j("tsa.ext"), "-out", j("tsa.pem"))
    with open(j("tsaserial"), "w") as f:
        f.write("01\n")
    with open(j("tsa.cnf.tmp"), "w") as f:
        f.write(f"""[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {d}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsaca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
    os.rename(j("tsa.cnf.tmp"), j("tsa.cnf"))


# ---- minimal DER walking, to alter a request before openssl answers it ----

def tlv(buf, pos):
    """(tag, header_len, content_len) of the element at pos (definite lengths)."""
    tag = buf[pos]
    first = buf[pos + 1]
    if first < 0x80:
        return tag, 2, first
    n = first & 0x7F
    length = int.from_bytes(buf[pos + 2:pos + 2 + n], "big")
    return tag, 2 + n, length


def children(buf, pos):
    """Offsets of the elements inside the constructed element at pos."""
    _, hl, ln = tlv(buf, pos)
    p, end, out = pos + hl, pos + hl + ln, []
    while p < end:
        out.append(p)
        _, h, l2 = tlv(buf, p)
        p += h + l2
    return out


def alter_request(req, what):
    """TimeStampReq with the imprint's digest (what='digest') or the nonce
    (what='nonce') changed in its last byte; lengths stay the same."""
    req = bytearray(req)
    version, imprint, *rest = children(req, 0)
    if what == "digest":
        _, digest = children(req, imprint)
        _, hl, ln = tlv(req, digest)
        req[digest + hl + ln - 1] ^= 0x5A
    else:
        nonce = next(p for p in rest if req[p] == 0x02)
        _, hl, ln = tlv(req, nonce)
        req[nonce + hl + ln - 1] ^= 0x01  # stays positive: only the last byte changes
    return bytes(req)


REJECTION = bytes.fromhex("30053003020102")  # TimeStampResp { PKIStatusInfo { rejection } }


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "signet-test-tsa"
    count = 0
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet: tests read stdout
        if os.environ.get("TSA_SERVER_VERBOSE"):
            sys.stderr.write("tsa_server: " + (fmt % args) + "\n")

    def send(self, status, body=b"", ctype="application/timestamp-reply"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/count":
            self.send(200, str(Handler.count).encode(), "text/plain")
        else:
            self.send(404, b"", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(length)
        with Handler.lock:
            Handler.count += 1
            mode = self.path.strip("/") or "ok"
            try:
                self.answer(mode, query)
            except Exception as e:  # a broken test TSA must say why
                sys.stderr.write(f"tsa_server: {mode}: {e}\n")
                self.send(500, b"", "text/plain")

    def answer(self, mode, query):
        if mode == "http500":
            return self.send(500, b"", "text/plain")
        if mode == "http503":
            return self.send(503, b"", "text/plain")
        if mode == "garbage":
            return self.send(200, b"this is not a TimeStampResp\x00\x01\x02")
        if mode == "reject":
            return self.send(200, REJECTION)
        if mode == "wrong-digest":
            query = alter_request(query, "digest")
        elif mode == "wrong-nonce":
            query = alter_request(query, "nonce")
        elif mode != "ok":
            return self.send(404, b"", "text/plain")
        d = self.server.pki_dir
        with tempfile.TemporaryDirectory(dir=d) as tmp:
            q = os.path.join(tmp, "q.tsq")
            r = os.path.join(tmp, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            proc = subprocess.run([OPENSSL, "ts", "-reply", "-config", os.path.join(d, "tsa.cnf"),
                                   "-queryfile", q, "-out", r], capture_output=True)
            if proc.returncode != 0:
                raise RuntimeError("openssl ts -reply failed: " + proc.stderr.decode(errors="replace"))
            with open(r, "rb") as f:
                self.send(200, f.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="PKI and scratch directory")
    ap.add_argument("--port-file", help="also write the port number here")
    args = ap.parse_args()
    d = os.path.abspath(args.dir)
    make_pki(d)
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.pki_dir = d
    port = server.server_address[1]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(args.port_file + ".tmp", args.port_file)
    print(f"PORT {port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
