// PKCS#10 requests: the DER that BuildCsr writes is parsed and its
// self-signature checked by OpenSSL (X509_REQ_verify), for every key type and
// scheme; distinguished names are checked against OpenSSL's reading of them.
#include "crypto/csr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "crypto/digest.h"
#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::KeyKind;
using signet::testing::SharedKey;
using ::testing::HasSubstr;

using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME_free>>;

// OpenSSL's one-line RFC 2253 rendering of a DER Name.
std::string NameString(ByteView der) {
  const unsigned char* p = der.data();
  X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (!name) return "(unparsable)";
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name.get(), 0, XN_FLAG_RFC2253);
  return ToString(BioBytes(bio.get()));
}

CsrSignCallback SignWith(EVP_PKEY* key, const SignatureAlgorithm& alg) {
  return [key, alg](ByteView digest, ByteView message) -> Result<Bytes> {
    if (alg.scheme == SignatureScheme::kEd25519) {
      return signet::testing::SignMessageEd25519(key, message);
    }
    return signet::testing::SignDigest(key, DigestName(alg.digest), digest,
                                       alg.scheme == SignatureScheme::kRsaPss);
  };
}

struct Case {
  KeyKind kind;
  SignatureAlgorithm alg;
};

class CsrTest : public ::testing::TestWithParam<Case> {};

TEST_P(CsrTest, OpenSslVerifiesTheRequest) {
  const Case& c = GetParam();
  EVP_PKEY* key = SharedKey(c.kind);
  auto pub = PublicKey::FromEvp(key);
  ASSERT_TRUE(pub) << pub.error().message;
  auto name = ParseDistinguishedName("CN=Example Release,O=Example Ltd,C=DE");
  ASSERT_TRUE(name) << name.error().message;
  auto csr = BuildCsr(*pub, *name, c.alg, SignWith(key, c.alg));
  ASSERT_TRUE(csr) << csr.error().message;

  const unsigned char* p = csr->data();
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(csr->size())));
  ASSERT_TRUE(req);
  EXPECT_EQ(p, csr->data() + csr->size());  // no trailing bytes
  EXPECT_EQ(X509_REQ_get_version(req.get()), 0);
  EXPECT_EQ(X509_REQ_verify(req.get(), pub->evp()), 1) << SignatureAlgorithmName(c.alg);
  EvpPkeyPtr req_key(X509_REQ_get_pubkey(req.get()));
  EXPECT_EQ(EVP_PKEY_eq(req_key.get(), key), 1);

  std::string pem = CsrPem(*csr);
  EXPECT_TRUE(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
  EXPECT_TRUE(pem.ends_with("-----END CERTIFICATE REQUEST-----\n"));
  BioPtr bio = MemBio(AsBytes(pem));
  X509ReqPtr from_pem(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(from_pem);
  EXPECT_EQ(X509_REQ_verify(from_pem.get(), pub->evp()), 1);
}

INSTANTIATE_TEST_SUITE_P(
    AllSchemes, CsrTest,
    ::testing::Values(
        Case{KeyKind::kRsa2048, {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}},
        Case{KeyKind::kRsa2048, {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha512}},
        Case{KeyKind::kRsa2048, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}},
        Case{KeyKind::kRsa2048, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha384}},
        Case{KeyKind::kEcP256, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}},
        Case{KeyKind::kEcP384, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384}},
        Case{KeyKind::kEd25519, {SignatureScheme::kEd25519, DigestAlgorithm::kSha512}}));

