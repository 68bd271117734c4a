#include "formats/raw/raw_format.h"

#include "crypto/digest.h"
#include "crypto/public_key.h"

namespace signet {
namespace {

constexpr std::size_t kMaxRawSignatureSize = 4096;

class RawFormat final : public Format {
 public:
  std::string_view name() const override { return "raw"; }
  std::string_view description() const override {
    return "raw signature over the file's digest (FILE.sig)";
  }
  bool detached() const override { return true; }
  std::string_view signature_suffix() const override { return ".sig"; }
  bool Detect(ByteView) const override { return false; }

  Result<SigningPlan> Prepare(const InputFile& artifact,
                              const PrepareOptions& options) const override {
    if (options.signature_algorithm.scheme == SignatureScheme::kEd25519) {
      return FailedPrecondition("the raw format signs " + artifact.path() +
                                "'s digest, which an Ed25519 key cannot do: use an RSA or EC key");
    }
    SigningPlan plan;
    plan.format = std::string(name());
    plan.artifact = artifact.path();
    plan.artifact_size = artifact.size();
    plan.signature_algorithm = options.signature_algorithm;
    plan.content_digest_algorithm = options.signature_algorithm.digest;
    SIGNET_ASSIGN_OR_RETURN(plan.content_digest,
                            DigestFile(artifact, plan.content_digest_algorithm));
    plan.to_be_signed_digest = plan.content_digest;
    return plan;
  }

  Status ValidatePlan(const SigningPlan& plan) const override {
    SIGNET_RETURN_IF_ERROR(CheckPlan(plan, name()));
    if (!plan.to_be_signed.empty() || plan.to_be_signed_digest != plan.content_digest) {
      return InvalidArgument("signing plan: a raw signature is over the content digest itself");
    }
    return {};
  }

  Result<std::string> Finish(const InputFile& artifact, const SigningPlan& plan, ByteView signature,
                             const FinishOptions& options) const override {
    SIGNET_RETURN_IF_ERROR(ValidatePlan(plan));
    std::string path = DetachedSignaturePath(artifact, signature_suffix(), options.output_path);
    SIGNET_RETURN_IF_ERROR(WriteFileAtomically(path, signature));
    return path;
  }

  Result<VerifyReport> Verify(const InputFile& artifact,
                              const VerifyOptions& options) const override {
    std::string sig_path =
        DetachedSignaturePath(artifact, signature_suffix(), options.signature_path);
    SIGNET_ASSIGN_OR_RETURN(Bytes sig, ReadSmallFile(sig_path, kMaxRawSignatureSize));
    if (options.public_key_path.empty()) {
      return InvalidArgument("verifying the raw signature " + sig_path +
                             " needs --public-key PUB.pem (it carries no certificate)");
    }
    SIGNET_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromPemFile(options.public_key_path));
    if (key.type() == KeyType::kEd25519) {
      return InvalidArgument("raw signatures are never made with Ed25519 keys (" +
                             options.public_key_path + ")");
    }
    SIGNET_ASSIGN_OR_RETURN(Bytes digest, DigestFile(artifact, options.digest));
    // The file does not say which RSA padding was used: accept either.
    std::vector<SignatureScheme> schemes;
    if (key.type() == KeyType::kRsa) {
      schemes = {SignatureScheme::kRsaPkcs1v15, SignatureScheme::kRsaPss};
    } else {
      schemes = {SignatureScheme::kEcdsa};
    }
    Status last;
    for (SignatureScheme scheme : schemes) {
      SignatureAlgorithm alg{scheme, options.digest};
      last = key.VerifyDigest(alg, digest, sig);
      if (last) {
        VerifyReport report;
        report.format = std::string(name());
        report.artifact = artifact.path();
        report.signature_path = sig_path;
        report.digest_algorithm = std::string(DigestName(options.digest));
        report.signature_algorithm = SignatureAlgorithmName(alg);
        report.key = key.Description();
        return report;
      }
    }
    return VerificationFailed(artifact.path() + ": raw signature " + sig_path +
                              " does not match the file and " + options.public_key_path);
  }
};

}  // namespace

std::unique_ptr<Format> MakeRawFormat() { return std::make_unique<RawFormat>(); }

}  // namespace signet
