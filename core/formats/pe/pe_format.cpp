#include "formats/pe/pe_format.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "crypto/cms_signed_data.h"
#include "crypto/der.h"
#include "crypto/digest.h"
#include "formats/pe/authenticode.h"
#include "formats/pe/authenticode_verify.h"
#include "formats/pe/pe_digest.h"
#include "formats/pe/pe_image.h"

namespace signet {
namespace {

using pe::Layout;

constexpr std::string_view kImageEndKey = "image_end";
constexpr std::string_view kChecksumSumKey = "image_checksum_sum";

pe::ReadIntoFn ReaderOf(const InputFile& in) {
  return
      [&in](std::uint64_t offset, std::span<std::uint8_t> out) { return in.ReadInto(offset, out); };
}

Result<Layout> LoadLayout(const InputFile& in) {
  return pe::ParseLayout(
      [&in](std::uint64_t offset, std::size_t length) { return in.ReadAt(offset, length); },
      in.size(), in.path());
}

Result<Bytes> ReadCertTable(const InputFile& in, const Layout& l) {
  return in.ReadAt(l.cert_table_offset, static_cast<std::size_t>(l.cert_table_size));
}

// The SignedData of the (single) WIN_CERTIFICATE entry, without its padding.
// Garbage is kInvalidArgument: the file is malformed.
Result<Bytes> ExistingSignature(const InputFile& in, const Layout& l) {
  const std::string& file = in.path();
  SIGNET_ASSIGN_OR_RETURN(Bytes table, ReadCertTable(in, l));
  auto entries = pe::ParseCertificateTable(table);
  if (!entries) {
    return InvalidArgument(file +
                           ": the existing signature is garbage: " + entries.error().message);
  }
  if (entries->size() != 1) {
    return InvalidArgument(file + ": the certificate table holds " +
                           std::to_string(entries->size()) +
                           " WIN_CERTIFICATE entries; signet handles one (with nested signatures)");
  }
  const pe::WinCertificate& c = entries->front();
  if (c.revision != pe::kWinCertRevision2 || c.type != pe::kWinCertTypePkcsSignedData) {
    return InvalidArgument(file +
                           ": the existing signature is not a PKCS#7 WIN_CERTIFICATE "
                           "(revision " +
                           std::to_string(c.revision) + ", type " + std::to_string(c.type) + ")");
  }
  der::Reader r(c.data);
  auto element = r.Next();
  if (!element) {
    return InvalidArgument(file +
                           ": the existing signature is garbage: " + element.error().message);
  }
  ByteView rest = ByteView(c.data).subspan(element->whole.size());
  if (std::any_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b != 0; })) {
    return InvalidArgument(file + ": the existing signature is garbage: data after the SignedData");
  }
  Bytes der(element->whole.begin(), element->whole.end());
  if (auto sd = pe::ParseSignedData(der); !sd) {
    return InvalidArgument(file + ": the existing signature is garbage: " + sd.error().message);
  }
  return der;
}

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return st.st_mode & 07777;
  return 0755;
}

// Output staged by Prepare: the image [0, image_end) plus the alignment
// padding, already in the temp file.
class PeStage final : public StagedOutput {
 public:
  PeStage(AtomicFile out, std::uint64_t image_end, std::uint64_t image_sum)
      : out_(std::move(out)), image_end_(image_end), image_sum_(image_sum) {}
  AtomicFile& out() { return out_; }
  [[nodiscard]] std::uint64_t image_end() const { return image_end_; }
  [[nodiscard]] std::uint64_t image_sum() const { return image_sum_; }

 private:
  AtomicFile out_;
  std::uint64_t image_end_;
  std::uint64_t image_sum_;
};

// Copies the image [0, image_end) of `in` to `out`; returns its checksum sum
// (HashImage's, the two fields counted as zero).
Result<std::uint64_t> CopyImage(const InputFile& in, const Layout& l, AtomicFile& out) {
  SIGNET_ASSIGN_OR_RETURN(pe::ImagePass pass, pe::HashImage(ReaderOf(in), l, {}, false, &out));
  return pass.checksum_sum;
}

