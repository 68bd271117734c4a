// cms format: Prepare -> sign (OpenSSL directly; formats never use keys/)
// -> Finish -> Verify, and every way Finish and Verify must refuse.
#include "formats/cms/cms_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "crypto/cms_signed_data.h"
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
using ::testing::StartsWith;

constexpr std::time_t kSigningTime = 1767323045;  // 2026-01-02T03:04:05Z

Bytes SignPlan(const SigningPlan& plan, EVP_PKEY* key) {
  return testing::SignDigest(key, DigestName(plan.signature_algorithm.digest),
                             plan.to_be_signed_digest,
                             plan.signature_algorithm.scheme == SignatureScheme::kRsaPss);
}

class CmsFormatTest : public ::testing::Test {
 protected:
  void UseKey(KeyKind kind) {
    key_ = SharedKey(kind);
    pki_ = testing::MakePki(key_, "Signet CMS Leaf");
    chain_ = ParseCertificateChainPem(AsBytes(pki_.ChainPem())).value();
    ca_path_ = dir_.Write("ca.pem", pki_.CaPem());
  }
  void SetUp() override {
    artifact_path_ = dir_.Write("artifact.bin", "artifact content\n");
    UseKey(KeyKind::kEcP256);
  }

  InputFile Artifact() const { return InputFile::Open(artifact_path_).value(); }

  SigningPlan Prepare(const SignatureAlgorithm& alg) const {
    PrepareOptions options;
    options.signature_algorithm = alg;
    options.signing_time = kSigningTime;
    auto plan = format_->Prepare(Artifact(), options);
    EXPECT_TRUE(plan.has_value()) << plan.error().message;
    return plan.value_or(SigningPlan{});
  }

  Result<std::string> SignAndFinish(const SignatureAlgorithm& alg, FinishOptions options) {
    SigningPlan plan = Prepare(alg);
    if (options.chain.empty()) options.chain = chain_;
    return format_->Finish(Artifact(), plan, SignPlan(plan, key_), options);
  }

  Result<VerifyReport> VerifyWithCa(const std::string& signature_path = "") const {
    VerifyOptions options;
    options.trust_path = ca_path_;
    options.signature_path = signature_path;
    return format_->Verify(Artifact(), options);
  }

  std::unique_ptr<Format> format_ = MakeCmsFormat();
  TempDir dir_;
  std::string artifact_path_;
  EVP_PKEY* key_ = nullptr;
  testing::TestPki pki_;
  CertificateChain chain_;
  std::string ca_path_;
};

TEST_F(CmsFormatTest, Describes) {
  EXPECT_EQ(format_->name(), "cms");
  EXPECT_TRUE(format_->detached());
  EXPECT_EQ(format_->signature_suffix(), ".p7s");
  EXPECT_FALSE(format_->Detect(AsBytes("MZ anything")));
}

TEST_F(CmsFormatTest, PrepareMakesSignedAttributesOverTheContentDigest) {
  SigningPlan plan = Prepare({SignatureScheme::kEcdsa, DigestAlgorithm::kSha384});
  EXPECT_EQ(plan.format, "cms");
  EXPECT_EQ(plan.artifact, artifact_path_);
  EXPECT_EQ(plan.artifact_size, 17u);
  EXPECT_EQ(plan.content_digest_algorithm, DigestAlgorithm::kSha384);
  EXPECT_EQ(plan.content_digest, Digest(DigestAlgorithm::kSha384, AsBytes("artifact content\n")));
  EXPECT_EQ(plan.to_be_signed_digest, Digest(DigestAlgorithm::kSha384, plan.to_be_signed));
  auto attrs = cms::ParseSignedAttributes(plan.to_be_signed);
  ASSERT_TRUE(attrs.has_value()) << attrs.error().message;
  EXPECT_EQ(attrs->content_type_oid, cms::kOidData);
  EXPECT_EQ(attrs->message_digest, plan.content_digest);
  EXPECT_EQ(attrs->signing_time, kSigningTime);
  EXPECT_TRUE(CheckPlan(plan, "cms").has_value());
}

