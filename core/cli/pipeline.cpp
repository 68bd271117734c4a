#include "cli/pipeline.h"

#include <sys/stat.h>

#include <algorithm>
#include <optional>

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

Result<std::vector<PlanSignature>> KeyPlanSigner::SignPlans(std::span<const SigningPlan> plans) {
  std::vector<PlanSignature> out;
  out.reserve(plans.size());
  for (const SigningPlan& plan : plans) {
    SignRequest request;
    request.algorithm = plan.signature_algorithm;
    request.digest = plan.to_be_signed_digest;
    request.message = plan.to_be_signed;
    SIGNET_ASSIGN_OR_RETURN(Bytes signature, key_.Sign(request));
    out.push_back({std::move(signature), std::nullopt});
  }
  return out;
}

namespace {

// One file between Prepare and Finish.
struct Prepared {
  std::string path;
  InputFile artifact;
  const Format* format = nullptr;
  SigningPlan plan;
  std::unique_ptr<StagedOutput> stage;
};

Result<Prepared> PrepareFile(const FormatRegistry& formats, const PlanSigner& signer,
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

  Prepared p{path, std::move(artifact), format, {}, {}};
  PrepareOptions prepare;
  prepare.signature_algorithm = ChooseSignatureAlgorithm(signer.public_key(), settings);
  prepare.description = settings.description;
  prepare.url = settings.url;
  prepare.append = settings.append;
  // Let an embedded format write its output while it hashes; Finish then
  // writes only the signature.
  prepare.stage = &p.stage;
  prepare.output_path = settings.output_path;
  SIGNET_ASSIGN_OR_RETURN(p.plan, format->Prepare(p.artifact, prepare));
  return p;
}

Result<SignOutcome> FinishFile(Prepared& p, const PlanSigner& signer, PlanSignature& sig,
                               const SignSettings& settings) {
  const SigningPlan& plan = p.plan;
  Status check = plan.signature_algorithm.scheme == SignatureScheme::kEd25519
                     ? signer.public_key().VerifyMessage(plan.signature_algorithm,
                                                         plan.to_be_signed, sig.signature)
                     : signer.public_key().VerifyDigest(plan.signature_algorithm,
                                                        plan.to_be_signed_digest, sig.signature);
  if (!check) {
    return Unavailable("the key backend returned a signature that does not verify with " +
                       signer.uri() + "'s public key; nothing was written");
  }

  FinishOptions finish;
  finish.output_path = settings.output_path;
  finish.pem = settings.pem;
  finish.chain = signer.certificate_chain();
  finish.append = settings.append;
  finish.stage = p.stage.get();
  if (sig.timestamp_token && p.format->embeds_timestamps()) {
    finish.timestamp_token = std::move(sig.timestamp_token);
  } else if (settings.timestamp) {
    // RFC 3161 appendix A: the timestamp is over the signature value.
    auto token = settings.timestamp(plan.signature_algorithm.digest, sig.signature);
    if (!token) {
      return MakeError(token.error().code,
                       p.path + ": timestamp: " + token.error().message + "; nothing was written");
    }
    finish.timestamp_token = std::move(*token);
  }
  SIGNET_ASSIGN_OR_RETURN(std::string written,
                          p.format->Finish(p.artifact, plan, sig.signature, finish));
  return SignOutcome{std::move(p.plan), std::move(written), finish.timestamp_token.has_value()};
}

}  // namespace

void SignFiles(const FormatRegistry& formats, PlanSigner& signer,
               const std::vector<std::string>& paths, const SignSettings& settings,
               const SignDone& done) {
  const std::size_t batch = std::max<std::size_t>(1, signer.max_batch());
  for (std::size_t first = 0; first < paths.size(); first += batch) {
    std::size_t last = std::min(paths.size(), first + batch);
    // Outcomes are reported in order: failures of Prepare wait for the batch.
    std::vector<std::optional<Result<SignOutcome>>> outcomes(last - first);
    std::vector<Prepared> prepared;
    std::vector<std::size_t> index;  // prepared[i] is paths[first + index[i]]
    for (std::size_t i = first; i < last; ++i) {
      auto p = PrepareFile(formats, signer, paths[i], settings);
      if (!p) {
        outcomes[i - first] = std::unexpected(p.error());
        continue;
      }
      prepared.push_back(std::move(*p));
      index.push_back(i - first);
    }
    if (!prepared.empty()) {
      std::vector<SigningPlan> plans;
      plans.reserve(prepared.size());
      for (const Prepared& p : prepared) plans.push_back(p.plan);
      auto signatures = signer.SignPlans(plans);
      for (std::size_t k = 0; k < prepared.size(); ++k) {
        if (!signatures) {
          outcomes[index[k]] = std::unexpected(signatures.error());
        } else if (signatures->size() != prepared.size()) {
          outcomes[index[k]] =
              Unavailable(signer.uri() + " returned " + std::to_string(signatures->size()) +
                          " signatures for " + std::to_string(prepared.size()) + " plans");
        } else {
          outcomes[index[k]] = FinishFile(prepared[k], signer, (*signatures)[k], settings);
        }
        prepared[k].stage.reset();  // discard what was staged for a failed file
      }
    }
    for (std::size_t i = first; i < last; ++i) done(paths[i], *outcomes[i - first]);
  }
}

Result<SignOutcome> SignFile(const FormatRegistry& formats, KeySigner& signer,
                             const std::string& path, const SignSettings& settings) {
  KeyPlanSigner plan_signer(signer);
  std::optional<Result<SignOutcome>> result;
  SignFiles(
      formats, plan_signer, {path}, settings,
      [&result](const std::string&, const Result<SignOutcome>& outcome) { result = outcome; });
  return std::move(*result);
}

}  // namespace signet::cli
