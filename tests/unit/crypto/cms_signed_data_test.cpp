// CMS SignedData builder (RFC 5652) checked by OpenSSL's own CMS parser and
// verifier, and the signed-attributes parser's strictness.
#include "crypto/cms_signed_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "crypto/der.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"
#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::KeyKind;
using signet::testing::SharedKey;
using ::testing::HasSubstr;

constexpr std::time_t kSigningTime = 1767323045;  // 2026-01-02T03:04:05Z

Bytes Sha256Of(std::string_view s) { return Digest(DigestAlgorithm::kSha256, AsBytes(s)); }

TEST(SignedAttributes, RoundTripThroughTheParser) {
  Bytes digest = Sha256Of("content");
  Bytes der =
      cms::SignedAttributesDer(cms::StandardSignedAttributes(cms::kOidData, digest, kSigningTime));
  EXPECT_EQ(der[0], der::kSet);
  auto parsed = cms::ParseSignedAttributes(der);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->content_type_oid, cms::kOidData);
  EXPECT_EQ(parsed->message_digest, digest);
  ASSERT_TRUE(parsed->signing_time.has_value());
  EXPECT_EQ(*parsed->signing_time, kSigningTime);
}

TEST(SignedAttributes, SigningTimeIsOptional) {
  Bytes digest(48, 0x11);
  auto parsed = cms::ParseSignedAttributes(
      cms::SignedAttributesDer(cms::StandardSignedAttributes("1.3.6.1.4.1.311.2.1.4", digest, 0)));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->content_type_oid, "1.3.6.1.4.1.311.2.1.4");
  EXPECT_EQ(parsed->message_digest, digest);
  EXPECT_FALSE(parsed->signing_time.has_value());
}

TEST(SignedAttributes, AreEncodedInDerSetOrder) {
  auto attrs = cms::StandardSignedAttributes(cms::kOidData, Sha256Of("x"), kSigningTime);
  auto reversed = attrs;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(cms::SignedAttributesDer(attrs), cms::SignedAttributesDer(reversed));
  // X.690 11.6 orders by the whole encoding, length octets included: the
  // short signingTime attribute (SEQUENCE length 0x1c) sorts before the
  // messageDigest attribute (0x2f), whatever their OIDs say.
  Bytes der = cms::SignedAttributesDer(attrs);
  der::Reader r(der::ParseSingle(der, "attrs")->content);
  std::vector<std::string> order;
  Bytes previous;
  while (!r.empty()) {
    auto attr = r.Next();
    ASSERT_TRUE(attr.has_value());
    Bytes whole(attr->whole.begin(), attr->whole.end());
    EXPECT_LT(previous, whole);
    previous = whole;
    der::Reader fields(attr->content);
    order.push_back(der::DecodeOid(fields.Next()->content).value());
  }
  EXPECT_EQ(order, (std::vector<std::string>{std::string(cms::kOidContentType),
                                             std::string(cms::kOidSigningTime),
                                             std::string(cms::kOidMessageDigest)}));
}

TEST(SignedAttributes, UnknownAttributesAreIgnored) {
  auto attrs = cms::StandardSignedAttributes(cms::kOidData, Sha256Of("x"), 0);
  attrs.push_back({"1.2.840.113549.1.9.16.2.47", {der::Sequence({der::Null()})}});
  auto parsed = cms::ParseSignedAttributes(cms::SignedAttributesDer(attrs));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->message_digest, Sha256Of("x"));
}

struct BadAttributes {
  std::string name;
  Bytes der;
  std::string message;

  friend void PrintTo(const BadAttributes& c, std::ostream* os) { *os << c.name; }
};