TEST_F(CmsFormatTest, PrepareWithoutATimeUsesNow) {
  PrepareOptions options;
  options.signature_algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
  std::time_t before = std::time(nullptr);
  auto plan = format_->Prepare(Artifact(), options);
  ASSERT_TRUE(plan.has_value());
  auto attrs = cms::ParseSignedAttributes(plan->to_be_signed);
  ASSERT_TRUE(attrs.has_value() && attrs->signing_time.has_value());
  EXPECT_GE(*attrs->signing_time, before);
  EXPECT_LE(*attrs->signing_time, std::time(nullptr));
}

struct RoundTripCase {
  std::string name;
  KeyKind kind;
  SignatureAlgorithm alg;
  std::string description;

  friend void PrintTo(const RoundTripCase& c, std::ostream* os) { *os << c.name; }
};

class CmsRoundTrip : public CmsFormatTest, public ::testing::WithParamInterface<RoundTripCase> {};

TEST_P(CmsRoundTrip, FinishThenVerify) {
  UseKey(GetParam().kind);
  auto written = SignAndFinish(GetParam().alg, {});
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(*written, artifact_path_ + ".p7s");
  EXPECT_THAT(dir_.List(), ElementsAre("artifact.bin", "artifact.bin.p7s", "ca.pem"));
  auto report = VerifyWithCa();
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->format, "cms");
  EXPECT_EQ(report->artifact, artifact_path_);
  EXPECT_EQ(report->signature_path, *written);
  EXPECT_THAT(report->signer_subject, HasSubstr("CN=Signet CMS Leaf"));
  EXPECT_EQ(report->key, GetParam().description);
  ASSERT_TRUE(report->signing_time.has_value());
  EXPECT_EQ(*report->signing_time, kSigningTime);
}

TEST_P(CmsRoundTrip, TamperedContentFailsVerification) {
  UseKey(GetParam().kind);
  ASSERT_TRUE(SignAndFinish(GetParam().alg, {}).has_value());
  dir_.Write("artifact.bin", "artifact content!");  // one byte changed
  auto report = VerifyWithCa();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(report.error().message, HasSubstr(artifact_path_));
}

