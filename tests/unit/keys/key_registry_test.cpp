// KeyRegistry: choosing a backend by URI scheme, with errors that help.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "keys/file/file_key.h"
#include "keys/key_signer.h"
#include "test_keys.h"

namespace signet {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// A backend that only records that it was asked.
class RecordingBackend final : public KeyBackend {
 public:
  explicit RecordingBackend(std::string scheme) : scheme_(std::move(scheme)) {}
  std::string_view scheme() const override { return scheme_; }
  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri, const KeyOptions&) override {
    return Unavailable("recording backend " + scheme_ + " asked for " + std::string(uri));
  }

 private:
  std::string scheme_;
};

TEST(KeyRegistry, BuiltinsIncludeFile) {
  KeyRegistry registry;
  RegisterBuiltinKeyBackends(registry);
  EXPECT_THAT(registry.schemes(), Contains("file"));
  auto backend = registry.Find("file:/tmp/key.pem");
  ASSERT_TRUE(backend.has_value());
  EXPECT_EQ((*backend)->scheme(), "file");
}

TEST(KeyRegistry, UnknownSchemeListsTheKnownOnes) {
  KeyRegistry registry;
  registry.Register(MakeFileKeyBackend());
  registry.Register(std::make_unique<RecordingBackend>("awskms"));
  auto r = registry.Open("gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("'gcpkms:'"));
  EXPECT_THAT(r.error().message, HasSubstr("file:, awskms:"));
}

TEST(KeyRegistry, UriWithoutSchemeIsRefused) {
  KeyRegistry registry;
  RegisterBuiltinKeyBackends(registry);
  for (std::string uri : {"/home/me/key.pem", "key.pem", ":nothing", ""}) {
    auto r = registry.Find(uri);
    ASSERT_FALSE(r.has_value()) << uri;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, HasSubstr("has no scheme"));
    EXPECT_THAT(r.error().message, HasSubstr("file:"));
  }
}

TEST(KeyRegistry, LongUrisAreTruncatedInErrors) {
  KeyRegistry registry;
  RegisterBuiltinKeyBackends(registry);
  std::string uri(500, 'x');
  auto r = registry.Find(uri);
  ASSERT_FALSE(r.has_value());
  EXPECT_LT(r.error().message.size(), 200u);
}

TEST(KeyRegistry, DispatchesToTheMatchingScheme) {
  KeyRegistry registry;
  registry.Register(std::make_unique<RecordingBackend>("one"));
  registry.Register(std::make_unique<RecordingBackend>("two"));
  auto r = registry.Open("two:key", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "recording backend two asked for two:key");
  // A scheme is matched whole, not by prefix.
  EXPECT_FALSE(registry.Find("tw:key").has_value());
  EXPECT_FALSE(registry.Find("twos:key").has_value());
}

TEST(KeyRegistry, ListIsUnsupportedByDefault) {
  KeyRegistry registry;
  registry.Register(MakeFileKeyBackend());
  auto r = registry.List("file:/tmp", {});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("not supported"));
}

TEST(KeyRegistry, OpensAFileKey) {
  testing::TempDir dir;
  std::string path = dir.Write(
      "k.pem", testing::PrivateKeyPkcs8Pem(testing::SharedKey(testing::KeyKind::kEcP256)));
  KeyRegistry registry;
  RegisterBuiltinKeyBackends(registry);
  auto signer = registry.Open("file:" + path, {});
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  EXPECT_EQ((*signer)->public_key().Description(), "EC P-256");
}

TEST(ResolveCertificateChain, BackendChainWinsAndCertPathAddsIntermediates) {
  testing::TestPki pki = testing::MakePki(testing::SharedKey(testing::KeyKind::kEcP256));
  testing::TempDir dir;
  KeyOptions options;
  options.cert_path = dir.Write("extra.pem", pki.ChainPem());
  PublicKey key = PublicKey::FromEvp(pki.leaf_key).value();
  CertificateChain from_token = {Certificate::FromX509(pki.leaf_cert.get())};
  auto chain = ResolveCertificateChain(from_token, options, key);
  ASSERT_TRUE(chain.has_value()) << chain.error().message;
  ASSERT_EQ(chain->size(), 2u);  // the leaf is not duplicated
  EXPECT_EQ((*chain)[0].Der(), from_token[0].Der());
  EXPECT_THAT((*chain)[1].Subject(), HasSubstr("CA"));
  // No chain and no --cert: empty, not an error.
  auto none = ResolveCertificateChain({}, {}, key);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  // A token chain for another key is refused.
  PublicKey other = PublicKey::FromEvp(testing::SharedKey(testing::KeyKind::kEcP384)).value();
  EXPECT_EQ(ResolveCertificateChain(from_token, {}, other).error().code,
            ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace signet
