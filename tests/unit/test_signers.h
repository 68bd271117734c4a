// Test doubles for KeySigner (after Tink's failing_signature.h and LevelDB's
// EnvWrapper / fault_injection_test.cc):
//
//   FailingSigner        always fails Sign() with a given error, like a
//                        locked token or an unreachable KMS.
//   FaultInjectingSigner forwards to a real signer and then damages what it
//                        returns, like a misconfigured HSM slot that signs
//                        with another key or a KMS bug.
//
//   auto real = MakeFileKeyBackend()->Open("file:" + key_path, options);
//   FaultInjectingSigner faulty(std::move(*real), Fault::kFlipSignatureBit);
//   auto outcome = cli::SignFile(formats, faulty, artifact, settings);  // must fail
//
// Both are used from one thread at a time, like any KeySigner.
#pragma once

#include <memory>

#include "keys/key_signer.h"

namespace signet::testing {

class FailingSigner final : public KeySigner {
 public:
  // `public_key` is what public_key() reports (the pipeline needs one).
  FailingSigner(PublicKey public_key, Error error)
      : public_key_(std::move(public_key)), error_(std::move(error)) {}

  std::string uri() const override { return "test:failing"; }
  const PublicKey& public_key() const override { return public_key_; }
  const CertificateChain& certificate_chain() const override { return chain_; }
  Result<Bytes> Sign(const SignRequest& request) override;

  [[nodiscard]] int sign_calls() const { return sign_calls_; }

 private:
  PublicKey public_key_;
  Error error_;
  CertificateChain chain_;
  int sign_calls_ = 0;
};

enum class Fault {
  kNone,               // forward unchanged
  kFlipSignatureBit,   // flip one bit in the middle of the signature
  kTruncateSignature,  // drop the last byte
  kSignOtherDigest,    // sign a different digest of the same length
};

class FaultInjectingSigner final : public KeySigner {
 public:
  FaultInjectingSigner(std::unique_ptr<KeySigner> inner, Fault fault)
      : inner_(std::move(inner)), fault_(fault) {}

  std::string uri() const override { return inner_->uri(); }
  const PublicKey& public_key() const override { return inner_->public_key(); }
  const CertificateChain& certificate_chain() const override { return inner_->certificate_chain(); }
  Result<Bytes> Sign(const SignRequest& request) override;

  [[nodiscard]] int sign_calls() const { return sign_calls_; }

 private:
  std::unique_ptr<KeySigner> inner_;
  Fault fault_;
  int sign_calls_ = 0;
};

}  // namespace signet::testing
