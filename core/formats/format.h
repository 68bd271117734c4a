// Format: how one kind of artifact is signed, split around the signature.
//
//   Prepare(artifact)            -> SigningPlan   one streaming pass over the file
//   (a KeySigner signs plan.to_be_signed_digest; elsewhere, maybe remotely)
//   Finish(artifact, plan, sig)  -> output path   attach/embed, atomically
//   Verify(artifact)             -> VerifyReport  signet's own check
//
// A format never talks to a key backend (it does not include keys/): it
// produces bytes to be signed and takes a signature back, so the same code
// serves key files, HSMs, cloud KMS and the remote Signet server.
//
// Formats are registered explicitly by RegisterBuiltinFormats().
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/bytes.h"
#include "base/error.h"
#include "base/file.h"
#include "crypto/algorithm.h"
#include "crypto/certificate.h"

namespace signet {

// What crosses the network in remote signing: small (a few KiB at most)
// whatever the artifact's size. Serialised to JSON by ToJson/FromJson.
struct SigningPlan {
  std::string format;    // "cms", "raw", ...
  std::string artifact;  // the artifact's file name (for audit/report)
  std::uint64_t artifact_size = 0;
  DigestAlgorithm content_digest_algorithm = DigestAlgorithm::kSha256;
  Bytes content_digest;  // the artifact's digest as the format defines it
  SignatureAlgorithm signature_algorithm;
  // The bytes the key signs (e.g. DER signed attributes, RFC 5652 5.4), or
  // empty when the key signs content_digest itself (raw).
  Bytes to_be_signed;
  // digest(signature_algorithm.digest, to_be_signed), or content_digest.
  Bytes to_be_signed_digest;
  // Small format-private values that Finish needs besides the digests (pe:
  // the checksum sum of the unsigned image, so that the header can be written
  // before the body is copied). Never secrets; at most a few hundred bytes.
  std::map<std::string, std::string> format_data;

  [[nodiscard]] nlohmann::json ToJson() const;
  static Result<SigningPlan> FromJson(const nlohmann::json& j);
};

// Output that Prepare wrote ahead for Finish (see PrepareOptions::stage);
// each format defines its own. Destroying it discards the output (no temp
// file is left).
class StagedOutput {
 public:
  virtual ~StagedOutput() = default;
};

struct PrepareOptions {
  SignatureAlgorithm signature_algorithm;  // from the key type and --rsa-pss / --digest
  std::time_t signing_time = 0;            // 0: now
  // Signed statements about the program, for formats that carry them
  // (pe: SpcSpOpusInfo programName / moreInfo). Empty: none.
  std::string description;
  std::string url;
  // Embedded formats: add a signature beside the existing one(s) instead of
  // replacing them (pe: a nested signature). Prepare checks there is one.
  bool append = false;
  // Local fast path, for a Finish that follows in the same process: when not
  // null, an embedded format may also write the output's body (to
  // `output_path`, empty: in place) in Prepare's single read pass and leave it
  // here; Finish (given it in FinishOptions::stage) then writes only the
  // signature. Without it Finish copies the artifact itself: the plan alone
  // is always enough (remote signing).
  std::unique_ptr<StagedOutput>* stage = nullptr;
  std::string output_path;  // used with `stage` only
};

struct FinishOptions {
  std::string output_path;  // empty: the format's default (beside / in place)
  bool pem = false;         // cms: PEM instead of DER
  CertificateChain chain;   // leaf first; may be empty for formats that need none
  // An RFC 3161 TimeStampToken (DER ContentInfo) over the signature value,
  // embedded as an unsigned attribute where the format has a place for it
  // (see Format::embeds_timestamps()).
  std::optional<Bytes> timestamp_token;
  bool append = false;            // as PrepareOptions::append (the same value)
  StagedOutput* stage = nullptr;  // what Prepare staged, if anything
};

struct VerifyOptions {
  std::string signature_path;   // empty: the format's default (FILE.p7s...)
  std::string trust_path;       // CA certificates (PEM)
  std::string public_key_path;  // a bare public key instead of a chain
  // CA certificates (PEM) for timestamp tokens; empty: trust_path.
  std::string tsa_trust_path;
  // For formats whose signature does not name its digest (raw): default sha256.
  DigestAlgorithm digest = DigestAlgorithm::kSha256;
};

struct VerifyReport {
  std::string format;
  std::string artifact;
  std::string signature_path;  // for detached formats
  std::string signature_algorithm;
  std::string digest_algorithm;
  std::string signer_subject;               // empty when verified by a bare public key
  std::string key;                          // "RSA-3072", ...
  std::optional<std::time_t> signing_time;  // the signer's claim (signingTime attribute)
  // A verified RFC 3161 timestamp: its genTime and the TSA's subject.
  std::optional<std::time_t> timestamp_time;
  std::string timestamp_authority;
  // Further signatures carried inside this one (pe: nested signatures), each
  // verified like the outer one.
  std::vector<VerifyReport> nested;