// Completes an output that holds the image (and, when `padded`, the padding
// to 8 bytes): appends the padding if still missing and `table` (a complete
// certificate table; empty: unsigned), sets the certificate-table entry and
// the checksum in the header, and commits.
Result<std::string> CompleteImage(AtomicFile& out, const Layout& l, ByteView table,
                                  std::uint64_t image_sum, bool padded) {
  const std::uint64_t image_end = l.image_end();
  const std::uint64_t pad = table.empty() ? 0 : pe::PaddingFor(image_end);
  const std::uint64_t new_size = image_end + pad + table.size();
  if (!table.empty() && new_size > 0xffffffffULL) {
    return InvalidArgument(out.target() + ": a certificate table beyond 4 GiB cannot be addressed");
  }
  if (!padded) {
    static constexpr std::uint8_t kZeros[8] = {};
    SIGNET_RETURN_IF_ERROR(out.Write(ByteView(kZeros, pad)));
  }
  if (out.bytes_written() != image_end + pad) return Internal("staged image has the wrong size");
  SIGNET_RETURN_IF_ERROR(out.Write(table));
  Bytes dir_entry(8, 0);
  if (!table.empty()) {
    pe::WriteLe32(dir_entry, 0, static_cast<std::uint32_t>(image_end + pad));
    pe::WriteLe32(dir_entry, 4, static_cast<std::uint32_t>(table.size()));
  }
  pe::Checksum sum;
  sum.AddRaw(image_sum);
  sum.Add(dir_entry, l.cert_dir_offset);
  sum.Add(table, image_end + pad);
  Bytes checksum_field(4, 0);
  pe::WriteLe32(checksum_field, 0, sum.Finish(new_size));
  SIGNET_RETURN_IF_ERROR(out.WriteAt(l.cert_dir_offset, dir_entry));
  SIGNET_RETURN_IF_ERROR(out.WriteAt(l.checksum_offset, checksum_field));
  SIGNET_RETURN_IF_ERROR(out.Commit());
  return out.target();
}

// Copies the image of `in` to `target` and completes it with `table`.
// `expected_sum` (from the plan): the checksum sum Prepare saw; a file whose
// image no longer has it changed since, and is refused.
Result<std::string> WriteImage(const InputFile& in, const Layout& l, const std::string& target,
                               ByteView table, std::optional<std::uint64_t> expected_sum) {
  SIGNET_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(target, ModeOf(in.path())));
  SIGNET_ASSIGN_OR_RETURN(std::uint64_t sum, CopyImage(in, l, out));
  if (expected_sum && sum != *expected_sum) {
    return InvalidArgument(in.path() +
                           " changed since it was prepared for signing (its content "
                           "no longer matches the signed digest); nothing was written");
  }
  return CompleteImage(out, l, table, sum, false);
}

// The digest algorithm for a timestamp imprint over a signature made with
// `signer_digest_oid`: the same one when signet has it, else SHA-256.
DigestAlgorithm ImprintAlgorithm(const std::string& signer_digest_oid) {
  std::string name = pe::DigestNameForOid(signer_digest_oid);
  if (auto alg = ParseDigestAlgorithm(name)) return *alg;
  return DigestAlgorithm::kSha256;
}

// Adds a timestamp to `content_info` and to each nested signature that has
// none; returns the re-encoded SignedData (the same bytes when nothing
// changed).
Result<Bytes> StampSignature(ByteView content_info, const TimestampFn& stamp, int depth,
                             TimestampOutcome& outcome) {
  SIGNET_ASSIGN_OR_RETURN(pe::SignedDataView sd, pe::ParseSignedData(content_info));
  std::vector<pe::OwnedAttribute> attrs = pe::OwnUnsignedAttributes(sd);
  bool changed = false;
  bool stamped = false;
  for (pe::OwnedAttribute& a : attrs) {
    if (a.oid == pe::kOidRfc3161Timestamp || a.oid == "1.2.840.113549.1.9.16.2.14") stamped = true;
    if (a.oid != pe::kOidNestedSignature) continue;
    if (depth >= pe::kMaxNestingDepth) return InvalidArgument("nested signatures are too deep");
    for (Bytes& v : a.values) {
      SIGNET_ASSIGN_OR_RETURN(Bytes stamped_inner, StampSignature(v, stamp, depth + 1, outcome));
      if (stamped_inner != v) {
        v = std::move(stamped_inner);
        changed = true;
      }
    }
  }
  if (stamped) {
    ++outcome.already;
  } else {
    const pe::SignerInfoView& si = sd.signers.front();
    SIGNET_ASSIGN_OR_RETURN(Bytes token, stamp(ImprintAlgorithm(si.digest_oid), si.signature));
    attrs.push_back({std::string(pe::kOidRfc3161Timestamp), {std::move(token)}});
    ++outcome.added;
    changed = true;
  }
  if (!changed) return Bytes(content_info.begin(), content_info.end());
  return pe::ReplaceUnsignedAttributes(content_info, attrs);
}

