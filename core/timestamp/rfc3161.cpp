#include "timestamp/rfc3161.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include "crypto/cms_signed_data.h"
#include "crypto/der.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"

namespace signet::timestamp {
namespace {

using TsRespPtr = std::unique_ptr<TS_RESP, OpenSslDeleter<TS_RESP_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, OpenSslDeleter<TS_VERIFY_CTX_free>>;
using TsTstInfoPtr = std::unique_ptr<TS_TST_INFO, OpenSslDeleter<TS_TST_INFO_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, OpenSslDeleter<PKCS7_free>>;

Bytes NonceBytes(std::uint64_t nonce) {
  Bytes b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(nonce >> (8 * (7 - i)));
  return b;
}

std::string Subject(X509* cert) { return Certificate::FromX509(cert).Subject(); }

}  // namespace

Bytes BuildRequest(DigestAlgorithm alg, ByteView data, std::uint64_t nonce) {
  Bytes imprint =
      der::Sequence({cms::DigestAlgorithmIdentifier(alg), der::OctetString(Digest(alg, data))});
  return der::Sequence(
      {der::Integer(1), imprint, der::IntegerFromUnsigned(NonceBytes(nonce)), der::Boolean(true)});
}

std::uint64_t NewNonce() {
  std::uint64_t n = 0;
  while (n == 0) {
    unsigned char buf[8];
    if (RAND_bytes(buf, sizeof buf) != 1) {
      OpenSslErrors();
      continue;
    }
    for (unsigned char c : buf) n = (n << 8) | c;
    n &= 0x7fffffffffffffffULL;
  }
  return n;
}

Result<Bytes> CheckResponse(ByteView response, DigestAlgorithm alg, ByteView data,
                            std::uint64_t nonce) {
  const unsigned char* p = response.data();
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(response.size())));
  if (!resp || p != response.data() + response.size()) {
    OpenSslErrors();
    return VerificationFailed("the answer is not an RFC 3161 TimeStampResp (" +
                              std::to_string(response.size()) + " bytes)");
  }
  TS_STATUS_INFO* status_info = TS_RESP_get_status_info(resp.get());
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(status_info));
  if (status != 0 && status != 1) {
    std::string text;
    const STACK_OF(ASN1_UTF8STRING)* texts = TS_STATUS_INFO_get0_text(status_info);
    for (int i = 0; texts != nullptr && i < sk_ASN1_UTF8STRING_num(texts); ++i) {
      const ASN1_UTF8STRING* t = sk_ASN1_UTF8STRING_value(texts, i);
      text += (text.empty() ? "" : " ") +
              std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(t)),
                          static_cast<std::size_t>(ASN1_STRING_length(t)));
    }
    return VerificationFailed("the TSA refused the request (PKIStatus " + std::to_string(status) +
                              (text.empty() ? "" : ": " + text) + ")");
  }
  PKCS7* token = TS_RESP_get_token(resp.get());
  TS_TST_INFO* tst = TS_RESP_get_tst_info(resp.get());
  if (token == nullptr || tst == nullptr) {
    return VerificationFailed("the TSA granted the request but sent no token");
  }
  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(tst);
  X509_ALGOR* imprint_alg = TS_MSG_IMPRINT_get_algo(imprint);
  const ASN1_OBJECT* imprint_oid = nullptr;
  X509_ALGOR_get0(&imprint_oid, nullptr, nullptr, imprint_alg);
  ASN1_OCTET_STRING* imprint_msg = TS_MSG_IMPRINT_get_msg(imprint);
  Bytes want = Digest(alg, data);
  if (OBJ_obj2nid(imprint_oid) != EVP_MD_get_type(EvpMd(alg)) ||
      static_cast<std::size_t>(ASN1_STRING_length(imprint_msg)) != want.size() ||
      !std::equal(want.begin(), want.end(), ASN1_STRING_get0_data(imprint_msg))) {
    return VerificationFailed("the token is for another digest (its message imprint is not " +
                              std::string(DigestName(alg)) + " of this signature)");
  }
  const ASN1_INTEGER* token_nonce = TS_TST_INFO_get_nonce(tst);
  std::uint64_t got = 0;
  if (token_nonce == nullptr) return VerificationFailed("the token carries no nonce");
  if (ASN1_INTEGER_get_uint64(&got, token_nonce) != 1 || got != nonce) {
    OpenSslErrors();
    return VerificationFailed(
        "the token's nonce does not match the request's (a replayed or "
        "misdirected answer)");
  }
  unsigned char* der = nullptr;
  int len = i2d_PKCS7(token, &der);
  if (len <= 0) return Internal("cannot encode the timestamp token: " + OpenSslErrors());
  Bytes out(der, der + len);
  OPENSSL_free(der);
  SIGNET_RETURN_IF_ERROR(VerifyToken(out, data, {}));
  return out;
}

Result<TokenInfo> VerifyToken(ByteView token, ByteView data, const CertificateChain& anchors) {
  const unsigned char* p = token.data();
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(token.size())));
  if (!p7 || p != token.data() + token.size() || !PKCS7_type_is_signed(p7.get())) {
    OpenSslErrors();
    return VerificationFailed("the timestamp token is not a PKCS #7 SignedData");
  }
  TsTstInfoPtr tst(PKCS7_to_TS_TST_INFO(p7.get()));
  if (!tst) {
    OpenSslErrors();
    return VerificationFailed("the timestamp token holds no TSTInfo");
  }

  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return Internal("X509_STORE_new failed");
  TsVerifyCtxPtr ctx(TS_VERIFY_CTX_new());
  if (!ctx) {
    X509_STORE_free(store);
    return Internal("TS_VERIFY_CTX_new failed");
  }
  TS_VERIFY_CTX_set_store(ctx.get(), store);  // the context owns it from here
  if (anchors.empty()) {
    // Self-consistency: the token's own certificates stand in as anchors, so
    // that the signature and the timeStamping usage are still checked.
    STACK_OF(X509)* certs = p7->d.sign->cert;
    for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
      X509_STORE_add_cert(store, sk_X509_value(certs, i));
    }
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
  } else {
    for (const Certificate& c : anchors) X509_STORE_add_cert(store, c.x509());
  }
  BIO* data_bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
  if (data_bio == nullptr) return Internal("BIO_new_mem_buf failed");
  TS_VERIFY_CTX_set_data(ctx.get(), data_bio);  // owned by the context
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
  if (TS_RESP_verify_token(ctx.get(), p7.get()) != 1) {
    std::string why = OpenSslErrors();
    return VerificationFailed("the timestamp token does not verify" +
                              (why.empty() ? std::string() : ": " + why));
  }

  TokenInfo info;
  std::tm tm{};
  if (ASN1_TIME_to_tm(TS_TST_INFO_get_time(tst.get()), &tm) != 1) {
    return VerificationFailed("the timestamp token has an unreadable genTime");
  }
  info.gen_time = timegm(&tm);
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr,
                  TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst.get())));
  info.digest_algorithm = OBJ_nid2sn(OBJ_obj2nid(oid));
  STACK_OF(X509)* signers = PKCS7_get0_signers(p7.get(), nullptr, 0);
  if (signers != nullptr && sk_X509_num(signers) > 0) {
    info.tsa_subject = Subject(sk_X509_value(signers, 0));
  }
  sk_X509_free(signers);
  OpenSslErrors();
  return info;
}

}  // namespace signet::timestamp