std::vector<BadAttributes> BadAttributeCases() {
  const Bytes digest = Sha256Of("x");
  const cms::Attribute type{std::string(cms::kOidContentType), {der::Oid(cms::kOidData)}};
  const cms::Attribute md{std::string(cms::kOidMessageDigest), {der::OctetString(digest)}};
  const cms::Attribute time{std::string(cms::kOidSigningTime), {der::Time(kSigningTime)}};
  std::vector<BadAttributes> cases;
  cases.push_back(
      {"MissingMessageDigest", cms::SignedAttributesDer({type, time}), "lack messageDigest"});
  cases.push_back({"MissingContentType", cms::SignedAttributesDer({md}), "lack contentType"});
  cases.push_back({"DuplicateContentType",
                   cms::SignedAttributesDer(
                       {type, md, {std::string(cms::kOidContentType), {der::Oid("1.2.3.4")}}}),
                   "contentType"});
  cases.push_back({"DuplicateMessageDigest",
                   cms::SignedAttributesDer(
                       {type, md, {std::string(cms::kOidMessageDigest), {der::OctetString({})}}}),
                   "messageDigest"});
  cases.push_back(
      {"TwoContentTypeValues",
       cms::SignedAttributesDer(
           {{std::string(cms::kOidContentType), {der::Oid(cms::kOidData), der::Oid("1.2.3")}}, md}),
       "exactly one OID"});
  cases.push_back({"MessageDigestNotOctetString",
                   cms::SignedAttributesDer(
                       {type, {std::string(cms::kOidMessageDigest), {der::Utf8String("abc")}}}),
                   "OCTET STRING"});
  cases.push_back(
      {"ContentTypeNotOid",
       cms::SignedAttributesDer({{std::string(cms::kOidContentType), {der::Null()}}, md}),
       "exactly one OID"});
  cases.push_back({"EmptyValueSet",
                   cms::SignedAttributesDer({type, {std::string(cms::kOidMessageDigest), {}}}),
                   "DER"});
  cases.push_back(
      {"DuplicateSigningTime", cms::SignedAttributesDer({type, md, time, time}), "signingTime"});
  cases.push_back(
      {"LocalSigningTime",
       cms::SignedAttributesDer({type,
                                 md,
                                 {std::string(cms::kOidSigningTime),
                                  {der::Tlv(der::kUtcTime, AsBytes("2601020304051"))}}}),
       "signingTime"});
  Bytes implicit = cms::SignedAttributesDer({type, md});
  implicit[0] = 0xa0;  // the [0] IMPLICIT form inside SignerInfo is not what is signed
  cases.push_back({"ImplicitTag", implicit, "not a DER SET"});
  Bytes trailing = cms::SignedAttributesDer({type, md});
  trailing.push_back(0);
  cases.push_back({"TrailingBytes", trailing, "trailing"});
  cases.push_back({"AttributeNotSequence", der::Set({der::Null()}), "attribute"});
  return cases;
}

class SignedAttributesRejects : public ::testing::TestWithParam<BadAttributes> {};

