// The signing pipeline: a backend that returns a bad signature must make
// SignFile fail and leave nothing behind; a good one signs and verifies.
#include "cli/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "crypto/digest.h"
#include "keys/file/file_key.h"
#include "test_keys.h"
#include "test_signers.h"

namespace signet::cli {
namespace {

using signet::testing::Fault;
using signet::testing::FaultInjectingSigner;
using signet::testing::KeyKind;
using signet::testing::SharedKey;
using signet::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A detached format whose key signs a message (not only a digest), as
// OpenPGP does: the only way to drive SignFile's Ed25519 path, since the
// built-in cms and raw formats refuse Ed25519 keys.
class MessageFormat final : public Format {
 public:
  std::string_view name() const override { return "msg"; }
  std::string_view description() const override { return "test: signature over a message"; }
  bool detached() const override { return true; }
  std::string_view signature_suffix() const override { return ".msig"; }
  bool Detect(ByteView) const override { return false; }

  Result<SigningPlan> Prepare(const InputFile& artifact,
                              const PrepareOptions& options) const override {
    SigningPlan plan;
    plan.format = "msg";
    plan.artifact = artifact.path();
    plan.artifact_size = artifact.size();
    plan.signature_algorithm = options.signature_algorithm;
    plan.content_digest_algorithm = options.signature_algorithm.digest;
    SIGNET_ASSIGN_OR_RETURN(plan.content_digest,
                            DigestFile(artifact, plan.content_digest_algorithm));
    plan.to_be_signed = ToBytes("signet-test-message:");
    plan.to_be_signed.insert(plan.to_be_signed.end(), plan.content_digest.begin(),
                             plan.content_digest.end());
    plan.to_be_signed_digest = Digest(plan.signature_algorithm.digest, plan.to_be_signed);
    return plan;
  }
  Result<std::string> Finish(const InputFile& artifact, const SigningPlan& plan, ByteView signature,
                             const FinishOptions& options) const override {
    SIGNET_RETURN_IF_ERROR(CheckPlan(plan, name()));
    std::string path = DetachedSignaturePath(artifact, signature_suffix(), options.output_path);
    SIGNET_RETURN_IF_ERROR(WriteFileAtomically(path, signature));
    return path;
  }
  Result<VerifyReport> Verify(const InputFile&, const VerifyOptions&) const override {
    return Internal("not used by these tests");
  }
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltinFormats(formats_);
    formats_.Register(std::make_unique<MessageFormat>());
  }

  // Key, chain and CA in a directory of their own; artifacts in work_.
  std::unique_ptr<KeySigner> OpenFileSigner(KeyKind kind) {
    pki_ = testing::MakePki(SharedKey(kind));
    KeyOptions options;
    options.cert_path = keys_.Write("chain.pem", pki_.ChainPem());
    ca_path_ = keys_.Write("ca.pem", pki_.CaPem());
    auto signer = MakeFileKeyBackend()->Open(
        "file:" + keys_.Write("key.pem", testing::PrivateKeyPkcs8Pem(pki_.leaf_key)), options);
    EXPECT_TRUE(signer.has_value()) << signer.error().message;
    return signer ? std::move(*signer) : nullptr;
  }

  FormatRegistry formats_;
  TempDir keys_;
  TempDir work_;
  testing::TestPki pki_;
  std::string ca_path_;
};

struct FaultCase {
  std::string name;
  Fault fault;
  std::string format;
  KeyKind kind;

  friend void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }
};

