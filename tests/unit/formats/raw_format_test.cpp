// raw format: a bare signature over the file's digest, checked by signet and
// by OpenSSL the way `openssl dgst -verify` does.
#include "formats/raw/raw_format.h"

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
using signet::testing::ReadFileBytes;
using signet::testing::SharedKey;
using signet::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kContent = "raw artifact bytes\n";

// What `openssl dgst -<digest> -verify pub.pem -signature S F` checks.
bool OpenSslDgstVerify(EVP_PKEY* key, const EVP_MD* md, bool pss, ByteView message,
                       ByteView signature) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) return false;
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO);
  }
  bool ok = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                             message.size()) == 1;
  OpenSslErrors();
  return ok;
}

class RawFormatTest : public ::testing::Test {
 protected:
  void SetUp() override { artifact_path_ = dir_.Write("a.bin", kContent); }
  InputFile Artifact() const { return InputFile::Open(artifact_path_).value(); }

  // Prepare -> sign with OpenSSL -> Finish; returns the written path.
  Result<std::string> Sign(EVP_PKEY* key, const SignatureAlgorithm& alg,
                           FinishOptions options = {}) {
    PrepareOptions prepare;
    prepare.signature_algorithm = alg;
    SIGNET_ASSIGN_OR_RETURN(SigningPlan plan, format_->Prepare(Artifact(), prepare));
    Bytes sig = testing::SignDigest(key, DigestName(alg.digest), plan.to_be_signed_digest,
                                    alg.scheme == SignatureScheme::kRsaPss);
    last_signature_ = sig;
    return format_->Finish(Artifact(), plan, sig, options);
  }

  Result<VerifyReport> Verify(EVP_PKEY* key, DigestAlgorithm digest = DigestAlgorithm::kSha256) {
    VerifyOptions options;
    options.public_key_path = dir_.Write("pub.pem", testing::PublicKeyPem(key));
    options.digest = digest;
    return format_->Verify(Artifact(), options);
  }

  std::unique_ptr<Format> format_ = MakeRawFormat();
  TempDir dir_;
  std::string artifact_path_;
  Bytes last_signature_;
};

TEST_F(RawFormatTest, Describes) {
  EXPECT_EQ(format_->name(), "raw");
  EXPECT_TRUE(format_->detached());
  EXPECT_EQ(format_->signature_suffix(), ".sig");
}

TEST_F(RawFormatTest, PrepareSignsTheContentDigestItself) {
  PrepareOptions options;
  options.signature_algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384};
  auto plan = format_->Prepare(Artifact(), options);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->format, "raw");
  EXPECT_EQ(plan->artifact_size, kContent.size());
  EXPECT_EQ(plan->content_digest, Digest(DigestAlgorithm::kSha384, AsBytes(kContent)));
  EXPECT_TRUE(plan->to_be_signed.empty());
  EXPECT_EQ(plan->to_be_signed_digest, plan->content_digest);
}

struct RawCase {
  std::string name;
  KeyKind kind;
  SignatureAlgorithm alg;

  friend void PrintTo(const RawCase& c, std::ostream* os) { *os << c.name; }
};

class RawRoundTrip : public RawFormatTest, public ::testing::WithParamInterface<RawCase> {};

TEST_P(RawRoundTrip, SignVerifyAndOpenSslAgrees) {
  const RawCase& c = GetParam();
  EVP_PKEY* key = SharedKey(c.kind);
  auto written = Sign(key, c.alg);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(*written, artifact_path_ + ".sig");
  EXPECT_EQ(ReadFileBytes(*written), last_signature_);  // the bare signature, nothing else
  auto report = Verify(key, c.alg.digest);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->format, "raw");
  EXPECT_EQ(report->signature_algorithm, SignatureAlgorithmName(c.alg));
  EXPECT_EQ(report->digest_algorithm, DigestName(c.alg.digest));
  EXPECT_TRUE(OpenSslDgstVerify(key, EvpMd(c.alg.digest), c.alg.scheme == SignatureScheme::kRsaPss,
                                AsBytes(kContent), last_signature_));
}