INSTANTIATE_TEST_SUITE_P(
    Keys, CmsRoundTrip,
    ::testing::Values(RoundTripCase{"RsaPkcs1",
                                    KeyKind::kRsa2048,
                                    {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256},
                                    "RSA-2048"},
                      RoundTripCase{"RsaPss",
                                    KeyKind::kRsa2048,
                                    {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256},
                                    "RSA-2048"},
                      RoundTripCase{"EcdsaP256",
                                    KeyKind::kEcP256,
                                    {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256},
                                    "EC P-256"},
                      RoundTripCase{"EcdsaP384Sha384",
                                    KeyKind::kEcP384,
                                    {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384},
                                    "EC P-384"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(CmsFormatTest, PemOutputVerifies) {
  FinishOptions options;
  options.pem = true;
  auto written = SignAndFinish({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, options);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_THAT(ToString(ReadFileBytes(*written)), StartsWith("-----BEGIN CMS-----"));
  auto report = VerifyWithCa();
  EXPECT_TRUE(report.has_value()) << report.error().message;
}

TEST_F(CmsFormatTest, ExplicitOutputPath) {
  FinishOptions options;
  options.output_path = dir_.File("elsewhere.der");
  auto written = SignAndFinish({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, options);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, options.output_path);
  EXPECT_FALSE(PathExists(artifact_path_ + ".p7s"));
  EXPECT_TRUE(VerifyWithCa(options.output_path).has_value());
  // The default path has no signature.
  auto missing = VerifyWithCa();
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr(artifact_path_ + ".p7s"));
}

TEST_F(CmsFormatTest, FinishWithoutAChainIsAPreconditionErrorAndWritesNothing) {
  SigningPlan plan = Prepare({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  auto written = format_->Finish(Artifact(), plan, SignPlan(plan, key_), FinishOptions{});
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(written.error().message, HasSubstr("--cert"));
  EXPECT_FALSE(PathExists(artifact_path_ + ".p7s"));
}

TEST_F(CmsFormatTest, FinishRefusesAPlanWhoseAttributesDoNotCommitToTheDigest) {
  SigningPlan plan = Prepare({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  plan.content_digest[0] ^= 0x01;  // still the right length
  FinishOptions options;
  options.chain = chain_;
  auto written = format_->Finish(Artifact(), plan, SignPlan(plan, key_), options);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(written.error().message, HasSubstr("do not commit"));
  EXPECT_FALSE(PathExists(artifact_path_ + ".p7s"));
}

TEST_F(CmsFormatTest, FinishRefusesARawPlan) {
  SigningPlan plan = Prepare({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  plan.format = "raw";
  FinishOptions options;
  options.chain = chain_;
  auto written = format_->Finish(Artifact(), plan, SignPlan(plan, key_), options);
  ASSERT_FALSE(written.has_value());
  EXPECT_THAT(written.error().message, HasSubstr("'raw', not 'cms'"));
}

TEST_F(CmsFormatTest, ABadSignatureIsWrittenButDoesNotVerify) {
  // Finish trusts its caller (the pipeline checks signatures); Verify must not.
  SigningPlan plan = Prepare({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  Bytes sig = SignPlan(plan, key_);
  sig[sig.size() - 3] ^= 0x01;
  FinishOptions options;
  options.chain = chain_;
  ASSERT_TRUE(format_->Finish(Artifact(), plan, sig, options).has_value());
  auto report = VerifyWithCa();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
}

TEST_F(CmsFormatTest, UntrustedSignerFailsVerification) {
  ASSERT_TRUE(SignAndFinish({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, {}).has_value());
  // Another CA: the signature is fine, the chain is not.
  testing::TestPki other = testing::MakePki(SharedKey(KeyKind::kEcP384));
  testing::CertOptions ca;
  ca.is_ca = true;
  ca.common_name = "Other CA";
  X509Ptr other_ca = testing::MakeCertificate(SharedKey(KeyKind::kEcP384),
                                              SharedKey(KeyKind::kEcP384), nullptr, ca);
  VerifyOptions options;
  options.trust_path = dir_.Write("other-ca.pem", testing::CertificatePem(other_ca.get()));
  auto report = format_->Verify(Artifact(), options);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
}

TEST_F(CmsFormatTest, VerifyByPublicKey) {
  ASSERT_TRUE(SignAndFinish({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, {}).has_value());
  VerifyOptions options;
  options.public_key_path = dir_.Write("pub.pem", testing::PublicKeyPem(key_));
  auto report = format_->Verify(Artifact(), options);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->key, "EC P-256");

  options.public_key_path =
      dir_.Write("other.pem", testing::PublicKeyPem(SharedKey(KeyKind::kEcP384)));
  auto other = format_->Verify(Artifact(), options);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(other.error().message, HasSubstr("another key"));
}

TEST_F(CmsFormatTest, VerifyNeedsATrustAnchorOrAKey) {
  ASSERT_TRUE(SignAndFinish({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, {}).has_value());
  auto report = format_->Verify(Artifact(), VerifyOptions{});
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(report.error().message, HasSubstr("--trust"));
}

TEST_F(CmsFormatTest, VerifyRejectsAFileThatIsNotCms) {
  dir_.Write("artifact.bin.p7s", "definitely not DER");
  auto report = VerifyWithCa();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(report.error().message, HasSubstr("not a CMS SignedData"));
}

TEST_F(CmsFormatTest, Ed25519IsRefusedByPrepare) {
  PrepareOptions options;
  options.signature_algorithm = {SignatureScheme::kEd25519, DigestAlgorithm::kSha512};
  auto plan = format_->Prepare(Artifact(), options);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(plan.error().message, HasSubstr(artifact_path_));
}

}  // namespace
}  // namespace signet
