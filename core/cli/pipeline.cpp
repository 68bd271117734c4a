#include "cli/pipeline.h"

#include <sys/stat.h>

namespace signet::cli {
namespace {

// True when both paths name the same existing file (through links too).
bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace

SignatureAlgorithm ChooseSignatureAlgorithm(const PublicKey& key, const SignSettings& settings) {
  SignatureAlgorithm alg;
  alg.scheme = DefaultScheme(key.type(), settings.rsa_pss);
  // RFC 8419 section 3: CMS with Ed25519 digests with SHA-512.
  DigestAlgorithm fallback =
      key.type() == KeyType::kEd25519 ? DigestAlgorithm::kSha512 : DigestAlgorithm::kSha256;
  alg.digest = settings.digest.value_or(fallback);
  return alg;
}

Result<SignOutcome> SignFile(const FormatRegistry& formats, KeySigner& signer,
                             const std::string& path, const SignSettings& settings) {
  SIGNET_ASSIGN_OR_RETURN(InputFile artifact, InputFile::Open(path));
  SIGNET_ASSIGN_OR_RETURN(const Format* format, formats.ForSigning(artifact, settings.format));
  if (format->detached() && !settings.output_path.empty() && SameFile(settings.output_path, path)) {
    return InvalidArgument("--output " + settings.output_path + " is " + path +
                           " itself: refusing to replace the file with its detached signature");
  }
  // Refuse what the format cannot do before the key is used.
  if (settings.timestamp && !format->embeds_timestamps()) {
    return InvalidArgument("the " + std::string(format->name()) + " format of " + path +
                           " has no place for a timestamp: drop --tsa");
  }
  if (settings.append && format->detached()) {
    return InvalidArgument("--append nests a signature in an embedded one; the " +
                           std::string(format->name()) + " format of " + path +
                           " keeps signatures in a separate file");
  }

  PrepareOptions prepare;
  prepare.signature_algorithm = ChooseSignatureAlgorithm(signer.public_key(), settings);
  prepare.description = settings.description;
  prepare.url = settings.url;
  prepare.append = settings.append;
  // Signing locally: let an embedded format write its output while it hashes.
  std::unique_ptr<StagedOutput> stage;
  prepare.stage = &stage;
  prepare.output_path = settings.output_path;
  SIGNET_ASSIGN_OR_RETURN(SigningPlan plan, format->Prepare(artifact, prepare));

  SignRequest request;
  request.algorithm = plan.signature_algorithm;
  request.digest = plan.to_be_signed_digest;
  request.message = plan.to_be_signed;
  SIGNET_ASSIGN_OR_RETURN(Bytes signature, signer.Sign(request));

  Status check = plan.signature_algorithm.scheme == SignatureScheme::kEd25519
                     ? signer.public_key().VerifyMessage(plan.signature_algorithm,
                                                         plan.to_be_signed, signature)
                     : signer.public_key().VerifyDigest(plan.signature_algorithm,
                                                        plan.to_be_signed_digest, signature);
  if (!check) {
    return Unavailable("the key backend returned a signature that does not verify with " +
                       signer.uri() + "'s public key; nothing was written");
  }

  FinishOptions finish;
  finish.output_path = settings.output_path;
  finish.pem = settings.pem;
  finish.chain = signer.certificate_chain();
  finish.append = settings.append;
  finish.stage = stage.get();
  if (settings.timestamp) {
    // RFC 3161 appendix A: the timestamp is over the signature value.
    auto token = settings.timestamp(plan.signature_algorithm.digest, signature);
    if (!token) {
      return MakeError(token.error().code,
                       path + ": timestamp: " + token.error().message + "; nothing was written");
    }
    finish.timestamp_token = std::move(*token);
  }
  SIGNET_ASSIGN_OR_RETURN(std::string written, format->Finish(artifact, plan, signature, finish));
  return SignOutcome{std::move(plan), std::move(written), finish.timestamp_token.has_value()};
}

}  // namespace signet::cli
