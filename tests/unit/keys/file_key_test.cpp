// file: key backend: loading every PEM flavour, passphrase handling without
// leaking the passphrase, and signatures that verify.
#include "keys/file/file_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include <ostream>
#include <string>

#include "crypto/digest.h"
#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::KeyKind;
using signet::testing::SharedKey;
using signet::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kPassphrase = "correct horse battery staple";

class FileKeyTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<KeySigner>> Open(const std::string& path, const KeyOptions& options = {}) {
    return backend_->Open("file:" + path, options);
  }
  static KeyOptions WithPassphrase(std::string_view p) {
    KeyOptions o;
    o.passphrase = Secret(std::string(p));
    return o;
  }

  std::unique_ptr<KeyBackend> backend_ = MakeFileKeyBackend();
  TempDir dir_;
};

TEST_F(FileKeyTest, SchemeIsFile) { EXPECT_EQ(backend_->scheme(), "file"); }

TEST_F(FileKeyTest, LoadsPkcs8ForEveryKeyType) {
  for (KeyKind kind : {KeyKind::kRsa2048, KeyKind::kEcP256, KeyKind::kEcP384, KeyKind::kEd25519}) {
    EVP_PKEY* key = SharedKey(kind);
    std::string path = dir_.Write("key.pem", testing::PrivateKeyPkcs8Pem(key));
    auto signer = Open(path);
    ASSERT_TRUE(signer.has_value()) << testing::KeyKindName(kind) << ": " << signer.error().message;
    EXPECT_EQ(EVP_PKEY_eq((*signer)->public_key().evp(), key), 1);
    EXPECT_EQ((*signer)->uri(), "file:" + path);
    EXPECT_TRUE((*signer)->certificate_chain().empty());
  }
}

TEST_F(FileKeyTest, LoadsTraditionalRsaAndEcKeys) {
  std::string rsa_pem = testing::PrivateKeyTraditionalPem(SharedKey(KeyKind::kRsa2048));
  ASSERT_THAT(rsa_pem, HasSubstr("BEGIN RSA PRIVATE KEY"));
  auto rsa = Open(dir_.Write("rsa.pem", rsa_pem));
  ASSERT_TRUE(rsa.has_value()) << rsa.error().message;
  EXPECT_EQ((*rsa)->public_key().Description(), "RSA-2048");

  std::string ec_pem = testing::PrivateKeyTraditionalPem(SharedKey(KeyKind::kEcP256));
  ASSERT_THAT(ec_pem, HasSubstr("BEGIN EC PRIVATE KEY"));
  auto ec = Open(dir_.Write("ec.pem", ec_pem));
  ASSERT_TRUE(ec.has_value()) << ec.error().message;
  EXPECT_EQ((*ec)->public_key().Description(), "EC P-256");
}

TEST_F(FileKeyTest, AcceptsFileUriForms) {
  std::string path =
      dir_.Write("key.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kEcP256)));
  ASSERT_EQ(path[0], '/');
  for (std::string uri : {"file:" + path, "file://" + path, "file://localhost" + path}) {
    auto signer = backend_->Open(uri, {});
    ASSERT_TRUE(signer.has_value()) << uri << ": " << signer.error().message;
    EXPECT_EQ((*signer)->uri(), "file:" + path);
  }
  auto empty = backend_->Open("file:", {});
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message, HasSubstr("names no file"));
}

TEST_F(FileKeyTest, EncryptedKeyWithTheRightPassphrase) {
  std::string path =
      dir_.Write("enc.pem", testing::EncryptedPkcs8Pem(SharedKey(KeyKind::kEcP256), kPassphrase));
  auto signer = Open(path, WithPassphrase(kPassphrase));
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  EXPECT_EQ(EVP_PKEY_eq((*signer)->public_key().evp(), SharedKey(KeyKind::kEcP256)), 1);
}

TEST_F(FileKeyTest, EncryptedKeyWithAWrongPassphrase) {
  std::string path =
      dir_.Write("enc.pem", testing::EncryptedPkcs8Pem(SharedKey(KeyKind::kEcP256), kPassphrase));
  const std::string wrong = "Tr0ub4dor&3-wrong";
  auto signer = Open(path, WithPassphrase(wrong));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(signer.error().message, HasSubstr("wrong passphrase"));
  EXPECT_THAT(signer.error().message, HasSubstr(path));
  EXPECT_THAT(signer.error().message, Not(HasSubstr(wrong)));
  EXPECT_THAT(signer.error().message, Not(HasSubstr(kPassphrase)));
}

