// The signing pipeline, shared by the commands that sign:
//   Format::Prepare -> KeySigner::Sign -> check the signature
//     -> [RFC 3161 timestamp over the signature] -> Format::Finish
// The check guards against a backend that returns a signature made with
// another key or over other bytes (a misconfigured HSM slot, a KMS bug):
// nothing is written unless the signature verifies with the key's public key.
#pragma once

#include <string>

#include "formats/format.h"
#include "keys/key_signer.h"

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

Result<SignOutcome> SignFile(const FormatRegistry& formats, KeySigner& signer,
                             const std::string& path, const SignSettings& settings);

}  // namespace signet::cli