class PeFormat final : public Format {
 public:
  std::string_view name() const override { return "pe"; }
  std::string_view description() const override {
    return "Windows Authenticode, embedded in PE files (exe, dll, sys, efi)";
  }
  bool detached() const override { return false; }
  bool Detect(ByteView head) const override { return pe::LooksLikePe(head); }
  bool embeds_timestamps() const override { return true; }

  Result<Bytes> ContentDigest(const InputFile& artifact, DigestAlgorithm alg) const override {
    SIGNET_ASSIGN_OR_RETURN(Layout l, LoadLayout(artifact));
    std::string digest_name(DigestName(alg));
    SIGNET_ASSIGN_OR_RETURN(pe::ImagePass pass,
                            pe::HashImage(ReaderOf(artifact), l, {digest_name}, true));
    return pass.digests[digest_name];
  }

  Result<SigningPlan> Prepare(const InputFile& artifact,
                              const PrepareOptions& options) const override {
    const SignatureAlgorithm& alg = options.signature_algorithm;
    if (alg.scheme == SignatureScheme::kEd25519) {
      return FailedPrecondition("Ed25519 keys cannot make Authenticode signatures for " +
                                artifact.path() + ": use an RSA or EC key");
    }
    if (alg.scheme == SignatureScheme::kRsaPss) {
      return FailedPrecondition("Authenticode signatures of " + artifact.path() +
                                " use RSA PKCS#1 v1.5 (osslsigncode and older Windows reject "
                                "RSA-PSS): drop --rsa-pss");
    }
    SIGNET_ASSIGN_OR_RETURN(Layout l, LoadLayout(artifact));
    if (l.has_signature()) {
      // Replaced or appended to: either way it must be a signature, not garbage.
      SIGNET_RETURN_IF_ERROR(ExistingSignature(artifact, l));
    } else if (options.append) {
      return FailedPrecondition(artifact.path() +
                                " has no signature to append to: sign it "
                                "without --append");
    }
    std::string digest_name(DigestName(alg.digest));
    std::optional<AtomicFile> staged;
    if (options.stage != nullptr) {
      std::string target = options.output_path.empty() ? artifact.path() : options.output_path;
      SIGNET_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(target, ModeOf(artifact.path())));
      staged.emplace(std::move(out));
    }
    SIGNET_ASSIGN_OR_RETURN(pe::ImagePass pass, pe::HashImage(ReaderOf(artifact), l, {digest_name},
                                                              true, staged ? &*staged : nullptr));
    if (staged) {
      static constexpr std::uint8_t kZeros[8] = {};
      SIGNET_RETURN_IF_ERROR(staged->Write(ByteView(kZeros, pe::PaddingFor(l.image_end()))));
      *options.stage =
          std::make_unique<PeStage>(std::move(*staged), l.image_end(), pass.checksum_sum);
    }

