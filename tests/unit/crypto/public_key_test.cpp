// PublicKey: loading, description, local signature checks, ECDSA conversion.
#include "crypto/public_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <ostream>
#include <string>

#include "crypto/der.h"
#include "crypto/digest.h"
#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::KeyKind;
using signet::testing::SharedKey;
using ::testing::HasSubstr;

struct KeyCase {
  KeyKind kind;
  KeyType type;
  std::string description;

  friend void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.description; }
};

class PublicKeyTypes : public ::testing::TestWithParam<KeyCase> {};

TEST_P(PublicKeyTypes, FromPemGivesTypeAndDescription) {
  EVP_PKEY* key = SharedKey(GetParam().kind);
  auto pub = PublicKey::FromPem(AsBytes(testing::PublicKeyPem(key)));
  ASSERT_TRUE(pub.has_value()) << pub.error().message;
  EXPECT_EQ(pub->type(), GetParam().type);
  EXPECT_EQ(pub->Description(), GetParam().description);
  EXPECT_EQ(pub->Fingerprint().size(), 64u);
  EXPECT_EQ(EVP_PKEY_eq(pub->evp(), key), 1);
}

TEST_P(PublicKeyTypes, FromACertificatePem) {
  EVP_PKEY* key = SharedKey(GetParam().kind);
  testing::TestPki pki = testing::MakePki(key);
  auto pub = PublicKey::FromPem(AsBytes(pki.LeafPem()));
  ASSERT_TRUE(pub.has_value()) << pub.error().message;
  EXPECT_EQ(pub->Description(), GetParam().description);
  EXPECT_EQ(EVP_PKEY_eq(pub->evp(), key), 1);
}

TEST_P(PublicKeyTypes, SpkiAndPemRoundTrip) {
  auto pub = PublicKey::FromPem(AsBytes(testing::PublicKeyPem(SharedKey(GetParam().kind))));
  ASSERT_TRUE(pub.has_value());
  auto from_der = PublicKey::FromSpkiDer(pub->SpkiDer());
  ASSERT_TRUE(from_der.has_value());
  EXPECT_TRUE(*from_der == *pub);
  auto from_pem = PublicKey::FromPem(AsBytes(pub->Pem()));
  ASSERT_TRUE(from_pem.has_value());
  EXPECT_TRUE(*from_pem == *pub);
  EXPECT_EQ(from_pem->Fingerprint(), pub->Fingerprint());
  EXPECT_EQ(pub->Fingerprint(), HexEncode(Digest(DigestAlgorithm::kSha256, pub->SpkiDer())));
}

INSTANTIATE_TEST_SUITE_P(Keys, PublicKeyTypes,
                         ::testing::Values(KeyCase{KeyKind::kRsa2048, KeyType::kRsa, "RSA-2048"},
                                           KeyCase{KeyKind::kEcP256, KeyType::kEcP256, "EC P-256"},
                                           KeyCase{KeyKind::kEcP384, KeyType::kEcP384, "EC P-384"},
                                           KeyCase{KeyKind::kEd25519, KeyType::kEd25519,
                                                   "Ed25519"}),
                         [](const auto& param_info) {
                           return std::string(testing::KeyKindName(param_info.param.kind));
                         });

TEST(PublicKey, DifferentKeysAreNotEqual) {
  auto a = PublicKey::FromEvp(SharedKey(KeyKind::kEcP256));
  auto b = PublicKey::FromEvp(testing::GenerateKey(KeyKind::kEcP256).get());
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_FALSE(*a == *b);
  EXPECT_NE(a->Fingerprint(), b->Fingerprint());
}

