#include "timestamp/test_tsa.h"

#include <openssl/err.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

#include "test_keys.h"

namespace signet::testing {
namespace {

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "test_tsa: %s failed: %s\n", what, OpenSslErrors().c_str());
  std::abort();
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Require(ext != nullptr, "X509V3_EXT_conf_nid");
  Require(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

X509Ptr MakeCert(EVP_PKEY* key, EVP_PKEY* issuer_key, X509* issuer, const char* cn, bool ca) {
  X509Ptr cert(X509_new());
  Require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ca ? 7001 : 7002);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3 * 24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), key);
  X509* issuer_cert = issuer ? issuer : cert.get();
  if (ca) {
    AddExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature");
    AddExtension(cert.get(), issuer_cert, NID_ext_key_usage, "critical,timeStamping");
  }
  Require(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

// TS_time_cb: a fixed genTime instead of the clock.
int TimeCallback(TS_RESP_CTX*, void* data, long* sec, long* usec) {
  *sec = static_cast<long>(*static_cast<std::time_t*>(data));
  *usec = 0;
  return 1;
}

// The request with its imprint or nonce changed (same lengths).
Bytes Alter(ByteView request, TestTsa::Fault fault) {
  const unsigned char* p = request.data();
  TS_REQ* req = d2i_TS_REQ(nullptr, &p, static_cast<long>(request.size()));
  Require(req != nullptr, "d2i_TS_REQ");
  if (fault == TestTsa::Fault::kWrongImprint) {
    ASN1_OCTET_STRING* msg = TS_MSG_IMPRINT_get_msg(TS_REQ_get_msg_imprint(req));
    Bytes digest(ASN1_STRING_get0_data(msg), ASN1_STRING_get0_data(msg) + ASN1_STRING_length(msg));
    digest.back() ^= 0x5a;
    ASN1_OCTET_STRING_set(msg, digest.data(), static_cast<int>(digest.size()));
  } else if (fault == TestTsa::Fault::kWrongNonce) {
    std::uint64_t nonce = 0;
    Require(ASN1_INTEGER_get_uint64(&nonce, TS_REQ_get_nonce(req)) == 1, "nonce");
    ASN1_INTEGER* other = ASN1_INTEGER_new();
    ASN1_INTEGER_set_uint64(other, nonce ^ 1);
    TS_REQ_set_nonce(req, other);
    ASN1_INTEGER_free(other);
  }
  unsigned char* der = nullptr;
  int len = i2d_TS_REQ(req, &der);
  Require(len > 0, "i2d_TS_REQ");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  TS_REQ_free(req);
  return out;
}

}  // namespace

TestTsa::TestTsa()
    : ca_key_(GenerateKey(KeyKind::kEcP256)), tsa_key_(GenerateKey(KeyKind::kEcP256)) {
  ca_cert_ = MakeCert(ca_key_.get(), ca_key_.get(), nullptr, "Signet Unit Test TSA CA", true);
  tsa_cert_ =
      MakeCert(tsa_key_.get(), ca_key_.get(), ca_cert_.get(), "Signet Unit Test TSA", false);
  anchors_.push_back(Certificate::FromX509(ca_cert_.get()));
}

std::string TestTsa::CaPem() const { return CertificatePem(ca_cert_.get()); }

Bytes TestTsa::Respond(ByteView request, Fault fault, std::time_t gen_time) const {
  if (fault == Fault::kRejection) return Bytes{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02};
  Bytes req =
      (fault == Fault::kNone) ? Bytes(request.begin(), request.end()) : Alter(request, fault);
  TS_RESP_CTX* ctx = TS_RESP_CTX_new();
  Require(ctx != nullptr, "TS_RESP_CTX_new");
  Require(TS_RESP_CTX_set_signer_cert(ctx, tsa_cert_.get()) == 1, "set_signer_cert");
  Require(TS_RESP_CTX_set_signer_key(ctx, tsa_key_.get()) == 1, "set_signer_key");
  ASN1_OBJECT* policy = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
  Require(TS_RESP_CTX_set_def_policy(ctx, policy) == 1, "set_def_policy");
  ASN1_OBJECT_free(policy);
  for (const EVP_MD* md : {EVP_sha256(), EVP_sha384(), EVP_sha512()}) TS_RESP_CTX_add_md(ctx, md);
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, ca_cert_.get());
  TS_RESP_CTX_set_certs(ctx, certs);  // copies
  sk_X509_free(certs);
  std::time_t when = gen_time;
  if (gen_time != 0) TS_RESP_CTX_set_time_cb(ctx, TimeCallback, &when);
  BioPtr bio = MemBio(req);
  TS_RESP* resp = TS_RESP_create_response(ctx, bio.get());
  Require(resp != nullptr, "TS_RESP_create_response");
  unsigned char* der = nullptr;
  int len = i2d_TS_RESP(resp, &der);
  Require(len > 0, "i2d_TS_RESP");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  TS_RESP_free(resp);
  TS_RESP_CTX_free(ctx);
  return out;
}

}  // namespace signet::testing
