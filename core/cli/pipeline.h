// The signing pipeline, shared by the commands that sign:
//   Format::Prepare -> KeySigner::Sign -> check the signature
//     -> [RFC 3161 timestamp over the signature] -> Format::Finish
// The check guards against a backend that returns a signature made with
// another key or over other bytes (a misconfigured HSM slot, a KMS bug):
// nothing is written unless the signature verifies with the key's public key.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "formats/format.h"
#include "keys/key_signer.h"
#include "remote/plan_signer.h"

namespace signet::cli {

struct SignSettings {
  std::string format = "auto";
  std::string output_path;
  bool pem = false;
  bool rsa_pss = false;
  std::optional<DigestAlgorithm> digest;  // default: sha256 (sha512 for Ed25519)
  std::string description;                // pe: SpcSpOpusInfo programName
  std::string url;                        // pe: SpcSpOpusInfo moreInfo
  bool append = false;                    // embedded formats: nest, do not replace
  // Gets a timestamp token over the signature (the CLI wraps a
  // timestamp::Timestamper); empty: no timestamp.
  TimestampFn timestamp;
};

struct SignOutcome {
  SigningPlan plan;
  std::string output_path;
  bool timestamped = false;
};

// The signature algorithm for `key` under `settings`.
SignatureAlgorithm ChooseSignatureAlgorithm(const PublicKey& key, const SignSettings& settings);

// A PlanSigner over a local KeySigner: signs each plan's to-be-signed
// digest (or message, for Ed25519).
class KeyPlanSigner final : public PlanSigner {
 public:
  explicit KeyPlanSigner(KeySigner& key) : key_(key) {}
  [[nodiscard]] std::string uri() const override { return key_.uri(); }
  [[nodiscard]] const PublicKey& public_key() const override { return key_.public_key(); }
  [[nodiscard]] const CertificateChain& certificate_chain() const override {
    return key_.certificate_chain();
  }
  Result<std::vector<PlanSignature>> SignPlans(std::span<const SigningPlan> plans) override;

 private:
  KeySigner& key_;
};

Result<SignOutcome> SignFile(const FormatRegistry& formats, KeySigner& signer,
                             const std::string& path, const SignSettings& settings);

// Signs `paths` in batches of signer.max_batch() plans (one round trip per
// batch for a remote signer) and calls `done` once per path, in order, with
// its outcome. A file that fails does not stop the others.
using SignDone = std::function<void(const std::string& path, const Result<SignOutcome>& outcome)>;
void SignFiles(const FormatRegistry& formats, PlanSigner& signer,
               const std::vector<std::string>& paths, const SignSettings& settings,
               const SignDone& done);

}  // namespace signet::cli