TEST(CsrFailureTest, SignatureThatDoesNotVerifyIsRefused) {
  EVP_PKEY* key = SharedKey(KeyKind::kEcP256);
  auto pub = PublicKey::FromEvp(key);
  auto name = ParseDistinguishedName("CN=x");
  SignatureAlgorithm alg{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
  // Signed by another key.
  auto csr = BuildCsr(*pub, *name, alg, SignWith(SharedKey(KeyKind::kEcP384), alg));
  ASSERT_FALSE(csr);
  EXPECT_EQ(csr.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(csr.error().message, HasSubstr("does not verify"));
}

TEST(CsrFailureTest, CallbackErrorsPassThrough) {
  auto pub = PublicKey::FromEvp(SharedKey(KeyKind::kEcP256));
  auto name = ParseDistinguishedName("CN=x");
  auto csr = BuildCsr(*pub, *name, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256},
                      [](ByteView, ByteView) -> Result<Bytes> {
                        return PermissionDenied("AccessDeniedException: no");
                      });
  ASSERT_FALSE(csr);
  EXPECT_EQ(csr.error().code, ErrorCode::kPermissionDenied);
}

TEST(CsrFailureTest, SchemeMustFitTheKey) {
  auto pub = PublicKey::FromEvp(SharedKey(KeyKind::kEcP256));
  auto name = ParseDistinguishedName("CN=x");
  bool called = false;
  auto csr = BuildCsr(*pub, *name, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256},
                      [&](ByteView, ByteView) -> Result<Bytes> {
                        called = true;
                        return Bytes{};
                      });
  ASSERT_FALSE(csr);
  EXPECT_EQ(csr.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(called);
}

TEST(DistinguishedNameTest, Rfc4514OrderIsReversedIntoDer) {
  auto name = ParseDistinguishedName("CN=Example Release, O=Example Ltd, C=DE");
  ASSERT_TRUE(name) << name.error().message;
  // OpenSSL prints RFC 2253 too: the same string back (most specific first).
  EXPECT_EQ(NameString(*name), "CN=Example Release,O=Example Ltd,C=DE");
}

TEST(DistinguishedNameTest, SlashFormIsInDerOrder) {
  auto name = ParseDistinguishedName("/C=DE/O=Example Ltd/CN=Example Release");
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_EQ(NameString(*name), "CN=Example Release,O=Example Ltd,C=DE");
}

TEST(DistinguishedNameTest, EscapesMultiValuedRdnsAndOids) {
  auto name = ParseDistinguishedName(
      R"(CN=Smith\, John+UID=jsmith,OU=R\2BD,O=A \"quoted\" org,2.5.4.97=VATDE-123,DC=example,emailAddress=ci@example.com)");
  ASSERT_TRUE(name) << name.error().message;
  std::string s = NameString(*name);
  EXPECT_THAT(s, HasSubstr("CN=Smith\\, John"));
  EXPECT_THAT(s, HasSubstr("UID=jsmith"));
  EXPECT_THAT(s, HasSubstr("OU=R\\+D"));
  EXPECT_THAT(s, HasSubstr("O=A \\\"quoted\\\" org"));
  EXPECT_THAT(s, HasSubstr("DC=example"));
  EXPECT_THAT(s, HasSubstr("emailAddress=ci@example.com"));
}

TEST(DistinguishedNameTest, StringTypes) {
  auto name = ParseDistinguishedName("C=DE,DC=example,CN=Ünïcode");
  ASSERT_TRUE(name) << name.error().message;
  std::string der = ToString(*name);
  // C as PrintableString (0x13), DC as IA5String (0x16), CN as UTF8String (0x0c).
  EXPECT_NE(der.find(std::string("\x13\x02"
                                 "DE",
                                 4)),
            std::string::npos);
  EXPECT_NE(der.find(std::string("\x16\x07"
                                 "example",
                                 9)),
            std::string::npos);
  EXPECT_NE(der.find(std::string("\x0c\x09", 2) + "Ünïcode"), std::string::npos);
}

TEST(DistinguishedNameTest, RejectsWhatItCannotEncode) {
  for (const char* bad : {"", "CN", "CN=", "XX=1", "C=DEU", "C=D1!", "CN=a,,O=b", "CN=#0403",
                          "CN=tab\there", "DC=ümlaut", "CN=x\\"}) {
    auto name = ParseDistinguishedName(bad);
    ASSERT_FALSE(name) << bad;
    EXPECT_EQ(name.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace signet
