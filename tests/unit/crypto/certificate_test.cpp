// Certificates: PEM chains and putting the signing key's certificate first.
#include "crypto/certificate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::KeyKind;
using signet::testing::SharedKey;
using signet::testing::TempDir;
using ::testing::HasSubstr;

TEST(Certificate, AccessorsReflectTheCertificate) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP256), "Leaf One");
  Certificate leaf = Certificate::FromX509(pki.leaf_cert.get());
  EXPECT_THAT(leaf.Subject(), HasSubstr("CN=Leaf One"));
  EXPECT_THAT(leaf.Issuer(), HasSubstr("CN=Signet Test CA"));
  EXPECT_EQ(leaf.SerialHex(), "07d0");  // 2000
  EXPECT_EQ(HexEncode(leaf.SerialNumberDer()), "020207d0");
  EXPECT_LT(leaf.NotBefore(), std::time(nullptr));
  EXPECT_GT(leaf.NotAfter(), std::time(nullptr));
  auto key = leaf.GetPublicKey();
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(EVP_PKEY_eq(key->evp(), pki.leaf_key), 1);
  auto again = Certificate::FromDer(leaf.Der());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->Der(), leaf.Der());
  EXPECT_EQ(again->Pem(), pki.LeafPem());
  // The issuer name DER is the CA's subject name.
  Certificate ca = Certificate::FromX509(pki.ca_cert.get());
  EXPECT_EQ(leaf.IssuerNameDer(), Certificate::FromX509(pki.ca_cert.get()).IssuerNameDer());
  EXPECT_EQ(ca.Subject(), ca.Issuer());
}

TEST(Certificate, FromDerRejectsGarbage) {
  auto c = Certificate::FromDer(Bytes{0x30, 0x03, 0x02, 0x01, 0x01});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
}

TEST(LoadCertificateChain, ReadsEveryCertificateInOrder) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kRsa2048));
  TempDir dir;
  auto chain = LoadCertificateChain(dir.Write("chain.pem", pki.ChainPem()));
  ASSERT_TRUE(chain.has_value()) << chain.error().message;
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_THAT((*chain)[0].Subject(), HasSubstr("Signet Test Leaf"));
  EXPECT_THAT((*chain)[1].Subject(), HasSubstr("Signet Test CA"));
}

TEST(LoadCertificateChain, IgnoresTextAroundThePemBlocks) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP256));
  auto chain = ParseCertificateChainPem(
      AsBytes("subject=leaf\n" + pki.LeafPem() + "\nsome comment\n" + pki.CaPem() + "trailer"));
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->size(), 2u);
}

TEST(LoadCertificateChain, EmptyOrKeyOnlyFileFailsNamingThePath) {
  TempDir dir;
  std::string path = dir.Write("key.pem", testing::PublicKeyPem(SharedKey(KeyKind::kEcP256)));
  auto chain = LoadCertificateChain(path);
  ASSERT_FALSE(chain.has_value());
  EXPECT_EQ(chain.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(chain.error().message, HasSubstr(path));
  EXPECT_THAT(chain.error().message, HasSubstr("no PEM certificate"));
  auto missing = LoadCertificateChain(dir.File("missing.pem"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr(dir.File("missing.pem")));
}

TEST(OrderChainForKey, MovesTheLeafFirst) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP256));
  // CA first, as some exports write it.
  auto chain = ParseCertificateChainPem(AsBytes(pki.CaPem() + pki.LeafPem()));
  ASSERT_TRUE(chain.has_value());
  ASSERT_THAT((*chain)[0].Subject(), HasSubstr("CA"));
  auto key = PublicKey::FromEvp(pki.leaf_key);
  ASSERT_TRUE(key.has_value());
  auto ordered = OrderChainForKey(*chain, *key);
  ASSERT_TRUE(ordered.has_value()) << ordered.error().message;
  ASSERT_EQ(ordered->size(), 2u);
  EXPECT_EQ((*ordered)[0].Der(), Certificate::FromX509(pki.leaf_cert.get()).Der());
  EXPECT_EQ((*ordered)[1].Der(), Certificate::FromX509(pki.ca_cert.get()).Der());
}

TEST(OrderChainForKey, AlreadyOrderedChainIsUnchanged) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kRsa2048));
  auto chain = ParseCertificateChainPem(AsBytes(pki.ChainPem()));
  ASSERT_TRUE(chain.has_value());
  auto ordered = OrderChainForKey(*chain, PublicKey::FromEvp(pki.leaf_key).value());
  ASSERT_TRUE(ordered.has_value());
  EXPECT_EQ((*ordered)[0].Der(), (*chain)[0].Der());
  EXPECT_EQ((*ordered)[1].Der(), (*chain)[1].Der());
}

TEST(OrderChainForKey, MismatchedKeyIsAnError) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kRsa2048));
  auto chain = ParseCertificateChainPem(AsBytes(pki.ChainPem()));
  ASSERT_TRUE(chain.has_value());
  auto other = PublicKey::FromEvp(SharedKey(KeyKind::kEcP384));
  ASSERT_TRUE(other.has_value());
  auto ordered = OrderChainForKey(*chain, *other);
  ASSERT_FALSE(ordered.has_value());
  EXPECT_EQ(ordered.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(ordered.error().message, HasSubstr("EC P-384"));
  EXPECT_THAT(ordered.error().message, HasSubstr(other->Fingerprint().substr(0, 16)));
}

TEST(FormatTime, IsIso8601Utc) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(1767323045), "2026-01-02T03:04:05Z");
}

}  // namespace
}  // namespace signet
