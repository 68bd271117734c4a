#include "cli/pipeline.h"

namespace signet::cli {

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

  PrepareOptions prepare;
  prepare.signature_algorithm = ChooseSignatureAlgorithm(signer.public_key(), settings);
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
  SIGNET_ASSIGN_OR_RETURN(std::string written, format->Finish(artifact, plan, signature, finish));
  return SignOutcome{std::move(plan), std::move(written)};
}

}  // namespace signet::cli
