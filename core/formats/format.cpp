#include "formats/format.h"

#include <nlohmann/json.hpp>

#include "crypto/digest.h"

namespace signet {

nlohmann::json SigningPlan::ToJson() const {
  nlohmann::json j;
  j["format"] = format;
  j["artifact"] = artifact;
  j["artifact_size"] = artifact_size;
  j["content_digest_algorithm"] = std::string(DigestName(content_digest_algorithm));
  j["content_digest"] = HexEncode(content_digest);
  j["signature_algorithm"] = SignatureAlgorithmName(signature_algorithm);
  j["to_be_signed"] = Base64Encode(to_be_signed);
  j["to_be_signed_digest"] = HexEncode(to_be_signed_digest);
  if (!format_data.empty()) j["format_data"] = format_data;
  return j;
}

Result<SigningPlan> SigningPlan::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("signing plan is not a JSON object");
  auto str = [&j](const char* key) -> Result<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return InvalidArgument(std::string("signing plan: missing string field '") + key + "'");
    }
    return it->get<std::string>();
  };
  SigningPlan plan;
  SIGNET_ASSIGN_OR_RETURN(plan.format, str("format"));
  SIGNET_ASSIGN_OR_RETURN(plan.artifact, str("artifact"));
  auto size = j.find("artifact_size");
  if (size == j.end() || !size->is_number_unsigned()) {
    return InvalidArgument("signing plan: missing number field 'artifact_size'");
  }
  plan.artifact_size = size->get<std::uint64_t>();
  SIGNET_ASSIGN_OR_RETURN(std::string cda, str("content_digest_algorithm"));
  SIGNET_ASSIGN_OR_RETURN(plan.content_digest_algorithm, ParseDigestAlgorithm(cda));
  SIGNET_ASSIGN_OR_RETURN(std::string cd, str("content_digest"));
  SIGNET_ASSIGN_OR_RETURN(plan.content_digest, HexDecode(cd));
  SIGNET_ASSIGN_OR_RETURN(std::string sa, str("signature_algorithm"));
  SIGNET_ASSIGN_OR_RETURN(plan.signature_algorithm, ParseSignatureAlgorithm(sa));
  SIGNET_ASSIGN_OR_RETURN(std::string tbs, str("to_be_signed"));
  SIGNET_ASSIGN_OR_RETURN(plan.to_be_signed, Base64Decode(tbs));
  SIGNET_ASSIGN_OR_RETURN(std::string tbsd, str("to_be_signed_digest"));
  SIGNET_ASSIGN_OR_RETURN(plan.to_be_signed_digest, HexDecode(tbsd));
  if (auto fd = j.find("format_data"); fd != j.end()) {
    if (!fd->is_object()) return InvalidArgument("signing plan: 'format_data' is not an object");
    for (const auto& [key, value] : fd->items()) {
      if (!value.is_string()) {
        return InvalidArgument("signing plan: format_data value '" + key + "' is not a string");
      }
      plan.format_data[key] = value.get<std::string>();
    }
  }
  return plan;
}

nlohmann::json VerifyReport::ToJson() const {
  nlohmann::json j;
  j["format"] = format;
  j["artifact"] = artifact;
  if (!signature_path.empty()) j["signature"] = signature_path;
  j["signature_algorithm"] = signature_algorithm;
  j["digest_algorithm"] = digest_algorithm;
  if (!signer_subject.empty()) j["signer"] = signer_subject;
  j["key"] = key;
  if (signing_time) j["signing_time"] = FormatTime(*signing_time);
  if (timestamp_time) {
    j["timestamp"] = {{"time", FormatTime(*timestamp_time)}, {"authority", timestamp_authority}};
  }
  if (!nested.empty()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const VerifyReport& n : nested) arr.push_back(n.ToJson());
    j["nested"] = arr;
  }
  return j;
}

Result<Bytes> Format::ContentDigest(const InputFile& artifact, DigestAlgorithm alg) const {
  return DigestFile(artifact, alg);
}

Result<std::string> Format::Unsign(const InputFile& artifact, const std::string&) const {
  return InvalidArgument("the " + std::string(name()) + " format keeps the signature of " +
                         artifact.path() + " in a separate file: delete that file instead");
}