TEST_P(RawRoundTrip, TamperedContentFails) {
  const RawCase& c = GetParam();
  EVP_PKEY* key = SharedKey(c.kind);
  ASSERT_TRUE(Sign(key, c.alg).has_value());
  dir_.Write("a.bin", "raw artifact bytes.\n");
  auto report = Verify(key, c.alg.digest);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, RawRoundTrip,
    ::testing::Values(
        RawCase{"RsaPkcs1Sha256",
                KeyKind::kRsa2048,
                {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}},
        RawCase{"RsaPssSha256",
                KeyKind::kRsa2048,
                {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}},
        RawCase{"RsaPssSha384",
                KeyKind::kRsa2048,
                {SignatureScheme::kRsaPss, DigestAlgorithm::kSha384}},
        RawCase{"EcdsaP256", KeyKind::kEcP256, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}},
        RawCase{"EcdsaP384Sha512",
                KeyKind::kEcP384,
                {SignatureScheme::kEcdsa, DigestAlgorithm::kSha512}}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(RawFormatTest, WrongKeyFails) {
  ASSERT_TRUE(Sign(SharedKey(KeyKind::kEcP256), {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256})
                  .has_value());
  auto report = Verify(SharedKey(KeyKind::kEcP384));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
}

TEST_F(RawFormatTest, WrongDigestFails) {
  ASSERT_TRUE(Sign(SharedKey(KeyKind::kEcP256), {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384})
                  .has_value());
  EXPECT_FALSE(Verify(SharedKey(KeyKind::kEcP256), DigestAlgorithm::kSha256).has_value());
  EXPECT_TRUE(Verify(SharedKey(KeyKind::kEcP256), DigestAlgorithm::kSha384).has_value());
}

TEST_F(RawFormatTest, Ed25519IsRefusedByPrepareAndVerify) {
  PrepareOptions options;
  options.signature_algorithm = {SignatureScheme::kEd25519, DigestAlgorithm::kSha512};
  auto plan = format_->Prepare(Artifact(), options);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(plan.error().message, HasSubstr("Ed25519"));
  EXPECT_THAT(plan.error().message, HasSubstr(artifact_path_));

  dir_.Write("a.bin.sig", Bytes(64, 1));
  auto report = Verify(SharedKey(KeyKind::kEd25519));
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(report.error().message, HasSubstr("Ed25519"));
}

TEST_F(RawFormatTest, VerifyNeedsAPublicKey) {
  ASSERT_TRUE(Sign(SharedKey(KeyKind::kEcP256), {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256})
                  .has_value());
  VerifyOptions options;
  options.trust_path = "/ca.pem";
  auto report = format_->Verify(Artifact(), options);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(report.error().message, HasSubstr("--public-key"));
}

TEST_F(RawFormatTest, OversizedSignatureFileIsRefused) {
  dir_.Write("a.bin.sig", Bytes(5000, 1));
  auto report = Verify(SharedKey(KeyKind::kEcP256));
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message, HasSubstr("too large"));
}

TEST_F(RawFormatTest, FinishRefusesAPlanWhoseToBeSignedDigestIsNotTheContentDigest) {
  PrepareOptions prepare;
  prepare.signature_algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
  SigningPlan plan = format_->Prepare(Artifact(), prepare).value();
  plan.to_be_signed_digest[0] ^= 1;
  auto written = format_->Finish(Artifact(), plan, Bytes(70, 0), {});
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(dir_.List(), ElementsAre("a.bin"));
}

TEST_F(RawFormatTest, ExplicitOutputPath) {
  FinishOptions options;
  options.output_path = dir_.File("custom.signature");
  auto written = Sign(SharedKey(KeyKind::kEcP256),
                      {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, options);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, options.output_path);
  EXPECT_THAT(dir_.List(), ElementsAre("a.bin", "custom.signature"));
}

}  // namespace
}  // namespace signet