TEST_P(SignedAttributesRejects, WithAReason) {
  auto parsed = cms::ParseSignedAttributes(GetParam().der);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(parsed.error().message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(Cms, SignedAttributesRejects, ::testing::ValuesIn(BadAttributeCases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(AlgorithmIdentifiers, KnownEncodings) {
  EXPECT_EQ(HexEncode(cms::DigestAlgorithmIdentifier(DigestAlgorithm::kSha256)),
            "300d06096086480165030402010500");
  EXPECT_EQ(HexEncode(cms::SignatureAlgorithmIdentifier(
                {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256})),
            "300d06092a864886f70d0101010500");
  EXPECT_EQ(HexEncode(cms::SignatureAlgorithmIdentifier(
                {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256})),
            "300a06082a8648ce3d040302");
  EXPECT_EQ(HexEncode(cms::SignatureAlgorithmIdentifier(
                {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384})),
            "300a06082a8648ce3d040303");
  EXPECT_EQ(HexEncode(cms::SignatureAlgorithmIdentifier(
                {SignatureScheme::kEd25519, DigestAlgorithm::kSha512})),
            "300506032b6570");
  // RFC 4055 RSASSA-PSS-params for SHA-256, MGF1-SHA-256, salt 32.
  EXPECT_EQ(HexEncode(cms::SignatureAlgorithmIdentifier(
                {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256})),
            "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a8648"
            "86f70d010108300d06096086480165030402010500a203020120");
}

struct CmsCase {
  std::string name;
  KeyKind key;
  SignatureAlgorithm alg;

  friend void PrintTo(const CmsCase& c, std::ostream* os) { *os << c.name; }
};

class BuildSignedDataTest : public ::testing::TestWithParam<CmsCase> {
 protected:
  // A detached SignedData over `content`, signed by `pki`'s leaf through the
  // test's own OpenSSL calls (not signet's key code).
  static Bytes MakeSignedData(const testing::TestPki& pki, const SignatureAlgorithm& alg,
                              std::string_view content, bool include_ca) {
    Bytes content_digest = Digest(alg.digest, AsBytes(content));
    Bytes attrs = cms::SignedAttributesDer(
        cms::StandardSignedAttributes(cms::kOidData, content_digest, kSigningTime));
    Bytes tbs_digest = Digest(alg.digest, attrs);
    Bytes signature = testing::SignDigest(pki.leaf_key, DigestName(alg.digest), tbs_digest,
                                          alg.scheme == SignatureScheme::kRsaPss);
    CertificateChain chain = {Certificate::FromX509(pki.leaf_cert.get())};
    if (include_ca) chain.push_back(Certificate::FromX509(pki.ca_cert.get()));
    cms::SignerInfoInput si;
    si.signer = &chain.front();
    si.algorithm = alg;
    si.signed_attributes = attrs;
    si.signature = signature;
    cms::SignedDataInput sd;
    sd.digest_algorithms = {alg.digest, alg.digest};  // duplicates collapse
    sd.certificates = &chain;
    sd.signer_infos = {cms::BuildSignerInfo(si)};
    return cms::BuildSignedData(sd);
  }

  static CmsPtr Parse(const Bytes& der) {
    const unsigned char* p = der.data();
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    EXPECT_TRUE(cms != nullptr) << OpenSslErrors();
    EXPECT_EQ(p, der.data() + der.size()) << "OpenSSL did not consume every byte";
    return cms;
  }

  // CMS_verify over detached `content` with `ca` as the only trust anchor.
  static bool Verify(CMS_ContentInfo* cms, X509* ca, std::string_view content) {
    X509StorePtr store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), ca);
    X509_STORE_set_purpose(store.get(), X509_PURPOSE_ANY);
    BioPtr data = MemBio(AsBytes(content));
    int ok = CMS_verify(cms, nullptr, store.get(), data.get(), nullptr, CMS_BINARY);
    OpenSslErrors();
    return ok == 1;
  }
};

TEST_P(BuildSignedDataTest, OpenSslParsesAndVerifiesIt) {
  testing::TestPki pki = testing::MakePki(SharedKey(GetParam().key));
  const std::string content = "signet detached content\n";
  Bytes der = MakeSignedData(pki, GetParam().alg, content, /*include_ca=*/false);
  CmsPtr cms = Parse(der);
  ASSERT_TRUE(cms);
  EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_signed);
  EXPECT_EQ(CMS_is_detached(cms.get()), 1);
  // Our DER is canonical: OpenSSL re-encodes it to the same bytes.
  unsigned char* re = nullptr;
  int re_len = i2d_CMS_ContentInfo(cms.get(), &re);
  ASSERT_GT(re_len, 0);
  EXPECT_EQ(Bytes(re, re + re_len), der);
  OPENSSL_free(re);

  EXPECT_TRUE(Verify(cms.get(), pki.ca_cert.get(), content));
}

TEST_P(BuildSignedDataTest, OpenSslRejectsOtherContent) {
  testing::TestPki pki = testing::MakePki(SharedKey(GetParam().key));
  Bytes der = MakeSignedData(pki, GetParam().alg, "original", /*include_ca=*/false);
  CmsPtr cms = Parse(der);
  ASSERT_TRUE(cms);
  EXPECT_FALSE(Verify(cms.get(), pki.ca_cert.get(), "originaL"));
}

TEST_P(BuildSignedDataTest, OpenSslRejectsAnUntrustedChain) {
  testing::TestPki pki = testing::MakePki(SharedKey(GetParam().key));
  Bytes der = MakeSignedData(pki, GetParam().alg, "content", /*include_ca=*/true);
  CmsPtr cms = Parse(der);
  ASSERT_TRUE(cms);
  // Another CA with the same name but another key is not the issuer.
  testing::CertOptions ca_options;
  ca_options.common_name = "Signet Test CA";
  ca_options.is_ca = true;
  EVP_PKEY* other = SharedKey(KeyKind::kEcP384);
  X509Ptr other_ca = testing::MakeCertificate(other, other, nullptr, ca_options);
  EXPECT_FALSE(Verify(cms.get(), other_ca.get(), "content"));
  EXPECT_TRUE(Verify(cms.get(), pki.ca_cert.get(), "content"));
}

TEST_P(BuildSignedDataTest, OpenSslRejectsACorruptSignature) {
  testing::TestPki pki = testing::MakePki(SharedKey(GetParam().key));
  Bytes der = MakeSignedData(pki, GetParam().alg, "content", /*include_ca=*/false);
  // The signature OCTET STRING is the SignerInfo's last element and the last
  // thing in the structure; flip a bit near the end.
  der[der.size() - 5] ^= 0x01;
  CmsPtr cms = Parse(der);
  ASSERT_TRUE(cms);
  EXPECT_FALSE(Verify(cms.get(), pki.ca_cert.get(), "content"));
}

INSTANTIATE_TEST_SUITE_P(
    Cms, BuildSignedDataTest,
    ::testing::Values(CmsCase{"RsaPkcs1Sha256",
                              KeyKind::kRsa2048,
                              {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}},
                      CmsCase{"RsaPssSha256",
                              KeyKind::kRsa2048,
                              {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}},
                      CmsCase{"RsaPssSha512",
                              KeyKind::kRsa2048,
                              {SignatureScheme::kRsaPss, DigestAlgorithm::kSha512}},
                      CmsCase{"EcdsaP256Sha256",
                              KeyKind::kEcP256,
                              {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}},
                      CmsCase{"EcdsaP384Sha384",
                              KeyKind::kEcP384,
                              {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384}}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(BuildSignedData, EncapsulatedContentIsCarried) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP256));
  Certificate leaf = Certificate::FromX509(pki.leaf_cert.get());
  cms::SignerInfoInput si;
  si.signer = &leaf;
  si.algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
  si.signed_attributes =
      cms::SignedAttributesDer(cms::StandardSignedAttributes(cms::kOidData, Sha256Of("inner"), 0));
  si.signature = Bytes(70, 0x30);
  cms::SignedDataInput sd;
  sd.content = der::OctetString(AsBytes("inner"));
  sd.digest_algorithms = {DigestAlgorithm::kSha256};
  sd.signer_infos = {cms::BuildSignerInfo(si)};
  Bytes der = cms::BuildSignedData(sd);
  const unsigned char* p = der.data();
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(cms) << OpenSslErrors();
  EXPECT_EQ(CMS_is_detached(cms.get()), 0);
  ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
  ASSERT_TRUE(content != nullptr && *content != nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)),
                        static_cast<std::size_t>(ASN1_STRING_length(*content))),
            "inner");
  // No certificates were given: none are written.
  STACK_OF(X509)* certs = CMS_get1_certs(cms.get());
  EXPECT_EQ(certs, nullptr);
  sk_X509_pop_free(certs, X509_free);
}

}  // namespace
}  // namespace signet