class PipelineFaults : public PipelineTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(PipelineFaults, BadSignatureIsAnErrorAndNothingIsWritten) {
  const FaultCase& c = GetParam();
  auto real = OpenFileSigner(c.kind);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner faulty(std::move(real), c.fault);
  const Bytes original = ToBytes("the artifact\n");
  std::string artifact = work_.Write("artifact.bin", original);
  SignSettings settings;
  settings.format = c.format;
  auto outcome = SignFile(formats_, faulty, artifact, settings);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(faulty.sign_calls(), 1);
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(outcome.error().message, HasSubstr("does not verify"));
  EXPECT_THAT(outcome.error().message, HasSubstr("nothing was written"));
  EXPECT_THAT(outcome.error().message, HasSubstr(faulty.uri()));
  // No FILE.p7s / FILE.sig, no temp file; the artifact is unchanged.
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin"));
  EXPECT_EQ(testing::ReadFileBytes(artifact), original);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, PipelineFaults,
    ::testing::Values(
        FaultCase{"CmsFlippedBitEc", Fault::kFlipSignatureBit, "cms", KeyKind::kEcP256},
        FaultCase{"CmsFlippedBitRsa", Fault::kFlipSignatureBit, "cms", KeyKind::kRsa2048},
        FaultCase{"CmsTruncatedRsa", Fault::kTruncateSignature, "cms", KeyKind::kRsa2048},
        FaultCase{"CmsOtherDigestEc", Fault::kSignOtherDigest, "cms", KeyKind::kEcP256},
        FaultCase{"CmsTruncatedEc", Fault::kTruncateSignature, "cms", KeyKind::kEcP256},
        FaultCase{"MsgOtherMessageEd25519", Fault::kSignOtherDigest, "msg", KeyKind::kEd25519},
        FaultCase{"MsgFlippedBitEd25519", Fault::kFlipSignatureBit, "msg", KeyKind::kEd25519},
        FaultCase{"RawFlippedBitEc", Fault::kFlipSignatureBit, "raw", KeyKind::kEcP256},
        FaultCase{"RawOtherDigestRsa", Fault::kSignOtherDigest, "raw", KeyKind::kRsa2048}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(PipelineTest, BackendErrorPassesThroughUnchangedAndNothingIsWritten) {
  auto real = OpenFileSigner(KeyKind::kEcP256);
  ASSERT_NE(real, nullptr);
  testing::FailingSigner failing(real->public_key(),
                                 Error{ErrorCode::kFailedPrecondition, "CKR_PIN_LOCKED"});
  std::string artifact = work_.Write("artifact.bin", "x");
  auto outcome = SignFile(formats_, failing, artifact, SignSettings{});
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(outcome.error().message, "CKR_PIN_LOCKED");
  EXPECT_EQ(failing.sign_calls(), 1);
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin"));
}

TEST_F(PipelineTest, HealthyWrapperSignsAndTheSignatureVerifies) {
  auto real = OpenFileSigner(KeyKind::kRsa2048);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner passthrough(std::move(real), Fault::kNone);
  std::string artifact = work_.Write("artifact.bin", "payload");
  SignSettings settings;
  settings.rsa_pss = true;
  auto outcome = SignFile(formats_, passthrough, artifact, settings);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->output_path, artifact + ".p7s");
  EXPECT_EQ(outcome->plan.format, "cms");
  EXPECT_EQ(outcome->plan.signature_algorithm,
            (SignatureAlgorithm{SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}));
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin", "artifact.bin.p7s"));
  VerifyOptions verify;
  verify.trust_path = ca_path_;
  auto report = formats_.Find("cms")->Verify(InputFile::Open(artifact).value(), verify);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->key, "RSA-2048");
}

TEST_F(PipelineTest, RawFormatWithAnExplicitOutputAndDigest) {
  auto real = OpenFileSigner(KeyKind::kEcP256);
  ASSERT_NE(real, nullptr);
  std::string artifact = work_.Write("artifact.bin", "payload");
  SignSettings settings;
  settings.format = "raw";
  settings.digest = DigestAlgorithm::kSha384;
  settings.output_path = work_.File("out.sig");
  auto outcome = SignFile(formats_, *real, artifact, settings);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->output_path, settings.output_path);
  VerifyOptions verify;
  verify.signature_path = settings.output_path;
  verify.public_key_path = keys_.Write("pub.pem", testing::PublicKeyPem(pki_.leaf_key));
  verify.digest = DigestAlgorithm::kSha384;
  auto report = formats_.Find("raw")->Verify(InputFile::Open(artifact).value(), verify);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->signature_algorithm, "ecdsa-sha384");
}

TEST_F(PipelineTest, Ed25519SignsTheMessageAndItVerifies) {
  auto real = OpenFileSigner(KeyKind::kEd25519);
  ASSERT_NE(real, nullptr);
  std::string artifact = work_.Write("artifact.bin", "payload");
  SignSettings settings;
  settings.format = "msg";
  auto outcome = SignFile(formats_, *real, artifact, settings);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->output_path, artifact + ".msig");
  EXPECT_EQ(outcome->plan.signature_algorithm,
            (SignatureAlgorithm{SignatureScheme::kEd25519, DigestAlgorithm::kSha512}));
  Bytes sig = testing::ReadFileBytes(outcome->output_path);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(real->public_key()
                  .VerifyMessage(outcome->plan.signature_algorithm, outcome->plan.to_be_signed, sig)
                  .has_value());
}