    SigningPlan plan;
    plan.format = std::string(name());
    plan.artifact = artifact.path();
    plan.artifact_size = artifact.size();
    plan.signature_algorithm = alg;
    plan.content_digest_algorithm = alg.digest;
    plan.content_digest = pass.digests[digest_name];
    Bytes spc = pe::SpcIndirectDataContent(alg.digest, plan.content_digest);
    pe::SignedAttributeOptions attrs;
    attrs.signing_time = options.signing_time != 0 ? options.signing_time : std::time(nullptr);
    attrs.description = options.description;
    attrs.url = options.url;
    auto tbs = pe::SignedAttributes(alg.digest, spc, attrs);
    if (!tbs) return InvalidArgument(artifact.path() + ": " + tbs.error().message);
    plan.to_be_signed = std::move(*tbs);
    plan.to_be_signed_digest = Digest(alg.digest, plan.to_be_signed);
    plan.format_data[std::string(kImageEndKey)] = std::to_string(l.image_end());
    plan.format_data[std::string(kChecksumSumKey)] = std::to_string(pass.checksum_sum);
    return plan;
  }

  Status ValidatePlan(const SigningPlan& plan) const override {
    SIGNET_RETURN_IF_ERROR(CheckPlan(plan, name()));
    // The signed attributes must commit to the image digest through the
    // SpcIndirectDataContent that is embedded (Authenticode PE spec,
    // "Authenticode-Specific Structures": messageDigest is the digest of
    // the SpcIndirectDataContent's content octets).
    Bytes spc = pe::SpcIndirectDataContent(plan.content_digest_algorithm, plan.content_digest);
    SIGNET_ASSIGN_OR_RETURN(cms::ParsedSignedAttributes attrs,
                            cms::ParseSignedAttributes(plan.to_be_signed));
    SIGNET_ASSIGN_OR_RETURN(ByteView spc_content, pe::ContentOctets(spc));
    if (attrs.content_type_oid != pe::kOidSpcIndirectData ||
        attrs.message_digest != Digest(plan.signature_algorithm.digest, spc_content)) {
      return InvalidArgument(
          "signing plan: the signed attributes do not commit to the image digest");
    }
    return {};
  }

  Result<std::string> Finish(const InputFile& artifact, const SigningPlan& plan, ByteView signature,
                             const FinishOptions& options) const override {
    SIGNET_RETURN_IF_ERROR(ValidatePlan(plan));
    SIGNET_RETURN_IF_ERROR(RequireSignerCertificate(options.chain, "an Authenticode signature"));
    auto number = [&plan](std::string_view key) -> Result<std::uint64_t> {
      auto it = plan.format_data.find(std::string(key));
      std::uint64_t v = 0;
      if (it == plan.format_data.end() ||
          std::from_chars(it->second.data(), it->second.data() + it->second.size(), v).ec !=
              std::errc()) {
        return InvalidArgument("signing plan: missing pe value '" + std::string(key) + "'");
      }
      return v;
    };
    SIGNET_ASSIGN_OR_RETURN(std::uint64_t planned_end, number(kImageEndKey));
    SIGNET_ASSIGN_OR_RETURN(std::uint64_t planned_sum, number(kChecksumSumKey));
    SIGNET_ASSIGN_OR_RETURN(Layout l, LoadLayout(artifact));
    if (artifact.size() != plan.artifact_size || l.image_end() != planned_end) {
      return InvalidArgument(artifact.path() + " changed since it was prepared for signing");
    }

    Bytes spc = pe::SpcIndirectDataContent(plan.content_digest_algorithm, plan.content_digest);

    cms::SignerInfoInput si;
    si.signer = &options.chain.front();
    si.algorithm = plan.signature_algorithm;
    si.signed_attributes = plan.to_be_signed;
    si.signature.assign(signature.begin(), signature.end());
    if (options.timestamp_token) {
      si.unsigned_attributes.push_back(
          {std::string(pe::kOidRfc3161Timestamp), {*options.timestamp_token}});
    }
    cms::SignedDataInput sd;
    sd.content_type_oid = std::string(pe::kOidSpcIndirectData);
    sd.content = spc;
    sd.digest_algorithms = {plan.signature_algorithm.digest};
    sd.certificates = &options.chain;
    sd.signer_infos = {cms::BuildSignerInfo(si)};
    Bytes signed_data = cms::BuildSignedData(sd);

    if (options.append) {
      if (!l.has_signature()) {
        return FailedPrecondition(artifact.path() + " has no signature to append to");
      }
      SIGNET_ASSIGN_OR_RETURN(Bytes existing, ExistingSignature(artifact, l));
      SIGNET_ASSIGN_OR_RETURN(pe::SignedDataView view, pe::ParseSignedData(existing));
      std::vector<pe::OwnedAttribute> unsigned_attrs = pe::OwnUnsignedAttributes(view);
      auto nested = std::find_if(
          unsigned_attrs.begin(), unsigned_attrs.end(),
          [](const pe::OwnedAttribute& a) { return a.oid == pe::kOidNestedSignature; });
      if (nested == unsigned_attrs.end()) {
        unsigned_attrs.push_back({std::string(pe::kOidNestedSignature), {std::move(signed_data)}});
      } else {
        nested->values.push_back(std::move(signed_data));
      }
      SIGNET_ASSIGN_OR_RETURN(signed_data, pe::ReplaceUnsignedAttributes(existing, unsigned_attrs));
    }
    Bytes table = pe::BuildCertificateTable(signed_data);
    std::string target = options.output_path.empty() ? artifact.path() : options.output_path;
    if (options.stage != nullptr) {
      auto* stage = dynamic_cast<PeStage*>(options.stage);
      if (stage == nullptr || stage->out().target() != target ||
          stage->image_end() != planned_end || stage->image_sum() != planned_sum) {
        return Internal("the staged output does not belong to this signing plan");
      }
      return CompleteImage(stage->out(), l, table, planned_sum, true);
    }
    return WriteImage(artifact, l, target, table, planned_sum);
  }

  Result<VerifyReport> Verify(const InputFile& artifact,
                              const VerifyOptions& options) const override {
    if (options.trust_path.empty()) {
      return InvalidArgument("verifying the Authenticode signature of " + artifact.path() +
                             " needs --trust CA.pem (the CA that issued the signer's certificate)");
    }
    pe::TrustAnchors trust;
    SIGNET_ASSIGN_OR_RETURN(trust.code_signing, LoadCertificateChain(options.trust_path));
    SIGNET_ASSIGN_OR_RETURN(trust.timestamping, LoadCertificateChain(options.tsa_trust_path.empty()
                                                                         ? options.trust_path
                                                                         : options.tsa_trust_path));
    trust.now = std::time(nullptr);

    SIGNET_ASSIGN_OR_RETURN(Layout l, LoadLayout(artifact));
    if (!l.has_signature()) {
      return VerificationFailed(artifact.path() + " is not signed (it has no certificate table)");
    }
    SIGNET_ASSIGN_OR_RETURN(Bytes der, ExistingSignature(artifact, l));
    SIGNET_ASSIGN_OR_RETURN(pe::SignedDataView sd, pe::ParseSignedData(der));
    std::set<std::string> names;
    pe::CollectDigestNames(sd, names);
    if (names.empty()) names.insert("sha256");
    SIGNET_ASSIGN_OR_RETURN(
        pe::ImagePass pass,
        pe::HashImage(ReaderOf(artifact), l, std::vector<std::string>(names.begin(), names.end()),
                      false));
    SIGNET_ASSIGN_OR_RETURN(VerifyReport report,
                            pe::VerifyAuthenticode(sd, pass.digests, trust, artifact.path()));
    if (!options.public_key_path.empty()) {
      SIGNET_ASSIGN_OR_RETURN(PublicKey expected, PublicKey::FromPemFile(options.public_key_path));
      for (ByteView c : sd.certificates) {
        auto cert = Certificate::FromDer(c);
        if (cert && cert->Subject() == report.signer_subject) {
          auto key = cert->GetPublicKey();
          if (key && *key == expected) return report;
        }
      }
      return VerificationFailed(artifact.path() + ": signed by another key than " +
                                options.public_key_path);
    }
    return report;
  }

  Result<std::string> Unsign(const InputFile& artifact,
                             const std::string& output_path) const override {
    SIGNET_ASSIGN_OR_RETURN(Layout l, LoadLayout(artifact));
    if (!l.has_signature()) {
      return FailedPrecondition(artifact.path() + " is not signed: nothing to remove");
    }
    std::string target = output_path.empty() ? artifact.path() : output_path;
    return WriteImage(artifact, l, target, {}, std::nullopt);
  }

  Result<TimestampOutcome> AddTimestamp(const InputFile& artifact, const TimestampFn& stamp,
                                        const std::string& output_path) const override {
    SIGNET_ASSIGN_OR_RETURN(Layout l, LoadLayout(artifact));
    if (!l.has_signature()) {
      return FailedPrecondition(artifact.path() + " is not signed: sign it with --tsa instead");
    }
    SIGNET_ASSIGN_OR_RETURN(Bytes existing, ExistingSignature(artifact, l));
    TimestampOutcome outcome;
    auto stamped = StampSignature(existing, stamp, 0, outcome);
    if (!stamped) {
      Error e = stamped.error();
      return MakeError(e.code, artifact.path() + ": " + e.message);
    }
    if (outcome.added == 0) return outcome;  // nothing to do: the file is left alone
    Bytes table = pe::BuildCertificateTable(*stamped);
    std::string target = output_path.empty() ? artifact.path() : output_path;
    SIGNET_ASSIGN_OR_RETURN(outcome.output_path,
                            WriteImage(artifact, l, target, table, std::nullopt));
    return outcome;
  }
};

}  // namespace

std::unique_ptr<Format> MakePeFormat() { return std::make_unique<PeFormat>(); }

}  // namespace signet
