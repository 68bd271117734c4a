#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under tests/fuzz/corpus/.

Usage: tests/fuzz/make_seeds.py   (needs python3 and the openssl CLI)

Valid seeds come from the DER writer's known encodings and from openssl
itself (a detached CMS signature, certificates, public keys); invalid seeds
are one-defect variants, so the fuzzer starts next to each reject path.
Keys are generated afresh on each run (no private key is written to the
corpus). The corpus of pkcs11_uri_fuzz is maintained with that target and
is not touched here.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for v in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    return tlv(0x31, b"".join(sorted(items)))


def octets(b):
    return tlv(0x04, b)


def utc(s):
    return tlv(0x17, s.encode())


def gen_time(s):
    return tlv(0x18, s.encode())


CONTENT_TYPE = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
SIGNING_TIME = "1.2.840.113549.1.9.5"
ID_DATA = "1.2.840.113549.1.7.1"


def attr(type_oid, *values):
    return seq(oid(type_oid), set_of(*values))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def pki(tmp):
    """An EC CA, a code-signing leaf, and a detached CMS signature (DER)."""
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key", cwd=tmp)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Seed CA", "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE", "-out", "ca.pem", cwd=tmp)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "leaf.key", cwd=tmp)
    openssl("req", "-new", "-key", "leaf.key", "-subj", "/CN=Seed Leaf", "-out", "leaf.csr", cwd=tmp)
    with open(os.path.join(tmp, "ext.cnf"), "w") as f:
        f.write("extendedKeyUsage=codeSigning\nkeyUsage=critical,digitalSignature\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
            "-days", "3650", "-extfile", "ext.cnf", "-out", "leaf.pem", cwd=tmp)
    with open(os.path.join(tmp, "content.txt"), "w") as f:
        f.write("seed content\n")
    openssl("cms", "-sign", "-binary", "-in", "content.txt", "-signer", "leaf.pem", "-inkey", "leaf.key",
            "-outform", "DER", "-out", "content.p7s", cwd=tmp)
    openssl("x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der", cwd=tmp)
    for name, args in [("rsa.pub.pem", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                       ("rsa1024.pub.pem", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
                       ("ec.pub.pem", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
                       ("ed25519.pub.pem", ["-algorithm", "ED25519"]),
                       ("k1.pub.pem", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"])]:
        openssl("genpkey", *args, "-out", "tmp.key", cwd=tmp)
        openssl("pkey", "-in", "tmp.key", "-pubout", "-out", name, cwd=tmp)
        os.remove(os.path.join(tmp, "tmp.key"))

    def read(name):
        with open(os.path.join(tmp, name), "rb") as f:
            return f.read()

    return {n: read(n) for n in ["ca.pem", "leaf.pem", "leaf.der", "content.p7s", "rsa.pub.pem",
                                 "rsa1024.pub.pem", "ec.pub.pem", "ed25519.pub.pem", "k1.pub.pem"]}


def der_reader(files):
    t = "der_reader"
    write(t, "valid_oid_signed_data", oid("1.2.840.113549.1.7.2"))
    write(t, "valid_integers", seq(tlv(0x02, b"\x00"), tlv(0x02, b"\x7f"), tlv(0x02, b"\x00\x80"),
                                   tlv(0x02, b"\xff\x7f")))
    write(t, "valid_long_length", octets(bytes(range(200))))
    write(t, "valid_context_tags", seq(tlv(0xA0, tlv(0x02, b"\x05")), tlv(0x81, b"\x01"), tlv(0x05, b"")))
    write(t, "valid_cms_detached.p7s", files["content.p7s"])
    write(t, "valid_certificate.der", files["leaf.der"])
    write(t, "invalid_indefinite_length", bytes.fromhex("3080020101" "0000"))
    write(t, "invalid_nonminimal_length", bytes.fromhex("04810100"))
    write(t, "invalid_truncated", bytes.fromhex("30050201"))
    write(t, "invalid_multibyte_tag", bytes.fromhex("1f810100"))
    write(t, "invalid_oid_padding", bytes.fromhex("06032a8001"))
    write(t, "invalid_trailing_bytes", bytes.fromhex("02010000"))


def signed_attributes():
    t = "signed_attributes"
    d256 = bytes(range(32))
    ct = attr(CONTENT_TYPE, oid(ID_DATA))
    md = attr(MESSAGE_DIGEST, octets(d256))
    st = attr(SIGNING_TIME, utc("260102030405Z"))
    write(t, "valid_standard", set_of(ct, md, st))
    write(t, "valid_no_signing_time_sha384", set_of(ct, attr(MESSAGE_DIGEST, octets(bytes(48)))))
    write(t, "valid_generalized_time", set_of(ct, md, attr(SIGNING_TIME, gen_time("20500101000000Z"))))
    write(t, "valid_authenticode_type",
          set_of(attr(CONTENT_TYPE, oid("1.3.6.1.4.1.311.2.1.4")), md,
                 attr("1.3.6.1.4.1.311.2.1.12", seq())))
    write(t, "invalid_missing_digest", set_of(ct, st))
    write(t, "invalid_duplicate_content_type", set_of(ct, md, attr(CONTENT_TYPE, oid("1.2.3"))))
    write(t, "invalid_implicit_tag", b"\xa0" + set_of(ct, md)[1:])
    write(t, "invalid_local_time", set_of(ct, md, attr(SIGNING_TIME, utc("2601020304051"))))
    write(t, "invalid_empty_values", set_of(ct, seq(oid(MESSAGE_DIGEST), tlv(0x31, b""))))
    write(t, "invalid_empty_set", bytes.fromhex("3100"))


def plan_json():
    t = "plan_json"
    cms = {
        "format": "cms", "artifact": "dist/app.tar.gz", "artifact_size": 1048577,
        "content_digest_algorithm": "sha256",
        "content_digest": "ab" * 32,
        "signature_algorithm": "ecdsa-sha256",
        "to_be_signed": "MQMCAf8=",
        "to_be_signed_digest": "cd" * 32,
    }
    raw = dict(cms, format="raw", signature_algorithm="rsa-pss-sha384",
               content_digest_algorithm="SHA-384", content_digest="0f" * 48, to_be_signed="",
               to_be_signed_digest="0f" * 48)
    pe = dict(cms, format="pe", format_data={"checksum_sum": "1234567"})
    write(t, "valid_cms.json", json.dumps(cms, indent=1))
    write(t, "valid_raw.json", json.dumps(raw))
    write(t, "valid_format_data.json", json.dumps(pe))
    write(t, "invalid_missing_field.json", json.dumps({k: v for k, v in cms.items() if k != "to_be_signed"}))
    write(t, "invalid_size_string.json", json.dumps(dict(cms, artifact_size="12")))
    write(t, "invalid_size_negative.json", json.dumps(dict(cms, artifact_size=-1)))
    write(t, "invalid_bad_base64.json", json.dumps(dict(cms, to_be_signed="MQMCAf8")))
    write(t, "invalid_format_data_number.json", json.dumps(dict(pe, format_data={"k": 1})))
    write(t, "invalid_syntax.json", json.dumps(cms)[:-7])
    write(t, "invalid_not_object.json", "[1, \"cms\", null]")


def pem_key(files):
    t = "pem_key"
    write(t, "valid_rsa2048_pub.pem", files["rsa.pub.pem"])
    write(t, "valid_ecp384_pub.pem", files["ec.pub.pem"])
    write(t, "valid_ed25519_pub.pem", files["ed25519.pub.pem"])
    write(t, "valid_certificate.pem", files["leaf.pem"])
    write(t, "valid_chain.pem", b"leaf:\n" + files["leaf.pem"] + b"ca:\n" + files["ca.pem"])
    write(t, "invalid_rsa1024_pub.pem", files["rsa1024.pub.pem"])
    write(t, "invalid_secp256k1_pub.pem", files["k1.pub.pem"])
    lines = files["leaf.pem"].splitlines(keepends=True)
    write(t, "invalid_truncated_certificate.pem", b"".join(lines[:4] + lines[-1:]))
    write(t, "invalid_bad_base64.pem", b"-----BEGIN PUBLIC KEY-----\nMFkw!!!!\n-----END PUBLIC KEY-----\n")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        files = pki(tmp)
        der_reader(files)
        signed_attributes()
        plan_json()
        pem_key(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
