// Algorithm names: parsing, printing and which scheme fits which key.
#include "crypto/algorithm.h"

#include <gtest/gtest.h>

namespace signet {
namespace {

constexpr SignatureScheme kSchemes[] = {SignatureScheme::kRsaPkcs1v15, SignatureScheme::kRsaPss,
                                        SignatureScheme::kEcdsa, SignatureScheme::kEd25519};
constexpr DigestAlgorithm kDigests[] = {DigestAlgorithm::kSha256, DigestAlgorithm::kSha384,
                                        DigestAlgorithm::kSha512};

TEST(SignatureAlgorithm, NameRoundTripsForEveryCombination) {
  for (SignatureScheme scheme : kSchemes) {
    for (DigestAlgorithm digest : kDigests) {
      SignatureAlgorithm alg{scheme, digest};
      std::string name = SignatureAlgorithmName(alg);
      auto parsed = ParseSignatureAlgorithm(name);
      ASSERT_TRUE(parsed.has_value()) << name << ": " << parsed.error().message;
      EXPECT_EQ(*parsed, alg) << name;
    }
  }
}

TEST(SignatureAlgorithm, KnownNames) {
  EXPECT_EQ(SignatureAlgorithmName({SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}),
            "rsa-pkcs1-sha256");
  EXPECT_EQ(SignatureAlgorithmName({SignatureScheme::kRsaPss, DigestAlgorithm::kSha384}),
            "rsa-pss-sha384");
  EXPECT_EQ(SignatureAlgorithmName({SignatureScheme::kEcdsa, DigestAlgorithm::kSha512}),
            "ecdsa-sha512");
  EXPECT_EQ(SignatureAlgorithmName({SignatureScheme::kEd25519, DigestAlgorithm::kSha512}),
            "ed25519-sha512");
}

TEST(SignatureAlgorithm, ParseRejectsUnknownNames) {
  for (const char* name : {"", "rsa", "rsa-sha256", "dsa-sha256", "ecdsa-md5", "ecdsa-", "-sha256",
                           "rsa-pkcs1-sha1", "RSA-PKCS1-SHA256"}) {
    auto parsed = ParseSignatureAlgorithm(name);
    EXPECT_FALSE(parsed.has_value()) << "accepted '" << name << "'";
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(DigestAlgorithm, ParseAcceptsCommonSpellings) {
  for (const char* name : {"sha256", "SHA256", "sha-256", "SHA-256", "sha_256"}) {
    auto d = ParseDigestAlgorithm(name);
    ASSERT_TRUE(d.has_value()) << name;
    EXPECT_EQ(*d, DigestAlgorithm::kSha256);
  }
  EXPECT_EQ(ParseDigestAlgorithm("SHA-384").value(), DigestAlgorithm::kSha384);
  EXPECT_EQ(ParseDigestAlgorithm("sha512").value(), DigestAlgorithm::kSha512);
}

TEST(DigestAlgorithm, ParseRejectsWeakOrUnknownWithAHint) {
  for (const char* name : {"sha1", "md5", "sha3-256", "", "sha"}) {
    auto d = ParseDigestAlgorithm(name);
    ASSERT_FALSE(d.has_value()) << name;
    EXPECT_NE(d.error().message.find("sha256, sha384 or sha512"), std::string::npos);
  }
}

TEST(DigestAlgorithm, SizesAndNames) {
  EXPECT_EQ(DigestSize(DigestAlgorithm::kSha256), 32u);
  EXPECT_EQ(DigestSize(DigestAlgorithm::kSha384), 48u);
  EXPECT_EQ(DigestSize(DigestAlgorithm::kSha512), 64u);
  for (DigestAlgorithm d : kDigests) EXPECT_EQ(ParseDigestAlgorithm(DigestName(d)).value(), d);
}

TEST(Schemes, DefaultSchemeFitsItsKey) {
  for (KeyType type : {KeyType::kRsa, KeyType::kEcP256, KeyType::kEcP384, KeyType::kEd25519}) {
    for (bool pss : {false, true}) {
      EXPECT_TRUE(SchemeFitsKey(DefaultScheme(type, pss), type)) << KeyTypeName(type);
    }
  }
  EXPECT_EQ(DefaultScheme(KeyType::kRsa, false), SignatureScheme::kRsaPkcs1v15);
  EXPECT_EQ(DefaultScheme(KeyType::kRsa, true), SignatureScheme::kRsaPss);
  EXPECT_EQ(DefaultScheme(KeyType::kEcP384, true), SignatureScheme::kEcdsa);
}

TEST(Schemes, MismatchesAreRefused) {
  EXPECT_FALSE(SchemeFitsKey(SignatureScheme::kEcdsa, KeyType::kRsa));
  EXPECT_FALSE(SchemeFitsKey(SignatureScheme::kRsaPss, KeyType::kEcP256));
  EXPECT_FALSE(SchemeFitsKey(SignatureScheme::kEd25519, KeyType::kRsa));
  EXPECT_FALSE(SchemeFitsKey(SignatureScheme::kRsaPkcs1v15, KeyType::kEd25519));
}

}  // namespace
}  // namespace signet