TEST_F(FileKeyTest, EncryptedKeyWithoutAPassphrase) {
  std::string path =
      dir_.Write("enc.pem", testing::EncryptedPkcs8Pem(SharedKey(KeyKind::kRsa2048), kPassphrase));
  auto none = Open(path);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(none.error().message, HasSubstr("is encrypted"));
  EXPECT_THAT(none.error().message, HasSubstr("SIGNET_KEY_PASSPHRASE"));
  EXPECT_THAT(none.error().message, HasSubstr(path));
  EXPECT_THAT(none.error().message, Not(HasSubstr(kPassphrase)));
  // The three outcomes are told apart.
  auto wrong = Open(path, WithPassphrase("nope"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(none.error().message, wrong.error().message);
}

TEST_F(FileKeyTest, EmptyPassphraseCountsAsWrongNotMissing) {
  std::string path =
      dir_.Write("enc.pem", testing::EncryptedPkcs8Pem(SharedKey(KeyKind::kEcP256), kPassphrase));
  auto signer = Open(path, WithPassphrase(""));
  ASSERT_FALSE(signer.has_value());
  EXPECT_THAT(signer.error().message, HasSubstr("wrong passphrase"));
}

TEST_F(FileKeyTest, NotAKeyFile) {
  // A certificate and a public key are PEM, but not private keys.
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP256));
  for (std::string content : {std::string("just text\n"), pki.LeafPem(),
                              testing::PublicKeyPem(SharedKey(KeyKind::kEcP256))}) {
    std::string path = dir_.Write("notakey.pem", content);
    auto signer = Open(path);
    ASSERT_FALSE(signer.has_value());
    EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(signer.error().message, HasSubstr("does not contain a PEM private key"));
    EXPECT_THAT(signer.error().message, HasSubstr(path));
  }
}

TEST_F(FileKeyTest, MissingFileNamesThePath) {
  std::string path = dir_.File("missing.pem");
  auto signer = Open(path);
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(signer.error().message, HasSubstr(path));
}

TEST_F(FileKeyTest, UnsupportedKeySizeIsAPreconditionError) {
  std::string path =
      dir_.Write("small.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kRsa1024)));
  auto signer = Open(path);
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr(path));
  EXPECT_THAT(signer.error().message, HasSubstr("RSA-1024"));
}

TEST_F(FileKeyTest, CertificateChainFromCertPathIsOrderedLeafFirst) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP256));
  std::string key = dir_.Write("key.pem", testing::PrivateKeyPkcs8Pem(pki.leaf_key));
  KeyOptions options;
  options.cert_path = dir_.Write("chain.pem", pki.CaPem() + pki.LeafPem());
  auto signer = Open(key, options);
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  const CertificateChain& chain = (*signer)->certificate_chain();
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].Der(), Certificate::FromX509(pki.leaf_cert.get()).Der());
}

TEST_F(FileKeyTest, CertificateForAnotherKeyIsRefused) {
  testing::TestPki pki = testing::MakePki(SharedKey(KeyKind::kEcP384));
  std::string key = dir_.Write("key.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kEcP256)));
  KeyOptions options;
  options.cert_path = dir_.Write("chain.pem", pki.ChainPem());
  auto signer = Open(key, options);
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr(options.cert_path));
}

struct SignCase {
  std::string name;
  KeyKind kind;
  SignatureAlgorithm alg;

  friend void PrintTo(const SignCase& c, std::ostream* os) { *os << c.name; }
};

class FileKeySignTest : public ::testing::TestWithParam<SignCase> {};

