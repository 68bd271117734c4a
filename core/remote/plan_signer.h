// PlanSigner: what the signing pipeline asks for a signature. It signs whole
// SigningPlans, in batches, so that the same pipeline serves a local key (a
// KeySigner signing each plan's to-be-signed digest, cli/pipeline.h) and a
// Signet server (remote/client.h: the plans cross the network, the artifact
// never does).
//
// Thread-safety: used from one thread at a time.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/certificate.h"
#include "crypto/public_key.h"
#include "formats/format.h"

namespace signet {

struct PlanSignature {
  Bytes signature;  // as KeySigner::Sign returns it
  // An RFC 3161 token over the signature, when the signer adds one (the
  // server, for keys configured with a TSA).
  std::optional<Bytes> timestamp_token;
};

class PlanSigner {
 public:
  virtual ~PlanSigner() = default;
  // Names the key for messages; never contains secrets.
  [[nodiscard]] virtual std::string uri() const = 0;
  [[nodiscard]] virtual const PublicKey& public_key() const = 0;
  [[nodiscard]] virtual const CertificateChain& certificate_chain() const = 0;
  // The most plans SignPlans takes at once.
  [[nodiscard]] virtual std::size_t max_batch() const { return 1; }
  // True when the signer timestamps signatures itself (then the client's
  // own --tsa is not used).
  [[nodiscard]] virtual bool adds_timestamps() const { return false; }
  // One signature per plan, in order; all or nothing.
  virtual Result<std::vector<PlanSignature>> SignPlans(std::span<const SigningPlan> plans) = 0;
};

}  // namespace signet