TEST(PublicKey, Rsa1024IsRefusedAsFailedPrecondition) {
  auto pub = PublicKey::FromPem(AsBytes(testing::PublicKeyPem(SharedKey(KeyKind::kRsa1024))));
  ASSERT_FALSE(pub.has_value());
  EXPECT_EQ(pub.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(pub.error().message, HasSubstr("RSA-1024"));
}

TEST(PublicKey, UnsupportedCurveIsRefused) {
  auto pub = PublicKey::FromEvp(SharedKey(KeyKind::kEcSecp256k1));
  ASSERT_FALSE(pub.has_value());
  EXPECT_EQ(pub.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(pub.error().message, HasSubstr("secp256k1"));
}

TEST(PublicKey, GarbageIsInvalidArgument) {
  for (std::string text :
       {std::string(""), std::string("hello"),
        std::string("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")}) {
    auto pub = PublicKey::FromPem(AsBytes(text));
    ASSERT_FALSE(pub.has_value());
    EXPECT_EQ(pub.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(PublicKey::FromSpkiDer(Bytes{0x30, 0x00}).has_value());
  EXPECT_FALSE(PublicKey::FromEvp(nullptr).has_value());
}

TEST(PublicKey, FromPemFileNamesTheFileOnError) {
  testing::TempDir dir;
  std::string path = dir.Write("not-a-key.pem", "nothing here");
  auto pub = PublicKey::FromPemFile(path);
  ASSERT_FALSE(pub.has_value());
  EXPECT_THAT(pub.error().message, HasSubstr(path));
  auto ok = PublicKey::FromPemFile(
      dir.Write("pub.pem", testing::PublicKeyPem(SharedKey(KeyKind::kEcP256))));
  EXPECT_TRUE(ok.has_value());
}

struct VerifyCase {
  std::string name;
  KeyKind kind;
  SignatureAlgorithm alg;

  friend void PrintTo(const VerifyCase& c, std::ostream* os) { *os << c.name; }
};

class VerifyDigestTest : public ::testing::TestWithParam<VerifyCase> {};

TEST_P(VerifyDigestTest, AcceptsAGoodSignatureAndRejectsABadOne) {
  const VerifyCase& c = GetParam();
  EVP_PKEY* key = SharedKey(c.kind);
  auto pub = PublicKey::FromEvp(key);
  ASSERT_TRUE(pub.has_value());
  Bytes digest = Digest(c.alg.digest, AsBytes("message"));
  Bytes sig = testing::SignDigest(key, DigestName(c.alg.digest), digest,
                                  c.alg.scheme == SignatureScheme::kRsaPss);
  EXPECT_TRUE(pub->VerifyDigest(c.alg, digest, sig).has_value());
  EXPECT_TRUE(pub->VerifyMessage(c.alg, AsBytes("message"), sig).has_value());

  Bytes bad_sig = sig;
  bad_sig[bad_sig.size() / 2] ^= 0x01;
  auto bad = pub->VerifyDigest(c.alg, digest, bad_sig);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kVerificationFailed);

  Bytes other_digest = Digest(c.alg.digest, AsBytes("messagE"));
  EXPECT_EQ(pub->VerifyDigest(c.alg, other_digest, sig).error().code,
            ErrorCode::kVerificationFailed);
  EXPECT_FALSE(pub->VerifyMessage(c.alg, AsBytes("messagE"), sig).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Keys, VerifyDigestTest,
    ::testing::Values(
        VerifyCase{"RsaPkcs1",
                   KeyKind::kRsa2048,
                   {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}},
        VerifyCase{
            "RsaPss", KeyKind::kRsa2048, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha384}},
        VerifyCase{
            "EcdsaP256", KeyKind::kEcP256, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}},
        VerifyCase{
            "EcdsaP384", KeyKind::kEcP384, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha512}}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(VerifyDigest, PaddingMustMatch) {
  EVP_PKEY* key = SharedKey(KeyKind::kRsa2048);
  auto pub = PublicKey::FromEvp(key);
  ASSERT_TRUE(pub.has_value());
  Bytes digest = Digest(DigestAlgorithm::kSha256, AsBytes("m"));
  Bytes pss = testing::SignDigest(key, "sha256", digest, /*pss=*/true);
  EXPECT_FALSE(
      pub->VerifyDigest({SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}, digest, pss));
  EXPECT_TRUE(pub->VerifyDigest({SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}, digest, pss));
}

TEST(VerifyDigest, SchemeThatDoesNotFitTheKeyIsAPreconditionError) {
  auto pub = PublicKey::FromEvp(SharedKey(KeyKind::kEcP256));
  ASSERT_TRUE(pub.has_value());
  Bytes digest(32, 1);
  auto r = pub->VerifyDigest({SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}, digest,
                             Bytes(256, 0));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(r.error().message, HasSubstr("EC P-256"));
}

TEST(VerifyMessage, Ed25519) {
  EVP_PKEY* key = SharedKey(KeyKind::kEd25519);
  auto pub = PublicKey::FromEvp(key);
  ASSERT_TRUE(pub.has_value());
  const SignatureAlgorithm alg{SignatureScheme::kEd25519, DigestAlgorithm::kSha512};
  Bytes sig = testing::SignMessageEd25519(key, AsBytes("signed attributes"));
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(pub->VerifyMessage(alg, AsBytes("signed attributes"), sig).has_value());
  auto bad = pub->VerifyMessage(alg, AsBytes("signed attributeS"), sig);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kVerificationFailed);
  // Ed25519 has no digest form.
  EXPECT_FALSE(pub->VerifyDigest(alg, Bytes(64, 0), sig).has_value());
  // And an Ed25519 signature cannot be checked with an RSA key.
  auto rsa = PublicKey::FromEvp(SharedKey(KeyKind::kRsa2048));
  ASSERT_TRUE(rsa.has_value());
  EXPECT_EQ(rsa->VerifyMessage(alg, AsBytes("x"), sig).error().code,
            ErrorCode::kFailedPrecondition);
}

// Splits a DER ECDSA signature into fixed-width r||s, as PKCS#11 returns it.
Bytes DerToRaw(const Bytes& der, int width) {
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  EXPECT_NE(sig, nullptr);
  Bytes raw(static_cast<std::size_t>(2 * width));
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), width);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + width, width);
  ECDSA_SIG_free(sig);
  return raw;
}