Result<TimestampOutcome> Format::AddTimestamp(const InputFile& artifact, const TimestampFn&,
                                              const std::string&) const {
  return InvalidArgument("the " + std::string(name()) + " format cannot add a timestamp to " +
                         artifact.path() + " after signing: sign again with --tsa");
}

void FormatRegistry::Register(std::unique_ptr<Format> format) {
  formats_.push_back(std::move(format));
}

const Format* FormatRegistry::Find(std::string_view name) const {
  for (const auto& f : formats_) {
    if (f->name() == name) return f.get();
  }
  return nullptr;
}

std::vector<std::string> FormatRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& f : formats_) out.emplace_back(f->name());
  return out;
}

namespace {

std::unexpected<Error> UnknownFormat(std::string_view name, const FormatRegistry& registry) {
  std::string known;
  for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
  return InvalidArgument("unknown format '" + std::string(name) + "' (known: auto, " + known + ")");
}

}  // namespace

Result<const Format*> FormatRegistry::ForSigning(const InputFile& artifact,
                                                 std::string_view name) const {
  if (!name.empty() && name != "auto") {
    const Format* f = Find(name);
    if (f == nullptr) return UnknownFormat(name, *this);
    return f;
  }
  std::size_t head_len = static_cast<std::size_t>(std::min<std::uint64_t>(artifact.size(), 4096));
  SIGNET_ASSIGN_OR_RETURN(Bytes head, artifact.ReadAt(0, head_len));
  for (const auto& f : formats_) {
    if (!f->detached() && f->Detect(head)) return f.get();
  }
  const Format* fallback = Find("cms");
  if (fallback == nullptr) return Internal("no default format registered");
  return fallback;
}

Result<const Format*> FormatRegistry::ForVerify(const InputFile& artifact, std::string_view name,
                                                const std::string& signature_path) const {
  if ((!name.empty() && name != "auto")) return ForSigning(artifact, name);
  std::size_t head_len = static_cast<std::size_t>(std::min<std::uint64_t>(artifact.size(), 4096));
  SIGNET_ASSIGN_OR_RETURN(Bytes head, artifact.ReadAt(0, head_len));
  for (const auto& f : formats_) {
    if (!f->detached() && f->Detect(head)) return f.get();
  }
  for (const auto& f : formats_) {
    if (!f->detached()) continue;
    const std::string& p = signature_path;
    if (!p.empty()) {
      if (p.size() >= f->signature_suffix().size() && p.ends_with(f->signature_suffix())) {
        return f.get();
      }
    } else if (PathExists(artifact.path() + std::string(f->signature_suffix()))) {
      return f.get();
    }
  }
  if (!signature_path.empty()) {
    return InvalidArgument("cannot tell the format of signature " + signature_path +
                           " from its name: give --format");
  }
  return InvalidArgument("no signature found for " + artifact.path() + " (looked for " +
                         artifact.path() + ".p7s and " + artifact.path() +
                         ".sig; give --signature or --format)");
}

std::string DetachedSignaturePath(const InputFile& artifact, std::string_view suffix,
                                  const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  return artifact.path() + std::string(suffix);
}

Status RequireSignerCertificate(const CertificateChain& chain, std::string_view what) {
  if (!chain.empty()) return {};
  return FailedPrecondition(std::string(what) +
                            " needs the signer's certificate: pass --cert CHAIN.pem "
                            "(or store the certificate on the token with the key's CKA_ID)");
}

Status Format::ValidatePlan(const SigningPlan& plan) const { return CheckPlan(plan, name()); }

Status CheckPlan(const SigningPlan& plan, std::string_view format_name) {
  if (plan.format != format_name) {
    return InvalidArgument("signing plan is for format '" + plan.format + "', not '" +
                           std::string(format_name) + "'");
  }
  if (plan.content_digest.size() != DigestSize(plan.content_digest_algorithm)) {
    return InvalidArgument("signing plan: content digest has the wrong length");
  }
  if (plan.to_be_signed_digest.size() != DigestSize(plan.signature_algorithm.digest)) {
    return InvalidArgument("signing plan: to-be-signed digest has the wrong length");
  }
  if (!plan.to_be_signed.empty() &&
      Digest(plan.signature_algorithm.digest, plan.to_be_signed) != plan.to_be_signed_digest) {
    return InvalidArgument("signing plan: to-be-signed digest does not match its bytes");
  }
  return {};
}

}  // namespace signet
