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
  std::string format;             // "cms", "raw", ...
  std::string artifact;           // the artifact's file name (for audit/report)
  std::uint64_t artifact_size = 0;
  DigestAlgorithm content_digest_algorithm = DigestAlgorithm::kSha256;
  Bytes content_digest;  // the artifact's digest as the format defines it
  SignatureAlgorithm signature_algorithm;
  // The bytes the key signs (e.g. DER signed attributes, RFC 5652 5.4), or
  // empty when the key signs content_digest itself (raw).
  Bytes to_be_signed;
  // digest(signature_algorithm.digest, to_be_signed), or content_digest.
  Bytes to_be_signed_digest;

  [[nodiscard]] nlohmann::json ToJson() const;
  static Result<SigningPlan> FromJson(const nlohmann::json& j);
};

struct PrepareOptions {
  SignatureAlgorithm signature_algorithm;  // from the key type and --rsa-pss / --digest
  std::time_t signing_time = 0;            // 0: now
};

struct FinishOptions {
  std::string output_path;   // empty: the format's default (beside / in place)
  bool pem = false;          // cms: PEM instead of DER
  CertificateChain chain;    // leaf first; may be empty for formats that need none
};

struct VerifyOptions {
  std::string signature_path;   // empty: the format's default (FILE.p7s...)
  std::string trust_path;       // CA certificates (PEM)
  std::string public_key_path;  // a bare public key instead of a chain
  // For formats whose signature does not name its digest (raw): default sha256.
  DigestAlgorithm digest = DigestAlgorithm::kSha256;
};

struct VerifyReport {
  std::string format;
  std::string artifact;
  std::string signature_path;  // for detached formats
  std::string signature_algorithm;
  std::string digest_algorithm;
  std::string signer_subject;  // empty when verified by a bare public key
  std::string key;             // "RSA-3072", ...
  std::optional<std::time_t> signing_time;

  [[nodiscard]] nlohmann::json ToJson() const;
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
  // kVerificationFailed when the signature, digest or chain does not hold.
  virtual Result<VerifyReport> Verify(const InputFile& artifact,
                                      const VerifyOptions& options) const = 0;
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

// Checks that a plan is internally consistent before Finish (sizes of
// digests, format name), so that a plan from elsewhere cannot confuse it.
Status CheckPlan(const SigningPlan& plan, std::string_view format_name);

}  // namespace signet