TEST(EcdsaRawToDer, RebuildsOpenSslsDerEncoding) {
  EVP_PKEY* key = SharedKey(KeyKind::kEcP256);
  auto pub = PublicKey::FromEvp(key);
  ASSERT_TRUE(pub.has_value());
  // Many signatures, so r or s with the high bit set (needs a 0x00 prefix)
  // and with leading zero bytes (must be stripped) both occur.
  for (int i = 0; i < 64; ++i) {
    Bytes digest = Digest(DigestAlgorithm::kSha256, AsBytes(std::to_string(i)));
    Bytes der = testing::SignDigest(key, "sha256", digest);
    auto rebuilt = EcdsaRawToDer(DerToRaw(der, 32));
    ASSERT_TRUE(rebuilt.has_value());
    EXPECT_EQ(*rebuilt, der) << i;
    EXPECT_TRUE(
        pub->VerifyDigest({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, digest, *rebuilt));
  }
}

TEST(EcdsaRawToDer, KnownSmallValues) {
  // r = 0x80 (needs a zero prefix), s = 0x01 (leading zeros stripped).
  Bytes raw = {0x00, 0x80, 0x00, 0x01};
  EXPECT_EQ(HexEncode(EcdsaRawToDer(raw).value()),
            "3007020200800201"
            "01");
}

TEST(EcdsaRawToDer, RejectsOddOrEmptyOrOversized) {
  EXPECT_FALSE(EcdsaRawToDer(Bytes{}).has_value());
  EXPECT_FALSE(EcdsaRawToDer(Bytes(63, 1)).has_value());
  EXPECT_FALSE(EcdsaRawToDer(Bytes(134, 1)).has_value());
  EXPECT_TRUE(EcdsaRawToDer(Bytes(132, 1)).has_value());  // P-521
}

TEST(DigestInfo, MatchesRfc8017Prefixes) {
  Bytes d(32, 0xaa);
  EXPECT_EQ(HexEncode(DigestInfo(DigestAlgorithm::kSha256, d)),
            "3031300d060960864801650304020105000420" + HexEncode(d));
  EXPECT_EQ(HexEncode(DigestInfo(DigestAlgorithm::kSha384, Bytes(48, 0))).substr(0, 38),
            "3041300d060960864801650304020205000430");
  EXPECT_EQ(HexEncode(DigestInfo(DigestAlgorithm::kSha512, Bytes(64, 0))).substr(0, 38),
            "3051300d060960864801650304020305000440");
}

}  // namespace
}  // namespace signet