  [[nodiscard]] nlohmann::json ToJson() const;
};

// Gets an RFC 3161 TimeStampToken (DER) whose message imprint is
// digest(alg, data): how a format asks for a timestamp without knowing about
// HTTP (core/timestamp provides it).
using TimestampFn = std::function<Result<Bytes>(DigestAlgorithm alg, ByteView data)>;

// What Format::AddTimestamp did.
struct TimestampOutcome {
  std::string output_path;
  int added = 0;    // signatures that got a timestamp
  int already = 0;  // signatures that had one and were left as they were
};

class Format {
 public:
  virtual ~Format() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual std::string_view description() const = 0;
  // Detached formats write a signature file beside the artifact.
  [[nodiscard]] virtual bool detached() const = 0;
  // The suffix of the detached signature file (".p7s"), empty otherwise.
  [[nodiscard]] virtual std::string_view signature_suffix() const { return {}; }
  // True when the first bytes of a file identify this format (magic bytes).
  [[nodiscard]] virtual bool Detect(ByteView head) const = 0;

  // The digest `signet hash` prints: what the signature commits to.
  virtual Result<Bytes> ContentDigest(const InputFile& artifact, DigestAlgorithm alg) const;

  virtual Result<SigningPlan> Prepare(const InputFile& artifact,
                                      const PrepareOptions& options) const = 0;
  // Returns the path written. Atomic: on error nothing is left behind and an
  // embedded artifact is untouched.
  virtual Result<std::string> Finish(const InputFile& artifact, const SigningPlan& plan,
                                     ByteView signature, const FinishOptions& options) const = 0;
  // Checks that a plan is one this format could have made: its digests have
  // the right lengths, and its to-be-signed bytes commit to its content
  // digest (cms: the messageDigest signed attribute; pe: the
  // SpcIndirectDataContent holding the image digest; raw: the digest
  // itself). The server runs it before signing a client's plan, so that
  // what it signs is what it records in the audit log; Finish runs it too.
  // kInvalidArgument naming what does not hold. Default: CheckPlan.
  [[nodiscard]] virtual Status ValidatePlan(const SigningPlan& plan) const;

  // kVerificationFailed when the signature, digest or chain does not hold.
  virtual Result<VerifyReport> Verify(const InputFile& artifact,
                                      const VerifyOptions& options) const = 0;

  // True when Finish embeds FinishOptions::timestamp_token.
  [[nodiscard]] virtual bool embeds_timestamps() const { return false; }
  // Removes every signature from an embedded artifact (atomically, in place
  // or to `output_path`); returns the path written. Detached formats keep
  // their signature in a separate file: the default refuses.
  virtual Result<std::string> Unsign(const InputFile& artifact,
                                     const std::string& output_path) const;
  // Adds a timestamp (from `stamp`) to every signature of an already signed
  // artifact that has none. Atomic like Finish. The default refuses.
  virtual Result<TimestampOutcome> AddTimestamp(const InputFile& artifact, const TimestampFn& stamp,
                                                const std::string& output_path) const;
};

class FormatRegistry {
 public:
  void Register(std::unique_ptr<Format> format);
  [[nodiscard]] const Format* Find(std::string_view name) const;
  // By name when `name` is not "auto"/empty; otherwise the first format whose
  // Detect() claims the file's first bytes, else the default detached format
  // (cms).
  Result<const Format*> ForSigning(const InputFile& artifact, std::string_view name) const;
  // As ForSigning, but for detached formats looks for an existing signature
  // file beside the artifact (FILE.p7s, then FILE.sig) when not named.
  Result<const Format*> ForVerify(const InputFile& artifact, std::string_view name,
                                  const std::string& signature_path) const;
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<Format>> formats_;
};

void RegisterBuiltinFormats(FormatRegistry& registry);

// The detached signature path: options.output_path or artifact + suffix.
std::string DetachedSignaturePath(const InputFile& artifact, std::string_view suffix,
                                  const std::string& explicit_path);

// Fails with kFailedPrecondition, naming `what` ("a cms signature"), when a
// format that embeds the signer's certificate is given no chain.
Status RequireSignerCertificate(const CertificateChain& chain, std::string_view what);

// Checks that a plan is internally consistent before Finish (sizes of
// digests, format name), so that a plan from elsewhere cannot confuse it.
Status CheckPlan(const SigningPlan& plan, std::string_view format_name);

}  // namespace signet
