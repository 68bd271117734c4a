#include "test_signers.h"

namespace signet::testing {

Result<Bytes> FailingSigner::Sign(const SignRequest&) {
  ++sign_calls_;
  return std::unexpected(error_);
}

Result<Bytes> FaultInjectingSigner::Sign(const SignRequest& request) {
  ++sign_calls_;
  SignRequest forwarded = request;
  Bytes other_digest;
  Bytes other_message;
  if (fault_ == Fault::kSignOtherDigest) {
    other_digest.assign(request.digest.begin(), request.digest.end());
    if (!other_digest.empty()) other_digest[0] ^= 0x01;
    forwarded.digest = other_digest;
    other_message.assign(request.message.begin(), request.message.end());
    if (!other_message.empty()) other_message[other_message.size() - 1] ^= 0x01;
    forwarded.message = other_message;
  }
  SIGNET_ASSIGN_OR_RETURN(Bytes signature, inner_->Sign(forwarded));
  switch (fault_) {
    case Fault::kNone:
    case Fault::kSignOtherDigest:
      break;
    case Fault::kFlipSignatureBit:
      if (!signature.empty()) signature[signature.size() / 2] ^= 0x10;
      break;
    case Fault::kTruncateSignature:
      if (!signature.empty()) signature.pop_back();
      break;
  }
  return signature;
}

}  // namespace signet::testing