TEST_F(PipelineTest, OutputOverTheArtifactIsRefused) {
  auto real = OpenFileSigner(KeyKind::kEcP256);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner counting(std::move(real), Fault::kNone);
  const Bytes original = ToBytes("keep me");
  std::string artifact = work_.Write("artifact.bin", original);
  for (std::string format : {"cms", "raw"}) {
    SignSettings settings;
    settings.format = format;
    settings.output_path = artifact;
    auto outcome = SignFile(formats_, counting, artifact, settings);
    ASSERT_FALSE(outcome.has_value()) << format;
    EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(outcome.error().message, HasSubstr(artifact));
  }
  EXPECT_EQ(counting.sign_calls(), 0);
  EXPECT_EQ(testing::ReadFileBytes(artifact), original);
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin"));
}

TEST_F(PipelineTest, TimestampFailureIsReportedAndNothingIsWritten) {
  auto real = OpenFileSigner(KeyKind::kEcP256);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner counting(std::move(real), Fault::kNone);
  std::string artifact = work_.Write("artifact.bin", "payload");
  SignSettings settings;
  settings.format = "cms";
  int tsa_calls = 0;
  settings.timestamp = [&tsa_calls](DigestAlgorithm, ByteView) -> Result<Bytes> {
    ++tsa_calls;
    return Unavailable("TSA http://tsa.example answered 503");
  };
  auto outcome = SignFile(formats_, counting, artifact, settings);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);  // the TSA's code: retry
  EXPECT_THAT(outcome.error().message, HasSubstr("503"));
  EXPECT_THAT(outcome.error().message, HasSubstr("nothing was written"));
  EXPECT_EQ(counting.sign_calls(), 1);
  EXPECT_EQ(tsa_calls, 1);
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin"));
}

TEST_F(PipelineTest, TimestampForAFormatWithoutPlaceForItIsRefusedBeforeSigning) {
  auto real = OpenFileSigner(KeyKind::kEcP256);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner counting(std::move(real), Fault::kNone);
  std::string artifact = work_.Write("artifact.bin", "payload");
  SignSettings settings;
  settings.format = "raw";
  settings.timestamp = [](DigestAlgorithm, ByteView) -> Result<Bytes> { return Bytes{0x30, 0x00}; };
  auto outcome = SignFile(formats_, counting, artifact, settings);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(counting.sign_calls(), 0);
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin"));
}

TEST_F(PipelineTest, MissingArtifactFailsBeforeSigning) {
  auto real = OpenFileSigner(KeyKind::kEcP256);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner counting(std::move(real), Fault::kNone);
  auto outcome = SignFile(formats_, counting, work_.File("missing.bin"), SignSettings{});
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(counting.sign_calls(), 0);
  EXPECT_TRUE(work_.List().empty());
}

TEST_F(PipelineTest, Ed25519WithRawIsRefusedBeforeSigning) {
  auto real = OpenFileSigner(KeyKind::kEd25519);
  ASSERT_NE(real, nullptr);
  FaultInjectingSigner counting(std::move(real), Fault::kNone);
  std::string artifact = work_.Write("artifact.bin", "x");
  SignSettings settings;
  settings.format = "raw";
  auto outcome = SignFile(formats_, counting, artifact, settings);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(counting.sign_calls(), 0);
  EXPECT_THAT(work_.List(), ElementsAre("artifact.bin"));
}

TEST(ChooseSignatureAlgorithm, FollowsTheKeyTypeAndSettings) {
  auto key = [](KeyKind kind) { return PublicKey::FromEvp(SharedKey(kind)).value(); };
  SignSettings defaults;
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kRsa2048), defaults),
            (SignatureAlgorithm{SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}));
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kEcP256), defaults),
            (SignatureAlgorithm{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}));
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kEcP384), defaults),
            (SignatureAlgorithm{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}));
  // RFC 8419: Ed25519 in CMS digests with SHA-512.
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kEd25519), defaults),
            (SignatureAlgorithm{SignatureScheme::kEd25519, DigestAlgorithm::kSha512}));

  SignSettings pss;
  pss.rsa_pss = true;
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kRsa2048), pss),
            (SignatureAlgorithm{SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}));
  // --rsa-pss means nothing to an EC key.
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kEcP256), pss).scheme, SignatureScheme::kEcdsa);

  SignSettings sha512;
  sha512.digest = DigestAlgorithm::kSha512;
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kRsa2048), sha512),
            (SignatureAlgorithm{SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha512}));
  SignSettings sha384;
  sha384.digest = DigestAlgorithm::kSha384;
  EXPECT_EQ(ChooseSignatureAlgorithm(key(KeyKind::kEd25519), sha384).digest,
            DigestAlgorithm::kSha384);
}

}  // namespace
}  // namespace signet::cli