TEST_P(FileKeySignTest, SignatureVerifiesWithThePublicKey) {
  const SignCase& c = GetParam();
  TempDir dir;
  auto signer = MakeFileKeyBackend()->Open(
      "file:" + dir.Write("k.pem", testing::PrivateKeyPkcs8Pem(SharedKey(c.kind))), {});
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  const Bytes message = ToBytes("to be signed");
  const Bytes digest = Digest(c.alg.digest, message);
  SignRequest request;
  request.algorithm = c.alg;
  request.digest = digest;
  request.message = message;
  auto sig = (*signer)->Sign(request);
  ASSERT_TRUE(sig.has_value()) << sig.error().message;
  const PublicKey& pub = (*signer)->public_key();
  if (c.alg.scheme == SignatureScheme::kEd25519) {
    EXPECT_EQ(sig->size(), 64u);
    EXPECT_TRUE(pub.VerifyMessage(c.alg, message, *sig).has_value());
    EXPECT_FALSE(pub.VerifyMessage(c.alg, ToBytes("to be signeD"), *sig).has_value());
  } else {
    EXPECT_TRUE(pub.VerifyDigest(c.alg, digest, *sig).has_value());
    Bytes other = digest;
    other[0] ^= 1;
    EXPECT_FALSE(pub.VerifyDigest(c.alg, other, *sig).has_value());
  }
  // Independent check with OpenSSL directly (not signet's verifier).
  if (c.alg.scheme != SignatureScheme::kEd25519) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pub.evp(), nullptr));
    ASSERT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
    EVP_PKEY_CTX_set_signature_md(ctx.get(), EvpMd(c.alg.digest));
    if (c.alg.scheme == SignatureScheme::kRsaPss) {
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), static_cast<int>(DigestSize(c.alg.digest)));
    }
    EXPECT_EQ(EVP_PKEY_verify(ctx.get(), sig->data(), sig->size(), digest.data(), digest.size()),
              1);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, FileKeySignTest,
    ::testing::Values(
        SignCase{"RsaPkcs1Sha256",
                 KeyKind::kRsa2048,
                 {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}},
        SignCase{"RsaPssSha256",
                 KeyKind::kRsa2048,
                 {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}},
        SignCase{"RsaPssSha512",
                 KeyKind::kRsa2048,
                 {SignatureScheme::kRsaPss, DigestAlgorithm::kSha512}},
        SignCase{
            "EcdsaP256", KeyKind::kEcP256, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}},
        SignCase{
            "EcdsaP384", KeyKind::kEcP384, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384}},
        SignCase{
            "Ed25519", KeyKind::kEd25519, {SignatureScheme::kEd25519, DigestAlgorithm::kSha512}}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(FileKeyTest, RsaPssSignaturesAreRandomised) {
  auto signer =
      Open(dir_.Write("k.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kRsa2048))));
  ASSERT_TRUE(signer.has_value());
  Bytes digest(32, 0x42);
  SignRequest request{{SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}, digest, {}};
  auto a = (*signer)->Sign(request);
  auto b = (*signer)->Sign(request);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);  // random salt
  EXPECT_TRUE((*signer)->public_key().VerifyDigest(request.algorithm, digest, *a).has_value());
  EXPECT_TRUE((*signer)->public_key().VerifyDigest(request.algorithm, digest, *b).has_value());
  // PKCS#1 v1.5 is deterministic.
  request.algorithm.scheme = SignatureScheme::kRsaPkcs1v15;
  EXPECT_EQ((*signer)->Sign(request).value(), (*signer)->Sign(request).value());
}

TEST_F(FileKeyTest, SchemeThatDoesNotFitTheKeyIsRefused) {
  auto signer = Open(dir_.Write("k.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kEcP256))));
  ASSERT_TRUE(signer.has_value());
  Bytes digest(32, 1);
  auto sig = (*signer)->Sign({{SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}, digest, {}});
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(sig.error().message, HasSubstr("EC P-256"));
}

TEST_F(FileKeyTest, DigestOfTheWrongLengthIsRefused) {
  auto signer = Open(dir_.Write("k.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kEcP256))));
  ASSERT_TRUE(signer.has_value());
  Bytes digest(20, 1);
  auto sig = (*signer)->Sign({{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, digest, {}});
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(FileKeyTest, Ed25519NeedsTheMessage) {
  auto signer =
      Open(dir_.Write("k.pem", testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kEd25519))));
  ASSERT_TRUE(signer.has_value());
  Bytes digest(64, 1);
  auto sig = (*signer)->Sign({{SignatureScheme::kEd25519, DigestAlgorithm::kSha512}, digest, {}});
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(sig.error().message, HasSubstr("Ed25519"));
}

}  // namespace
}  // namespace signet
